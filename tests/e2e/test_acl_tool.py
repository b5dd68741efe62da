"""`courser acl` against Courier's `maildiracl`: random sequences of
commands on two copies of one maildir, Courier's tool on one and ours on
the other. Every command must print the same (stdout, stderr, exit
status) and the two maildirs must end byte-identical: names, contents,
modes."""

import os
import random
import shutil
import stat
import subprocess
import time

import pytest

from conftest import BIN

MAILDIRACL = "/usr/bin/maildiracl"

FOLDERS = ["a", "a.b", "c", "c.d.e"]
NAMES = ["INBOX", "INBOX.", "INBOX.a", "INBOX.a.b", "INBOX.c", "INBOX.c.d", "INBOX.c.d.e",
         "INBOX.zz", "INBOX.zz.y", "INBOX.a.q", "INBOX.a.b.new",
         "INBOX..x", "INBOX.a.", "INBOX..", "INBOX.a/b", "INBOXa", "foo", ""]
IDENTIFIERS = ["owner", "anyone", "anonymous", "user=bob", "user=alice", "group=staff",
               "administrators", "group=administrators", "-owner", "-anyone",
               "-anonymous", "-user=bob", "-group=staff", "-administrators",
               "-group=administrators", "vendor=x", "user=\u00e9", "user=a b", "", "-"]
LETTERS = "acdeilprstwx"
BAD = ["Z", "!", " ", "\t", "\u00e9"]
JUNK_FILE = (b"owner aceilrstwx\n\nuser=bob  lr\nuser=x r w\n\tanyone l\n"
             b"user=bob r\r\n-administrators l\ngroup=staff\nanyone l\0junk\n")


def tool_or_skip():
    if not os.access(MAILDIRACL, os.X_OK):
        if os.environ.get("COURSER_FULL_TESTS") == "1":
            pytest.fail(f"{MAILDIRACL} is missing (apt-get install courier-imap)")
        pytest.skip(f"{MAILDIRACL} not installed")


def make_maildir(root):
    m = root / "Maildir"
    for f in [""] + ["." + f for f in FOLDERS]:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(m / f / sub, mode=0o700, exist_ok=True)
    return m


def rights(rng):
    r = "".join(rng.sample(LETTERS, rng.randint(0, 5)))
    if rng.random() < 0.1:
        r += rng.choice(BAD)
    return rng.choice(["", "+", "-", ""]) + r


def command(rng):
    kind = rng.choices(["-list", "-set", "-delete", "-compute", "-reset", "usage"],
                       weights=[3, 8, 2, 4, 1, 1])[0]
    name = rng.choice(NAMES) if rng.random() < 0.3 else rng.choice(NAMES[:11])
    if kind == "-list":
        return [kind, "Maildir", name]
    if kind == "-set":
        return [kind, "Maildir", name, rng.choice(IDENTIFIERS), rights(rng)]
    if kind == "-delete":
        return [kind, "Maildir", name, rng.choice(IDENTIFIERS)]
    if kind == "-compute":
        held = rng.sample(IDENTIFIERS[:8], rng.randint(1, 4))
        return [kind, "Maildir", name] + held
    if kind == "-reset":
        return [kind, "Maildir"]
    return rng.choice([[], ["-list"], ["-bogus", "Maildir", "INBOX"], ["-list", "Maildir"],
                       ["-set", "Maildir", "INBOX", "owner"], ["-delete", "Maildir", "INBOX"],
                       ["-compute", "Maildir", "INBOX"]])


def run(argv, cwd, executable):
    p = subprocess.run(argv, executable=executable, cwd=cwd, capture_output=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def snapshot(m):
    out = {}
    for dirpath, dirnames, filenames in os.walk(m):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            data = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else None
            out[os.path.relpath(p, m)] = (stat.S_IMODE(st.st_mode), data)
    return out


def age_hier_entries(m):
    """-reset only removes entries older than an hour: age some of them,
    the same on both sides."""
    hier = m / "courierimaphieracl"
    if hier.is_dir():
        old = time.time() - 7200
        for i, n in enumerate(sorted(os.listdir(hier))):
            if i % 2 == 0:
                os.utime(hier / n, (old, old))


@pytest.mark.parametrize("seed", range(12))
def test_random_sequences_match_maildiracl(tmp_path, seed):
    tool_or_skip()
    rng = random.Random(seed)
    courier = tmp_path / "courier"
    ours = tmp_path / "ours"
    make_maildir(courier)
    if seed % 3 == 0:
        (courier / "Maildir" / ".c" / "courierimapacl").write_bytes(JUNK_FILE)
    shutil.copytree(courier, ours, symlinks=True)
    for step in range(60):
        argv = command(rng)
        if argv[:1] == ["-reset"]:
            age_hier_entries(courier / "Maildir")
            age_hier_entries(ours / "Maildir")
        # maildiracl names itself by its argv[0], as scripts call it
        want = run(["maildiracl"] + argv, courier, MAILDIRACL)
        got = run([BIN, "acl"] + argv, ours, BIN)
        assert got == want, (seed, step, argv)
        assert snapshot(ours / "Maildir") == snapshot(courier / "Maildir"), (seed, step, argv)


EDGE_CASES = [
    ["-list", "Missing", "INBOX"],
    ["-list", "Missing", "INBOX.a"],
    ["-set", "Missing", "INBOX", "user=bob", "lr"],
    ["-reset", "Missing"],
    ["-list", "Maildir", "INBOX.d"],          # courierimapacl is a directory
    ["-list", "Broken", "INBOX.x"],           # courierimaphieracl is a file
    ["-set", "Broken", "INBOX.x", "anyone", "l"],
    ["-list", "Maildir", "INBOX.."],
    ["-compute", "Maildir", "INBOX.c", "owner", "-owner"],
]


def test_edge_cases_match_maildiracl(tmp_path):
    tool_or_skip()
    courier = tmp_path / "courier"
    ours = tmp_path / "ours"
    make_maildir(courier)
    os.makedirs(courier / "Maildir" / ".d" / "courierimapacl")
    broken = courier / "Broken"
    for sub in ("cur", "new", "tmp"):
        os.makedirs(broken / sub)
    (broken / "courierimaphieracl").write_bytes(b"")
    shutil.copytree(courier, ours, symlinks=True)
    for argv in EDGE_CASES:
        want = run(["maildiracl"] + argv, courier, MAILDIRACL)
        got = run([BIN, "acl"] + argv, ours, BIN)
        assert got == want, argv
    for m in ("Maildir", "Broken"):
        assert snapshot(ours / m) == snapshot(courier / m)
    assert not (ours / "Missing").exists()
