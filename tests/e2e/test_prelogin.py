"""Issue 15, part 2: abuse before login — huge passwords, slow drips,
crowds of unauthenticated connections, IPv6 address aggregation, PROXY
headers from strangers, forged log lines, the demo's files."""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

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
    # IMAP LOGIN with a literal just under the framer's 1 MiB command limit.
    big = b"p" * 1_000_000
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=60)
    read_until(s, b"\r\n")
    s.sendall(b"a1 LOGIN alice {%d}\r\n" % len(big))
    cont = read_until(s, b"\r\n")
    if cont.startswith(b"+"):
        s.sendall(big + b"\r\n")
        answer = read_until(s, b"a1 ", timeout=60)
        assert b"a1 NO" in answer, answer[-200:]
    else:
        assert b"OK" not in cont, cont  # a framer that refuses it outright
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
