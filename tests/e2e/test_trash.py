"""`[maildir] empty_trash` (Courier's IMAP_EMPTYTRASH): old mail leaves
the folders named at IMAP login and logout. The server is restarted under
faketime eight days ahead, so the messages' ctimes are old to it.

`[imap] move_expunge_to_trash` (Courier's IMAP_MOVE_EXPUNGE_TO_TRASH):
EXPUNGE moves the messages into the trash, as files Courier reads."""

import os
import shutil

import pytest

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"


def count(server, folder):
    m = server.connect()
    typ, data = m.status(folder, "(MESSAGES)")
    m.logout()
    return int(data[0].rsplit(b" ", 1)[1].rstrip(b")"))


def test_old_trash_goes_at_login(make_server):
    if not shutil.which("faketime"):
        if FULL:
            pytest.fail("faketime is missing (scripts/test.sh installs it)")
        pytest.skip("faketime is not installed")
    server = make_server('\n[maildir]\nempty_trash = "Trash:7,Sent:30"\n')
    m = server.connect()
    for folder in ("INBOX.Trash", "INBOX.Sent"):
        m.create(folder)
        m.append(folder, None, None, b"Subject: old\r\n\r\nbody\r\n")
    m.append("INBOX", None, None, b"Subject: kept\r\n\r\nbody\r\n")
    m.logout()
    assert count(server, "INBOX.Trash") == 1, "nothing is old yet"
    server.stop()
    server.wrapper = ["faketime", "-f", "+8d"]
    server.start()
    m = server.connect()
    typ, data = m.status("INBOX.Trash", "(MESSAGES)")
    assert data[0].endswith(b"(MESSAGES 0)"), data
    typ, data = m.status("INBOX.Sent", "(MESSAGES)")
    assert data[0].endswith(b"(MESSAGES 1)"), "Sent keeps 30 days"
    typ, data = m.status("INBOX", "(MESSAGES)")
    assert data[0].endswith(b"(MESSAGES 1)"), "INBOX is not listed"
    m.logout()
    assert "expired 1 old messages" in server.log_text()


def test_expunge_moves_into_the_trash(make_server):
    server = make_server('\n[imap]\nmove_expunge_to_trash = true\n'
                         '[maildir]\ntrash = "Deleted Items"\n')
    m = server.connect()
    assert b"XMAGICTRASH" in m.capability()[1][0]
    for n in range(3):
        m.append("INBOX", None, None, b"Subject: m%d\r\n\r\nbody\r\n" % n)
    m.select("INBOX")
    m.store("1:2", "+FLAGS", "(\\Deleted \\Draft \\Seen)")
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"1", b"1"], data
    # The trash was made; the files there lost T and D, as Courier's do.
    trash = server.maildir() / ".Deleted Items" / "cur"
    names = sorted(p.name for p in trash.iterdir())
    assert len(names) == 2 and all(n.endswith(":2,S") for n in names), names
    assert len(list((server.maildir() / "cur").iterdir())) == 1
    # In the trash itself EXPUNGE deletes.
    m.select('"INBOX.Deleted Items"')
    m.store("1", "+FLAGS", "(\\Deleted)")
    assert m.expunge() == ("OK", [b"1"])
    assert len(list(trash.iterdir())) == 1
    m.logout()


def test_expunge_deletes_without_magic_trash(server):
    m = server.connect()
    assert b"XMAGICTRASH" not in m.capability()[1][0]
    m.append("INBOX", None, None, b"Subject: m\r\n\r\nbody\r\n")
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Deleted)")
    assert m.expunge() == ("OK", [b"1"])
    assert not (server.maildir() / ".Trash").exists()
    m.logout()
