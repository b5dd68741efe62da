"""Account lists (`courser authenumerate [-s] [-o]`) and the virtual
shared folder index (`courser shared-index`) from every kind of account
source: a userdb, PostgreSQL, slapd and an authpipe program, each
compared with what was put in; the index read back with a small reader
of Courier's format (groups followed, universes apart); the old index
left whole when a backend fails; and, against Courier's own tools, the
same userdb through Courier's authdaemond and `authenumerate` (read
directly, and through Courser's authdaemond client), and the index files
Courier's `sharedindexsplit` writes from that list.

Servers come from the fixtures of test_auth_backends.py; with
COURSER_FULL_TESTS=1 a missing one fails the test, otherwise it skips."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import BIN
from test_auth_backends import (  # noqa: F401 (fixtures)
    HERE, SQL_TABLE, Accounts, courier_authdaemond, ldap_backend, need, postgres, slapd,
    sql_backend, sql_inserts, toml_str,
)

LISTENER = '[[listener]]\nprotocol = "imap"\naddress = "127.0.0.1:1"\n'


@pytest.fixture
def accounts():
    """The backends' usual test accounts plus two in universe `g1`, one
    with sharing disabled and one named outside the first letters."""
    a = Accounts(schemes=False)
    a.add("ann", options="sharedgroup=g1")
    a.add("abe", options="sharedgroup=g1,disableimap=1")
    a.add("private", options="disableshared=1")
    a.add("zed")
    yield a
    a.cleanup()


def courser(*args, check=True):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, f"courser {' '.join(args)}: {r.stderr}"
    return r


def config_file(d, backends):
    """A configuration file of its own (a fresh name each call)."""
    fd, p = tempfile.mkstemp(prefix="courser-", suffix=".toml", dir=d)
    os.write(fd, (LISTENER + backends).encode())
    os.close(fd)
    return p


def listed(source, *flags):
    """`courser authenumerate` lines, split into columns, sorted."""
    out = courser("authenumerate", *source, *flags).stdout
    return sorted(tuple(line.split("\t")) for line in out.splitlines())


def expected(acc, login=lambda u: u, maildir=lambda v: v["home"] + "/Maildir",
             shared_only=False, options=None):
    rows = []
    for u, v in acc.users.items():
        if shared_only and "disableshared=1" in v["options"]:
            continue
        row = (login(u), str(acc.uid), str(acc.gid), v["home"], maildir(v))
        if options is not None:
            row += (options(v),)
        rows.append(row)
    return sorted(rows)


def read_index(top):
    """Courier's reader, simplified: every account reachable from `top`
    as name -> (uid, gid, home, maildir, groups on the way)."""
    found = {}

    def walk(path, groups):
        for line in path.read_text().splitlines():
            line = line.split("#")[0]
            if not line.strip():
                continue
            f = line.split("\t")
            if f[1].startswith("*"):
                assert f[2] not in groups, "a group cycle"
                walk(path.parent / f[2], groups + (f[0],))
            else:
                assert f[0] not in found, f"{f[0]} twice"
                maildir = f[4] if len(f) > 4 and f[4] else None
                found[f[0]] = (int(f[1]), int(f[2]), f[3], maildir, groups)

    walk(Path(top), ())
    return found


def check_index(d, acc, login=lambda u: u, maildir=lambda v: v["home"] + "/Maildir",
                letters=0):
    """The index under `d` holds exactly the sharing accounts, each in its
    universe, under the letter groups."""
    universes = {}
    for u, v in acc.users.items():
        if "disableshared=1" in v["options"]:
            continue
        g = v["options"].split("sharedgroup=")[1].split(",")[0] if "sharedgroup=" in \
            v["options"] else ""
        universes.setdefault(g, {})[login(u)] = v
    for g, members in universes.items():
        got = read_index(Path(d) / f"index{g}")
        assert sorted(got) == sorted(members), (g, got)
        for name, v in members.items():
            uid, gid, home, md, groups = got[name]
            assert (uid, gid, home, md) == (acc.uid, acc.gid, v["home"], maildir(v)), name
            want = tuple((name + "_" * letters)[:n] for n in range(1, letters + 1))
            assert groups == want, (name, groups)


def snapshot(d):
    return {p.name: p.read_bytes() for p in Path(d).iterdir()}


# ---------------------------------------------------------------- userdb

def test_userdb_list_and_index(accounts, tmp_path):
    lines = []
    for u, v in accounts.users.items():
        fields = [f"uid={accounts.uid}", f"gid={accounts.gid}", f"home={v['home']}",
                  f"mail={v['home']}/Maildir", "systempw=x"]
        if v["options"]:
            fields.append(f"options={v['options']}")
        lines.append(f"{u}\t" + "|".join(fields))
    # Not accounts: a reverse uid entry, no home, root.
    lines += [f"{accounts.uid}=\tzed", "nohome\tuid=5|gid=5", "root\tuid=0|gid=0|home=/root"]
    userdb = tmp_path / "userdb"
    userdb.write_text("\n".join(lines) + "\n")
    userdb.chmod(0o600)
    src = ["--userdb", str(userdb)]
    assert listed(src) == expected(accounts)
    assert listed(src, "-s") == expected(accounts, shared_only=True)
    assert listed(src, "-s", "-o") == expected(accounts, shared_only=True,
                                               options=lambda v: v["options"])
    r = courser("authenumerate", *src)
    assert '"root" left out' in r.stderr, r.stderr
    # In source order, as read.
    names = [l.split("\t")[0] for l in r.stdout.splitlines()]
    assert names == list(accounts.users), names

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "README").write_text("not an index file\n")
    r = courser("shared-index", *src, "--index", str(shared / "index"))
    assert "6 accounts in 2 files" in r.stdout, r.stdout
    check_index(shared, accounts)
    # Readable by servers running as another user, whatever the umask.
    subprocess.run(["sh", "-c", 'umask 077 && exec "$0" "$@"', BIN, "shared-index", *src,
                    "--index", str(shared / "index")], check=True, capture_output=True)
    assert {oct(p.stat().st_mode & 0o777) for p in shared.glob("index*")} == {"0o644"}
    for letters in (1, 2, 0, 2):
        courser("shared-index", *src, "--index", str(shared / "index"), "--split", str(letters))
        check_index(shared, accounts, letters=letters)
        assert (shared / "README").exists()
        assert not [p for p in shared.iterdir() if p.name.startswith(".")], "build dir left"
    assert (shared / "index").read_text().splitlines()[0] == "c\t*\tindexc"
    assert (shared / "indexg1").read_text() == "a\t*\tindexg1,a\n"
    assert (shared / "indexg1,a").read_text() == "ab\t*\tindexg1,ab\nan\t*\tindexg1,an\n"

    # A backend that fails, or no account at all: the old index stays
    # byte for byte, nothing is left behind.
    before = snapshot(shared)
    broken = config_file(tmp_path, f'\n[[auth.backend]]\ntype = "userdb"\npath = {toml_str(userdb)}\n'
                         '\n[[auth.backend]]\ntype = "authpipe"\nprogram = "/nonexistent/authProg"\n')
    r = courser("shared-index", "--config", broken, "--index", str(shared / "index"), check=False)
    assert r.returncode == 1 and "old index is left" in r.stderr, r.stderr
    assert snapshot(shared) == before
    r = courser("authenumerate", "--config", broken, check=False)
    assert r.returncode == 1 and "incomplete list" in r.stderr, r.stderr
    assert len(r.stdout.splitlines()) == len(accounts.users), "the first backend's part"
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o600)
    r = courser("shared-index", "--userdb", str(empty), "--index", str(shared / "index"),
                check=False)
    assert r.returncode == 1 and "--allow-empty" in r.stderr, r.stderr
    assert snapshot(shared) == before
    r = courser("shared-index", *src, "--index", str(tmp_path / "nodir" / "index"), check=False)
    assert r.returncode == 1 and "does not exist" in r.stderr, r.stderr
    # Two universes that would share a file: refused, old index kept.
    clash = tmp_path / "clash"
    clash.write_text(userdb.read_text() + "cid\tuid=7|gid=7|home=/c|options=sharedgroup=c\n")
    clash.chmod(0o600)
    r = courser("shared-index", "--userdb", str(clash), "--index", str(shared / "index"),
                "--split", "1", check=False)
    assert r.returncode == 1 and "two universes" in r.stderr, r.stderr
    assert snapshot(shared) == before
    courser("shared-index", "--userdb", str(empty), "--index", str(shared / "index"),
            "--allow-empty")
    assert sorted(os.listdir(shared)) == ["README", "index"]
    assert (shared / "index").read_text() == ""


# ---------------------------------------------------------------- SQL, LDAP, authpipe

def test_postgresql(accounts, postgres, tmp_path):
    postgres.psql(SQL_TABLE + ";" + sql_inserts(accounts))
    cfg = config_file(tmp_path, sql_backend(postgres.url))
    src = ["--config", cfg]
    login = lambda u: f"{u}@example.com"  # noqa: E731
    assert listed(src) == expected(accounts, login=login)
    assert listed(src, "-s", "-o") == expected(accounts, login=login, shared_only=True,
                                               options=lambda v: v["options"])
    # The configured list query; $(domain) is the default domain.
    custom = config_file(tmp_path, sql_backend(postgres.url) + (
        "enumerate_clause = \"SELECT id, uid, gid, home, '', options FROM passwd "
        "WHERE options LIKE 'sharedgroup%' AND id LIKE '%@$(domain)'\"\n"))
    got = listed(["--config", custom])
    assert [r[0] for r in got] == ["abe@example.com", "ann@example.com"], got
    assert all(r[4] == "" for r in got), got
    shared = tmp_path / "shared"
    shared.mkdir()
    courser("shared-index", *src, "--index", str(shared / "index"), "--split", "1")
    check_index(shared, accounts, login=login, letters=1)
    before = snapshot(shared)
    postgres.stop()
    r = courser("shared-index", *src, "--index", str(shared / "index"), check=False)
    assert r.returncode == 1 and "old index is left" in r.stderr, r.stderr
    assert snapshot(shared) == before


def test_ldap(accounts, slapd, tmp_path):
    cfg = config_file(tmp_path, ldap_backend(slapd.uri, authbind=False))
    login = lambda u: f"{u}@example.com"  # noqa: E731
    # The directory holds homes only (no maildir attribute configured);
    # the options come from LDAP_AUXOPTIONS (employeeType=disableimap).
    rows = listed(["--config", cfg], "-o")
    mapped = ("disableimap=1", "disablepop3=1")  # what the fixture stores
    want = expected(accounts, login=login, maildir=lambda v: "",
                    options=lambda v: v["options"] if v["options"] in mapped else "")
    assert rows == want
    only = config_file(tmp_path, ldap_backend(slapd.uri, authbind=False)
                       + 'enumerate_filter = "(employeeType=1)"\n')
    assert [r[0] for r in listed(["--config", only])] == ["noimap@example.com"]
    shared = tmp_path / "shared"
    shared.mkdir()
    courser("shared-index", "--config", cfg, "--index", str(shared / "index"))
    # No sharedgroup in this directory: one universe of every account.
    got = read_index(shared / "index")
    assert sorted(got) == sorted(login(u) for u in accounts.users)
    slapd.stop()
    r = courser("authenumerate", "--config", cfg, check=False)
    assert r.returncode == 1 and "ldap" in r.stderr, r.stderr


def test_authpipe(accounts, tmp_path):
    import json
    users = {u: dict(password=v["password"], uid=accounts.uid, gid=accounts.gid,
                     home=v["home"], options=v["options"]) for u, v in accounts.users.items()}
    db = tmp_path / "authpipe.json"
    db.write_text(json.dumps(users))
    prog = tmp_path / "authProg"
    prog.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'authpipe_prog.py'} {db}\n")
    prog.chmod(0o755)
    cfg = config_file(tmp_path, '\n[auth]\ndefault_options = "group=staff"\n'
                      f'\n[[auth.backend]]\ntype = "authpipe"\nprogram = "{prog}"\n')
    merged = lambda v: ",".join(filter(None, [v["options"], "group=staff"]))  # noqa: E731
    assert listed(["--config", cfg], "-o") == expected(accounts, options=merged)
    shared = tmp_path / "shared"
    shared.mkdir()
    courser("shared-index", "--config", cfg, "--index", str(shared / "index"), "--split", "2")
    check_index(shared, accounts, letters=2)


# ---------------------------------------------------------------- against Courier

def normalized(d):
    """An index directory's files, each as its sorted lines without
    trailing TABs (Courier's script keeps an empty maildir column when
    options followed it)."""
    return {p.name: sorted(l.rstrip("\t") for l in p.read_text().splitlines())
            for p in Path(d).iterdir() if not p.name.startswith(".")}


def test_against_courier_authenumerate_and_sharedindexsplit(accounts, courier_authdaemond,
                                                            tmp_path):
    authenumerate, split = need("/usr/sbin/authenumerate", "/usr/sbin/sharedindexsplit")
    src = ["--userdb", str(courier_authdaemond.path)]

    def courier(*flags):
        r = subprocess.run([authenumerate, *flags], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    # Courser's authdaemond client reads the same daemon's ENUMERATE
    # answer (module headers and all).
    daemon = ["--config", config_file(tmp_path, '\n[[auth.backend]]\ntype = "authdaemond"\n'
                                      f'socket = {toml_str(courier_authdaemond.socket)}\n')]
    for flags in ([], ["-s"], ["-o"], ["-s", "-o"]):
        theirs = sorted(tuple(l.split("\t")) for l in courier(*flags).splitlines())
        assert theirs, "Courier listed nobody"
        assert listed(src, *flags) == theirs, flags
        assert listed(daemon, *flags) == theirs, flags

    # By universe: `authenumerate -s -o | sharedindexsplit DIR`.
    theirs, ours = tmp_path / "courier", tmp_path / "courser"
    theirs.mkdir()
    ours.mkdir()
    subprocess.run([split, str(theirs)], input=courier("-s", "-o"), text=True, check=True,
                   capture_output=True)
    courser("shared-index", *src, "--index", str(ours / "index"))
    assert normalized(ours) == normalized(theirs)
    assert sorted(os.listdir(ours)) == ["index", "indexg1"]

    # By letters: Courier's script knows no universes, so both get the
    # accounts without a sharedgroup.
    options = {f[0]: f[5] for f in (l.split("\t") for l in courier("-s", "-o").splitlines())}
    plain = "".join(l + "\n" for l in courier("-s").splitlines()
                    if "sharedgroup" not in options[l.split("\t")[0]])
    for letters in ("1", "2"):
        theirs, ours = tmp_path / f"courier{letters}", tmp_path / f"courser{letters}"
        theirs.mkdir()
        ours.mkdir()
        subprocess.run([split, str(theirs), letters], input=plain, text=True, check=True,
                       capture_output=True)
        courser("shared-index", *src, "--index", str(ours / "index"), "--split", letters)
        mine = normalized(ours)
        reachable = set()

        def walk(name):
            reachable.add(name)
            for line in mine[name]:
                f = line.split("\t")
                if f[1] == "*":
                    walk(f[2])

        walk("index")
        assert {k: mine[k] for k in reachable} == normalized(theirs), letters
