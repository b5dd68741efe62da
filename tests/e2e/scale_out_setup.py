"""Issue 18's whole setup, for tests/e2e/test_scale_out_load.py and
scripts/scale_out_bench.py: tests/e2e/gluster_cluster.py's three nodes
over one GlusterFS volume, their accounts in PostgreSQL (started in the
cluster's network namespace) with `mailhost` options for some, generated
mail in every INBOX, and a Courser proxy in front on 127.0.0.1."""

import contextlib
import crypt
import glob
import json
import os
import re
import subprocess
from pathlib import Path

from conftest import BIN, ReadyNotice, stop_process
from gluster_cluster import NODES, PORT, gluster_cluster
from pg_server import postgres_server
from preauth import need

BENCH = os.environ.get("COURSER_BENCH_BIN") or str(Path(BIN).with_name("courser-bench"))
PROXY_HOST = "127.0.0.1"

SQL_TABLE = """CREATE TABLE passwd (
  id VARCHAR(128) PRIMARY KEY, crypt VARCHAR(255), uid INTEGER, gid INTEGER,
  home VARCHAR(255), maildir VARCHAR(255), options VARCHAR(255))"""
SQL_AUTH = """failure_delay_secs = 0

[[auth.backend]]
type = "sql"
url = "{url}"
maildir_field = "maildir"
auxoptions_field = "options"
"""


def sql_rows(cluster, users, mailhosts):
    """INSERTs of the accounts: homes where every node sees its mount,
    `mailhost` options from `mailhosts` ({user: [host, ...]})."""
    rows = []
    for user, pw in users.items():
        home = cluster.shared / "home" / user
        hosts = mailhosts.get(user)
        options = "'" + ",".join(f"mailhost={h}" for h in hosts) + "'" if hosts else "NULL"
        hashed = crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))
        rows.append(f"INSERT INTO passwd VALUES ('{user}', '{hashed}', {cluster.ids[0]}, "
                    f"{cluster.ids[1]}, '{home}', '{home / 'Maildir'}', {options})")
    return ";\n".join(rows) + ";"


class Proxy:
    """A proxy's `courser serve` in the cluster's namespace, on
    PROXY_HOST:`port`, over the pool `backends`."""

    def __init__(self, root: Path, auth: str, port: int, backends):
        self.port = port
        self.dir = root / f"proxy{port}"
        self.dir.mkdir()
        (self.dir / "courser.toml").write_text(f"""
[[listener]]
protocol = "imap"
address = "{PROXY_HOST}:{port}"

[auth]
{auth}
[limits]
trusted_networks = ["127.0.0.0/8"]
max_connections_per_user = 200

[proxy]
enabled = true
backends = {json.dumps(backends)}
imap_port = {PORT}
probe_interval_secs = 1
down_after = 1
up_after = 2
# The nodes share two cores with the GlusterFS brick and 50 clients (NOOP
# p50 over a second): give a greeting longer than the default 5 s before
# a node counts as down, as a site would for nodes this loaded.
connect_timeout_secs = 10

[server]
run_as = "nobody"
""")
        self.log_path = self.dir / "server.log"
        self.log = open(self.log_path, "ab")
        ready = ReadyNotice(self.dir)
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", str(self.dir / "courser.toml")],
            stdout=self.log, stderr=subprocess.STDOUT, env=ready.env())
        ready.wait(self.proc, self.log_path)

    def text(self):
        return self.log_path.read_text(errors="replace")

    def node_of(self, user):
        """The backend the log says `user`'s last proxied login went to."""
        for line in reversed(self.text().splitlines()):
            if "LOGIN (proxied)" in line and re.search(rf'user="?{user}"?( |$)', line):
                return re.search(r"backend=(\S+)", line).group(1)
        raise AssertionError(f"no proxied login of {user} in the log")

    def stop(self):
        stop_process(self.proc, self.log)


def seed(cluster, users, count):
    """`count` generated messages in every INBOX, owned by the mail user."""
    for user in users:
        d = cluster.maildir(0, user)
        subprocess.run([BENCH, "generate", "--dir", str(d), "--count", str(count)],
                       check=True, capture_output=True)
        for sub in ("cur", "new", "tmp"):
            os.chown(d / sub, *cluster.ids)
            for f in (d / sub).iterdir():
                os.chown(f, *cluster.ids)


@contextlib.contextmanager
def scale_out(folders, users, mailhosts, seed_count):
    """Yields (cluster, auth): the cluster with its nodes up on the
    PostgreSQL directory (`auth` is its [auth] section, for proxies)."""
    initdb = (sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
              or ["/usr/lib/postgresql/bin/initdb"])[-1]
    need(initdb, "postgresql")
    with gluster_cluster(folders, users, start_nodes=False) as cluster:
        # Started from this thread, now in the cluster's namespace.
        with postgres_server(initdb) as pg:
            pg.psql(SQL_TABLE + ";" + sql_rows(cluster, users, mailhosts))
            cluster.auth = SQL_AUTH.format(url=pg.url)
            for i in range(len(NODES)):
                cluster.start_node(i)
            seed(cluster, users, seed_count)
            yield cluster, cluster.auth
