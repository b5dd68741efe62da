"""Every RFC 3501 command and each advertised extension, driven with
Python's imaplib and raw sockets against the real server. Everything the
server says here is also checked by the independent parser (recording.py)."""

import base64
import imaplib
import os
import re
import select
import socket
import ssl
import subprocess
import time

import pytest

from conftest import BIN, USERS
from recording import Raw, fetches, fetch_items, parse_sexp, wait_for


def msg(subject, body="Body text.\r\n", frm="Alice <alice@example.org>",
        to="bob@example.org", date="Wed, 01 Jan 2020 10:00:00 +0000", extra=""):
    return (
        f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.org>\r\n{extra}\r\n{body}"
    ).encode()


# A nested MIME message whose parts we know byte for byte.
INNER = (
    b"From: Inner <inner@example.net>\r\n"
    b"Subject: inner message\r\n"
    b"Date: Tue, 02 Mar 2021 08:00:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="in"\r\n'
    b"\r\n"
    b"--in\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"inner text\r\n"
    b"--in\r\n"
    b"Content-Type: application/octet-stream; name=x.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAw==\r\n"
    b"--in--\r\n"
)
INNER_PART = INNER[:-2]  # as part 3, without the CRLF that belongs to "--out--"
P1_MIME = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
P1_BODY = "Part one text, Grüße".encode()  # the CRLF before "--out" is the boundary's
NESTED = (
    b"From: Carol <carol@example.com>\r\n"
    b"To: Dave <dave@example.com>, eve@example.com\r\n"
    b"Cc: frank@example.com\r\n"
    b"Subject: nested parts\r\n"
    b"Date: Fri, 05 Feb 2021 12:30:00 +0000\r\n"
    b"Message-ID: <nested@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="out"\r\n'
    b"\r\n"
    b"preamble\r\n"
    b"--out\r\n" + P1_MIME + P1_BODY + b"\r\n"
    b"--out\r\n"
    b'Content-Type: multipart/alternative; boundary="alt"\r\n'
    b"\r\n"
    b"--alt\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"alt plain\r\n"
    b"--alt\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<p>alt html</p>\r\n"
    b"--alt--\r\n"
    b"--out\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n" + INNER +
    b"--out--\r\n"
)
NESTED_HEADER = NESTED[: NESTED.index(b"\r\n\r\n") + 4]
NESTED_TEXT = NESTED[len(NESTED_HEADER):]


def append(c, box, data, flags=None, date=None):
    typ, resp = c.append(box, flags, date, data)
    assert typ == "OK", resp
    return resp


def seed(server, n=3, box="INBOX"):
    c = server.connect()
    for i in range(1, n + 1):
        append(c, box, msg(f"message {i}", body=f"body number {i}\r\n"))
    c.logout()


def internaldate(v):
    """An INTERNALDATE as seconds since the epoch (date-day-fixed allows a
    leading space)."""
    return time.mktime(imaplib.Internaldate2tuple(b'INTERNALDATE "' + v.strip().rjust(26, b"0") + b'"'))


def expunged_elsewhere(server, seq, first_reads=()):
    """A session on INBOX that sends `first_reads` after SELECT, then
    another session expunges message `seq`: the first is returned, not
    yet told of it."""
    a = server.raw(login="alice")
    b = server.raw(login="alice")
    a.cmd("SELECT INBOX", ok=True)
    for command in first_reads:
        a.cmd(command, ok=True)
    b.cmd("SELECT INBOX", ok=True)
    b.cmd(f"STORE {seq} +FLAGS.SILENT (\\Deleted)", ok=True)
    b.cmd("EXPUNGE", ok=True)
    return a


def status_of(tagged):
    return tagged.split(b" ", 2)[1]


def code(resp, name):
    m = re.search(rb"\[" + name.encode() + rb"(?: ([^\]]*))?\]", resp)
    return m and (m.group(1) if m.group(1) is not None else b"")


def search_result(untagged):
    for r in untagged:
        if r.startswith(b"* SEARCH"):
            return [int(x) for x in r[8:].split()]
    raise AssertionError(f"no SEARCH in {untagged!r}")


def list_names(untagged, kind=b"LIST"):
    out = {}
    for r in untagged:
        if r.startswith(b"* " + kind + b" "):
            items = parse_sexp(r)
            out[items[4]] = [f.lower() for f in items[2]]
    return out


# --- any state --------------------------------------------------------------

def test_capability_before_and_after_login(server):
    r = server.raw()
    assert r.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1"), r.greeting
    u, t = r.cmd("CAPABILITY", ok=True)
    before = u[0].split()[2:]
    for cap in (b"IMAP4rev1", b"STARTTLS", b"AUTH=PLAIN", b"AUTH=LOGIN", b"LITERAL+", b"SASL-IR", b"ID"):
        assert cap in before, before
    assert b"IDLE" not in before and b"LOGINDISABLED" not in before
    r.login()
    u, t = r.cmd("CAPABILITY", ok=True)
    after = u[0].split()[2:]
    for cap in (b"IMAP4rev1", b"IDLE", b"NAMESPACE", b"UIDPLUS", b"MOVE", b"UNSELECT",
                b"CHILDREN", b"ENABLE", b"UTF8=ACCEPT", b"LITERAL+", b"ID"):
        assert cap in after, after
    assert b"STARTTLS" not in after and not any(c.startswith(b"AUTH=") for c in after)
    r.close()


def test_noop_and_logout(server):
    r = server.raw(login="alice")
    r.cmd("NOOP", ok=True)
    r.cmd("SELECT INBOX", ok=True)
    r.cmd("NOOP", ok=True)
    u, t = r.cmd("LOGOUT", ok=True)
    assert any(x.startswith(b"* BYE") for x in u)
    assert r.sock.recv(10) == b""  # the server closes after the tagged OK


def test_starttls(server):
    r = server.raw()
    # A command pipelined after STARTTLS was sent in the clear: the server
    # must not run it inside the protected session (RFC 3501 §6.2.1).
    r.send(b"s1 STARTTLS\r\ns2 NOOP\r\n")
    u, t = r.until("s1")
    assert status_of(t) == b"OK" and not u
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = ctx.wrap_socket(r.sock, server_hostname="localhost")
    s = Raw(sock=tls, greeting=False, recorder=server.recorder("starttls", greeting=False))
    u, t = s.cmd("CAPABILITY", ok=True)
    caps = b" ".join(u)
    assert b"STARTTLS" not in caps and b"AUTH=PLAIN" in caps
    assert not any(x.startswith(b"s2 ") for x in u)
    s.login()
    s.cmd("STARTTLS", ok="BAD")
    s.cmd("SELECT INBOX", ok=True)
    s.cmd("LOGOUT", ok=True)
    # Implicit TLS.
    c = server.connect_tls()
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def test_starttls_refused_once_authenticated(server):
    r = server.raw(login="alice")
    u, t = r.cmd("STARTTLS")
    assert status_of(t) in (b"BAD", b"NO")
    r.cmd("NOOP", ok=True)


# --- not authenticated ------------------------------------------------------

def test_login_forms(server):
    r = server.raw()
    u, t = r.cmd("LOGIN alice wrong", ok="NO")
    assert b"[AUTHENTICATIONFAILED]" in t
    r.cmd("SELECT INBOX", ok="BAD")  # not authenticated yet
    r.cmd('LOGIN "alice" "alice-pw"', ok=True)
    r.cmd("LOGIN alice alice-pw", ok="BAD")  # already authenticated
    r.close()
    # The password as a synchronizing literal.
    r = server.raw()
    r.send(b"a1 LOGIN alice {8}\r\n")
    assert r.line().startswith(b"+")
    r.send(b"alice-pw\r\n")
    u, t = r.until("a1")
    assert status_of(t) == b"OK", t
    # CAPABILITY may come in the tagged OK (RFC 3501 §7.1 response codes).
    r.close()


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def test_authenticate_plain(server):
    r = server.raw()
    r.send(b"a1 AUTHENTICATE PLAIN\r\n")
    assert r.line().rstrip() in (b"+", b"+ ")
    r.send(b64("\0alice\0alice-pw") + "\r\n")
    u, t = r.until("a1")
    assert status_of(t) == b"OK", t
    r.close()
    # SASL-IR (RFC 4959): the initial response on the command line.
    r = server.raw()
    r.cmd("AUTHENTICATE PLAIN " + b64("alice\0alice\0alice-pw"), ok=True)
    r.cmd("SELECT INBOX", ok=True)
    r.close()
    # Wrong password, cancel, garbage, unknown mechanism.
    r = server.raw()
    u, t = r.cmd("AUTHENTICATE PLAIN " + b64("\0alice\0nope"), ok="NO")
    r.send(b"a2 AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send(b"*\r\n")
    u, t = r.until("a2")
    assert status_of(t) == b"BAD", t
    r.send(b"a3 AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send(b"!!!not base64!!!\r\n")
    u, t = r.until("a3")
    assert status_of(t) == b"BAD", t
    u, t = r.cmd("AUTHENTICATE X-NOPE")
    assert status_of(t) in (b"NO", b"BAD")
    # An empty initial response "=" means an empty string.
    u, t = r.cmd("AUTHENTICATE PLAIN =")
    assert status_of(t) in (b"NO", b"BAD")
    r.cmd("LOGIN alice alice-pw", ok=True)


def test_authenticate_login(server):
    r = server.raw()
    r.send(b"a1 AUTHENTICATE LOGIN\r\n")
    ch = r.line()
    assert ch.startswith(b"+ "), ch
    assert base64.b64decode(ch[2:].strip()).lower().startswith(b"user")
    r.send(b64("alice") + "\r\n")
    ch = r.line()
    assert base64.b64decode(ch[2:].strip()).lower().startswith(b"pass")
    r.send(b64("alice-pw") + "\r\n")
    u, t = r.until("a1")
    assert status_of(t) == b"OK", t
    r.close()
    # With SASL-IR: the user name up front.
    r = server.raw()
    r.send(("a1 AUTHENTICATE LOGIN " + b64("alice") + "\r\n").encode())
    ch = r.line()
    assert base64.b64decode(ch[2:].strip()).lower().startswith(b"pass")
    r.send(b"*\r\n")
    u, t = r.until("a1")
    assert status_of(t) == b"BAD"
    r.cmd("NOOP", ok=True)
    r.close()


def test_imaplib_authenticate(server):
    c = server.connect(login=False)
    typ, _ = c.authenticate("PLAIN", lambda _: b"\0alice\0alice-pw")
    assert typ == "OK"
    c.logout()


# --- authenticated: mailboxes -----------------------------------------------

def test_select_and_examine(server):
    c = server.connect()
    append(c, "INBOX", msg("one"), r"(\Seen)")
    append(c, "INBOX", msg("two"))
    append(c, "INBOX", msg("three"), r"(\Seen $Work)")
    c.logout()
    r = server.raw(login="alice")
    u, t = r.cmd("SELECT INBOX", ok=True)
    text = b"".join(u)
    assert b"[READ-WRITE]" in t
    assert b"* 3 EXISTS\r\n" in text
    assert re.search(rb"\* \d+ RECENT\r\n", text)
    assert re.search(rb"\* FLAGS \([^)]*\\Seen[^)]*\)", text)
    perm = code(text, "PERMANENTFLAGS")
    assert perm is not None and b"\\*" in perm and b"\\Deleted" in perm, text
    assert code(text, "UNSEEN") == b"2"
    assert int(code(text, "UIDNEXT")) > 3
    uidvalidity = int(code(text, "UIDVALIDITY"))
    assert uidvalidity > 0
    # EXAMINE: read-only; FETCH BODY[] does not set \Seen, STORE is refused.
    u, t = r.cmd("EXAMINE INBOX", ok=True)
    assert b"[READ-ONLY]" in t
    assert int(code(b"".join(u), "UIDVALIDITY")) == uidvalidity
    r.cmd("FETCH 2 BODY[]", ok=True)
    u, t = r.cmd("FETCH 2 FLAGS", ok=True)
    assert b"\\Seen" not in u[0]
    u, t = r.cmd("STORE 2 +FLAGS (\\Deleted)")
    assert status_of(t) == b"NO"
    # A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
    r.cmd("SELECT INBOX.nope", ok="NO")
    u, t = r.cmd("FETCH 1 FLAGS")
    assert status_of(t) == b"BAD"
    r.cmd("SELECT inbox", ok=True)  # INBOX is case-insensitive


def test_create_delete_rename(server):
    r = server.raw(login="alice")
    r.cmd("CREATE INBOX.a", ok=True)
    r.cmd("CREATE INBOX.a", ok="NO")
    r.cmd("CREATE INBOX", ok="NO")
    r.cmd("CREATE INBOX.b", ok=True)
    r.cmd("CREATE INBOX.b.c.d", ok=True)  # superiors are listed too
    r.cmd("CREATE INBOX.t.", ok=True)  # trailing delimiter: "will create inferiors"
    u, _ = r.cmd('LIST "" *', ok=True)
    names = list_names(u)
    for n in (b"INBOX", b"INBOX.a", b"INBOX.b", b"INBOX.b.c", b"INBOX.b.c.d", b"INBOX.t"):
        assert n in names, names
    assert b"\\haschildren" in names[b"INBOX.b"]
    assert b"\\hasnochildren" in names[b"INBOX.a"]
    assert (server.maildir() / ".b.c.d" / "cur").is_dir()
    # Rename with inferiors: they move too.
    # Superiors are listed; like Courier they may be \Noselect placeholders
    # (RFC 3501 §6.3.3 says SHOULD create them).
    r.cmd("APPEND INBOX.b.c.d {%d+}\r\n%s" % (len(msg("x")), msg("x").decode()), ok=True)
    r.cmd("RENAME INBOX.b INBOX.q", ok=True)
    names = list_names(r.cmd('LIST "" *', ok=True)[0])
    assert b"INBOX.q.c.d" in names and b"INBOX.b" not in names and b"INBOX.b.c" not in names
    u, _ = r.cmd("STATUS INBOX.q.c.d (MESSAGES)", ok=True)
    assert b"MESSAGES 1" in u[0]
    r.cmd("RENAME INBOX.nope INBOX.x", ok="NO")
    r.cmd("RENAME INBOX.a INBOX.q", ok="NO")
    # DELETE
    r.cmd("DELETE INBOX", ok="NO")
    r.cmd("DELETE INBOX.nope", ok="NO")
    r.cmd("DELETE INBOX.a", ok=True)
    assert b"INBOX.a" not in list_names(r.cmd('LIST "" *', ok=True)[0])
    u, t = r.cmd("DELETE INBOX.q")  # has inferiors: OK (becomes \Noselect) or NO
    assert status_of(t) in (b"OK", b"NO")
    assert b"INBOX.q.c.d" in list_names(r.cmd('LIST "" *', ok=True)[0])
    r.cmd("NOOP", ok=True)


def test_rename_inbox_moves_messages(server):
    seed(server, 3)
    r = server.raw(login="alice")
    r.cmd("RENAME INBOX INBOX.old", ok=True)
    u, _ = r.cmd("STATUS INBOX (MESSAGES)", ok=True)
    assert b"MESSAGES 0" in u[0], u
    u, _ = r.cmd("STATUS INBOX.old (MESSAGES)", ok=True)
    assert b"MESSAGES 3" in u[0], u
    u, _ = r.cmd("SELECT INBOX", ok=True)
    assert b"* 0 EXISTS\r\n" in u
    names = list_names(r.cmd('LIST "" *', ok=True)[0])
    assert b"INBOX" in names and b"INBOX.old" in names


def test_subscribe_lsub(server):
    r = server.raw(login="alice")
    for n in ("INBOX.a", "INBOX.a.b", "INBOX.c"):
        r.cmd(f"CREATE {n}", ok=True)
    r.cmd("SUBSCRIBE INBOX.a", ok=True)
    r.cmd("SUBSCRIBE INBOX.a.b", ok=True)
    r.cmd("SUBSCRIBE INBOX.c", ok=True)
    r.cmd("UNSUBSCRIBE INBOX.c", ok=True)
    subs = list_names(r.cmd('LSUB "" *', ok=True)[0], b"LSUB")
    assert set(subs) == {b"INBOX.a", b"INBOX.a.b"}, subs
    subs = list_names(r.cmd('LSUB "" INBOX.%', ok=True)[0], b"LSUB")
    assert set(subs) == {b"INBOX.a"}, subs
    u, t = r.cmd("UNSUBSCRIBE INBOX.never")  # RFC 3501 allows NO or OK
    assert status_of(t) in (b"OK", b"NO")
    # Courier keeps them in courierimapsubscribed.
    assert "INBOX.a" in (server.maildir() / "courierimapsubscribed").read_text()


def test_list_patterns(server):
    r = server.raw(login="alice")
    for n in ("INBOX.a", "INBOX.a.b", "INBOX.a.b.c", "INBOX.z"):
        r.cmd(f"CREATE {n}", ok=True)
    u, _ = r.cmd('LIST "" ""', ok=True)
    items = parse_sexp(u[0])
    assert b"\\noselect" in [f.lower() for f in items[2]] and items[3] == b"." and items[4] == b""
    assert set(list_names(r.cmd('LIST "" %', ok=True)[0])) == {b"INBOX"}
    assert set(list_names(r.cmd('LIST "" INBOX.%', ok=True)[0])) == {b"INBOX.a", b"INBOX.z"}
    assert set(list_names(r.cmd('LIST "" *', ok=True)[0])) == {
        b"INBOX", b"INBOX.a", b"INBOX.a.b", b"INBOX.a.b.c", b"INBOX.z"}
    assert set(list_names(r.cmd('LIST "" INBOX.a*', ok=True)[0])) == {
        b"INBOX.a", b"INBOX.a.b", b"INBOX.a.b.c"}
    assert set(list_names(r.cmd('LIST INBOX.a. %', ok=True)[0])) == {b"INBOX.a.b"}
    assert set(list_names(r.cmd('LIST INBOX. *', ok=True)[0])) == {
        b"INBOX.a", b"INBOX.a.b", b"INBOX.a.b.c", b"INBOX.z"}
    assert set(list_names(r.cmd('LIST "" inbox', ok=True)[0])) == {b"INBOX"}
    assert list_names(r.cmd('LIST "" nothing.*', ok=True)[0]) == {}
    names = list_names(r.cmd('LIST "" *', ok=True)[0])
    assert b"\\haschildren" in names[b"INBOX.a"] and b"\\hasnochildren" in names[b"INBOX.z"]


def test_status(server):
    seed(server, 3)
    c = server.connect()
    c.create("INBOX.s")
    append(c, "INBOX.s", msg("s1"), r"(\Seen)")
    append(c, "INBOX.s", msg("s2"))
    c.logout()
    r = server.raw(login="alice")
    u, _ = r.cmd("STATUS INBOX.s (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)", ok=True)
    items = parse_sexp(u[0])
    assert items[2] == b"INBOX.s"
    st = dict(zip(items[3][::2], items[3][1::2]))
    assert st[b"MESSAGES"] == b"2" and st[b"UNSEEN"] == b"1"
    assert int(st[b"UIDNEXT"]) >= 3 and int(st[b"UIDVALIDITY"]) > 0
    assert b"RECENT" in st
    r.cmd("STATUS INBOX.nope (MESSAGES)", ok="NO")
    r.cmd("STATUS INBOX (BOGUS)", ok="BAD")


def test_append_forms(server):
    r = server.raw(login="alice")
    m = msg("appended")
    # Synchronizing literal: the server asks for it with "+".
    r.send(b'a1 APPEND INBOX (\\Flagged $Label1) "05-Feb-2021 12:30:00 +0100" {%d}\r\n' % len(m))
    assert r.line().startswith(b"+")
    r.send(m + b"\r\n")
    u, t = r.until("a1")
    assert status_of(t) == b"OK", t
    m2 = re.search(rb"\[APPENDUID (\d+) (\d+)\]", t)
    assert m2, t
    uid = int(m2.group(2))
    # LITERAL+: no continuation.
    r.send(b"a2 APPEND INBOX {%d+}\r\n" % len(m) + m + b"\r\n")
    u, t = r.until("a2")
    assert status_of(t) == b"OK" and b"APPENDUID" in t
    u, _ = r.cmd("SELECT INBOX", ok=True)
    u, _ = r.cmd(f"UID FETCH {uid} (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])", ok=True)
    seq, d = fetch_items(u[0])
    assert {b"\\Flagged", b"$Label1"} <= set(d[b"FLAGS"]), d
    # The instant is kept (Courier keeps it as the file's mtime; the zone is not).
    assert internaldate(d[b"INTERNALDATE"]) == internaldate(b"05-Feb-2021 12:30:00 +0100")
    assert d[b"BODY[]"] == m and int(d[b"RFC822.SIZE"]) == len(m)
    # Bad forms.
    r.cmd('APPEND INBOX "31-Foo-2021 12:30:00 +0100" {1+}\r\nx', ok="BAD")
    u, t = r.cmd("APPEND INBOX (\\Recent) {1+}\r\nx")  # \Recent cannot be set
    assert status_of(t) in (b"BAD", b"NO", b"OK")
    r.cmd("NOOP", ok=True)
    # Empty message: refused or stored, never a broken session.
    u, t = r.cmd("APPEND INBOX {0+}\r\n")
    assert status_of(t) in (b"OK", b"NO")
    r.cmd("NOOP", ok=True)


def test_trycreate(server):
    seed(server, 1)
    r = server.raw(login="alice")
    u, t = r.cmd("APPEND INBOX.missing {3+}\r\nabc", ok="NO")
    assert b"[TRYCREATE]" in t
    r.cmd("SELECT INBOX", ok=True)
    u, t = r.cmd("COPY 1 INBOX.missing", ok="NO")
    assert b"[TRYCREATE]" in t
    u, t = r.cmd("MOVE 1 INBOX.missing", ok="NO")
    assert b"[TRYCREATE]" in t
    u, t = r.cmd("UID COPY 1:* INBOX.missing", ok="NO")
    assert b"[TRYCREATE]" in t


def test_check_close_unselect_expunge(server):
    seed(server, 5)
    r = server.raw(login="alice")
    r.cmd("SELECT INBOX", ok=True)
    r.cmd("CHECK", ok=True)
    r.cmd("STORE 2,4 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, t = r.cmd("EXPUNGE", ok=True)
    # Sequence numbers as they change: 2 goes, then old 4 is now 3.
    assert [x for x in u if b"EXPUNGE" in x] == [b"* 2 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n"], u
    u, _ = r.cmd("FETCH 1:* (UID)", ok=True)
    assert len(fetches(u)) == 3
    # UNSELECT: no expunge.
    r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, t = r.cmd("UNSELECT", ok=True)
    assert not any(b"EXPUNGE" in x for x in u)
    r.cmd("FETCH 1 FLAGS", ok="BAD")
    u, _ = r.cmd("STATUS INBOX (MESSAGES)", ok=True)
    assert b"MESSAGES 3" in u[0]
    # CLOSE in EXAMINE: no expunge either.
    r.cmd("EXAMINE INBOX", ok=True)
    r.cmd("CLOSE", ok=True)
    u, _ = r.cmd("STATUS INBOX (MESSAGES)", ok=True)
    assert b"MESSAGES 3" in u[0]
    # CLOSE after SELECT: expunges silently.
    r.cmd("SELECT INBOX", ok=True)
    u, t = r.cmd("CLOSE", ok=True)
    assert not any(b"EXPUNGE" in x for x in u), u
    u, _ = r.cmd("STATUS INBOX (MESSAGES)", ok=True)
    assert b"MESSAGES 2" in u[0]
    r.cmd("CLOSE", ok="BAD")  # nothing selected
    r.cmd("EXPUNGE", ok="BAD")


def test_uid_expunge(server):
    seed(server, 4)
    r = server.raw(login="alice")
    r.cmd("SELECT INBOX", ok=True)
    u, _ = r.cmd("FETCH 1:* UID", ok=True)
    uids = [int(d[b"UID"]) for _, d in sorted(fetches(u).items())]
    r.cmd("STORE 1:3 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, t = r.cmd(f"UID EXPUNGE {uids[1]}:{uids[3]}", ok=True)
    assert [x for x in u if b"EXPUNGE" in x] == [b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"], u
    u, _ = r.cmd("UID SEARCH ALL", ok=True)
    assert search_result(u) == [uids[0], uids[3]]


# --- SEARCH -----------------------------------------------------------------

SEARCH_MSGS = [
    # (message, flags, internal date)
    (msg("alpha report", body="the quick brown fox\r\n", frm="Alice <alice@example.org>",
         to="bob@example.org", date="Wed, 01 Jan 2020 10:00:00 +0000",
         extra="Cc: carol@example.org\r\nBcc: dave@example.org\r\nX-Tag: red\r\n"),
     r"(\Seen \Answered)", '"01-Jan-2020 10:00:00 +0000"'),
    (msg("beta update", body="lazy dog sleeps\r\n" + "x" * 3000 + "\r\n", frm="Bob <bob@example.org>",
         to="alice@example.org", date="Mon, 15 Jun 2020 09:00:00 +0000", extra="X-Tag: blue\r\n"),
     r"(\Flagged $Work)", '"15-Jun-2020 09:00:00 +0000"'),
    (msg("=?UTF-8?B?R3LDvMOfZQ==?= from Munich", body="Grüße aus München\r\n",
         frm="Carol <carol@example.org>", date="Tue, 01 Dec 2020 08:00:00 +0000",
         extra="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"),
     r"(\Draft)", '"01-Dec-2020 08:00:00 +0000"'),
    (msg("gamma", body="nothing here\r\n", frm="Dave <dave@example.org>",
         date="Fri, 01 Jan 2021 00:00:00 +0000"),
     r"(\Deleted \Seen)", '"01-Jan-2021 00:00:00 +0000"'),
]


@pytest.fixture
def search_box(server):
    c = server.connect()
    for m, flags, date in SEARCH_MSGS:
        append(c, "INBOX", m, flags, date)
    c.logout()
    r = server.raw(login="alice")
    r.cmd("SELECT INBOX", ok=True)
    return r


SEARCHES = {
    "ALL": [1, 2, 3, 4],
    "ANSWERED": [1], "UNANSWERED": [2, 3, 4],
    "DELETED": [4], "UNDELETED": [1, 2, 3],
    "DRAFT": [3], "UNDRAFT": [1, 2, 4],
    "FLAGGED": [2], "UNFLAGGED": [1, 3, 4],
    "SEEN": [1, 4], "UNSEEN": [2, 3],
    "KEYWORD $Work": [2], "UNKEYWORD $Work": [1, 3, 4],
    "KEYWORD $Nothing": [],
    # APPENDed by another session: \Recent to this first SELECT.
    "RECENT": [1, 2, 3, 4], "NEW": [2, 3], "OLD": [],
    "BCC dave": [1], "CC carol": [1], "FROM bob": [2], "FROM example.org": [1, 2, 3, 4],
    "TO alice": [2], "SUBJECT report": [1], "SUBJECT REPORT": [1],
    "BODY lazy": [2], "BODY subject": [], "TEXT lazy": [2], "TEXT alpha": [1],
    "HEADER X-Tag red": [1], "HEADER X-Tag \"\"": [1, 2], "HEADER Message-ID example": [1, 2, 3, 4],
    "LARGER 2000": [2], "SMALLER 2000": [1, 3, 4],
    "BEFORE 15-Jun-2020": [1], "ON 15-Jun-2020": [2], "SINCE 15-Jun-2020": [2, 3, 4],
    "SENTBEFORE 15-Jun-2020": [1], "SENTON 1-Dec-2020": [3], "SENTSINCE 1-Dec-2020": [3, 4],
    "1,3": [1, 3], "2:*": [2, 3, 4], "*": [4], "*:3": [3, 4], "1:2,4": [1, 2, 4],
    "NOT SEEN": [2, 3], "NOT NOT SEEN": [1, 4],
    "OR FLAGGED DRAFT": [2, 3], "OR (SEEN ANSWERED) DELETED": [1, 4],
    "(SEEN UNDELETED)": [1], "SEEN NOT (DELETED OR FLAGGED ANSWERED)": [1, 4], "DELETED NOT OR FLAGGED ANSWERED": [4],
    "NOT (OR SEEN FLAGGED)": [3], "1:3 NOT 2": [1, 3],
    "UNDELETED FROM example SINCE 1-Jan-2020": [1, 2, 3],
    "SUBJECT Grüße": None,  # 8-bit without CHARSET: BAD or empty, below
}


def test_search_every_key(search_box):
    r = search_box
    for crit, expect in SEARCHES.items():
        if expect is None:
            continue
        u, t = r.cmd(f"SEARCH {crit}")
        assert status_of(t) == b"OK", (crit, t)
        assert search_result(u) == expect, crit


def test_search_uid_and_charsets(search_box):
    r = search_box
    u, _ = r.cmd("FETCH 1:* UID", ok=True)
    uids = [int(d[b"UID"]) for _, d in sorted(fetches(u).items())]
    u, _ = r.cmd("UID SEARCH FLAGGED", ok=True)
    assert search_result(u) == [uids[1]]
    u, _ = r.cmd(f"SEARCH UID {uids[2]}:*", ok=True)
    assert search_result(u) == [3, 4]
    u, _ = r.cmd("UID SEARCH 2", ok=True)
    assert search_result(u) == [uids[1]]
    # CHARSET UTF-8 with a literal; the encoded subject and 8-bit body match.
    word = "Grüße".encode()
    for crit in (b"SUBJECT", b"BODY", b"TEXT"):
        u, t = r.cmd(b"SEARCH CHARSET UTF-8 " + crit + b" {%d+}\r\n" % len(word) + word)
        assert status_of(t) == b"OK", t
        assert search_result(u) == [3], crit
    u, _ = r.cmd('SEARCH CHARSET UTF-8 BODY "MÜNCHEN"'.encode(), ok=True)
    assert search_result(u) == [3]
    u, _ = r.cmd("SEARCH CHARSET US-ASCII FROM carol", ok=True)
    assert search_result(u) == [3]
    u, t = r.cmd("SEARCH CHARSET X-NO-SUCH-CHARSET FROM carol", ok="NO")
    assert b"[BADCHARSET" in t
    for bad in ("SEARCH", "SEARCH FOO", "SEARCH OR SEEN", "SEARCH (SEEN", "SEARCH BEFORE 1-Foo-2000",
                "SEARCH LARGER x", "SEARCH 0", "SEARCH UID x", "SEARCH NOT"):
        r.cmd(bad, ok="BAD")
    u, _ = r.cmd("SEARCH 1:4", ok=True)  # still fine afterwards
    assert search_result(u) == [1, 2, 3, 4]


# --- FETCH ------------------------------------------------------------------

@pytest.fixture
def fetch_box(server):
    c = server.connect()
    append(c, "INBOX", NESTED, None, '"05-Feb-2021 12:30:00 +0000"')
    append(c, "INBOX", msg("plain one", body="hello body\r\n"))
    c.logout()
    r = server.raw(login="alice")
    r.cmd("SELECT INBOX", ok=True)
    return r


def one(r, cmd):
    u, t = r.cmd(cmd)
    assert status_of(t) == b"OK", (cmd, t)
    f = fetches(u)
    return f


def test_fetch_basic_items(fetch_box):
    r = fetch_box
    d = one(r, "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)")[1]
    assert d[b"FLAGS"] == [b"\\Recent"] or d[b"FLAGS"] == []
    assert internaldate(d[b"INTERNALDATE"]) == internaldate(b"05-Feb-2021 12:30:00 +0000")
    assert int(d[b"RFC822.SIZE"]) == len(NESTED)
    env = one(r, "FETCH 1 ENVELOPE")[1][b"ENVELOPE"]
    assert env[0] == b"Fri, 05 Feb 2021 12:30:00 +0000"
    assert env[1] == b"nested parts"
    assert env[2] == [[b"Carol", None, b"carol", b"example.com"]]
    assert env[3] == env[2] and env[4] == env[2]  # sender, reply-to default to from
    assert env[5] == [[b"Dave", None, b"dave", b"example.com"], [None, None, b"eve", b"example.com"]]
    assert env[6] == [[None, None, b"frank", b"example.com"]]
    assert env[7] is None and env[8] is None and env[9] == b"<nested@example.com>"
    # Macros.
    for macro, keys in (("ALL", {b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE"}),
                        ("FAST", {b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"}),
                        ("FULL", {b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE", b"BODY"})):
        d = one(r, f"FETCH 1:2 {macro}")
        assert set(d[1]) == keys and set(d[2]) == keys, (macro, d)


def test_fetch_bodystructure(fetch_box):
    r = fetch_box
    bs = one(r, "FETCH 1 BODYSTRUCTURE")[1][b"BODYSTRUCTURE"]
    p1, alt, rfc822 = bs[0], bs[1], bs[2]
    assert bs[3].upper() == b"MIXED"
    assert [x.upper() if isinstance(x, bytes) else x for x in p1[:2]] == [b"TEXT", b"PLAIN"]
    assert [x.lower() for x in p1[2]] == [b"charset", b"utf-8"]
    assert p1[5].upper() == b"8BIT" and int(p1[6]) == len(P1_BODY)
    int(p1[7])  # line counts are compared with Courier and Dovecot in test_differential
    assert [x for x in alt if isinstance(x, bytes)][0].upper() == b"ALTERNATIVE"
    assert rfc822[0].upper() == b"MESSAGE" and rfc822[1].upper() == b"RFC822"
    assert int(rfc822[6]) == len(INNER_PART)
    assert rfc822[7][1] == b"inner message"  # the embedded ENVELOPE
    # BODY is the same without extension data.
    body = one(r, "FETCH 1 BODY")[1][b"BODY"]
    assert body[3] == b"MIXED" or body[3].upper() == b"MIXED"
    single = one(r, "FETCH 2 BODYSTRUCTURE")[2][b"BODYSTRUCTURE"]
    assert single[0].upper() == b"TEXT" and int(single[7]) == 1


def test_fetch_sections(fetch_box):
    r = fetch_box
    cases = {
        "BODY.PEEK[]": NESTED,
        "BODY.PEEK[HEADER]": NESTED_HEADER,
        "BODY.PEEK[TEXT]": NESTED_TEXT,
        "BODY.PEEK[1]": P1_BODY,
        "BODY.PEEK[1.MIME]": P1_MIME,
        "BODY.PEEK[2.1]": b"alt plain",
        "BODY.PEEK[2.2]": b"<p>alt html</p>",
        "BODY.PEEK[3]": INNER_PART,
        "BODY.PEEK[3.HEADER]": INNER[: INNER.index(b"\r\n\r\n") + 4],
        "BODY.PEEK[3.TEXT]": INNER_PART[INNER.index(b"\r\n\r\n") + 4:],
        "BODY.PEEK[3.1]": b"inner text",
        "BODY.PEEK[3.2]": b"AAECAw==",
        "BODY.PEEK[3.2.MIME]": b"Content-Type: application/octet-stream; name=x.bin\r\n"
                               b"Content-Transfer-Encoding: base64\r\n\r\n",
        "BODY.PEEK[HEADER.FIELDS (Subject cc)]": b"Cc: frank@example.com\r\nSubject: nested parts\r\n\r\n",
        "BODY.PEEK[3.HEADER.FIELDS (SUBJECT)]": b"Subject: inner message\r\n\r\n",
        "BODY.PEEK[HEADER.FIELDS (X-None)]": b"\r\n",
        "BODY.PEEK[1]<0.4>": b"Part",
        "BODY.PEEK[]<5.5>": NESTED[5:10],
        "BODY.PEEK[TEXT]<0.8>": NESTED_TEXT[:8],
        "BODY.PEEK[1]<1000.5>": b"",
        "BODY.PEEK[9]": b"",
        "RFC822.HEADER": NESTED_HEADER,
    }
    for item, want in cases.items():
        d = one(r, f"FETCH 1 ({item})")[1]
        key = item.replace(".PEEK", "").upper().replace("CC)", "CC)")
        got = [v for k, v in d.items() if k.startswith(b"BODY[") or k.startswith(b"RFC822")]
        assert len(got) == 1, (item, d)
        if item.startswith("BODY.PEEK[HEADER.FIELDS (Subject cc)]"):
            # Field order follows the message.
            assert got[0] == want, (item, got[0])
        else:
            assert got[0] == want, (item, got[0], want)
        if "<" in item:
            m = re.search(r"<(\d+)\.", item)
            assert any(k.endswith(b"<%s>" % m.group(1).encode()) for k in d), (item, d.keys())
    d = one(r, "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Subject Cc To From Date Message-ID)]")[1]
    (v,) = [v for k, v in d.items() if k.startswith(b"BODY[")]
    assert v == b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="out"\r\n\r\n', v
    d = one(r, "FETCH 1 (RFC822.TEXT)")[1]
    assert d[b"RFC822.TEXT"] == NESTED_TEXT
    for bad in ("FETCH 1 BODY[0]", "FETCH 1 BODY[1.0]", "FETCH 1 BODY[HEADER.FIELDS ()]",
                "FETCH 1 BODY[TEXT]<x>", "FETCH 1 BODY[MIME]", "FETCH 1 BOGUS", "FETCH 1 (FLAGS",
                "FETCH 0 FLAGS", "FETCH x FLAGS"):
        r.cmd(bad, ok="BAD")


def test_fetch_sets_seen_unless_peek(fetch_box):
    r = fetch_box
    d = one(r, "FETCH 2 BODY.PEEK[TEXT]")[2]
    assert b"FLAGS" not in d
    assert b"\\Seen" not in one(r, "FETCH 2 FLAGS")[2][b"FLAGS"]
    d = one(r, "FETCH 2 BODY[TEXT]")[2]
    assert b"\\Seen" in d[b"FLAGS"]  # the flag change is reported
    r.cmd("STORE 2 -FLAGS (\\Seen)", ok=True)
    d = one(r, "FETCH 2 RFC822")[2]
    assert d[b"RFC822"].endswith(b"hello body\r\n") and b"\\Seen" in d[b"FLAGS"]
    r.cmd("STORE 2 -FLAGS (\\Seen)", ok=True)
    one(r, "FETCH 2 RFC822.HEADER")
    assert b"\\Seen" not in one(r, "FETCH 2 FLAGS")[2][b"FLAGS"]
    one(r, "FETCH 2 RFC822.TEXT")
    assert b"\\Seen" in one(r, "FETCH 2 FLAGS")[2][b"FLAGS"]
    # UID FETCH always includes UID.
    u, _ = r.cmd("UID FETCH 1:* FLAGS", ok=True)
    assert all(b"UID" in d for d in fetches(u).values())


# --- STORE, COPY, MOVE -------------------------------------------------------

def test_store(server):
    seed(server, 3)
    r = server.raw(login="alice")
    r.cmd("SELECT INBOX", ok=True)
    f = fetches(r.cmd("STORE 1 +FLAGS (\\Flagged $Important)", ok=True)[0])
    assert {b"\\Flagged", b"$Important"} <= set(f[1][b"FLAGS"])
    f = fetches(r.cmd("STORE 1 -FLAGS ($Important)", ok=True)[0])
    assert b"$Important" not in f[1][b"FLAGS"] and b"\\Flagged" in f[1][b"FLAGS"]
    f = fetches(r.cmd("STORE 1:2 FLAGS (\\Answered foo)", ok=True)[0])
    assert set(f[1][b"FLAGS"]) - {b"\\Recent"} == {b"\\Answered", b"foo"}
    u, _ = r.cmd("STORE 1:* +FLAGS.SILENT (\\Seen)", ok=True)
    assert not fetches(u)
    u, _ = r.cmd("UID STORE 1:* -FLAGS.SILENT (\\Seen)", ok=True)
    assert not fetches(u)
    f = fetches(r.cmd("UID STORE 1:* +FLAGS (\\Draft)", ok=True)[0])
    assert all(b"UID" in d for d in f.values()) and len(f) == 3
    # The new keyword is in FLAGS and PERMANENTFLAGS on the next SELECT.
    u, _ = r.cmd("SELECT INBOX", ok=True)
    flags_line = [x for x in u if x.startswith(b"* FLAGS")][0]
    assert b"foo" in flags_line
    # \Recent cannot be stored (RFC 3501 §2.3.2); \Bogus is syntactically a
    # flag-extension. Refused or ignored, never stored.
    for f in ("\\Recent", "\\Bogus"):
        u, t = r.cmd(f"STORE 3 +FLAGS ({f})")
        assert status_of(t) in (b"OK", b"NO", b"BAD")
        f3 = fetches(r.cmd("FETCH 3 FLAGS", ok=True)[0])[3][b"FLAGS"]
        assert f.encode() not in f3, f3
    r.cmd("STORE 1 XFLAGS (\\Seen)", ok="BAD")
    # Keywords survive on disk and in a new session.
    r2 = server.raw(login="alice")
    r2.cmd("SELECT INBOX", ok=True)
    f = fetches(r2.cmd("FETCH 1 FLAGS", ok=True)[0])
    assert b"foo" in f[1][b"FLAGS"]


def test_copy_and_move(server):
    seed(server, 4)
    r = server.raw(login="alice")
    r.cmd("CREATE INBOX.dst", ok=True)
    u, _ = r.cmd("SELECT INBOX", ok=True)
    uidvalidity_src = code(b"".join(u), "UIDVALIDITY")
    r.cmd("STORE 2 +FLAGS (\\Flagged)", ok=True)
    u, t = r.cmd("COPY 1:2 INBOX.dst", ok=True)
    m = re.search(rb"\[COPYUID (\d+) (\S+) (\S+)\]", t)
    assert m, t
    u, t = r.cmd("UID COPY 3 INBOX.dst", ok=True)
    assert b"[COPYUID " in t
    u, _ = r.cmd("STATUS INBOX.dst (MESSAGES)", ok=True)
    assert b"MESSAGES 3" in u[0]
    # MOVE: COPYUID in an untagged OK, then EXPUNGE (RFC 6851).
    u, t = r.cmd("MOVE 1 INBOX.dst", ok=True)
    assert any(b"[COPYUID " in x for x in u + [t]), (u, t)
    assert b"* 1 EXPUNGE\r\n" in u
    u, _ = r.cmd("FETCH 1:* UID", ok=True)
    uids = [int(d[b"UID"]) for _, d in sorted(fetches(u).items())]
    assert len(uids) == 3
    u, t = r.cmd(f"UID MOVE {uids[2]} INBOX.dst", ok=True)
    assert b"* 3 EXPUNGE\r\n" in u
    u, t = r.cmd("UID MOVE 999999 INBOX.dst")  # no such UID: OK, nothing moves
    assert status_of(t) == b"OK"
    u, _ = r.cmd("SELECT INBOX.dst", ok=True)
    assert b"* 5 EXISTS\r\n" in u
    f = fetches(r.cmd("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", ok=True)[0])
    subjects = sorted(v for d in f.values() for k, v in d.items() if k.startswith(b"BODY["))
    assert subjects == sorted([b"Subject: message %d\r\n\r\n" % i for i in (1, 2, 3, 1, 4)])
    assert sum(b"\\Flagged" in d[b"FLAGS"] for d in f.values()) == 1
    r.cmd("COPY 1 INBOX.dst", ok=True)  # into the selected folder itself
    r.cmd("COPY 99 INBOX.dst", ok="BAD")  # beyond the last message


# --- IDLE ---------------------------------------------------------------------

def test_idle_woken_by_delivery_and_store(server):
    seed(server, 1)
    r = server.raw(login="alice")
    r.cmd("SELECT INBOX", ok=True)
    r.send(b"i1 IDLE\r\n")
    assert r.line().startswith(b"+")
    time.sleep(0.2)
    server.deliver(msg("delivered while idling"))
    r.sock.settimeout(1.5)  # pushed within a second (plus slack)
    t0 = time.time()
    assert r.line() == b"* 2 EXISTS\r\n"
    assert time.time() - t0 < 1.5
    # Another session's STORE.
    other = server.connect()
    other.select("INBOX")
    other.store("1", "+FLAGS", r"(\Flagged)")
    got = b""
    while b"FETCH" not in got:
        got += r.line()
    assert b"\\Flagged" in got
    # Another session's EXPUNGE during IDLE is reported too.
    other.store("1", "+FLAGS", r"(\Deleted)")
    other.expunge()
    got = b""
    while b"EXPUNGE" not in got:
        got += r.line()
    assert b"* 1 EXPUNGE" in got
    other.logout()
    r.sock.settimeout(10)
    r.send(b"DONE\r\n")
    u, t = r.until("i1")
    assert status_of(t) == b"OK"
    r.cmd("NOOP", ok=True)
    # IDLE ended by something other than DONE is BAD, and the session lives on.
    r.send(b"i2 IDLE\r\n")
    assert r.line().startswith(b"+")
    r.send(b"NOTDONE\r\n")
    u, t = r.until("i2")
    assert status_of(t) == b"BAD", t
    r.cmd("NOOP", ok=True)


# --- NAMESPACE, ENABLE, ID -----------------------------------------------------

def test_namespace_enable_id(server):
    r = server.raw(login="alice")
    u, _ = r.cmd("NAMESPACE", ok=True)
    assert u == [b'* NAMESPACE (("INBOX." ".")) NIL (("#shared." "."))\r\n']
    u, _ = r.cmd("ENABLE UTF8=ACCEPT", ok=True)
    assert u == [b"* ENABLED UTF8=ACCEPT\r\n"]
    u, _ = r.cmd("ENABLE X-UNKNOWN", ok=True)
    assert u in ([b"* ENABLED\r\n"], [])
    u, _ = r.cmd('ID ("name" "pytest" "version" "1")', ok=True)
    assert u[0].startswith(b"* ID ")
    u, _ = r.cmd("ID NIL", ok=True)
    r.cmd("ID (\"name\")", ok="BAD")
    r2 = server.raw()
    u, _ = r2.cmd("ID NIL", ok=True)  # ID works before login as well
    r2.cmd("ENABLE UTF8=ACCEPT", ok="BAD")  # ENABLE needs authentication


def test_utf8_accept_mailbox_names(server):
    r = server.raw(login="alice")
    r.cmd("ENABLE UTF8=ACCEPT", ok=True)
    r.cmd('CREATE "INBOX.Café"'.encode(), ok=True)
    names = list_names(r.cmd('LIST "" *', ok=True)[0])
    assert "INBOX.Café".encode() in names, names
    assert (server.maildir() / ".Café").is_dir()


def test_modified_utf7_names(server):
    r = server.raw(login="alice")
    r.cmd("CREATE INBOX.Entw&APw-rfe", ok=True)
    names = list_names(r.cmd('LIST "" *', ok=True)[0])
    assert b"INBOX.Entw&APw-rfe" in names, names
    assert (server.maildir() / ".Entwürfe").is_dir(), os.listdir(server.maildir())
    r.cmd("SELECT INBOX.Entw&APw-rfe", ok=True)
    u, _ = r.cmd("STATUS INBOX.Entw&APw-rfe (MESSAGES)", ok=True)
    assert b"INBOX.Entw&APw-rfe" in u[0]
    # imaplib sees the same name.
    c = server.connect()
    typ, data = c.list()
    assert any(b"INBOX.Entw&APw-rfe" in d for d in data)
    c.logout()
    # Invalid modified UTF-7 is refused.
    for bad in ("INBOX.&Jjo", "INBOX.&-x&", "INBOX.&AGE-"):
        u, t = r.cmd(f"CREATE {bad}")
        assert status_of(t) in (b"BAD", b"NO"), (bad, t)
    # A folder made on disk by another program with a UTF-8 name.
    d = server.maildir() / ".Ünïcode"
    for sub in ("cur", "new", "tmp"):
        (d / sub).mkdir(parents=True)
    server.chown()
    names = list_names(r.cmd('LIST "" *', ok=True)[0])
    assert b"INBOX.&ANw-n&AO8-code" in names, names


# --- framing: pipelining, literals, bad syntax, limits -----------------------

def test_pipelining(server):
    seed(server, 2)
    r = server.raw(login="alice")
    r.send(b"p1 SELECT INBOX\r\np2 FETCH 1 (FLAGS)\r\np3 NOOP\r\np4 STORE 2 +FLAGS (\\Seen)\r\n"
           b"p5 FETCH 2 FLAGS\r\np6 SEARCH SEEN\r\n")
    for tag in ("p1", "p2", "p3", "p4", "p5"):
        u, t = r.until(tag)
        assert status_of(t) == b"OK", t
    u, t = r.until("p6")
    assert search_result(u) == [2]
    # A pipelined APPEND with LITERAL+ between other commands.
    m = msg("pipelined")
    r.send(b"q1 NOOP\r\nq2 APPEND INBOX {%d+}\r\n%s\r\nq3 STATUS INBOX (MESSAGES)\r\n" % (len(m), m))
    r.until("q1")
    assert status_of(r.until("q2")[1]) == b"OK"
    u, t = r.until("q3")
    assert b"MESSAGES 3" in u[0]


def test_literals_split_across_writes(server):
    r = server.raw()
    r.send(b"a1 LOGIN {5}\r\n")
    assert r.line().startswith(b"+")
    for piece in (b"al", b"ic", b"e {8}\r\n"):
        r.send(piece)
        time.sleep(0.05)
    assert r.line().startswith(b"+")
    for piece in (b"alice", b"-pw", b"\r", b"\n"):
        r.send(piece)
        time.sleep(0.05)
    u, t = r.until("a1")
    assert status_of(t) == b"OK", t
    m = msg("split") * 20
    r.send(b"a2 APPEND INBOX {%d+}\r\n" % len(m))
    for i in range(0, len(m), 97):
        r.send(m[i:i + 97])
    r.send(b"\r\n")
    u, t = r.until("a2")
    assert status_of(t) == b"OK", t
    # A command line split byte by byte.
    for b in b"a3 NOOP\r\n":
        r.send(bytes([b]))
    assert status_of(r.until("a3")[1]) == b"OK"


def test_bad_syntax_keeps_session(server):
    seed(server, 1)
    r = server.raw(login="alice")
    # An empty line is ignored or refused.
    r.send(b"\r\ne1 NOOP\r\n")
    u, t = r.until("e1")
    assert status_of(t) == b"OK" and all(x.startswith(b"* BAD") for x in u), u
    bads = [b"x", b"a1", b"a1 FOO", b"a1 SELECT", b"a1 SELECT INBOX extra", b"a1 FETCH",
            b"a1 FETCH 1", b"a1 LOGIN", b'a1 STATUS "INBOX', b"a1 SEARCH ((((", b"a1 UID",
            b"a1 UID FROB 1", b"+ x", b"* OK", b"a\x01b NOOP", b"a1 NOOP\x00", b"a1  NOOP",
            b"a1 NOOP ", b"a1 CREATE {x}", b"a1 APPEND INBOX {-1}", b"a1 NOOP\xff\xfe"]
    for line in bads:
        r.send(line + b"\r\n")
        resp = r.line()
        assert re.match(rb"(\S+ )?BAD |\* BAD ", resp) or resp.startswith(b"* BAD"), (line, resp)
    r.cmd("SELECT INBOX", ok=True)
    f = fetches(r.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", ok=True)[0])
    assert f[1][b"BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: message 1\r\n\r\n"
    # A lone LF ends a line too (many clients), or is refused: never a hang.
    r.send(b"l1 NOOP\n")
    r.send(b"l2 NOOP\r\n")
    u, t = r.until("l2")


def test_limits_answered_without_dropping(server):
    r = server.raw(login="alice")
    # An overlong command line (limit 64 KiB).
    r.send(b"a1 NOOP " + b"x" * (200 * 1024) + b"\r\n")
    resp = r.line()
    assert b"BAD" in resp, resp
    r.cmd("NOOP", ok=True)
    # A huge literal announcement: refused up front, nothing to send.
    r.send(b"a2 APPEND INBOX {99999999999}\r\n")
    resp = r.line()
    assert re.match(rb"a2 (BAD|NO) ", resp), resp
    r.cmd("NOOP", ok=True)
    # Same with LITERAL+: the server must skip or refuse; then close is OK,
    # but a small non-synchronizing literal over the command limit is skipped.
    r.send(b"a3 LOGIN {2000000+}\r\n" + b"y" * 2000000 + b" x\r\n")
    u, t = r.until("a3")
    assert status_of(t) == b"BAD"
    r.cmd("NOOP", ok=True)
    # Deep nesting and huge sequence sets.
    r.cmd("SELECT INBOX", ok=True)
    r.cmd("SEARCH " + "(" * 500 + "ALL" + ")" * 500, ok="BAD")
    r.cmd("SEARCH " + "NOT " * 500 + "ALL", ok="BAD")
    r.cmd("FETCH " + ",".join(str(i) for i in range(1, 20001)) + " FLAGS", ok="BAD")
    r.cmd("NOOP", ok=True)


# --- sessions seeing each other ----------------------------------------------

def test_recent_for_one_session_only(server):
    r1 = server.raw(login="alice")
    r2 = server.raw(login="alice")
    r1.cmd("SELECT INBOX", ok=True)
    r2.cmd("SELECT INBOX", ok=True)
    server.deliver(msg("new one"))
    u1, _ = r1.cmd("NOOP", ok=True)
    u2, _ = r2.cmd("NOOP", ok=True)
    assert b"* 1 EXISTS\r\n" in u1 and b"* 1 EXISTS\r\n" in u2
    rec = [b"* 1 RECENT\r\n" in u1, b"* 1 RECENT\r\n" in u2]
    assert rec.count(True) == 1, (u1, u2)
    holder, other = (r1, r2) if rec[0] else (r2, r1)
    assert search_result(holder.cmd("SEARCH RECENT", ok=True)[0]) == [1]
    assert search_result(other.cmd("SEARCH RECENT", ok=True)[0]) == []
    # A third session that selects later does not get it either.
    r3 = server.raw(login="alice")
    u, _ = r3.cmd("SELECT INBOX", ok=True)
    assert b"* 0 RECENT\r\n" in u
    f = fetches(holder.cmd("FETCH 1 FLAGS", ok=True)[0])
    assert b"\\Recent" in f[1][b"FLAGS"]


def test_no_expunge_during_fetch_store_search(server):
    seed(server, 5)
    a = expunged_elsewhere(server, 2)
    server.deliver(msg("arrived"))
    # FETCH, STORE, SEARCH by sequence number: no EXPUNGE may be sent, and
    # the old numbering stays valid.
    # (RFC 2180 §4.1.2: a FETCH naming the expunged message may answer NO.)
    u, t = a.cmd("FETCH 1:5 (UID FLAGS)")
    first = u
    assert status_of(t) == b"OK" or b"[EXPUNGEISSUED]" in t, t
    assert not any(b"EXPUNGE" in x for x in u), u
    assert sorted(fetches(u)) in ([1, 3, 4, 5], [1, 2, 3, 4, 5]), u
    u, _ = a.cmd("STORE 3 +FLAGS (\\Answered)", ok=True)
    assert not any(b"EXPUNGE" in x for x in u), u
    u, _ = a.cmd("SEARCH ANSWERED", ok=True)
    assert not any(b"EXPUNGE" in x for x in u), u
    assert search_result(u) == [3]
    # UID commands and NOOP may report it.
    u, _ = a.cmd("UID FETCH 1:* FLAGS", ok=True)  # was NO [EXPUNGEISSUED]: fixed
    u2, _ = a.cmd("NOOP", ok=True)
    allu = u + u2
    assert b"* 2 EXPUNGE\r\n" in allu, allu
    assert sum(b"EXPUNGE" in x for x in allu) == 1
    assert b"* 6 EXISTS\r\n" in first + allu
    # The message marked Answered by sequence number 3 was "message 3".
    f = fetches(a.cmd("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", ok=True)[0])
    answered = [d for d in f.values() if b"\\Answered" in d[b"FLAGS"]]
    assert len(answered) == 1
    assert answered[0][b"BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: message 3\r\n\r\n"


def test_expunged_message_fetch_by_sequence(server):
    """A message expunged by another session and not yet reported: FETCH of
    it answers NO or with what is still known, never a wrong message."""
    seed(server, 3)
    a = expunged_elsewhere(server, 3)
    u, t = a.cmd("FETCH 3 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert status_of(t) in (b"OK", b"NO")
    for x in u:
        if b"FETCH" in x:
            assert b"message 3" in x, x
    a.cmd("NOOP", ok=True)


# --- timeouts -----------------------------------------------------------------

def test_login_timeout_is_configurable(make_server):
    server = make_server("\n[imap]\nlogin_timeout_secs = 1\n")
    r = server.raw()
    r.sock.settimeout(10)
    t0 = time.time()
    resp = r.line()
    assert resp.startswith(b"* BYE"), resp
    assert time.time() - t0 < 8
    assert r.sock.recv(10) == b""
    # A logged-in session is not cut after the pre-login timeout.
    r = server.raw(login="alice")
    time.sleep(2)
    r.cmd("NOOP", ok=True)


def test_autologout_is_configurable_but_not_below_30_minutes(tmp_path, server):
    cfg = server.config.read_text()
    for value, ok in ((1800, True), (3600, True), (10, False)):
        p = server.root / "check.toml"
        p.write_text(cfg + f"\n[imap]\nautologout_secs = {value}\n")
        res = subprocess.run([BIN, "check-config", "--config", str(p)], capture_output=True, text=True)
        assert (res.returncode == 0) == ok, (value, res.stdout, res.stderr)
        if ok:
            assert f"autologout_secs = {value}" in res.stdout


def test_examine_shows_new_mail_like_select(server):
    """Regression: EXAMINE used to leave new/ unread, answering 0 EXISTS
    with UIDNEXT already past the new message (found with curl)."""
    server.deliver(b"From: a@example.org\r\nSubject: fresh\r\n\r\nhello\r\n")
    c = server.connect()
    assert c.select("INBOX", readonly=True) == ("OK", [b"1"])
    typ, data = c.fetch("1", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"fresh" in data[0][1]
    c.logout()
    c = server.connect()
    assert c.select("INBOX") == ("OK", [b"1"])
    c.logout()


def test_big_folder_shared_scan_never_hides_changes(server):
    """Sessions of one process share the scan of a big folder (10,000
    messages and more); a delivery, a flag change or an expunge by anyone
    must still show in the next SELECT."""
    cur = server.maildir() / "cur"
    for i in range(10_000):
        (cur / f"{1_600_000_000 + i}.M{i}P1.big:2,").write_bytes(b"Subject: x\n\nx\n")
    server.chown()
    # Let the timestamps age past the window in which they are not trusted.
    time.sleep(2.2)

    def select(conn):
        typ, data = conn.select("INBOX")
        assert typ == "OK", data
        return int(data[0])

    a = server.connect()
    first = select(a)
    assert first >= 10_000
    b = server.connect()
    assert select(b) == first  # a copy of a's scan
    b.logout()

    server.deliver(b"Subject: late\n\nhello\n")
    c = server.connect()
    assert select(c) == first + 1
    c.store("1", "+FLAGS", "(\\Flagged)")
    c.logout()

    time.sleep(2.2)
    d = server.connect()
    assert select(d) == first + 1
    typ, data = d.fetch("1", "(FLAGS)")
    assert b"\\Flagged" in data[0], data
    d.store("2", "+FLAGS", "(\\Deleted)")
    d.expunge()
    d.logout()
    e = server.connect()
    assert select(e) == first
    e.logout()
    a.logout()
