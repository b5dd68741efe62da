"""Proxy mode: a Courser front end relaying to three Courser backends on
127.0.0.2, .3 and .4 (same ports), all over one maildir tree and one
userdb, with real clients (imaplib, poplib, raw sockets)."""

import base64
import crypt
import imaplib
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN, ReadyNotice, free_port, serving_ids, stop_process
from test_courier_log import syslog  # noqa: F401 (a fixture)

NODES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
USERS = {f"user{i}": f"pw{i}" for i in range(12)}
USERS.update({"alice": "alice-pw", "bob": "bob-pw", "pinned": "pinned-pw",
              "listed": "listed-pw", "proxy": "proxy-secret"})
# A list of mail hosts (the option repeated); nothing listens on 127.0.0.5.
MAILHOSTS = {"listed": "127.0.0.5,mailhost=127.0.0.4"}
# A source address of its own, so the real client is told from the proxy.
CLIENT_IP = "127.0.0.9"


def wait_for(predicate, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Process:
    """One `courser serve` with its config and log."""

    def __init__(self, root, name, config):
        self.root, self.name = root, name
        self.config = root / f"{name}.toml"
        self.config.write_text(config)
        self.log_path = root / f"{name}.log"
        self.start()

    def start(self):
        self.log = open(self.log_path, "ab")
        ready = ReadyNotice(self.root / self.name)
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", str(self.config)],
            stdout=self.log, stderr=subprocess.STDOUT, env=ready.env())
        ready.wait(self.proc, self.log_path)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        stop_process(self.proc, self.log)

    def text(self):
        return self.log_path.read_text(errors="replace")


class Cluster:
    """Three backends and a proxy front end over one maildir tree."""

    def __init__(self, backend_extra="", proxy_extra="", listener_extra="",
                 tls=None, files=None, mailhost="127.0.0.3", san=True, backend_delay=0):
        """`tls`: None, "implicit" or "starttls" between proxy and nodes;
        `files`: written into the cluster's folder before anything starts;
        in `backend_extra`, @NODE@, @IMAP@ and @POP3@ stand for each node's
        address and the nodes' ports."""
        self.root = Path(tempfile.mkdtemp(prefix="courser-proxy-"))
        for name, text in (files or {}).items():
            (self.root / name).write_text(text)
        (self.root / "proxy").mkdir()
        for n in NODES:
            (self.root / n).mkdir()
        self.as_root = os.getuid() == 0
        uid, gid = self.ids = serving_ids()
        lines = []
        for user, pw in USERS.items():
            maildir = self.root / "home" / user / "Maildir"
            for sub in ("cur", "new", "tmp"):
                (maildir / sub).mkdir(parents=True, exist_ok=True)
            hashed = crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))
            hosts = mailhost if user == "pinned" else MAILHOSTS.get(user)
            options = f"|options=mailhost={hosts}" if hosts else ""
            lines.append(f"{user}\tuid={uid}|gid={gid}|home={maildir.parent}"
                         f"|mail={maildir}|systempw={hashed}{options}\n")
        (self.root / "userdb").write_text("".join(lines))
        (self.root / "userdb").chmod(0o600)
        self.imap_port, self.pop3_port = free_port(), free_port()
        self.imaps_port, self.pop3s_port = free_port(), free_port()
        self.front_imap, self.front_pop3 = free_port(), free_port()
        run_as = '\n[server]\nrun_as = "nobody"\n' if self.as_root else ""
        tls_section = ""
        tls_listeners = ""
        if tls:
            self.make_certificates(san)
            tls_section = '[tls]\ncertificate = "node-cert.pem"\nprivate_key = "node-key.pem"\n'
        self.backends = {}
        for n in NODES:
            if tls:
                tls_listeners = (
                    f'[[listener]]\nprotocol = "imaps"\naddress = "{n}:{self.imaps_port}"\n'
                    f'{listener_extra}\n'
                    f'[[listener]]\nprotocol = "pop3s"\naddress = "{n}:{self.pop3s_port}"\n'
                    f'{listener_extra}\n')
            self.backends[n] = f"""
[[listener]]
protocol = "imap"
address = "{n}:{self.imap_port}"
{listener_extra}
[[listener]]
protocol = "pop3"
address = "{n}:{self.pop3_port}"
{listener_extra}
{tls_listeners}
{tls_section}
[auth]
userdb = "userdb"
failure_delay_secs = {backend_delay}
{backend_extra.replace("@NODE@", n).replace("@IMAP@", str(self.imap_port))
              .replace("@POP3@", str(self.pop3_port))}
{run_as}
"""
        self.front = f"""
[[listener]]
protocol = "imap"
address = "127.0.0.1:{self.front_imap}"

[[listener]]
protocol = "pop3"
address = "127.0.0.1:{self.front_pop3}"

[auth]
userdb = "userdb"
failure_delay_secs = 0

[limits]
trusted_networks = ["127.0.0.0/8"]

[proxy]
enabled = true
backends = {NODES!r}
imap_port = {self.imaps_port if tls == "implicit" else self.imap_port}
pop3_port = {self.pop3s_port if tls == "implicit" else self.pop3_port}
probe_interval_secs = 1
down_after = 1
up_after = 2
{f'tls = "{tls}"{chr(10)}ca_file = "ca.pem"' if tls else ""}
{proxy_extra}
{run_as}
""".replace("'", '"')
        if self.as_root:
            for dirpath, _, filenames in os.walk(self.root):
                os.lchown(dirpath, uid, gid)
                for f in filenames:
                    os.lchown(os.path.join(dirpath, f), uid, gid)
        self.nodes = {n: Process(self.root, n, self.backends[n]) for n in NODES}
        self.proxy = Process(self.root, "proxy", self.front)

    def make_certificates(self, san):
        """A CA, a node certificate it signed for the three addresses (for
        none with `san` false), and a second CA that signed nothing here."""
        r = self.root

        def run(*args):
            subprocess.run(args, check=True, capture_output=True, cwd=r)

        for ca in ("ca", "other-ca"):
            run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem", "-days", "2",
                "-subj", f"/CN=Test {ca}")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node-key.pem",
            "-out", "node.csr", "-subj", "/CN=backend")
        names = ",".join(f"IP:{n}" for n in NODES) if san else "DNS:elsewhere.invalid"
        (r / "san.ext").write_text(f"subjectAltName={names}\n")
        run("openssl", "x509", "-req", "-in", "node.csr", "-CA", "ca.pem",
            "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", "node-cert.pem",
            "-days", "2", "-extfile", "san.ext")

    def restart_proxy(self, config):
        """Starts the proxy again with `config` as its configuration."""
        self.proxy.config.write_text(config)
        self.proxy.stop()
        self.proxy.start()

    def check_both_protocols(self):
        """An IMAP and a POP3 session through the proxy work."""
        imap = self.imap("alice")
        assert imap.select("INBOX")[0] == "OK"
        imap.logout()
        pop = poplib.POP3("127.0.0.1", self.front_pop3, timeout=30)
        pop.user("bob")
        assert pop.pass_(USERS["bob"]).startswith(b"+OK")
        pop.quit()

    def node_of(self, user):
        """The backend the proxy's log says `user`'s last login went to."""
        found = re.findall(r'LOGIN \(proxied\).*', self.proxy.text())
        for line in reversed(found):
            if f'user="{user}"' in line or f"user={user} " in line:
                return re.search(r"backend=(\S+)", line).group(1)
        raise AssertionError(f"no proxied login of {user} in the log")

    def imap(self, user):
        """A logged-in imaplib client through the proxy."""
        c = imaplib.IMAP4("127.0.0.1", self.front_imap, timeout=30)
        c.login(user, USERS[user])
        return c

    def raw(self, source=CLIENT_IP):
        """A raw socket to the proxy's IMAP port from `source`, greeted."""
        s = socket.create_connection(("127.0.0.1", self.front_imap), timeout=30,
                                     source_address=(source, 0))
        greeting = read_line(s)
        assert greeting.startswith(b"* OK"), greeting
        return s

    def deliver(self, user, data):
        maildir = self.root / "home" / user / "Maildir"
        name = f"{time.time():.6f}.P{os.getpid()}R{os.urandom(4).hex()}.test"
        (maildir / "tmp" / name).write_bytes(data)
        os.lchown(maildir / "tmp" / name, *self.ids)
        os.rename(maildir / "tmp" / name, maildir / "new" / name)

    def stop(self):
        for p in [self.proxy, *self.nodes.values()]:
            if p.proc.poll() is None:
                p.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def read_until(s, tag):
    """Lines up to and including the one starting with `tag`."""
    lines = []
    while True:
        line = read_line(s)
        if not line:
            raise AssertionError(f"connection closed before {tag!r}: {lines}")
        lines.append(line)
        if line.startswith(tag):
            return lines


def capability_code(line):
    m = re.search(rb"\[CAPABILITY ([^\]]*)\]", line)
    assert m, line
    return m.group(1).split()


@pytest.fixture
def cluster():
    made = []

    def make(**kw):
        c = Cluster(**kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()


def test_imap_and_pop3_sessions_work_through_the_proxy(cluster):
    c = cluster()
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 3000
    imap = c.imap("alice")
    imap.append("INBOX", None, None, big)
    imap.create("Archive")
    typ, data = imap.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = imap.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == big
    imap.logout()
    pop = poplib.POP3("127.0.0.1", c.front_pop3, timeout=30)
    pop.user("alice")
    welcome = pop.pass_(USERS["alice"])
    assert welcome.startswith(b"+OK Logged in, 1 messages"), welcome
    assert pop.stat()[0] == 1
    relayed = pop.retr(1)[1]
    pop.quit()
    node = c.node_of("alice")
    assert node in NODES
    # What the node itself sends.
    direct = poplib.POP3(node, c.pop3_port, timeout=30)
    direct.user("alice")
    direct.pass_(USERS["alice"])
    assert relayed == direct.retr(1)[1]
    assert len(relayed) == 3002
    direct.quit()


def test_an_upload_while_the_backend_answers_does_not_stall_the_relay(cluster):
    """A client that uploads (APPEND with LITERAL+) while it reads the
    answer to a big FETCH it sent first: the backend reads no input until
    its answer is out, so a relay that waits to write the upload before
    it reads the answer would stall both sides (until the 300 s write
    timeout). Each direction is copied on its own."""
    c = cluster()
    # Bigger than what the sockets between them buffer (loopback's
    # grow to a few MB).
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 24000
    imap = c.imap("alice")
    imap.append("INBOX", None, None, big)
    imap.logout()
    s = socket.create_connection(("127.0.0.1", c.front_imap), timeout=60)
    read_line(s)
    s.sendall(f"a LOGIN alice {USERS['alice']}\r\n".encode())
    read_until(s, b"a ")
    s.sendall(b"b SELECT INBOX\r\n")
    read_until(s, b"b ")
    upload = b"Subject: up\r\n\r\n" + (b"y" * 998 + b"\r\n") * 24000
    writer = threading.Thread(target=s.sendall, args=(
        b"c FETCH 1 BODY.PEEK[]\r\n"
        + b"d APPEND INBOX {%d+}\r\n" % len(upload) + upload + b"\r\n",))
    writer.start()
    answer = b""
    while b"\r\nd " not in answer:
        chunk = s.recv(1 << 16)
        assert chunk, answer[-300:]
        answer += chunk
    writer.join(60)
    assert b"\r\nc OK" in answer and b"\r\nd OK" in answer, answer[-300:]
    s.sendall(b"e LOGOUT\r\n")
    s.close()


def test_post_login_capabilities_are_the_backends(cluster):
    c = cluster()
    s = c.raw()
    s.sendall(b"a CAPABILITY\r\n")
    before = b"".join(read_until(s, b"a "))
    s.sendall(b"b LOGIN alice alice-pw\r\n")
    answer = read_until(s, b"b ")[-1]
    assert answer.startswith(b"b OK"), answer
    relayed = capability_code(answer)
    # Straight to the node it went to.
    node = c.node_of("alice")
    d = socket.create_connection((node, c.imap_port), timeout=30)
    read_line(d)
    d.sendall(b"b LOGIN alice alice-pw\r\n")
    direct = capability_code(read_until(d, b"b ")[-1])
    assert relayed == direct
    assert b"AUTH=PLAIN" in before and b"AUTH=PLAIN" not in relayed
    # The session is the backend's: a command only a logged-in IMAP
    # session answers works.
    s.sendall(b"c SELECT INBOX\r\n")
    assert read_until(s, b"c ")[-1].startswith(b"c OK")
    s.sendall(b"d LOGOUT\r\n")
    assert read_until(s, b"d ")[-1].startswith(b"d OK")
    # An orderly end: nothing of the proxy's own after the backend's.
    assert read_line(s) == b""
    assert "dropped the session" not in c.proxy.text()
    d.close()


def test_idle_through_the_proxy_sees_a_delivery(cluster):
    c = cluster()
    s = c.raw()
    s.sendall(b"a LOGIN bob bob-pw\r\nb SELECT INBOX\r\n")
    read_until(s, b"b ")
    s.sendall(b"c IDLE\r\n")
    assert read_line(s).startswith(b"+ ")
    c.deliver("bob", b"Subject: hi\r\n\r\nhello\r\n")
    while True:
        line = read_line(s)
        assert line, "closed in IDLE"
        if b"EXISTS" in line:
            assert line == b"* 1 EXISTS\r\n"
            break
    s.sendall(b"DONE\r\n")
    assert read_until(s, b"c ")[-1].startswith(b"c OK")


def test_mailhost_routes_and_hashing_spreads_stably(cluster):
    c = cluster()
    c.imap("pinned").logout()
    assert c.node_of("pinned") == "127.0.0.3"
    # A list is tried in order, as Courier's proxy tries its hosts.
    c.imap("listed").logout()
    assert c.node_of("listed") == "127.0.0.4"
    placed = {}
    for user in [u for u in USERS if u.startswith("user")]:
        c.imap(user).logout()
        placed[user] = c.node_of(user)
    assert len(set(placed.values())) >= 2, placed
    # The same logins land where they did.
    for user, node in placed.items():
        c.imap(user).logout()
        assert c.node_of(user) == node


def test_master_user_login_and_refusal_of_other_authzids(cluster):
    c = cluster(backend_extra='master_users = ["proxy"]',
                proxy_extra='login = "master"\nmaster_user = "proxy"\n'
                            'master_password_file = "master.secret"\n',
                files={"master.secret": "proxy-secret\n"})
    imap = c.imap("alice")
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    node = c.node_of("alice")
    assert re.search(r'master user logs in as an account master="proxy" user="alice"',
                     c.nodes[node].text())
    # On a backend directly: someone who is not a master user may not name
    # another account, even with the right password.
    d = socket.create_connection((node, c.imap_port), timeout=30)
    read_line(d)
    plain = base64.b64encode(b"alice\0bob\0bob-pw")
    d.sendall(b"a AUTHENTICATE PLAIN " + plain + b"\r\n")
    answer = read_until(d, b"a ")[-1]
    assert answer.startswith(b"a NO"), answer
    assert re.search(r'not a master user named another account login="bob" account="alice"', c.nodes[node].text())
    # A master user with a wrong password gets nowhere either.
    bad = base64.b64encode(b"alice\0proxy\0wrong")
    d.sendall(b"b AUTHENTICATE PLAIN " + bad + b"\r\n")
    assert read_until(d, b"b ")[-1].startswith(b"b NO")
    d.close()


def test_proxy_v2_gives_the_backend_the_real_client(cluster):
    c = cluster(listener_extra='proxy_protocol = true\nproxy_protocol_from = ["127.0.0.0/8"]',
                proxy_extra="send_proxy_protocol = true\nsend_id = false")
    s = c.raw(source=CLIENT_IP)
    s.sendall(b"a LOGIN alice alice-pw\r\n")
    assert read_until(s, b"a ")[-1].startswith(b"a OK")
    s.sendall(b"b LOGOUT\r\n")
    read_until(s, b"b ")
    node = c.node_of("alice")
    logins = [l for l in c.nodes[node].text().splitlines() if "LOGIN" in l and "alice" in l]
    assert logins and f"ip={CLIENT_IP}" in logins[-1], logins
    # The health probes' LOCAL headers are accepted: the nodes stay up.
    assert "out of the ring" not in c.proxy.text()


def test_id_and_xclient_count_only_from_trusted_proxies(cluster):
    c = cluster(backend_extra='\n[proxy]\ntrusted_proxies = ["127.0.0.0/29"]\n')
    s = c.raw(source=CLIENT_IP)
    s.sendall(b"a LOGIN alice alice-pw\r\n")
    assert read_until(s, b"a ")[-1].startswith(b"a OK")
    node = c.node_of("alice")
    text = c.nodes[node].text()
    assert "client address from the proxy's ID" in text
    logins = [l for l in text.splitlines() if "LOGIN" in l and "alice" in l]
    assert f"ip={CLIENT_IP}" in logins[-1], logins
    session = re.search(r"session=(\S+)", [l for l in c.proxy.text().splitlines()
                                           if "LOGIN (proxied)" in l][-1]).group(1)
    assert session in text
    # POP3: the same by XCLIENT.
    p = socket.create_connection(("127.0.0.1", c.front_pop3), timeout=30,
                                 source_address=(CLIENT_IP, 0))
    read_line(p)
    p.sendall(b"USER bob\r\nPASS bob-pw\r\n")
    read_line(p)
    assert read_line(p).startswith(b"+OK Logged in")
    bob = c.node_of("bob")
    pop_logins = [l for l in c.nodes[bob].text().splitlines()
                  if "LOGIN" in l and "bob" in l and "POP3" in l]
    assert f"ip={CLIENT_IP}" in pop_logins[-1], pop_logins
    p.close()
    # A client claiming an address itself, from outside the trusted range.
    d = socket.create_connection((node, c.imap_port), timeout=30,
                                 source_address=(CLIENT_IP, 0))
    read_line(d)
    d.sendall(b'a ID ("x-originating-ip" "192.0.2.66")\r\nb LOGIN bob bob-pw\r\n')
    assert read_until(d, b"b ")[-1].startswith(b"b OK")
    text = c.nodes[node].text()
    assert "not in [proxy] trusted_proxies: ignored" in text
    assert "192.0.2.66" not in [l for l in text.splitlines() if "LOGIN" in l and "bob" in l][-1]
    d.close()
    # POP3 from outside: no [XCLIENT] offered, and the command is unknown.
    d = socket.create_connection((node, c.pop3_port), timeout=30,
                                 source_address=(CLIENT_IP, 0))
    assert b"[XCLIENT]" not in read_line(d)
    d.sendall(b"XCLIENT ADDR=192.0.2.66\r\n")
    assert read_line(d).startswith(b"-ERR")
    d.close()


def test_tls_to_backends_is_verified(cluster):
    c = cluster(tls="implicit")
    c.check_both_protocols()
    # A proxy that trusts another CA refuses every backend.
    c.restart_proxy(c.proxy.config.read_text().replace('ca_file = "ca.pem"',
                                                       'ca_file = "other-ca.pem"'))
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        c.imap("alice")
    assert re.search(r"(?i)certificate|UnknownIssuer", c.proxy.text())


def test_verify_hostname_can_be_turned_off_but_the_chain_still_counts(cluster):
    c = cluster(tls="implicit", san=False)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        c.imap("alice")
    assert re.search(r"(?i)NotValidForName|not valid for", c.proxy.text())
    config = c.proxy.config.read_text().replace(
        'ca_file = "ca.pem"', 'ca_file = "ca.pem"\nverify_hostname = false')
    c.restart_proxy(config)
    c.imap("alice").logout()
    # The wrong CA is refused with or without names.
    c.restart_proxy(config.replace('"ca.pem"', '"other-ca.pem"'))
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        c.imap("alice")


def test_starttls_to_backends(cluster):
    c = cluster(tls="starttls")
    c.check_both_protocols()


def test_a_killed_backend_ends_its_sessions_and_its_accounts_move_and_return(cluster):
    c = cluster()
    s = c.raw()
    s.sendall(b"a LOGIN alice alice-pw\r\nb SELECT INBOX\r\n")
    read_until(s, b"b ")
    node = c.node_of("alice")
    pop = poplib.POP3("127.0.0.1", c.front_pop3, timeout=30)
    pop.user("alice")
    pop.pass_(USERS["alice"])
    c.nodes[node].kill9()
    # The IMAP session hears BYE, the POP3 one -ERR.
    bye = read_line(s)
    assert bye.startswith(b"* BYE [UNAVAILABLE]"), bye
    assert read_line(s) == b""
    with pytest.raises(poplib.error_proto, match="SYS/TEMP"):
        pop.stat()
    # The next login lands on another node.
    imap = c.imap("alice")
    assert imap.select("INBOX")[0] == "OK"
    moved = c.node_of("alice")
    assert moved != node
    imap.logout()
    # Back: after its good probes its accounts return.
    c.nodes[node].start()

    def back():
        return any("back in the ring" in l and node in l
                   for l in c.proxy.text().splitlines())
    wait_for(back, "the node back in the ring")
    c.imap("alice").logout()
    assert c.node_of("alice") == node


def test_a_pinned_account_whose_host_is_down_is_refused_for_now(cluster):
    c = cluster()
    c.nodes["127.0.0.3"].kill9()
    with pytest.raises(imaplib.IMAP4.error, match=r"UNAVAILABLE.*unavailable"):
        c.imap("pinned")
    pop = poplib.POP3("127.0.0.1", c.front_pop3, timeout=30)
    pop.user("pinned")
    with pytest.raises(poplib.error_proto, match="SYS/TEMP"):
        pop.pass_(USERS["pinned"])
    # Others still get in.
    c.imap("alice").logout()


def test_bad_input_before_login_gets_the_usual_answers(cluster):
    c = cluster()
    s = c.raw()
    for line, answer in [
        (b"a BOGUS\r\n", b"a BAD"),
        (b"b LOGIN alice\r\n", b"b BAD"),
        (b"c SELECT INBOX\r\n", b"c BAD"),
        (b"d LOGIN alice wrong\r\n", b"d NO [AUTHENTICATIONFAILED]"),
    ]:
        s.sendall(line)
        got = read_until(s, line.split()[0] + b" ")[-1]
        assert got.startswith(answer), (line, got)
    # Nothing reached a backend.
    for node in c.nodes.values():
        assert "LOGIN" not in node.text()
    s.sendall(b"e LOGIN alice alice-pw\r\n")
    assert read_until(s, b"e ")[-1].startswith(b"e OK")


def test_check_config_prints_and_validates_the_proxy_section(tmp_path):
    (tmp_path / "userdb").write_text("")
    base = ('[[listener]]\nprotocol = "imap"\naddress = "127.0.0.1:1143"\n'
            '[auth]\nuserdb = "userdb"\n[proxy]\nenabled = true\n'
            'backends = ["10.0.0.1", "10.0.0.2"]\n')
    good = tmp_path / "good.toml"
    good.write_text(base)
    out = subprocess.run([BIN, "check-config", "--config", str(good)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "[proxy]" in out.stdout and 'backends = [' in out.stdout
    assert "virtual_nodes = 160" in out.stdout and 'login = "client"' in out.stdout
    for extra, why in [
        ('tls = "implicit"\n', "ca_file"),
        ('login = "master"\n', "master_user"),
        ("virtual_nodes = 0\n", "virtual_nodes"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(base + extra)
        out = subprocess.run([BIN, "check-config", "--config", str(bad)],
                             capture_output=True, text=True)
        assert out.returncode != 0 and why in out.stdout + out.stderr, (extra, out)
    bad.write_text(base.replace('"10.0.0.2"', '"10.0.0.2:143"'))
    out = subprocess.run([BIN, "check-config", "--config", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "imap_port" in out.stdout + out.stderr


def test_metrics_count_sessions_per_backend(cluster):
    port = free_port()
    c = cluster(proxy_extra=f'\n[metrics]\naddress = "127.0.0.1:{port}"\n')
    c.imap("alice").logout()
    c.imap("alice").logout()
    node = c.node_of("alice")
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert re.search(
        r'courser_proxy_sessions_total\{[^}]*backend="%s"[^}]*\} 2' % re.escape(node), text), text
    for n in NODES:
        wait_for(lambda: f'courser_proxy_backend_up{{backend="{n}"}} 1' in urllib.request.urlopen(
            f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode(), f"{n} up")

    # A login the front end let in counts as one once its backend took it:
    # the pinned account's host down, it is a temporary failure, not ok.
    def logins(result):
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        m = re.search(r'courser_logins_total\{[^}]*protocol="imap"[^}]*result="%s"[^}]*\} (\d+)'
                      % result, text)
        return int(m.group(1)) if m else 0
    before = (logins("ok"), logins("temporary_failure"))
    c.nodes["127.0.0.3"].kill9()
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        c.imap("pinned")
    assert (logins("ok"), logins("temporary_failure")) == (before[0], before[1] + 1)


def test_pop3_bad_input_before_login_gets_the_usual_answers(cluster):
    c = cluster()
    s = socket.create_connection(("127.0.0.1", c.front_pop3), timeout=30)
    assert read_line(s).startswith(b"+OK")
    for line in [b"BOGUS\r\n", b"PASS x\r\n", b"STAT\r\n", b"USER\r\n"]:
        s.sendall(line)
        got = read_line(s)
        assert got.startswith(b"-ERR"), (line, got)
    s.sendall(b"USER alice\r\nPASS wrong\r\n")
    read_line(s)
    assert read_line(s).startswith(b"-ERR [AUTH]")
    for node in c.nodes.values():
        assert "LOGIN" not in node.text()
    s.sendall(b"USER alice\r\nPASS alice-pw\r\nQUIT\r\n")
    read_line(s)
    assert read_line(s).startswith(b"+OK Logged in")
    assert read_line(s).startswith(b"+OK")
    s.close()


def test_a_backend_that_refuses_the_login_leaves_the_client_free_to_retry(cluster):
    # The proxy logs in as a master user the nodes do not know, and the
    # nodes take longer to refuse (their failure delay) than the proxy
    # gives a node to greet: a slow refusal is no sign of a dead node.
    c = cluster(proxy_extra='login = "master"\nmaster_user = "proxy"\n'
                            'master_password_file = "master.secret"\n'
                            'connect_timeout_secs = 1\n',
                files={"master.secret": "proxy-secret\n"}, backend_delay=2)
    s = c.raw()
    s.sendall(b"a LOGIN alice alice-pw\r\n")
    answer = read_until(s, b"a ")[-1]
    assert answer.startswith(b"a NO [UNAVAILABLE]"), answer
    # The connection stays usable, and no node left the ring for it.
    s.sendall(b"b NOOP\r\n")
    assert read_until(s, b"b ")[-1].startswith(b"b OK")
    assert "refused the login" in c.proxy.text()
    assert "out of the ring" not in c.proxy.text()


def test_sighup_takes_a_node_out_of_the_pool_and_only_its_accounts_move(cluster):
    c = cluster()
    users = [u for u in USERS if u.startswith("user")]
    placed = {}
    for user in users:
        c.imap(user).logout()
        placed[user] = c.node_of(user)
    gone = placed[users[0]]
    config = c.proxy.config.read_text()
    pool = re.search(r"backends = (\[.*\])", config).group(1)
    kept = [n for n in NODES if n != gone]
    c.proxy.config.write_text(config.replace(pool, str(kept).replace("'", '"')))
    c.proxy.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in c.proxy.text(), "the reload")
    for user in users:
        c.imap(user).logout()
        if placed[user] == gone:
            assert c.node_of(user) in kept
        else:
            assert c.node_of(user) == placed[user], user


@pytest.mark.parametrize("method", ["client", "master"])
def test_smap_through_the_proxy(cluster, method):
    smap = "\n[imap]\nsmap = true\n"
    master = ('login = "master"\nmaster_user = "proxy"\n'
              'master_password_file = "master.secret"\n')
    c = cluster(backend_extra='master_users = ["proxy"]' + smap,
                proxy_extra=(master if method == "master" else "") + smap,
                files={"master.secret": "proxy-secret\n"})
    s = socket.create_connection(("127.0.0.1", c.front_imap), timeout=30)
    f = s.makefile("rb")
    assert b" SMAP1" in f.readline()
    s.sendall(b'\\SMAP1 LOGIN alice "wrong"\r\n')
    assert f.readline().startswith(b"-ERR ")
    s.sendall(b'\\SMAP1 LOGIN alice "alice-pw"\r\n')
    assert f.readline() == b"+OK SMAP1 LOGIN Ok.\n"
    s.sendall(b"LIST\n")
    lines = [f.readline() for _ in range(4)]
    assert lines[0] == b'* LIST "INBOX" "New Mail" FOLDER\n' and lines[3] == b"+OK LIST completed\n"
    s.sendall(b"OPEN INBOX\n")
    assert f.readline() == b"* EXISTS 0\n" and f.readline() == b"+OK Folder opened\n"
    s.sendall(b"LOGOUT\n")
    assert f.readline() == b"* BYE Courier-SMAP server shutting down\n"
    assert f.readline() == b"+OK LOGOUT completed\n"
    assert f.readline() == b""
    node = c.node_of("alice")
    assert 'protocol="SMAP1"' in c.nodes[node].text()


def test_the_proxy_logs_courier_s_login_line_of_a_relayed_session(cluster, syslog):
    """As Courier's imaplogin and pop3login in proxy mode: the proxy logs
    the LOGIN line, in Courier's words, of each session it relays (the
    backend logs the session's own LOGIN and LOGOUT)."""
    c = cluster(proxy_extra=syslog.config())
    imap = c.imap("alice")
    imap.noop()
    imap.logout()
    pop = poplib.POP3("127.0.0.1", c.front_pop3, timeout=30)
    pop.user("bob")
    pop.pass_(USERS["bob"])
    pop.quit()
    bad = imaplib.IMAP4("127.0.0.1", c.front_imap, timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        bad.login("alice", "wrong")
    bad.logout()
    ip = r"ip=\[::ffff:127\.0\.0\.1\], port=\[\d+\]"
    syslog.wait_for(
        rf"imapd: LOGIN, user=alice, {ip}, protocol=IMAP",
        rf"pop3d: LOGIN, user=bob, {ip}",
        rf"imapd: LOGIN FAILED, user=alice, {ip}",
    )
    # The proxy serves no mail: no LOGOUT line of its own.
    assert not syslog.matching(r"(imapd|pop3d): LOGOUT, user=.*")


def logins_served(node, user):
    """How many logins of `user` the node served itself, and how many it
    relayed (its log's LOGIN and LOGIN (proxied) lines)."""
    text = node.text()
    return (len(re.findall(rf'\bLOGIN user="?{user}"? ', text)),
            len(re.findall(rf'LOGIN \(proxied\) user="?{user}"? ', text)))


def test_every_node_a_proxy_serves_its_own_accounts_as_courier_s_mixed_model(cluster):
    """Courier's IMAP_PROXY on every server of a site, with one config: a
    server serves the accounts whose `mailhost` names it (PROXY_HOSTNAME,
    here `local_names`) and those without one (no pool), and relays the
    others; a list is tried in order up to this server's own name."""
    extra = ('\n[proxy]\nenabled = true\nimap_port = @IMAP@\npop3_port = @POP3@\n'
             'local_names = ["@NODE@"]\nprobe_interval_secs = 1\n')
    # pinned: nothing listens on .5, then node .2.
    c = cluster(backend_extra=extra, mailhost="127.0.0.5,mailhost=127.0.0.2")
    two, three, four = (c.nodes[n] for n in NODES)

    def login(node, user):
        imap = imaplib.IMAP4(node, c.imap_port, timeout=30)
        imap.login(user, USERS[user])
        typ, _ = imap.select("INBOX")
        assert typ == "OK"
        imap.logout()

    login("127.0.0.2", "alice")  # no mailhost, no pool: here
    assert logins_served(two, "alice") == (1, 0)
    login("127.0.0.2", "listed")  # .5 is down, then .4
    assert logins_served(two, "listed") == (0, 1)
    assert logins_served(four, "listed") == (1, 0)
    login("127.0.0.2", "pinned")  # .5 is down, then its own name: here
    assert logins_served(two, "pinned") == (1, 0)
    login("127.0.0.3", "pinned")  # .5 is down, then .2 serves it
    assert logins_served(three, "pinned") == (0, 1)
    assert logins_served(two, "pinned") == (2, 0)
    pop = poplib.POP3("127.0.0.3", c.pop3_port, timeout=30)
    pop.user("listed")
    pop.pass_(USERS["listed"])
    pop.quit()
    assert logins_served(four, "listed")[0] == 2

