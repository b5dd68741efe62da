"""Logins through every authentication backend against real servers
started here in throwaway directories: PostgreSQL, MariaDB, SQLite,
OpenLDAP slapd, PAM (pam_unix with a test system user), an authpipe
program, passwd/shadow files through the root helper, and Courier's own
authdaemond over a userdb.

Each backend: IMAP LOGIN and POP3 USER/PASS for users stored with every
password scheme; AUTHENTICATE/AUTH PLAIN and LOGIN over both; CRAM-* and
SCRAM-* over both where the backend can serve them (and not advertised
where it cannot); wrong passwords and disabled services refused; the
backend stopped gives a temporary failure (IMAP [UNAVAILABLE], POP3
[SYS/TEMP]). The SQL and LDAP backends also once more from Courier-style
rc files (`courier_rc`), on the same running servers.

Servers and tools come from Debian packages that scripts/test.sh
installs. With COURSER_FULL_TESTS=1 a missing one fails the test;
otherwise it is skipped."""

import base64
import crypt
import glob
import grp
import hashlib
import hmac
import imaplib
import json
import os
import poplib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, free_port
from pg_server import postgres_server
from sasl_client import Scram, pop3_auth, pop3_scram

FULL = os.environ.get("COURSER_FULL_TESTS") == "1"
HERE = Path(__file__).resolve().parent


def need(*tools):
    """The paths of `tools`; missing ones fail (full tests) or skip."""
    found = []
    for t in tools:
        p = shutil.which(t) or (t if os.path.isabs(t) and os.access(t, os.X_OK) else None)
        if not p:
            msg = f"{t} is not installed (scripts/test.sh installs it)"
            if FULL:
                pytest.fail(msg)
            pytest.skip(msg)
        found.append(p)
    return found


def need_root():
    if os.getuid() != 0:
        if FULL:
            pytest.fail("this test needs root")
        pytest.skip("this test needs root")


def wait_port(port, what, proc=None, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} never listened on {port}")


class Daemon:
    """A server process started for a test, logging to DIR/log."""

    def __init__(self, cmd, port, what, d):
        self.log = open(d / "log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(port, what, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.log.close()


def serving_ids():
    """uid/gid sessions run as: nobody when root (the server drops to it)."""
    if os.getuid() == 0:
        n = pwd.getpwnam("nobody")
        return n.pw_uid, n.pw_gid
    return os.getuid(), os.getgid()


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------- accounts

def b64(data):
    return base64.b64encode(data).decode()


def stored_passwords(pw):
    """(scheme, stored value) for every scheme the stores may hold."""
    p = pw.encode()
    salt = os.urandom(4)
    schemes = [
        ("sha512-crypt", crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))),
        ("sha256-crypt", crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA256))),
        ("md5-crypt", crypt.crypt(pw, crypt.mksalt(crypt.METHOD_MD5))),
        ("bcrypt", crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))),
        ("{MD5}", "{MD5}" + b64(hashlib.md5(p).digest())),
        ("{MD5RAW}", "{MD5RAW}" + hashlib.md5(p).hexdigest()),
        ("{SHA}", "{SHA}" + b64(hashlib.sha1(p).digest())),
        ("{SSHA}", "{SSHA}" + b64(hashlib.sha1(p + salt).digest() + salt)),
        ("{SHA256}", "{SHA256}" + b64(hashlib.sha256(p).digest())),
        ("{SHA512}", "{SHA512}" + b64(hashlib.sha512(p).digest())),
        ("{CRYPT}", "{CRYPT}" + crypt.crypt(pw, crypt.mksalt(crypt.METHOD_SHA512))),
    ]
    mkpasswd = shutil.which("mkpasswd")
    if mkpasswd:
        y = subprocess.run([mkpasswd, "-m", "yescrypt", pw], capture_output=True, text=True)
        if y.returncode == 0 and y.stdout.startswith("$y$"):
            schemes.append(("yescrypt", y.stdout.strip()))
    elif FULL:
        pytest.fail("mkpasswd (whois) is missing")
    return schemes


class Accounts:
    """Test accounts with homes and maildirs owned by the serving user:
    one per password scheme (`s0`…), `clear` with a clear-text password,
    `noimap` (disableimap=1) and `nopop` (disablepop3=1)."""

    def __init__(self, schemes=True):
        self.root = Path(tempfile.mkdtemp(prefix="courser-auth-"))
        self.root.chmod(0o755)
        self.uid, self.gid = serving_ids()
        self.users = {}
        if schemes:
            for i, (scheme, _) in enumerate(stored_passwords("x")):
                self.add(f"s{i}", scheme=scheme)
        self.add("clear", clear=True)
        self.add("noimap", options="disableimap=1")
        self.add("nopop", options="disablepop3=1")

    def add(self, name, scheme="sha512-crypt", clear=False, options=""):
        pw = f"{name}-Pw1"
        stored = dict(stored_passwords(pw))[scheme] if not clear else None
        home = self.root / name
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        for d, _, files in os.walk(home):
            os.chown(d, self.uid, self.gid)
        self.users[name] = dict(password=pw, stored=stored, clear=clear,
                                scheme=scheme, home=str(home), options=options)

    def hashed(self):
        return [u for u, v in self.users.items() if v["stored"] and not v["options"]]

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def accounts():
    a = Accounts()
    yield a
    a.cleanup()


# ---------------------------------------------------------------- checks

def cram_answer(mech, user, pw):
    digest = {"CRAM-MD5": hashlib.md5, "CRAM-SHA1": hashlib.sha1,
              "CRAM-SHA256": hashlib.sha256}[mech]
    return lambda ch: (user + " " + hmac.new(pw.encode(), ch, digest).hexdigest()).encode()


def login_answer(user, pw):
    """AUTHENTICATE LOGIN: the user name, then the password."""
    return lambda ch: (user if ch == b"Username:" else pw).encode()


def imap_login(server, user, pw, mech="LOGIN"):
    """`mech`: LOGIN (the command) or a SASL mechanism (AUTHENTICATE)."""
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    try:
        if mech == "LOGIN":
            c.login(user, pw)
        elif mech == "PLAIN":
            c.authenticate("PLAIN", lambda _: f"\0{user}\0{pw}".encode())
        elif mech == "SASL-LOGIN":
            c.authenticate("LOGIN", login_answer(user, pw))
        elif mech.startswith("CRAM-"):
            c.authenticate(mech, cram_answer(mech, user, pw))
        elif mech.startswith("SCRAM-"):
            c.authenticate(mech, Scram(mech, user, pw).callback())
        c.select("INBOX")
        c.logout()
        return "OK"
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        try:
            c.shutdown()
        except Exception:
            pass


def imap_caps(server):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    caps = c.capabilities
    c.logout()
    return caps


def pop3_login(server, user, pw, mech="USER"):
    """`mech`: USER (USER/PASS) or a SASL mechanism (AUTH)."""
    c = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    try:
        if mech == "USER":
            c.user(user)
            c.pass_(pw)
        else:
            if mech == "PLAIN":
                r = c._shortcmd("AUTH PLAIN " + b64(f"\0{user}\0{pw}".encode()))
            elif mech == "SASL-LOGIN":
                r = pop3_auth(c, "LOGIN", login_answer(user, pw))
            elif mech.startswith("CRAM-"):
                r = pop3_auth(c, mech, cram_answer(mech, user, pw))
            else:
                r = pop3_scram(c, mech, user, pw)
            assert r.startswith(b"+OK"), r
        c.stat()
        c.quit()
        return "OK"
    except poplib.error_proto as e:
        return str(e)
    finally:
        try:
            c.close()
        except Exception:
            pass


def check_logins(server, acc, cram=False, scram=False, schemes=True, skip=()):
    """Every scheme over IMAP and POP3, every mechanism, refusals. `cram`,
    `scram`: the backend serves them (False: they must not be advertised;
    None: not checked); `skip`: schemes the backend cannot hold."""
    users = [u for u in acc.hashed() if acc.users[u]["scheme"] not in skip] if schemes else []
    for u in users + ["clear"]:
        pw = acc.users[u]["password"]
        what = f"{u} ({acc.users[u]['scheme'] if acc.users[u]['stored'] else 'clear'})"
        assert imap_login(server, u, pw) == "OK", what + "\n" + server.log_text()[-3000:]
        assert pop3_login(server, u, pw) == "OK", what
    one = users[0] if users else "clear"
    pw = acc.users[one]["password"]
    for mech in ("PLAIN", "SASL-LOGIN"):
        assert imap_login(server, one, pw, mech) == "OK", mech
        assert pop3_login(server, one, pw, mech) == "OK", mech
        assert "AUTHENTICATIONFAILED" in imap_login(server, one, pw + "x", mech), mech
        assert "[AUTH]" in pop3_login(server, one, pw + "x", mech), mech
    # Wrong passwords and unknown users.
    r = imap_login(server, one, pw + "x")
    assert "AUTHENTICATIONFAILED" in r, r
    assert "[AUTH]" in pop3_login(server, one, pw + "x")
    assert "AUTHENTICATIONFAILED" in imap_login(server, "nosuchuser", "pw")
    # Disabled services.
    noimap, nopop = acc.users["noimap"]["password"], acc.users["nopop"]["password"]
    r = imap_login(server, "noimap", noimap)
    assert "CONTACTADMIN" in r, r
    assert pop3_login(server, "noimap", noimap) == "OK"
    r = pop3_login(server, "nopop", nopop)
    assert r.startswith("b'-ERR") and "AUTH]" not in r, r
    assert imap_login(server, "nopop", nopop) == "OK"
    # CRAM only where the backend can serve it.
    caps = imap_caps(server)
    clear = acc.users["clear"]["password"]
    if cram:
        assert "AUTH=CRAM-MD5" in caps, caps
        for mech in ("CRAM-MD5", "CRAM-SHA1", "CRAM-SHA256"):
            r = imap_login(server, "clear", clear, mech)
            assert r == "OK", mech + ": " + r
            assert pop3_login(server, "clear", clear, mech) == "OK", mech
        r = imap_login(server, "clear", "wrong", "CRAM-MD5")
        assert "AUTHENTICATIONFAILED" in r, r
        assert "[AUTH]" in pop3_login(server, "clear", "wrong", "CRAM-SHA256")
    elif cram is False:
        assert "AUTH=CRAM-MD5" not in caps, caps
    # SCRAM: keys derived from the clear password; the client checks the
    # server's signature.
    if scram:
        assert "AUTH=SCRAM-SHA-256" in caps and "AUTH=SCRAM-SHA-1" in caps, caps
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            r = imap_login(server, "clear", clear, mech)
            assert r == "OK", mech + ": " + r + server.log_text()[-2000:]
            assert pop3_login(server, "clear", clear, mech) == "OK", mech
            assert "AUTHENTICATIONFAILED" in imap_login(server, "clear", "wrong", mech)
            assert "[AUTH]" in pop3_login(server, "clear", "wrong", mech)
            assert "AUTHENTICATIONFAILED" in imap_login(server, "nosuchuser", "pw", mech)
        # Users with only a hashed password cannot use SCRAM.
        if users:
            assert "AUTHENTICATIONFAILED" in imap_login(server, one, pw, "SCRAM-SHA-256")
        r = imap_login(server, "noimap", noimap, "SCRAM-SHA-256")
        assert "AUTHENTICATIONFAILED" in r or "CONTACTADMIN" in r, r
    elif scram is False:
        assert not any(c.startswith("AUTH=SCRAM") for c in caps), caps


def check_unavailable(server, acc):
    u = "clear"
    pw = acc.users[u]["password"]
    r = imap_login(server, u, pw)
    assert "UNAVAILABLE" in r, r + "\n" + server.log_text()[-2000:]
    r = pop3_login(server, u, pw)
    assert "SYS/TEMP" in r, r


def toml_str(s):
    return json.dumps(str(s))


# ---------------------------------------------------------------- SQL

SQL_TABLE = """CREATE TABLE passwd (
  id VARCHAR(128) PRIMARY KEY, crypt VARCHAR(255), clear VARCHAR(255),
  uid INTEGER, gid INTEGER, home VARCHAR(255), maildir VARCHAR(255),
  name VARCHAR(128), options VARCHAR(255))"""


def sql_rows(acc):
    rows = []
    for u, v in acc.users.items():
        rows.append((f"{u}@example.com", v["stored"], v["password"] if v["clear"] else None,
                     acc.uid, acc.gid, v["home"], v["home"] + "/Maildir", u, v["options"]))
    return rows


def sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def sql_inserts(acc):
    return ";\n".join(
        "INSERT INTO passwd VALUES (" + ", ".join(sql_literal(x) for x in r) + ")"
        for r in sql_rows(acc)) + ";\n"


def sql_backend(url, custom=False):
    if custom:
        return f"""
[[auth.backend]]
type = "sql"
url = {toml_str(url)}
default_domain = "example.com"
select_clause = "SELECT id, crypt, clear, uid, gid, home, maildir, '', name, options FROM passwd WHERE id = '$(local_part)@$(domain)'"
"""
    return f"""
[[auth.backend]]
type = "sql"
url = {toml_str(url)}
default_domain = "example.com"
clear_pwfield = "clear"
maildir_field = "maildir"
name_field = "name"
auxoptions_field = "options"
"""


# ------------------------------------------------ Courier rc files

def courier_rc(path, settings):
    """Writes `settings` ((name, value) pairs; a value may continue over
    lines ending in backslash) as Courier's sysconftool leaves an rc file:
    version line, comments, sections, the marker. Readable by the serving
    user, who reads it again on SIGHUP."""
    text = "##VERSION: $Id: e2e $\n#\n# Courier-style rc file written by the e2e tests.\n\n"
    for name, value in settings:
        text += f"##NAME: {name}:0\n#\n# The {name} setting.\n\n{name}\t\t{value}\n\n"
    text += "##NAME: MARKER:0\n#\n# Do not remove this section.\n"
    path.write_text(text)
    path.chmod(0o644)
    return path


def rc_backend(kind, rc, extra=""):
    """A backend table taking its settings from `rc`; `extra`: keys that
    override the file's."""
    return f"""
[[auth.backend]]
type = "{kind}"
courier_rc = {toml_str(rc)}
{extra}"""


def sql_rc_settings(prefix):
    """sql_backend()'s columns in rc form, the WHERE clause continued
    over two lines, plus a key Courser ignores with a warning."""
    return [
        ("DEFAULT_DOMAIN", "example.com"),
        (f"{prefix}_USER_TABLE", "passwd"),
        (f"{prefix}_CRYPT_PWFIELD", "crypt"),
        (f"{prefix}_CLEAR_PWFIELD", "clear"),
        (f"{prefix}_MAILDIR_FIELD", "maildir"),
        (f"{prefix}_NAME_FIELD", "name"),
        (f"{prefix}_AUXOPTIONS_FIELD", "options"),
        (f"{prefix}_WHERE_CLAUSE", "uid > 0 \\\n\t\t\tAND home <> ''"),
        (f"{prefix}_CHPASS_CLAUSE", "UPDATE passwd SET clear = '$(newpass)'"),
    ]


def check_sql_rc(make_server, accounts, prefix, connection):
    """A `type = "sql"` backend from nothing but an rc file with the
    `connection` settings: the same logins as from TOML; a TOML key
    overrides the file's. Returns the server and the rc file."""
    rc = courier_rc(accounts.root / f"auth{prefix.lower()}rc",
                    connection + sql_rc_settings(prefix))
    server = make_server(rc_backend("sql", rc))
    check_logins(server, accounts, cram=True, scram=True)
    assert f"{prefix}_CHPASS_CLAUSE: ignored" in server.log_text()
    # The table's where_clause replaces the file's: only `clear` is left.
    only_clear = make_server(rc_backend("sql", rc, "where_clause = \"name = 'clear'\"\n"))
    assert imap_login(only_clear, "clear", accounts.users["clear"]["password"]) == "OK"
    r = imap_login(only_clear, "s0", accounts.users["s0"]["password"])
    assert "AUTHENTICATIONFAILED" in r, r
    return server, rc


def sighup(server):
    """Sends SIGHUP and waits until the server has said how it went."""
    before = server.log_text().count("SIGHUP:")
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while server.log_text().count("SIGHUP:") == before:
        assert time.time() < deadline, "no answer to SIGHUP:\n" + server.log_text()[-2000:]
        time.sleep(0.05)


def sqlite_db(accounts):
    """The accounts in an SQLite file the serving user can read."""
    import sqlite3
    db = accounts.root / "users.db"
    con = sqlite3.connect(db)
    con.executescript(SQL_TABLE + ";\n" + sql_inserts(accounts))
    con.commit()
    con.close()
    os.chmod(db, 0o644)
    return db


def courser_passwd(config, user, old, new):
    """`courser passwd` for `user`'s imap password, as webmail would run it."""
    return subprocess.run([BIN, "passwd", "--config", str(config), "-s", "imap", user],
                          input=f"{old}\n{new}\n", capture_output=True, text=True, timeout=60)


def test_passwd_in_sqlite(make_server, accounts):
    """`courser passwd` updates the account's row; a custom select_clause
    refuses, saying why."""
    db = sqlite_db(accounts)
    server = make_server(sql_backend(f"sqlite://{db}"))
    user, old = "s0", accounts.users["s0"]["password"]

    def passwd(config, old_pw, new_pw):
        return courser_passwd(config, user, old_pw, new_pw)

    r = passwd(server.config, "wrong", "Sql-New-Pw3")
    assert r.returncode == 1 and "wrong login or password" in r.stderr, r.stderr
    r = passwd(server.config, old, "Sql-New-Pw3")
    assert r.returncode == 0, r.stderr
    assert imap_login(server, user, "Sql-New-Pw3") == "OK", server.log_text()[-2000:]
    assert "AUTHENTICATIONFAILED" in imap_login(server, user, old)
    custom = make_server(sql_backend(f"sqlite://{db}", custom=True))
    r = passwd(custom.config, "Sql-New-Pw3", "Other-Pw4")
    assert r.returncode == 1, r
    assert "cannot change passwords of accounts found by a select_clause" in r.stderr, r.stderr


def test_sqlite(make_server, accounts):
    db = sqlite_db(accounts)
    server = make_server(sql_backend(f"sqlite://{db}"))
    check_logins(server, accounts, cram=True, scram=True)
    custom = make_server(sql_backend(f"sqlite://{db}", custom=True))
    assert imap_login(custom, "clear", accounts.users["clear"]["password"]) == "OK"
    assert "AUTHENTICATIONFAILED" in imap_login(custom, "x' OR '1'='1", "x", "PLAIN")
    gone = make_server(sql_backend(f"sqlite://{accounts.root}/no/such/dir/users.db"))
    check_unavailable(gone, accounts)
    # From authsqliterc: check-config shows the merged settings; SIGHUP
    # reads the file again, and keeps the old settings if it is broken.
    server, rc = check_sql_rc(make_server, accounts, "SQLITE", [("SQLITE_DATABASE", db)])
    r = subprocess.run([BIN, "check-config", "--config", str(server.config)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f'url = "sqlite://{db}"' in r.stdout and "where_clause = \"uid > 0  AND home <> ''\"" \
        in r.stdout, r.stdout
    assert 'crypt_pwfield = "crypt"' in r.stdout and "courier_rc" not in r.stdout, r.stdout
    assert "warning:" in r.stderr and "SQLITE_CHPASS_CLAUSE" in r.stderr, r.stderr
    s0, clear = accounts.users["s0"]["password"], accounts.users["clear"]["password"]
    rc.write_text(rc.read_text().replace("uid > 0", "id <> 's0@example.com'"))
    sighup(server)
    assert "AUTHENTICATIONFAILED" in imap_login(server, "s0", s0)
    assert pop3_login(server, "clear", clear) == "OK"
    rc.write_text(rc.read_text().replace("SQLITE_DATABASE", "#SQLITE_DATABASE"))
    sighup(server)
    assert "keeping the old configuration" in server.log_text()
    assert "SQLITE_DATABASE: missing" in server.log_text()
    assert "AUTHENTICATIONFAILED" in imap_login(server, "s0", s0)
    assert imap_login(server, "clear", clear) == "OK"


@pytest.fixture
def postgres():
    (initdb,) = need(*(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1:] or ["initdb"]))
    with postgres_server(initdb) as pg:
        yield pg


def test_postgresql(make_server, accounts, postgres):
    postgres.psql(SQL_TABLE + ";" + sql_inserts(accounts))
    server = make_server(sql_backend(postgres.url))
    check_logins(server, accounts, cram=True, scram=True)
    custom = make_server(sql_backend(postgres.url, custom=True))
    assert imap_login(custom, "clear", accounts.users["clear"]["password"]) == "OK"
    assert pop3_login(custom, "s0", accounts.users["s0"]["password"]) == "OK"
    # authpgsqlrc: a libpq conninfo string over several lines, through
    # the Unix socket, with a quoted value.
    check_sql_rc(make_server, accounts, "PGSQL", [
        ("PGSQL_CONNECTION", f"host={postgres.socket_dir} port={postgres.tcp_port} \\\n"
                             "\t\t\tdbname=postgres user=postgres sslmode=disable \\\n"
                             "\t\t\tapplication_name='courser \\'rc\\' test'"),
    ])
    postgres.stop()
    check_unavailable(server, accounts)


@pytest.fixture
def mariadb():
    install, mariadbd, client = need("mariadb-install-db", "mariadbd", "mariadb")
    d = Path(tempfile.mkdtemp(prefix="courser-maria-"))
    d.chmod(0o755)
    user = []
    if os.getuid() == 0:
        shutil.chown(d, "mysql", "mysql")
        user = ["--user=mysql"]
    port = free_port()
    run([install, "--no-defaults", f"--datadir={d}/data", "--skip-test-db",
         "--auth-root-authentication-method=normal"] + user)
    daemon = Daemon(
        [mariadbd, "--no-defaults", f"--datadir={d}/data", f"--socket={d}/sock",
         f"--port={port}", "--bind-address=127.0.0.1", "--skip-grant-tables",
         f"--pid-file={d}/pid", "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin"] + user,
        port, "mariadbd", d)

    class Maria:
        url = f"mysql://root@127.0.0.1:{port}/courser"
        socket = d / "sock"
        stop = daemon.stop

        def sql(self, text):
            run([client, "-h127.0.0.1", f"-P{port}", "-uroot"], input=text)

    try:
        yield Maria()
    finally:
        daemon.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_mariadb(make_server, accounts, mariadb):
    mariadb.sql("CREATE DATABASE courser; USE courser;\n" + SQL_TABLE + ";\n" + sql_inserts(accounts))
    server = make_server(sql_backend(mariadb.url))
    check_logins(server, accounts, cram=True, scram=True)
    custom = make_server(sql_backend(mariadb.url, custom=True))
    assert imap_login(custom, "clear", accounts.users["clear"]["password"]) == "OK"
    assert "AUTHENTICATIONFAILED" in imap_login(custom, "a\\' OR 1=1 -- ", "x", "PLAIN")
    # authmysqlrc: server localhost means the Unix socket, as for
    # libmysqlclient.
    check_sql_rc(make_server, accounts, "MYSQL", [
        ("MYSQL_SERVER", "localhost"), ("MYSQL_USERNAME", "root"), ("MYSQL_PASSWORD", ""),
        ("MYSQL_SOCKET", mariadb.socket), ("MYSQL_PORT", "0"), ("MYSQL_OPT", "0"),
        ("MYSQL_DATABASE", "courser"),
    ])
    mariadb.stop()
    check_unavailable(server, accounts)


# ---------------------------------------------------------------- LDAP

@pytest.fixture
def slapd(accounts):
    slapd, slapadd = need("/usr/sbin/slapd", "/usr/sbin/slapadd")
    d = Path(tempfile.mkdtemp(prefix="courser-ldap-"))
    (d / "db").mkdir()
    port = free_port()
    conf = d / "slapd.conf"
    conf.write_text(f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {d}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw secret
directory {d}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
""")
    ldif = ["dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\n"
            "o: Example\ndc: example\n",
            "dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n"]
    for u, v in accounts.users.items():
        entry = (f"dn: uid={u},ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\n"
                 f"objectClass: posixAccount\nuid: {u}\ncn: {u}\nsn: {u}\n"
                 f"mail: {u}@example.com\nuidNumber: {accounts.uid}\ngidNumber: {accounts.gid}\n"
                 f"homeDirectory: {v['home']}\n")
        salt = os.urandom(4)
        stored = v["stored"] or "{SSHA}" + b64(
            hashlib.sha1(v["password"].encode() + salt).digest() + salt)
        if not stored.startswith("{"):
            stored = "{CRYPT}" + stored
        entry += f"userPassword: {stored}\n"
        if v["clear"]:
            entry += f"description: {v['password']}\n"
        if v["options"] == "disableimap=1":
            entry += "employeeType: 1\n"
        if v["options"] == "disablepop3=1":
            entry += "departmentNumber: 1\n"
        ldif.append(entry)
    (d / "users.ldif").write_text("\n".join(ldif))
    run([slapadd, "-f", str(conf), "-l", str(d / "users.ldif")])
    daemon = Daemon([slapd, "-d", "0", "-f", str(conf), "-h", f"ldap://127.0.0.1:{port}/"],
                    port, "slapd", d)

    class Slapd:
        uri = f"ldap://127.0.0.1:{port}"
        stop = daemon.stop

        def user_password(self, user):
            """The entry's userPassword, read with slapcat."""
            out = run(["/usr/sbin/slapcat", "-f", str(conf), "-a", f"(uid={user})"]).stdout
            for line in out.replace("\n ", "").splitlines():
                if line.startswith("userPassword:: "):
                    return base64.b64decode(line.split(" ", 1)[1]).decode()
                if line.startswith("userPassword: "):
                    return line.split(" ", 1)[1]
            return None

    try:
        yield Slapd()
    finally:
        daemon.stop()
        shutil.rmtree(d, ignore_errors=True)


def ldap_backend(uri, authbind):
    return f"""
[[auth.backend]]
type = "ldap"
uri = [{toml_str(uri)}]
basedn = "ou=people,dc=example,dc=com"
binddn = "cn=admin,dc=example,dc=com"
bindpw = "secret"
domain = "example.com"
authbind = {str(authbind).lower()}
auxoptions = "employeeType=disableimap,departmentNumber=disablepop3"
{'' if authbind else 'clearpw = "description"'}
"""


def test_ldap_search_and_compare(make_server, accounts, slapd):
    # {MD5RAW} is Courier's, not an LDAP userPassword scheme.
    server = make_server(ldap_backend(slapd.uri, authbind=False))
    check_logins(server, accounts, cram=True, scram=True, skip={"{MD5RAW}"})
    check_ldap_rc(make_server, accounts, slapd)
    slapd.stop()
    check_unavailable(server, accounts)


def check_ldap_rc(make_server, accounts, slapd):
    """The same directory from an authldaprc: a URI list (the first one
    refuses connections) continued over two lines, the bind DN used
    because of LDAP_INITBIND, the global uid and gid by name; a TOML key
    overrides the file's."""
    rc = courier_rc(accounts.root / "authldaprc", [
        ("LDAP_URI", f"ldap://127.0.0.1:{free_port()}, \\\n\t\t\t{slapd.uri}"),
        ("LDAP_PROTOCOL_VERSION", "3"),
        ("LDAP_BASEDN", "ou=people,dc=example,dc=com"),
        ("LDAP_BINDDN", "cn=admin,dc=example,dc=com"),
        ("LDAP_BINDPW", "secret"),
        ("LDAP_TIMEOUT", "5"),
        ("LDAP_INITBIND", "1"),
        ("LDAP_MAIL", "mail"),
        ("LDAP_DOMAIN", "example.com"),
        ("LDAP_GLOB_UID", pwd.getpwuid(accounts.uid).pw_name),
        ("LDAP_GLOB_GID", grp.getgrgid(accounts.gid).gr_name),
        ("LDAP_HOMEDIR", "homeDirectory"),
        ("LDAP_FULLNAME", "cn"),
        ("LDAP_CLEARPW", "description"),
        ("LDAP_CRYPTPW", "userPassword"),
        ("LDAP_AUXOPTIONS", "employeeType=disableimap,departmentNumber=disablepop3"),
        ("LDAP_DEFAULTDELIVERY", "mailbox"),
        ("LDAP_DEREF", "never"),
        ("LDAP_TLS", "0"),
    ])
    server = make_server(rc_backend("ldap", rc))
    check_logins(server, accounts, cram=True, scram=True, skip={"{MD5RAW}"})
    assert "LDAP_DEFAULTDELIVERY: ignored" in server.log_text()
    # The table's domain replaces the file's.
    other = make_server(rc_backend("ldap", rc, 'domain = "example.net"\n'))
    pw = accounts.users["s0"]["password"]
    assert "AUTHENTICATIONFAILED" in imap_login(other, "s0", pw)
    assert imap_login(other, "s0@example.com", pw) == "OK"
    assert pop3_login(other, "s0@example.com", pw + "x").startswith("b'-ERR")


def test_ldap_authbind(make_server, accounts, slapd):
    # slapd itself checks the password: only the schemes it knows (no
    # {SHA256}/{SHA512} without the pw-sha2 module, no {MD5RAW}).
    server = make_server(ldap_backend(slapd.uri, authbind=True))
    check_logins(server, accounts, cram=False, skip={"{MD5RAW}", "{SHA256}", "{SHA512}"})
    slapd.stop()
    check_unavailable(server, accounts)


def test_passwd_in_ldap(make_server, accounts, slapd):
    """`courser passwd` replaces the clear and crypt attributes, as
    Courier's authldap does: the hash in the old value's scheme, with
    `{CRYPT}` before crypt(3) forms. With authbind the change is made
    bound as the account, so the directory's rules decide (this one lets
    an entry write its own userPassword)."""
    server = make_server(ldap_backend(slapd.uri, authbind=False))
    for user, new, scheme in (("s0", "Ldap-New-Pw3", "{CRYPT}$6$"), ("s7", "Ldap-New-Pw4", "{SSHA}")):
        old = accounts.users[user]["password"]
        r = courser_passwd(server.config, user, "wrong", new)
        assert r.returncode == 1 and "wrong login or password" in r.stderr, r.stderr
        r = courser_passwd(server.config, user, old, new)
        assert r.returncode == 0, r.stderr
        assert slapd.user_password(user).startswith(scheme), slapd.user_password(user)
        assert imap_login(server, user, new) == "OK", server.log_text()[-2000:]
        assert "AUTHENTICATIONFAILED" in imap_login(server, user, old)
        # CRAM reads the clear attribute: written too.
        assert imap_login(server, user, new, "CRAM-MD5") == "OK"
    # slapd checks the hashes written above itself.
    bound = make_server(ldap_backend(slapd.uri, authbind=True))
    assert imap_login(bound, "s0", "Ldap-New-Pw3") == "OK", bound.log_text()[-2000:]
    assert imap_login(bound, "s7", "Ldap-New-Pw4") == "OK"
    old = accounts.users["clear"]["password"]
    r = courser_passwd(bound.config, "clear", "wrong", "Bound-Pw5")
    assert r.returncode == 1 and "wrong login or password" in r.stderr, r.stderr
    r = courser_passwd(bound.config, "clear", old, "Bound-Pw5")
    assert r.returncode == 0, r.stderr
    assert imap_login(bound, "clear", "Bound-Pw5") == "OK", bound.log_text()[-2000:]
    assert "AUTHENTICATIONFAILED" in imap_login(bound, "clear", old)
    # The rules do not let an entry write its clear attribute: the one
    # modify is refused whole, and nothing changes.
    strict = make_server(ldap_backend(slapd.uri, authbind=True) + 'clearpw = "description"\n')
    r = courser_passwd(strict.config, "clear", "Bound-Pw5", "Strict-Pw6")
    assert r.returncode == 1 and "password NOT changed" in r.stderr, r.stderr
    assert "ldap refused the change" in r.stderr and "nsufficient" in r.stderr, r.stderr
    assert imap_login(bound, "clear", "Bound-Pw5") == "OK"


# ---------------------------------------------------------------- authpipe

def test_authpipe(make_server, accounts):
    users = {u: dict(password=v["password"], uid=accounts.uid, gid=accounts.gid,
                     home=v["home"], options=v["options"])
             for u, v in accounts.users.items()}
    db = accounts.root / "authpipe.json"
    db.write_text(json.dumps(users))
    db.chmod(0o644)
    prog = accounts.root / "authProg"
    # The program runs as the serving user: a system Python it can reach.
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    prog.write_text(f"#!/bin/sh\nexec {python} {HERE / 'authpipe_prog.py'} {db}\n")
    prog.chmod(0o755)
    server = make_server(f'\n[[auth.backend]]\ntype = "authpipe"\nprogram = "{prog}"\ncram = true\n')
    check_logins(server, accounts, cram=True, schemes=False)
    assert "UNAVAILABLE" in imap_login(server, "tempfail", "x")
    # Restarted after the temporary failure.
    assert imap_login(server, "clear", accounts.users["clear"]["password"]) == "OK"
    gone = make_server(f'\n[[auth.backend]]\ntype = "authpipe"\nprogram = "{prog}.missing"\n')
    check_unavailable(gone, accounts)


# ---------------------------------------------------------------- passwd, PAM

def children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_passwd_shadow_through_the_helper(make_server, accounts):
    need_root()
    passwd = accounts.root / "passwd"
    shadow = accounts.root / "shadow"
    pl, sl = [], []
    for u, v in accounts.users.items():
        pl.append(f"{u}:x:{accounts.uid}:{accounts.gid}:{u} User,,,:{v['home']}:/bin/sh")
        sl.append(f"{u}:{v['stored'] or crypt.crypt(v['password'], crypt.mksalt(crypt.METHOD_SHA512))}:19000:0:99999:7:::")
    passwd.write_text("\n".join(pl) + "\n")
    shadow.write_text("\n".join(sl) + "\n")
    shadow.chmod(0o600)
    server = make_server(f'\n[[auth.backend]]\ntype = "passwd"\npasswd = "{passwd}"\n'
                         f'shadow = "{shadow}"\n')
    # Options are not part of passwd accounts: skip the disabled-service checks.
    for u in accounts.hashed() + ["clear"]:
        pw = accounts.users[u]["password"]
        assert imap_login(server, u, pw) == "OK", u + server.log_text()[-2000:]
        assert pop3_login(server, u, pw) == "OK", u
    assert "AUTHENTICATIONFAILED" in imap_login(server, "clear", "wrong")
    assert "AUTH=CRAM-MD5" not in imap_caps(server)
    # The helper gone: a temporary failure, never a wrong password.
    helpers = children(server.proc.pid)
    assert helpers, "no helper process"
    for h in helpers:
        os.kill(h, 9)
    time.sleep(0.2)
    check_unavailable(server, accounts)


PAM_USER = "courser-pamtest"
PAM_PASSWORD = "Pam-Test-Pw1"


def pam_user():
    """The system account PAM tests log in as, with its known password."""
    try:
        pwd.getpwnam(PAM_USER)
    except KeyError:
        run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", PAM_USER])
    run(["chpasswd"], input=f"{PAM_USER}:{PAM_PASSWORD}\n")


def test_pam(make_server, accounts):
    need_root()
    need("useradd", "chpasswd")
    if not Path("/lib/x86_64-linux-gnu/security/pam_unix.so").exists() and not glob.glob(
            "/usr/lib/*/security/pam_unix.so") and not glob.glob("/lib/*/security/pam_unix.so"):
        need("pam_unix.so")
    pam_user()
    service = "courser-test"
    Path(f"/etc/pam.d/{service}").write_text(
        "auth required pam_unix.so nodelay\naccount required pam_unix.so\n")
    # Identity from a test passwd file (the serving uid), password from PAM.
    home = accounts.users["clear"]["home"]
    passwd = accounts.root / "pam-passwd"
    passwd.write_text(f"{PAM_USER}:x:{accounts.uid}:{accounts.gid}:Pam:{home}:/bin/sh\n")
    server = make_server(f'\n[[auth.backend]]\ntype = "pam"\nservice = "{service}"\n'
                         f'passwd = "{passwd}"\n')
    assert imap_login(server, PAM_USER, PAM_PASSWORD) == "OK", server.log_text()[-2000:]
    assert imap_login(server, PAM_USER, PAM_PASSWORD, "PLAIN") == "OK"
    assert pop3_login(server, PAM_USER, PAM_PASSWORD) == "OK"
    assert "AUTHENTICATIONFAILED" in imap_login(server, PAM_USER, "wrong")
    assert "[AUTH]" in pop3_login(server, PAM_USER, "wrong")
    assert "AUTHENTICATIONFAILED" in imap_login(server, "nosuchuser", "wrong")
    for h in children(server.proc.pid):
        os.kill(h, 9)
    time.sleep(0.2)
    assert "UNAVAILABLE" in imap_login(server, PAM_USER, PAM_PASSWORD)
    assert "SYS/TEMP" in pop3_login(server, PAM_USER, PAM_PASSWORD)


def shadow_hash(user):
    for line in Path("/etc/shadow").read_text().splitlines():
        if line.startswith(user + ":"):
            return line.split(":")[1]
    return None


def test_passwd_through_pam(make_server, accounts):
    """`courser passwd` changes a system password through the service's
    `password` modules (pam_chauthtok): the old password is checked again,
    pam_unix writes /etc/shadow in its configured scheme, and a stack that
    refuses the new password changes nothing and says why."""
    need_root()
    need("useradd", "chpasswd")
    pam_user()
    auth = "auth required pam_unix.so nodelay\naccount required pam_unix.so\n"
    Path("/etc/pam.d/courser-test-pw").write_text(auth + "password required pam_unix.so yescrypt\n")
    Path("/etc/pam.d/courser-test-deny").write_text(auth + "password requisite pam_deny.so\n")
    home = accounts.users["clear"]["home"]
    passwd = accounts.root / "pam-passwd"
    passwd.write_text(f"{PAM_USER}:x:{accounts.uid}:{accounts.gid}:Pam:{home}:/bin/sh\n")

    def server(service):
        return make_server(f'\n[[auth.backend]]\ntype = "pam"\nservice = "{service}"\n'
                           f'passwd = "{passwd}"\n')

    try:
        deny = server("courser-test-deny")
        before = shadow_hash(PAM_USER)
        r = courser_passwd(deny.config, PAM_USER, PAM_PASSWORD, "Pam-New-Pw2")
        assert r.returncode == 1, r
        assert "authentication backend pam refused the change" in r.stderr, r.stderr
        assert shadow_hash(PAM_USER) == before
        s = server("courser-test-pw")
        r = courser_passwd(s.config, PAM_USER, "wrong", "Pam-New-Pw2")
        assert r.returncode == 1 and "wrong login or password" in r.stderr, r.stderr
        assert shadow_hash(PAM_USER) == before
        r = courser_passwd(s.config, PAM_USER, PAM_PASSWORD, "Pam-New-Pw2")
        assert r.returncode == 0, r.stderr
        after = shadow_hash(PAM_USER)
        assert after != before and after.startswith("$y$"), after
        assert imap_login(s, PAM_USER, "Pam-New-Pw2") == "OK", s.log_text()[-2000:]
        assert "AUTHENTICATIONFAILED" in imap_login(s, PAM_USER, PAM_PASSWORD)
    finally:
        pam_user()
        for name in ("courser-test-pw", "courser-test-deny"):
            Path(f"/etc/pam.d/{name}").unlink(missing_ok=True)


def test_pam_without_libpam_stops_the_start(tmp_path):
    """libpam is opened at run time: where it cannot be (hidden here in a
    private mount namespace), a configured PAM backend stops the start
    with the library's name and the reason, instead of failing logins."""
    need_root()
    unshare, = need("unshare")
    lib = Path("/lib/x86_64-linux-gnu/libpam.so.0")
    if not lib.exists():
        lib = Path(next(iter(glob.glob("/usr/lib/*/libpam.so.0")), "/nonexistent"))
    if not lib.exists():
        need("libpam.so.0")
    config = tmp_path / "courser.toml"
    config.write_text(f'[[listener]]\nprotocol = "imap"\naddress = "127.0.0.1:{free_port()}"\n'
                      '[[auth.backend]]\ntype = "pam"\n[server]\nrun_as = "nobody"\n')
    hide = f'mount --bind /dev/null "{lib.resolve()}" && exec "$0" serve --config "$1"'
    r = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", hide,
                        BIN, str(config)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0, r
    # The reason (dlerror's) follows the library's name.
    reason = r.stderr.partition("(pam): PAM: cannot load libpam.so.0: ")[2]
    assert reason.split("\n")[0].strip(), r.stderr


# ---------------------------------------------------------------- authdaemond

def answers(path):
    """Whether a Unix socket at `path` accepts a connection."""
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


@pytest.fixture
def courier_authdaemond(accounts):
    """Courier's authdaemond from Debian over a userdb holding the test
    accounts. Its paths are compiled in: /etc/courier is changed for the
    test and restored after."""
    need_root()
    authdaemond, makeuserdb = need("/usr/sbin/authdaemond", "makeuserdb")
    etc = Path("/etc/courier")
    saved = {}
    for name in ("authdaemonrc", "userdb", "userdb.dat", "userdbshadow.dat"):
        p = etc / name
        if p.exists() and p.is_file():
            saved[name] = (p.read_bytes(), p.stat().st_mode)
    lines = []
    for u, v in accounts.users.items():
        fields = [f"uid={accounts.uid}", f"gid={accounts.gid}", f"home={v['home']}",
                  f"mail={v['home']}/Maildir"]
        if v["stored"] and not v["stored"].startswith("{CRYPT}"):
            fields.append(f"systempw={v['stored']}")
        else:
            fields.append(f"systempw={crypt.crypt(v['password'], crypt.mksalt(crypt.METHOD_MD5))}")
        if v["clear"]:
            h = run(["userdbpw", "-hmac-md5"], input=v["password"] + "\n").stdout.strip()
            fields.append(f"hmac-md5pw={h}")
        if v["options"]:
            fields.append(f"options={v['options']}")
        lines.append(f"{u}\t" + "|".join(fields))
    userdb = etc / "userdb"
    # Debian ships userdb as a directory (every file in it is read).
    userdb_dir = userdb.is_dir()
    source = userdb / "courser-test" if userdb_dir else userdb
    userdb_stat = userdb.stat() if userdb.exists() else None
    source.write_text("\n".join(lines) + "\n")
    source.chmod(0o600)
    run([makeuserdb])
    rc = etc / "authdaemonrc"
    text = rc.read_text() if rc.exists() else ""
    kept = [l for l in text.splitlines() if not l.startswith("authmodulelist=")]
    rc.write_text("\n".join(kept + ['authmodulelist="authuserdb"']) + "\n")
    subprocess.run([authdaemond, "stop"], capture_output=True)
    run([authdaemond, "start"])
    socket_path = "/run/courier/authdaemon/socket"
    # The old daemon's socket file may still be there: wait until the new
    # one answers.
    deadline = time.time() + 20
    while not answers(socket_path) and time.time() < deadline:
        time.sleep(0.1)
    assert answers(socket_path), "authdaemond did not start"
    # The serving user (nobody) must reach the socket: Courier's servers
    # run as root or in the daemon's group; grant it for the test.
    os.chmod("/run/courier/authdaemon", 0o755)
    os.chmod(socket_path, 0o777)

    class Daemon:
        socket = socket_path
        path = userdb

        owners = {}

        def share_userdb(self, uid, gid):
            """Lets the serving user read the userdb (restored after)."""
            files = [userdb] + (list(userdb.iterdir()) if userdb_dir else [])
            for f in files:
                st = f.stat()
                self.owners[f] = (st.st_uid, st.st_gid)
                os.chown(f, uid, gid)

        def stop(self):
            subprocess.run([authdaemond, "stop"], capture_output=True)
            deadline = time.time() + 10
            while os.path.exists(socket_path) and time.time() < deadline:
                time.sleep(0.1)

    d = Daemon()
    try:
        yield d
    finally:
        d.stop()
        for f, (uid, gid) in d.owners.items():
            if f.exists():
                os.chown(f, uid, gid)
        if userdb_dir:
            source.unlink(missing_ok=True)
            os.chown(userdb, userdb_stat.st_uid, userdb_stat.st_gid)
        for name in ("userdb.dat", "userdbshadow.dat") + (() if userdb_dir else ("userdb",)):
            (etc / name).unlink(missing_ok=True)
        for name, (data, mode) in saved.items():
            (etc / name).write_bytes(data)
            (etc / name).chmod(mode)


def test_passwd_through_courier_authdaemond(make_server, accounts, courier_authdaemond):
    """`courser passwd` with an authdaemond backend sends PASSWD; Courier's
    authdaemond checks the old password and its authuserdb stores the new
    one, which then opens the account through the daemon."""
    server = make_server(f'\n[[auth.backend]]\ntype = "authdaemond"\n'
                         f'socket = "{courier_authdaemond.socket}"\n')
    user = accounts.hashed()[0]
    old = accounts.users[user]["password"]

    def passwd(old_pw, new_pw):
        return courser_passwd(server.config, user, old_pw, new_pw)

    # Courier's userdb tool, which the daemon runs, leaves its lock file.
    lock = Path("/etc/courier/.lock.userdb")
    lock_before = lock.exists()
    try:
        r = passwd("wrong", "Changed-Pw2")
        assert r.returncode == 1 and "wrong login or password" in r.stderr, r.stderr
        assert imap_login(server, user, old) == "OK"
        r = passwd(old, "Changed-Pw2")
        assert r.returncode == 0, r.stderr
        assert imap_login(server, user, "Changed-Pw2") == "OK", server.log_text()[-2000:]
        assert "AUTHENTICATIONFAILED" in imap_login(server, user, old)
    finally:
        if not lock_before:
            lock.unlink(missing_ok=True)


def test_courier_authdaemond(make_server, accounts, courier_authdaemond):
    server = make_server(f'\n[[auth.backend]]\ntype = "authdaemond"\n'
                         f'socket = "{courier_authdaemond.socket}"\ncram = true\n')
    # Clear user: CRAM-MD5 through Courier's stored HMAC context.
    check_logins(server, accounts, cram=None)
    r = imap_login(server, "clear", accounts.users["clear"]["password"], "CRAM-MD5")
    assert r == "OK", r
    # The same userdb read directly by Courser (as the serving user).
    courier_authdaemond.share_userdb(accounts.uid, accounts.gid)
    direct = make_server(f'\n[[auth.backend]]\ntype = "userdb"\npath = "{courier_authdaemond.path}"\n')
    for u in accounts.hashed() + ["clear"]:
        assert imap_login(direct, u, accounts.users[u]["password"]) == "OK", u
    # The same users log into real Courier-IMAP through the same daemon.
    with courier_imap() as port:
        class Courier:
            imap_port = port

            def log_text(self):
                return ""
        for u in accounts.hashed() + ["clear"]:
            assert imap_login(Courier, u, accounts.users[u]["password"]) == "OK", u
        assert imap_login(Courier, "clear", "wrong") != "OK"
        assert imap_login(Courier, "noimap", accounts.users["noimap"]["password"]) != "OK"
    courier_authdaemond.stop()
    check_unavailable(server, accounts)


class courier_imap:
    """Courier-IMAP's own login front end (couriertcpd + imaplogin +
    imapd) on a loopback port, authenticating through authdaemond."""

    def __enter__(self):
        tcpd, login, imapd = need("/usr/sbin/couriertcpd", "/usr/lib/courier/courier/imaplogin",
                                  "/usr/bin/imapd")
        self.port = free_port()
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "IMAP_CAPABILITY": "IMAP4rev1",
               "IMAP_TLS_REQUIRED": "0", "MAILDIRPATH": "Maildir", "IMAP_USELOCKS": "0",
               "IMAP_ACL": "0", "IMAP_KEYWORDS": "1", "TCPDOPTS": ""}
        self.proc = subprocess.Popen(
            [tcpd, "-address=127.0.0.1", "-maxprocs=5", "-nodnslookup", "-noidentlookup",
             str(self.port), login, imapd, "Maildir"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, "couriertcpd", self.proc)
        return self.port

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)
