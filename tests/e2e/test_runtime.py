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
    server = make_server("\n[limits]\nmax_connections_per_ip = 2\ntrusted_networks = []\n")
    a, ga = greeting(server.imap_port)
    b, gb = greeting(server.imap_port)
    assert ga.startswith(b"* OK") and gb.startswith(b"* OK")
    # Logged-in sessions never give way to new connections.
    for s in (a, b):
        s.sendall(b"a1 LOGIN alice alice-pw\r\n")
        assert b"a1 OK" in s.recv(4096)
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


def test_access_rules_refuse_denied_addresses(make_server):
    server = make_server('\n[access]\nrules = ["allow 127.0.0.2", "deny 127.0.0.0/8"]\n')
    s, g = greeting(server.imap_port)
    assert g.startswith(b"* BYE"), g
    assert b"Access denied" in g
    s.close()
    assert "access rules deny this address" in server.log_text()


def test_trusted_networks_skip_the_per_address_limit(make_server):
    server = make_server(
        '\n[limits]\nmax_connections_per_ip = 1\ntrusted_networks = ["127.0.0.0/8"]\n'
    )
    socks = [greeting(server.imap_port) for _ in range(3)]
    assert all(g.startswith(b"* OK") for _, g in socks)
    for s, _ in socks:
        s.close()


def test_per_user_limit_refuses_the_extra_login(make_server):
    server = make_server("\n[limits]\nmax_connections_per_user_ip = 2\ntrusted_networks = []\n")
    a = server.connect()
    b = server.connect()
    c = server.connect(login=False)
    try:
        c.login("alice", "alice-pw")
        raise AssertionError("third session of alice should be refused")
    except imaplib.IMAP4.error as e:
        assert "LIMIT" in str(e)
    a.logout()
    time.sleep(0.2)
    c.login("alice", "alice-pw")
    for x in (b, c):
        x.logout()


def proxy_v1(port, src="203.0.113.9", sport=4242):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"PROXY TCP4 {src} 127.0.0.1 {sport} {port}\r\n".encode())
    return s, s.recv(4096)


def test_proxy_protocol_gives_the_real_address(make_server):
    server = make_server(
        "\n[limits]\nmax_connections_per_ip = 1\n"
        '\n[access]\nrules = ["deny 198.51.100.0/24"]\n'
    )
    # Turn the plain listener into a PROXY listener.
    text = server.config.read_text().replace(
        'protocol = "imap"\n',
        'protocol = "imap"\nproxy_protocol = true\nproxy_protocol_from = ["127.0.0.0/8"]\n',
        1,
    )
    server.config.write_text(text)
    server.stop()
    server.start()
    a, ga = proxy_v1(server.imap_port, "203.0.113.9")
    assert ga.startswith(b"* OK"), ga
    # The per-IP limit counts the proxied address, not the proxy's: the
    # address is full, and its connection that has not logged in gives
    # way to the new one.
    b, gb = proxy_v1(server.imap_port, "203.0.113.9", 5000)
    assert gb.startswith(b"* OK"), gb
    assert a.recv(4096).startswith(b"* BYE [UNAVAILABLE] Too many connections")
    c, gc = proxy_v1(server.imap_port, "203.0.113.10")
    assert gc.startswith(b"* OK"), gc
    d, gd = proxy_v1(server.imap_port, "198.51.100.7")
    assert b"Access denied" in gd, gd
    # No header: refused.
    e = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
    e.sendall(b"a1 CAPABILITY\r\n")
    try:
        assert e.recv(4096) == b""
    except ConnectionResetError:
        pass  # closed with our bytes unread: also a refusal
    # The proxied client is not on loopback: plaintext LOGIN is refused
    # until STARTTLS, as for any remote client.
    assert b"LOGINDISABLED" in gb
    b.sendall(b"a1 LOGIN alice alice-pw\r\n")
    assert b"a1 NO [PRIVACYREQUIRED]" in b.recv(4096)
    time.sleep(0.3)
    log = server.log_text()
    assert "ip=203.0.113.9" in log and "gave way to a newer connection" in log
    assert "198.51.100.7" in log
    for s in (a, b, c, d, e):
        s.close()


def _self_signed(root, stem, cn):
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(root / f"{stem}-key.pem"), "-out", str(root / f"{stem}.pem"),
            "-days", "2", "-subj", f"/CN={cn}",
        ],
        check=True, capture_output=True,
    )


def _cert_for(port, server_hostname=None, max_version=None):
    ctx = _insecure()
    if max_version is not None:
        ctx.maximum_version = max_version
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.getpeercert(binary_form=True)


def test_tls_certificate_by_sni_and_minimum_version(make_server):
    # Readable by the user the server runs as (a reload reads as run_as).
    import tempfile
    from pathlib import Path
    tmp_path = Path(tempfile.mkdtemp(prefix="courser-sni-"))
    tmp_path.chmod(0o755)
    _self_signed(tmp_path, "other", "other.example")
    for f in tmp_path.iterdir():
        f.chmod(0o644)
    server = make_server(
        "\n[[tls.sni]]\n"
        'name = "other.example"\n'
        f'certificate = "{tmp_path}/other.pem"\n'
        f'private_key = "{tmp_path}/other-key.pem"\n'
    )
    default = _cert_for(server.imaps_port)
    other = _cert_for(server.imaps_port, "other.example")
    assert other != default
    assert _cert_for(server.imaps_port, "unknown.example") == default
    # TLS 1.2 is accepted by default ...
    assert _cert_for(server.imaps_port, max_version=ssl.TLSVersion.TLSv1_2) == default
    # ... and refused with min_version = "1.3".
    text = server.config.read_text().replace(
        'private_key = "key.pem"\n', 'private_key = "key.pem"\nmin_version = "1.3"\n', 1
    )
    server.config.write_text(text)
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    refused = False
    while time.time() < deadline and not refused:
        try:
            _cert_for(server.imaps_port, max_version=ssl.TLSVersion.TLSv1_2)
            time.sleep(0.1)
        except (ssl.SSLError, OSError):
            refused = True
    assert refused, "a TLS 1.2-only client must be refused after min_version = 1.3"
    assert _cert_for(server.imaps_port) == default


def test_bad_certificate_is_an_error_at_start(tmp_path):
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    (tmp_path / "key.pem").write_text("not a key\n")
    (tmp_path / "userdb").write_text("")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[listener]]\nprotocol = "imaps"\naddress = "127.0.0.1:0"\n'
        '[tls]\ncertificate = "cert.pem"\nprivate_key = "key.pem"\n'
        '[auth]\nuserdb = "userdb"\n'
    )
    from conftest import BIN
    r = subprocess.run([BIN, "check-config", "--config", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0 and "cert.pem" in r.stderr, r.stderr
    r = subprocess.run([BIN, "serve", "--config", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "cert.pem" in r.stderr, r.stderr
