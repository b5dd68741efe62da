"""A private rsyslogd: its own socket, and mail.* written to its own
mail.log in Debian's traditional format (what /var/log/mail.log holds,
and what fail2ban's jails read)."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class PrivateRsyslog:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="courser-rsyslog-"))
        # Servers running as other users must reach the socket.
        self.dir.chmod(0o755)
        self.socket, self.mail_log = self.dir / "log.sock", self.dir / "mail.log"
        (self.dir / "rsyslog.conf").write_text(
            f'global(workDirectory="{self.dir}")\n'
            'module(load="imuxsock" SysSock.Use="off")\n'
            f'input(type="imuxsock" Socket="{self.socket}")\n'
            # Debian's rsyslog.conf: mail.* to mail.log, traditional format.
            f'mail.* action(type="omfile" File="{self.mail_log}" '
            'Template="RSYSLOG_TraditionalFileFormat")\n'
        )
        with open(self.dir / "rsyslogd.out", "wb") as out:
            self.proc = subprocess.Popen(
                ["rsyslogd", "-n", "-f", str(self.dir / "rsyslog.conf"), "-i",
                 str(self.dir / "pid")],
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not self.socket.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert self.socket.exists(), (self.dir / "rsyslogd.out").read_text()

    def text(self):
        return self.mail_log.read_text() if self.mail_log.exists() else ""

    def wait_for(self, done, timeout=20):
        """mail.log's text once `done(text)` holds (or the time is up)."""
        deadline = time.time() + timeout
        while not done(self.text()) and time.time() < deadline:
            time.sleep(0.05)
        return self.text()

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
