"""Issue 15, part 2: abuse before login — huge passwords, slow drips,
crowds of unauthenticated connections, IPv6 address aggregation, PROXY
headers from strangers, forged log lines, the demo's files."""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, free_port

FILTER = Path(__file__).resolve().parents[2] / "contrib" / "fail2ban" / "courser.conf"


def read_until(sock, marker, timeout=20):
    """Reads from `sock` until `marker` arrives; everything read."""
    sock.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def wait_for(predicate, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not os.path.exists("/usr/bin/fail2ban-regex"),
                    reason="needs fail2ban (scripts/test.sh installs it)")
def test_line_breaks_in_a_login_cannot_forge_a_failed_login_line(server):
    forged_ip = "192.0.2.99"
    forged = ("x\r\n2026-12-03T22:00:00.000000Z  INFO courser_server::login: "
              f"LOGIN FAILED user=\"y\" ip={forged_ip} port=1 service=imap").encode()
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=20)
    read_until(s, b"\r\n")
    s.sendall(b"a1 LOGIN {%d}\r\n" % len(forged))
    assert read_until(s, b"\r\n").startswith(b"+")
    s.sendall(forged + b" wrong\r\n")
    assert b"a1 NO" in read_until(s, b"a1 ")
    s.sendall(b"a2 LOGOUT\r\n")
    read_until(s, b"a2 ")
    s.close()
    assert wait_for(lambda: "LOGIN FAILED" in server.log_text())
    log = server.log_text()
    assert "user=\"x\\r\\n2026-12-03T22:00:00" in log, log
    found = subprocess.run(
        ["fail2ban-regex", "-o", "ip", str(server.root / "server.log"), str(FILTER)],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert found == ["127.0.0.1"], found


def cpu_seconds(pid):
    """User plus system CPU time of a process, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def refused_unchecked(server, count):
    return server.log_text().count("refused unchecked") >= count


def test_huge_passwords_are_refused_before_hashing(make_server):
    """alice's userdb entry is SHA512-crypt, whose cost grows with the
    square of the password: a megabyte would take minutes of CPU. Each
    way a password arrives is refused without hashing it, like a wrong
    password, and the log says why."""
    import base64
    server = make_server(auth_extra="max_password_length = 512")
    pid = server.proc.pid
    before = cpu_seconds(pid)
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=60)
    read_until(s, b"\r\n")
    # A megabyte literal before login is refused before it is sent (the
    # framer's pre-login literal limit, 8 KiB; test_bounded.py).
    s.sendall(b"a0 LOGIN alice {1000000}\r\n")
    assert read_until(s, b"\r\n").startswith(b"a0 BAD"), "no continuation"
    # IMAP LOGIN with a literal under that limit but over the password's.
    big = b"p" * 8_000
    s.sendall(b"a1 LOGIN alice {%d}\r\n" % len(big))
    assert read_until(s, b"\r\n").startswith(b"+")
    s.sendall(big + b"\r\n")
    answer = read_until(s, b"a1 ", timeout=60)
    assert b"a1 NO" in answer, answer[-200:]
    # AUTHENTICATE PLAIN (SASL responses hold at most 8 kB).
    plain = base64.b64encode(b"\0alice\0" + b"q" * 6_000)
    s.sendall(b"a2 AUTHENTICATE PLAIN\r\n")
    assert read_until(s, b"\r\n").startswith(b"+")
    s.sendall(plain + b"\r\n")
    answer = read_until(s, b"a2 ", timeout=60)
    assert b"a2 NO" in answer, answer[-200:]
    s.close()
    # POP3 PASS (its command line holds a kilobyte) and AUTH PLAIN.
    p = socket.create_connection(("127.0.0.1", server.pop3_port), timeout=60)
    read_until(p, b"\r\n")
    p.sendall(b"USER alice\r\n")
    assert read_until(p, b"\r\n").startswith(b"+OK")
    p.sendall(b"PASS " + b"r" * 1000 + b"\r\n")
    assert read_until(p, b"\r\n").startswith(b"-ERR")
    p.sendall(b"AUTH PLAIN\r\n")
    assert read_until(p, b"\r\n").startswith(b"+")
    p.sendall(base64.b64encode(b"\0alice\0" + b"s" * 6_000) + b"\r\n")
    assert read_until(p, b"\r\n").startswith(b"-ERR")
    # A megabyte on the POP3 command line is refused as a line, quickly.
    p.sendall(b"PASS " + b"t" * (1 << 20) + b"\r\n")
    assert read_until(p, b"\r\n").startswith(b"-ERR")
    p.close()
    assert wait_for(lambda: refused_unchecked(server, 4)), server.log_text()[-3000:]
    spent = cpu_seconds(pid) - before
    # Hashing the megabyte would take minutes.
    assert spent < 2.0, f"{spent} s of CPU"
    assert "LOGIN FAILED" in server.log_text()
    # The right password still works, and a failure counted as one.
    c = server.connect()
    c.logout()


def proxied(port, src, sport=4000, family=None):
    """A connection through a PROXY v1 header naming `src`."""
    family = family or ("TCP6" if ":" in src else "TCP4")
    dst = "::1" if family == "TCP6" else "127.0.0.1"
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(f"PROXY {family} {src} {dst} {sport} {port}\r\n".encode())
    return s


def proxy_listener(port, sources='["127.0.0.0/8"]'):
    return (f'\n[[listener]]\nprotocol = "imap"\naddress = "127.0.0.1:{port}"\n'
            f"proxy_protocol = true\nproxy_protocol_from = {sources}\n")


def test_slow_drip_is_closed_at_the_login_deadline(make_server):
    """The login timeout counts from the connection's start: a byte a
    second (each read well inside the timeout) does not keep it open."""
    server = make_server("\n[imap]\nlogin_timeout_secs = 3\n"
                         "\n[pop3]\nlogin_timeout_secs = 3\n")
    for port, bye in ((server.imap_port, b"* BYE"), (server.pop3_port, b"-ERR")):
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        got = read_until(s, b"\r\n")
        closed = False
        for _ in range(15):
            try:
                s.sendall(b"x")
            except OSError:
                closed = True
                break
            s.settimeout(1)
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
            got += data
            if not data:
                closed = True
                break
        s.close()
        assert closed, f"still open after 15 s of dripping: {got!r}"
        assert bye in got.split(b"\r\n", 1)[1], got


def test_a_crowd_from_one_ipv6_network_does_not_keep_a_client_out(make_server):
    """1,000 connections that never log in, from 1,000 addresses of one
    /64 (presented through a PROXY listener), against max_connections =
    10: the newest client still gets a greeting and logs in, because the
    oldest connections not logged in give way."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    port = free_port()
    server = make_server(proxy_listener(port) +
                         "\n[limits]\nmax_connections = 10\n"
                         "new_connections_per_ip_per_minute = 0\n")
    crowd = []
    for i in range(1000):
        crowd.append(proxied(port, f"2001:db8:1:2::{i + 1:x}", 1024 + i))
        if len(crowd) >= 100:  # ours to close: the server closed them
            for s in crowd[:50]:
                s.close()
            crowd = crowd[50:]
    # The server has taken in the whole crowd once every connection still
    # open was greeted: each is counted only after its PROXY header, so
    # one greeted late would count as newer than the client below and
    # could push it out before it logs in (a loaded machine lags behind
    # the loop above).
    said = {}
    for s in crowd:
        said[s] = read_until(s, b"\r\n")
        assert said[s].startswith(b"* OK"), said[s]
    # A new client (from loopback, on the ordinary listener) gets in.
    c = server.connect()
    c.select("INBOX")
    c.logout()
    # Of the crowd, at most the per-address limit of the /64 remains.
    open_ones = 0
    for s in crowd:
        data = said[s]
        try:
            if b"give way" not in data:
                data += read_until(s, b"give way\r\n", timeout=0.5)
        except (socket.timeout, OSError):
            pass
        if b"give way" not in data:
            open_ones += 1
        s.close()
    assert open_ones <= 20, open_ones
    assert "gave way to a newer connection" in server.log_text()


def test_ipv6_networks_and_ipv4_mapped_addresses_count_as_one_address(make_server):
    port = free_port()
    server = make_server(proxy_listener(port) +
                         "\n[limits]\nmax_connections_per_ip = 1\n"
                         "\n[imap]\nrequire_tls_for_login = false\n")
    for first, second in (("203.0.113.9", "::ffff:203.0.113.9"),
                          ("2001:db8:5:5::1", "2001:db8:5:5:ffff::2")):
        a = proxied(port, first)
        assert read_until(a, b"\r\n").startswith(b"* OK")
        a.sendall(b"a1 LOGIN alice alice-pw\r\n")
        assert b"a1 OK" in read_until(a, b"a1 ")
        # The logged-in session holds the address's only place.
        b = proxied(port, second, family="TCP6")
        answer = read_until(b, b"\r\n")
        assert b"Too many connections from your address" in answer, (second, answer)
        a.close()
        b.close()
        time.sleep(0.3)
    # The mapped address is logged as the IPv4 address.
    assert "ip=203.0.113.9" in server.log_text()
    assert "::ffff:203.0.113.9" not in server.log_text()


def test_proxy_headers_only_from_the_configured_networks(make_server):
    trusted, stranger = free_port(), free_port()
    server = make_server(proxy_listener(trusted) +
                         proxy_listener(stranger, '["192.0.2.0/24"]'))
    ok = proxied(trusted, "198.51.100.20")
    assert read_until(ok, b"\r\n").startswith(b"* OK")
    ok.close()
    refused = proxied(stranger, "198.51.100.21")
    try:
        assert read_until(refused, b"\r\n") == b""
    except ConnectionResetError:
        pass  # closed with our header unread: also a refusal
    refused.close()
    assert wait_for(lambda: "not in proxy_protocol_from" in server.log_text())
    assert "198.51.100.21" not in server.log_text()
    # A proxy_protocol listener with no proxy_protocol_from refuses
    # everyone (DESIGN.md), and check-config warns that nothing gets in.
    bad = server.root / "bad.toml"
    bad.write_text(server.config.read_text().replace(
        'proxy_protocol_from = ["192.0.2.0/24"]\n', ""))
    res = subprocess.run([BIN, "check-config", "--config", str(bad)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "warning" in res.stderr and "every connection to it is refused" in res.stderr
    closed = free_port()
    nobody_trusted = make_server(proxy_listener(closed, "[]"))
    refused = proxied(closed, "198.51.100.22")
    try:
        assert read_until(refused, b"\r\n") == b""
    except ConnectionResetError:
        pass
    refused.close()
    assert wait_for(lambda: "not in proxy_protocol_from" in nobody_trusted.log_text())


@pytest.mark.skipif(os.getuid() != 0, reason="the demo's root mode needs root")
def test_demo_as_root_uses_a_fresh_private_directory(tmp_path):
    import imaplib
    import pwd
    import shutil
    # Where the demo used to put its files, prepared by someone else.
    old = Path(f"/tmp/courser-demo-{os.getuid()}")
    planted = not old.exists()
    if planted:
        old.mkdir(mode=0o777)
        os.chmod(old, 0o777)
    marker = set(os.listdir(old))
    ports = [free_port() for _ in range(4)]
    proc = subprocess.Popen(
        [BIN, "demo", "--imap-port", str(ports[0]), "--imaps-port", str(ports[1]),
         "--pop3-port", str(ports[2]), "--pop3s-port", str(ports[3])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    directory = None
    try:
        line = proc.stdout.readline()
        assert line.startswith("Courser demo: files in "), line
        directory = Path(line.split(" files in ", 1)[1].strip())
        assert directory != old and directory.parent == Path("/tmp"), directory
        assert set(os.listdir(old)) == marker, "the predictable path was used"
        st = directory.stat()
        assert st.st_mode & 0o777 == 0o700, oct(st.st_mode)
        assert st.st_uid == pwd.getpwnam("nobody").pw_uid
        deadline = time.time() + 30
        while True:
            try:
                c = imaplib.IMAP4("127.0.0.1", ports[0], timeout=10)
                break
            except OSError:
                assert time.time() < deadline, "the demo never listened"
                time.sleep(0.2)
        c.login("demo", "demo")
        c.logout()
        # As root an existing --dir is refused: it is never reused.
        res = subprocess.run([BIN, "demo", "--dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode != 0 and "File exists" in res.stderr, res.stderr
    finally:
        proc.terminate()
        proc.wait(10)
        if directory and directory != old:
            shutil.rmtree(directory, ignore_errors=True)
        if planted:
            shutil.rmtree(old, ignore_errors=True)
