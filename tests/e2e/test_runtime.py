"""Server runtime: limits, graceful shutdown, reload on SIGHUP."""

import imaplib
import signal
import socket
import ssl
import subprocess
import time


def greeting(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s, s.recv(4096)


def test_per_ip_limit_refuses_then_accepts_again(make_server):
    server = make_server("\n[limits]\nmax_connections_per_ip = 2\n")
    a, ga = greeting(server.imap_port)
    b, gb = greeting(server.imap_port)
    assert ga.startswith(b"* OK") and gb.startswith(b"* OK")
    c, gc = greeting(server.imap_port)
    assert gc.startswith(b"* BYE"), gc
    assert b"Too many connections from your address" in gc
    c.close()
    a.close()
    time.sleep(0.2)
    d, gd = greeting(server.imap_port)
    assert gd.startswith(b"* OK"), gd
    b.close()
    d.close()
    assert "connection refused" in server.log_text()


def test_sigterm_says_bye_to_sessions(make_server):
    server = make_server()
    c = server.connect()
    c.select("INBOX")
    sock = c.socket()
    server.proc.send_signal(signal.SIGTERM)
    data = b""
    deadline = time.time() + 10
    while b"BYE" not in data and time.time() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    assert b"* BYE Server shutting down" in data, data
    assert server.proc.wait(15) == 0
    with pytest_raises_oserror():
        socket.create_connection(("127.0.0.1", server.imap_port), timeout=2)


class pytest_raises_oserror:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        assert kind is not None and issubclass(kind, OSError), "connection still accepted"
        return True


def peer_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def test_sighup_swaps_certificate_and_keeps_sessions(server):
    old_cert = peer_cert(server.imaps_port)
    session = server.connect_tls()
    session.select("INBOX")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(server.root / "key.pem"), "-out", str(server.root / "cert.pem"),
            "-days", "2", "-subj", "/CN=reloaded.example",
        ],
        check=True, capture_output=True,
    )
    server.chown()
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    new_cert = old_cert
    while new_cert == old_cert and time.time() < deadline:
        time.sleep(0.1)
        new_cert = peer_cert(server.imaps_port)
    assert new_cert != old_cert, "the next TLS client should see the new certificate"
    # The old session carries on over its old TLS connection.
    typ, _ = session.noop()
    assert typ == "OK"
    session.logout()
    assert "configuration reloaded" in server.log_text()


def test_sighup_with_a_broken_config_keeps_serving(server):
    text = server.config.read_text()
    server.config.write_text(text + "\n[limits]\nmax_connections = 0\n")
    server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    c = server.connect()
    assert c.noop()[0] == "OK"
    c.logout()
    assert "keeping the old configuration" in server.log_text()


def test_logindisabled_is_not_offered_on_loopback(server):
    c = server.connect(login=False)
    assert "LOGINDISABLED" not in c.capabilities
    assert "STARTTLS" in c.capabilities
    c.starttls(ssl_context=_insecure())
    c.login("alice", "alice-pw")
    c.logout()


def _insecure():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
