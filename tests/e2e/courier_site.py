"""Debian's Courier configuration copied for a test (edited to serve on
loopback ports, with a userdb of the test's accounts), and Debian's own
Courier daemons started from that copy."""

import crypt
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PER_USER_FIRST_UID, free_port

ETC = Path("/etc/courier")
FILES = ("imapd", "imapd-ssl", "pop3d", "pop3d-ssl", "authdaemonrc")


def need_debian_files():
    if os.getuid() != 0:
        pytest.skip("needs root: Debian's authdaemonrc is readable by root only")
    missing = [f for f in FILES if not (ETC / f).exists()]
    if missing or not Path("/usr/bin/imapd").exists():
        pytest.skip(f"Debian's Courier packages are not installed ({missing}): "
                    "apt-get install courier-imap courier-pop courier-authlib-userdb")


def set_vars(path, **values):
    """Sets Courier variables in a copied rc file: replaces the live
    assignment, or appends one."""
    text = path.read_text()
    for name, value in values.items():
        line = f"{name}={value}"
        pattern = re.compile(rf"^{name}=.*$", re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _: line, text)
        else:
            text += f"\n{line}\n"
    path.write_text(text)


def courier_files(root, accounts):
    """Copies Debian's /etc/courier to ROOT/courier and edits it to serve
    IMAP, IMAPS, POP3 and POP3S on free loopback ports with a certificate
    of the test's, and a userdb (source text only) holding `accounts`
    ({login: (password, userdb options)}), each with its own uid, home
    ROOT/home/LOGIN and maildir. Returns (the copy, ports by protocol,
    {login: (home, (uid, gid))})."""
    src = root / "courier"
    shutil.copytree(ETC, src, symlinks=True)
    # What another test may have left in /etc/courier: this copy's
    # userdb is the test's alone.
    for p in src.glob("userdb*"):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    ports = {p: free_port() for p in ("imap", "imaps", "pop3", "pop3s")}
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         str(src / "key.pem"), "-out", str(src / "cert.pem"), "-days", "2",
         "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )
    # Courier's habit: key and certificate in one PEM.
    pem = src / "imapd.pem"
    pem.write_text((src / "key.pem").read_text() + (src / "cert.pem").read_text())
    pem.chmod(0o600)
    set_vars(src / "imapd", ADDRESS="127.0.0.1", PORT=ports["imap"], IMAPDSTART="YES")
    set_vars(src / "imapd-ssl", SSLADDRESS="127.0.0.1", SSLPORT=ports["imaps"],
             IMAPDSSLSTART="YES", TLS_CERTFILE=pem)
    set_vars(src / "pop3d", ADDRESS="127.0.0.1", PORT=ports["pop3"], POP3DSTART="YES")
    set_vars(src / "pop3d-ssl", SSLADDRESS="127.0.0.1", SSLPORT=ports["pop3s"],
             POP3DSSLSTART="YES", TLS_CERTFILE=pem)
    homes = {}
    lines = []
    for n, (login, (password, options)) in enumerate(accounts.items()):
        uid = gid = PER_USER_FIRST_UID + n
        home = root / "home" / login
        maildir = home / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
        fields = [f"uid={uid}", f"gid={gid}", f"home={home}", f"mail={maildir}",
                  f"systempw={hashed}"] + ([f"options={options}"] if options else [])
        lines.append(f"{login}\t" + "|".join(fields))
        homes[login] = (home, (uid, gid))
    userdb = src / "userdb"
    userdb.write_text("".join(line + "\n" for line in lines))
    userdb.chmod(0o600)
    set_vars(src / "authdaemonrc", authmodulelist='"authuserdb"')
    for d in (root, root / "home"):
        d.chmod(0o711)
    return src, ports, homes


def own(home, ids):
    """Gives `home` and everything in it to the account (uid, gid)."""
    for dirpath, _, filenames in os.walk(home):
        os.chown(dirpath, *ids)
        for f in filenames:
            os.chown(os.path.join(dirpath, f), *ids)
    home.chmod(0o700)


def port_state(port):
    """Whether something accepts connections on loopback `port`."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port, listening, what, timeout=30):
    deadline = time.time() + timeout
    while port_state(port) != listening:
        if time.time() > deadline:
            raise RuntimeError(f"{what}: port {port} {'never opened' if listening else 'stays open'}")
        time.sleep(0.1)


class CourierDaemons:
    """Debian's Courier daemons, started and stopped by their own scripts
    (`authdaemond`, `imapd`, `pop3d` start|stop: couriertcpd with
    imaplogin and imapd, pop3login and pop3d, authdaemond with
    authuserdb) on a copy of /etc/courier. Those scripts and daemons read
    the paths compiled into them (/etc/courier, /run/courier), so they run
    in a mount namespace of their own, where the copy is mounted over
    /etc/courier and an empty tmpfs over /run/courier: the machine's
    Courier files, and other tests that edit them in place, are not
    touched. The network is the machine's: the ports are real ones on
    loopback."""

    def __init__(self, src, ports):
        self.ports = ports
        script = (f"mount --bind {src} /etc/courier && "
                  "mount -t tmpfs -o mode=0775 tmpfs /run/courier && "
                  "install -d -o courier -g courier /run/courier/authdaemon && "
                  "echo ready && exec sleep infinity")
        # The holder keeps the namespace alive; commands enter it.
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if self.holder.stdout.readline() != b"ready\n":
            self.holder.wait(10)
            raise RuntimeError(f"no mount namespace: {self.holder.stderr.read().decode()}")
        # Courier reads the compiled userdb.dat, made from the source text.
        self.run("makeuserdb")
        self.started = False

    def run(self, *cmd):
        r = subprocess.run(["nsenter", "-t", str(self.holder.pid), "-m", "--", *cmd],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{cmd}: {r.stdout}{r.stderr}"
        return r

    def start(self):
        self.run("/usr/sbin/authdaemond", "start")
        self.run("/usr/sbin/imapd", "start")
        self.run("/usr/sbin/pop3d", "start")
        self.started = True
        wait_port(self.ports["imap"], True, "Courier's imapd")
        wait_port(self.ports["pop3"], True, "Courier's pop3d")

    def stop(self):
        if not self.started:
            return
        self.started = False
        for script in ("/usr/sbin/imapd", "/usr/sbin/pop3d", "/usr/sbin/authdaemond"):
            self.run(script, "stop")
        wait_port(self.ports["imap"], False, "Courier's imapd")
        wait_port(self.ports["pop3"], False, "Courier's pop3d")

    def close(self):
        try:
            self.stop()
        finally:
            self.holder.terminate()
            self.holder.wait(10)
