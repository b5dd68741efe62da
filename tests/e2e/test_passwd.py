"""`courser passwd`: a password changed in the userdb the server reads
(the old one stops working over IMAP, the new one works), a wrong old
password or an unknown login changes nothing, and a backend that cannot
store passwords refuses with a message that says so."""

import crypt
import subprocess

from conftest import BIN, USERS
from test_userdb import login


def passwd(server, user, old, new, *extra):
    return subprocess.run([BIN, "passwd", "--config", str(server.config), *extra, user],
                          input=f"{old}\n{new}\n", capture_output=True, text=True,
                          timeout=60)


def test_a_changed_userdb_password_takes_effect_at_once(make_server):
    server = make_server()
    userdb = server.root / "userdb"
    before = userdb.stat()
    r = passwd(server, "alice", USERS["alice"], "alice-new-pw")
    assert r.returncode == 0, r.stderr
    assert "Password changed for alice." in r.stdout
    assert "password changed" in r.stderr  # the log line
    assert "AUTHENTICATIONFAILED" in login(server, "alice", USERS["alice"])
    assert login(server, "alice", "alice-new-pw") == "OK", server.log_text()[-2000:]
    assert login(server, "bob", USERS["bob"]) == "OK"
    # The server can still read it: owner and mode kept.
    after = userdb.stat()
    assert (after.st_uid, after.st_gid, after.st_mode) == \
        (before.st_uid, before.st_gid, before.st_mode)
    # The scheme of the old hash ($6$ here) is kept.
    line = next(l for l in userdb.read_text().splitlines() if l.startswith("alice\t"))
    assert "|systempw=$6$" in line, line


def test_a_compiled_userdb_is_compiled_again(make_server):
    server = make_server()
    subprocess.run([BIN, "userdb", "-f", str(server.root / "userdb"), "compile"],
                   check=True, capture_output=True)
    r = passwd(server, "bob", USERS["bob"], "bob-new-pw")
    assert r.returncode == 0, r.stderr
    assert login(server, "bob", "bob-new-pw") == "OK", server.log_text()[-2000:]
    assert "AUTHENTICATIONFAILED" in login(server, "bob", USERS["bob"])


def test_a_wrong_old_password_or_unknown_login_changes_nothing(make_server):
    server = make_server()
    userdb = server.root / "userdb"
    text = userdb.read_bytes()
    for user, old in (("alice", "wrong"), ("alice", USERS["bob"]), ("nobody-here", "x")):
        r = passwd(server, user, old, "new-pw")
        assert r.returncode == 1, r
        assert "password NOT changed: wrong login or password" in r.stderr, r.stderr
        assert "password change refused" in r.stderr
    # Bad new passwords: refused before anything is checked.
    r = passwd(server, "alice", USERS["alice"], "")
    assert r.returncode == 1 and "new password refused: it is empty" in r.stderr, r.stderr
    assert userdb.read_bytes() == text
    assert login(server, "alice", USERS["alice"]) == "OK"
    assert "AUTHENTICATIONFAILED" in login(server, "alice", "new-pw")


def test_a_backend_that_cannot_store_passwords_refuses_clearly(make_server):
    server = make_server()
    home = server.homes["alice"]
    passwd_file = server.root / "passwd"
    shadow = server.root / "shadow"
    passwd_file.write_text(f"carol:x:{server.uid}:{server.gid}:Carol:{home}:/bin/sh\n")
    hashed = crypt.crypt("carol-pw", crypt.mksalt(crypt.METHOD_SHA512))
    shadow.write_text(f"carol:{hashed}:19000:0:99999:7:::\n")
    shadow.chmod(0o600)
    with open(server.config, "a") as f:
        f.write(f'\n[[auth.backend]]\ntype = "passwd"\npasswd = "{passwd_file}"\n'
                f'shadow = "{shadow}"\n')
    r = passwd(server, "carol", "carol-pw", "carol-new-pw")
    assert r.returncode == 1, r
    assert "password NOT changed: authentication backend shadow cannot change passwords" \
        in r.stderr, r.stderr
    assert shadow.read_text().startswith(f"carol:{hashed}:")
