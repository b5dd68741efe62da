"""The switch from Courier to Courser and back, end to end, on one machine,
with real clients on both sides of it (issue 17; the administrator's
guide, docs/migrating-from-courier.md, follows these steps):

1. Debian's Courier (its own start scripts: couriertcpd with imaplogin
   and imapd, pop3login and pop3d, authdaemond with authuserdb) serves a
   copy of /etc/courier on loopback ports: `ann`, with a few thousand
   messages in several folders, keywords and flags, and `bob`, POP3 only
   (`disableimap=1`). mbsync and offlineimap3 sync ann's folders to local
   copies, fetchmail (keep, UIDL) fetches bob's mail, and imaplib records
   every folder's UIDVALIDITY, UIDs, flags and keywords.
2. `courser import-courier` on the copy, Courier stopped, Courser started
   from the Debian package's files (`dpkg-deb -x`, not installed) with the
   generated config, on the same ports.
3. The clients again: nothing transferred either way, nothing changed,
   the same UIDVALIDITY/UIDs/flags/keywords. A failed login is in
   syslog's mail.log as fail2ban's courier-auth filter matches it.
4. New mail and flag changes under Courser; Courser stopped, Courier
   started again: Courier shows them with Courser's UIDs, and the clients
   transfer exactly what changed.

Root and COURSER_FULL_TESTS only: it runs Courier's daemons (in a mount
namespace of their own, see courier_site.CourierDaemons)."""

import hashlib
import imaplib
import os
import poplib
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Served
from courier_site import CourierDaemons, courier_files, need_debian_files, own, wait_port
from deb_package import build_deb
from private_rsyslog import PrivateRsyslog

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
FILTER = Path("/etc/fail2ban/filter.d/courier-auth.conf")
ACCOUNTS = {"ann": ("ann-pw", ""), "bob": ("bob-pw", "disableimap=1")}
# ann's folders (Courier's names below INBOX) and how many messages each.
FOLDERS = {"": 900, "Archive": 850, "Sent": 250, "Lists.dev": 250, "Drafts": 150}
# What offlineimap syncs: it fetches one message per command, and Courier
# takes some 50 ms to answer each (Courser under 1 ms), so all 2,400
# would take minutes; mbsync syncs every folder.
OFFLINEIMAP_FOLDERS = ("INBOX.Sent", "INBOX.Lists.dev", "INBOX.Drafts")
BOB_MESSAGES = 40

pytestmark = pytest.mark.skipif(not FULL, reason="runs Courier's daemons: COURSER_FULL_TESTS only")


def need(*tools):
    for t in tools:
        assert shutil.which(t), f"{t} is missing (scripts/test.sh installs it)"


def message(folder, i):
    lines = "".join(f"line {n} of message {i}\n" for n in range(i % 5 + 1))
    return (f"From: sender{i % 50}@example.org\nTo: ann@example.org\n"
            f"Subject: {folder or 'INBOX'} message {i}\n"
            f"Date: Mon, 2 Nov 2026 10:{i % 60:02}:00 +0000\n"
            f"Message-ID: <{folder or 'INBOX'}.{i}@example.org>\n\n{lines}").encode()


def stored_flags(i):
    """Maildir flags (ASCII order) of message `i`: most seen, some
    flagged, answered or deleted."""
    return "".join(f for f, on in (("F", i % 17 == 0), ("R", i % 41 == 0),
                                   ("S", i % 3 != 0), ("T", i % 29 == 0)) if on)


def fill_maildirs(homes):
    """ann's folders with their messages (the last few of INBOX still in
    new/), bob's INBOX; everything owned by its account."""
    maildir = homes["ann"][0] / "Maildir"
    for folder, count in FOLDERS.items():
        d = maildir / f".{folder}" if folder else maildir
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(exist_ok=True, parents=True)
        if folder:
            (d / "maildirfolder").write_bytes(b"")
        for i in range(count):
            data = message(folder, i)
            name = f"{1790000000 + i}.M{i}P1.oldhost,S={len(data)}"
            if folder == "" and i >= count - 20:
                (d / "new" / name).write_bytes(data)
            else:
                (d / "cur" / f"{name}:2,{stored_flags(i)}").write_bytes(data)
    bob = homes["bob"][0] / "Maildir"
    for i in range(BOB_MESSAGES):
        data = message("bob", i)
        (bob / "new" / f"{1790000000 + i}.M{i}P2.oldhost,S={len(data)}").write_bytes(data)
    for home, ids in homes.values():
        own(home, ids)


def imap(port, user="ann"):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    m.login(user, ACCOUNTS[user][0])
    return m


def courier_keywords_and_expunge(port):
    """What only a server writes: keywords (courierimapkeywords/), and
    gaps in the UIDs from an EXPUNGE."""
    m = imap(port)
    m.select("INBOX")
    for uids, words in (("1:40", "($Work Later)"), ("30:60", "(Project-X)")):
        assert m.uid("STORE", uids, "+FLAGS", words)[0] == "OK"
    m.select("INBOX.Archive")
    assert m.uid("STORE", "100:149", "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    assert m.uid("STORE", "1:25", "+FLAGS", "($Label1)")[0] == "OK"
    m.logout()


LIST_LINE = re.compile(rb'\((?P<attrs>[^)]*)\) (?:"."|NIL) "?(?P<name>[^"]*)"?$')


def record(port):
    """Every folder of ann's: {name: (UIDVALIDITY, {uid: flags})}, read
    with EXAMINE (nothing changes), without \\Recent (a session's)."""
    m = imap(port)
    typ, listed = m.list()
    assert typ == "OK", listed
    state = {}
    for line in listed:
        f = LIST_LINE.match(line)
        assert f, line
        if b"\\Noselect" in f["attrs"]:
            continue
        name = f["name"].decode()
        typ, data = m.select(f'"{name}"', readonly=True)
        assert typ == "OK", (name, data)
        uidvalidity = int(m.untagged_responses["UIDVALIDITY"][0])
        messages = {}
        if int(data[0]):
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK", data
            for item in data:
                uid = int(re.search(rb"UID (\d+)", item)[1])
                flags = re.search(rb"FLAGS \(([^)]*)\)", item)[1].decode().split()
                messages[uid] = frozenset(flags) - {"\\Recent"}
        state[name] = (uidvalidity, messages)
    m.logout()
    return state


def bob_s_imap_login(port):
    """What the server answers bob's IMAP LOGIN (disableimap=1), up to
    the end of the session or the tagged answer to a command after it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN bob bob-pw\r\nb NOOP\r\n")
        lines = []
        while (line := f.readline()) and not line.startswith(b"b "):
            if not line.startswith(b"* OK"):
                lines.append(line)
        return lines


def snapshot(d):
    """Every file under `d`, by path, as the SHA-256 of its bytes."""
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def message_changes(before, after):
    """(new messages, messages whose flags changed) between two snapshots
    of a local maildir copy: a message file is known by its name without
    the flags."""
    def messages(snap):
        found = {}
        for path, digest in snap.items():
            if re.search(r"(^|/)(cur|new)/", path):
                name = re.sub(r"/(cur|new)/", "/", re.sub(r":2,[A-Za-z]*$", "", path))
                found[name] = (path, digest)
        return found
    old, new = messages(before), messages(after)
    assert set(old) <= set(new), f"messages gone: {set(old) - set(new)}"
    return len(set(new) - set(old)), sum(1 for k in old if old[k] != new[k])


class Clients:
    """mbsync, offlineimap3 and fetchmail, each with its local copy and
    state under DIR."""

    def __init__(self, d, ports):
        self.d = d
        self.mbsync_dir, self.offlineimap_dir = d / "mbsync", d / "offlineimap"
        self.fetched = d / "fetched"
        d.mkdir(mode=0o700)
        for sub in (self.mbsync_dir, self.offlineimap_dir, self.fetched, d / "fetchmail"):
            sub.mkdir()
        (d / "mbsyncrc").write_text(f"""
IMAPAccount ann
Host 127.0.0.1
Port {ports['imap']}
User ann
Pass {ACCOUNTS['ann'][0]}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account ann

MaildirStore local
Path {self.mbsync_dir}/
Inbox {self.mbsync_dir}/INBOX
SubFolders Verbatim

Channel ann
Far :remote:
Near :local:
Patterns *
Create Near
Expunge None
Sync All
SyncState *
""")
        (d / "offlineimaprc").write_text(f"""
[general]
accounts = ann
metadata = {d}/offlineimap-meta
ui = basic
# One fsync per message would make this the slowest part of the test.
fsync = false

[Account ann]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {self.offlineimap_dir}
sep = .

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {ports['imap']}
remoteuser = ann
remotepass = {ACCOUNTS['ann'][0]}
ssl = no
starttls = no
folderfilter = lambda f: f in {OFFLINEIMAP_FOLDERS!r}
# \\Deleted messages stay on the server, as they are.
expunge = no
# More connections share folders: a SELECT per message.
maxconnections = 1
""")
        rc = d / "fetchmailrc"
        rc.write_text(
            f"poll 127.0.0.1 service {ports['pop3']} protocol pop3 uidl\n"
            f"  user bob password {ACCOUNTS['bob'][0]} is root here\n"
            f"  sslproto '' keep\n"
            f"  mda \"/bin/sh -c 'cat > $(mktemp {self.fetched}/m.XXXXXX)'\"\n")
        rc.chmod(0o600)

    def run(self, *cmd, ok=(0,)):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=self.d,
                           env=dict(os.environ, HOME=str(self.d),
                                    FETCHMAILHOME=str(self.d / "fetchmail")))
        assert r.returncode in ok, f"{cmd}: {r.returncode}\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
        return r.stdout + r.stderr

    def local(self):
        """Both local copies, fetchmail's messages and its UIDL list."""
        return {"mbsync": snapshot(self.mbsync_dir),
                "offlineimap": snapshot(self.offlineimap_dir),
                "fetched": snapshot(self.fetched),
                "fetchids": snapshot(self.d / "fetchmail")}

    def sync(self):
        """All three; returns what each changed locally: (new messages,
        messages with changed flags), and fetchmail's count."""
        before = self.local()
        self.run("mbsync", "-c", str(self.d / "mbsyncrc"), "-a")
        self.run("offlineimap", "-c", str(self.d / "offlineimaprc"), "-o", "-u", "basic")
        # Exit code 1: no mail.
        self.run("fetchmail", "-f", str(self.d / "fetchmailrc"), "--nodetach", "--nosyslog",
                 ok=(0, 1))
        after = self.local()
        return before, after, {
            "mbsync": message_changes(before["mbsync"], after["mbsync"]),
            "offlineimap": message_changes(before["offlineimap"], after["offlineimap"]),
            "fetchmail": len(after["fetched"]) - len(before["fetched"]),
        }


def courser_package(d):
    """The package's files, unpacked (not installed): its binary."""
    deb = build_deb()
    subprocess.run(["dpkg-deb", "-x", str(deb), str(d)], check=True)
    binary = d / "usr" / "sbin" / "courser"
    assert os.access(binary, os.X_OK), binary
    return binary


def fail2ban_matches(mail_log):
    r = subprocess.run(["fail2ban-regex", "-o", "msg", str(mail_log), str(FILTER)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return [line for line in r.stdout.splitlines() if line.strip()]


@pytest.fixture
def site():
    """The copied Courier configuration, the accounts' mail, and
    Courier's daemons (not started); everything removed at the end."""
    need_debian_files()
    need("unshare", "nsenter", "mbsync", "offlineimap", "fetchmail", "fail2ban-regex",
         "rsyslogd", "dpkg-deb")
    # Not pytest's tmp_path: the accounts' sessions must reach their homes.
    root = Path(tempfile.mkdtemp(prefix="courser-migrate-"))
    courier = rsyslog = None
    try:
        src, ports, homes = courier_files(root, ACCOUNTS)
        fill_maildirs(homes)
        courier = CourierDaemons(src, ports)
        rsyslog = PrivateRsyslog()
        yield root, src, ports, homes, courier, rsyslog
    finally:
        if courier:
            courier.close()
        if rsyslog:
            rsyslog.close()
        shutil.rmtree(root, ignore_errors=True)


def test_switch_from_courier_to_courser_and_back(site):
    root, src, ports, homes, courier, rsyslog = site
    clients = Clients(root / "clients", ports)

    # 1. Courier serves; the clients take their copies.
    courier.start()
    courier_keywords_and_expunge(ports["imap"])
    counts = clients.sync()[2]
    courier_state = record(ports["imap"])
    total = sum(len(messages) for _, messages in courier_state.values())
    assert total > 2000
    synced = sum(len(courier_state[f][1]) for f in OFFLINEIMAP_FOLDERS)
    assert counts == {"mbsync": (total, 0), "offlineimap": (synced, 0),
                      "fetchmail": BOB_MESSAGES}, (counts, total, synced)
    assert set(courier_state) == {"INBOX"} | {f"INBOX.{f}" for f in FOLDERS if f}
    assert courier_state["INBOX"][1][1] >= {"$Work", "Later"}
    # Courier accepts the login, then ends the session.
    assert bob_s_imap_login(ports["imap"]) == [
        b"a OK LOGIN Ok.\r\n", b"* BYE IMAP access disabled for this account.\r\n"]

    # 2. The switch: import, stop Courier, start Courser from the package.
    binary = courser_package(root / "package")
    config = root / "courser.toml"
    r = subprocess.run([str(binary), "import-courier", "--from", str(src), "--out", str(config)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(binary), "check-config", "--config", str(config)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = config.read_text()
    assert text.count('\nformat = "courier"\n') == 1, text
    # The one line the test adds: Courier's lines go to this test's own
    # rsyslogd, not to the machine's /dev/log (which test machines, being
    # containers, often lack).
    config.write_text(text.replace('\nformat = "courier"\n',
                                   f'\nformat = "courier"\nsyslog_socket = "{rsyslog.socket}"\n'))
    courier.stop()
    courser = Served(config, root, binary)
    try:
        # 3. Nobody notices.
        before, after, counts = clients.sync()
        assert counts == {"mbsync": (0, 0), "offlineimap": (0, 0), "fetchmail": 0}, counts
        for name in after:
            assert after[name] == before[name], f"{name}'s local state changed"
        assert record(ports["imap"]) == courier_state
        # Courser refuses the login itself (RFC 5530's CONTACTADMIN).
        refused = bob_s_imap_login(ports["imap"])
        assert refused[0].startswith(b"a NO [CONTACTADMIN] "), refused
        # A wrong password, for fail2ban.
        with pytest.raises(imaplib.IMAP4.error):
            imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=30).login("ann", "wrong")
        pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=30)
        pop.user("bob")
        with pytest.raises(poplib.error_proto):
            pop.pass_("wrong")
        pop.quit()
        rsyslog.wait_for(lambda t: t.count("LOGIN FAILED") == 2)
        matched = fail2ban_matches(rsyslog.mail_log)
        assert len(matched) == 2, rsyslog.text()
        assert "imapd: LOGIN FAILED, user=ann, ip=[::ffff:127.0.0.1]" in matched[0], matched
        assert "pop3d: LOGIN FAILED, user=bob, ip=[::ffff:127.0.0.1]" in matched[1], matched

        # 4. New mail and flag changes under Courser.
        ann, bob = homes["ann"], homes["bob"]
        deliveries = [(ann, "Maildir", 3), (ann, "Maildir/.Lists.dev", 2), (bob, "Maildir", 1)]
        for (home, ids), folder, n in deliveries:
            for i in range(n):
                r = subprocess.run([str(binary), "deliver", str(home / folder)],
                                   input=message("new", 9000 + i), capture_output=True,
                                   user=ids[0], group=ids[1], extra_groups=[])
                assert r.returncode == 0, r.stderr
        unseen = sorted(u for u, f in courier_state["INBOX"][1].items() if "\\Seen" not in f)
        flagged = sorted(u for u, f in courier_state["INBOX.Sent"][1].items() if "\\Flagged" in f)
        changes = [("INBOX", unseen[:4], "+", "\\Seen"), ("INBOX", unseen[4:6], "+", "$Work"),
                   ("INBOX.Sent", flagged[:1], "-", "\\Flagged")]
        m = imap(ports["imap"])
        for folder, uids, sign, flag in changes:
            assert m.select(folder)[0] == "OK"
            typ, _ = m.uid("STORE", ",".join(map(str, uids)), f"{sign}FLAGS.SILENT", f"({flag})")
            assert typ == "OK"
        m.logout()
        courser_state = record(ports["imap"])
    finally:
        courser.stop()
    wait_port(ports["imap"], False, "Courser")
    # What changed under Courser is exactly what the test did.
    expected = {name: (v, dict(messages)) for name, (v, messages) in courier_state.items()}
    for folder, uids, sign, flag in changes:
        for uid in uids:
            flags = expected[folder][1][uid]
            expected[folder][1][uid] = flags | {flag} if sign == "+" else flags - {flag}
    for folder, n in (("INBOX", 3), ("INBOX.Lists.dev", 2)):
        new_uids = sorted(set(courser_state[folder][1]) - set(courier_state[folder][1]))
        assert len(new_uids) == n and new_uids[0] > max(courier_state[folder][1]), new_uids
        for uid in new_uids:
            expected[folder][1][uid] = frozenset()
    assert courser_state == expected

    # Back to Courier: the same UIDs and flags, and only what changed
    # travels.
    courier.start()
    assert record(ports["imap"]) == courser_state
    _, _, counts = clients.sync()
    # 5 new messages, 5 flag changes (keywords are not synced by either);
    # offlineimap's folders: 2 and 1.
    assert counts == {"mbsync": (5, 5), "offlineimap": (2, 1), "fetchmail": 1}, counts
    assert record(ports["imap"]) == courser_state
