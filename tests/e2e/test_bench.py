"""`courser-bench --quick` against a real courser: every workload runs to
the end and its counts are right. Correctness only: no timing is asserted
(the figures live in docs/benchmarks.md, made by scripts/bench.sh)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, USERS

BENCH = os.environ.get("COURSER_BENCH_BIN") or str(Path(BIN).with_name("courser-bench"))
COUNT = 300


def bench(server, tmp_path, *args, user="alice"):
    """Runs one workload; returns its JSON result after checking it passed."""
    out = tmp_path / "result.json"
    cmd = [
        BENCH, "--quick", "--timeout", "60", "--port", str(server.imap_port),
        "--user", user, "--password", USERS[user], "--json", str(out),
        *args,
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, f"{cmd}\n{p.stdout}\n{p.stderr}\n{server.log_text()}"
    doc = json.loads(out.read_text())
    assert doc["ok"], doc["problems"]
    return doc["result"]


def generate(server, user="alice", count=COUNT):
    p = subprocess.run(
        [BENCH, "generate", "--dir", str(server.maildir(user)), "--count", str(count)],
        capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    server.chown()


def test_generate_is_deterministic(tmp_path):
    for d in ("a", "b"):
        subprocess.run([BENCH, "generate", "--dir", str(tmp_path / d), "--count", "50"], check=True,
                       capture_output=True)
    names = sorted(p.name for p in (tmp_path / "a" / "cur").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b" / "cur").iterdir())
    assert len(names) == 50
    assert all(",S=" in n and ":2," in n for n in names)
    first = (tmp_path / "a" / "cur" / names[0]).read_bytes()
    assert first == (tmp_path / "b" / "cur" / names[0]).read_bytes()


def test_bigfolder(server, tmp_path):
    generate(server)
    pop3 = getattr(server, "pop3_port", None)
    extra = ["--pop3-port", str(pop3)] if pop3 else []
    r = bench(server, tmp_path, "bigfolder", "--expect", str(COUNT), *extra)
    steps = {s["name"]: s for s in r["steps"]}
    assert steps["SELECT"]["count"] == COUNT
    assert steps["FETCH FLAGS"]["count"] == COUNT
    assert steps["FETCH ENVELOPE"]["count"] == COUNT
    assert steps["SEARCH SUBJECT"]["count"] == 3  # messages 7, 107, 207
    assert steps["SEARCH BODY"]["count"] == 1  # message 3
    for name in ("SORT DATE", "THREAD REFS"):
        s = steps[name]
        assert s["ms"] is not None or s["na"], s
    uidl = steps["POP3 LOGIN+UIDL"]
    if pop3:
        assert uidl["count"] == COUNT, uidl
    else:
        assert uidl["na"]


@pytest.mark.parametrize("clients,mix", [
    # One client: every operation, expunges included.
    (1, "envelope=30,body=20,store=20,append=10,expunge=10,search=5,noop=5"),
    # Two sessions on one mailbox: without expunges no session can name a
    # message that another removed.
    (2, "envelope=30,body=20,store=20,append=10,noop=10"),
])
def test_mixed(server, tmp_path, clients, mix):
    generate(server)
    r = bench(server, tmp_path, "mixed", "--clients", str(clients), "--secs", "2",
              "--ops-per-session", "20", "--mix", mix)
    assert r["errors"] == 0 and r["broken_sessions"] == 0, r
    assert r["operations"] > 0
    for cmd in ("LOGIN", "SELECT", "LOGOUT", "APPEND"):
        assert r["commands"][cmd]["count"] > 0, cmd


def test_mixed_paced(server, tmp_path):
    """At a fixed rate the clients together send that many operations per
    second, whatever the server could do."""
    generate(server)
    r = bench(server, tmp_path, "mixed", "--clients", "2", "--secs", "3", "--rate", "20",
              "--ops-per-session", "20", "--mix", "envelope=50,store=30,noop=20")
    assert r["errors"] == 0 and r["broken_sessions"] == 0, r
    assert r["rate"] == 20
    assert 40 <= r["operations"] <= 62, r["operations"]


def test_idle_memory_and_push(server, tmp_path):
    r = bench(server, tmp_path, "idle", "--clients", "5", "--pid", str(server.proc.pid),
              "--maildir", str(server.maildir("alice")), "--push-timeout", "60", "--settle", "0.5")
    assert r["established"] == 5
    assert r["push_received"] == 5
    assert r["pss_idle_kib"] > 0
    assert r["kib_per_connection"] is not None


def test_login_storm_over_tls(server, tmp_path):
    r = bench(server, tmp_path, "logins", "--tls", "--port", str(server.imaps_port),
              "--clients", "2", "--secs", "1")
    assert r["tls"] is True
    assert r["logins"] > 0 and r["errors"] == 0
