"""Size tags and the folder index on disk, as other programs see them:
`courser deliver` and APPEND name files `,S=<size>,W=<size with CRLF>`,
APPEND leaves a `courserindex` in the folder, and Courier's imapd on the
same maildir lists no extra folder and serves the messages."""

import os
import re
import subprocess

import pytest

from conftest import BIN

COURIER_IMAPD = "/usr/bin/imapd"
LF_MSG = b"From: a@example.org\nSubject: lf lines\n\nline one\nline two\n"
CRLF_MSG = b"From: a@example.org\r\nSubject: crlf lines\r\n\r\nbody\r\n"


def tags(name):
    m = re.search(r",S=(\d+),W=(\d+)(:|$)", name)
    assert m, name
    return int(m.group(1)), int(m.group(2))


def courier_session(maildir, commands):
    if not os.access(COURIER_IMAPD, os.X_OK):
        if os.environ.get("COURSER_FULL_TESTS") == "1":
            pytest.fail(f"{COURIER_IMAPD} is missing (apt-get install courier-imap)")
        pytest.skip(f"{COURIER_IMAPD} not installed")
    script = b"".join(c + b"\r\n" for c in commands)
    env = {"PATH": "/usr/bin:/bin", "MAILDIR": str(maildir), "HOME": str(maildir.parent)}
    # Courier refuses a maildir its user does not own: run as the owner
    st = maildir.stat()
    kw = {}
    if os.getuid() == 0:
        kw = dict(user=st.st_uid, group=st.st_gid, extra_groups=[])
    out = subprocess.run([COURIER_IMAPD, "Maildir"], input=script, env=env,
                         cwd=maildir.parent, capture_output=True, timeout=60, **kw).stdout
    assert b"LOGOUT" in out or b"BYE" in out, out
    return out


def test_deliver_writes_both_size_tags(tmp_path):
    maildir = tmp_path / "Maildir"
    subprocess.run([BIN, "maildirmake", str(maildir)], check=True)
    subprocess.run([BIN, "deliver", str(maildir)], input=LF_MSG, check=True)
    subprocess.run([BIN, "deliver", str(maildir)], input=CRLF_MSG, check=True)
    got = sorted(tags(p.name) for p in (maildir / "new").iterdir())
    want = sorted([(len(LF_MSG), len(LF_MSG) + LF_MSG.count(b"\n")),
                   (len(CRLF_MSG), len(CRLF_MSG))])
    assert got == want
    # Courier reads the names: both messages, LF sizes as it counts them
    out = courier_session(maildir, [b"a SELECT INBOX", b"b FETCH 1:* (RFC822.SIZE)", b"c LOGOUT"])
    assert b"* 2 EXISTS" in out, out
    assert b"RFC822.SIZE %d" % (len(LF_MSG) + LF_MSG.count(b"\n")) in out, out


def test_append_tags_and_indexes_and_courier_ignores_the_index(server):
    c = server.connect()
    c.create("INBOX.Sub")
    for m in (LF_MSG, CRLF_MSG):
        typ, _ = c.append("INBOX", None, None, m)
        assert typ == "OK"
    c.select("INBOX")
    typ, data = c.fetch("1:*", "(RFC822.SIZE)")
    sizes = sorted(int(re.search(rb"RFC822.SIZE (\d+)", d).group(1)) for d in data)
    c.logout()
    maildir = server.maildir()
    names = [p.name for p in (maildir / "cur").iterdir()]
    assert sorted(t[1] for t in map(tags, names)) == sizes, (names, data)
    # imaplib sends CRLF lines, which are stored as sent
    assert sorted(t[0] for t in map(tags, names)) == [len(CRLF_MSG), len(LF_MSG) + LF_MSG.count(b"\n")]
    index = maildir / "courserindex"
    assert index.exists() and index.stat().st_size > 100
    out = courier_session(maildir, [b"a LIST \"\" \"*\"", b"b SELECT INBOX", b"c LOGOUT"])
    listed = sorted(re.findall(rb'\* LIST \([^)]*\) "\." "([^"]+)"', out))
    assert listed == [b"INBOX", b"INBOX.Sub"], out
    assert b"* 2 EXISTS" in out, out
