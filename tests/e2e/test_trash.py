"""`[maildir] empty_trash` (Courier's IMAP_EMPTYTRASH): old mail leaves
the folders named at IMAP login and logout. The server is restarted under
faketime eight days ahead, so the messages' ctimes are old to it."""

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
