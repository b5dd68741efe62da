"""The per-user process model: after login a session runs in a process of
its own with the account's uid, gid and groups, and cannot reach another
account's mail.

Switching uids needs root; as an ordinary user the same processes exist
but keep the invoking user's ids (checked by the last test)."""

import grp
import imaplib
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import conftest

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="switching uids needs root")

MESSAGE = b"From: a@example.com\r\nSubject: secret of bob\r\n\r\nbody\r\n"


def proc_ids(pid):
    """(uids, gids, groups) of a process, from /proc: each id list holds
    the real, effective, saved and filesystem ids."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return (
        [int(x) for x in fields["Uid"]],
        [int(x) for x in fields["Gid"]],
        sorted(int(x) for x in fields["Groups"]),
    )


def processes(word):
    """Pids of live processes whose command line contains `word`, with
    their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if word.encode() in cmdline:
            found[int(entry.name)] = [c.decode(errors="replace") for c in cmdline]
    return found


def parent(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def workers_of(user):
    return [
        pid
        for pid, cmd in processes("session-worker").items()
        if "--user" in cmd and cmd[cmd.index("--user") + 1] == user
    ]


def wait_for(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


@needs_root
def test_session_runs_as_the_account_and_the_front_end_as_nobody(make_server):
    server = make_server(per_user=True)
    c = server.connect("alice")
    assert c.select("INBOX")[0] == "OK"
    [pid] = wait_for(lambda: workers_of("alice"))
    uid, gid = server.account_ids["alice"]
    uids, gids, groups = proc_ids(pid)
    assert uids == [uid] * 4
    assert gids == [gid] * 4
    assert groups == [gid]
    nobody = pwd.getpwnam("nobody").pw_uid
    assert proc_ids(server.proc.pid)[0] == [nobody] * 4
    # The only process that keeps root is the spawner, and it reads no
    # client byte.
    spawners = [p for p in processes("session-spawner") if parent(p) == server.proc.pid]
    assert len(spawners) == 1
    assert parent(pid) == spawners[0]
    for pid in processes("session-worker"):
        assert 0 not in proc_ids(pid)[0]
    c.logout()
    assert wait_for(lambda: not workers_of("alice")), "the worker outlived LOGOUT"
    log = server.log_text()
    assert "LOGIN" in log and "LOGOUT" in log


@needs_root
def test_a_session_cannot_open_another_accounts_maildir(make_server):
    server = make_server(per_user=True)
    server.deliver(MESSAGE, user="bob")
    # A folder of alice's that leads into bob's maildir: only the kernel's
    # permission check, made inside alice's session process, stands in the
    # way.
    os.symlink(server.maildir("bob"), server.maildir("alice") / ".Bob")
    c = server.connect("alice")
    typ, data = c.select("Bob")
    assert typ == "NO", data
    typ, data = c.status("Bob", "(MESSAGES)")
    assert typ == "NO", data
    assert c.select("INBOX")[0] == "OK"
    c.logout()
    # Bob himself reads his mail.
    b = server.connect("bob")
    assert b.select("INBOX") == ("OK", [b"1"])
    typ, data = b.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"secret of bob" in data[0][1]
    b.logout()


@needs_root
def test_supplementary_groups_of_a_system_user(make_server, tmp_path):
    name = "courser-pu-test"
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(
        ["useradd", "--no-create-home", "--uid", "41050", "--user-group",
         "--groups", "mail", name],
        check=True, capture_output=True,
    )
    try:
        server = make_server(per_user=True)
        user = pwd.getpwnam(name)
        home = server.root / "home" / name
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True)
        for dirpath, _, files in os.walk(home):
            os.chown(dirpath, user.pw_uid, user.pw_gid)
        home.chmod(0o700)
        hashed = conftest.crypt.crypt("pu-pw", conftest.crypt.mksalt(conftest.crypt.METHOD_SHA512))
        with open(server.root / "userdb", "a") as f:
            f.write(
                f"{name}\tuid={user.pw_uid}|gid={user.pw_gid}|home={home}|systempw={hashed}\n"
            )
        c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
        c.login(name, "pu-pw")
        assert c.select("INBOX")[0] == "OK"
        [pid] = wait_for(lambda: workers_of(name))
        uids, gids, groups = proc_ids(pid)
        assert uids == [user.pw_uid] * 4
        assert gids == [user.pw_gid] * 4
        assert groups == sorted({user.pw_gid, grp.getgrnam("mail").gr_gid})
        c.logout()
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@needs_root
def test_an_account_with_uid_0_is_refused(make_server):
    server = make_server(per_user=True)
    hashed = conftest.crypt.crypt("x", conftest.crypt.mksalt(conftest.crypt.METHOD_SHA512))
    with open(server.root / "userdb", "a") as f:
        f.write(f"toor\tuid=0|gid=0|home={server.root}|systempw={hashed}\n")
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        c.login("toor", "x")
    c.logout()
    assert "uid 0" in server.log_text()
    assert not workers_of("toor")


def test_pop3_session_in_a_worker_deletes_on_quit(make_server):
    server = make_server(per_user=True)
    server.deliver(MESSAGE, user="bob")
    p = server.pop3("bob")
    count, _ = p.stat()
    assert count == 1
    assert b"secret of bob" in b"\n".join(p.retr(1)[1])
    if ROOT:
        [pid] = wait_for(lambda: workers_of("bob"))
        assert proc_ids(pid)[0] == [server.account_ids["bob"][0]] * 4
    p.dele(1)
    p.quit()
    assert wait_for(lambda: not workers_of("bob"))
    assert not list((server.maildir("bob") / "cur").iterdir())
    assert not list((server.maildir("bob") / "new").iterdir())
    log = server.log_text()
    assert "LOGOUT" in log and "deleted=1" in log


def test_pipelined_commands_and_idle_after_the_hand_over(make_server):
    server = make_server(per_user=True)
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=15)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN alice alice-pw\r\nb SELECT INBOX\r\nc IDLE\r\n")
    lines = []
    while not lines or not lines[-1].startswith(b"+"):
        lines.append(f.readline())
    assert any(l.startswith(b"a OK") for l in lines), lines
    assert any(l.startswith(b"b OK") for l in lines), lines
    server.deliver(MESSAGE, user="alice")
    assert wait_line(f, b"* 1 EXISTS")
    s.sendall(b"DONE\r\nd LOGOUT\r\n")
    assert wait_line(f, b"c OK")
    assert wait_line(f, b"d OK")
    s.close()


def wait_line(f, prefix):
    for _ in range(50):
        line = f.readline()
        if not line:
            return False
        if line.startswith(prefix):
            return True
    return False


def test_tls_sessions_and_per_account_limits_hold_across_the_hand_over(make_server):
    server = make_server("[limits]\nmax_connections_per_user = 1\n", per_user=True)
    c = server.connect_tls("alice")
    assert c.select("INBOX")[0] == "OK"
    second = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="LIMIT|limit"):
        second.login("alice", "alice-pw")
    second.logout()
    c.logout()
    assert wait_for(lambda: not workers_of("alice"))
    again = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    again.login("alice", "alice-pw")
    again.logout()


def test_sigterm_says_bye_from_the_workers(make_server):
    server = make_server(per_user=True)
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=15)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a LOGIN alice alice-pw\r\n")
    assert wait_line(f, b"a OK")
    assert wait_for(lambda: workers_of("alice"))
    spawners = [p for p in processes("session-spawner") if parent(p) == server.proc.pid]
    assert spawners
    server.proc.send_signal(signal.SIGTERM)
    assert wait_line(f, b"* BYE")
    server.proc.wait(20)
    assert wait_for(lambda: not workers_of("alice"))
    assert wait_for(lambda: not set(spawners) & set(processes("session-spawner")))
    s.close()


def test_worker_commands_reach_the_front_ends_metrics(make_server):
    from test_metrics import command_count, scrape, value

    port = conftest.free_port()
    server = make_server(f'\n[metrics]\naddress = "127.0.0.1:{port}"\n', per_user=True)
    c = server.connect("alice")
    c.select("INBOX")
    c.noop()
    c.noop()
    c.logout()
    assert wait_for(lambda: not workers_of("alice"))

    def counted():
        s = scrape(port)
        return command_count(s, "imap", "NOOP") >= 2 and s
    samples = wait_for(counted)
    assert samples, "the worker's commands never reached the metrics"
    assert command_count(samples, "imap", "SELECT") == 1
    assert command_count(samples, "imap", "LOGOUT") == 1
    assert value(samples, "courser_logins_total", protocol="imap", result="ok") == 1
