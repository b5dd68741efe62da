"""Differential test: ENVELOPE and BODYSTRUCTURE from Courser, Courier-IMAP
and Dovecot for the same maildir.

The maildir holds the project's generated corpus (`courser_mime::corpus`,
written out by the `dump_corpus` example) plus the email test messages of
the running Python's standard library (`test/test_email/data/msg_*.txt`,
read in place, never copied into the repository). Each server runs as a
preauthenticated session on stdin/stdout against its own copy of it:

- Courser: `courser imapd MAILDIR`;
- Courier: Debian's `/usr/bin/imapd` with `MAILDIR=…`, cwd = the home;
- Dovecot: the `imap` binary from Debian's `dovecot-imapd`, unpacked by
  scripts/test.sh beside `dovecot-core` (the packages conflict with
  Courier's), run standalone with `-c CONFIG` and `MAIL=maildir:…`.

Answers are parsed into values, normalized only where IMAP leaves a choice
(see `normalize_*`), and compared field by field. Every difference must be
listed in `EXCEPTIONS` with the reason it is kept; anything else fails.

With COURSER_FULL_TESTS=1 a missing server or corpus fails the test instead
of skipping it.
"""

import fnmatch
import hashlib
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

import preauth
from conftest import serving_ids

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("COURSER_BIN") or str(ROOT / "target" / "debug" / "courser")
FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
COURIER_IMAPD = "/usr/bin/imapd"
DOVECOT_IMAP_CANDIDATES = [
    os.environ.get("COURSER_DOVECOT_IMAP", ""),
    "/opt/courser-test/dovecot-imapd/usr/lib/dovecot/imap",
    "/usr/lib/dovecot/imap",
]


def missing(what):
    if FULL:
        pytest.fail(f"{what} (COURSER_FULL_TESTS=1; scripts/test.sh installs it)")
    pytest.skip(what)


# --------------------------------------------------------------------------
# The corpus


def python_email_data():
    out = subprocess.run(
        ["python3", "-c", "import test, os; print(os.path.dirname(test.__file__))"],
        capture_output=True, text=True,
    )
    candidates = []
    if out.returncode == 0:
        candidates.append(Path(out.stdout.strip()) / "test_email" / "data")
    try:
        import test  # the stdlib's test package of this interpreter
        candidates.append(Path(test.__file__).parent / "test_email" / "data")
    except ImportError:
        pass
    for d in candidates:
        if d.is_dir() and list(d.glob("msg_*.txt")):
            return d
    return None


def generated_corpus(tmp):
    """The generated corpus, written out by the `dump_corpus` example."""
    out = tmp / "generated"
    exe = Path(BIN).parent / "examples" / "dump_corpus"
    if exe.exists():
        subprocess.run([str(exe), str(out)], check=True)
    else:
        subprocess.run(
            ["cargo", "run", "-q", "-p", "courser-mime", "--example", "dump_corpus", "--", str(out)],
            check=True, cwd=ROOT,
        )
    return sorted(out.iterdir())


def corpus(tmp):
    """[(name, bytes)] in maildir order.

    Courier ignores every MIME header of a message without MIME-Version, so
    each generated message that has a Content-Type but no MIME-Version is
    also sent with one added (named `…+mv`): that is what compares the MIME
    structure with Courier's."""
    msgs = []
    for p in generated_corpus(tmp):
        data = p.read_bytes()
        msgs.append((p.name, data))
        if has_header(data, b"Content-Type") and not has_header(data, b"MIME-Version"):
            eol = b"\r\n" if data.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
            msgs.append((p.name + "+mv", b"MIME-Version: 1.0" + eol + data))
    data = python_email_data()
    if data is None:
        missing("Python's test_email/data is not installed")
    msgs += [(f"py-{p.name}", p.read_bytes()) for p in sorted(data.glob("msg_*.txt"))]
    return msgs


def write_maildir(home, msgs, uid, gid):
    md = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    for i, (_, data) in enumerate(msgs):
        # Same order everywhere: the servers order new files by the time
        # stamp in their name.
        (md / "cur" / f"{1000000000 + i}.M{i}P1.courser-diff:2,").write_bytes(data)
    if os.getuid() == 0:
        for dirpath, _, files in os.walk(home):
            os.chown(dirpath, uid, gid)
            for f in files:
                os.chown(os.path.join(dirpath, f), uid, gid)
    return md


# --------------------------------------------------------------------------
# Running the servers


COMMANDS = [
    b"a SELECT INBOX\r\n",
    b"b FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[])\r\n",
    b"c LOGOUT\r\n",
]


def read_until_tagged(proc, buf, tag, deadline):
    """Reads from proc.stdout into buf until the tagged response `tag`;
    literals are skipped so message text never looks like a response."""
    pos = 0
    while True:
        # Scan whole logical lines already in buf.
        while True:
            start = pos
            while True:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    break
                m = re.search(rb"\{(\d+)\+?\}\r?$", bytes(buf[pos:nl]))
                if m:
                    end = nl + 1 + int(m.group(1))
                    if end > len(buf):
                        nl = -1
                        break
                    pos = end
                    continue
                pos = nl + 1
                break
            if nl < 0:
                pos = start
                break
            if buf[start:].startswith(tag + b" "):
                return
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise AssertionError(f"timed out waiting for {tag!r}: {bytes(buf[-2000:])!r}")
        chunk = os.read(proc.stdout.fileno(), 1 << 16)
        if not chunk:
            raise AssertionError(f"session ended before {tag!r}: {bytes(buf[-2000:])!r}")
        buf += chunk


def run_session(argv, env, cwd, uid, gid, commands=COMMANDS):
    """One preauthenticated session: each command is sent after the previous
    one's tagged answer (Dovecot drops pending output at end of input)."""
    kw = {}
    if os.getuid() == 0:
        kw = dict(user=uid, group=gid, extra_groups=[])
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    buf = bytearray()
    try:
        deadline = time.monotonic() + 90
        for cmd in commands:
            proc.stdin.write(cmd)
            proc.stdin.flush()
            read_until_tagged(proc, buf, cmd.split(b" ", 1)[0], deadline)
    except AssertionError as e:
        proc.kill()
        raise AssertionError(f"{argv[0]}: {e}\n{proc.stderr.read()[-2000:]!r}") from None
    finally:
        preauth.finish(proc)
    if not re.search(rb"(?m)^b OK", bytes(buf)):
        raise AssertionError(f"{argv[0]}: command b failed: {bytes(buf[-2000:])!r}")
    return bytes(buf)


def courser(home, uid, gid, commands=COMMANDS):
    if not Path(BIN).exists():
        missing(f"{BIN} is not built")
    md = str(home / "Maildir")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "MAILDIR": md}
    return run_session([BIN, "imapd", md], env, home, uid, gid, commands)


def courier(home, uid, gid, commands=COMMANDS):
    if not os.access(COURIER_IMAPD, os.X_OK):
        missing(f"{COURIER_IMAPD} is missing (apt-get install courier-imap)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "MAILDIR": str(home / "Maildir")}
    return run_session([COURIER_IMAPD], env, home, uid, gid, commands)


def dovecot(home, uid, gid, commands=COMMANDS):
    exe = next((c for c in DOVECOT_IMAP_CANDIDATES if c and os.access(c, os.X_OK)), None)
    if exe is None:
        missing("Dovecot's imap binary is missing (dovecot-core + dovecot-imapd unpacked)")
    cfg = home / "dovecot.conf"
    cfg.write_text("log_path = /dev/stderr\nssl = no\n")
    user = os.environ.get("USER", "courser")
    if os.getuid() == 0:
        import pwd
        user = pwd.getpwuid(uid).pw_name
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "USER": user,
        "MAIL": f"maildir:{home / 'Maildir'}",
    }
    return run_session([exe, "-c", str(cfg)], env, home, uid, gid, commands)


# --------------------------------------------------------------------------
# An IMAP response parser (just enough for FETCH answers)


class Atom(str):
    pass


def tokenize_line(buf, pos):
    """Parses one response line starting at pos: returns (values, newpos)."""
    stack = [[]]
    n = len(buf)
    while pos < n:
        c = buf[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif c == b"\r" or c == b"\n":
            pos += 2 if buf[pos:pos + 2] == b"\r\n" else 1
            break
        elif c == b"(":
            stack.append([])
            pos += 1
        elif c == b")":
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif c == b'"':
            pos += 1
            out = bytearray()
            while buf[pos:pos + 1] != b'"':
                if buf[pos:pos + 1] == b"\\":
                    pos += 1
                out += buf[pos:pos + 1]
                pos += 1
            pos += 1
            stack[-1].append(bytes(out))
        elif c == b"{":
            end = buf.index(b"}", pos)
            size = int(buf[pos + 1:end].rstrip(b"+"))
            pos = buf.index(b"\n", end) + 1
            stack[-1].append(bytes(buf[pos:pos + size]))
            pos += size
        else:
            m = re.compile(rb"[^ ()\r\n\[]+(\[[^\]]*\])?(<\d+>)?").match(buf, pos)
            if not m:
                m = re.compile(rb"\[[^\]]*\]").match(buf, pos)
            tok = m.group(0).decode("latin-1")
            stack[-1].append(None if tok.upper() == "NIL" else Atom(tok))
            pos = m.end()
    assert len(stack) == 1, "unbalanced parentheses"
    return stack[0], pos


def fetch_items(raw):
    """{seq: {ITEM: value}} from the untagged FETCH responses."""
    out = {}
    pos = 0
    while pos < len(raw):
        vals, pos = tokenize_line(raw, pos)
        if len(vals) >= 4 and vals[0] == "*" and isinstance(vals[2], str) and vals[2].upper() == "FETCH":
            items = vals[3]
            d = out.setdefault(int(vals[1]), {})
            for k, v in zip(items[::2], items[1::2]):
                d[k.upper()] = v
    return out


# --------------------------------------------------------------------------
# Normalization: only what IMAP leaves to the server


def s(v):
    """A string value as text (quoted and literal are the same)."""
    if v is None:
        return None
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)


def lower(v):
    return None if v is None else s(v).lower()


def params(v):
    """A parameter list: names are case-insensitive (RFC 2045), and so are
    charset names (RFC 2046 §4.1.2)."""
    if v is None:
        return None
    if not isinstance(v, list):
        return ("not-a-list", s(v))
    return tuple((lower(k), lower(val) if lower(k) == "charset" else s(val))
                 for k, val in zip(v[::2], v[1::2]))


def disposition(v):
    if v is None:
        return None
    if not isinstance(v, list) or len(v) != 2:
        return ("malformed", repr(v))
    return (lower(v[0]), params(v[1]))


def language(v):
    # body-fld-lang: nstring / "(" string *(SP string) ")"; tags are
    # case-insensitive (RFC 3066), a single tag may be sent either way.
    if v is None:
        return None
    vs = v if isinstance(v, list) else [v]
    return tuple(lower(x) for x in vs)


def addresses(v):
    if v is None:
        return None
    return tuple(tuple(s(f) for f in a) for a in v)


ENVELOPE_FIELDS = ["date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
                   "in-reply-to", "message-id"]


def envelope(v, path, out):
    if not isinstance(v, list) or len(v) != 10:
        out[f"{path}"] = ("malformed", repr(v))
        return
    for name, f in zip(ENVELOPE_FIELDS, v):
        if name in ("from", "sender", "reply-to", "to", "cc", "bcc"):
            out[f"{path}.{name}"] = addresses(f)
        else:
            out[f"{path}.{name}"] = s(f)


def body(v, path, out):
    """Flattens a BODYSTRUCTURE into {field path: normalized value}.
    Trailing extension fields a server leaves out count as NIL (RFC 3501
    lets a server stop after any of them)."""
    if not isinstance(v, list) or not v:
        out[path] = ("malformed", repr(v))
        return
    if isinstance(v[0], list):
        children = []
        i = 0
        while i < len(v) and isinstance(v[i], list):
            children.append(v[i])
            i += 1
        for n, c in enumerate(children, 1):
            body(c, f"{path}.{n}" if path != "body" else f"body.{n}", out)
        rest = v[i:]
        out[f"{path}:type"] = "multipart"
        out[f"{path}:subtype"] = lower(rest[0]) if rest else None
        ext = rest[1:] + [None] * 4
        out[f"{path}:params"] = params(ext[0])
        out[f"{path}:disposition"] = disposition(ext[1])
        out[f"{path}:language"] = language(ext[2])
        out[f"{path}:location"] = s(ext[3])
        return
    if len(v) < 7:
        out[path] = ("malformed", repr(v))
        return
    typ, sub = lower(v[0]), lower(v[1])
    out[f"{path}:type"] = typ
    out[f"{path}:subtype"] = sub
    out[f"{path}:params"] = params(v[2])
    out[f"{path}:id"] = s(v[3])
    out[f"{path}:description"] = s(v[4])
    out[f"{path}:encoding"] = lower(v[5])
    out[f"{path}:size"] = s(v[6])
    rest = v[7:]
    if typ == "message" and sub == "rfc822" and len(rest) >= 3 and isinstance(rest[0], list) \
            and isinstance(rest[1], list):
        envelope(rest[0], f"{path}/envelope", out)
        body(rest[1], f"{path}/body", out)
        out[f"{path}:lines"] = s(rest[2])
        rest = rest[3:]
    elif typ == "text":
        out[f"{path}:lines"] = s(rest[0]) if rest else ("missing",)
        rest = rest[1:]
    ext = rest + [None] * 4
    out[f"{path}:md5"] = s(ext[0])
    out[f"{path}:disposition"] = disposition(ext[1])
    out[f"{path}:language"] = language(ext[2])
    out[f"{path}:location"] = s(ext[3])


def flatten(items):
    out = {}
    envelope(items.get("ENVELOPE"), "envelope", out)
    body(items.get("BODYSTRUCTURE"), "body", out)
    return out


def content_key(v):
    # Line endings may be converted, and Dovecot sends NUL as 0x80.
    return hashlib.sha1(re.sub(rb"[\r\n\0\x80]", b"", v or b"")).hexdigest()


# --------------------------------------------------------------------------
# Differences kept on purpose

ABSENT = ("absent",)


class Rule:
    """A difference kept on purpose: Courser's `field` of `message` (globs)
    differs from `server`'s, optionally only `when(ours, theirs, data, key)`."""

    def __init__(self, server, message, field, reason, when=None):
        self.server, self.message, self.field = server, message, field
        self.reason, self.when = reason, when


def header_of(data):
    end = re.search(rb"\r?\n\r?\n", data)
    return data[: end.start() if end else len(data)]


def has_header(data, name):
    return re.search(rb"(?im)^" + re.escape(name) + rb"[ \t]*:", header_of(data)) is not None


class Ctx:
    """What a rule's predicate may look at besides the two values."""

    def __init__(self, data, key, other):
        self.data = data      # the raw message
        self.key = key        # the field path
        self.other = other    # the other reference server's value


def is_crlf(data):
    return b"\r\n" in data


def addr_map(f):
    """A predicate: Courser's address list, mapped address by address
    through f, equals the server's."""
    return lambda o, t, c: bool(o) and bool(t) and tuple(f(*a) for a in o) == t


def courier_addr(n, a, m, h):
    if h is None:  # group markers: Courier sends "" for the name and for NIL
        return (n, a, "", None)
    if a:  # source route: Courier leaves it in the mailbox
        m = f"{a}:{m}"
        a = None
    if m and re.search(r'[\s()<>@,;:\\".\[\]]', m) and not m.startswith("@"):
        m = '"' + m.replace("\\", "\\\\").replace('"', '\\"') + '"'  # keeps the quotes
    return (n, a, m, h)


def dovecot_addr(n, a, m, h):
    if h is None:
        return (n, a, m, h)
    return (n, a, m or "MISSING_MAILBOX", h or "MISSING_DOMAIN")


def decode_2047(v):
    from email.header import decode_header, make_header
    return str(make_header(decode_header(v)))


def ws(v):
    return re.sub(r"\s+", " ", v).strip()


def courser_empty_multipart(o, t, c):
    """Courser's tree equals the server's once the one empty text/plain part
    it gives each childless multipart is dropped (and the server's
    childless multipart printed as a basic body is read as multipart)."""
    parts = dict(p.split("=", 1) for p in o.split())
    kept = []
    for p, typ in parts.items():
        parent = p[:-2] if p.endswith(".1") else None
        if typ == "text/plain" and parent and parts.get(parent, "").startswith("multipart/") \
                and parent + ".2" not in parts:
            continue
        kept.append(f"{p}={typ}")
    return " ".join(sorted(kept)) == " ".join(sorted(t.split()))


NO_MIME_VERSION = (
    "Courier ignores every MIME header of a message (or encapsulated message) "
    "without MIME-Version (RFC 2045 §4 requires it) and describes its body as "
    "one text/plain part. Courser honours Content-Type without it, as Dovecot, "
    "Python's email package and mail clients do (crates/mime lib.rs); the same "
    "messages with MIME-Version added (`+mv`) compare the structure with Courier."
)
SAME_BOUNDARY = (
    "A nested multipart reusing its parent's boundary (malformed, RFC 2046 §5.1.1): "
    "Courser lets the outer boundary win, as Courier does, so part numbers match "
    "Courier's; the inner multipart is then empty, and where Courier prints an "
    "empty multipart as a basic body (not valid RFC 3501: body-type-mpart needs "
    "a body) Courser gives it one empty text/plain part. Dovecot lets the inner "
    "boundary win."
)
NO_BOUNDARY = (
    "multipart without a boundary parameter is an invalid Content-Type; RFC 2045 "
    "§5.2 says to treat it as text/plain; charset=us-ascii, which Courser does. "
    "Courier prints it as a basic body of type multipart (not valid RFC 3501); "
    "Dovecot invents one empty text/plain child."
)
EMPTY_MULTIPART = (
    "A multipart whose boundary never occurs has no parts; Courser gives it one "
    "empty text/plain part (as Dovecot does for a multipart without boundary) "
    "because RFC 3501's body-type-mpart needs at least one body; Courier prints "
    "it as a basic body of type multipart."
)
DEPTH = (
    "Courser stops MIME nesting at parse::MAX_DEPTH = 50 levels and treats the "
    "rest as one application/octet-stream part (a resource limit, crates/mime "
    "lib.rs); Courier and Dovecot (limit 100) go on to the 60th level."
)
UNCLOSED = (
    "Multipart without a close delimiter: the line ending before the end of the "
    "last part is dropped as if a boundary followed, exactly as Courier counts "
    "it; Dovecot keeps it (one more line, two more octets)."
)
COURIER_DEFAULT_CHARSET = (
    "A part without Content-Type gets RFC 2045's default, text/plain; "
    "charset=us-ascii, with the charset spelled out (as in RFC 3501's examples "
    "and Dovecot); Courier sends NIL parameters."
)

RULES = [
    # ---- Courier ------------------------------------------------------
    Rule("courier", "*", "shape", NO_MIME_VERSION,
         lambda o, t, c: not has_header(c.data, b"MIME-Version")),
    Rule("courier", "*", "body*", NO_MIME_VERSION,
         lambda o, t, c: not has_header(c.data, b"MIME-Version")),
    Rule("courier", "gen-*-k13*+mv", "shape", NO_MIME_VERSION + " Here the inner message "
         "of a message/rfc822 has no MIME-Version."),
    Rule("courier", "gen-*-k10*+mv", "shape", EMPTY_MULTIPART, courser_empty_multipart),
    Rule("courier", "gen-*-k11*+mv", "shape", NO_BOUNDARY),
    Rule("courier", "gen-*-k15*+mv", "shape", DEPTH),
    Rule("courier", "py-msg_14.txt", "shape",
         "`Content-Type: text` (no subtype) is invalid: RFC 2045 §5.2 default "
         "text/plain; Courier sends subtype \"\" (Dovecot \"\" \"\")."),
    Rule("courier", "py-msg_25.txt", "shape", NO_BOUNDARY),
    Rule("courier", "py-msg_41.txt", "shape", NO_BOUNDARY),
    Rule("courier", "py-msg_33.txt", "shape",
         "The boundary is given only as an RFC 2231 extended parameter "
         "(boundary*=…''…); Courser decodes it, as Python's email package does, "
         "and finds both parts. Courier and Dovecot see no boundary."),
    Rule("courier", "py-msg_15.txt", "shape", SAME_BOUNDARY, courser_empty_multipart),
    Rule("courier", "py-msg_39.txt", "shape", SAME_BOUNDARY, courser_empty_multipart),
    Rule("courier", "odd-nested-same-boundary*", "shape", SAME_BOUNDARY, courser_empty_multipart),
    Rule("courier", "*", "shape", EMPTY_MULTIPART, courser_empty_multipart),
    Rule("courier", "py-msg_47.txt", "body.2:size",
         "A part whose header block is not ended by an empty line (malformed): "
         "Courser reads up to the first empty line as header, as Dovecot does, "
         "leaving an empty body; Courier counts part of it as body."),
    Rule("courier", "py-msg_43.txt", "body.[23]:params",
         "Courier copies the enclosing multipart's charset parameter onto parts "
         "whose Content-Type has none; Courser (and Dovecot) send each part's own "
         "parameters (RFC 2045 §5).",
         lambda o, t, c: o is None and t == (("charset", "utf-8"),)),
    Rule("courier", "*", "*:encoding",
         "No Content-Transfer-Encoding means 7BIT (RFC 2045 §6.1); Courier says 8bit.",
         lambda o, t, c: o == "7bit" and t == "8bit"),
    Rule("courier", "*", "*:size",
         "Courier assumes LF-only maildir files: in a CRLF file it counts each CR "
         "as content and then adds one for the LF. Courser and Dovecot count a "
         "CRLF as one line ending, so their sizes match the CRLF form they send.",
         lambda o, t, c: is_crlf(c.data) and int(t) > int(o) and o == c.other),
    Rule("courier", "*", "*:size",
         "Courier's sizes of message/rfc822 parts, and of the bodies inside them, "
         "are one octet off: it keeps the CR of the CRLF before the next boundary "
         "in the part (its BODY[1] of a digest entry ends in a bare CR), though "
         "that CRLF belongs to the boundary (RFC 2046 §5.1.1). Courser and "
         "Dovecot agree.",
         lambda o, t, c: re.search(rb"(?i)message/rfc822|multipart/digest", c.data)
         and abs(int(t) - int(o)) == 1 and o == c.other),
    Rule("courier", "*", "*/body:lines",
         "The same off-by-one inside message/rfc822: a body of one empty line "
         "is 1 line (Courser, Dovecot), Courier says 0.",
         lambda o, t, c: o == c.other and abs(int(t) - int(o)) == 1),
    Rule("courier", "*", "*:params", COURIER_DEFAULT_CHARSET,
         lambda o, t, c: o == (("charset", "us-ascii"),) and t is None),
    Rule("courier", "*", "*:params",
         "RFC 2231 continuations are joined (NAME*0*, NAME*1 → NAME*), as Dovecot "
         "does, so clients without RFC 2231 continuation support see the whole "
         "value (crates/mime lib.rs); Courier sends the segments as they are.",
         lambda o, t, c: o != t and any(k.endswith("*") for k, _ in o)
         and any(re.search(r"\*\d", k) for k, _ in t)),
    Rule("courier", "*", "*:disposition",
         "RFC 2231 continuations are joined in disposition parameters too (see params).",
         lambda o, t, c: o[0] == t[0] and any(re.search(r"\*\d", k) for k, _ in t[1])),
    Rule("courier", "*", "*:language",
         "Courier does not send Content-Language (body-fld-lang NIL); Courser does.",
         lambda o, t, c: t is None and o == c.other),
    Rule("courier", "*", "*:location",
         "Courier stops its extension data before body-fld-loc (Content-Location); "
         "Courser sends it.",
         lambda o, t, c: t is None),
    Rule("courier", "*", "*envelope.*",
         "Address structures follow RFC 3501 §7.4.2 (as Dovecot): a group start "
         "carries the group name and its end has NIL mailbox, a source route goes "
         "in addr-adl, and addr-mailbox is the local part without its quoting. "
         "Courier sends \"\" for group names and ends, leaves a route in the "
         "mailbox and keeps the quotes.",
         addr_map(courier_addr)),
    Rule("courier", "*", "*envelope.subject",
         "Courier assumes LF-only files: in a CRLF file the CR of a folded line "
         "stays in the header and becomes a space.",
         lambda o, t, c: is_crlf(c.data) and ws(o) == ws(t)),
    Rule("courier", "*", "*envelope.subject",
         "Raw 8-bit header text is sent as it is in the file (a literal), as "
         "Dovecot does; Courier wraps it in =?utf-8?B?…?= assuming UTF-8.",
         lambda o, t, c: o != t and decode_2047(t) == o),
    # ---- Dovecot ------------------------------------------------------
    Rule("dovecot", "*", "*envelope.*",
         "An address without domain (or without mailbox) has \"\" there, as "
         "Courier sends it; Dovecot invents MISSING_DOMAIN / MISSING_MAILBOX.",
         addr_map(dovecot_addr)),
    Rule("dovecot", "*", "*envelope.*-id",
         "ENVELOPE strings are unfolded and trimmed as Courier does; Dovecot keeps "
         "the whitespace after a folded Message-ID:/In-Reply-To:.",
         lambda o, t, c: t.strip() == o),
    Rule("dovecot", "*", "*envelope.subject",
         "Unfolding removes only the CRLF (RFC 5322 §2.2.3), keeping the TAB, as "
         "Courier does; Dovecot turns it into a space.",
         lambda o, t, c: o.replace("\t", " ") == t),
    Rule("dovecot", "*", "*envelope.subject",
         "An empty Subject: is NIL, as Courier sends it; Dovecot sends \"\".",
         lambda o, t, c: o is None and t == "" and c.other is None),
    Rule("dovecot", "*", "*:params",
         "Dovecot adds charset=us-ascii to every text part whose Content-Type has "
         "no charset; Courser sends the parameters as written, as Courier does.",
         lambda o, t, c: tuple(o or ()) + (("charset", "us-ascii"),) == t),
    Rule("dovecot", "*", "*:params",
         "Joining RFC 2231 continuations where some segments are not %-encoded, "
         "Courser %-encodes those segments so the joined NAME* value stays valid "
         "RFC 2231; Dovecot pastes them in raw (a literal % would be misread).",
         lambda o, t, c: [k for k, _ in o] == [k for k, _ in t]
         and [urllib.parse.unquote(v) for _, v in o] == [urllib.parse.unquote(v) for _, v in t]),
    Rule("dovecot", "*", "*:location",
         "Content-Location is a URI: folding whitespace is removed when unfolding "
         "(RFC 2557 §4.4.1); Dovecot keeps a space.",
         lambda o, t, c: o == t.replace(" ", "")),
    Rule("dovecot", "gen-*-k8*", "body.2:size", UNCLOSED),
    Rule("dovecot", "gen-*-k8*", "body.2:lines", UNCLOSED),
    Rule("dovecot", "gen-*-k11*", "shape", NO_BOUNDARY),
    Rule("dovecot", "py-msg_25.txt", "shape", NO_BOUNDARY),
    Rule("dovecot", "py-msg_41.txt", "shape", NO_BOUNDARY),
    Rule("dovecot", "gen-*-k15*", "shape", DEPTH),
    Rule("dovecot", "py-msg_14.txt", "shape",
         "`Content-Type: text` (no subtype) is invalid: RFC 2045 §5.2 default "
         "text/plain; Dovecot sends type and subtype \"\"."),
    Rule("dovecot", "py-msg_33.txt", "shape",
         "The boundary is given only as an RFC 2231 extended parameter; Courser "
         "decodes it (as Python's email package does); Dovecot sees no boundary."),
    Rule("dovecot", "py-msg_15.txt", "shape", SAME_BOUNDARY),
    Rule("dovecot", "py-msg_39.txt", "shape", SAME_BOUNDARY),
    Rule("dovecot", "odd-nested-same-boundary*", "shape", SAME_BOUNDARY),
]


def explain(server, name, data, key, ours, theirs, other=ABSENT):
    """The reason a difference between Courser and `server` is kept, or None.
    `other` is the other reference server's value for the same field."""
    for r in RULES:
        if r.server != server or not fnmatch.fnmatch(name, r.message) \
                or not fnmatch.fnmatch(key, r.field):
            continue
        try:
            if r.when is None or r.when(ours, theirs, Ctx(data, key, other)):
                return r.reason
        except (TypeError, ValueError, AttributeError):
            pass  # a predicate meant for another shape of value
    return None


def shape(flat):
    """The MIME tree: each part's path and type/subtype."""
    return " ".join(f"{k[:-5]}={flat[k]}/{flat.get(k[:-5] + ':subtype')}"
                    for k in sorted(flat) if k.endswith(":type"))


def differences(msgs, got):
    """[(server, message, data, field, courser value, server value, other
    server's value)] for
    every field where Courser and a reference server disagree. When the
    MIME trees differ, that is one difference (field `shape`) and the body
    fields are not compared further."""
    out = []
    for seq, (name, data) in enumerate(msgs, 1):
        flat = {srv: flatten(items[seq]) for srv, items in got.items()}
        ours = flat["courser"]
        for server, other in (("courier", "dovecot"), ("dovecot", "courier")):
            theirs = flat[server]
            keys = set(ours) | set(theirs)
            if shape(ours) != shape(theirs):
                out.append((server, name, data, "shape", shape(ours), shape(theirs),
                            shape(flat[other])))
                keys = {k for k in keys if not k.startswith("body")}
            for k in sorted(keys):
                a, b = ours.get(k, ABSENT), theirs.get(k, ABSENT)
                if a != b:
                    out.append((server, name, data, k, a, b, flat[other].get(k, ABSENT)))
    return out


@pytest.fixture(scope="module")
def answers():
    tmp = Path(tempfile.mkdtemp(prefix="courser-diff-"))
    try:
        uid, gid = serving_ids()
        if os.getuid() == 0:
            os.chmod(tmp, 0o755)
        msgs = corpus(tmp)
        got = {}
        for name, run in (("courser", courser), ("courier", courier), ("dovecot", dovecot)):
            home = tmp / name
            home.mkdir()
            write_maildir(home, msgs, uid, gid)
            raw = run(home, uid, gid)
            if os.environ.get("COURSER_DIFF_DUMP"):
                Path(os.environ["COURSER_DIFF_DUMP"], name + ".txt").write_bytes(raw)
            got[name] = fetch_items(raw)
        yield msgs, got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_differential_envelope_bodystructure(answers):
    msgs, got = answers
    assert len(msgs) >= 100
    for server, items in got.items():
        assert len(items) == len(msgs), f"{server} answered {len(items)} of {len(msgs)}"
        for seq, (name, data) in enumerate(msgs, 1):
            assert content_key(items[seq].get("BODY[]")) == content_key(data), (
                f"{server} message {seq} is not {name}: maildir order differs")
    unexplained, kept = [], {}
    for server, name, data, key, ours, theirs, other in differences(msgs, got):
        reason = explain(server, name, data, key, ours, theirs, other)
        if reason is None:
            unexplained.append(f"{name} {key}: courser={ours!r} {server}={theirs!r}")
        else:
            kept[(server, reason)] = kept.get((server, reason), 0) + 1
    print(f"\n{len(msgs)} messages compared; differences kept on purpose:")
    for (server, reason), n in sorted(kept.items()):
        print(f"  {n:4} vs {server}: {reason[:110]}")
    assert not unexplained, f"{len(unexplained)} unexplained differences:\n" + "\n".join(unexplained)
