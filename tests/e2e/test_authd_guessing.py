"""What a front end taken over by a client can get from the
authentication process (DESIGN.md "Process model": "A compromised front
end can then at most try passwords, at the same rate limits as anyone").

SCRAM runs inside the authentication process: the front end relays the
client's messages and never holds StoredKey or ServerKey, which would let
it test password guesses offline. And the authentication process limits
guesses itself, per address, per login and for the front end as a whole,
whatever the front end does.

The tests speak the front end's protocol (`crates/server/src/authd/wire.rs`,
version 4) over the front end's own channel to the authentication
process, taken from the running front end with pidfd_getfd(2) while it is
stopped: what code running inside a compromised front end holds."""

import base64
import hashlib
import hmac
import imaplib
import ipaddress
import os
import poplib
import select
import signal
import socket
import struct
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import BIN, USERS
from sasl_client import Scram, pop3_scram
from test_auth_sasl import add_fields, imap_scram, scram_secret
from test_authd import take_fd, unix_sockets

VERSION = 4
# Request kinds, answer kinds (wire.rs).
VERIFY, SCRAM_STEP, MECHANISMS = 3, 4, 6
READY, ACCOUNT, FAILED, CHALLENGE, EXCHANGE_DONE = 64, 65, 66, 67, 69
IMAP, SHA256 = 1, 2
PROBE = 0x7EFFFFFF  # the id of the request that finds the channel
PASSWORD, SCRAM = 1, 3


def frame(kind, rid, body):
    payload = bytes([VERSION, kind]) + struct.pack(">I", rid) + body
    return struct.pack(">I", len(payload)) + payload


def blob(data):
    return struct.pack(">I", len(data)) + data


def address(text):
    ip = ipaddress.ip_address(text)
    return bytes([4 if ip.version == 4 else 6]) + ip.packed


def scram_step(rid, peer, data, exchange=None):
    number = b"\0" if exchange is None else b"\1" + struct.pack(">Q", exchange)
    return frame(SCRAM_STEP, rid, bytes([IMAP]) + address(peer) + bytes([SHA256])
                 + number + blob(data))


def verify_password(rid, peer, login, password):
    return frame(VERIFY, rid, bytes([IMAP]) + address(peer) + b"\0" + bytes([PASSWORD])
                 + b"\0" + blob(login.encode()) + blob(password.encode()))


def verify_scram(rid, peer, login, exchange):
    return frame(VERIFY, rid, bytes([IMAP]) + address(peer) + b"\0" + bytes([SCRAM])
                 + blob(login.encode()) + struct.pack(">Q", exchange))


class Answer:
    """One decoded answer frame; `raw` is every octet received for it."""

    def __init__(self, raw):
        self.raw = raw
        self.version, self.kind = raw[4], raw[5]
        self.id = struct.unpack(">I", raw[6:10])[0]
        body = raw[10:]
        if self.kind == CHALLENGE:
            self.exchange = struct.unpack(">Q", body[:8])[0]
            n = struct.unpack(">I", body[8:12])[0]
            self.data = body[12:12 + n]
        elif self.kind == EXCHANGE_DONE:
            self.exchange = struct.unpack(">Q", body)[0]
        elif self.kind == FAILED:
            self.temporary = body[0] == 1
            n = struct.unpack(">I", body[1:5])[0]
            self.reason = body[5:5 + n].decode()
        elif self.kind == ACCOUNT:
            n = struct.unpack(">I", body[:4])[0]
            self.login = body[4:4 + n].decode()

    def __repr__(self):
        return f"Answer(kind={self.kind}, {getattr(self, 'reason', '')})"


class Channel:
    """The front end's socket to the authentication process."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.next_id = 0x7F000000
        self.received = []

    def ask(self, *builders):
        """Sends the requests `builders` make (each takes an id), all at
        once, and returns their answers in order."""
        ids = []
        out = b""
        for build in builders:
            self.next_id += 1
            ids.append(self.next_id)
            out += build(self.next_id)
        self.sock.sendall(out)
        return self.answers(ids)

    def answers(self, ids, wait=120):
        """The answers to the requests `ids`, in order (answers to other
        requests, such as the front end's own still unread, are passed
        over)."""
        answers = {}
        deadline = time.monotonic() + wait
        while len(answers) < len(ids):
            while len(self.buf) >= 4 and len(self.buf) >= 4 + struct.unpack(">I", self.buf[:4])[0]:
                n = 4 + struct.unpack(">I", self.buf[:4])[0]
                answer = Answer(self.buf[:n])
                self.buf = self.buf[n:]
                self.received.append(answer.raw)
                answers[answer.id] = answer
            if len(answers) == len(ids):
                break
            left = deadline - time.monotonic()
            assert left > 0, f"no answer to {len(ids) - len(answers)} requests"
            if select.select([self.sock], [], [], left)[0]:
                chunk = self.sock.recv(65536)
                assert chunk, "the authentication process closed the channel"
                self.buf += chunk
        return [answers[i] for i in ids]


def stopped(pid):
    """Waits until every thread of `pid` has stopped: kill(2) returns
    before they have, and a reader thread still running would take the
    probe's answer (the "no channel" flake under load)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = []
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                stat = Path(f"/proc/{pid}/task/{task}/stat").read_text()
            except OSError:
                continue
            states.append(stat.rsplit(")", 1)[1].split()[0])
        if states and all(st in ("T", "t") for st in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not stop")


@contextmanager
def front_end_channel(server):
    """The front end's channel to the authentication process, used while
    the front end is stopped (so that its own reader does not take the
    answers). The channel is the unix stream socket that answers a
    MECHANISMS request."""
    pid = server.proc.pid
    os.kill(pid, signal.SIGSTOP)
    channel = None
    try:
        stopped(pid)
        # One fd per socket (the front end holds clones of its end).
        sockets = {inode: fd for fd, inode in sorted(unix_sockets(pid, 1).items())}
        for fd in sockets.values():
            sock = socket.socket(fileno=take_fd(pid, fd))
            sock.sendall(frame(MECHANISMS, PROBE, b""))
            candidate = Channel(sock)
            try:
                # An answer the front end had not read yet may come first:
                # wait for the probe's own.
                answer = candidate.answers([PROBE], wait=10)[0]
            except (AssertionError, struct.error, IndexError, UnicodeDecodeError):
                answer = None
            if answer is not None and answer.kind == READY:
                channel = candidate
                break
            sock.close()
        assert channel, "no channel to the authentication process found"
        yield channel
    finally:
        if channel:
            channel.sock.close()
        os.kill(pid, signal.SIGCONT)


def scram_keys(password, server_first):
    """StoredKey, ServerKey, SaltedPassword and ClientKey for `password`
    with the salt and iteration count of `server_first` (RFC 5802 §3)."""
    attrs = dict(a.split("=", 1) for a in server_first.decode().split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return [hashlib.sha256(client_key).digest(),
            hmac.new(salted, b"Server Key", "sha256").digest(), salted, client_key]


@pytest.mark.parametrize("per_user", [False, True], ids=["shared", "per-user"])
def test_scram_logins_work_in_both_process_models(make_server, per_user):
    server = make_server(per_user=per_user)
    add_fields(server, "alice", [f"scram-sha-256pw={scram_secret('SCRAM-SHA-256', USERS['alice'])}"])
    result, scram = imap_scram(server, "SCRAM-SHA-256", "alice", USERS["alice"])
    assert result == "OK", result
    assert scram.server_signature, "the client checked the server's signature"
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    assert pop3_scram(p, "SCRAM-SHA-256", "alice", USERS["alice"]).startswith(b"+OK")
    p.stat()
    p.quit()
    result, _ = imap_scram(server, "SCRAM-SHA-256", "alice", "wrong")
    assert "AUTHENTICATIONFAILED" in result, result
    assert "LOGIN FAILED" in server.log_text()


def test_the_auth_process_never_hands_out_scram_keys(make_server):
    server = make_server()
    password = USERS["alice"]
    add_fields(server, "alice", [f"scram-sha-256pw={scram_secret('SCRAM-SHA-256', password)}"])
    peer = "192.0.2.10"
    with front_end_channel(server) as auth:
        # A whole exchange for alice, as a client with her password makes it.
        scram = Scram("SCRAM-SHA-256", "alice", password)
        [first] = auth.ask(lambda i: scram_step(i, peer, scram.client_first()))
        assert first.kind == CHALLENGE, first
        server_first = first.data
        assert server_first.decode().count(",") == 2, server_first  # r=, s=, i= only
        [proof] = auth.ask(lambda i: scram_step(i, peer, scram.client_final(server_first),
                                                first.exchange))
        assert proof.kind == CHALLENGE and proof.data == scram.server_signature, proof
        [done] = auth.ask(lambda i: scram_step(i, peer, b"", first.exchange))
        assert done.kind == EXCHANGE_DONE and done.exchange == first.exchange, done
        # Both asked at once: the process checks them on different
        # threads, so either may be the one judged; only one may pass.
        answers = auth.ask(lambda i: verify_scram(i, peer, "alice", first.exchange),
                           lambda i: verify_scram(i, peer, "alice", first.exchange))
        [verdict] = [a for a in answers if a.kind == ACCOUNT]
        assert verdict.login == "alice", verdict
        [replay] = [a for a in answers if a.kind != ACCOUNT]
        assert replay.kind == FAILED and not replay.temporary, "an exchange is judged once"
        # What a front end would ask for to guess offline: the exchange
        # of a login it invents, a made-up proof, an exchange never run.
        [other] = auth.ask(lambda i: scram_step(i, peer, b"n,,n=alice,r=forged"))
        [forged] = auth.ask(lambda i: scram_step(i, peer, b"c=biws,r=forged,p=" +
                                                 base64.b64encode(bytes(32)), other.exchange))
        assert forged.kind == EXCHANGE_DONE, forged
        [claim] = auth.ask(lambda i: verify_scram(i, peer, "alice", other.exchange))
        assert claim.kind == FAILED, claim
        [unknown] = auth.ask(lambda i: verify_scram(i, peer, "alice", 987654321))
        assert unknown.kind == FAILED, unknown
    # Nothing the front end received holds a key, raw or in base64.
    received = b"".join(auth.received)
    for secret in scram_keys(password, server_first):
        assert secret not in received
        assert base64.b64encode(secret) not in received
    # The front end's channel is still in step.
    result, _ = imap_scram(server, "SCRAM-SHA-256", "alice", password)
    assert result == "OK", result


def reload_with(server, old, new):
    """Edits the configuration file and reloads it (SIGHUP)."""
    text = server.config.read_text()
    assert old in text
    server.config.write_text(text.replace(old, new))
    before = server.log_text().count("configuration reloaded")
    server.proc.send_signal(signal.SIGHUP)
    for _ in range(300):
        if server.log_text().count("configuration reloaded") > before:
            return
        time.sleep(0.1)
    raise AssertionError("no reload:\n" + server.log_text())


def test_a_burst_of_wrong_passwords_is_refused_by_the_auth_process(make_server):
    server = make_server()
    # The e2e fixture turns the failure delay off; the refusal window
    # follows it. Long windows: the burst is far shorter.
    reload_with(server, "failure_delay_secs = 0",
                "failure_delay_secs = 60\nfailure_delay_max_secs = 600")
    attacker = "198.51.100.9"
    with front_end_channel(server) as auth:
        # Twenty guesses at once, as a front end that sleeps no failure
        # delay sends them: five are checked, the rest refused unchecked.
        answers = auth.ask(*[
            (lambda n: lambda i: verify_password(i, attacker, "alice", f"guess{n}"))(n)
            for n in range(20)])
        assert all(a.kind == FAILED for a in answers), answers
        checked = [a for a in answers if not a.temporary]
        refused = [a for a in answers if a.temporary]
        assert len(checked) == 5, answers
        assert all("refused by the authentication process" in a.reason for a in refused)
        # The right password is refused as well now: from elsewhere (the
        # login's count), and for another login from the same address.
        [right, other_login] = auth.ask(
            lambda i: verify_password(i, "203.0.113.5", "alice", USERS["alice"]),
            lambda i: verify_password(i, attacker, "bob", USERS["bob"]))
        assert right.kind == FAILED and right.temporary, right
        assert "login" in right.reason, right.reason
        assert other_login.kind == FAILED and "address" in other_login.reason, other_login
        # Nothing stops other logins from other addresses.
        [bob] = auth.ask(lambda i: verify_password(i, "203.0.113.5", "bob", USERS["bob"]))
        assert bob.kind == ACCOUNT, bob
        # The same /64 counts as one address.
        v6 = auth.ask(*[(lambda n: lambda i: verify_password(
            i, f"2001:db8:5::{n + 1:x}", f"user{n}", "x"))(n) for n in range(8)])
        assert sum(not a.temporary for a in v6) == 5, v6
    # A real client feels it too: alice is refused for a while, as
    # temporarily unavailable.
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        c.login("alice", USERS["alice"])
    c.logout()
    assert "refused by the authentication process" in server.log_text()
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    c.login("bob", USERS["bob"])
    c.logout()
    out = subprocess.run([BIN, "check-config", "--config", str(server.config)],
                         capture_output=True, text=True, check=True).stdout
    assert "refuse_after_failures = 5" in out and "max_failures_per_sec = 100" in out, out


def test_many_logins_at_once_with_the_right_password_all_get_in(make_server):
    """A client that opens many connections at once (Thunderbird, imaptest)
    is not refused: checks in progress fill the free failures only until
    they settle, and the ones behind them wait instead of being refused.
    Wrong passwords among them still meet the window (test above)."""
    server = make_server()
    with front_end_channel(server) as auth:
        answers = auth.ask(*[
            (lambda n: lambda i: verify_password(i, "198.51.100.20", "alice", USERS["alice"]))(n)
            for n in range(24)])
        assert all(a.kind == ACCOUNT for a in answers), answers
    # And through the front end: sixteen connections logging in at once.
    import concurrent.futures

    def one(_):
        c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=60)
        try:
            return c.login("alice", USERS["alice"])[0]
        finally:
            c.logout()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert list(pool.map(one, range(16))) == ["OK"] * 16
