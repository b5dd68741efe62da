"""Courser nodes over one GlusterFS volume, as the issue-18 tests run
them (docs/scale-out.md).

A network namespace made for the test (loopback only) holds glusterd, a
one-brick volume under the test's directory, one FUSE mount of it per
node and `courser serve` nodes on 127.0.0.2-4. Each node runs in its own
mount and UTS namespace: its own mount is bound at the one path the
shared userdb names for the homes, and it has its own host name (so
message names and dot-lock ids differ per node, as on separate machines).
Each node keeps its folder indexes on local disk (`index_dir`) and polls
for IDLE. The third node's clock is 30 s behind (libfaketime in its
`courser serve`; file times come from the brick's clock whatever the
client's, as a check with a skewed FUSE client showed). The thread that
brings the cluster up moves into the namespace, and so do the threads
and processes it starts afterwards.

The volume and the mounts are set up as docs/scale-out.md says (no
client-side caches): with GlusterFS's defaults, nodes read UID lists
another node had replaced and gave one UID to two messages.

glusterd refuses loopback addresses for bricks, so the namespace's
loopback device also carries 192.0.2.1 (TEST-NET-1): the traffic still
never leaves the namespace. glusterd's state goes to the test directory
(its `working-directory`, `run-directory` and socket options); the
brick's log and socket land in /var/log/glusterfs and /run/gluster and
are removed at the end, and glusterd adds its commands to
/var/log/glusterfs/cmd_history.log.

Also here: the test messages and the ledger of what clients did and saw,
which the tests check exactly-once delivery and UID uniqueness with.
"""

import calendar
import contextlib
import crypt
import ctypes
import imaplib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN, USERS, ReadyNotice, stop_process
from preauth import need
from test_peruser import processes

BRICK_HOST = "192.0.2.1"
NODES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
PORT = 1143
IDLE_POLL_SECS = 1
# The node whose clock is off, and by how much (libfaketime's syntax).
SKEWED, SKEW = 2, "-30s"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
# FUSE keeps a directory's attributes for a second (glusterfs'
# attribute-timeout): what another node changed shows in a stat after it.
ATTR_TIMEOUT_SECS = 1

# What several writers of one folder need (docs/scale-out.md): no client
# side caches of file contents or metadata that outlive another node's
# change.
VOLUME_OPTIONS = [
    ("performance.quick-read", "off"),
    ("performance.io-cache", "off"),
    ("performance.stat-prefetch", "off"),
    ("performance.read-ahead", "off"),
]
MOUNT_OPTIONS = ["attribute-timeout=0", "entry-timeout=0", "negative-timeout=0"]

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    """Moves the calling thread (and the threads and children it starts
    later) into the network namespace open at `fd`."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def folder_dir(folder):
    """A folder's directory in the maildir."""
    return "" if folder == "INBOX" else folder.removeprefix("INBOX")


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


class Cluster:
    """The namespace, glusterd and its volume, the mounts and the nodes."""

    def __init__(self, root: Path, folders, users=None):
        """`folders`: made in every account's maildir (INBOX first);
        `users`: {name: password} (conftest's USERS by default)."""
        self.root = root
        self.folders = folders
        self.users = users or USERS
        # The nodes' [auth] section; the userdb made with the accounts.
        self.auth = f'userdb = "{root / "userdb"}"\nfailure_delay_secs = 0\n'
        # More TOML for every node's configuration.
        self.extra = ""
        self.ns = f"courser-gl{os.getpid()}"
        self.nsenter = ["nsenter", f"--net=/run/netns/{self.ns}"]
        self.glusterd = None
        self.mounts = []
        self.volume = None
        self.procs = [None] * len(NODES)
        self.logs = [None] * len(NODES)
        self.own_ns = None
        # The daemons glusterd and the mounts leave running, and the brick
        # sockets they leave in /run/gluster.
        self.daemons = []
        self.sockets = set()
        nobody = pwd.getpwnam("nobody")
        self.ids = (nobody.pw_uid, nobody.pw_gid)

    # -- set-up --

    def up(self, start_nodes=True):
        """Namespace, glusterd, volume, mounts, accounts and (unless
        `start_nodes` is false) the nodes."""
        run("ip", "netns", "add", self.ns)
        run("ip", "-n", self.ns, "link", "set", "lo", "up")
        run("ip", "-n", self.ns, "addr", "add", f"{BRICK_HOST}/32", "dev", "lo")
        self.own_ns = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
        self.start_glusterd()
        self.make_volume()
        for i in range(len(NODES)):
            mnt = self.root / f"mnt{i}"
            mnt.mkdir()
            options = ",".join([f"log-file={self.root / f'mount{i}.log'}", *MOUNT_OPTIONS])
            run(*self.nsenter, "mount", "-t", "glusterfs", "-o", options,
                f"{BRICK_HOST}:/gv0", str(mnt))
            self.mounts.append(mnt)
            self.daemons += [pid for pid, args in processes(str(mnt)).items()
                             if "fuse" in args]
        self.make_accounts()
        if start_nodes:
            for i in range(len(NODES)):
                self.start_node(i)

    def start_glusterd(self):
        for d in ("glusterd", "run"):
            (self.root / d).mkdir()
        vol = self.root / "glusterd.vol"
        vol.write_text(
            "volume management\n"
            "    type mgmt/glusterd\n"
            f"    option working-directory {self.root / 'glusterd'}\n"
            f"    option run-directory {self.root / 'run'}\n"
            f"    option glusterd-sockfile {self.sock}\n"
            "    option transport-type socket\n"
            "    option transport.socket.listen-port 24007\n"
            "    option ping-timeout 0\n"
            "    option event-threads 1\n"
            "end-volume\n"
        )
        self.glusterd_out = open(self.root / "glusterd.out", "ab")
        self.glusterd = subprocess.Popen(
            [*self.nsenter, "glusterd", "--no-daemon", "-f", str(vol),
             "-l", str(self.root / "glusterd.log")],
            stdout=self.glusterd_out, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.gluster_ok("volume", "list"):
                return
            time.sleep(0.2)
        raise RuntimeError("glusterd did not answer:\n" + self.tail("glusterd.log"))

    @property
    def sock(self):
        return self.root / "run" / "glusterd.socket"

    def gluster(self, *args):
        return subprocess.run(
            [*self.nsenter, "gluster", "--mode=script", f"--glusterd-sock={self.sock}",
             f"--log-file={self.root / 'cli.log'}", *args],
            capture_output=True, text=True,
        )

    def gluster_ok(self, *args):
        return self.gluster(*args).returncode == 0

    def make_volume(self):
        self.brick = self.root / "brick"
        made = self.gluster("volume", "create", "gv0", f"{BRICK_HOST}:{self.brick}", "force")
        assert made.returncode == 0, made.stdout + made.stderr
        self.volume = "gv0"
        for key, value in VOLUME_OPTIONS:
            done = self.gluster("volume", "set", "gv0", key, value)
            assert done.returncode == 0, done.stdout + done.stderr
        before = set(Path("/run/gluster").glob("*.socket"))
        started = self.gluster("volume", "start", "gv0")
        assert started.returncode == 0, started.stdout + started.stderr
        self.sockets = set(Path("/run/gluster").glob("*.socket")) - before
        self.daemons += list(processes(str(self.brick)))

    def make_accounts(self):
        """Homes on the volume (made through the first mount), one userdb
        on local disk naming them under `shared/`, where every node sees
        its own mount."""
        self.shared = self.root / "shared"
        self.shared.mkdir()
        lines = []
        for user, pw in self.users.items():
            maildir = self.mounts[0] / "home" / user / "Maildir"
            for sub in ("cur", "new", "tmp"):
                (maildir / sub).mkdir(parents=True, exist_ok=True)
            for folder in self.folders[1:]:
                for sub in ("cur", "new", "tmp"):
                    (maildir / folder_dir(folder) / sub).mkdir(parents=True, exist_ok=True)
                (maildir / folder_dir(folder) / "maildirfolder").touch()
            home = self.shared / "home" / user
            hashed = crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))
            lines.append(f"{user}\tuid={self.ids[0]}|gid={self.ids[1]}|home={home}"
                         f"|mail={home / 'Maildir'}|systempw={hashed}\n")
        for dirpath, dirnames, filenames in os.walk(self.mounts[0] / "home"):
            os.chown(dirpath, *self.ids)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), *self.ids)
        userdb = self.root / "userdb"
        userdb.write_text("".join(lines))
        userdb.chmod(0o600)

    def config(self, i):
        node = self.root / f"node{i}"
        index = node / "index"
        if not node.exists():
            index.mkdir(parents=True)
            os.chown(index, *self.ids)
        config = node / "courser.toml"
        config.write_text(
            f"""
[[listener]]
protocol = "imap"
address = "{NODES[i]}:{PORT}"

[auth]
{self.auth}
[imap]
idle_poll_secs = {IDLE_POLL_SECS}

[maildir]
index_dir = "{index}"

[server]
run_as = "nobody"
{self.extra}"""
        )
        return node, config

    def start_node(self, i):
        """Starts node `i` in its own mount and UTS namespace (its mount
        bound at `shared/`, host name `nodeI`) and waits until it is
        ready. The server is the process started (each tool execs the
        next), so a signal to it reaches `courser serve` itself."""
        node, config = self.config(i)
        log_path = node / "server.log"
        self.logs[i] = open(log_path, "ab")
        ready = ReadyNotice(node)
        env = ready.env()
        prefix = []
        if i == SKEWED:
            prefix = ["env", f"LD_PRELOAD={FAKETIME_LIB}", f"FAKETIME={SKEW}"]
        script = 'mount --bind "$1" "$2" && hostname "$3" && shift 3 && exec "$@"'
        self.procs[i] = subprocess.Popen(
            [*self.nsenter, "unshare", "--mount", "--uts", "sh", "-c", script, "sh",
             str(self.mounts[i]), str(self.shared), f"node{i}",
             *prefix, BIN, "serve", "--config", str(config)],
            stdout=self.logs[i], stderr=subprocess.STDOUT, env=env,
        )
        ready.wait(self.procs[i], log_path)
        if i == SKEWED:
            # Its log lines carry its clock: far behind ours.
            stamp = re.match(r"(\S+?)(?:\.\d+)?Z ", log_path.read_text().splitlines()[-1])
            logged = calendar.timegm(time.strptime(stamp.group(1), "%Y-%m-%dT%H:%M:%S"))
            assert logged < time.time() - 20, stamp.group(0)

    def kill_node(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.logs[i].close()

    def node_log(self, i):
        return (self.root / f"node{i}" / "server.log").read_text(errors="replace")

    def errors(self):
        """The nodes' logged errors, for a failure message."""
        return "\n".join(
            f"node {i}: {line}" for i in range(len(NODES))
            for line in self.node_log(i).splitlines() if " ERROR " in line or " WARN " in line
        )

    def tail(self, name):
        path = self.root / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def connect(self, i, user="alice"):
        """A logged-in imaplib client straight to node `i`."""
        c = imaplib.IMAP4(NODES[i], PORT, timeout=30)
        c.login(user, self.users[user])
        return c

    def maildir(self, i, user="alice"):
        """The account's maildir as node `i`'s mount shows it."""
        return self.mounts[i] / "home" / user / "Maildir"

    def deliver(self, i, data: bytes, user="alice", folder="INBOX"):
        """`courser deliver` through node `i`'s mount, as the mail user."""
        target = self.maildir(i, user) / folder_dir(folder)
        return subprocess.run(
            [BIN, "deliver", str(target)], input=data,
            user=self.ids[0], group=self.ids[1], capture_output=True,
        )

    # -- tear-down --

    def down(self):
        for p, log in zip(self.procs, self.logs):
            if p is not None:
                stop_process(p, log)
        for mnt in self.mounts:
            if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        if self.volume:
            self.gluster("volume", "stop", self.volume, "force")
            self.gluster("volume", "delete", self.volume)
        if self.glusterd is not None:
            stop_process(self.glusterd, self.glusterd_out)
        # The FUSE clients outlive their unmount here, and a brick process
        # can outlive glusterd.
        for pid in self.daemons:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for sock in self.sockets:
            sock.unlink(missing_ok=True)
        brick_log = "/var/log/glusterfs/bricks/" + str(self.root / "brick").strip("/").replace("/", "-") + ".log"
        Path(brick_log).unlink(missing_ok=True)
        if self.own_ns is not None:
            setns(self.own_ns)
            os.close(self.own_ns)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)



@contextlib.contextmanager
def gluster_cluster(folders, users=None, start_nodes=True):
    """A [`Cluster`] up (nodes started unless `start_nodes` is false),
    checked that no node died, and torn down; skips (or fails, in full
    runs) where GlusterFS, FUSE or root are missing."""
    if os.getuid() != 0:
        pytest.skip("needs root (network namespace, FUSE mounts)")
    need("/usr/sbin/glusterd", "glusterfs-server")
    need("/usr/sbin/mount.glusterfs", "glusterfs-client")
    if not os.path.exists(FAKETIME_LIB):
        need("/usr/bin/faketime", "faketime")
    if not os.path.exists("/dev/fuse"):
        if os.environ.get("COURSER_FULL_TESTS") == "1":
            pytest.fail("/dev/fuse is missing: GlusterFS cannot be mounted")
        pytest.skip("no /dev/fuse")
    root = Path(tempfile.mkdtemp(prefix="courser-gluster-"))
    root.chmod(0o711)  # the nodes serve as nobody
    c = Cluster(root, folders, users)
    try:
        c.up(start_nodes)
        yield c
        for i, p in enumerate(c.procs):
            assert p is None or p.poll() is None, f"node {i} died:\n" + c.node_log(i)[-3000:]
    finally:
        c.down()
        shutil.rmtree(root, ignore_errors=True)


# -- what clients did and saw --

MSG = (b"From: w@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n"
       b"X-Test-Id: %s\r\n\r\nbody of %s\r\n")
TEST_ID = re.compile(rb"X-Test-Id: (\S+)", re.I)
UID = re.compile(rb"UID (\d+)")
FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")


def message(mid: str) -> bytes:
    b = mid.encode()
    return MSG % (b, b, b)


def fetch_all(c, items="BODY.PEEK[HEADER.FIELDS (X-Test-Id)]"):
    """UID FETCH 1:* of the selected folder: {uid: (flags, test id)}."""
    typ, data = c.uid("FETCH", "1:*", f"(UID FLAGS {items})")
    assert typ == "OK", data
    # imaplib gives (text before the literal, literal) and then the text
    # after it, which may hold the FLAGS.
    out = {}
    for n, part in enumerate(data):
        if not isinstance(part, tuple):
            continue
        head, body = part
        after = data[n + 1] if n + 1 < len(data) and isinstance(data[n + 1], bytes) else b""
        uid = UID.search(head + after)
        flags = FLAGS.search(head) or FLAGS.search(after)
        mid = TEST_ID.search(body)
        assert uid and flags and mid, part
        # \Recent depends on the session, not on the folder.
        out[int(uid.group(1))] = (
            frozenset(flags.group(1).split()) - {b"\\Recent"},
            mid.group(1).decode(),
        )
    return out


class Ledger:
    """What the clients did and saw, from every thread."""

    def __init__(self, uidvalidity):
        self.lock = threading.Lock()
        self.uidvalidity = uidvalidity
        self.made = set()      # delivered or appended, the server said OK
        self.unsure = set()    # the connection died before the answer
        self.seen = {}         # (folder, uid) -> test id
        self.problems = []
        self.done = [[] for _ in NODES]  # (time, op) completed, per node

    def saw(self, node, folder, msgs):
        with self.lock:
            for uid, (_, mid) in msgs.items():
                prev = self.seen.setdefault((folder, uid), mid)
                if prev != mid:
                    self.problems.append(
                        f"node {node}: {folder} UID {uid} is {mid}, was {prev}")

    def selected(self, node, folder, c):
        v = c.response("UIDVALIDITY")[1][0]
        if v is not None and int(v) != self.uidvalidity[folder]:
            with self.lock:
                self.problems.append(f"node {node}: {folder} UIDVALIDITY {v}")

    def problem(self, text):
        with self.lock:
            self.problems.append(text)


def uiddb(path: Path):
    """courierimapuiddb: (uidvalidity, nextuid, [(uid, base name)])."""
    lines = path.read_text().splitlines()
    version, v, nextuid = lines[0].split()
    assert version == "1"
    entries = [(int(u), name) for u, name in (line.split(" ", 1) for line in lines[1:])]
    return int(v), int(nextuid), entries
