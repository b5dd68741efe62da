"""Roundcube from Debian against Courser, driven by headless Chromium.

Roundcube (`roundcube-core`, SQLite for its own database) runs on PHP's
built-in web server from a private config directory (Debian's Roundcube
reads `ROUNDCUBE_CONFIG_DIR`), pointed at the server through the
recording proxy. Selenium logs in as alice through the login form and
sets the list options through the list-options dialog, as a user would;
the order of the rows Roundcube then shows — threaded, by date both ways,
by subject — must be the order Courser's own UID THREAD and UID SORT
answers give. Roundcube's IMAP debug log proves it asked Courser rather
than sorting headers itself, and the proxy's transcripts hold the answers.

Set COURSER_ROUNDCUBE_SCREENSHOT to a path to keep a screenshot of the
threaded list (docs/roundcube-threads.png is one).

Without PHP, Roundcube, Chromium, its driver or Selenium this test skips,
unless COURSER_FULL_TESTS=1 (set by scripts/test.sh), where it fails."""

import imaplib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import USERS, free_port

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
# Debian's roundcube-core: the application (symlinks into /usr/share and
# /etc/roundcube) with its public document root beside it.
ROUNDCUBE = Path("/var/lib/roundcube")
START = 1_735_000_000  # 24 Dec 2024, a fixed origin for every date here


def missing(what):
    if FULL:
        pytest.fail(f"{what} is not installed (COURSER_FULL_TESTS=1)")
    pytest.skip(f"{what} is not installed")


def need_everything():
    for tool in ("php", "chromium", "chromedriver"):
        if shutil.which(tool) is None:
            missing(tool)
    if not (ROUNDCUBE / "public_html" / "index.php").exists():
        missing("roundcube-core")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing("selenium (Python)")


# --- alice's INBOX: five threads and some single messages -------------------
# (key, parent key, subject, hours after START, sender). The append order
# interleaves the threads, and the dates run neither with it nor against
# it, so arrival, date and subject orders all differ.
MAIL = [
    ("budget", None, "Quarterly budget", 3, "Ann Archer <ann@example.org>"),
    ("lunch", None, "Lunch on Friday?", 50, "Bob Brown <bob@example.org>"),
    ("budget-1", "budget", "Re: Quarterly budget", 7, "Carol Cho <carol@example.org>"),
    ("migration", None, "Server migration plan", 12, "Dave Diaz <dave@example.org>"),
    ("invoice", None, "Invoice 4471", 30, "Billing <billing@example.com>"),
    ("budget-2", "budget", "Re: Quarterly budget", 9, "Dave Diaz <dave@example.org>"),
    ("migration-1", "migration", "Re: Server migration plan", 14, "Ann Archer <ann@example.org>"),
    ("lunch-1", "lunch", "Re: Lunch on Friday?", 52, "Ann Archer <ann@example.org>"),
    ("newsletter", None, "[news] December newsletter", 1, "News <news@example.net>"),
    ("budget-1-1", "budget-1", "Re: Re: Quarterly budget", 20, "Ann Archer <ann@example.org>"),
    ("migration-2", "migration", "RE: Server migration plan", 16, "Eve Evans <eve@example.org>"),
    ("offsite", None, "Team offsite", 60, "Eve Evans <eve@example.org>"),
    ("migration-1-1", "migration-1", "Re: Server migration plan", 40, "Dave Diaz <dave@example.org>"),
    ("zebra", None, "Zebra crossing repairs", 26, "Council <council@example.gov>"),
    ("offsite-1", "offsite", "Re: Team offsite", 61, "Bob Brown <bob@example.org>"),
    ("budget-1-1-1", "budget-1-1", "Re: Quarterly budget", 44, "Carol Cho <carol@example.org>"),
    ("apples", None, "apples and oranges", 35, "Frank Fox <frank@example.org>"),
    ("talk", None, "Conference talk draft", 5, "Carol Cho <carol@example.org>"),
    ("offsite-2", "offsite-1", "Re: Team offsite", 63, "Ann Archer <ann@example.org>"),
    ("migration-2-1", "migration-2", "Re: Server migration plan", 18, "Dave Diaz <dave@example.org>"),
    ("talk-1", "talk", "Fwd: Conference talk draft", 8, "Bob Brown <bob@example.org>"),
    ("backup", None, "Backup report", 0, "cron <root@example.org>"),
    ("offsite-3", "offsite", "Re: Team offsite", 70, "Frank Fox <frank@example.org>"),
    ("migration-3", "migration", "Re: Server migration plan", 66, "Frank Fox <frank@example.org>"),
    ("yearly", None, "Yearly review", 45, "Eve Evans <eve@example.org>"),
    ("talk-2", "talk-1", "Re: Fwd: Conference talk draft", 22, "Ann Archer <ann@example.org>"),
    ("minutes", None, "Minutes of the board meeting", 55, "Board <board@example.org>"),
    ("budget-3", "budget", "Re: Quarterly budget", 68, "Frank Fox <frank@example.org>"),
    ("holiday", None, "Holiday schedule", 33, "HR <hr@example.org>"),
    ("welcome", None, "Welcome, Frank", 2, "Ann Archer <ann@example.org>"),
]


def message_ids(key):
    return f"<{key}@courser.test>"


def build_message(key, parent, subject, hours, sender, parents):
    refs = []
    p = parent
    while p:
        refs.insert(0, message_ids(p))
        p = parents[p]
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(START + hours * 3600))
    head = [f"From: {sender}", "To: Alice <alice@example.org>",
            f"Subject: {subject}", f"Date: {date}", f"Message-ID: {message_ids(key)}"]
    if refs:
        head += [f"In-Reply-To: {refs[-1]}", "References: " + " ".join(refs)]
    body = f"This is {key}.\r\n"
    return ("\r\n".join(head) + "\r\nContent-Type: text/plain\r\n\r\n" + body).encode()


def fill_inbox(server):
    parents = {key: parent for key, parent, *_ in MAIL}
    m = server.connect()
    for key, parent, subject, hours, sender in MAIL:
        data = build_message(key, parent, subject, hours, sender, parents)
        # INTERNALDATE an hour after Date:, as if delivered then.
        m.append("INBOX", None, imaplib.Time2Internaldate(START + hours * 3600 + 3600), data)
    m.logout()


# --- Courser's own answers and what Roundcube makes of them -----------------

def parse_thread(answer):
    """RFC 5256 THREAD data as a list of trees: (uid, [children])."""
    tokens = re.findall(r"\(|\)|\d+", answer)
    pos = 0

    def thread_list():
        # Inside "(": a chain of numbers, then zero or more sub-lists,
        # which are the last number's children.
        nonlocal pos
        chain = []
        while tokens[pos] not in "()":
            chain.append(int(tokens[pos]))
            pos += 1
        assert chain, "a dummy parent: this folder has none"
        children = []
        while tokens[pos] == "(":
            pos += 1
            children.append(thread_list())
        assert tokens[pos] == ")"
        pos += 1
        node = (chain[-1], children)
        for uid in reversed(chain[:-1]):
            node = (uid, [node])
        return node

    trees = []
    while pos < len(tokens):
        assert tokens[pos] == "("
        pos += 1
        trees.append(thread_list())
    return trees


def flatten(tree, depth=0):
    """(uid, depth) in display order: a message, then its replies."""
    uid, children = tree
    rows = [(uid, depth)]
    for child in children:
        rows += flatten(child, depth + 1)
    return rows


def threaded_rows(trees, date_order):
    """Roundcube's threaded list: each thread as THREAD gives it, the
    threads ordered by whichever of their messages comes first in the
    date order (rcube_result_thread::sort)."""
    position = {uid: n for n, uid in enumerate(date_order)}
    threads = [flatten(t) for t in trees]
    threads.sort(key=lambda rows: min(position[uid] for uid, _ in rows))
    return [row for rows in threads for row in rows]


def courser_answers(server):
    """Courser's own UID THREAD and UID SORT answers, through imaplib."""
    m = server.connect()
    m.select("INBOX", readonly=True)
    typ, data = m.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
    assert typ == "OK", data
    answers = {"thread": data[0].decode()}
    for key in ("DATE", "SUBJECT"):
        typ, data = m.uid("SORT", f"({key})", "UTF-8", "ALL")
        assert typ == "OK", data
        answers[key] = [int(u) for u in data[0].split()]
    m.logout()
    return answers


# --- Roundcube on PHP's built-in server -------------------------------------

class Roundcube:
    """Debian's Roundcube with a private config directory, SQLite
    database, temp and log directories, served by `php -S`."""

    def __init__(self, root: Path, imap_port: int, extra: str = ""):
        self.root = root
        config = root / "config"
        config.mkdir()
        # Roundcube reads defaults.inc.php and mimetypes.php from the
        # config directory too: Debian's, unchanged.
        for name in ("defaults.inc.php", "mimetypes.php"):
            (config / name).symlink_to(ROUNDCUBE / "config" / name)
        for sub in ("temp", "logs"):
            (root / sub).mkdir()
        db = root / "roundcube.db"
        with sqlite3.connect(db) as conn:
            conn.executescript(initial_schema().read_text())
        (config / "config.inc.php").write_text(f"""<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///{db}?mode=0600';
$config['imap_host'] = '127.0.0.1:{imap_port}';
$config['imap_debug'] = true;
$config['imap_cache'] = null;
$config['messages_cache'] = false;
$config['smtp_host'] = '127.0.0.1:1';
$config['des_key'] = 'courser-e2e-0123456789ab';
$config['plugins'] = [];
$config['enable_installer'] = false;
$config['enable_spellcheck'] = false;
$config['skin'] = 'elastic';
$config['temp_dir'] = '{root / "temp"}/';
$config['log_dir'] = '{root / "logs"}/';
$config['log_driver'] = 'file';
$config['support_url'] = '';
$config['product_name'] = 'Roundcube on Courser';
// Every thread open, so the rows show the whole THREAD answer.
$config['autoexpand_threads'] = 2;
$config['mail_pagesize'] = 100;
""" + extra)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = open(root / "php.log", "wb")
        self.proc = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(ROUNDCUBE / "public_html")],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, ROUNDCUBE_CONFIG_DIR=str(config)),
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                import socket
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.text("php.log")
                time.sleep(0.1)
        raise RuntimeError("php -S did not listen:\n" + self.text("php.log"))

    def text(self, name):
        path = self.root / name
        return path.read_text(errors="replace") if path.exists() else ""

    def imap_log(self):
        return self.text("logs/imap.log")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def initial_schema():
    """Roundcube's SQLite schema, wherever the package put it."""
    files = subprocess.run(["dpkg", "-L", "roundcube-core", "roundcube-sqlite3"],
                           capture_output=True, text=True).stdout.split()
    found = [f for f in files if f.endswith("/sqlite.initial.sql")]
    if not found:
        missing("roundcube-sqlite3's schema (sqlite.initial.sql)")
    return Path(found[0])


# --- the browser -------------------------------------------------------------

def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,760"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def wait_for(driver, script, timeout=20):
    """Polls a JavaScript expression until it is truthy; returns it."""
    deadline = time.time() + timeout
    while True:
        value = driver.execute_script("return " + script)
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        time.sleep(0.1)


LIST_READY = ("window.rcmail && rcmail.message_list && !rcmail.busy"
              " && $('#messagelist tbody tr').length == {n}")


def log_in(driver, url, n):
    from selenium.webdriver.common.by import By

    driver.get(url)
    driver.find_element(By.ID, "rcmloginuser").send_keys("alice")
    driver.find_element(By.ID, "rcmloginpwd").send_keys(USERS["alice"])
    driver.find_element(By.ID, "rcmloginsubmit").click()
    wait_for(driver, LIST_READY.format(n=n))


def set_list_options(driver, n, sort_col, sort_order, threads):
    """Through the list-options dialog: the sort column, the order, and
    list or threads; then waits for the list Roundcube reloads."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.ID, "listmenulink").click()
    dialog = wait_for(driver, "$('.ui-dialog:visible')[0]")
    Select(dialog.find_element(By.NAME, "sort_col")).select_by_value(sort_col)
    Select(dialog.find_element(By.NAME, "sort_ord")).select_by_value(sort_order)
    Select(dialog.find_element(By.NAME, "mode")).select_by_value(
        "threads" if threads else "list")
    dialog.find_element(By.CSS_SELECTOR, ".ui-dialog-buttonpane button.mainaction").click()
    wait_for(driver, f"rcmail.env.sort_col == '{sort_col}'"
             f" && rcmail.env.sort_order == '{sort_order}'"
             f" && !!rcmail.env.threading == {str(threads).lower()}"
             f" && !$('.ui-dialog:visible').length && " + LIST_READY.format(n=n))


def shown_rows(driver):
    """(uid, depth) of every row of the message list, top to bottom."""
    rows = driver.execute_script(
        "return $('#messagelist tbody tr').map(function() {"
        "  var r = rcmail.message_list.rows[this.uid];"
        "  return [[Number(this.uid), r.depth || 0]]; }).get()")
    return [tuple(r) for r in rows]


def test_roundcube_lists_what_courser_sorts_and_threads(server):
    need_everything()
    fill_inbox(server)
    answers = courser_answers(server)
    trees = parse_thread(answers["thread"])
    n = len(MAIL)
    # The fixture's threads, as Courser sees them: five with replies.
    assert sorted(len(flatten(t)) for t in trees if t[1]) == [2, 3, 4, 6, 6]

    root = Path(tempfile.mkdtemp(prefix="courser-roundcube-"))
    transcripts_before = len(server.proxy.transcripts)
    # Roundcube talks to Courser through the recording proxy, so its
    # answers are validated with the rest.
    rc = Roundcube(root, server.proxy_port)
    driver = None
    try:
        driver = chromium()
        log_in(driver, rc.url, n)
        # Debian's Roundcube only offers threads when the server has THREAD.
        assert driver.execute_script("return rcmail.env.threads") is True

        set_list_options(driver, n, "date", "DESC", threads=True)
        newest_first = answers["DATE"][::-1]
        assert shown_rows(driver) == threaded_rows(trees, newest_first)
        shot = os.environ.get("COURSER_ROUNDCUBE_SCREENSHOT")
        driver.save_screenshot(shot or str(root / "threads.png"))

        set_list_options(driver, n, "date", "DESC", threads=False)
        assert shown_rows(driver) == [(uid, 0) for uid in newest_first]
        set_list_options(driver, n, "date", "ASC", threads=False)
        assert shown_rows(driver) == [(uid, 0) for uid in answers["DATE"]]
        set_list_options(driver, n, "subject", "ASC", threads=False)
        assert shown_rows(driver) == [(uid, 0) for uid in answers["SUBJECT"]]
    finally:
        if driver:
            driver.quit()
        rc.stop()

    # Roundcube asked Courser: its own log of what it sent …
    sent = rc.imap_log()
    for command in ("UID THREAD REFERENCES", "UID SORT (DATE)", "UID SORT (SUBJECT)"):
        assert re.search(rf"\[[0-9A-F]+\] C: \S+ {re.escape(command)} ", sent), \
            f"Roundcube never sent {command}:\n" + "\n".join(l for l in sent.splitlines() if " C: " in l)
    # … and the answers Courser gave on Roundcube's connections.
    said = b"".join(bytes(t.data) for t in server.proxy.transcripts[transcripts_before:])
    assert b"* THREAD " in said and b"* SORT " in said
    assert (b"* SORT " + " ".join(map(str, answers["SUBJECT"])).encode()) in said
    shutil.rmtree(root, ignore_errors=True)


def test_roundcube_shows_the_quota_and_shared_folders(make_server):
    """Roundcube's quota widget shows alice's Maildir++ quota (QUOTA from
    `maildirsize`), and its folder list the folders others share with
    her: bob's, through the shared index (`#shared.bob.pub`), and a
    sharable maildir's (`shared.team.news`). Roundcube is configured as
    for Courier (`imap_force_ns`)."""
    need_everything()
    server = make_server(extra_config='\n[maildir]\nshared_index = "shared/index"\n')
    root = server.root
    (root / "shared").mkdir()
    (root / "shared" / "index").write_text(
        "".join(f"{u}\t1\t1\t{h}\n" for u, h in server.homes.items()))
    from conftest import BIN
    alice = server.maildir("alice")
    subprocess.run([BIN, "maildirmake", "-q", "10000000S", str(alice)], check=True)
    subprocess.run([BIN, "maildirmake", "-S", str(root / "team")], check=True)
    subprocess.run([BIN, "maildirmake", "-s", "read", "-f", "news", str(root / "team")],
                   check=True)
    subprocess.run([BIN, "maildirmake", "--add", f"team={root / 'team'}", str(alice)],
                   check=True)
    server.chown()
    bob = server.connect("bob")
    assert bob.create("INBOX.pub")[0] == "OK"
    assert bob.setacl("INBOX.pub", "alice", "lr")[0] == "OK"
    bob.logout()
    c = server.connect("alice")
    c.append("INBOX", None, None, b"Subject: one\r\n\r\n" + b"x" * 200_000 + b"\r\n")
    assert c.subscribe("#shared.bob.pub")[0] == "OK"
    assert c.subscribe("shared.team.news")[0] == "OK"
    c.logout()

    rc_root = Path(tempfile.mkdtemp(prefix="courser-roundcube-"))
    # As for Courier, whose `LIST "" *` leaves other accounts' folders out
    # too (Roundcube's documented setting for it): folders are listed
    # namespace by namespace.
    rc = Roundcube(rc_root, server.proxy_port, "$config['imap_force_ns'] = true;\n")
    driver = None
    try:
        driver = chromium()
        log_in(driver, rc.url, 1)
        quota = wait_for(driver, "$('#quotadisplay .count').text()")
        # 200 KB of 10 MB
        assert quota.strip() == "2%", quota
        folders = wait_for(driver, "$('#mailboxlist li').map(function() {"
                                   " return $(this).attr('id'); }).get().join(' ')")
        names = driver.execute_script(
            "return Object.keys(rcmail.env.mailboxes || {})")
        assert "#shared.bob.pub" in names, (names, folders)
        assert "shared.team.news" in names, (names, folders)
    finally:
        if driver:
            driver.quit()
        rc.stop()
    shutil.rmtree(rc_root, ignore_errors=True)
