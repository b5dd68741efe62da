"""SCRAM-SHA-1/256 and SASL EXTERNAL end to end, over IMAP and POP3.

SCRAM: secrets made with `courser pw --scheme scram-sha-*` and stored in
the userdb fields `scram-sha-256pw` / `scram-sha-1pw`; the client (in
sasl_client.py, written from RFC 5802) checks the server's signature.
Unknown users go through the whole exchange and fail at the end.

EXTERNAL: a CA and client certificates made here with the openssl CLI;
`[tls] client_ca` makes the server ask for them."""

import imaplib
import os
import poplib
import signal
import ssl
import subprocess
import time

import pytest

from conftest import BIN, USERS
from sasl_client import Scram, b64, pop3_auth, pop3_scram


def scram_secret(mechanism, password):
    """`courser pw --scheme scram-sha-256` (reads the password on stdin)."""
    out = subprocess.run([BIN, "pw", "--scheme", mechanism.lower()], input=password + "\n",
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith(mechanism + "$4096:"), out
    return out


def add_fields(server, user, fields):
    """Appends fields to `user`'s userdb line (the server re-reads it)."""
    path = server.root / "userdb"
    lines = path.read_text().splitlines()
    lines = [l + "|" + "|".join(fields) if l.startswith(user + "\t") else l for l in lines]
    path.write_text("\n".join(lines) + "\n")
    time.sleep(0.05)


def add_account(server, name, like="alice"):
    """A userdb account `name` with `like`'s home, uid and password."""
    path = server.root / "userdb"
    line = next(l for l in path.read_text().splitlines() if l.startswith(like + "\t"))
    with path.open("a") as f:
        f.write(name + "\t" + line.split("\t", 1)[1] + "\n")


def imap_scram(server, mechanism, user, password):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    scram = Scram(mechanism, user, password)
    try:
        c.authenticate(mechanism, scram.callback())
        c.select("INBOX")
        c.logout()
        return "OK", scram
    except imaplib.IMAP4.error as e:
        return str(e), scram


def imap_caps(port, ctx=None):
    if ctx:
        c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30)
    else:
        c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    caps = c.capabilities
    c.logout()
    return caps


def pop3_sasl_line(server):
    c = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    line = next((l.decode() for l in c.capa_lines() if l.startswith(b"SASL")), "") \
        if hasattr(c, "capa_lines") else " ".join(["SASL"] + c.capa().get("SASL", []))
    c.quit()
    return line


def test_scram_logins_over_imap_and_pop3(make_server):
    server = make_server()
    # Nothing can serve SCRAM yet: not offered.
    assert not any(c.startswith("AUTH=SCRAM") for c in imap_caps(server.imap_port))
    assert "SCRAM" not in pop3_sasl_line(server)
    add_fields(server, "alice", [f"scram-sha-256pw={scram_secret('SCRAM-SHA-256', USERS['alice'])}",
                                 f"scram-sha-1pw={scram_secret('SCRAM-SHA-1', USERS['alice'])}"])
    add_fields(server, "bob", [f"scram-sha-256pw={scram_secret('SCRAM-SHA-256', USERS['bob'])}"])
    caps = imap_caps(server.imap_port)
    assert "AUTH=SCRAM-SHA-256" in caps and "AUTH=SCRAM-SHA-1" in caps, caps
    assert "SASL SCRAM-SHA-256 SCRAM-SHA-1 " in pop3_sasl_line(server)

    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        r, scram = imap_scram(server, mech, "alice", USERS["alice"])
        assert r == "OK", mech + ": " + r + server.log_text()[-2000:]
        c = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
        assert pop3_scram(c, mech, "alice", USERS["alice"]).startswith(b"+OK")
        assert c.stat()[0] == 0
        c.quit()
    assert imap_scram(server, "SCRAM-SHA-256", "bob", USERS["bob"])[0] == "OK"
    # bob has no SCRAM-SHA-1 secret: refused after the exchange.
    r, scram = imap_scram(server, "SCRAM-SHA-1", "bob", USERS["bob"])
    assert "AUTHENTICATIONFAILED" in r and scram.server_signature, r

    # Wrong password: the server never sends its signature.
    r, scram = imap_scram(server, "SCRAM-SHA-256", "alice", "wrong")
    assert "AUTHENTICATIONFAILED" in r, r
    c = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        pop3_scram(c, "SCRAM-SHA-256", "alice", "wrong")
    c.quit()

    # An unknown user gets a salt, stable from one try to the next like a
    # real account's, and fails after the proof.
    r1, s1 = imap_scram(server, "SCRAM-SHA-256", "nosuchuser", "pw")
    r2, s2 = imap_scram(server, "SCRAM-SHA-256", "nosuchuser", "pw")
    assert "AUTHENTICATIONFAILED" in r1 and "AUTHENTICATIONFAILED" in r2, r1
    assert s1.server_first and s1.salt() == s2.salt()
    _, known1 = imap_scram(server, "SCRAM-SHA-256", "alice", "wrong")
    _, known2 = imap_scram(server, "SCRAM-SHA-256", "alice", "wrong")
    assert known1.salt() == known2.salt()
    log = server.log_text()
    assert "LOGIN FAILED" in log and "nosuchuser" in log
    assert "wrong" not in log

    # Cancelling the exchange is BAD; garbage is BAD.
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        c.authenticate("SCRAM-SHA-256", lambda _: None)
    with pytest.raises(imaplib.IMAP4.error):
        c.authenticate("SCRAM-SHA-256", lambda _: b"n,,n=alice")
    c.logout()


def test_scram_respects_disabled_services(make_server):
    server = make_server()
    add_fields(server, "bob", [f"scram-sha-256pw={scram_secret('SCRAM-SHA-256', USERS['bob'])}",
                               "options=disablepop3=1"])
    assert imap_scram(server, "SCRAM-SHA-256", "bob", USERS["bob"])[0] == "OK"
    c = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    with pytest.raises(poplib.error_proto, match="disabled"):
        pop3_scram(c, "SCRAM-SHA-256", "bob", USERS["bob"])
    c.quit()


# ---------------------------------------------------------------- EXTERNAL

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_client_cert(d, name, subject, ca="ca", email=None):
    ext = d / f"{name}.ext"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\n"
                   + (f"subjectAltName=email:{email}\n" if email else ""))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", subject, cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name, cwd=d)


def client_ctx(d, name=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if name:
        ctx.load_cert_chain(str(d / f"{name}.pem"), str(d / f"{name}.key"))
    return ctx


@pytest.fixture
def certs(tmp_path):
    make_ca(tmp_path, "ca")
    make_ca(tmp_path, "other")
    make_client_cert(tmp_path, "alice", "/CN=alice")
    make_client_cert(tmp_path, "carol", "/CN=Carol Example", email="carol@example.org")
    make_client_cert(tmp_path, "nobody", "/CN=nosuchuser")
    make_client_cert(tmp_path, "rogue", "/CN=alice", ca="other")
    return tmp_path


def with_client_ca(make_server, certs, extra=""):
    """A server whose [tls] table names the test CA."""
    return make_server(tls_extra=f'client_ca = "{certs / "ca.pem"}"\n{extra}')


def imaps(server, ctx):
    return imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=ctx, timeout=30)


def test_external_over_imaps_pop3s_and_starttls(make_server, certs):
    server = with_client_ca(make_server, certs)
    add_account(server, "carol@example.org")

    # IMAPS with alice's certificate (CN).
    c = imaps(server, client_ctx(certs, "alice"))
    assert "AUTH=EXTERNAL" in c.capabilities, c.capabilities
    typ, _ = c.authenticate("EXTERNAL", lambda _: b"")
    assert typ == "OK"
    c.select("INBOX")
    c.logout()
    # The e-mail address in subjectAltName wins over the CN.
    c = imaps(server, client_ctx(certs, "carol"))
    assert c.authenticate("EXTERNAL", lambda _: b"carol@example.org")[0] == "OK"
    c.logout()

    # IMAP STARTTLS.
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    assert "AUTH=EXTERNAL" not in c.capabilities
    c.starttls(ssl_context=client_ctx(certs, "alice"))
    assert "AUTH=EXTERNAL" in c.capabilities, c.capabilities
    assert c.authenticate("EXTERNAL", lambda _: b"")[0] == "OK"
    c.logout()

    # POP3S and POP3 STLS.
    c = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=client_ctx(certs, "alice"),
                        timeout=30)
    assert "EXTERNAL" in c.capa()["SASL"]
    assert pop3_auth(c, "EXTERNAL", lambda _: b"", initial=b"").startswith(b"+OK")
    assert c.stat()[0] == 0
    c.quit()
    c = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    c.stls(context=client_ctx(certs, "carol"))
    assert "EXTERNAL" in c.capa()["SASL"]
    assert pop3_auth(c, "EXTERNAL", lambda _: b"").startswith(b"+OK")
    c.quit()
    assert "LOGIN" in server.log_text() and "carol@example.org" in server.log_text()


def test_external_refusals(make_server, certs):
    server = with_client_ca(make_server, certs)
    # Without a certificate: no EXTERNAL, passwords still work.
    c = imaps(server, client_ctx(certs))
    assert "AUTH=EXTERNAL" not in c.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        c.authenticate("EXTERNAL", lambda _: b"")
    c.login("alice", USERS["alice"])
    c.logout()
    c = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=client_ctx(certs), timeout=30)
    assert "EXTERNAL" not in c.capa()["SASL"]
    with pytest.raises(poplib.error_proto):
        pop3_auth(c, "EXTERNAL", lambda _: b"", initial=b"")
    c.quit()

    # A certificate from another CA fails the handshake.
    for port in (server.imaps_port, server.pop3s_port):
        with pytest.raises((ssl.SSLError, OSError, EOFError, imaplib.IMAP4.abort,
                            poplib.error_proto)):
            if port == server.imaps_port:
                c = imaps(server, client_ctx(certs, "rogue"))
                c.capability()
            else:
                c = poplib.POP3_SSL("127.0.0.1", port, context=client_ctx(certs, "rogue"),
                                    timeout=30)
                c.capa()

    # Another account as authorisation identity: refused.
    c = imaps(server, client_ctx(certs, "alice"))
    with pytest.raises(imaplib.IMAP4.error):
        c.authenticate("EXTERNAL", lambda _: b"bob")
    # A certificate naming no account: refused like a wrong password.
    c2 = imaps(server, client_ctx(certs, "nobody"))
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        c2.authenticate("EXTERNAL", lambda _: b"")
    c2.logout()
    # EXTERNAL honours disabled services.
    add_fields(server, "alice", ["options=disableimap=1"])
    with pytest.raises(imaplib.IMAP4.error, match="CONTACTADMIN"):
        c.authenticate("EXTERNAL", lambda _: b"")
    c.logout()
    assert "LOGIN FAILED" in server.log_text()


def test_no_client_ca_no_external(make_server, certs):
    server = make_server()
    c = imaps(server, client_ctx(certs, "alice"))
    assert "AUTH=EXTERNAL" not in c.capabilities
    c.logout()


def test_bad_client_ca_is_an_error_and_sighup_keeps_the_old_one(make_server, certs):
    server = with_client_ca(make_server, certs)
    bad = server.root / "broken.toml"
    bad.write_text(server.config.read_text().replace(str(certs / "ca.pem"),
                                                     str(certs / "no-such-ca.pem")))
    r = subprocess.run([BIN, "check-config", "--config", str(bad)], capture_output=True, text=True)
    assert r.returncode != 0 and "no-such-ca.pem" in r.stderr, r.stderr
    (certs / "ca.pem").write_text("garbage\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    time.sleep(0.5)
    c = imaps(server, client_ctx(certs, "alice"))
    assert c.authenticate("EXTERNAL", lambda _: b"")[0] == "OK"
    c.logout()
    assert server.proc.poll() is None


def test_curl_logs_in_with_external_and_a_client_certificate(make_server, certs):
    """A real client: curl's IMAP and POP3 over TLS with `AUTH=EXTERNAL`
    and a client certificate."""
    server = with_client_ca(make_server, certs)
    server.deliver(b"From: a@example.org\r\nSubject: for curl\r\n\r\nhello\r\n")
    cert = ["--cert", str(certs / "alice.pem"), "--key", str(certs / "alice.key"), "-k",
            "--login-options", "AUTH=EXTERNAL", "--max-time", "30"]
    out = subprocess.run(["curl", "-sS", *cert, "--request", "EXAMINE INBOX",
                          f"imaps://alice@127.0.0.1:{server.imaps_port}/"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + server.log_text()[-2000:]
    assert "1 EXISTS" in out.stdout, out.stdout
    out = subprocess.run(["curl", "-sS", *cert, f"pop3s://alice@127.0.0.1:{server.pop3s_port}/1"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + server.log_text()[-2000:]
    assert "Subject: for curl" in out.stdout, out.stdout
    # Without the certificate curl cannot use EXTERNAL.
    out = subprocess.run(["curl", "-sS", "-k", "--login-options", "AUTH=EXTERNAL",
                          "--max-time", "30", "--request", "EXAMINE INBOX",
                          f"imaps://alice@127.0.0.1:{server.imaps_port}/"],
                         capture_output=True, text=True)
    assert out.returncode != 0
