"""Every byte the tests receive from the server is checked by an independent
IMAP parser (imap-codec, through crates/imap/examples/validate_responses.rs).

`RecordingProxy` sits between the tests' clients and the server's plaintext
IMAP port and records what the server sends on each connection, until
STARTTLS makes the rest unreadable (TLS sessions record their own plaintext
through `Recorder`). `validate()` runs the validator over the transcripts at
fixture teardown, so a malformed response fails the test that provoked it.

`Raw` is a small raw-socket IMAP client for tests that need exact bytes.
"""

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_validator = None
_validator_lock = threading.Lock()


def validator_path(courser_bin):
    """The validator binary: $COURSER_VALIDATOR, or built beside courser
    (cargo is a no-op when it is up to date)."""
    global _validator
    with _validator_lock:
        if _validator:
            return _validator
        env_path = os.environ.get("COURSER_VALIDATOR")
        if env_path:
            _validator = env_path
            return env_path
        binp = Path(courser_bin).resolve()
        target = binp.parents[1]  # …/target/debug/courser → …/target
        env = dict(os.environ, CARGO_TARGET_DIR=str(target))
        args = ["cargo", "build", "-q", "-p", "courser-imap",
                "--example", "validate_responses", "--features", "validate"]
        if binp.parent.name == "release":
            args.append("--release")
        r = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
        exe = binp.parent / "examples" / "validate_responses"
        if r.returncode != 0 and not exe.exists():
            raise RuntimeError("cannot build the response validator:\n" + r.stderr)
        _validator = str(exe)
        return _validator


class Transcript:
    def __init__(self, name, greeting=True):
        self.name = name
        self.greeting = greeting
        self.data = bytearray()
        self.recording = True
        self.starttls_tag = None
        self.client_closed_first = False
        self.open = True
        self.lock = threading.Lock()


class Recorder:
    """Records a socket-like object's reads (for TLS sessions)."""

    def __init__(self, transcript):
        self.t = transcript

    def add(self, data):
        with self.t.lock:
            self.t.data += data


class RecordingProxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.transcripts = []
        self.closed = False
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def new_transcript(self, name, greeting=True):
        t = Transcript(name, greeting)
        self.transcripts.append(t)
        return t

    def _accept(self):
        n = 0
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            n += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            t = self.new_transcript(f"conn{n:04d}")
            self.socks += [client, upstream]
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._c2s, args=(client, upstream, t), daemon=True).start()
            threading.Thread(target=self._s2c, args=(client, upstream, t), daemon=True).start()

    def _c2s(self, client, upstream, t):
        line = b""
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:
                with t.lock:
                    if t.open:
                        t.client_closed_first = True
                try:
                    upstream.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if t.recording and t.starttls_tag is None:
                line = (line + data)[-4096:]
                for ln in line.split(b"\n")[:-1]:
                    m = re.match(rb"^(\S+) STARTTLS\r?$", ln, re.I)
                    if m:
                        t.starttls_tag = m.group(1)
                line = line.rsplit(b"\n", 1)[-1]
            try:
                upstream.sendall(data)
            except OSError:
                return

    def _s2c(self, client, upstream, t):
        while True:
            try:
                data = upstream.recv(65536)
            except OSError:
                data = b""
            if not data:
                with t.lock:
                    t.open = False
                try:
                    client.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with t.lock:
                if t.recording:
                    t.data += data
                    if t.starttls_tag is not None:
                        m = re.search(rb"(?:^|\n)" + re.escape(t.starttls_tag) + rb" [^\n]*\n", bytes(t.data))
                        if m:
                            # The rest of this connection is TLS.
                            del t.data[m.end():]
                            t.recording = False
            try:
                client.sendall(data)
            except OSError:
                pass

    def close(self):
        self.closed = True
        try:
            self.listener.close()
        except OSError:
            pass
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def validate(transcripts, courser_bin, outdir):
    """Runs the validator over the transcripts; returns an error text or None."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    groups = {}
    for t in transcripts:
        with t.lock:
            data = bytes(t.data)
            truncated = t.client_closed_first or t.open
        if not data:
            continue
        path = outdir / f"{t.name}.bin"
        path.write_bytes(data)
        groups.setdefault((t.greeting, truncated), []).append(str(path))
    exe = validator_path(courser_bin)
    for (greeting, truncated), files in groups.items():
        args = [exe]
        if not greeting:
            args.append("--no-greeting")
        if truncated:
            args.append("--allow-truncated")
        r = subprocess.run(args + files, capture_output=True, text=True)
        if r.returncode != 0:
            return r.stderr.strip()[-4000:] or f"validator exited {r.returncode}"
    return None


class ImapError(AssertionError):
    pass


class Raw:
    """A raw-socket IMAP client: send exact bytes, read whole responses
    (literals included)."""

    def __init__(self, port=None, sock=None, timeout=10, greeting=True, recorder=None):
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.recorder = recorder
        self.n = 0
        self.greeting = self.response() if greeting else None

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection; buffer: %r" % self.buf[-300:])
        if self.recorder:
            self.recorder.add(data)
        self.buf += data

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """One raw line, CRLF included."""
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln

    def response(self):
        """One whole response: a line plus any literals it announces."""
        out = b""
        while True:
            ln = self.line()
            out += ln
            m = re.search(rb"\{(\d+)\}\r\n$", ln)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += self.buf[:n]
            self.buf = self.buf[n:]

    def tag(self):
        self.n += 1
        return f"t{self.n}"

    def until(self, tag):
        """Responses up to and including the tagged one for `tag`:
        (untagged list, tagged line)."""
        if isinstance(tag, str):
            tag = tag.encode()
        got = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                return got, r
            got.append(r)

    def cmd(self, text, ok=None):
        """Sends `tag text`; returns (untagged, tagged). With ok=True the
        tagged answer must be OK, with ok='NO'/'BAD' that status."""
        tag = self.tag()
        self.send(f"{tag} {text}\r\n".encode() if isinstance(text, str) else tag.encode() + b" " + text + b"\r\n")
        untagged, tagged = self.until(tag)
        status = tagged.split(b" ", 2)[1].decode()
        if ok is True and status != "OK":
            raise ImapError(f"{text!r} -> {tagged!r} {untagged!r}")
        if isinstance(ok, str) and status != ok:
            raise ImapError(f"{text!r} -> {tagged!r}, expected {ok}")
        return untagged, tagged

    def login(self, user="alice", pw=None):
        from conftest import USERS
        return self.cmd(f"LOGIN {user} {pw or USERS[user]}", ok=True)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def wait_for(pred, timeout=5.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def parse_sexp(data):
    """Parses IMAP response data (atoms, quoted strings, literals, NIL,
    parenthesized lists) into nested Python lists of bytes/None."""
    pos = 0
    n = len(data)

    def skip():
        nonlocal pos
        while pos < n and data[pos:pos + 1] in (b" ", b"\r", b"\n"):
            pos += 1

    def item():
        nonlocal pos
        c = data[pos:pos + 1]
        if c == b"(":
            pos += 1
            out = []
            while True:
                skip()
                if data[pos:pos + 1] == b")":
                    pos += 1
                    return out
                out.append(item())
        if c == b'"':
            pos += 1
            out = bytearray()
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                out += data[pos:pos + 1]
                pos += 1
            pos += 1
            return bytes(out)
        if c == b"{":
            end = data.index(b"}", pos)
            size = int(data[pos + 1:end].rstrip(b"+"))
            pos = end + 3
            out = data[pos:pos + size]
            pos += size
            return out
        start = pos
        depth = 0
        while pos < n:
            ch = data[pos:pos + 1]
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in (b" ", b"(", b")", b"\r", b"\n"):
                break
            pos += 1
        atom = data[start:pos]
        return None if atom.upper() == b"NIL" else atom

    out = []
    while True:
        skip()
        if pos >= n:
            return out
        out.append(item())


def fetch_items(response):
    """`* 3 FETCH (K V ...)` -> (3, {K: V}) with keys upper-cased."""
    items = parse_sexp(response)
    assert items[0] == b"*" and items[2].upper() == b"FETCH", response
    lst = items[3]
    return int(items[1]), {lst[i].upper(): lst[i + 1] for i in range(0, len(lst), 2)}


def fetches(untagged):
    """All FETCH responses among `untagged`, as {seq: {K: V}} (merged)."""
    out = {}
    for r in untagged:
        if re.match(rb"\* \d+ FETCH ", r):
            seq, d = fetch_items(r)
            out.setdefault(seq, {}).update(d)
    return out
