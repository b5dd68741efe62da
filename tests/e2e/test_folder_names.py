"""Folder names with punctuation over IMAP, differentially against Debian's
Courier `imapd`: IMAP names are the directory names as they are (`:`, `~`
and `\\` unescaped, `/` refused), and a folder SMAP made (`.a\\056b`) keeps
its escape in its IMAP name. Both servers run preauthenticated on their own
copy of one maildir; the LIST names, the OK/NO of each command and the
directories left behind must be the same."""

import os

import preauth
from preauth import IMAPD, need

FOLDERS = (".x:y", ".a\\056b", ".x\\057y", ".p.q", ".Entwürfe")

COMMANDS = [
    'LIST "" "*"',
    'SELECT "INBOX.x:y"',
    'SELECT "INBOX.a\\\\056b"',
    'SELECT "INBOX.x\\\\057y"',
    'SELECT "INBOX.Entw&APw-rfe"',
    'CREATE "INBOX.k:l"',
    'CREATE "INBOX.t~u"',
    'CREATE "INBOX.b\\\\s"',
    'CREATE "INBOX.s/t"',
    'CREATE "INBOX.x:y"',
    'RENAME "INBOX.x:y" "INBOX.z:w"',
    'DELETE "INBOX.t~u"',
    'SELECT "INBOX.z:w"',
    'LIST "" "*"',
]


def maildir(home):
    md = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    for folder in FOLDERS:
        for sub in ("cur", "new", "tmp"):
            (md / folder / sub).mkdir(parents=True)
        (md / folder / "maildirfolder").touch()
    return md


def listed(lines):
    """The names of LIST lines, as a set (the order is the file system's)."""
    return {line.rsplit(b' "." ', 1)[1] for line in lines if line.startswith(b"* LIST ")}


def outcome(lines):
    return lines[-1].split(b" ")[1]


def folders(md):
    return sorted(name for name in os.listdir(md) if name.startswith("."))


def test_imap_names_of_odd_folders_as_couriers(tmp_path):
    need(IMAPD, "courier-imap")
    got = {}
    for which in ("courier", "courser"):
        home = tmp_path / which
        md = maildir(home)
        env = dict(os.environ, HOME=str(home), MAILDIR=str(md), TCPREMOTEIP="127.0.0.1",
                   TCPREMOTEPORT="4000", IMAP_KEYWORDS="1")
        got[which] = preauth.session(which, home, COMMANDS, env)
    for (cmd, courier), (_, courser) in zip(got["courier"], got["courser"]):
        if cmd.startswith("LIST"):
            assert listed(courser) == listed(courier), cmd
        else:
            assert outcome(courser) == outcome(courier), (cmd, courier, courser)
    assert listed(got["courser"][0][1]) >= {b'"INBOX.x:y"', b'"INBOX.a\\\\056b"', b'"INBOX.x\\\\057y"'}
    assert folders(tmp_path / "courser" / "Maildir") == folders(tmp_path / "courier" / "Maildir")
    assert ".z:w" in folders(tmp_path / "courser" / "Maildir")
