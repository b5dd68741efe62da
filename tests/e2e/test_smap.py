"""SMAP1 (Courier's Simple Mail Access Protocol), differentially: the same
scripted sessions run by Debian's Courier `imapd` and by `courser imapd`,
both preauthenticated with `PROTOCOL=SMAP1` on their own copy of one
maildir, must answer alike (LIST lines compared as sets: their order is
the file system's), and the maildirs must end up alike. Where Courier is
known to answer wrongly (spec/smap.md §10) the test says what Courser
answers instead. Then SMAP over the IMAP port of `courser serve`: the
`\\SMAP1` pre-login commands, LOGIN, and the switch."""

import base64
import os
import select
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BIN
from preauth import IMAPD, need

MESSAGES = {
    "new/1000.M1P1.host": b"From: Ann <ann@example.com>\nSubject: hi\n\nbody\n",
    "cur/1001.M2P2.host:2,FS": b"Subject: two\n\nsecond\n",
    "cur/1002.M3P3.host,S=20:2,T": b"Subject: gone\n\nthird\n",
}


def make_maildir(root):
    md = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    for folder in (".Sent", ".Lists.a", ".Lists.b.c"):
        for sub in ("cur", "new", "tmp"):
            (md / folder / sub).mkdir(parents=True)
        (md / folder / "maildirfolder").touch()
    for name, data in MESSAGES.items():
        path = md / name
        path.write_bytes(data)
        os.utime(path, (1_043_200_668, 1_043_200_668))
    return md


def reply_done(line):
    return line.startswith(b"+OK") or line.startswith(b"-ERR")


def run_smap(which, home, commands, config=None, user=None, maildir="Maildir", env=None):
    """Runs `commands` (lines) one at a time; returns the reply lines to
    each, the greeting first. A callable among them is called between
    commands (another process at work) and answers nothing; a `(line,
    upload)` pair sends the upload after the server's `> Go ahead`."""
    extra = ["--config", str(config)] if config else []
    argv = [IMAPD, maildir] if which == "courier" else [BIN, "imapd", *extra, str(home / maildir)]
    env = dict(os.environ, PROTOCOL="SMAP1", TZ="UTC", HOME=str(home), IMAP_KEYWORDS="1",
               MAILDIR=str(home / maildir), TCPREMOTEIP="127.0.0.1", TCPREMOTEPORT="4000",
               **(env or {}))
    if user:
        env["AUTHENTICATED"] = user
    proc = subprocess.Popen(argv, cwd=home, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    buf = b""
    deadline = time.monotonic() + 30

    def reply(go_ahead=False):
        nonlocal buf
        lines = []
        while True:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                assert left > 0 and select.select([proc.stdout], [], [], left)[0], (which, lines)
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, (which, "ended", lines)
                buf += chunk
            line, buf = buf.split(b"\n", 1)
            lines.append(line)
            if reply_done(line) or (go_ahead and line.startswith(b"> ")):
                return lines

    try:
        answers = [reply()]
        for cmd in commands:
            if callable(cmd):
                cmd()
                continue
            upload = None
            if isinstance(cmd, tuple):
                cmd, upload = cmd
            proc.stdin.write(cmd.encode() + b"\n")
            proc.stdin.flush()
            answer = reply(go_ahead=upload is not None)
            if upload is not None and answer[-1].startswith(b"> "):
                proc.stdin.write(upload)
                proc.stdin.flush()
                answer += reply()
            answers.append(answer)
    finally:
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()
    return answers


def normalized(answer):
    """LIST replies in a stable order (Courier lists in directory order)."""
    if answer and all(line.startswith(b"* LIST ") for line in answer[:-1]):
        return sorted(answer[:-1]) + answer[-1:]
    return answer


def both(tmp_path, commands):
    need(IMAPD, "courier-imap")
    results = {}
    for which in ("courier", "courser"):
        home = tmp_path / which
        make_maildir(home)
        results[which] = [normalized(a) for a in run_smap(which, home, commands)]
    return results


def folder_state(md):
    """What a maildir holds: per folder, its messages' base names and
    flags, after Courier's or Courser's session."""
    state = {}
    for root, dirs, files in os.walk(md):
        rel = os.path.relpath(root, md)
        if os.path.basename(root) in ("cur", "new"):
            state[rel] = sorted(files)
    return state


SESSION = [
    "LIST",
    "LIST INBOX",
    "LIST INBOX Lists",
    "LIST INBOX Lists b",
    "LIST INBOX nope",
    "LIST foo",
    "STATUS FULL INBOX",
    "STATUS CHEAP INBOX Sent",
    "STATUS FULL INBOX nope",
    "STATUS FULL foo",
    "FETCH 1 FLAGS",
    "OPEN INBOX",
    "FETCH 1-3 FLAGS UID SIZE INTERNALDATE KEYWORDS",
    "fetch 2 flags bogus uid",
    "FETCH 4 FLAGS",
    "NOOP",
    "OPEN INBOX nope",
    "OPEN foo",
    "OPEN",
    "SOPEN \"\" INBOX Sent",
    "CLOSE",
    "NOOP",
    "RSET",
    "BOGUS",
    "LOGOUT",
]


def test_a_session_answers_as_couriers(tmp_path):
    got = both(tmp_path, SESSION)
    for cmd, courier, courser in zip(["(greeting)"] + SESSION, got["courier"], got["courser"]):
        assert courser == courier, (cmd, courier, courser)
    assert folder_state(tmp_path / "courier" / "Maildir") == folder_state(tmp_path / "courser" / "Maildir")


def test_bad_message_sets_are_errors_where_courier_says_ok(tmp_path):
    """spec §10: Courier answers +OK, fetching nothing, to a set it cannot
    read; Courser says what is wrong."""
    got = both(tmp_path, ["OPEN INBOX", "FETCH 2-1 FLAGS", "FETCH FLAGS", "FETCH 1-2 1 FLAGS"])
    for courier, courser in zip(got["courier"][2:], got["courser"][2:]):
        assert courier == [b"+OK Message retrieved."]
        assert courser == [b"-ERR Cannot retrieve message: Invalid argument"]


def test_a_change_by_another_process_is_reported_at_noop(tmp_path):
    need(IMAPD, "courier-imap")
    outputs = {}
    for which in ("courier", "courser"):
        home = tmp_path / which
        md = make_maildir(home)

        def change():
            # Another process: one message goes, one comes, one is flagged.
            os.rename(md / "cur" / "1001.M2P2.host:2,FS", md / "cur" / "1001.M2P2.host:2,FRS")
            (md / "new" / "1003.M4P4.host").write_bytes(b"Subject: new\n\nx\n")

        outputs[which] = run_smap(which, home, ["OPEN INBOX", change, "NOOP", "FETCH 1-3 FLAGS"])
    assert outputs["courser"] == outputs["courier"]


def test_smap_over_the_imap_port(make_server):
    """`[imap] smap = true`: SMAP1 advertised; `\\SMAP1` pre-login commands
    answered +OK/-ERR; LOGIN switches the connection to SMAP."""
    server = make_server(extra_config="\n[imap]\nsmap = true\n")
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
    f = s.makefile("rb")
    greeting = f.readline()
    assert greeting.startswith(b"* OK [CAPABILITY ") and b" SMAP1" in greeting, greeting

    def send(line):
        s.sendall(line.encode() + b"\r\n")

    send("\\SMAP1 CAPABILITY")
    caps = f.readline()
    assert caps.startswith(b"* CAPABILITY ") and b" SMAP1" in caps
    assert f.readline().startswith(b"+OK ")
    send("\\SMAP1 NOOP")
    assert f.readline().startswith(b"+OK ")
    send("\\SMAP1 LOGIN alice wrong-pw")
    assert f.readline().startswith(b"-ERR ")
    send('\\SMAP1 LOGIN alice "alice-pw"')
    assert f.readline() == b"+OK SMAP1 LOGIN Ok.\n"
    send("LIST")
    lines = [f.readline() for _ in range(4)]
    assert lines[0] == b'* LIST "INBOX" "New Mail" FOLDER\n' and lines[3] == b"+OK LIST completed\n"
    send("OPEN INBOX")
    assert f.readline() == b"* EXISTS 0\n" and f.readline() == b"+OK Folder opened\n"
    send("LOGOUT")
    assert f.readline() == b"* BYE Courier-SMAP server shutting down\n"
    assert f.readline() == b"+OK LOGOUT completed\n"
    assert f.readline() == b""
    s.close()


def test_without_smap_the_marker_is_refused_and_not_advertised(server):
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
    f = s.makefile("rb")
    assert b"SMAP1" not in f.readline()
    s.sendall(b'\\SMAP1 LOGIN alice "alice-pw"\r\n')
    answer = f.readline()
    assert answer.startswith(b"-ERR "), answer
    s.sendall(b"a LOGIN alice alice-pw\r\n")
    assert f.readline().startswith(b"a OK")
    s.close()


STORE_SESSION = [
    "OPEN INBOX",
    "STORE 1-3 +FLAGS=SEEN,MARKED",
    "STORE 2 -FLAGS=MARKED",
    "STORE 1 FLAGS=DELETED,REPLIED",
    "STORE 1-2 +KEYWORDS=a,b",
    "STORE 2 KEYWORDS=c",
    "STORE 1 -KEYWORDS=a",
    "FETCH 1-3 FLAGS KEYWORDS",
    "STORE 9 +FLAGS=SEEN",
    "STORE 1 bogus=1 +flags=draft",
    "EXPUNGE",
    "FETCH 1-2 FLAGS",
    "EXPUNGE 1",
    "FETCH 1 FLAGS UID",
]


def test_store_and_expunge_as_couriers(tmp_path):
    """The same answers, except that Courier also reports messages a
    STORE did not change (spec §10): Courser's report is Courier's
    without those lines. The maildirs end up alike."""
    got = both(tmp_path, STORE_SESSION)
    for cmd, courier, courser in zip(["(greeting)"] + STORE_SESSION, got["courier"], got["courser"]):
        if cmd.upper().startswith("STORE"):
            assert courser[-1] == courier[-1], (cmd, courier, courser)
            assert set(courser[:-1]) <= set(courier[:-1]), (cmd, courier, courser)
        else:
            assert courser == courier, (cmd, courier, courser)
    # One STORE of three messages changed only two of them.
    assert len(got["courser"][2]) == len(got["courier"][2]) - 1
    assert folder_state(tmp_path / "courier" / "Maildir") == folder_state(tmp_path / "courser" / "Maildir")


FOLDER_SESSION = [
    "CREATE INBOX a", "CREATE INBOX a", "CREATE INBOX a b", "MKDIR INBOX x", "RMDIR INBOX x",
    "CREATE INBOX", "CREATE foo", "CREATE", "LIST INBOX", "LIST INBOX a",
    'RENAME INBOX a "" INBOX c', "LIST INBOX", "LIST INBOX c",
    'RENAME INBOX c "" INBOX', 'RENAME INBOX c ""', 'RENAME INBOX "" INBOX z',
    "OPEN INBOX c b", 'RENAME INBOX c "" INBOX e', "DELETE INBOX c b", "CLOSE",
    "DELETE INBOX c b", "DELETE INBOX", "DELETE foo", "DELETE INBOX c", "LIST INBOX",
]

# Where Courier answers +OK for a folder that is not there (spec §10),
# mostly.
FOLDER_FAULTS = {
    'RENAME INBOX nope "" INBOX d': b"-ERR RENAME failed: No such file or directory",
    "DELETE INBOX gone": b"-ERR Cannot delete folder: No such file or directory",
}


def test_folders_are_made_renamed_and_deleted_as_courier_does(tmp_path):
    commands = FOLDER_SESSION + list(FOLDER_FAULTS)
    got = both(tmp_path, commands)
    for cmd, courier, courser in zip(["(greeting)"] + commands, got["courier"], got["courser"]):
        if cmd in FOLDER_FAULTS:
            # Courier's answer here varies from run to run.
            assert courier[-1].startswith(b"+OK") or courier == courser, (cmd, courier)
            assert courser == [FOLDER_FAULTS[cmd]], (cmd, courser)
        else:
            assert courser == courier, (cmd, courier, courser)
    assert folder_state(tmp_path / "courier" / "Maildir") == folder_state(tmp_path / "courser" / "Maildir")


COPY_SESSION = [
    "OPEN INBOX",
    "STORE 2 +KEYWORDS=k1",
    'COPY 1-2 "" INBOX Sent',
    "COPY 1 INBOX Sent",
    'MOVE 2-3 "" INBOX Sent',
    "FETCH 1-3 FLAGS",
    "STATUS FULL INBOX Sent",
    "OPEN INBOX Sent",
    "FETCH 1-4 FLAGS KEYWORDS",
]


def unique_names_hidden(answer):
    """NEWUID= names a new file: unique per server (time, pid, inode)."""
    import re
    return [re.sub(rb'"(NEW)?UID=\d+\.M\d+P\d+[^"]*"', b'"UID=(new)"', line) for line in answer]


def flags_and_keywords(answer):
    """A FETCH reply's messages as a multiset of their flags and keywords
    (without the numbers)."""
    return sorted(line.split(b" ", 3)[3] for line in answer[:-1])


def test_copy_and_move_as_couriers(tmp_path):
    """The same answers, except in the destination: Courier numbers
    copies at its next scan, in name order, while Courser numbers them at
    once (as IMAP's COPYUID needs), so the order there differs; and
    Courier's COPY and MOVE leave the keywords behind when the destination
    has none yet (spec §10), where the protocol says they travel
    (§5.13)."""
    got = both(tmp_path, COPY_SESSION)
    last = len(COPY_SESSION)
    for cmd, courier, courser in zip(["(greeting)"] + COPY_SESSION[:-1], got["courier"], got["courser"]):
        assert unique_names_hidden(courser) == unique_names_hidden(courier), (cmd, courier, courser)
    # MOVE renames (one quota class): the names stay.
    assert b'* COPY 2 "NEWUID=1001.M2P2.host"' in got["courser"][5]
    courier, courser = got["courier"][last], got["courser"][last]
    assert flags_and_keywords(courier) == sorted([
        b'FLAGS= "KEYWORDS="', b'FLAGS=MARKED,SEEN "KEYWORDS="',
        b'FLAGS=MARKED,SEEN "KEYWORDS="', b'FLAGS=DELETED "KEYWORDS="'])
    assert flags_and_keywords(courser) == sorted([
        b'FLAGS= "KEYWORDS="', b'FLAGS=MARKED,SEEN "KEYWORDS=k1"',
        b'FLAGS=MARKED,SEEN "KEYWORDS=k1"', b'FLAGS=DELETED "KEYWORDS="'])


def test_what_crashes_couriers_session_is_an_error_here(tmp_path):
    """spec §10: a malformed set given to EXPUNGE, COPY or MOVE, and COPY
    or MOVE into a missing folder, end Courier's session."""
    home = tmp_path / "courser"
    make_maildir(home)
    commands = ["OPEN INBOX", 'COPY 3-1 "" INBOX Sent', 'MOVE 1 "" INBOX nope', 'COPY 1 "" foo',
                "EXPUNGE 2-1", "NOOP"]
    answers = run_smap("courser", home, commands)
    assert answers[2:] == [
        [b"-ERR Syntax error."],
        [b"-ERR Cannot copy messages: No such file or directory"],
        [b"-ERR Cannot copy messages: Invalid argument"],
        [b"-ERR Cannot expunge: Invalid argument"],
        [b"+OK Folder updated"],
    ]


def mime_message():
    attachment = base64.encodebytes(bytes(range(256)) * 80).replace(b"\n", b"\n")
    return (
        b"From: Ann <ann@example.com>\nTo: bob@example.com,\n\tcarl@example.com\n"
        b"Subject: a folded\n  subject line\n.Dotted: header\n"
        b"Date: Wed, 22 Jan 2003 01:57:48 +0000\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"b1\"\nX-Other: x\n\npreamble\n"
        b"--b1\nContent-Type: text/plain; charset=us-ascii\n\nhello\n.dot line\n"
        b"--b1\nContent-Type: message/rfc822\n\nSubject: inner\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/alternative; boundary=\"b2\"\n\n--b2\nContent-Type: text/plain\n\n"
        b"inner text\n--b2\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n"
        b"<b>hi=3D</b>\n--b2--\n"
        b"--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + attachment + b"--b1--\nepilogue\n"
    )


CONTENTS_SESSION = [
    "OPEN INBOX",
    "FETCH 1 CONTENTS.PEEK=HEADERS",
    "FETCH 1 CONTENTS.PEEK=RAWHEADERS(:ENVELOPE)",
    "FETCH 1 CONTENTS.PEEK=HEADERS(SUBJECT,x-other)",
    "FETCH 1 CONTENTS.PEEK=MIME(content-type)",
    "FETCH 1 CONTENTS.PEEK=MIME(:MIME)",
    "FETCH 1 CONTENTS.PEEK=BODY[1.1]",
    "FETCH 1 CONTENTS.PEEK=BODY.DECODED[1.3] FLAGS",
    "FETCH 1 CONTENTS.PEEK=BODY[1.3]",
    "FETCH 1 CONTENTS.PEEK=BODY.DECODED[1.2.0.2]",
    "FETCH 1 CONTENTS.PEEK=HEADERS[1.2.0]",
    "FETCH 1 CONTENTS.PEEK=ALL[1.1] UID",
    "FETCH 1 CONTENTS.PEEK=BODY[9]",
    "FETCH 1 CONTENTS.PEEK=BODY[1.2.1]",
    "FETCH 1 CONTENTS=BODY[1.1]",
    "FETCH 1 CONTENTS=BODY[1.1]",
    "FETCH 1 FLAGS",
]


def run_raw(which, home, commands):
    """The whole output of a session (binary replies included)."""
    argv = [IMAPD, "Maildir"] if which == "courier" else [BIN, "imapd", str(home / "Maildir")]
    env = dict(os.environ, PROTOCOL="SMAP1", TZ="UTC", HOME=str(home), IMAP_KEYWORDS="1",
               MAILDIR=str(home / "Maildir"), TCPREMOTEIP="127.0.0.1", TCPREMOTEPORT="4000")
    script = "".join(c + "\n" for c in commands + ["LOGOUT"]).encode()
    return subprocess.run(argv, cwd=home, env=env, input=script, capture_output=True, timeout=60).stdout


def test_message_contents_as_couriers(tmp_path):
    """Headers (unfolded, raw, filtered), the MIME tree, bodies as stored
    and decoded (a 20 KB attachment in chunks), the implicit \\Seen: byte
    for byte Courier's, except the sizes of message/rfc822 parts, which
    Courier makes one byte too big (spec §10)."""
    need(IMAPD, "courier-imap")
    outputs = {}
    for which in ("courier", "courser"):
        home = tmp_path / which
        md = make_maildir(home)
        for f in (md / "new").iterdir():
            f.unlink()
        for f in (md / "cur").iterdir():
            f.unlink()
        (md / "cur" / "1000.M1P1.host:2,").write_bytes(mime_message())
        outputs[which] = run_raw(which, home, CONTENTS_SESSION)
    import re

    def one_less(m):
        return b"SIZE=%d %s" % (int(m.group(1)) - 1, m.group(2))

    courier = re.sub(rb'SIZE=(\d+) ("MIME\.ID=1\.2(?:\.0)?")', one_less, outputs["courier"])
    assert courier != outputs["courier"]
    assert outputs["courser"] == courier
    # 20,480 bytes decoded, in chunks; the estimate counts the line ends.
    assert b"{8192/20748} FETCH 1 CONTENTS\n" in courier


SEARCH_SESSION = [
    "OPEN INBOX", "SEARCH ALL SEEN", "SEARCH ALL NOT SEEN", "SEARCH MARKED SEEN",
    "SEARCH UNMARKED SEEN", "SEARCH 1-3,5 NOT REPLIED", "SEARCH ALL FROM user3",
    'SEARCH ALL SUBJECT "topic 1"', "SEARCH ALL SUBJECT CAFÉ", "SEARCH ALL HEADER to dest",
    'SEARCH ALL BODY "number 4"', "SEARCH ALL TEXT user5", "SEARCH ALL BEFORE 3-Feb-2003",
    "SEARCH ALL ON 3-Feb-2003", "SEARCH ALL SINCE 5-Feb-2003", "SEARCH ALL SENTBEFORE 3-Feb-2003",
    "SEARCH ALL SENTON 4-Feb-2003", "SEARCH ALL LARGER 125", "SEARCH ALL SMALLER 127", "SEARCH ALL LARGER 127",
    "SEARCH ALL BOGUS", "SEARCH ALL KEYWORD foo", "SEARCH ALL DELETED",
]


def test_search_as_couriers(tmp_path):
    """Every scope and criterion; sizes are the stored ones (LF line
    ends), not IMAP's RFC822.SIZE. SENTSINCE, which Courier does not
    recognise, is checked on Courser alone."""
    need(IMAPD, "courier-imap")
    got = {}
    for which in ("courier", "courser"):
        home = tmp_path / which
        md = make_maildir(home)
        for sub in ("new", "cur"):
            for f in (md / sub).iterdir():
                f.unlink()
        flags = {2: "S", 3: "FRS"}
        for i in range(1, 7):
            path = md / "cur" / f"100{i}.M{i}P1.host:2,{flags.get(i, '')}"
            path.write_bytes(
                f"From: user{i} <u{i}@example.com>\nTo: dest@example.com\n"
                f"Subject: topic {i % 2} café\nDate: 0{i} Feb 2003 10:00:00 +0000\n\n"
                f"body text number {i}\n".encode())
            stamp = 1_044_100_800 + (i - 1) * 86_400  # 1 Feb 2003 12:00 UTC onwards
            os.utime(path, (stamp, stamp))
        got[which] = run_smap(which, home, SEARCH_SESSION + (["SEARCH ALL SENTSINCE 5-Feb-2003"] if which == "courser" else []))
    assert got["courser"][:-1] == got["courier"]
    assert got["courser"][-1] == [b"* SEARCH 5-6", b"+OK Search completed."]
    sizes = [len(p.read_bytes()) for p in sorted((tmp_path / "courser/Maildir/cur").iterdir())]
    # LARGER 127 finds nothing: 126 bytes stored (132 with CRLF).
    assert sizes == [126] * 6, sizes
    assert got["courser"][SEARCH_SESSION.index("SEARCH ALL LARGER 127") + 1] == [b"+OK Search completed."]


ACL_SESSION = [
    "ACL INBOX", "GETACL INBOX", 'SETACL INBOX "" user=fred +rwx',
    'SETACL INBOX "" user=fred -x anyone lr', "GETACL INBOX Sent",
    'SETACL INBOX Sent "" user=a r user=b r user=c r user=d r user=e r user=f r',
    'DELETEACL INBOX Sent "" user=a user=b', 'SETACL INBOX "" owner lr',
    'SETACL INBOX "" administrators r', 'SETACL INBOX "" -owner r', 'SETACL INBOX "" user=fred ""',
    "ACL INBOX Sent", "ACL foo", "GETACL INBOX nope", 'SETACL INBOX nope "" user=x r', "GETACL INBOX",
]


def test_acls_as_couriers(tmp_path):
    """ACL, GETACL (six pairs a line), SETACL with +, - and replacing,
    DELETEACL, and the ACLMINIMUM refusal."""
    got = both(tmp_path, ACL_SESSION)
    for cmd, courier, courser in zip(["(greeting)"] + ACL_SESSION, got["courier"], got["courser"]):
        assert courser == courier, (cmd, courier, courser)
    assert [b"* ACLMINIMUM owner al c e i p r s t w x", b"-ERR ACL update failed"] in got["courser"]


class SmapClient:
    """A raw SMAP client on the IMAP port of a server with SMAP on."""

    def __init__(self, server, user="alice"):
        self.sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=15)
        self.file = self.sock.makefile("rb")
        assert b"SMAP1" in self.file.readline()
        self.send(f'\\SMAP1 LOGIN {user} "{conftest_users()[user]}"')
        assert self.line() == b"+OK SMAP1 LOGIN Ok."

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def line(self):
        return self.file.readline().rstrip(b"\r\n")

    def reply(self, text):
        self.send(text)
        lines = []
        while True:
            lines.append(self.line())
            if reply_done(lines[-1]):
                return lines

    def close(self):
        self.sock.close()


def conftest_users():
    import conftest
    return conftest.USERS


def test_idle_hears_imap_and_imap_hears_smap(make_server):
    """An idling SMAP session hears of a delivery and of an IMAP client's
    flag change; RESUME ends the IDLE; anything else is refused and ends
    it too. An IMAP client in IDLE hears of SMAP's changes."""
    server = make_server(extra_config="\n[imap]\nsmap = true\n")
    server.deliver(b"Subject: one\n\nx\n")
    smap = SmapClient(server)
    assert smap.reply("OPEN INBOX") == [b"* EXISTS 1", b"+OK Folder opened"]
    smap.send("IDLE")
    assert smap.line() == b"+OK Entering idle mode"
    server.deliver(b"Subject: two\n\ny\n")
    assert smap.line() == b"* EXISTS 2"
    imap = server.connect()
    imap.select("INBOX")
    imap.store("1", "+FLAGS", "(\\Seen \\Flagged)")
    assert smap.line() == b'* FETCH 1 FLAGS=MARKED,SEEN "KEYWORDS="'
    assert smap.reply("RESUME") == [b"+OK Resumed..."]
    smap.send("IDLE")
    assert smap.line() == b"+OK Entering idle mode"
    assert smap.reply("NOOP") == [b"-ERR RESUME is required to follow IDLE"]
    assert smap.reply("NOOP") == [b"+OK Folder updated"]

    # The reverse: IMAP IDLE hears an SMAP expunge.
    imap.send(b"i1 IDLE\r\n")
    assert imap.readline().startswith(b"+ ")
    assert smap.reply("EXPUNGE 2") == [b"* EXPUNGE 2", b"+OK Folder updated"]
    imap.sock.settimeout(15)
    assert imap.readline() == b"* 2 EXPUNGE\r\n"
    imap.send(b"DONE\r\n")
    assert imap.readline().startswith(b"i1 OK")
    imap.logout()
    smap.reply("LOGOUT")
    smap.close()
    login = [l for l in server.log_text().splitlines() if "LOGIN" in l and "SMAP1" in l]
    assert login, "the LOGIN line names SMAP1"


FAKE_SENDMAIL = """#!/bin/sh
{ echo "ARGV: $*"; cat; echo "--END--"; } >> "$(dirname "$0")/sent.log"
[ -e "$(dirname "$0")/fail" ] && { echo "refused by the test" >&2; exit 1; }
exit 0
"""


def smap_with_sendmail(which, home, commands, tools):
    """run_smap with a recording sendmail in `tools` (Courier's SENDMAIL,
    Courser's [maildir] sendmail)."""
    sendmail = tools / "sendmail"
    if not sendmail.exists():
        sendmail.write_text(FAKE_SENDMAIL)
        sendmail.chmod(0o755)
    os.environ["SENDMAIL"] = str(sendmail)
    config = home / "courser.toml"
    config.write_text('[[listener]]\nprotocol = "imap"\naddress = "127.0.0.1:1"\n'
                      '[auth]\nuserdb = "userdb"\n'
                      f'[maildir]\nsendmail = "{sendmail} -oi -t"\n')
    (home / "userdb").write_text("")
    (home / "userdb").chmod(0o600)
    try:
        return run_smap(which, home, commands, config=config, user="me")
    finally:
        del os.environ["SENDMAIL"]


ADD_SESSION = [
    'ADD FOLDER INBOX Sent "" FLAGS=SEEN',
    "ADD RCPTTO=a@x RCPTTO=b@x MAILFROM=me@x NOTIFY=success,delay,fail",
    ("ADD {.40}", b"To: ann@example.com\r\nSubject: re: hi\r\n\r\nplain line\r\n.\r\n"),
    ("ADD {.}", b"nothing\n.\n"),
    "ADD RCPTTO=c@x", "RSET", 'ADD FOLDER INBOX nope ""', 'ADD FOLDER foo ""',
    "OPEN INBOX Sent", "FETCH 1 FLAGS CONTENTS.PEEK=ALL",
]


def test_add_saves_and_mails_as_courier_does(tmp_path):
    """ADD's batches: FOLDER, FLAGS, RCPTTO, MAILFROM, NOTIFY, a
    dot-stuffed upload saved and mailed (sendmail's argv as Courier's but
    for the order of recipients), an upload neither saved nor mailed,
    RSET, bad folders."""
    need(IMAPD, "courier-imap")
    got, logs = {}, {}
    for which in ("courier", "courser"):
        home = tmp_path / which
        make_maildir(home)
        tools = tmp_path / f"{which}-tools"
        tools.mkdir()
        got[which] = [unique_names_hidden(a) for a in smap_with_sendmail(which, home, ADD_SESSION, tools)]
        logs[which] = (tools / "sent.log").read_text()
    for cmd, courier, courser in zip(["(greeting)"] + ADD_SESSION, got["courier"], got["courser"]):
        assert courser == courier, (cmd, courier, courser)
    assert logs["courier"].replace("b@x a@x", "a@x b@x") == logs["courser"]
    assert logs["courser"].startswith("ARGV: -oi -f me@x -N success,delay,fail a@x b@x\nTo: ann@example.com\n")


def test_add_uploads_that_courier_gets_wrong(tmp_path):
    """Binary chunks (Courier's hang), a `..` line (Courier drops both
    dots), INTERNALDATE, a message sendmail refuses (not saved), and an
    option smuggled in as a recipient (refused)."""
    home = tmp_path / "courser"
    make_maildir(home)
    tools = tmp_path / "tools"
    tools.mkdir()
    steps = {
        "binary": ('ADD FOLDER INBOX Lists a "" "INTERNALDATE=Mon, 01 Jan 2001 10:00:00 +0000" {6/20}',
                   b"Subjec8\nt: bin\n\n6\nhello\n\n"),
        "folder": 'ADD FOLDER INBOX Sent ""',
        "dots": ("ADD {.}", b"..\r\n..x\r\n.\r\n"),
        "open": "OPEN INBOX Lists a",
        "fetch binary": "FETCH 1 INTERNALDATE CONTENTS.PEEK=ALL",
        "open sent": "OPEN INBOX Sent",
        "fetch dots": "FETCH 1 CONTENTS.PEEK=ALL",
        "refuse": lambda: (tools / "fail").touch(),
        "refused batch": 'ADD FOLDER INBOX Sent "" RCPTTO=x@y',
        "refused": ("ADD {.}", b"refused\n.\n"),
        "sneaky batch": "ADD RCPTTO=-X/tmp/x",
        "sneaky": ("ADD {.}", b"sneaky\n.\n"),
        "count": "STATUS FULL INBOX Sent",
    }
    answers = smap_with_sendmail("courser", home, list(steps.values()), tools)[1:]
    got = dict(zip([k for k, v in steps.items() if not callable(v)], answers))
    assert got["binary"][0] == b"> Go ahead" and got["binary"][-1] == b"+OK Message saved"
    assert got["binary"][1].startswith(b'* ADD "UID=')
    assert got["fetch binary"] == [b"{20/20} FETCH 1 CONTENTS", b"Subject: bin", b"", b"hello", b"",
                                   b'* FETCH 1 "INTERNALDATE=Mon, 01 Jan 2001 10:00:00 +0000"',
                                   b"+OK Message retrieved."]
    assert got["fetch dots"] == [b"{5/5} FETCH 1 CONTENTS", b".", b".x", b"", b"+OK Message retrieved."]
    assert got["refused"][-1].startswith(b"-ERR ") and b"refused by the test" in got["refused"][-1]
    assert got["sneaky"][-1].startswith(b"-ERR ") and b"not a mail address" in got["sneaky"][-1]
    # Nothing refused was saved.
    assert got["count"] == [b"* STATUS EXISTS=1 UNSEEN=1", b"+OK Folder status retrieved"]
    log = (tools / "sent.log").read_text()
    assert "ARGV: -oi -f me x@y\nrefused\n--END--" in log and "sneaky" not in log


def test_smap_in_the_per_user_model(make_server):
    """The session moves to the account's own process with its SMAP
    login: the worker answers `+OK SMAP1 LOGIN Ok.` and serves SMAP as
    the account."""
    if os.geteuid() != 0:
        pytest.skip("the per-user model switches uids as root")
    server = make_server(per_user=True, extra_config="\n[imap]\nsmap = true\n")
    server.deliver(b"Subject: one\n\nx\n")
    smap = SmapClient(server)
    assert smap.reply("OPEN INBOX") == [b"* EXISTS 1", b"+OK Folder opened"]
    assert smap.reply("STORE 1 +FLAGS=SEEN") == [b'* FETCH 1 FLAGS=SEEN', b"+OK Folder status updated"]
    assert smap.reply("CREATE INBOX made") == [b"+OK Folder created"]
    made = server.maildir() / ".made"
    assert made.is_dir() and made.stat().st_uid == server.account_ids["alice"][0]
    assert smap.reply("LOGOUT")[-1] == b"+OK LOGOUT completed"
    smap.close()


def snapshot_id(answer):
    [line] = [l for l in answer if l.startswith(b"* SNAPSHOT ")]
    return line.split(b'"')[1].decode()


def four_messages(home):
    md = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    for i in range(1, 5):
        (md / "cur" / f"100{i}.M{i}P1.host:2,").write_bytes(f"Subject: m{i}\n\nbody {i}\n".encode())
    return md


def change_outside(md):
    """Another process: message 1 goes, message 3 is seen, one arrives."""
    (md / "cur" / "1001.M1P1.host:2,").unlink()
    os.rename(md / "cur" / "1003.M3P1.host:2,", md / "cur" / "1003.M3P1.host:2,S")
    (md / "new" / "1009.M9P1.host").write_bytes(b"Subject: new\n\nx\n")


@pytest.mark.parametrize("writer,reader", [("courier", "courser"), ("courser", "courier"),
                                           ("courser", "courser")])
def test_a_snapshot_reopens_with_only_the_changes_whoever_wrote_it(tmp_path, writer, reader):
    """SOPEN "" then a quiet NOOP saves a snapshot (Courier's file, in
    courierimapsnapshots/); after changes made meanwhile, SOPEN with its
    id sends only those changes — whether Courier or Courser wrote the
    snapshot and whichever reads it — and both readers answer alike."""
    need(IMAPD, "courier-imap")
    home = tmp_path / "home"
    md = four_messages(home)
    first = run_smap(writer, home, ['SOPEN "" INBOX', "STORE 2 +KEYWORDS=k1", "NOOP", "NOOP"])
    assert first[1] == [b"* EXISTS 4", b"+OK Folder opened"]
    saved = snapshot_id(first[3])
    assert first[4] == [b"+OK Folder updated"], "no snapshot without a change"
    assert (md / "courierimapsnapshots" / saved).is_file()
    change_outside(md)
    state = tmp_path / "state"
    shutil.copytree(home, state)
    answers = {}
    for which in ("courier", "courser"):
        shutil.rmtree(home)
        shutil.copytree(state, home)
        answers[which] = run_smap(which, home, [f"SOPEN {saved} INBOX", "FETCH 1-4 FLAGS KEYWORDS"])[1:]
    assert answers[reader][0] == [
        f'* SNAPSHOTEXISTS "{saved}"'.encode(),
        b"* EXPUNGE 1",
        b"* EXISTS 4",
        b'* FETCH 2 FLAGS=SEEN "KEYWORDS="',
        b"+OK Folder updated",
    ]
    assert answers["courser"] == answers["courier"]


def test_snapshot_chains_keep_two_and_bad_ids_open_in_full(tmp_path):
    """Each quiet NOOP after a change saves the next snapshot and removes
    the one before the last; an id that names nothing, a foreign file or
    one from another UIDVALIDITY opens the folder in full."""
    home = tmp_path / "home"
    md = four_messages(home)
    got = run_smap("courser", home, ['SOPEN "" INBOX', "NOOP", "STORE 1 +FLAGS=SEEN", "NOOP",
                                     "STORE 2 +FLAGS=SEEN", "NOOP", "NOOP"])
    ids = [snapshot_id(a) for a in got[2:] if any(l.startswith(b"* SNAPSHOT ") for l in a)]
    assert len(ids) == 3 and got[-1] == [b"+OK Folder updated"]
    left = sorted(p.name for p in (md / "courierimapsnapshots").iterdir())
    assert left == sorted(ids[1:])
    (md / "courierimapsnapshots" / "junk").write_text("not a snapshot")
    for bad in ["nothing-here", "junk", "../courierimapuiddb", '""']:
        got = run_smap("courser", home, [f"SOPEN {bad} INBOX"])
        assert got[1] == [b"* EXISTS 4", b"+OK Folder opened"], bad
    assert not (md / "courierimapsnapshots" / "junk").exists(), "cleaned at SOPEN"
    text = (md / "courierimapsnapshots" / ids[2]).read_text()
    (md / "courierimapsnapshots" / ids[2]).write_text(text.replace(text.split()[2], "1", 1))
    assert run_smap("courser", home, [f"SOPEN {ids[2]} INBOX"])[1] == [b"* EXISTS 4", b"+OK Folder opened"]


def test_bad_input_gets_an_error_and_changes_nothing(tmp_path):
    """An overlong line, unknown commands, words that name nothing, an ADD
    dropped by another command and a client that hangs up in the middle
    of an upload: errors, the session goes on, nothing is stored."""
    home = tmp_path / "courser"
    md = make_maildir(home)
    before = folder_state(md)
    got = run_smap("courser", home, [
        "NOOP " + "x" * 20000,
        "FROBNICATE",
        "OPEN INBOX \x01",
        'ADD FOLDER INBOX ""',
        "NOOP",
        ("ADD {.}", b"never\n.\n"),
        "STATUS FULL INBOX",
    ])
    assert got[1] == [b"-ERR Command line too long."]
    assert got[2] == [b"-ERR Syntax error."]
    assert got[3][-1].startswith(b"-ERR")
    assert got[4] == [b"+OK Will add to this folder"]
    # NOOP dropped the batch: the upload is neither saved nor mailed.
    assert got[6] == [b"> Go ahead", b"+OK Message saved"]
    assert got[7] == [b"* STATUS EXISTS=3 UNSEEN=2", b"+OK Folder status retrieved"]
    # A client gone mid-upload leaves nothing behind.
    env = dict(os.environ, PROTOCOL="SMAP1", HOME=str(home), MAILDIR=str(md))
    subprocess.run([BIN, "imapd", str(md)], input=b'ADD FOLDER INBOX "" {.}\nhalf a mess',
                   env=env, capture_output=True, timeout=30)
    assert folder_state(md) == before
    assert not list((md / "tmp").iterdir())


def test_the_public_hierarchy_as_couriers(tmp_path):
    """`public` is the virtual shared folders (IMAP's `#shared.`): groups
    show as directories, an account whose INBOX another may look up as a
    folder; it opens, and its status is read, by its public path. Courier's
    own test suite's tree: three accounts, groups `a` and `b`."""
    from test_shared_virtual import ACCOUNTS, make_tree
    need(IMAPD, "courier-imap")
    got = {}
    for which in ("courier", "courser"):
        base = tmp_path / which
        base.mkdir()
        make_tree(base)
        env = {"IMAP_SHAREDINDEXFILE": str(base / "idx" / "index")}
        as_user = lambda user, commands: run_smap(
            which, base, commands, user=user, maildir=ACCOUNTS[user], env=env)
        as_user("user1", ['SETACL INBOX "" anyone lr', "CREATE INBOX sub",
                          'SETACL INBOX sub "" anyone lr'])
        got[which] = as_user("user2", [
            "LIST", "LIST public", "LIST public a", "LIST public a user1", "LIST public b",
            "OPEN public a user1", "STATUS FULL public a user1 sub", "OPEN public b user0",
            "LIST public nope",
        ])
    for cmd, courier, courser in zip(["(greeting)", "LIST", "LIST public", "LIST public a",
                                      "LIST public a user1", "LIST public b", "OPEN public a user1",
                                      "STATUS", "OPEN user0", "LIST nope"],
                                     got["courier"], got["courser"]):
        assert normalized(courser) == normalized(courier), (cmd, courier, courser)


# Folders as IMAP makes them (`:` and `~` kept as they are) and as SMAP
# does (`.` and `/` inside a word escaped as \056 and \057).
ODD_FOLDERS = (".x:y", ".t~u", ".a\\056b", ".a\\056b.c")

ODD_SESSION = [
    "LIST INBOX", "LIST INBOX a.b",
    "CREATE INBOX s/t", "CREATE INBOX k:l", "CREATE INBOX x:y", "CREATE INBOX a.b",
    "STATUS FULL INBOX x:y", "STATUS FULL INBOX a.b c", "OPEN INBOX t~u", "CLOSE",
    'RENAME INBOX x:y "" INBOX p.q', 'RENAME INBOX a.b "" INBOX m/n', "LIST INBOX", "LIST INBOX m/n",
    "DELETE INBOX t~u", "DELETE INBOX s/t", 'COPY 1 "" INBOX p.q', "OPEN INBOX",
    'COPY 1 "" INBOX p.q', "STATUS FULL INBOX p.q", "LIST INBOX",
]


def test_folder_words_with_dots_slashes_and_colons_as_couriers(tmp_path):
    """Any character may be in a word: Courier stores `INBOX a.b` as
    `.a\\056b`, finds a folder made over IMAP (`.x:y`) by its words, and
    lists every folder by its decoded words. The directories must come out
    the same."""
    need(IMAPD, "courier-imap")
    got = {}
    for which in ("courier", "courser"):
        home = tmp_path / which
        md = make_maildir(home)
        for folder in ODD_FOLDERS:
            for sub in ("cur", "new", "tmp"):
                (md / folder / sub).mkdir(parents=True)
            (md / folder / "maildirfolder").touch()
        answers = run_smap(which, home, ODD_SESSION)
        got[which] = [unique_names_hidden(normalized(a)) for a in answers]
    for cmd, courier, courser in zip(["(greeting)"] + ODD_SESSION, got["courier"], got["courser"]):
        assert courser == courier, (cmd, courier, courser)
    dirs = {which: sorted(d for d in os.listdir(tmp_path / which / "Maildir") if d[0] == ".")
            for which in got}
    assert dirs["courser"] == dirs["courier"]
    assert (tmp_path / "courser" / "Maildir" / ".m\\057n.c").is_dir()
