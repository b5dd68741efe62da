"""`courser import-courier` on Debian's own /etc/courier (from the
courier-imap, courier-pop and courier-authlib packages) and on edited
copies: the result passes check-config unchanged, and `courser serve`
with it answers on the listeners Courier's settings name, with the
capabilities they imply, for an account of the Courier userdb. Courier's
own imapd, run on the same files, says what those capabilities are."""

import imaplib
import poplib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BIN, Served, insecure_tls
from courier_site import ETC, FILES, courier_files, need_debian_files, own, set_vars

PASSWORD = "alice-pw"


def courser(*args, check=True):
    r = subprocess.run([BIN, *args], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, f"{args}: {r.stderr}"
    return r


def imported(src, out):
    """Imports `src` into `out`, checks the result, returns (text, stderr)."""
    r = courser("import-courier", "--from", str(src), "--out", str(out))
    checked = courser("check-config", "--config", str(out), check=False)
    assert checked.returncode == 0, f"check-config refused it: {checked.stderr}\n{out.read_text()}"
    return out.read_text(), r.stderr


def test_debian_files_as_packaged(tmp_path):
    need_debian_files()
    text, err = imported(ETC, tmp_path / "courser.toml")
    # Debian gives POP3 its own certificate; Courser serves one for all.
    assert "pop3d-ssl" in err and "TLS_CERTFILE" in err, err
    for f in ('address = "[::]:143"', 'address = "[::]:993"', 'address = "[::]:110"',
              'address = "[::]:995"', 'certificate = "/etc/courier/imapd.pem"',
              'private_key = "/etc/courier/imapd.pem"', 'trash = "Trash"',
              'empty_trash = "Trash:7"', "keywords = true", "acl = true", 'format = "courier"',
              'process_model = "per-user"', "[[auth.backend]]"):
        assert f in text, f"{f} not in\n{text}"
    # Every live assignment of Debian's files is in the output.
    for name in FILES:
        for n, line in enumerate((ETC / name).read_text().splitlines(), 1):
            m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=", line)
            if m:
                assert f"{name}:{n} {m.group(1)}=" in text, f"{name}:{n} {line}"
    # No overwriting without --force; with it, the file is replaced whole.
    again = courser("import-courier", "--from", str(ETC), "--out",
                    str(tmp_path / "courser.toml"), check=False)
    assert again.returncode != 0 and "--force" in again.stderr
    (tmp_path / "courser.toml").write_text("old")
    courser("import-courier", "--from", str(ETC), "--out", str(tmp_path / "courser.toml"),
            "--force")
    assert (tmp_path / "courser.toml").read_text() == text
    # Without --out it prints the same text.
    assert courser("import-courier", "--from", str(ETC)).stdout == text


def test_bad_input_is_refused_clearly(tmp_path):
    need_debian_files()
    src = tmp_path / "courier"
    src.mkdir()
    out = tmp_path / "courser.toml"
    r = courser("import-courier", "--from", str(src), "--out", str(out), check=False)
    assert r.returncode != 0 and "not a Courier configuration directory" in r.stderr
    for name in FILES:
        shutil.copy(ETC / name, src / name)
    set_vars(src / "authdaemonrc", authmodulelist='"authcustom"')
    r = courser("import-courier", "--from", str(src), "--out", str(out), check=False)
    assert r.returncode != 0 and "no module Courser can serve" in r.stderr, r.stderr
    assert not out.exists()
    # A garbage line and an unknown module are comments; the rest imports.
    set_vars(src / "authdaemonrc", authmodulelist='"authnosuch authpam"')
    with open(src / "imapd", "a") as f:
        f.write("this is not a setting\nIMAP_KEYWORDS='0\n")
    text, err = imported(src, out)
    assert 'unknown module "authnosuch"' in text
    assert "`this is not a setting` is not a NAME=value assignment" in text
    assert "unterminated '" in text and "unterminated '" in err
    # A file that cannot be read is an error naming it (root reads any
    # file: a directory stands in for an unreadable one).
    (src / "pop3d").unlink()
    (src / "pop3d").mkdir()
    r = courser("import-courier", "--from", str(src), check=False)
    assert r.returncode != 0 and "pop3d" in r.stderr, r.stderr


def courier_capabilities(src, maildir):
    """What Debian's Courier imapd says (CAPABILITY, PERMANENTFLAGS)
    with the environment the copied files give, run preauthenticated."""
    script = f"set -a; . {src}/imapd; . {src}/imapd-ssl; exec /usr/bin/imapd {maildir}"
    r = subprocess.run(
        ["env", "-i", f"MAILDIR={maildir}", "sh", "-c", script],
        input=b"a CAPABILITY\r\nb SELECT INBOX\r\nc LOGOUT\r\n",
        capture_output=True, cwd=maildir.parent, timeout=30,
    )
    out = r.stdout.decode()
    caps = re.search(r"^\* CAPABILITY (.*?)\r?$", out, re.M).group(1).split()
    flags = re.search(r"PERMANENTFLAGS \(([^)]*)\)", out).group(1)
    return set(caps), flags


@pytest.fixture
def courier_copy():
    """Debian's files copied and edited to serve on loopback ports, with
    a userdb holding one account (its own uid, as Courier serves it).
    Yields (folder, Courier's copy, ports, home, account ids)."""
    need_debian_files()
    # Not pytest's tmp_path: the account's session must reach its home.
    root = Path(tempfile.mkdtemp(prefix="courser-import-"))
    try:
        src, ports, homes = courier_files(root, {"alice": (PASSWORD, "")})
        yield (root, src, ports, *homes["alice"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def caps_of(client):
    typ, data = client.capability()
    assert typ == "OK"
    return set(data[0].decode().split())


def serve_and_compare(tmp_path, src, ports, home, ids, expect_text):
    """Imports `src`, serves it, and checks the four listeners and what
    IMAP advertises against Courier's imapd on the same files."""
    courier_caps, courier_flags = courier_capabilities(src, home / "Maildir")
    own(home, ids)
    text, err = imported(src, tmp_path / "courser.toml")
    for f in expect_text:
        assert f in text, f"{f} not in\n{text}"
    server = Served(tmp_path / "courser.toml", tmp_path)
    try:
        plain = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=30)
        before = caps_of(plain)
        assert "STARTTLS" in before
        plain.login("alice", PASSWORD)
        after = caps_of(plain)
        typ, _ = plain.select("INBOX")
        assert typ == "OK"
        flags = plain.untagged_responses.get("OK", [])
        permanent = next((f.decode() for f in flags if b"PERMANENTFLAGS" in f), "")
        plain.logout()
        # What Courier advertised after login, Courser does too, except
        # what Courser decides by design: SORT/THREAD when Courier refuses
        # them anyway.
        dropped = {c for c in courier_caps if c.startswith("THREAD=") or c == "SORT"}
        if "sort_thread = false" not in text:
            dropped = set()
        missing = courier_caps - dropped - after
        assert not missing, f"Courier advertised {missing}, Courser does not: {after}"
        if "sort_thread = false" in text:
            assert "SORT" not in after and not any(c.startswith("THREAD=") for c in after)
        # Keywords off: no \* in PERMANENTFLAGS, as with Courier.
        assert ("\\*" in permanent) == ("\\*" in courier_flags), (permanent, courier_flags)

        tls = imaplib.IMAP4_SSL("127.0.0.1", ports["imaps"], ssl_context=insecure_tls(),
                                timeout=30)
        tls.login("alice", PASSWORD)
        tls.logout()
        pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=30)
        assert "STLS" in pop.capa()
        pop.user("alice")
        pop.pass_(PASSWORD)
        pop.quit()
        pops = poplib.POP3_SSL("127.0.0.1", ports["pop3s"], context=insecure_tls(),
                               timeout=30)
        pops.user("alice")
        pops.pass_(PASSWORD)
        pops.quit()
        # A wrong password is refused.
        bad = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=30)
        with pytest.raises(imaplib.IMAP4.error):
            bad.login("alice", "wrong")
        bad.logout()
    finally:
        server.stop()
    return text, err


def test_edited_copy_serves_with_debian_defaults(courier_copy):
    root, src, ports, home, ids = courier_copy
    serve_and_compare(root, src, ports, home, ids, [
        f'address = "127.0.0.1:{ports["imap"]}"', "sort_thread = true", "keywords = true",
    ])


def test_edited_copy_with_courier_options(courier_copy):
    root, src, ports, home, ids = courier_copy
    set_vars(src / "imapd", IMAP_TRASHFOLDERNAME='"Deleted Items"',
             IMAP_EMPTYTRASH='"Deleted Items:30"', IMAP_KEYWORDS=0,
             IMAP_DISABLETHREADSORT=1, SMAP_CAPABILITY="SMAP1",
             MAXDAEMONS=7, MAXPERIP=3)
    # userdb first, then PostgreSQL from Courier's own rc file (only
    # consulted for logins userdb does not know).
    (src / "authpgsqlrc").write_text(
        "##NAME: MARKER:0\nPGSQL_CONNECTION host=127.0.0.1 port=1 dbname=mail user=courier\n"
        "PGSQL_USER_TABLE passwd\nPGSQL_CRYPT_PWFIELD crypt\n")
    set_vars(src / "authdaemonrc", authmodulelist='"authuserdb authpgsql"')
    text, err = serve_and_compare(root, src, ports, home, ids, [
        'trash = "Deleted Items"', 'empty_trash = "Deleted Items:30"', "keywords = false",
        "sort_thread = false", f'courier_rc = "{src}/authpgsqlrc"', 'type = "sql"',
        "courier_fallthrough = true", "max_connections = 94", "max_connections_per_ip = 14",
        "smap = true",
    ])
    # The connection (and its password) stays in the rc file.
    assert "host=127.0.0.1" not in text
