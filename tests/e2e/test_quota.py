"""QUOTA (RFC 9208) from the account's Maildir++ `maildirsize`, through
Python's imaplib: what a client's quota bar shows, and the refusal it
gets when the quota is full."""

import os
import subprocess

from conftest import BIN


def set_quota(server, spec):
    """`courser maildirmake -q`, Courier's way of giving a maildir a quota."""
    md = server.maildir("alice")
    subprocess.run([BIN, "maildirmake", "-q", spec, str(md)], check=True)
    size = md / "maildirsize"
    if server.as_root:
        os.lchown(size, *server.owner(size))


def test_quota_root_and_usage(server):
    m = server.connect()
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK" and data[0] == [b'"INBOX"'], data
    set_quota(server, "10240S,3C")
    for i in range(2):
        m.append("INBOX", None, None, b"Subject: q%d\r\n\r\n%s\r\n" % (i, b"x" * 1500))
    typ, caps = m.capability()
    assert b"QUOTA" in caps[0].split()
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert data[0] == [b'"INBOX" ROOT'], data
    assert data[1] == [b"ROOT (STORAGE 3 10 MESSAGE 2 3)"], data
    typ, data = m.getquota("ROOT")
    assert typ == "OK" and data == [b"ROOT (STORAGE 3 10 MESSAGE 2 3)"], data
    # The third message fits; the fourth does not, and nothing is half-made.
    m.append("INBOX", None, None, b"Subject: q3\r\n\r\nsmall\r\n")
    typ, data = m.append("INBOX", None, None, b"Subject: q4\r\n\r\nsmall\r\n")
    assert typ == "NO" and b"OVERQUOTA" in data[0], data
    typ, data = m.status("INBOX", "(MESSAGES)")
    assert data[0].endswith(b"(MESSAGES 3)"), data
    typ, data = m.setquota("ROOT", "(STORAGE 99999)")
    assert typ == "NO"
    m.logout()


def test_quota_answers_match_courier(tmp_path):
    """GETQUOTAROOT and GETQUOTA on one maildir with a quota, under
    Courier's imapd and `courser imapd`: the same answers (the usage as
    `maildirsize` has it, the root for INBOX and a folder)."""
    import shutil

    from preauth import IMAPD, need
    from test_acl_imap import session

    need(IMAPD, "courier-imap")
    homes = {w: tmp_path / w for w in ("courier", "courser")}
    md = homes["courier"] / "Maildir"
    homes["courier"].mkdir()
    subprocess.run([BIN, "maildirmake", str(md)], check=True)
    subprocess.run([BIN, "maildirmake", "-f", "a", str(md)], check=True)
    subprocess.run([BIN, "maildirmake", "-q", "10240S,3C", str(md)], check=True)
    # usage as deliverquota would have recorded two messages
    with open(md / "maildirsize", "a") as f:
        f.write("    3000 2\n")
    shutil.copytree(homes["courier"], homes["courser"], symlinks=True)
    # (a folder that does not exist: Courier answers its root anyway,
    # Courser NO [NONEXISTENT])
    commands = ["GETQUOTAROOT INBOX", "GETQUOTAROOT INBOX.a", "GETQUOTA ROOT"]
    caps = {"IMAP_CAPABILITY": "IMAP4rev1 QUOTA"}
    answers = {w: session(w, h, commands, env=caps) for w, h in homes.items()}

    def data(lines):
        out = [l.replace(b'"', b"") for l in lines if l.startswith((b"* QUOTA", b"* QUOTAROOT"))]
        return lines[-1].split(b" ", 2)[1], out

    for (cmd, theirs), (_, mine) in zip(answers["courier"], answers["courser"]):
        assert data(theirs) == data(mine), (cmd, theirs, mine)
