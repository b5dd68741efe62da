"""Scripted preauthenticated IMAP sessions on standard input and output:
Debian's Courier `/usr/bin/imapd` and `courser imapd` run the same
commands one at a time on their own copy of a maildir, for differential
tests (test_acl_imap.py, test_outbox.py)."""

import os
import select
import subprocess
import time

import pytest

from conftest import BIN

IMAPD = "/usr/bin/imapd"


def need(path, package):
    """Skips (fails under COURSER_FULL_TESTS=1) without `path`."""
    if not os.access(path, os.X_OK):
        if os.environ.get("COURSER_FULL_TESTS") == "1":
            pytest.fail(f"{path} is missing (apt-get install {package})")
        pytest.skip(f"{path} not installed")


def read_answer(proc, buf, tag, deadline, continuation=False):
    """Reads until the tagged answer (or, with `continuation`, a `+`
    line); returns the lines read."""
    start = len(buf)
    while True:
        text = bytes(buf[start:])
        lines = text.split(b"\r\n")
        for line in lines[:-1]:
            if line.startswith(tag + b" ") or (continuation and line.startswith(b"+")):
                del buf[:]
                return lines[:-1]
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise AssertionError(f"timed out waiting for {tag!r}: {text[-2000:]!r}")
        chunk = os.read(proc.stdout.fileno(), 1 << 16)
        if not chunk:
            raise AssertionError(f"session ended before {tag!r}: {text[-2000:]!r}")
        buf += chunk


def argv(which, home, config=None, maildir="Maildir"):
    """Courier's imapd or `courser imapd` (with `--config`) on
    `home`/`maildir`."""
    if which == "courier":
        return [IMAPD, maildir]
    extra = ["--config", str(config)] if config else []
    return [BIN, "imapd", *extra, str(home / maildir)]


def session(which, home, commands, env, config=None, maildir="Maildir"):
    """Runs `commands` one at a time in `home` with the environment
    `env`; returns `(command, lines answered)` per command. A command is
    a string, a `(format with %d, literal)` pair for APPEND, or a
    callable, called between commands (its answer is not recorded)."""
    proc = subprocess.Popen(argv(which, home, config, maildir), env=env, cwd=home,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    buf = bytearray()
    answers = []
    deadline = time.monotonic() + 60
    try:
        for n, cmd in enumerate(commands):
            if callable(cmd):
                cmd()
                continue
            tag = b"t%d" % n
            literal = None
            if isinstance(cmd, tuple):
                cmd, literal = cmd[0] % len(cmd[1]), cmd[1]
            proc.stdin.write(tag + b" " + cmd.encode() + b"\r\n")
            proc.stdin.flush()
            lines = read_answer(proc, buf, tag, deadline, continuation=literal is not None)
            if literal is not None and lines and lines[-1].startswith(b"+"):
                proc.stdin.write(literal + b"\r\n")
                proc.stdin.flush()
                lines += read_answer(proc, buf, tag, deadline)
            answers.append((cmd, lines))
        proc.stdin.write(b"z LOGOUT\r\n")
        proc.stdin.flush()
        read_answer(proc, buf, b"z", deadline)
    finally:
        finish(proc)
    return answers


def finish(proc):
    """Ends a session's process: closes its input, waits for it (kills
    it after 10 s) and closes its output."""
    proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()
    proc.stderr.close()
