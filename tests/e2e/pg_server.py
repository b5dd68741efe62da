"""A throwaway PostgreSQL server for the tests: initdb into a temporary
directory, trust authentication, TCP on 127.0.0.1 (of the network
namespace the calling thread is in) and a Unix socket in that directory."""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from conftest import free_port


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


class Pg:
    """A running server: its URL, socket directory and port."""

    def __init__(self, bindir: Path, d: Path, port: int, ctl):
        self.bindir, self.socket_dir, self.tcp_port, self.ctl = bindir, d, port, ctl
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"

    def psql(self, sql):
        run([str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.tcp_port),
             "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])

    def stop(self):
        subprocess.run(self.ctl + ["-m", "immediate", "stop"], capture_output=True)


@contextlib.contextmanager
def postgres_server(initdb):
    """Starts a server with the `initdb` found (its bindir has pg_ctl and
    psql); yields its [`Pg`]; stops it and removes its files."""
    bindir = Path(initdb).parent
    d = Path(tempfile.mkdtemp(prefix="courser-pg-"))
    d.chmod(0o755)
    as_pg = []
    if os.getuid() == 0:
        shutil.chown(d, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    ctl = as_pg + [str(bindir / "pg_ctl"), "-D", str(d / "data"), "-l", str(d / "log")]
    pg = Pg(bindir, d, port, ctl)
    try:
        run(as_pg + [str(bindir / "initdb"), "-D", str(d / "data"), "-A", "trust",
                     "-U", "postgres", "--no-sync"])
        run(ctl + ["-w", "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {d} -c fsync=off",
                   "start"])
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(d, ignore_errors=True)
