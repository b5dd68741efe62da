"""The authentication process (DESIGN.md "Process model"): account
sources are read only by `courser auth-server`, which keeps root; the
front end (as `run_as`) asks it over a socket pair; in the per-user model
the spawner takes an account's ids only from it, by one-time ticket, and
only inside [server] first_valid_uid..last_valid_uid. Message files are
never opened through a symlink."""

import array
import ctypes
import imaplib
import os
import poplib
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, USERS
from test_peruser import processes, wait_for, workers_of

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="privilege separation needs root")

SECRET = b"From: x@example.com\r\nSubject: other account's secret\r\n\r\nsecret-body-4711\r\n"


def make_root_only(path):
    os.chown(path, 0, 0)
    os.chmod(path, 0o600)


def imap_ok(server, user):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    c.login(user, USERS[user])
    assert c.select("INBOX")[0] == "OK"
    c.logout()


def pop3_ok(server, user):
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    p.user(user)
    p.pass_(USERS[user])
    p.stat()
    p.quit()


@needs_root
@pytest.mark.parametrize("per_user", [False, True], ids=["shared", "per-user"])
def test_a_root_only_userdb_serves_logins(make_server, per_user):
    server = make_server(per_user=per_user)
    userdb = server.root / "userdb"
    make_root_only(userdb)
    imap_ok(server, "alice")
    pop3_ok(server, "bob")
    # The compiled form, root-only too, as Courier's userdb.dat is.
    subprocess.run([BIN, "userdb", "-f", str(userdb), "compile"], check=True,
                   capture_output=True)
    make_root_only(server.root / "userdb.cdb")
    imap_ok(server, "bob")
    pop3_ok(server, "alice")
    assert "Temporary authentication failure" not in server.log_text()


def unix_sockets(pid, kind):
    """fd -> inode of the unix sockets of type `kind` (1: stream, 5:
    seqpacket) that process `pid` holds."""
    types = {}
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        types[fields[6]] = int(fields[4], 16)
    found = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and types.get(target[8:-1]) == kind:
            found[int(fd)] = target[8:-1]
    return found


def take_fd(pid, fd):
    """A copy of process `pid`'s descriptor `fd`, taken with
    pidfd_getfd(2)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        mine = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
    finally:
        os.close(pidfd)
    if mine < 0:
        pytest.skip("pidfd_getfd is not available: " + os.strerror(ctypes.get_errno()))
    return mine


def steal_spawner_channel(pid):
    """A copy of the front end's control socket to the spawner (the only
    SOCK_SEQPACKET socket it holds): what code running inside a
    compromised front end would hold."""
    candidates = list(unix_sockets(pid, 5))
    assert len(candidates) == 1, candidates
    return take_fd(pid, candidates[0])


def forge(channel_fd, requests, as_uid, as_gid):
    """Sends each request with a fresh socket attached, from a child
    process running as `as_uid`; returns the spawner's answers."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(as_gid)
            os.setuid(as_uid)
            s = socket.socket(fileno=channel_fd)
            answers = []
            for request in requests:
                mine, theirs = socket.socketpair()
                s.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                       array.array("i", [theirs.fileno()]))])
                theirs.close()
                answers.append(s.recv(4096))
                mine.close()
            os.write(write_end, b"\n".join(answers))
        finally:
            os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 4096):
        data += chunk
    os.close(read_end)
    os.waitpid(child, 0)
    return data.split(b"\n")


@needs_root
def test_forged_spawn_requests_are_refused(make_server):
    server = make_server(per_user=True)
    nobody = pwd.getpwnam("nobody")
    channel = steal_spawner_channel(server.proc.pid)
    uid, gid = server.account_ids["alice"]
    home = server.homes["alice"]
    answers = forge(channel, [
        # The old request: the front end names the ids.
        f"spawn\n{uid}\n{gid}\nalice\n{home}".encode(),
        # A ticket nobody issued.
        b"spawn\n" + os.urandom(32).hex().encode(),
        # A ticket and ids.
        b"spawn\n" + os.urandom(32).hex().encode() + f"\n{uid}".encode(),
    ], nobody.pw_uid, nobody.pw_gid)
    os.close(channel)
    assert len(answers) == 3, answers
    for a in answers:
        assert a.startswith(b"error "), answers
    assert b"malformed" in answers[0] and b"malformed" in answers[2]
    assert b"ticket" in answers[1]
    assert not workers_of("alice")
    # The real front end still works: its channel is in step.
    imap_ok(server, "alice")


@needs_root
def test_uids_outside_the_valid_range_are_refused_at_the_spawner(make_server):
    # alice has uid 41001, bob 41002 (conftest). The keys follow the
    # fixture's [server] table.
    server = make_server("first_valid_uid = 41002\nlast_valid_uid = 41002\n",
                         per_user=True)
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        c.login("alice", USERS["alice"])
    c.logout()
    assert "uid 41001 is outside first_valid_uid..last_valid_uid" in server.log_text()
    assert not workers_of("alice")
    imap_ok(server, "bob")
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    p.user("alice")
    with pytest.raises(poplib.error_proto, match="SYS/TEMP"):
        p.pass_(USERS["alice"])
    p.quit()
    out = subprocess.run([BIN, "check-config", "--config", str(server.config)],
                         capture_output=True, text=True, check=True).stdout
    assert "first_valid_uid = 41002" in out and "first_valid_gid = 1" in out, out


@pytest.mark.parametrize("per_user", [False, True], ids=["shared", "per-user"])
def test_a_symlinked_message_is_not_served(make_server, per_user):
    """A message file that is a symlink to a file the session's uid can
    read (in the shared model: any account's mail) is not followed."""
    server = make_server(per_user=per_user)
    target = server.root / "other-secret"
    target.write_bytes(SECRET)
    # Readable by whoever serves alice, so that only O_NOFOLLOW stands in
    # the way.
    target.chmod(0o644)
    link = server.maildir("alice") / "cur" / "1700000000.M1P1.evil:2,"
    os.symlink(target, link)
    if ROOT:
        os.lchown(link, *server.account_ids["alice"])
    c = server.connect("alice")
    typ, data = c.select("INBOX")
    assert (typ, data) == ("OK", [b"1"])
    try:
        typ, data = c.fetch("1", "(BODY.PEEK[])")
        assert b"secret-body-4711" not in repr(data).encode(), data
    except imaplib.IMAP4.error as e:
        assert "secret-body-4711" not in str(e)
    c.logout()
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    p.user("alice")
    p.pass_(USERS["alice"])
    count, _ = p.stat()
    for n in range(1, count + 1):
        try:
            assert b"secret-body-4711" not in b"\n".join(p.retr(n)[1])
        except poplib.error_proto:
            pass
    p.quit()
    assert link.is_symlink(), "the link itself is left alone"


def imap_capabilities(server):
    """What alice is offered after logging in."""
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    c.login("alice", USERS["alice"])
    typ, data = c.capability()
    c.logout()
    assert typ == "OK"
    return data[0].decode().split()


@needs_root
def test_a_root_only_config_file_reloads_after_dropping_root(make_server):
    """The front end runs as `run_as`; the authentication process (root)
    reads the file on SIGHUP and hands the front end its settings, without
    the account sources'."""
    server = make_server()
    assert "APPENDLIMIT=12345" not in imap_capabilities(server)
    make_root_only(server.config)
    with server.config.open("a") as f:
        f.write("\n[imap]\nmax_message_size = 12345\n")
    server.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "configuration reloaded" in server.log_text()
                    or "keeping the old configuration" in server.log_text(), timeout=60)
    assert "keeping the old configuration" not in server.log_text(), server.log_text()
    assert "APPENDLIMIT=12345" in imap_capabilities(server)
