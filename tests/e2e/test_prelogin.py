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
