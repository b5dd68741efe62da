"""Courier's habits at login: a home directory with the sticky bit set
locks the account ("temporarily unavailable"), and an executable
`loginexec` in the maildir runs once, as the account, until it succeeds.
Checked in both process models, for IMAP and POP3, and for the sessions
run directly (`courser imapd` / `courser pop3d`) beside Courier's own
imapd and pop3d."""

import imaplib
import os
import poplib
import subprocess

import pytest

from conftest import BIN
from preauth import IMAPD, argv, need

LOCKED = b"Your account is temporarily unavailable (+t bit set on home directory)."
COURIER_POP3D = "/usr/lib/courier/courier/courierpop3d"

HOOK = """#!/bin/sh
echo "$(id -u) $AUTHENTICATED $(pwd -P)" >> "$HOME_MARK"
exit {status}
"""


def lock(home, locked=True):
    mode = home.stat().st_mode & 0o7777
    home.chmod(mode | 0o1000 if locked else mode & ~0o1000)


def install_hook(server, user, mark, status=0):
    """A loginexec in `user`'s maildir that appends a line (uid, login,
    working directory) to `mark`, owned like the maildir."""
    hook = server.maildir(user) / "loginexec"
    hook.write_text(HOOK.format(status=status).replace("$HOME_MARK", str(mark)))
    hook.chmod(0o700)
    if server.as_root:
        os.chown(hook, *server.owner(hook))
    return hook


def mark_file(server, user):
    """A file the hook may append to (world-writable: in the per-user
    model the hook runs as the account)."""
    mark = server.root / f"ran-{user}"
    mark.touch()
    mark.chmod(0o666)
    return mark


@pytest.mark.parametrize("per_user", [False, True])
def test_a_sticky_home_locks_imap_and_pop3_logins_until_it_is_cleared(make_server, per_user):
    if per_user and os.geteuid() != 0:
        pytest.skip("the per-user model switches uids as root")
    server = make_server(per_user=per_user)
    home = server.homes["alice"]
    lock(home)
    c = server.connect("alice", login=False)
    with pytest.raises(imaplib.IMAP4.error) as refused:
        c.login("alice", "alice-pw")
    assert b"[UNAVAILABLE] " + LOCKED in str(refused.value).encode()
    # The connection stays, and the password was right: once the lock
    # is gone the same connection logs in.
    lock(home, False)
    assert c.login("alice", "alice-pw")[0] == "OK"
    c.logout()
    lock(home)
    p = server.pop3("alice", login=False)
    p.user("alice")
    with pytest.raises(poplib.error_proto) as refused:
        p.pass_("alice-pw")
    assert str(refused.value).encode() == b"b'-ERR [SYS/TEMP] " + LOCKED + b"'"
    p.quit()
    # Another account is not affected.
    c = server.connect("bob")
    assert c.select("INBOX")[0] == "OK"
    c.logout()
    assert "LOCKED" in server.log_text()


@pytest.mark.parametrize("per_user", [False, True])
def test_loginexec_runs_as_the_account_in_the_maildir_until_it_succeeds(make_server, per_user):
    if per_user and os.geteuid() != 0:
        pytest.skip("the per-user model switches uids as root")
    server = make_server(per_user=per_user)
    mark = mark_file(server, "alice")
    hook = install_hook(server, "alice", mark, status=1)
    uid = server.account_ids["alice"][0]
    here = os.path.realpath(server.maildir("alice"))
    line = f"{uid} alice {here}\n"
    # A failing hook stays and runs at every login.
    for _ in range(2):
        c = server.connect("alice")
        assert c.select("INBOX")[0] == "OK"
        c.logout()
    assert mark.read_text() == line * 2
    assert hook.exists()
    # One that succeeds runs once more and is removed; POP3 runs it too.
    install_hook(server, "alice", mark, status=0)
    p = server.pop3("alice")
    p.quit()
    assert not hook.exists()
    c = server.connect("alice")
    c.logout()
    assert mark.read_text() == line * 3
    # A hook its owner may not execute is left alone.
    hook = install_hook(server, "alice", mark)
    hook.chmod(0o600)
    server.connect("alice").logout()
    assert mark.read_text() == line * 3 and hook.exists()


def preauth_argv(which, protocol, home):
    if protocol == "imap":
        return argv(which, home)
    return [COURIER_POP3D, "Maildir"] if which == "courier" else [BIN, "pop3d"]


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_run_directly_a_locked_home_and_loginexec_behave_as_couriers(tmp_path, protocol):
    """Courier's imapd/pop3d and `courser imapd`/`pop3d` on their own copy
    of a home: the same refusal for a sticky home, and the hook run once
    with the maildir as working directory."""
    need(IMAPD if protocol == "imap" else COURIER_POP3D, "courier-imap courier-pop")
    quit_cmd = b"a LOGOUT\r\n" if protocol == "imap" else b"QUIT\r\n"
    for which in ("courier", "courser"):
        home = tmp_path / which
        maildir = home / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        mark = home / "ran"
        hook = maildir / "loginexec"
        hook.write_text(HOOK.format(status=0).replace("$HOME_MARK", str(mark)))
        hook.chmod(0o700)
        env = dict(os.environ, HOME=str(home), MAILDIR=str(maildir), AUTHENTICATED="ann",
                   TCPREMOTEIP="127.0.0.1", TCPREMOTEPORT="4000")
        run = lambda: subprocess.run(preauth_argv(which, protocol, home), env=env, cwd=home,
                                     input=quit_cmd, capture_output=True, timeout=30).stdout

        lock(home)
        first = run().split(b"\r\n")[0]
        expected = b"* BYE " if protocol == "imap" else b"-ERR "
        assert first == expected + LOCKED, (which, first)
        assert hook.exists() and not mark.exists(), which

        lock(home, False)
        out = run()
        assert b"BYE" not in out.split(b"\r\n")[0], (which, out)
        out = run()
        uid = os.geteuid()
        assert mark.read_text() == f"{uid} ann {os.path.realpath(maildir)}\n", which
        assert not hook.exists(), which
