"""The compiled userdb through the real server: `courser userdb compile`
writes `userdb.cdb`, which the server then reads instead of the source
(as Courier reads only makeuserdb's files) and re-reads when replaced."""

import imaplib
import os
import subprocess
import time

from conftest import BIN, USERS


def userdb_tool(server, *args, input=None):
    return subprocess.run([BIN, "userdb", "-f", str(server.root / "userdb"), *args],
                          input=input, capture_output=True, text=True, check=True)


def login(server, user, pw):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    try:
        c.login(user, pw)
        c.logout()
        return "OK"
    except imaplib.IMAP4.error as e:
        return str(e)


def test_compiled_userdb_is_served_and_replacements_are_seen(make_server):
    server = make_server()
    out = userdb_tool(server, "compile").stdout
    assert "2 accounts compiled" in out, out
    cdb = server.root / "userdb.cdb"
    st = cdb.stat()
    assert st.st_mode & 0o777 == 0o600
    assert (st.st_uid, st.st_gid) == (server.root / "userdb").stat()[4:6]
    assert login(server, "alice", USERS["alice"]) == "OK"

    # An edit of the source waits for the next compile (and says so).
    pw = subprocess.run([BIN, "pw", "--scheme", "sha512-crypt"], input="new-pw\n",
                        capture_output=True, text=True, check=True).stdout.strip()
    r = userdb_tool(server, "alice", "set", f"systempw={pw}")
    assert "compile" in r.stderr, r.stderr
    time.sleep(0.05)
    assert login(server, "alice", USERS["alice"]) == "OK"
    assert "AUTHENTICATIONFAILED" in login(server, "alice", "new-pw")
    assert "changed after it was compiled" in server.log_text()

    userdb_tool(server, "compile")
    assert login(server, "alice", "new-pw") == "OK"
    assert "AUTHENTICATIONFAILED" in login(server, "alice", USERS["alice"])

    # Without the compiled file the server reads the source again.
    os.unlink(cdb)
    assert login(server, "bob", USERS["bob"]) == "OK"
    assert login(server, "alice", "new-pw") == "OK"
