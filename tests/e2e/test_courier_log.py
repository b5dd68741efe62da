"""`[log] format = "courier"`: the login, logout and connection lines
Courier-IMAP writes, word for word, sent to syslog (facility mail) under
Courier's program names, so that Debian's fail2ban `courier-auth` filter
and log scripts work unchanged.

The test binds its own syslog socket (`[log] syslog_socket`), captures
the datagrams the server sends, checks them, and runs `fail2ban-regex`
with Debian's own `courier-auth` filter over them, written as a syslog
file would hold them."""

import imaplib
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from private_rsyslog import PrivateRsyslog

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
ROOT = os.geteuid() == 0
FILTER = Path("/etc/fail2ban/filter.d/courier-auth.conf")

MESSAGE = b"From: a@example.org\nSubject: hello\n\nline one\nline two\n"
# What FETCH, RETR and TOP below send of MESSAGE, counted as Courier
# counts (as stored: LF line ends).
SUBJECT_FIELD = b"Subject: hello"  # filtered fields: without line ends
TOP_ONE_LINE = b"From: a@example.org\nSubject: hello\n\nline one\n"

# <PRI>Mmm dd hh:mm:ss PROGRAM: TEXT, as the C library's syslog() sends.
DATAGRAM = re.compile(r"<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ([\w-]+): (.*)\Z", re.S)
MAIL_INFO, MAIL_DEBUG, MAIL_ALERT = 2 * 8 + 6, 2 * 8 + 7, 2 * 8 + 1


def need(tool):
    if shutil.which(tool) is None:
        if FULL:
            pytest.fail(f"{tool} is missing (scripts/test.sh installs it)")
        pytest.skip(f"{tool} is not installed")


class Syslog:
    """A syslog socket of our own: every datagram the server sends, as
    (priority, stamp, program, text)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="courser-syslog-"))
        # The server (nobody, or each account's worker) must reach it.
        self.dir.chmod(0o755)
        self.path = self.dir / "log.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.path.chmod(0o666)
        self.records = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            m = DATAGRAM.match(data.decode())
            assert m, data
            with self.lock:
                self.records.append((int(m[1]), m[2], m[3], m[4]))

    def config(self, format="courier"):
        return f'\n[log]\nformat = "{format}"\nsyslog_socket = "{self.path}"\n'

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def wait_for(self, *patterns, timeout=20):
        """Waits until a line matches each regex in `patterns` (in any
        order) and returns the records then; fails naming what is
        missing."""
        deadline = time.time() + timeout
        while True:
            records = self.snapshot()
            missing = [p for p in patterns
                       if not any(re.fullmatch(p, f"{prog}: {text}") for _, _, prog, text in records)]
            if not missing:
                return records
            if time.time() > deadline:
                got = "\n".join(f"{prog}: {text}" for _, _, prog, text in records)
                pytest.fail(f"no line matches {missing}; the lines were:\n{got}")
            time.sleep(0.05)

    def matching(self, pattern):
        return [r for r in self.snapshot() if re.fullmatch(pattern, f"{r[2]}: {r[3]}")]

    def write_file(self, path):
        """The lines as a syslog file holds them, for fail2ban-regex."""
        with open(path, "w") as f:
            for _, stamp, prog, text in self.snapshot():
                f.write(f"{stamp} mailhost {prog}: {text}\n")

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def syslog():
    s = Syslog()
    try:
        yield s
    finally:
        s.close()


def fail2ban_matches(syslog, tmp_path, out):
    """What fail2ban-regex with Debian's courier-auth filter finds in the
    captured lines: one entry per matched line (`out`: ip or msg)."""
    log = tmp_path / "mail.log"
    syslog.write_file(log)
    res = subprocess.run(
        ["fail2ban-regex", "-o", out, str(log), str(FILTER)],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr + res.stdout
    return [line for line in res.stdout.splitlines() if line.strip()]


def imap_login_fails(server, user):
    """An IMAP LOGIN as `user` (sent as given) with a wrong password."""
    m = server.connect(login=False)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(user, "wrong")
    m.logout()


def pop3_login_fails(server, user):
    """POP3 USER `user`, PASS with a wrong password."""
    p = server.pop3(user, login=False)
    p.user(user)
    with pytest.raises(poplib.error_proto):
        p.pass_("wrong")
    p.quit()


IP = r"ip=\[::ffff:127\.0\.0\.1\], port=\[\d+\]"
COUNTS = r"rcvd=(\d+), sent=(\d+), time=\d+"


def test_courier_lines_and_fail2ban_s_courier_auth_filter(make_server, syslog, tmp_path):
    need("fail2ban-regex")
    assert FILTER.exists(), "fail2ban installs Debian's courier-auth filter"
    server = make_server(syslog.config())
    server.deliver(MESSAGE)

    # A good login, a FETCH and a LOGOUT.
    m = server.connect("alice")
    m.select("INBOX")
    typ, data = m.fetch("1", "(BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and data[0][1] == MESSAGE.replace(b"\n", b"\r\n"), data
    m.logout()
    # A wrong password, and a login name that tries to name another
    # address for fail2ban to ban.
    # (imaplib sends the login name as it is given.)
    for user in ("alice", '"x, ip=[203.0.113.9]"'):
        imap_login_fails(server, user)
    # A logged-in client that just goes away, and one that never logs in.
    m = server.connect("bob")
    m.shutdown()
    socket.create_connection(("127.0.0.1", server.imap_port)).close()
    # POP3: RETR, TOP, QUIT; then a wrong password.
    p = server.pop3("alice")
    assert p.retr(1)[1] == MESSAGE.rstrip(b"\n").split(b"\n")
    p.top(1, 1)
    p.quit()
    pop3_login_fails(server, "bob")
    # Implicit TLS: the -ssl program names, and Courier's TLS mark; TLS
    # started in-band: the mark under the plain listeners' names.
    server.connect_tls("alice").logout()
    server.pop3_tls("bob").quit()
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    m.starttls(ctx)
    m.login("bob", "bob-pw")
    m.logout()
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    p.stls(ctx)
    p.user("alice")
    p.pass_("alice-pw")
    p.quit()

    records = syslog.wait_for(
        rf"imapd: LOGIN, user=alice, {IP}, protocol=IMAP",
        rf"imapd: LOGOUT, user=alice, {IP}, headers=\d+, body=\d+, {COUNTS}",
        rf"imapd: LOGIN FAILED, user=alice, {IP}",
        rf"imapd: LOGIN FAILED, user=x\. ip=\[203\.0\.113\.9\], {IP}",
        rf"imapd: DISCONNECTED, user=bob, {IP}, headers=0, body=0, {COUNTS}",
        rf"imapd: LOGOUT, {IP}, rcvd=\d+, sent=\d+",
        rf"imapd: Disconnected, {IP}, time=\d+",
        rf"pop3d: LOGOUT, {IP}",
        rf"pop3d: LOGIN, user=alice, {IP}",
        rf"pop3d: LOGOUT, user=alice, {IP}, top=\d+, retr=\d+, {COUNTS}",
        rf"pop3d: LOGIN FAILED, user=bob, {IP}",
        rf"imapd-ssl: LOGIN, user=alice, {IP}, protocol=IMAP, starttls=1",
        rf"imapd-ssl: LOGOUT, user=alice, {IP}, headers=0, body=0, {COUNTS}, starttls=1",
        rf"pop3d-ssl: LOGIN, user=bob, {IP}, stls=1",
        rf"pop3d-ssl: LOGOUT, user=bob, {IP}, top=0, retr=0, {COUNTS}, stls=1",
        rf"imapd: LOGIN, user=bob, {IP}, protocol=IMAP, starttls=1",
        rf"imapd: LOGOUT, user=bob, {IP}, headers=0, body=0, {COUNTS}, starttls=1",
        rf"pop3d: LOGIN, user=alice, {IP}, stls=1",
        rf"pop3d: LOGOUT, user=alice, {IP}, top=0, retr=0, {COUNTS}, stls=1",
    )
    # The counters: message bytes as stored, and the session's bytes
    # after the login.
    (_, _, _, logout), = syslog.matching(r"imapd: LOGOUT, user=alice, .*")
    fields = dict(f.split("=", 1) for f in logout.split(", ")[1:])
    assert int(fields["body"]) == len(MESSAGE), logout
    assert int(fields["headers"]) == len(SUBJECT_FIELD), logout
    assert int(fields["sent"]) > len(MESSAGE) and int(fields["rcvd"]) > 0, logout
    (_, _, _, logout), = syslog.matching(r"pop3d: LOGOUT, user=alice, .*retr=[1-9].*")
    fields = dict(f.split("=", 1) for f in logout.split(", ")[1:])
    assert int(fields["retr"]) == len(MESSAGE), logout
    assert int(fields["top"]) == len(TOP_ONE_LINE), logout
    # The client's bytes after the login: RETR 1, TOP 1 1, QUIT.
    assert int(fields["rcvd"]) == len(b"RETR 1\r\nTOP 1 1\r\nQUIT\r\n"), logout
    # Every connection, at debug priority; logins at info.
    connections = syslog.matching(rf"(imapd|pop3d|imapd-ssl|pop3d-ssl): Connection, {IP}")
    assert len(connections) == 11, connections
    assert {r[0] for r in connections} == {MAIL_DEBUG}
    assert {r[0] for r in records if "LOGIN" in r[3] or "LOGOUT" in r[3]} == {MAIL_INFO}

    # fail2ban's courier-auth filter finds the three failed logins, each
    # for the client's own address, and nothing else.
    matched = fail2ban_matches(syslog, tmp_path, "msg")
    assert len(matched) == 3 and all("LOGIN FAILED" in line for line in matched), matched
    assert fail2ban_matches(syslog, tmp_path, "ip") == ["127.0.0.1"] * 3


def test_rsyslog_s_mail_log_is_what_fail2ban_s_courier_auth_jail_reads(make_server):
    """The whole path on a Debian machine with rsyslog: the server's
    datagrams, rsyslog's own /var/log/mail.log format (a private rsyslogd
    on a socket of its own here), and fail2ban-regex over that file."""
    need("rsyslogd")
    need("fail2ban-regex")
    rsyslog = PrivateRsyslog()
    try:
        server = make_server(f'\n[log]\nformat = "courier"\nsyslog_socket = "{rsyslog.socket}"\n')
        server.connect("alice").logout()
        imap_login_fails(server, "alice")
        pop3_login_fails(server, "bob")
        text = rsyslog.wait_for(lambda t: t.count("LOGIN FAILED") == 2 and "LOGOUT" in t)
        assert re.search(r"(?m)^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ imapd: LOGOUT, user=alice, ", text), text
        res = subprocess.run(["fail2ban-regex", "-o", "msg", str(rsyslog.mail_log), str(FILTER)],
                             capture_output=True, text=True, timeout=120)
        matched = [line for line in res.stdout.splitlines() if line.strip()]
        assert len(matched) == 2, res.stdout + res.stderr
        assert " imapd: LOGIN FAILED, user=alice, ip=[::ffff:127.0.0.1]" in matched[0]
        assert " pop3d: LOGIN FAILED, user=bob, ip=[::ffff:127.0.0.1]" in matched[1]
    finally:
        rsyslog.close()


# A message with parts, for the differential test.
MULTIPART = (b'From: a@example.org\nSubject: hello\nMIME-Version: 1.0\n'
             b'Content-Type: multipart/mixed; boundary="b"\n\npreamble\n--b\n'
             b'Content-Type: text/plain\n\nline one\nline two\n--b\n'
             b'Content-Type: text/plain; name="x.txt"\n\nattached\n--b--\n')
# Every kind of FETCH item that sends message data, then LOGOUT.
IMAP_SESSION = (
    b"a SELECT INBOX\r\n"
    b"b FETCH 1 (BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.HEADER"
    b" BODY.PEEK[TEXT]<2.5> BODY.PEEK[2.MIME] BODY.PEEK[HEADER] BODY.PEEK[1])\r\n"
    b"c FETCH 1 (RFC822 RFC822.TEXT BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM)])\r\n"
    b"d LOGOUT\r\n"
)
POP3_SESSION = b"RETR 1\r\nTOP 1 1\r\nQUIT\r\n"
COURIER_IMAPD = "/usr/bin/imapd"
COURIER_POP3D = "/usr/lib/courier/courier/courierpop3d"


def courier_lines(program, commands, protocol=None):
    """The lines Debian's Courier `program` logs for a session of
    `commands` on a maildir holding MULTIPART, started as its login
    program starts it (after the login), without its logger's `INFO: `;
    `protocol`: Courier's PROTOCOL (SMAP1)."""
    home = Path(tempfile.mkdtemp(prefix="courser-courier-"))
    try:
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True)
        (home / "Maildir" / "new" / "1.test").write_bytes(MULTIPART)
        env = {"PATH": "/usr/bin:/bin", "AUTHENTICATED": "alice", "IMAPLOGINTAG": "z",
               "TCPREMOTEIP": "::ffff:127.0.0.1", "TCPREMOTEPORT": "4242"}
        if protocol:
            env["PROTOCOL"] = protocol
        r = subprocess.run([program, "Maildir"], cwd=home, input=commands, env=env,
                           capture_output=True, timeout=60)
        return [line.removeprefix("INFO: ") for line in r.stderr.decode().splitlines()
                if line.startswith("INFO: ")]
    finally:
        shutil.rmtree(home, ignore_errors=True)


def talk(port, login, commands, last):
    """Logs in on `port` with `login`, sends `commands` at once and reads
    until `last` (the answer to the last one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rb")
        f.readline()
        for line, answer in login:
            s.sendall(line)
            while not f.readline().startswith(answer):
                pass
        s.sendall(commands)
        while not f.readline().startswith(last):
            pass


def comparable(line):
    """A line without what differs between servers by nature: the port,
    the bytes sent (the servers word their answers differently) and the
    time."""
    line = re.sub(r"port=\[\d+\]", "port=[P]", line)
    return re.sub(r", sent=\d+, time=\d+", ", sent=S, time=T", line)


def test_the_lines_and_counters_match_courier_s_own(make_server, syslog):
    for program in (COURIER_IMAPD, COURIER_POP3D):
        if not os.access(program, os.X_OK):
            if FULL:
                pytest.fail(f"{program} is missing (scripts/test.sh installs courier-imap/-pop)")
            pytest.skip(f"{program} is not installed")
    server = make_server(syslog.config())
    server.deliver(MULTIPART)
    talk(server.imap_port, [(b"z LOGIN alice alice-pw\r\n", b"z OK")], IMAP_SESSION, b"d OK")
    talk(server.pop3_port, [(b"USER alice\r\n", b"+OK"), (b"PASS alice-pw\r\n", b"+OK")],
         POP3_SESSION, b"+OK")
    syslog.wait_for(r"imapd: LOGOUT, .*", r"pop3d: LOGOUT, .*")
    for program, name, commands in ((COURIER_IMAPD, "imapd", IMAP_SESSION),
                                    (COURIER_POP3D, "pop3d", POP3_SESSION)):
        ours = [comparable(text) for _, _, prog, text in syslog.snapshot()
                if prog == name and text.startswith(("LOGIN,", "LOGOUT,"))]
        theirs = [comparable(line) for line in courier_lines(program, commands)]
        # Courier's imapd started this way has no address of the client.
        theirs = [line.replace("ip=[127.0.0.1]", "ip=[::ffff:127.0.0.1]") for line in theirs]
        assert ours == theirs, name


def test_an_idle_client_s_session_ends_with_timeout(make_server, syslog):
    need("faketime")
    server = make_server(syslog.config())
    # The half-hour autologout passes in a few seconds.
    server.stop()
    server.wrapper = ["faketime", "-f", "+0 x600"]
    server.start()
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=60)
    m.login("alice", "alice-pw")
    assert m.readline().startswith(b"* BYE Autologout")
    syslog.wait_for(rf"imapd: TIMEOUT, user=alice, {IP}, headers=0, body=0, {COUNTS}", timeout=60)


@pytest.mark.skipif(not ROOT, reason="the per-user model switches uids")
def test_per_user_workers_log_each_line_once(make_server, syslog):
    server = make_server(syslog.config(), per_user=True)
    server.deliver(MESSAGE)
    m = server.connect("alice")
    m.select("INBOX")
    m.fetch("1", "(BODY.PEEK[])")
    m.logout()
    server.pop3_tls("bob").quit()
    syslog.wait_for(
        rf"imapd: LOGOUT, user=alice, {IP}, headers=0, body={len(MESSAGE)}, {COUNTS}",
        rf"pop3d-ssl: LOGOUT, user=bob, {IP}, top=0, retr=0, {COUNTS}, stls=1",
    )
    for pattern in (r"imapd: LOGIN, user=alice, .*", r"imapd: LOGOUT, user=alice, .*",
                    r"pop3d-ssl: LOGIN, user=bob, .*", r"pop3d-ssl: LOGOUT, user=bob, .*"):
        assert len(syslog.matching(pattern)) == 1, (pattern, syslog.snapshot())
    # The front end, which relayed the sessions, adds no line of a
    # session that never logged in.
    assert syslog.matching(r".*: (LOGOUT, ip=|Disconnected, ).*") == []


def test_the_address_limit_raises_courier_s_alert(make_server, syslog):
    server = make_server(syslog.config() + "\n[limits]\ntrusted_networks = []\n"
                         "max_connections_per_ip = 1\n")
    # (A connection not logged in would give way to the new one.)
    first = server.pop3()
    second = socket.create_connection(("127.0.0.1", server.pop3_port))
    assert second.recv(512).startswith(b"-ERR")
    second.close()
    first.quit()
    alert = r"pop3d: Maximum connection limit reached for ::ffff:127\.0\.0\.1"
    syslog.wait_for(alert)
    assert [r[0] for r in syslog.matching(alert)] == [MAIL_ALERT]


def test_courser_format_sends_nothing_to_syslog(make_server, syslog):
    server = make_server(syslog.config("courser"))
    server.connect("alice").logout()
    deadline = time.time() + 20
    # Courier's line would be sent before Courser's own LOGOUT line.
    while "LOGOUT" not in server.log_text() and time.time() < deadline:
        time.sleep(0.05)
    assert "LOGOUT" in server.log_text()
    assert syslog.snapshot() == []


def test_without_a_syslog_socket_the_lines_go_to_standard_error(make_server):
    missing = Path(tempfile.mkdtemp(prefix="courser-nolog-")) / "absent.sock"
    try:
        server = make_server(f'\n[log]\nformat = "courier"\nsyslog_socket = "{missing}"\n')
        for _ in range(2):
            server.pop3("alice").quit()
        deadline = time.time() + 20
        while server.log_text().count("pop3d: LOGOUT, user=alice, ") < 2 and time.time() < deadline:
            time.sleep(0.05)
        log = server.log_text()
        assert log.count("pop3d: LOGOUT, user=alice, ip=[::ffff:127.0.0.1]") == 2, log
        assert re.search(r"pop3d: LOGIN, user=alice, ip=\[::ffff:127\.0\.0\.1\], port=\[\d+\]\n", log)
        # Said once, not per line.
        assert log.count(f"cannot send to the syslog socket {missing}") == 1, log
    finally:
        shutil.rmtree(missing.parent, ignore_errors=True)


SMAP_SESSION = (
    b"OPEN INBOX\n"
    b"FETCH 1 CONTENTS.PEEK=HEADERS CONTENTS.PEEK=RAWHEADERS(SUBJECT)\n"
    b"FETCH 1 CONTENTS.PEEK=BODY[1.1] CONTENTS.PEEK=MIME(CONTENT-TYPE)\n"
    b"FETCH 1 CONTENTS.PEEK=ALL[1.2] CONTENTS.PEEK=BODY.DECODED[1.2]\n"
    b"LOGOUT\n"
)


def test_smap_sessions_log_as_courier_s(make_server, syslog):
    """An SMAP login is `protocol=SMAP1`, and its LOGOUT counts the
    header lines and bodies it sent as Courier's imapd counts them."""
    if not os.access(COURIER_IMAPD, os.X_OK):
        if FULL:
            pytest.fail(f"{COURIER_IMAPD} is missing (scripts/test.sh installs courier-imap)")
        pytest.skip(f"{COURIER_IMAPD} is not installed")
    server = make_server(syslog.config() + "\n[imap]\nsmap = true\n")
    server.deliver(MULTIPART)
    talk(server.imap_port, [(b'\\SMAP1 LOGIN alice "alice-pw"\r\n', b"+OK")], SMAP_SESSION,
         b"+OK LOGOUT")
    syslog.wait_for(r"imapd: LOGOUT, .*")
    ours = [comparable(text) for _, _, prog, text in syslog.snapshot()
            if prog == "imapd" and text.startswith(("LOGIN,", "LOGOUT,"))]
    theirs = [comparable(line).replace("ip=[127.0.0.1]", "ip=[::ffff:127.0.0.1]")
              for line in courier_lines(COURIER_IMAPD, SMAP_SESSION, protocol="SMAP1")]
    assert ours[0].endswith("protocol=SMAP1")
    assert ours == theirs
