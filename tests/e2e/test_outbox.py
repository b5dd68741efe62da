"""The Outbox (`[maildir] outbox`, Courier's OUTBOX) against Courier's
imapd: the same scripted sessions on two copies of one maildir, Debian's
`/usr/bin/imapd` with `OUTBOX=.Outbox SENDMAIL=<fake>` (and HEADERFROM,
OUTBOX_MULTIPLE_SEND) on one, `courser imapd --config` with the same
settings on the other, each with its own fake sendmail that records its
arguments and standard input and exits with the status the test gives
it. Compared: each command's tagged status and response code, every
sendmail run (arguments and bytes, failed runs too), and the folders'
messages afterwards (flags and text; Courser keeps an APPENDed
message's CRLFs, Courier stores LFs).

Courier 5.0.13 has no MOVE: where Courser runs MOVE, Courier runs COPY,
STORE \\Deleted and EXPUNGE (Courser NOOPs), which must mail and leave
the same.

Then through a real login on `courser serve`, in both process models:
what a client APPENDs to the Outbox arrives at sendmail, run as the
account in the per-user model; and with Debian's exim4 as sendmail,
delivering into a maildir, the message arrives byte for byte.
"""

import grp
import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

import preauth
from preauth import IMAPD, need

INBOX = [
    (b"To: bob@example.org\nSubject: one\nMessage-ID: <1@example.org>\n\nfirst\n", ""),
    (b"To: carol@example.org\nCc: dan@example.org\nSubject: two\n\nsecond\n", "S"),
    (b"To: erin@example.org\nBcc: frank@example.org\nSubject: three\n\nthird\n", "FS"),
    (b"To: gina@example.org\nSubject: four\n\nfourth\n", "D"),
]
APPENDED = [
    b"To: hank@example.org\r\nSubject: appended\r\n\r\nbody\r\n",
    b"To: ivan@example.org\r\nSubject: refused\r\n\r\nbody\r\n",
    b"To: judy@example.org\r\nSubject: not sent\r\n\r\nbody\r\n",
    b"To: kim@example.org\r\nSubject: no final newline\r\n\r\nlast",
]

# Records each run as sent/<n>.argv and sent/<n>.msg; exits with the
# first line of `rc` (consumed while more lines follow; 0 without it).
FAKE = """#!/bin/sh
d={dir}
n=$(( $(cat $d/count 2>/dev/null || echo 0) + 1 ))
echo $n > $d/count
printf '%s\\n' "$@" > $d/sent/$n.argv
id -u > $d/sent/$n.uid
cat > $d/sent/$n.msg
code=0
if [ -f $d/rc ]; then
  code=$(head -n 1 $d/rc)
  if [ $(wc -l < $d/rc) -gt 1 ]; then tail -n +2 $d/rc > $d/rc.next; mv $d/rc.next $d/rc; fi
fi
exit $code
"""


def fake_sendmail(directory):
    """A recording sendmail in `directory` (its path holds no shell
    syntax, which `[maildir] sendmail` refuses); returns its path."""
    directory.mkdir(mode=0o1777, exist_ok=True)
    directory.chmod(0o1777)
    (directory / "sent").mkdir(mode=0o1777)
    (directory / "sent").chmod(0o1777)
    script = directory / "sendmail"
    script.write_text(FAKE.format(dir=directory))
    script.chmod(0o755)
    return script


def runs(directory):
    """Every run of the fake: (arguments, input), in order."""
    sent = directory / "sent"
    count = len(list(sent.glob("*.msg")))
    return [((sent / f"{n}.argv").read_bytes(), (sent / f"{n}.msg").read_bytes())
            for n in range(1, count + 1)]


def set_rc(directory, *codes):
    def act():
        (directory / "rc").write_text("".join(f"{c}\n" for c in codes))
    return act


def make_maildir(home):
    m = home / "Maildir"
    for f in ["", ".Outbox", ".Other"]:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(m / f / sub, mode=0o700, exist_ok=True)
        if f:
            (m / f / "maildirfolder").touch(mode=0o600)
    for i, (body, flags) in enumerate(INBOX):
        (m / "cur" / f"100000000{i}.M1P1.test:2,{flags}").write_bytes(body)


def contents(m):
    """Per folder: its messages' flags and text (LF line ends, final LF)."""
    out = {}
    for folder in ["", ".Outbox", ".Other"]:
        found = []
        for sub in ("cur", "new"):
            for p in (m / folder / sub).iterdir():
                flags = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
                text = p.read_bytes().replace(b"\r", b"")
                found.append((flags, text if text.endswith(b"\n") else text + b"\n"))
        out[folder.lstrip(".") or "INBOX"] = sorted(found)
    return out


def facts(lines):
    """A command's tagged status, and whether it says [ALERT] (COPYUID
    is not compared: Courser's MOVE puts it in an untagged OK)."""
    # (after a refused APPEND Courier also says `* NO Error in IMAP
    # command`, for the line end after the message)
    tagged = next(l for l in reversed(lines) if not l.startswith((b"*", b"+")))
    words = tagged.split(b" ", 3)
    return words[1], len(words) > 2 and words[2] == b"[ALERT]"


SCRIPT_ONE_AT_A_TIME = [
    "SELECT INBOX",
    ("APPEND INBOX.Outbox {%d}", APPENDED[0]),
    ("rc", 75),
    ("APPEND INBOX.Outbox {%d}", APPENDED[1]),
    ("rc", 0),
    ("APPEND INBOX (\\Seen) {%d}", APPENDED[2]),
    "NOOP",
    "COPY 1:2 INBOX.Outbox",
    "UID COPY 1:* INBOX.Outbox",
    "COPY 2 INBOX.Outbox",
    ("rc", 1),
    "COPY 3 INBOX.Outbox",
    ("rc", 0),
    "UID COPY 1 INBOX.Outbox",
    "COPY 1 INBOX.Other",
    ("move", "4"),
    ("rc", 75),
    ("move", "3", "fails"),
    ("rc", 0),
    ("APPEND INBOX.Outbox {%d}", APPENDED[3]),
    "STATUS INBOX.Outbox (MESSAGES)",
    "SELECT INBOX.Outbox",
    "FETCH 1:* (FLAGS)",
]

SCRIPT_MULTIPLE = [
    "SELECT INBOX",
    "COPY 1:3 INBOX.Outbox",
    ("rc", 0, 75),
    "COPY 1:4 INBOX.Outbox",
    ("rc", 0),
    ("move", "2:3"),
    "UID COPY 1:* INBOX.Other",
    "STATUS INBOX.Outbox (MESSAGES)",
]


def commands(which, script, sendmail_dir):
    """The script as `which` runs it."""
    out = []
    for item in script:
        if isinstance(item, tuple) and item[0] == "rc":
            out.append(set_rc(sendmail_dir, *item[1:]))
        elif isinstance(item, tuple) and item[0] == "move":
            if which == "courser":
                out += [f"MOVE {item[1]} INBOX.Outbox", "NOOP", "NOOP"]
            elif item[2:] == ("fails",):
                out += [f"COPY {item[1]} INBOX.Outbox", "NOOP", "NOOP"]
            else:
                out += [f"COPY {item[1]} INBOX.Outbox",
                        f"STORE {item[1]} +FLAGS.SILENT (\\Deleted)", "EXPUNGE"]
        else:
            out.append(item)
    return out


def run_both(tmp_path, script, multiple, header):
    need(IMAPD, "courier-imap")
    homes = {w: tmp_path / w for w in ("courier", "courser")}
    make_maildir(homes["courier"])
    shutil.copytree(homes["courier"], homes["courser"], symlinks=True)
    base = Path(tempfile.mkdtemp(prefix="courser-outbox-"))
    try:
        fakes = {w: fake_sendmail(base / w) for w in homes}
        answers = {}
        for which, home in homes.items():
            env = {"PATH": "/usr/bin:/bin", "HOME": str(home),
                   "AUTHENTICATED": "alice"}
            config = None
            if which == "courier":
                env.update(OUTBOX=".Outbox", SENDMAIL=str(fakes[which]))
                if header:
                    env["HEADERFROM"] = header
                if multiple:
                    env["OUTBOX_MULTIPLE_SEND"] = "1"
            else:
                config = home / "courser.toml"
                config.write_text(
                    '[[listener]]\nprotocol = "imap"\naddress = "127.0.0.1:1"\n'
                    '[auth]\nuserdb = "userdb"\n'
                    f'[maildir]\noutbox = ".Outbox"\nsendmail = "{fakes[which]} -oi -t"\n'
                    f'outbox_sender_header = "{header}"\n'
                    f"outbox_multiple_send = {'true' if multiple else 'false'}\n")
            answers[which] = preauth.session(
                which, home, commands(which, script, fakes[which].parent), env, config)
        diffs = []
        for (cmd, theirs), (mine_cmd, mine) in zip(answers["courier"], answers["courser"]):
            if facts(theirs) != facts(mine):
                diffs.append(f"{cmd} / {mine_cmd}:\n  courier {theirs}\n  courser {mine}")
        assert not diffs, "\n".join(diffs)
        sent = {w: runs(f.parent) for w, f in fakes.items()}
        assert sent["courser"] == sent["courier"]
        theirs = contents(homes["courier"] / "Maildir")
        assert contents(homes["courser"] / "Maildir") == theirs
        return sent["courier"], theirs, answers["courser"]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_one_message_at_a_time_as_courier(tmp_path):
    sent, folders, answers = run_both(tmp_path, SCRIPT_ONE_AT_A_TIME, False, "X-IMAP-Sender")
    # What the comparison rests on: runs that worked and runs that failed.
    assert len(sent) == 8, sent
    assert all(argv == b"-oi\n-t\n-f\nalice\n" for argv, _ in sent)
    assert sent[0][1] == b"X-IMAP-Sender: alice\n" + APPENDED[0].replace(b"\r", b"")
    assert sent[-1][1].endswith(b"\n\nlast\n")
    assert [len(folders[f]) for f in ("INBOX", "Outbox", "Other")] == [4, 5, 1], folders
    by_cmd = {cmd: facts(lines)[0] for cmd, lines in answers}
    assert by_cmd["COPY 1:2 INBOX.Outbox"] == b"NO"
    assert by_cmd["COPY 3 INBOX.Outbox"] == b"NO"
    assert by_cmd["UID COPY 1 INBOX.Outbox"] == b"OK"


def test_multiple_send_as_courier(tmp_path):
    sent, folders, _ = run_both(tmp_path, SCRIPT_MULTIPLE, True, "")
    # 3 sent, then 1 sent and 1 refused (nothing kept), then 2 moved.
    assert len(sent) == 7, sent
    assert all(not msg.startswith(b"X-IMAP-Sender") for _, msg in sent)
    assert len(folders["Outbox"]) == 5 and len(folders["INBOX"]) == 2, folders


# --------------------------------------------------------------------------
# Through `courser serve`


@pytest.mark.parametrize("per_user", [False, True])
def test_append_through_a_login_is_sent(make_server, per_user):
    if per_user and os.getuid() != 0:
        pytest.skip("the per-user model switches uids: needs root")
    base = Path(tempfile.mkdtemp(prefix="courser-outbox-"))
    base.chmod(0o755)
    try:
        script = fake_sendmail(base / "mta")
        server = make_server(
            f'\n[maildir]\noutbox = "Outbox"\nsendmail = "{script} -oi -t"\n',
            per_user=per_user)
        c = server.connect()
        caps = c.capability()[1][0]
        assert b" XCOURIEROUTBOX=INBOX.Outbox" in caps, caps
        assert c.create("INBOX.Outbox")[0] == "OK"
        message = b"To: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
        typ, data = c.append("INBOX.Outbox", "(\\Seen)", None, message)
        assert typ == "OK", data
        sent = runs(script.parent)
        assert sent == [(b"-oi\n-t\n-f\nalice\n",
                         b"X-IMAP-Sender: alice\n" + message.replace(b"\r", b""))]
        uid = int((script.parent / "sent" / "1.uid").read_text())
        assert uid == server.account_ids["alice"][0]
        # Refused by sendmail: NO, nothing stored.
        (script.parent / "rc").write_text("75\n")
        typ, data = c.append("INBOX.Outbox", None, None, message)
        assert (typ, data) == ("NO", [b"[ALERT] Unable to send E-mail message."])
        typ, data = c.status("INBOX.Outbox", "(MESSAGES)")
        assert data[0].endswith(b"(MESSAGES 1)"), data
        c.logout()
        assert "exited with status 75" in server.log_text()
        assert len(list((server.maildir() / ".Outbox" / "cur").iterdir())) == 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------
# Through a real MTA: Debian's exim4, run by Courser as its sendmail with a
# configuration of the test's that delivers every recipient into a maildir

EXIM = "/usr/sbin/exim4"

EXIM_CONF = """exim_user = {user}
exim_group = {group}
trusted_users = {user}
keep_environment =
primary_hostname = courser.test
qualify_domain = courser.test
spool_directory = {dir}/spool
log_file_path = {dir}/log/%slog
begin routers
everyone:
  driver = accept
  transport = maildir
begin transports
maildir:
  driver = appendfile
  directory = {dir}/delivered
  maildir_format
  create_directory
  delivery_date_add = false
  envelope_to_add = false
  return_path_add = true
"""


def test_a_real_mta_delivers_what_was_appended(make_server):
    need(EXIM, "exim4-daemon-light")
    base = Path(tempfile.mkdtemp(prefix="courser-exim-"))
    base.chmod(0o755)
    try:
        mta = base / "exim"
        for d in (mta, mta / "spool", mta / "log"):
            d.mkdir(mode=0o777)
            d.chmod(0o777)
        conf = mta / "exim.conf"
        server = make_server(
            f'\n[maildir]\noutbox = "Outbox"\n'
            f'sendmail = "{EXIM} -C {conf} -odi -oi -t"\n')
        # Exim, given -C by someone else than root, runs as its caller
        # (the server's uid), which must then be its exim_user.
        conf.write_text(EXIM_CONF.format(
            user=pwd.getpwuid(server.uid).pw_name, group=grp.getgrgid(server.gid).gr_name,
            dir=mta))
        conf.chmod(0o644)
        message = (b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
                   b"Bcc: carol@example.org\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\n"
                   b"Message-ID: <outbox-1@example.org>\r\nSubject: via exim\r\n\r\n"
                   b"body\r\n.\r\nafter a lone dot\r\n")
        c = server.connect()
        c.create("INBOX.Outbox")
        typ, data = c.append("INBOX.Outbox", None, None, message)
        log = mta / "log" / "mainlog"
        assert typ == "OK", (data, log.read_text() if log.exists() else "no exim log")
        c.logout()
        delivered = sorted((mta / "delivered" / "new").iterdir())
        assert len(delivered) == 2, log.read_text()  # bob and carol (Bcc)
        # What Courser handed over, less the Bcc header sendmail -t takes
        # out, after the trace headers Exim puts on top.
        sent = b"X-IMAP-Sender: alice\n" + message.replace(b"\r", b"").replace(
            b"Bcc: carol@example.org\n", b"")
        for f in delivered:
            text = f.read_bytes()
            assert text.endswith(sent), text
            trace = text[:-len(sent)].decode().splitlines()
            assert trace[0] == "Return-path: <alice@courser.test>", trace
            assert trace[1].startswith("Received: ") and all(
                line.startswith("\t") for line in trace[2:]), trace
    finally:
        shutil.rmtree(base, ignore_errors=True)
