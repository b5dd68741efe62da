"""Filesystem shared folders (`shared.<nick>.<folder>`) against Courier's
imapd.

A sharable maildir made by Courier's own `maildirmake -S` (folders
`-s write`, `-s read` and plain) is listed in the account's
`shared-maildirs`, as in Courier's test suite (its h001–h025 and
i001–i015). Two copies of the whole tree are served, one by Debian's
`/usr/bin/imapd` and one by `courser imapd`, with the same scripted
session: LIST and LSUB of the `shared` hierarchy, SUBSCRIBE (which makes
the local copy under `shared-folders/`), SELECT with mail waiting in the
sharable folder, per-subscriber flags, APPEND and COPY into the shared
folder (into the sharable maildir), EXPUNGE (out of it), STATUS, DELETE
(which unsubscribes), and the refusals (CREATE, RENAME, GETACL).

Every command must get the same tagged status and untagged data from
both; afterwards the sharable folders hold the same number of messages
in both trees, and the local copies have the same layout, every message
a link into the sharable folder.

Not compared: the UIDs in APPENDUID (Courier 5.0.13 answers the
sharable folder's, Courser the one the local copy gives the message,
which the client then sees).
"""

import os
from pathlib import Path
import re
import subprocess

import pytest

from preauth import IMAPD, need
from test_acl_imap import session
from test_shared_virtual import compare

MAILDIRMAKE = "/usr/bin/maildirmake"
# (files as an MDA writes them; APPENDed with CRLF, as IMAP sends them)
MSG = b"From: a@example.org\nSubject: %s\n\nbody\n"
WIRE = b"From: a@example.org\r\nSubject: %s\r\n\r\nbody\r\n"


def make_tree(base):
    def mk(*args):
        subprocess.run([MAILDIRMAKE, *args], check=True, cwd=base)

    mk("user")
    mk("-f", "Trash", "user")
    mk("-S", "share")
    mk("-s", "write", "-f", "a", "share")
    mk("-s", "read", "-f", "b", "share")
    mk("-f", "c", "share")
    (base / "share" / ".a" / "new" / "msg1").write_bytes(MSG % b"one")
    (base / "share" / ".a" / "cur" / "msg2:2,S").write_bytes(MSG % b"two")
    (base / "user" / "new" / "u1").write_bytes(MSG % b"inbox")
    (base / "user" / "shared-maildirs").write_text(f"test {base / 'share'}\n")


COMMANDS = [
    'LIST "" "*"',
    'LIST "" "%"',
    'LIST "" "%.%"',
    # (Courier joins a reference without a trailing delimiter with one;
    # Courser concatenates, as RFC 3501 §6.3.8 describes)
    'LIST "shared." "*"',
    'LIST "shared.test." "*"',
    'LSUB "" "*"',
    "SUBSCRIBE shared.test.a",
    "SUBSCRIBE shared.nope.a",
    'LSUB "" "*"',
    "MYRIGHTS shared.test.a",
    "GETACL shared.test.a",
    "SELECT shared.test.a",
    "FETCH 1:* (FLAGS)",
    "STORE 1 +FLAGS (\\Flagged)",
    ("APPEND shared.test.a {%d}", WIRE % b"appended"),
    "NOOP",
    "FETCH 1:* (FLAGS)",
    "SELECT INBOX",
    "COPY 1 shared.test.a",
    "SELECT shared.test.a",
    "FETCH 1:* (FLAGS)",
    "STORE 1:2 +FLAGS (\\Deleted)",
    "EXPUNGE",
    "FETCH 1:* (FLAGS)",
    "STATUS shared.test.a (MESSAGES)",
    "SELECT INBOX",
    "CREATE shared.test.q",
    "RENAME shared.test.c shared.test.z",
    ("APPEND shared.test.c {%d}", WIRE % b"unsubscribed"),
    "SUBSCRIBE shared.test.b",
    'LSUB "" "*"',
    "DELETE shared.test.a",
    'LSUB "" "*"',
]


def run(which, base):
    return session(which, base, COMMANDS, user="user", maildir="user",
                   env={"IMAP_BROKENUIDV": "1"})


def layout(base):
    """The local copies: each file as (path, where its link points,
    relative to the tree)."""
    out = []
    top = base / "user" / "shared-folders"
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                target = os.path.relpath(os.readlink(p), base)
                out.append((os.path.relpath(p, top), target.split(":")[0] if "cur" in p else target))
    return sorted(out)


def test_shared_maildirs_match_courier(tmp_path):
    need(IMAPD, "courier-imap")
    need(MAILDIRMAKE, "courier-imap")
    bases = {w: tmp_path / w for w in ("courier", "courser")}
    for base in bases.values():
        base.mkdir()
        make_tree(base)
    answers = {w: run(w, b) for w, b in bases.items()}
    compare(answers["courier"], answers["courser"])
    counts = {w: len(os.listdir(b / "share" / ".a" / "cur")) for w, b in bases.items()}
    assert counts["courier"] == counts["courser"] == 2, counts
    assert not os.listdir(bases["courser"] / "share" / ".a" / "new")
    assert layout(bases["courser"]) == [("test/b/shared", "share/.b")]
    assert layout(bases["courier"]) == layout(bases["courser"])


@pytest.mark.parametrize("per_user", [False, True])
def test_sharable_maildir_through_the_server(make_server, per_user):
    """A sharable maildir in `[maildir] system_shared_maildirs`, through
    `courser serve`. In the per-user model alice's process runs as alice:
    a folder the owner made `-s read` is hers to read (with her own
    flags, in her local copy) but not to add to or remove from; a
    `-s write` one she may add to. In the shared model the server's uid
    owns everything and both are writable."""
    if per_user and os.getuid() != 0:
        pytest.skip("the per-user model switches uids: needs root")
    need(MAILDIRMAKE, "courier-imap")
    server = make_server(per_user=per_user, extra_config=(
        '\n[maildir]\nsystem_shared_maildirs = "maildirshared"\n'))
    root = server.root
    for args in (["-S", "share"], ["-s", "read", "-f", "ro", "share"],
                 ["-s", "write", "-f", "rw", "share"]):
        subprocess.run([MAILDIRMAKE, *args], check=True, cwd=root)
    (root / "share" / ".ro" / "cur" / "m1:2,").write_bytes(MSG % b"read me")
    (root / "maildirshared").write_text(f"pub {root / 'share'}\n")
    if not per_user:
        server.chown()
    else:
        os.chmod(root, 0o755)
    # A quota of her own, which mail in a shared folder does not count
    # against: no quota root there.
    maildir = Path(server.homes["alice"]) / "Maildir"
    (maildir / "maildirsize").write_text("1000000S\n0 0\n")
    owner = maildir.stat()
    os.chown(maildir / "maildirsize", owner.st_uid, owner.st_gid)
    c = server.raw(login="alice")
    untagged, _ = c.cmd('LIST "" "shared.*"', ok=True)
    names = sorted(u.rstrip(b"\r\n") for u in untagged)
    assert names == [b'* LIST (\\HasNoChildren) "." "shared.pub.ro"',
                     b'* LIST (\\HasNoChildren) "." "shared.pub.rw"',
                     b'* LIST (\\Noselect \\HasChildren) "." "shared.pub"'], names
    c.cmd("SUBSCRIBE shared.pub.ro", ok=True)
    c.cmd("SUBSCRIBE shared.pub.rw", ok=True)
    untagged, _ = c.cmd("GETQUOTAROOT shared.pub.ro", ok=True)
    assert [u.rstrip() for u in untagged] == [b'* QUOTAROOT "shared.pub.ro"'], untagged
    untagged, _ = c.cmd("GETQUOTAROOT INBOX", ok=True)
    assert untagged[0].rstrip() == b'* QUOTAROOT "INBOX" ROOT', untagged
    untagged, _ = c.cmd("MYRIGHTS shared.pub.ro", ok=True)
    assert untagged[0].rstrip() == (b'* MYRIGHTS "shared.pub.ro" '
                                    + (b'lrsw' if per_user else b'dilrsw')), untagged
    untagged, _ = c.cmd("SELECT shared.pub.ro", ok=True)
    assert b"* 1 EXISTS\r\n" in untagged, untagged
    untagged, _ = c.cmd("FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])", ok=True)
    assert b"read me" in b"".join(untagged), untagged
    untagged, _ = c.cmd("FETCH 1 (FLAGS)", ok=True)
    assert b"\\Seen" in untagged[0], untagged
    c.cmd("STORE 1 -FLAGS (\\Seen)", ok=True)
    c.cmd("APPEND shared.pub.ro {5}\r\nhello", ok="NO" if per_user else True)
    c.cmd("APPEND shared.pub.rw {5}\r\nhello", ok=True)
    untagged, _ = c.cmd("STATUS shared.pub.rw (MESSAGES)", ok=True)
    assert b"MESSAGES 1" in untagged[0], untagged
    # mail delivered to the sharable folder reaches the selected copy
    c.cmd("SELECT shared.pub.rw", ok=True)
    # (in the sticky folder only its owner may move root's file from new/
    # to cur/, as for Courier: so it arrives in cur/ there)
    arrival = "cur/m2:2," if per_user else "new/m2"
    (root / "share" / ".rw" / arrival).write_bytes(MSG % b"delivered")
    untagged, _ = c.cmd("NOOP", ok=True)
    assert b"* 2 EXISTS\r\n" in untagged, untagged
    # EXPUNGE removes from the sharable folder what this process may: in
    # the sticky folder her own message, not root's, which stays with
    # \Deleted taken off (Courier's rule)
    c.cmd("STORE 1:2 +FLAGS (\\Deleted)", ok=True)
    untagged, _ = c.cmd("EXPUNGE", ok=True)
    left = sorted(os.listdir(root / "share" / ".rw" / "cur"))
    if per_user:
        assert untagged.count(b"* 1 EXPUNGE\r\n") == 1, untagged
        assert left == ["m2:2,"], left
        untagged, _ = c.cmd("FETCH 1 (FLAGS)", ok=True)
        assert b"\\Deleted" not in b"".join(untagged), untagged
        # nor does it move: NO [NOPERM], and no copy is left behind in INBOX
        untagged, tagged = c.cmd("MOVE 1 INBOX", ok="NO")
        assert b"[NOPERM]" in tagged, tagged
        assert not any(b"EXPUNGE" in u for u in untagged), untagged
        assert sorted(os.listdir(root / "share" / ".rw" / "cur")) == ["m2:2,"]
        untagged, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
        assert b"MESSAGES 0" in untagged[0], untagged
    else:
        assert left == [], left
    c.cmd("LOGOUT", ok=True)
    if per_user:
        # her flags are hers: the sharable message kept its name
        assert os.listdir(root / "share" / ".ro" / "cur") == ["m1:2,"]
    server.check_transcripts()


def test_maildirmake_add_and_del_match_courier(tmp_path):
    """`courser maildirmake --add NICK=PATH` / `--del NICK` do what
    Courier's do: the same `shared-maildirs`, exit statuses and
    messages."""
    need(MAILDIRMAKE, "courier-imap")
    from conftest import BIN
    results = {}
    for which, argv0 in (("courier", [MAILDIRMAKE]), ("courser", [BIN, "maildirmake"])):
        base = tmp_path / which
        base.mkdir()
        subprocess.run([MAILDIRMAKE, "u"], check=True, cwd=base)
        subprocess.run([MAILDIRMAKE, "-S", "s"], check=True, cwd=base)
        steps = [["--add", f"pub={base / 's'}", "u"], ["--add", f"pub={base / 's'}", "u"],
                 ["--add", f"two={base / 's'}", "u"], ["--add", "x.y=/tmp", "u"],
                 ["--del", "pub", "u"], ["--del", "pub", "u"]]
        out = []
        for step in steps:
            p = subprocess.run(argv0 + step, cwd=base, capture_output=True, text=True)
            out.append((p.returncode, p.stderr.strip() if p.returncode == 2 else ""))
        text = (base / "u" / "shared-maildirs").read_text().replace(str(base), "BASE")
        results[which] = (out, text)
    assert results["courier"] == results["courser"]
    assert results["courser"][1] == "two\tBASE/s\n"


UIDS = re.compile(rb"\* \d+ FETCH \((?:UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+))\)")


def uid_flags(lines):
    """{uid: sorted flags} of FETCH (UID FLAGS) answers (\\Recent aside)."""
    out = {}
    for line in lines:
        if m := UIDS.match(line):
            uid = m.group(1) or m.group(4)
            flags = m.group(2) if m.group(2) is not None else m.group(3)
            out[int(uid)] = sorted(f for f in flags.split() if f != b"\\Recent")
    return out


def test_a_shared_folder_changes_hands_between_courier_and_courser(tmp_path):
    """One tree, the servers taking turns: a shared folder subscribed and
    flagged under Courier is read under Courser with the same UIDs and
    flags, flagged and appended to there, and Courier then sees the same
    messages, UIDs and flags — and the reverse once more."""
    need(IMAPD, "courier-imap")
    need(MAILDIRMAKE, "courier-imap")
    make_tree(tmp_path)
    fetch = "FETCH 1:* (UID FLAGS)"

    def turn(which, commands):
        return session(which, tmp_path, commands, user="user", maildir="user")

    a = turn("courier", ["SUBSCRIBE shared.test.a", "SELECT shared.test.a",
                         "STORE 1 +FLAGS (\\Flagged)", fetch])
    seen = uid_flags(a[-1][1])
    assert len(seen) == 2 and seen[min(seen)] == [b"\\Flagged"], a
    b = turn("courser", ["SELECT shared.test.a", fetch, "STORE 2 +FLAGS (\\Answered)",
                         ("APPEND shared.test.a {%d}", WIRE % b"from courser"), fetch])
    assert uid_flags(b[1][1]) == seen, b
    after = uid_flags(b[-1][1])
    assert len(after) == 3 and max(after) > max(seen), b
    c = turn("courier", ["SELECT shared.test.a", fetch, "STORE 3 +FLAGS (\\Seen)", fetch])
    assert uid_flags(c[1][1]) == after, c
    again = uid_flags(c[-1][1])
    d = turn("courser", ["SELECT shared.test.a", fetch])
    assert uid_flags(d[1][1]) == again, d
