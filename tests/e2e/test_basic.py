"""Basic sessions with Python's imaplib against the real server."""

import imaplib

import pytest

MSG = (
    b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
    b"Subject: hello there\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <1@example.org>\r\n\r\nBody text here.\r\n"
)


def test_login_select_append_fetch(server):
    c = server.connect()
    typ, data = c.append("INBOX", r"(\Seen)", None, MSG)
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = c.fetch("1", "(FLAGS RFC822.SIZE BODY[])")
    assert typ == "OK"
    assert data[0][1] == MSG
    assert b"RFC822.SIZE %d" % len(MSG) in data[0][0]
    assert b"\\Seen" in data[1] or b"\\Seen" in data[0][0]
    c.logout()


def test_wrong_password_is_refused(server):
    c = server.connect(login=False)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        c.login("alice", "nope")
    with pytest.raises(imaplib.IMAP4.error):
        c.login("nobody-here", "x")
    c.logout()


def test_two_sessions_see_each_others_changes(server):
    a = server.connect()
    b = server.connect()
    a.select("INBOX")
    b.append("INBOX", None, None, MSG)
    a.noop()
    assert a.untagged_responses["EXISTS"][-1] == b"1"
    a.store("1", "+FLAGS", r"(\Flagged)")
    b.select("INBOX")
    typ, data = b.fetch("1", "(FLAGS)")
    assert b"\\Flagged" in data[0]
    a.logout()
    b.logout()


def test_outside_delivery_is_seen(server):
    c = server.connect()
    c.select("INBOX")
    server.deliver(MSG)
    c.noop()
    assert c.untagged_responses["EXISTS"][-1] == b"1"
    typ, data = c.search(None, "SUBJECT", "hello")
    assert data == [b"1"]
    c.logout()


def test_a_config_path_relative_to_the_working_directory(make_server):
    """`courser serve --config courser.toml` from the config's folder: its
    relative paths (the userdb) still resolve once the server and its
    authentication process work from `/`."""
    import subprocess
    from conftest import BIN, USERS, ReadyNotice
    server = make_server()
    server.stop()
    ready = ReadyNotice(server.root)
    with open(server.root / "relative.log", "wb") as log:
        proc = subprocess.Popen([BIN, "serve", "--config", "courser.toml"], cwd=server.root,
                                stdout=log, stderr=subprocess.STDOUT, env=ready.env())
        try:
            ready.wait(proc, server.root / "relative.log")
            c = imaplib.IMAP4("127.0.0.1", server.imap_port)
            assert c.login("alice", USERS["alice"])[0] == "OK"
            c.logout()
        finally:
            proc.terminate()
            proc.wait(10)
