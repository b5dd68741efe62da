"""POP3 end to end: Python's poplib, curl's POP3 client, fetchmail, Courier's
own pop3d on the same maildir (differential UIDLs), IMAP changes during a
POP3 session, and hostile input."""

import crypt
import os
import poplib
import random
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import USERS

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
COURIER_POP3D = "/usr/lib/courier/courier/courierpop3d"


def need_tool(path_or_name):
    """The tool's path; skips when missing, fails under COURSER_FULL_TESTS=1."""
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if found and os.access(found, os.X_OK):
        return found
    if FULL:
        pytest.fail(f"{path_or_name} is missing (COURSER_FULL_TESTS=1)")
    pytest.skip(f"{path_or_name} is not installed")


def message(i, body_lines=3, final_newline=True):
    body = "".join(f"line {j} of message {i}\n" for j in range(body_lines))
    text = (
        f"From: sender{i}@example.org\nTo: alice@example.org\n"
        f"Subject: message {i}\nMessage-ID: <m{i}@example.org>\n\n"
        f".starts with a dot\n{body}"
    )
    if not final_newline:
        text = text.rstrip("\n")
    return text.encode()


def crlf(data: bytes) -> bytes:
    """What RETR must send for a stored message (before dot-stuffing)."""
    out = data.replace(b"\n", b"\r\n")
    if data and not data.endswith(b"\n"):
        out += b"\r\n"
    return out


def put(server, name, data, sub="cur"):
    """Writes a message file straight into alice's maildir."""
    path = server.maildir() / sub / name
    path.write_bytes(data)
    if server.as_root:
        os.lchown(path, server.uid, server.gid)
    return path


def files(server, sub="cur"):
    return sorted(os.listdir(server.maildir() / sub))


class Raw:
    """A line-oriented POP3 client on a plain socket."""

    def __init__(self, port, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multiline(self):
        lines = []
        while True:
            line = self.line()
            if line == b".":
                return lines
            lines.append(line[1:] if line.startswith(b".") else line)

    def cmd(self, text: str) -> bytes:
        self.send(text.encode() + b"\r\n")
        return self.line()

    def login(self, user="alice"):
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        reply = self.cmd(f"PASS {USERS[user]}")
        assert reply.startswith(b"+OK"), reply

    def close(self):
        self.sock.close()


def test_poplib_session_sizes_retr_top_dele_quit(server):
    msgs = {f"{1000 + i}.M1P1.test:2,": message(i, final_newline=(i != 2)) for i in range(4)}
    for name, data in msgs.items():
        put(server, name, data)
    c = server.pop3()
    count, octets = c.stat()
    assert count == 4
    _, listing, _ = c.list()
    sizes = [int(x.split()[1]) for x in listing]
    expected = [crlf(d) for d in msgs.values()]
    assert sizes == [len(e) for e in expected]
    assert octets == sum(sizes)
    for i, e in enumerate(expected, 1):
        resp, lines, n = c.retr(i)
        # poplib undoes dot-stuffing; its octet count includes the stuffing.
        assert b"\r\n".join(lines) + b"\r\n" == e
        assert resp == f"+OK {len(e)} octets follow".encode()
    _, lines, _ = c.top(1, 1)
    assert lines[-2:] == [b"", b".starts with a dot"]
    _, uidls, _ = c.uidl()
    assert [u.split()[0] for u in uidls] == [b"1", b"2", b"3", b"4"]
    assert all(re.fullmatch(rb"UID\d+-\d+", u.split()[1]) for u in uidls)
    # RETR set \Seen at once.
    assert all(f.endswith(":2,S") for f in files(server))
    c.dele(2)
    c.dele(4)
    with pytest.raises(poplib.error_proto):
        c.retr(2)
    assert c.stat()[0] == 2
    c.rset()
    assert c.stat()[0] == 4
    c.dele(2)
    assert len(files(server)) == 4, "DELE must not delete before QUIT"
    c.quit()
    assert len(files(server)) == 3
    # UIDLs of the others did not change.
    c = server.pop3()
    _, again, _ = c.uidl()
    assert [u.split()[1] for u in again] == [uidls[0].split()[1]] + [u.split()[1] for u in uidls[2:]]
    c.quit()
    text = (server.maildir() / "courierpop3dsizelist").read_text()
    assert text.startswith("/3 5 ")
    log = re.sub(r"\x1b\[[0-9;]*m", "", server.log_text())
    assert len(re.findall(r'LOGIN .*protocol="POP3"|protocol="POP3".*LOGIN', log)) >= 2
    assert "LOGOUT" in log and "retr=4" in log


def test_dropped_connection_deletes_nothing_and_quit_updates_quota(server):
    (server.maildir() / "maildirsize").write_text("100000S\n")
    server.chown()
    for i in range(3):
        put(server, f"{2000 + i}.M1P1.test,S={len(message(i))}:2,", message(i))
    quota = server.maildir() / "maildirsize"
    r = Raw(server.pop3_port)
    r.login()
    assert r.cmd("DELE 1").startswith(b"+OK")
    r.close()
    time.sleep(0.3)
    assert len(files(server)) == 3
    c = server.pop3()
    c.dele(1)
    c.dele(3)
    c.quit()
    assert len(files(server)) == 1
    lines = quota.read_text().splitlines()
    removed = len(message(0)) + len(message(2))
    assert lines[-1].split() == [str(-removed), "-2"]


def test_capa_stls_and_pop3s(server):
    r = Raw(server.pop3_port)
    assert r.greeting.startswith(b"+OK")
    assert r.cmd("CAPA") == b"+OK Capability list follows"
    caps = r.multiline()
    for cap in [b"TOP", b"UIDL", b"USER", b"PIPELINING", b"RESP-CODES", b"AUTH-RESP-CODE", b"STLS", b"SASL PLAIN LOGIN"]:
        assert cap in caps
    # Pipelined commands after STLS are discarded (sent in the clear).
    r.send(b"STLS\r\nUSER alice\r\n")
    assert r.line().startswith(b"+OK")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = ctx.wrap_socket(r.sock, server_hostname="localhost")
    tls.sendall(b"PASS alice-pw\r\nCAPA\r\n")
    data = b""
    while not data.endswith(b".\r\n"):
        data += tls.recv(4096)
    assert data.startswith(b"-ERR USER first"), data
    assert b"STLS" not in data
    tls.close()

    put(server, "3000.M1P1.test:2,", message(1))
    c = server.pop3_tls()
    assert c.stat()[0] == 1
    c.quit()

    c = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    c.stls(ctx)
    c.user("alice")
    c.pass_(USERS["alice"])
    assert c.stat()[0] == 1
    c.quit()


def test_auth_plain_login_and_failures(server):
    import base64

    r = Raw(server.pop3_port)
    token = base64.b64encode(b"\0alice\0alice-pw").decode()
    assert r.cmd(f"AUTH PLAIN {token}").startswith(b"+OK")
    assert r.cmd("STAT").startswith(b"+OK 0 0")
    r.close()

    r = Raw(server.pop3_port)
    assert r.cmd("AUTH LOGIN") == b"+ VXNlcm5hbWU6"
    assert r.cmd(base64.b64encode(b"alice").decode()) == b"+ UGFzc3dvcmQ6"
    assert r.cmd(base64.b64encode(b"wrong").decode()) == b"-ERR [AUTH] Authentication failed"
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd("*") == b"-ERR Authentication cancelled"
    assert r.cmd("USER alice").startswith(b"+OK")
    assert r.cmd("PASS nope") == b"-ERR [AUTH] Authentication failed"
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()
    assert "LOGIN FAILED" in server.log_text()


def test_disablepop3_account_option(server):
    hashed = crypt.crypt("carol-pw", crypt.mksalt(crypt.METHOD_SHA512))
    home = server.root / "home" / "carol"
    for sub in ("cur", "new", "tmp"):
        (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
    with open(server.root / "userdb", "a") as f:
        f.write(
            f"carol\tuid={server.uid}|gid={server.gid}|home={home}|mail={home / 'Maildir'}"
            f"|systempw={hashed}|options=disablepop3=1\n"
        )
    server.chown()
    r = Raw(server.pop3_port)
    assert r.cmd("USER carol").startswith(b"+OK")
    assert r.cmd("PASS carol-pw") == b"-ERR [SYS/PERM] POP3 access disabled for this account"
    r.close()


def test_curl_lists_retrieves_and_deletes(server):
    curl = need_tool("curl")
    put(server, "4000.M1P1.test:2,", message(1))
    put(server, "4001.M1P1.test:2,", message(2))
    base = f"pop3://127.0.0.1:{server.pop3_port}"
    auth = ["-u", "alice:alice-pw"]
    out = subprocess.run([curl, "-s", *auth, base + "/"], capture_output=True, check=True).stdout
    assert out.split(b"\r\n")[:2] == [b"1 %d" % len(crlf(message(1))), b"2 %d" % len(crlf(message(2)))]
    out = subprocess.run([curl, "-s", *auth, base + "/2"], capture_output=True, check=True).stdout
    assert out == crlf(message(2))
    out = subprocess.run([curl, "-s", *auth, "-X", "UIDL", base + "/"], capture_output=True, check=True).stdout
    assert re.match(rb"1 UID1-\d+\r\n2 UID2-\d+\r\n", out)
    subprocess.run([curl, "-s", *auth, "-X", "DELE", "-I", base + "/1"], check=True)
    assert files(server) == ["4001.M1P1.test:2,S"]


def test_fetchmail_fetches_and_deletes_1000_messages(server, tmp_path):
    fetchmail = need_tool("fetchmail")
    (server.maildir() / "maildirsize").write_text("0S\n")
    server.chown()
    total = 0
    for i in range(1000):
        data = message(i, body_lines=i % 7)
        total += len(data)
        put(server, f"{1600000000 + i}.M{i}P1.test,S={len(data)}", data, sub="new")
    out_dir = tmp_path / "got"
    out_dir.mkdir()
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        f"poll 127.0.0.1 service {server.pop3_port} protocol pop3 uidl\n"
        f"  user alice password alice-pw is root here\n"
        f"  sslproto '' nokeep fetchall\n"
        f"  mda \"/bin/sh -c 'cat > $(mktemp {out_dir}/m.XXXXXX)'\"\n"
    )
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    run = subprocess.run(
        [fetchmail, "-f", str(rc), "--nodetach", "-v", "--nosyslog"],
        capture_output=True, env=env, timeout=600,
    )
    assert run.returncode == 0, run.stdout.decode(errors="replace")[-3000:] + run.stderr.decode(errors="replace")[-3000:]
    got = list(out_dir.iterdir())
    assert len(got) == 1000
    subjects = set()
    for f in got:
        m = re.search(rb"^Subject: message (\d+)$", f.read_bytes(), re.M)
        assert m, f.read_bytes()[:300]
        subjects.add(int(m.group(1)))
    assert subjects == set(range(1000))
    assert files(server) == [] and files(server, "new") == []
    lines = (server.maildir() / "maildirsize").read_text().splitlines()
    # Delivered behind the quota's back, then deleted through POP3: one
    # negative line for the lot.
    assert sum(int(l.split()[0]) for l in lines[1:]) == -total
    assert sum(int(l.split()[1]) for l in lines[1:]) == -1000


def test_imap_changes_during_a_pop3_session(server):
    for i in range(4):
        put(server, f"{5000 + i}.M1P1.test:2,", message(i))
    p = Raw(server.pop3_port)
    p.login()
    assert p.cmd("UIDL") == b"+OK Unique-ID listing follows"
    uidls = p.multiline()
    imap = server.connect()
    imap.select("INBOX")
    # IMAP flags message 1 (renames it), expunges message 2, and new mail
    # arrives: the POP3 snapshot keeps its numbers and UIDLs.
    imap.store("1", "+FLAGS", "\\Flagged")
    imap.store("2", "+FLAGS", "\\Deleted")
    imap.expunge()
    server.deliver(message(99))
    assert p.cmd("STAT").startswith(b"+OK 4 ")
    assert p.cmd("RETR 1").startswith(b"+OK")
    assert b"Subject: message 0" in b"\n".join(p.multiline())
    assert p.cmd("RETR 2").startswith(b"-ERR")
    assert p.cmd("UIDL") .startswith(b"+OK")
    assert p.multiline() == uidls
    assert p.cmd("DELE 1").startswith(b"+OK")
    # IMAP does not see the POP3 deletion before QUIT...
    imap.noop()
    assert imap.search(None, "ALL")[1][0].split() == [b"1", b"2", b"3", b"4"]
    assert p.cmd("QUIT").startswith(b"+OK")
    # ... and sees it as an expunge after.
    imap.noop()
    assert imap.search(None, "ALL")[1][0].split() == [b"1", b"2", b"3"]
    imap.logout()
    # The next POP3 login sees the new message with the next UID.
    p = Raw(server.pop3_port)
    p.login()
    assert p.cmd("UIDL") .startswith(b"+OK")
    now = p.multiline()
    assert [u.split()[1] for u in now[:2]] == [u.split()[1] for u in uidls[2:]]
    assert now[2].split()[1].startswith(b"UID5-")
    p.close()


def test_concurrent_pop3_sessions_behave_like_courier(server):
    for i in range(3):
        put(server, f"{6000 + i}.M1P1.test:2,", message(i))
    a = Raw(server.pop3_port)
    a.login()
    b = Raw(server.pop3_port)
    b.login()  # no [IN-USE]: Courier's pop3d does not lock the maildrop
    assert a.cmd("DELE 1").startswith(b"+OK")
    assert a.cmd("QUIT").startswith(b"+OK")
    assert b.cmd("RETR 1").startswith(b"-ERR")
    assert b.cmd("RETR 2").startswith(b"+OK")
    b.multiline()
    assert b.cmd("DELE 1").startswith(b"+OK")
    assert b.cmd("QUIT").startswith(b"+OK"), "deleting a vanished message is not an error"
    assert len(files(server)) == 2


def run_courier_pop3d(home: Path, commands: bytes) -> bytes:
    env = {"AUTHENTICATED": "alice", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [COURIER_POP3D, "Maildir"], cwd=home, input=commands, env=env,
        capture_output=True, timeout=60,
    )
    assert r.stdout.startswith(b"+OK"), r.stdout + r.stderr
    return r.stdout


def uidl_and_list(out: bytes):
    """(UIDL lines, LIST lines) from a `UIDL`, `LIST` transcript."""
    blocks = out.split(b"\r\n.\r\n")
    uidl = blocks[0].split(b"\r\n")[2:]
    listing = blocks[1].split(b"\r\n")[1:]
    return uidl, listing


def test_uidls_match_courier_pop3d(server):
    need_tool(COURIER_POP3D)
    home_a = Path(tempfile.mkdtemp(prefix="courier-pop3-"))
    maildir_b = server.maildir()
    try:
        names = [
            ("new", "1700000005.M1P1.host", message(1)),
            ("new", "1700000001.M2P2.host:1,odd", message(2)),
            ("cur", "1700000003.M3P3.host:2,FS", message(3)),
            ("cur", "999999999.M4P4.host:2,", message(4)),
            ("cur", "1700000003.M3P3.hosz:2,", message(5)),
            ("cur", "abc.no.number:2,T", message(6)),
            ("new", "1700000009.M9P9.h\u00e9st", message(7)),
        ]

        def populate(maildir, batch):
            for sub, name, data in batch:
                (maildir / sub / name).write_bytes(data)

        shutil.copytree(maildir_b, home_a / "Maildir")
        populate(home_a / "Maildir", names)
        populate(maildir_b, names)
        server.chown()
        script = b"UIDL\r\nLIST\r\nQUIT\r\n"

        def courser():
            r = Raw(server.pop3_port)
            r.login()
            r.send(script)
            data = r.greeting + b"\r\n"
            try:
                while True:
                    chunk = r.sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            finally:
                r.close()
            # Drop the greeting and the login replies; keep UIDL onwards.
            return data[data.index(b"+OK Unique-ID"):]

        def courier():
            out = run_courier_pop3d(home_a, script)
            return out[out.index(b"+OK\r\n"):]

        norm = lambda lines: [re.sub(rb"-\d+$", b"-T", l) for l in lines]
        # Phase 1: no list yet on either side (uidvalidity = the time).
        u_c, l_c = uidl_and_list(courier())
        u_r, l_r = uidl_and_list(courser())
        assert norm(u_r) == norm(u_c)
        assert l_r == l_c  # all messages end with a newline: sizes agree

        # Phase 2: the same list on both sides, then the same changes.
        shutil.copy(home_a / "Maildir" / "courierpop3dsizelist", maildir_b / "courierpop3dsizelist")
        changes = [("new", "1700000002.M7P7.host", message(8)), ("new", "1800000000.M8.host", message(9))]
        for maildir in (home_a / "Maildir", maildir_b):
            populate(maildir, changes)
            os.unlink(maildir / "cur" / "999999999.M4P4.host:2,")
            os.rename(maildir / "cur" / "1700000003.M3P3.host:2,FS", maildir / "cur" / "1700000003.M3P3.host:2,S")
        server.chown()
        u_c, l_c = uidl_and_list(courier())
        u_r, l_r = uidl_and_list(courser())
        assert u_r == u_c
        assert l_r == l_c
        assert (maildir_b / "courierpop3dsizelist").read_bytes() == (
            home_a / "Maildir" / "courierpop3dsizelist"
        ).read_bytes()

        # Phase 3: Courier continues from the list Courser wrote.
        populate(maildir_b, [("new", "1900000000.M1.host", message(10))])
        server.chown()
        u_r, _ = uidl_and_list(courser())
        shutil.copy(maildir_b / "courierpop3dsizelist", home_a / "Maildir" / "courierpop3dsizelist")
        populate(home_a / "Maildir", [("new", "1900000000.M1.host", message(10))])
        u_c, _ = uidl_and_list(courier())
        assert u_c == u_r
    finally:
        shutil.rmtree(home_a, ignore_errors=True)


def hostile_lines(rng, count):
    verbs = ["USER", "PASS", "AUTH", "CAPA", "STAT", "LIST", "RETR", "TOP", "UIDL",
             "NOOP", "RSET", "APOP", "XYZ", "LIST 1", "TOP 1 0", "UIDL 99999999999", "RETR 0"]
    lines = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.4:
            line = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        elif kind < 0.8:
            line = rng.choice(verbs).encode()
            for _ in range(rng.randrange(0, 4)):
                pos = rng.randrange(len(line) + 1)
                line = line[:pos] + bytes([rng.randrange(256)]) + line[pos:]
        else:
            line = rng.choice(verbs).encode() + b" " + b"A" * rng.randrange(0, 3000)
        line = line.replace(b"\n", b"").replace(b"\r", b"")
        word = line.split(b" ")[0].strip(b" \t").upper()
        if word in (b"QUIT", b"STLS", b"DELE", b"AUTH"):
            continue
        lines.append(line)
    return lines


def test_hostile_input_never_kills_the_server(server):
    put(server, "7000.M1P1.test:2,", message(1))
    rng = random.Random(1939)
    r = Raw(server.pop3_port)
    r.login()
    assert r.cmd("UIDL 1").startswith(b"+OK 1 UID")
    marker = r.cmd("UIDL 1")
    for batch in range(20):
        lines = hostile_lines(rng, 150)
        r.send(b"".join(l + b"\r\n" for l in lines) + b"RSET\r\nUIDL 1\r\n")
        # Every answer ends up before the marker; the session survives.
        while True:
            line = r.line()
            if line == marker:
                break
    assert r.cmd("STAT").startswith(b"+OK 1 ")
    r.close()
    # Before login too (no STLS/QUIT/AUTH in the garbage).
    r = Raw(server.pop3_port)
    r.send(b"".join(l + b"\r\n" for l in hostile_lines(rng, 2000)) + b"CAPA\r\n")
    while r.line() != b"IMPLEMENTATION Courser":
        pass
    r.close()
    c = server.pop3()
    assert c.stat()[0] == 1
    c.quit()
    assert server.proc.poll() is None


def test_pop3d_on_standard_io_serves_a_fetchmail_tunnel(tmp_path):
    """`courser pop3d` as a preauthenticated tunnel (what fetchmail runs
    with `plugin` over ssh): fetch everything, delete on QUIT."""
    from conftest import BIN
    fetchmail = need_tool("fetchmail")
    maildir = tmp_path / "Maildir"
    subprocess.run([BIN, "maildirmake", str(maildir)], check=True)
    for i in range(20):
        subprocess.run([BIN, "deliver", str(maildir)], input=message(i), check=True)
    out_dir = tmp_path / "got"
    out_dir.mkdir()
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        f"poll tunnel via localhost plugin \"{BIN} pop3d {maildir}\"\n"
        "  protocol pop3 auth ssh uidl user me is root here\n"
        "  sslproto '' nokeep fetchall\n"
        f"  mda \"/bin/sh -c 'cat > $(mktemp {out_dir}/m.XXXXXX)'\"\n"
    )
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    run = subprocess.run(
        [fetchmail, "-f", str(rc), "--nodetach", "-v", "--nosyslog"],
        capture_output=True, env=env, timeout=120,
    )
    assert run.returncode == 0, run.stdout.decode(errors="replace")[-3000:] + run.stderr.decode(errors="replace")[-3000:]
    assert len(list(out_dir.iterdir())) == 20
    assert not list((maildir / "cur").iterdir()) and not list((maildir / "new").iterdir())
    # Without QUIT (input ends) nothing is deleted (RFC 1939 §6).
    subprocess.run([BIN, "deliver", str(maildir)], input=message(99), check=True)
    out = subprocess.run([BIN, "pop3d"], input=b"STAT\r\nDELE 1\r\n",
                         env=dict(os.environ, MAILDIR=str(maildir)),
                         capture_output=True, timeout=30).stdout
    assert out.startswith(b"+OK") and b"+OK 1 " in out, out
    assert len(list((maildir / "new").iterdir()) + list((maildir / "cur").iterdir())) == 1


def test_a_big_maildrop_listing_is_reused_until_it_changes(server):
    """Logins to a maildrop of 10,000 messages or more reuse the listing an
    earlier login of the process made while `cur/` and the size list stay
    as they were; a delivery, an IMAP expunge or flag change, and another
    writer's size list are all seen at the next login."""
    n = 10_000
    for i in range(n):
        put(server, f"{1_600_000_000 + i}.M{i}P1.test:2,", b"Subject: m\n\nx\n")
    cur = server.maildir() / "cur"

    def settle():
        old = time.time() - 60
        os.utime(cur, (old, old))

    def login_uidls():
        p = Raw(server.pop3_port)
        p.login()
        assert p.cmd("UIDL").startswith(b"+OK")
        lines = p.multiline()
        assert p.cmd("QUIT").startswith(b"+OK")
        return [line.split()[1] for line in lines]

    settle()
    first = login_uidls()
    assert len(first) == n
    assert login_uidls() == first, "the kept listing gives the same answer"

    imap = server.connect()
    imap.select("INBOX")
    imap.store("1", "+FLAGS", "\\Deleted")
    imap.expunge()
    imap.store("5", "+FLAGS", "\\Flagged")
    imap.logout()
    server.deliver(message(1))
    after = login_uidls()
    assert after[:-1] == first[1:]
    assert after[-1] == f"UID{n + 1}-".encode() + first[0].split(b"-")[1]

    # Another writer replaces the size list (as Courier's pop3d does) while
    # cur/ stays settled: the list is read again.
    settle()
    assert login_uidls() == after
    listfile = server.maildir() / "courierpop3dsizelist"
    text = listfile.read_text()
    uidv = first[0].split(b"-")[1].decode()
    renumbered = text.replace(f" 2:{uidv}:", f" {n + 7}:{uidv}:", 1)
    assert renumbered != text
    tmp = server.maildir() / "tmp" / "other-writer"
    tmp.write_text(renumbered)
    os.replace(tmp, listfile)
    settle()
    assert login_uidls()[0] == f"UID{n + 7}-{uidv}".encode()
