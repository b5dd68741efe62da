"""Prometheus metrics on the [metrics] loopback address: the counters and
histogram counts move by what the clients did (timings are not asserted)."""

import poplib
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, free_port
from recording import wait_for

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    """{(name, frozenset of label pairs): value} from the text format."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def command_count(samples, protocol, command):
    return value(samples, "courser_command_duration_seconds_count",
                 protocol=protocol, command=command)


@pytest.fixture
def metered(make_server):
    port = free_port()
    server = make_server(
        f'\n[metrics]\naddress = "127.0.0.1:{port}"\n'
        '\n[access]\nrules = ["deny 127.0.0.2"]\n'
    )
    server.metrics_port = port
    return server


def test_counters_and_histograms_follow_the_sessions(metered):
    server = metered

    def settled():
        # Every connection seen so far is closed.
        now = scrape(server.metrics_port)
        return all(value(now, "courser_connections_open", protocol=p) == 0
                   for p in ("imap", "imaps", "pop3", "pop3s"))

    assert wait_for(settled)
    before = scrape(server.metrics_port)

    # IMAP: a wrong and a right password, commands, an unknown verb, IDLE.
    imap = server.raw()
    imap.cmd("LOGIN alice wrong-pw", ok="NO")
    imap.login("alice")
    imap.cmd("SELECT INBOX", ok=True)
    imap.cmd("NOOP", ok=True)
    imap.cmd("XYZZY", ok="BAD")
    imap.send("t9 IDLE\r\n")
    assert imap.line().startswith(b"+ ")
    time.sleep(2.5)  # waiting in IDLE is not command time
    imap.send("DONE\r\n")
    imap.until("t9")
    imap.cmd("LOGOUT", ok=True)
    imap.close()

    # POP3: one good login with a few commands, one bad.
    pop = server.pop3()
    pop.stat()
    pop.list()
    pop.quit()
    bad = server.pop3(login=False)
    bad.user("alice")
    with pytest.raises(poplib.error_proto):
        bad.pass_("wrong-pw")
    bad.quit()

    # Refused by the access rules.
    refused = socket.socket()
    refused.bind(("127.0.0.2", 0))
    refused.settimeout(10)
    refused.connect(("127.0.0.1", server.imap_port))
    assert refused.recv(4096).startswith(b"* BYE [UNAVAILABLE] Access denied")
    refused.close()

    # Open connections drop back once the server saw every close.
    assert wait_for(settled)
    after = scrape(server.metrics_port)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("courser_connections_total", protocol="imap") == 2
    assert moved("courser_connections_total", protocol="pop3") == 2
    assert moved("courser_connections_refused_total",
                 protocol="imap", reason="access_rule") == 1
    for protocol in ("imap", "pop3"):
        assert moved("courser_logins_total", protocol=protocol, result="ok") == 1
        assert moved("courser_logins_total", protocol=protocol, result="failed") == 1
        assert moved("courser_login_duration_seconds_count", protocol=protocol) == 2

    expected = {
        ("imap", "LOGIN"): 2, ("imap", "SELECT"): 1, ("imap", "NOOP"): 1,
        ("imap", "other"): 1, ("imap", "IDLE"): 1, ("imap", "LOGOUT"): 1,
        ("pop3", "USER"): 2, ("pop3", "PASS"): 2, ("pop3", "STAT"): 1,
        ("pop3", "LIST"): 1, ("pop3", "QUIT"): 2,
    }
    for (protocol, command), n in expected.items():
        got = command_count(after, protocol, command) - command_count(before, protocol, command)
        assert got == n, f"{protocol} {command}: {got} != {n}"

    # Histogram shape: cumulative buckets ending in +Inf == _count.
    buckets = sorted(
        (float(dict(labels)["le"]), v)
        for (name, labels), v in after.items()
        if name == "courser_command_duration_seconds_bucket"
        and ("command", "SELECT") in labels and ("protocol", "imap") in labels
    )
    assert buckets[0][0] == 0.0001 and buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert buckets[-1][1] == command_count(after, "imap", "SELECT")
    # The IDLE's 2.5 s wait is not in its observation.
    idle_le_1 = {"protocol": "imap", "command": "IDLE", "le": "1"}
    assert moved("courser_command_duration_seconds_bucket", **idle_le_1) == 1

    # No user names or addresses in any label.
    for (_, labels) in after:
        for _, v in labels:
            assert "alice" not in v and "127.0.0" not in v, labels

    # A reload keeps the exporter.
    server.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "configuration reloaded" in server.log_text())
    assert scrape(server.metrics_port)


def test_metrics_must_be_on_loopback(tmp_path):
    (tmp_path / "userdb").write_text("")
    base = (
        '[[listener]]\nprotocol = "imap"\naddress = "127.0.0.1:1143"\n'
        '[auth]\nuserdb = "userdb"\n[metrics]\n'
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(base + 'address = "0.0.0.0:9143"\n')
    r = subprocess.run([BIN, "check-config", "--config", str(cfg)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "loopback" in r.stderr, r.stderr
    cfg.write_text(base + 'address = "[::1]:9143"\n')
    r = subprocess.run([BIN, "check-config", "--config", str(cfg)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "[metrics]" in r.stdout and '"[::1]:9143"' in r.stdout, r.stdout
