"""courierimapuiddb as Courier reads it after Courser numbered messages.

Courser adds the UIDs of messages it stores itself (APPEND) to the list in
place — the header's next UID overwritten, lines added at the end — and
rewrites the list when the next UID gains a digit. Courier's own imapd on
the same maildir must see the same UIDs, continue the numbering, and
Courser must continue after Courier."""

import re

from test_size_tags import courier_session

MSG = b"From: a@example.org\r\nSubject: uid list %d\r\n\r\nbody %d\r\n"


def list_of(maildir):
    lines = (maildir / "courierimapuiddb").read_text().split("\n")
    assert lines[-1] == "", "the list ends with a whole line"
    version, uidvalidity, nextuid = lines[0].split(" ")
    assert version == "1"
    entries = [(int(u), name) for u, name in (l.split(" ", 1) for l in lines[1:-1])]
    return int(uidvalidity), int(nextuid), entries


def append(c, n):
    typ, data = c.append("INBOX", None, None, MSG % (n, n))
    assert typ == "OK", data
    m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    return int(m.group(1)), int(m.group(2))


def courser_uids(c):
    typ, data = c.uid("FETCH", "1:*", "(UID)")
    assert typ == "OK"
    return [int(re.search(rb"UID (\d+)", d).group(1)) for d in data if d]


def test_courier_continues_the_list_courser_added_to(server):
    c = server.connect()
    c.select("INBOX")
    got = [append(c, n) for n in range(1, 4)]
    uidvalidity = got[0][0]
    assert got == [(uidvalidity, u) for u in (1, 2, 3)]
    maildir = server.maildir()
    v, nextuid, entries = list_of(maildir)
    assert (v, nextuid) == (uidvalidity, 4)
    assert [u for u, _ in entries] == [1, 2, 3]
    cur = {p.name.split(":")[0] for p in (maildir / "cur").iterdir()}
    assert {name for _, name in entries} == cur

    literal = MSG % (4, 4)
    out = courier_session(maildir, [
        b"a SELECT INBOX",
        b"b UID FETCH 1:* (UID)",
        b"c APPEND INBOX {%d}" % len(literal), literal,
        b"d LOGOUT",
    ])
    assert re.findall(rb"UID (\d+)\)", out) == [b"1", b"2", b"3"], out
    assert re.search(rb"c OK \[APPENDUID %d 4\]" % uidvalidity, out), out

    # Courser goes on after Courier, across the step from 9 to 10 (the
    # header grows a digit, so the list is rewritten).
    got = [append(c, n) for n in range(5, 12)]
    assert got == [(uidvalidity, u) for u in range(5, 12)]
    assert courser_uids(c) == list(range(1, 12))
    c.logout()
    v, nextuid, entries = list_of(maildir)
    assert (v, nextuid) == (uidvalidity, 12)
    assert [u for u, _ in entries] == list(range(1, 12))

    out = courier_session(maildir, [b"a SELECT INBOX", b"b UID FETCH 1:* (UID)", b"c LOGOUT"])
    assert b"* 11 EXISTS" in out, out
    assert re.findall(rb"UID (\d+)\)", out) == [str(u).encode() for u in range(1, 12)], out
