"""End-to-end fixtures: a real `courser serve` on loopback with a userdb,
maildirs and a self-signed certificate made for the test."""

import crypt
import imaplib
import os
import poplib
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import recording

BIN = os.environ.get("COURSER_BIN") or str(
    Path(__file__).resolve().parents[2] / "target" / "debug" / "courser"
)

USERS = {"alice": "alice-pw", "bob": "bob-pw"}
# Per-user mode as root: alice's uid and gid; bob's is the next.
PER_USER_FIRST_UID = 41001


_GIVEN_PORTS = set()
# Below Linux's ephemeral range (32768-60999 by default): a port taken
# from there can be claimed by some client's outgoing connection between
# the check here and the server's bind.
_PORT_RANGE = (20000, 32000)
_PORTS = random.Random()


def serving_ids():
    """The uid and gid test mail belongs to: nobody's as root (the server
    refuses to serve sessions as root and serves as nobody, as vmail would
    in production), else our own."""
    if os.getuid() == 0:
        import pwd
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid
    return os.getuid(), os.getgid()


def free_port():
    """A loopback port nothing is bound to now, outside the ephemeral
    range, never the same twice in one test run."""
    while True:
        port = _PORTS.randrange(*_PORT_RANGE)
        if port in _GIVEN_PORTS:
            continue
        _GIVEN_PORTS.add(port)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def insecure_tls():
    """A client TLS context that accepts the tests' self-signed
    certificates."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def stop_process(proc, log):
    """Terminates a server process (killed if it does not end within
    10 s) and closes its log."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    log.close()


class ReadyNotice:
    """A systemd-style NOTIFY_SOCKET: `courser serve` sends READY=1 once
    every listener (and the metrics endpoint) accepts, which an open
    IMAP port alone does not prove."""

    def __init__(self, directory):
        self.path = str(Path(directory) / "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)  # left by an earlier start
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)  # the server may already be nobody

    def env(self):
        return dict(os.environ, NOTIFY_SOCKET=self.path)

    def wait(self, proc, log_path, timeout=30):
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                if proc.poll() is not None:
                    break
                self.sock.settimeout(0.1)
                try:
                    message = self.sock.recv(4096)
                except socket.timeout:
                    continue
                if b"READY=1" in message.split(b"\n"):
                    return
        finally:
            self.sock.close()
        tail = Path(log_path).read_text(errors="replace")[-3000:]
        state = ("exited with %s" % proc.returncode if proc.poll() is not None
                 else "never said READY=1")
        raise RuntimeError(f"courser {state}; its log ends:\n{tail}")


class Served:
    """`courser serve` (the binary at `binary`) with a config file of the
    test's, its output in ROOT/server.log; ready once it says so."""

    def __init__(self, config, root, binary=BIN):
        self.log_path = Path(root) / "server.log"
        self.log = open(self.log_path, "ab")
        ready = ReadyNotice(root)
        self.proc = subprocess.Popen([str(binary), "serve", "--config", str(config)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=ready.env())
        ready.wait(self.proc, self.log_path)

    def stop(self):
        stop_process(self.proc, self.log)


class Server:
    """A running server and the files behind it."""

    def __init__(self, root: Path, extra_config: str = "", per_user: bool = False,
                 tls_extra: str = "", auth_extra: str = ""):
        self.root = root
        self.per_user = per_user
        # A command the server runs under (e.g. faketime), when set
        # before start().
        self.wrapper = []
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.homes = {}
        self.as_root = os.getuid() == 0
        uid, gid = serving_ids()
        self.uid, self.gid = uid, gid
        # Per-user mode as root: every account has its own uid and gid.
        self.account_ids = {}
        lines = []
        for n, (user, pw) in enumerate(USERS.items()):
            if per_user and self.as_root:
                uid = gid = PER_USER_FIRST_UID + n
            self.account_ids[user] = (uid, gid)
            home = root / "home" / user
            maildir = home / "Maildir"
            for sub in ("cur", "new", "tmp"):
                (maildir / sub).mkdir(parents=True, exist_ok=True)
            self.homes[user] = home
            hashed = crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))
            lines.append(
                f"{user}\tuid={uid}|gid={gid}|home={home}|mail={maildir}|systempw={hashed}\n"
            )
        userdb = root / "userdb"
        userdb.write_text("".join(lines))
        userdb.chmod(0o600)
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
                "-days", "2", "-subj", "/CN=localhost",
            ],
            check=True, capture_output=True,
        )
        self.config = root / "courser.toml"
        self.config.write_text(
            f"""
[[listener]]
protocol = "imap"
address = "127.0.0.1:{self.imap_port}"

[[listener]]
protocol = "imaps"
address = "127.0.0.1:{self.imaps_port}"

[[listener]]
protocol = "pop3"
address = "127.0.0.1:{self.pop3_port}"

[[listener]]
protocol = "pop3s"
address = "127.0.0.1:{self.pop3s_port}"

[tls]
certificate = "cert.pem"
private_key = "key.pem"
{tls_extra}

[auth]
userdb = "userdb"
failure_delay_secs = 0
{auth_extra}
"""
            + self.server_section()
            + extra_config
        )
        self.chown()
        self.start()

    def start(self):
        """Starts `courser serve` on the config and waits until it is
        ready (the log is appended to across restarts)."""
        log_path = self.root / "server.log"
        self.log = open(log_path, "ab")
        ready = ReadyNotice(self.root)
        self.proc = subprocess.Popen(
            [*self.wrapper, BIN, "serve", "--config", str(self.config)],
            stdout=self.log, stderr=subprocess.STDOUT, env=ready.env(),
            # A wrapper (faketime) does not pass signals on to the server:
            # its own session lets stop() signal both.
            start_new_session=bool(self.wrapper),
        )
        ready.wait(self.proc, log_path)
        # Clients made by connect()/raw() and the client tests go through a
        # proxy that records what the server says, for the validator.
        self.proxy = recording.RecordingProxy(self.imap_port)
        self.proxy_port = self.proxy.port

    def server_section(self):
        if self.per_user:
            # The front end runs as nobody by default.
            return '\n[server]\nprocess_model = "per-user"\n'
        return '\n[server]\nrun_as = "nobody"\n' if self.as_root else ""

    def owner(self, path):
        """Who owns `path`: its account inside a home, else the server."""
        for user, home in self.homes.items():
            if Path(path).is_relative_to(home):
                return self.account_ids[user]
        return self.uid, self.gid

    def chown(self):
        if not self.as_root:
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            os.lchown(dirpath, *self.owner(dirpath))
            for f in filenames:
                path = os.path.join(dirpath, f)
                os.lchown(path, *self.owner(path))
        if self.per_user:
            # Accounts pass through to their own homes, and only there.
            self.root.chmod(0o711)
            (self.root / "home").chmod(0o711)
            for home in self.homes.values():
                home.chmod(0o700)

    def maildir(self, user="alice"):
        return self.homes[user] / "Maildir"

    def deliver(self, data: bytes, user="alice", folder=""):
        """An outside MDA: write into tmp/, rename into new/."""
        base = self.maildir(user) / (f".{folder}" if folder else "")
        name = f"{time.time():.6f}.P{os.getpid()}R{os.urandom(4).hex()}.test"
        tmp = base / "tmp" / name
        tmp.write_bytes(data)
        if self.as_root:
            os.lchown(tmp, *self.owner(tmp))
        os.rename(tmp, base / "new" / name)
        return name

    def connect(self, user="alice", login=True):
        c = imaplib.IMAP4("127.0.0.1", self.proxy_port, timeout=30)
        if login:
            c.login(user, USERS[user])
        return c

    def connect_tls(self, user="alice"):
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=insecure_tls(),
                              timeout=30)
        c.login(user, USERS[user])
        return c

    def pop3(self, user="alice", login=True):
        """A poplib client on the plain POP3 port, logged in with USER/PASS."""
        c = poplib.POP3("127.0.0.1", self.pop3_port, timeout=30)
        if login:
            c.user(user)
            c.pass_(USERS[user])
        return c

    def pop3_tls(self, user="alice"):
        """A poplib client over implicit TLS (POP3S), logged in."""
        c = poplib.POP3_SSL("127.0.0.1", self.pop3s_port, context=insecure_tls(), timeout=30)
        c.user(user)
        c.pass_(USERS[user])
        return c

    def raw(self, login=None, timeout=10):
        """A raw-socket client (recorded), optionally logged in as `login`."""
        r = recording.Raw(self.proxy_port, timeout=timeout)
        if login:
            r.login(login)
        return r

    def recorder(self, name, greeting=True):
        """A transcript for bytes read outside the proxy (TLS sessions)."""
        return recording.Recorder(self.proxy.new_transcript(name, greeting))

    def check_transcripts(self):
        """Fails when anything the server sent does not parse as IMAP."""
        self.proxy.close()
        time.sleep(0.05)
        err = recording.validate(self.proxy.transcripts, BIN, self.root / "transcripts")
        assert err is None, "malformed server response:\n" + err

    def stop(self):
        self.proxy.close()
        if self.wrapper:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        stop_process(self.proc, self.log)

    def log_text(self):
        return (self.root / "server.log").read_text(errors="replace")


@pytest.fixture
def make_server():
    """Starts servers with extra config text appended (TOML tables)."""
    started = []

    def make(extra_config="", per_user=False, tls_extra="", auth_extra=""):
        root = Path(tempfile.mkdtemp(prefix="courser-e2e-"))
        s = Server(root, extra_config, per_user, tls_extra, auth_extra)
        started.append(s)
        return s

    try:
        yield make
        for s in started:
            s.check_transcripts()
    finally:
        for s in started:
            s.stop()
            shutil.rmtree(s.root, ignore_errors=True)


@pytest.fixture
def server():
    root = Path(tempfile.mkdtemp(prefix="courser-e2e-"))
    s = Server(root)
    try:
        yield s
        assert s.proc.poll() is None, "server died during the test:\n" + s.log_text()
        s.check_transcripts()
    finally:
        s.stop()
        shutil.rmtree(root, ignore_errors=True)
