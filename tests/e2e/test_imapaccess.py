"""Courier's access file (`[access] imapaccess`, Courier's
IMAPACCESSFILE) read as it is: the most specific entry decides, `*` last,
`MAXCPERIP` replaces the per-address limit, only IMAP listeners consult
it, lines Courier never matches are reported by check-config, and a
reload reads it again. Clients connect from different loopback addresses
(127.0.0.0/8 is all local)."""

import imaplib
import poplib
import signal
import socket
import subprocess
import time

from conftest import BIN


class SourcedIMAP(imaplib.IMAP4):
    """imaplib from a chosen local address."""

    def __init__(self, port, source):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, (self.source, 0))


def first_line(port, source):
    """The server's first line to a raw connection from `source` (b""
    when it closes without one)."""
    with socket.create_connection(("127.0.0.1", port), 10, (source, 0)) as s:
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


CONFIG = """
[access]
imapaccess = "imapaccess"

[limits]
max_connections_per_ip = 1
trusted_networks = []
new_connections_per_ip_per_minute = 1000
"""


def write_access(server, text):
    directory = server.root / "imapaccess"
    directory.mkdir(exist_ok=True)
    (directory / "local").write_text(text)
    # An editor's backup copy is not read (as makeimapaccess skips it).
    (directory / "local~").write_text("*\tdeny\n")


def restart_with_access(server, config_written=False):
    if not config_written:
        server.config.write_text(server.config.read_text() + CONFIG)
    server.chown()
    server.stop()
    server.start()


def test_the_most_specific_entry_decides_for_imap_only(make_server):
    server = make_server()
    write_access(server, "127.0.0.5\tdeny\n127.0.0\tallow,MAXCPERIP=3\n127.0.0.7\tallow\n"
                         "127.9\tdeny\n127.9.0.1\tallow\n")
    restart_with_access(server)

    assert first_line(server.imap_port, "127.0.0.5").startswith(b"* BYE [UNAVAILABLE] Access denied")
    assert first_line(server.imap_port, "127.9.0.2").startswith(b"* BYE [UNAVAILABLE] Access denied")
    assert first_line(server.imap_port, "127.9.0.1").startswith(b"* OK")
    # Courier's access file is imapd's: POP3 does not consult it.
    assert first_line(server.pop3_port, "127.0.0.5").startswith(b"+OK")

    # 127.0.0.6 falls under 127.0.0 with MAXCPERIP=3; 127.0.0.7 has its
    # own entry, which is the only one read: the global limit (1).
    held = []
    for _ in range(3):
        c = SourcedIMAP(server.imap_port, "127.0.0.6")
        c.login("alice", "alice-pw")
        held.append(c)
    too_many = b"* BYE [UNAVAILABLE] Too many connections from your address"
    assert first_line(server.imap_port, "127.0.0.6").startswith(too_many)
    c = SourcedIMAP(server.imap_port, "127.0.0.7")
    c.login("alice", "alice-pw")
    held.append(c)
    assert first_line(server.imap_port, "127.0.0.7").startswith(too_many)
    for c in held:
        c.logout()


def test_check_config_reports_lines_courier_never_matches_and_a_reload_rereads(make_server):
    server = make_server()
    write_access(server, "127.0.0.5 deny\n127.0.0.6\tallow,DEFDOMAIN=@example.com\n")
    server.config.write_text(server.config.read_text() + CONFIG)
    check = subprocess.run([BIN, "check-config", "--config", str(server.config)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert "matches no address" in check.stderr and "DEFDOMAIN" in check.stderr, check.stderr
    restart_with_access(server, config_written=True)
    # The space-separated line is not an entry: 127.0.0.5 gets in.
    assert first_line(server.imap_port, "127.0.0.5").startswith(b"* OK")
    write_access(server, "127.0.0.5\tdeny\n")
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and first_line(server.imap_port, "127.0.0.5").startswith(b"* OK"):
        time.sleep(0.1)
    assert first_line(server.imap_port, "127.0.0.5").startswith(b"* BYE [UNAVAILABLE] Access denied")
    # A file makeimapaccess would refuse (the same key twice) is refused
    # at reload too, and the old rules stay.
    write_access(server, "127.0.0.5\tdeny\n127.0.0.5\tallow\n")
    server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert "keeping the old configuration" in server.log_text()
    assert first_line(server.imap_port, "127.0.0.5").startswith(b"* BYE [UNAVAILABLE] Access denied")
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    p.quit()
    check = subprocess.run([BIN, "check-config", "--config", str(server.config)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode != 0 and "second entry" in check.stderr, check.stderr


def test_an_access_file_only_root_reads_is_read_at_start_and_kept_at_reload(make_server):
    """Debian's /etc/courier/imapaccess is root's (mode 750): read before
    root is given up, and kept at a reload the server can no longer read
    it at."""
    import os
    import pytest
    if os.geteuid() != 0:
        pytest.skip("needs root")
    server = make_server()
    write_access(server, "127.0.0.5\tdeny\n")
    restart_with_access(server)
    (server.root / "imapaccess").chmod(0o700)
    for f in (server.root / "imapaccess").iterdir():
        os.chown(f, 0, 0)
    os.chown(server.root / "imapaccess", 0, 0)
    server.stop()
    server.start()
    assert first_line(server.imap_port, "127.0.0.5").startswith(b"* BYE [UNAVAILABLE] Access denied")
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and "configuration reloaded" not in server.log_text():
        time.sleep(0.1)
    assert "the entries read at start stay" in server.log_text()
    assert first_line(server.imap_port, "127.0.0.5").startswith(b"* BYE [UNAVAILABLE] Access denied")
    assert first_line(server.imap_port, "127.0.0.6").startswith(b"* OK")
