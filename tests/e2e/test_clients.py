"""Real IMAP clients from Debian against the real server: curl, and two sync
clients (mbsync from isync, offlineimap3), each syncing a 1,000-message
account down to a local maildir and back up with flag changes and new
folders, checked message by message on both sides.

Without the tools these tests skip, unless COURSER_FULL_TESTS=1 (set by
scripts/test.sh), where a missing tool fails the test."""

import email.utils
import imaplib
import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import USERS

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"


def need(tool):
    if shutil.which(tool) is None:
        if FULL:
            pytest.fail(f"{tool} is not installed (COURSER_FULL_TESTS=1)")
        pytest.skip(f"{tool} is not installed")


# --- a deterministic 1,000-message account ------------------------------------

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
         "xi omicron pi rho sigma tau upsilon phi chi psi omega mail sync folder "
         "server client message flag test maildir courier quick brown fox").split()
FOLDERS = {"INBOX": 600, "INBOX.Archive": 250, "INBOX.Work": 100, "INBOX.Work.Projects": 50}
# Maildir info letters the sync clients carry (keywords they do not).
FLAG_LETTERS = "DFRS"
IMAP_FLAG = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}


def make_message(rng, i):
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
    date = email.utils.formatdate(1600000000 + i * 3607, localtime=False)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
             for _ in range(rng.randint(1, 30))]
    head = (f"From: Sender {i % 37} <sender{i % 37}@example.org>\r\n"
            f"To: alice@example.org\r\n"
            f"Subject: [{i:04d}] {subject}\r\n"
            f"Date: {date}\r\n"
            f"Message-ID: <gen-{i}@courser.test>\r\n")
    if i % 10 == 0:
        body = ("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b{0}\"\r\n\r\n"
                "--b{0}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{1}\r\nGrüße\r\n"
                "--b{0}\r\nContent-Type: application/octet-stream\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgc=\r\n--b{0}--\r\n").format(
                    i, "\r\n".join(lines))
        return (head + body).encode()
    return (head + "\r\n" + "\r\n".join(lines) + "\r\n").encode()


def corpus():
    """{folder: {message-id: (bytes, flags letters)}}, always the same."""
    rng = random.Random(20261125)
    out, i = {}, 0
    for folder, n in FOLDERS.items():
        box = out.setdefault(folder, {})
        for _ in range(n):
            i += 1
            flags = "".join(c for c in FLAG_LETTERS if rng.random() < 0.3)
            box[f"<gen-{i}@courser.test>"] = (make_message(rng, i), flags)
    return out


def seed_account(server, data):
    """Writes the corpus straight into the maildir, as an MDA would."""
    md = server.maildir()
    n = 0
    for folder, msgs in data.items():
        d = md if folder == "INBOX" else md / ("." + folder[len("INBOX."):])
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if folder != "INBOX":
            (d / "maildirfolder").touch()
        for mid, (body, flags) in msgs.items():
            n += 1
            p = d / "cur" / f"{1600000000 + n}.M{n}P1.seed:2,{flags}"
            p.write_bytes(body)
            os.utime(p, (1600000000 + n, 1600000000 + n))
    server.chown()


def message_id(data):
    m = re.search(rb"^Message-ID:\s*(<[^>\r\n]*>)", data, re.I | re.M)
    return m.group(1).decode() if m else None


def server_state(server):
    """{folder: {message-id: (bytes, flags letters)}} read over IMAP."""
    c = server.connect()
    typ, lines = c.list()
    assert typ == "OK"
    names = []
    for ln in lines:
        m = re.match(rb'\(([^)]*)\) "." "?([^"]*)"?$', ln)
        assert m, ln
        if b"\\noselect" not in m.group(1).lower():
            names.append(m.group(2).decode())
    out = {}
    for name in names:
        typ, d = c.select(f'"{name}"', readonly=True)
        assert typ == "OK", (name, d)
        box = out.setdefault(name, {})
        if int(d[0]) == 0:
            continue
        typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        assert typ == "OK"
        flags_by_uid = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            m = re.search(rb"UID (\d+)", line)
            f = re.search(rb"FLAGS \(([^)]*)\)", line)
            if m and f:
                flags_by_uid[int(m.group(1))] = f.group(1).decode().split()
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        assert typ == "OK"
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            flags = flags_by_uid[uid]
            letters = "".join(sorted(k for k, v in IMAP_FLAG.items() if v in flags))
            body = item[1]
            mid = message_id(body)
            assert mid not in box, f"duplicate {mid} in {name}"
            box[mid] = (body, letters)
    c.logout()
    return out


def maildir_messages(d):
    out = {}
    for sub in ("cur", "new"):
        for p in sorted((d / sub).iterdir()) if (d / sub).is_dir() else []:
            flags = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
            body = p.read_bytes()
            mid = message_id(body)
            assert mid not in out, f"duplicate {mid} in {d}"
            out[mid] = (body, "".join(sorted(c for c in flags if c in FLAG_LETTERS)))
    return out


def strip_tuid(b):
    """mbsync marks messages it stores with an X-TUID header."""
    return re.sub(rb"(?m)^X-TUID: [^\r\n]*\r?\n", b"", b, count=1)


def normalize(state, lf=False):
    return {f: {m: (strip_tuid(b.replace(b"\r\n", b"\n") if lf else b), "".join(sorted(fl)))
                for m, (b, fl) in box.items()} for f, box in state.items()}


def assert_same(got, want, what, lf=False):
    """lf: compare with line ends as LF (offlineimap's local maildir)."""
    got, want = normalize(got, lf), normalize(want, lf)
    assert sorted(got) == sorted(want), f"{what}: folders {sorted(got)} != {sorted(want)}"
    for folder in want:
        g, w = got[folder], want[folder]
        missing = sorted(set(w) - set(g))[:5]
        extra = sorted(set(g) - set(w))[:5]
        assert not missing and not extra, f"{what} {folder}: missing {missing} extra {extra}"
        for mid in w:
            assert g[mid][0] == w[mid][0], f"{what} {folder} {mid}: content differs"
            assert g[mid][1] == w[mid][1], f"{what} {folder} {mid}: flags {g[mid][1]!r} != {w[mid][1]!r}"


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, timeout=600, **kw)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    assert r.returncode == 0, f"{args[0]} exited {r.returncode}:\n{out[-3000:]}\n{err[-3000:]}"
    return r


def curl(*args):
    """curl's output, bytes exactly."""
    return run(["curl", "-sS", "--max-time", "30", *args]).stdout


def local_changes(data, new_prefix, rename_flags, add_new_folder):
    """Applies the same changes to the expected state as the test makes on
    the local side; returns the new messages to write."""
    rng = random.Random(new_prefix)
    changed = {}
    for folder in ("INBOX", "INBOX.Archive"):
        for mid in sorted(data[folder])[:: 7]:
            body, flags = data[folder][mid]
            new = "".join(sorted(set(flags) ^ {"F", "S"}))
            data[folder][mid] = (body, new)
            changed[(folder, mid)] = new
    added = {}
    for folder in ("INBOX.Work", add_new_folder):
        for k in range(5):
            i = 5000 + len(added)
            body = make_message(rng, i).replace(b"<gen-%d@" % i, f"<{new_prefix}-{i}@".encode())
            mid = message_id(body)
            added[(folder, mid)] = body
            data.setdefault(folder, {})[mid] = (body, "S" if k % 2 else "")
    return changed, added


# --- curl -----------------------------------------------------------------------

def test_curl_list_fetch_append_search(server, tmp_path):
    need("curl")
    c = server.connect()
    c.create("INBOX.Curl")
    c.append("INBOX", None, None, make_message(random.Random(1), 1))
    c.logout()
    base = f"imap://alice:{USERS['alice']}@127.0.0.1:{server.proxy_port}"
    r = curl(base + "/")
    assert '"INBOX"' in r.decode(errors="replace") or " INBOX" in r.decode(errors="replace"), r.decode(errors="replace")
    assert "INBOX.Curl" in r.decode(errors="replace")
    r = curl(base + "/INBOX;UID=1")
    assert r == make_message(random.Random(1), 1)
    r = curl(base + "/INBOX;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)")
    assert r.decode(errors="replace").startswith("Subject: [0001]")
    m = make_message(random.Random(2), 2)
    (tmp_path / "up.eml").write_bytes(m)
    curl("-T", str(tmp_path / "up.eml"), base + "/INBOX.Curl")
    r = curl(base + "/INBOX.Curl;UID=1")
    assert r == m
    r = curl(base + "/INBOX?SUBJECT%20%5B0001%5D")
    assert r.decode(errors="replace").strip() == "* SEARCH 1"
    r = curl("-X", "STATUS INBOX.Curl (MESSAGES)", base + "/")
    assert "MESSAGES 1" in r.decode(errors="replace")
    r = curl("-X", "EXAMINE INBOX", base + "/")
    assert "EXISTS" in r.decode(errors="replace")
    # Over STARTTLS too.
    r = curl("--ssl-reqd", "-k",
             f"imap://alice:{USERS['alice']}@127.0.0.1:{server.imap_port}/INBOX;UID=1")
    assert r == make_message(random.Random(1), 1)
    # And implicit TLS.
    r = curl("-k",
             f"imaps://alice:{USERS['alice']}@127.0.0.1:{server.imaps_port}/INBOX;UID=1")
    assert r == make_message(random.Random(1), 1)


# --- mbsync -----------------------------------------------------------------------

def mbsync_config(server, tmp_path, local):
    cfg = tmp_path / "mbsyncrc"
    cfg.write_text(f"""
IMAPAccount courser
Host 127.0.0.1
Port {server.proxy_port}
User alice
Pass {USERS['alice']}
SSLType None
AuthMechs LOGIN
PipelineDepth 20

IMAPStore remote
Account courser

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")
    return cfg


def mbsync_local_state(local):
    out = {}
    for d in sorted(local.rglob("cur")):
        folder_dir = d.parent
        rel = folder_dir.relative_to(local).as_posix()
        # mbsync drops the personal namespace prefix "INBOX.".
        name = "INBOX" if rel == "INBOX" else "INBOX." + rel.replace("/", ".")
        out[name] = maildir_messages(folder_dir)
    return out


def test_mbsync_round_trip(server, tmp_path):
    need("mbsync")
    data = corpus()
    seed_account(server, data)
    local = tmp_path / "mail"
    local.mkdir()
    cfg = mbsync_config(server, tmp_path, local)
    run(["mbsync", "-c", str(cfg), "-a"])
    # Down: every message, its content and flags.
    assert_same(mbsync_local_state(local), data, "mbsync local after first sync", lf=True)

    # Local changes: flags toggled, new messages, a new folder.
    changed, added = local_changes(data, "mbsync", None, "INBOX.NewLocal")
    index = {}
    for d in list(local.rglob("cur")) + list(local.rglob("new")):
        for p in d.iterdir():
            index[message_id(p.read_bytes())] = p
    for (folder, mid), flags in changed.items():
        p = index[mid]
        base = p.name.split(":2,", 1)[0]
        p.rename(p.parent / f"{base}:2,{flags}")
    for k, ((folder, mid), body) in enumerate(added.items()):
        d = local / "INBOX" if folder == "INBOX" else local / "/".join(folder.split(".")[1:])
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        # mbsync keeps local files with LF line ends.
        (d / "cur" / f"{int(time.time())}.{k}_new.local:2,{data[folder][mid][1]}").write_bytes(
            body.replace(b"\r\n", b"\n"))
    # And a change on the server side, to travel down in the same run.
    c = server.connect()
    c.select("INBOX.Work.Projects")
    c.store("1:10", "+FLAGS", "(\\Flagged)")
    c.logout()
    for mid in sorted(data["INBOX.Work.Projects"], key=lambda m: int(re.search(r"\d+", m).group()))[:10]:
        body, flags = data["INBOX.Work.Projects"][mid]
        data["INBOX.Work.Projects"][mid] = (body, "".join(sorted(set(flags) | {"F"})))

    run(["mbsync", "-c", str(cfg), "-a"])
    assert_same(server_state(server), data, "server after mbsync upload")
    assert_same(mbsync_local_state(local), data, "mbsync local after second sync", lf=True)
    # A third run changes nothing.
    run(["mbsync", "-c", str(cfg), "-a"])
    assert_same(server_state(server), data, "server after idempotent mbsync")


# --- offlineimap3 ------------------------------------------------------------------

def offlineimap_config(server, tmp_path, local):
    cfg = tmp_path / "offlineimaprc"
    cfg.write_text(f"""
[general]
accounts = test
metadata = {tmp_path}/offlineimap-meta
ui = basic

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {local}
sep = .

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {server.proxy_port}
remoteuser = alice
remotepass = {USERS['alice']}
ssl = no
starttls = no
maxconnections = 2
""")
    return cfg


def offlineimap_local_state(local):
    return {d.name: maildir_messages(d) for d in sorted(local.iterdir()) if (d / "cur").is_dir()}


def test_offlineimap_round_trip(server, tmp_path):
    need("offlineimap")
    data = corpus()
    seed_account(server, data)
    local = tmp_path / "mail"
    local.mkdir()
    cfg = offlineimap_config(server, tmp_path, local)
    cmd = ["offlineimap", "-c", str(cfg), "-o", "-u", "basic"]
    run(cmd)
    assert_same(offlineimap_local_state(local), data, "offlineimap local after first sync", lf=True)

    changed, added = local_changes(data, "offlineimap", None, "INBOX.NewLocal")
    index = {}
    for d in local.iterdir():
        for sub in ("cur", "new"):
            for p in (d / sub).iterdir() if (d / sub).is_dir() else []:
                index[message_id(p.read_bytes())] = p
    for (folder, mid), flags in changed.items():
        p = index[mid]
        base = p.name.split(":2,", 1)[0]
        p.rename(p.parent / f"{base}:2,{flags}")
    for k, ((folder, mid), body) in enumerate(added.items()):
        d = local / folder
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        # offlineimap keeps local files with LF line ends.
        (d / "cur" / f"{int(time.time())}_{k}.local:2,{data[folder][mid][1]}").write_bytes(
            body.replace(b"\r\n", b"\n"))
    c = server.connect()
    c.select("INBOX.Work.Projects")
    c.store("1:10", "+FLAGS", "(\\Flagged)")
    c.logout()
    for mid in sorted(data["INBOX.Work.Projects"], key=lambda m: int(re.search(r"\d+", m).group()))[:10]:
        body, flags = data["INBOX.Work.Projects"][mid]
        data["INBOX.Work.Projects"][mid] = (body, "".join(sorted(set(flags) | {"F"})))

    run(cmd)
    assert_same(server_state(server), data, "server after offlineimap upload")
    assert_same(offlineimap_local_state(local), data, "offlineimap local after second sync", lf=True)
    run(cmd)
    assert_same(server_state(server), data, "server after idempotent offlineimap")
