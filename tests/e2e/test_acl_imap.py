"""IMAP ACLs against Courier's imapd: the same scripted sessions on two
copies of one maildir, Debian's `/usr/bin/imapd` on one and
`courser imapd` on the other, both preauthenticated as the maildir's
owner (`AUTHENTICATED`, with the account's authlib options in
`OPTIONS`, as authlib hands them to Courier's imapd).

ACLs are set before the sessions with Courier's `maildiracl` on one copy
and `courser acl` on the other, and during them with SETACL/DELETEACL:
negative entries, `group=` entries that apply through the options,
`anyone`, folders with rights taken away from their owner, changes the
minimum-rights rule refuses, bad identifiers and rights. Every command
must get the same tagged status from both (and the same text where it
is Courier's ACL wording); the untagged ACL data (`* ACL`,
`* MYRIGHTS`, `* LISTRIGHTS`, `[MYRIGHTS ...]`), the folders LIST shows
and the flags FETCH shows must be equal; and the ACL files
(`courierimapacl`, `courierimaphieracl/`) must end byte-identical.

What is not compared: CAPABILITY (Courier's comes from its config),
other response texts, MOVE and UID EXPUNGE (Courier 5.0.13 has neither
for this purpose).
"""

import os
import random
import re
import shutil
import stat
import subprocess

import pytest

import preauth
from conftest import BIN
from preauth import IMAPD, need

MAILDIRACL = "/usr/bin/maildiracl"
FOLDERS = ["a", "a.b", "c", "d"]
MSG = b"From: a@example.org\nSubject: acl\nMessage-ID: <%d@example.org>\n\nbody\n"

# (tool arguments) applied with maildiracl / courser acl before the sessions
TOOL_SETUP = [
    ["-set", "Maildir", "INBOX.c", "group=staff", "lr"],
    ["-set", "Maildir", "INBOX.c", "-group=staff", "w"],
    ["-set", "Maildir", "INBOX.d", "-group=staff", "l"],
    ["-set", "Maildir", "INBOX.a", "anyone", "lr"],
    ["-set", "Maildir", "INBOX.a.b", "-user=bob", "i"],
    # refused by both: administrators would lose `i` too
    ["-set", "Maildir", "INBOX.a.b", "-anyone", "i"],
]

# Session 1: the owner sets and reads ACLs, and meets refusals.
ACL_COMMANDS = [
    "GETACL INBOX",
    "MYRIGHTS INBOX",
    "LISTRIGHTS INBOX alice",
    "LISTRIGHTS INBOX bob",
    "LISTRIGHTS INBOX -anyone",
    "LISTRIGHTS INBOX -alice",
    "LISTRIGHTS INBOX anyone",
    "SETACL INBOX.a bob lrs",
    "SETACL INBOX.a -bob +s",
    "SETACL INBOX.a carol +lrwi",
    "SETACL INBOX.a carol -w",
    "SETACL INBOX.a.b dave d",
    "SETACL INBOX.a.b dave -x",
    "SETACL INBOX.a.b erin xt",
    "SETACL INBOX.d -owner rx",
    "SETACL INBOX.c -owner ste",
    "SETACL INBOX.a -owner c",
    "SETACL INBOX.a.b -alice ie",
    "SETACL INBOX anyone l",
    "SETACL INBOX owner lr",
    "SETACL INBOX owner -a",
    "DELETEACL INBOX owner",
    "SETACL INBOX alice -l",
    "SETACL INBOX -owner l",
    "SETACL INBOX.a -anyone w",
    "SETACL INBOX group=x r",
    "SETACL INBOX user=bob r",
    'SETACL INBOX "a b" r',
    'SETACL INBOX bob "l r"',
    "SETACL INBOX administrators -l",
    "SETACL INBOX.nope bob l",
    "DELETEACL INBOX.a nobody",
    "DELETEACL INBOX.a carol",
    "SETACL INBOX.a bob \"\"",
    "SETACL INBOX.a frank ckd",
    "SETACL INBOX.a gina +",
    "SETACL INBOX.a hank -l",
    "SETACL inbox.a ivan lr",
    "DELETEACL INBOX.a \"\"",
    "GETACL INBOX",
    "GETACL INBOX.a",
    "GETACL INBOX.a.b",
    "GETACL INBOX.c",
    "GETACL INBOX.d",
    "GETACL INBOX.nope",
    "MYRIGHTS INBOX.a.b",
    "MYRIGHTS INBOX.c",
    "MYRIGHTS INBOX.d",
    "MYRIGHTS INBOX.nope",
    'LIST "" *',
]

# Session 2: what those rights allow the owner.
RIGHTS_COMMANDS = [
    'LIST "" *',
    "SELECT INBOX.d",
    "EXAMINE INBOX.d",
    "STATUS INBOX.d (MESSAGES)",
    "DELETE INBOX.d",
    "RENAME INBOX.d INBOX.e",
    "CREATE INBOX.a.new",
    "RENAME INBOX.c INBOX.a.c2",
    "CREATE INBOX.c.sub",
    "RENAME INBOX.c.sub INBOX.d.sub",
    "DELETE INBOX.d.sub",
    ("APPEND INBOX.a.b {%d}", MSG % 90),
    ("APPEND INBOX.c (\\Seen \\Deleted \\Flagged \\Answered) {%d}", MSG % 91),
    "SELECT INBOX",
    "STORE 1 +FLAGS (\\Seen \\Flagged \\Deleted)",
    "COPY 1 INBOX.a.b",
    "COPY 1 INBOX.c",
    "COPY 1 INBOX.nope",
    "SELECT INBOX.c",
    "FETCH 1:* (FLAGS)",
    "FETCH 1 (BODY[])",
    "FETCH 1:* (FLAGS)",
    "STORE 1:* +FLAGS (\\Seen \\Deleted \\Draft)",
    "STORE 2 FLAGS ()",
    "FETCH 1:* (FLAGS)",
    "EXPUNGE",
    "CLOSE",
    "STATUS INBOX.c (MESSAGES)",
    "SELECT INBOX.a.b",
    "STORE 1 +FLAGS (\\Deleted)",
    "EXPUNGE",
    "CLOSE",
    "STATUS INBOX.a.b (MESSAGES)",
    "LSUB \"\" INBOX.*",
]


def make_maildir(home):
    m = home / "Maildir"
    for f in [""] + ["." + f for f in FOLDERS]:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(m / f / sub, mode=0o700, exist_ok=True)
        if f:
            (m / f / "maildirfolder").touch(mode=0o600)
    # (none in INBOX.c: Courser numbers a COPY into a folder before the
    # mail waiting in its new/, Courier after)
    for i, f in enumerate(["", "", ".a.b"]):
        (m / f / "new" / f"100000000{i}.M1P1.test").write_bytes(MSG % i)
    (m / "courierimapsubscribed").write_bytes(b"INBOX.a\nINBOX.c\nINBOX.d\n")
    return m


def tool(home, which, argv):
    exe, name = (MAILDIRACL, "maildiracl") if which == "courier" else (BIN, None)
    args = [name] + argv if name else [BIN, "acl"] + argv
    p = subprocess.run(args, executable=exe, cwd=home, capture_output=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def session(which, home, commands, options="", user="alice", maildir="Maildir", env=None):
    """Runs `commands` (one at a time) as `user` on `home`/`maildir`
    with the extra environment `env`; returns, per command, the lines
    answered."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "MAILDIR": str(home / maildir),
           "AUTHENTICATED": user, "OPTIONS": options, "IMAP_ACL": "1", **(env or {})}
    return preauth.session(which, home, commands, env, maildir=maildir)


TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|([^\s()]+)')


def tokens(line):
    return [m.group(1) if m.group(1) is not None else m.group(2)
            for m in TOKEN.finditer(line)]


def facts(cmd, lines):
    """What must be equal in one command's answer."""
    tagged = lines[-1].split(b" ", 2)
    status = tagged[1]
    text = tagged[2] if len(tagged) > 2 else b""
    text = re.sub(rb"^\[[^\]]*\] ", b"", text)
    verb = cmd.split(" ", 1)[0]
    # Not about ACLs: a command that needs a selected folder without one
    # (Courier: NO, Courser: BAD), or a message number beyond the folder
    # (Courier: an untagged NO and OK, Courser: BAD).
    if (status, text) == (b"BAD", b"No mailbox selected") \
            or (status == b"NO" and text.startswith(b"Error in IMAP command")):
        return {"status": b"no folder selected"}
    if text.startswith(b"Message sequence number out of range") \
            or any(l.startswith(b"* NO Invalid message sequence number") for l in lines):
        return {"status": b"no such message"}
    out = {"status": status}
    acl_verbs = {"GETACL", "SETACL", "DELETEACL", "LISTRIGHTS", "MYRIGHTS"}
    # Courier's wording where Courser copies it; its MYRIGHTS and
    # LISTRIGHTS refusals name GETACL and `a`, ours the command and rights.
    if status != b"OK" and (verb in {"SETACL", "DELETEACL", "GETACL"}
                            or text.startswith(b"Access denied")) \
            and verb not in {"MYRIGHTS", "LISTRIGHTS"}:
        out["text"] = text
    if verb in acl_verbs and status == b"OK":
        out["text"] = text
    data = []
    for line in lines[:-1]:
        if re.match(rb"\* (ACL|MYRIGHTS|LISTRIGHTS) ", line):
            data.append(tokens(line))
        elif m := re.match(rb"\* OK \[MYRIGHTS ([^\]]*)\]", line):
            data.append([b"MYRIGHTS"] + tokens(m.group(1)))
        elif m := re.match(rb"\* (LIST|LSUB) \([^)]*\) \S+ (.*)$", line):
            data.append([m.group(1)] + tokens(m.group(2)))
        elif m := re.match(rb"\* (\d+) FETCH \(.*FLAGS \(([^)]*)\)", line):
            flags = sorted(f for f in m.group(2).split() if f != b"\\Recent")
            data.append([b"FETCH", m.group(1)] + flags)
        elif m := re.match(rb"\* STATUS \S+ \((.*)\)", line):
            data.append([b"STATUS"] + m.group(1).split())
    out["data"] = sorted(data)
    return out


def acl_files(m):
    out = {}
    for dirpath, _, filenames in os.walk(m):
        rel = os.path.relpath(dirpath, m)
        for n in filenames:
            if n == "courierimapacl" or os.path.basename(rel) == "courierimaphieracl":
                p = os.path.join(dirpath, n)
                out[os.path.join(rel, n)] = (stat.S_IMODE(os.lstat(p).st_mode),
                                             open(p, "rb").read())
    return out


def compare(courier, ours):
    assert len(courier) == len(ours)
    diffs = []
    for (cmd, theirs), (_, mine) in zip(courier, ours):
        want, got = facts(cmd, theirs), facts(cmd, mine)
        if want != got:
            diffs.append(f"{cmd}:\n  courier {theirs}\n  courser {mine}")
    assert not diffs, "\n".join(diffs)


def test_acl_sessions_match_courier(tmp_path):
    need(IMAPD, "courier-imap")
    need(MAILDIRACL, "courier-imap")
    homes = {w: tmp_path / w for w in ("courier", "courser")}
    make_maildir(homes["courier"])
    shutil.copytree(homes["courier"], homes["courser"], symlinks=True)
    for argv in TOOL_SETUP:
        results = {w: tool(h, w, argv) for w, h in homes.items()}
        assert results["courier"] == results["courser"], argv
    scripts = [
        (ACL_COMMANDS, ""),
        (RIGHTS_COMMANDS, ""),
        # with the group: no `w` in INBOX.c, INBOX.d not listed
        (['LIST "" *', "MYRIGHTS INBOX.c", "SELECT INBOX.c",
          "STORE 1 +FLAGS (\\Answered \\Seen)", "FETCH 1:* (FLAGS)", "MYRIGHTS INBOX.d",
          "LSUB \"\" INBOX.*"], "group=staff"),
        # rights taken away and given back
        (["SETACL INBOX.d -owner -r", "DELETEACL INBOX.c -owner", "SELECT INBOX.d",
          "MYRIGHTS INBOX.c", "GETACL INBOX.d", "GETACL INBOX.c"], ""),
    ]
    for commands, options in scripts:
        answers = {w: session(w, h, commands, options) for w, h in homes.items()}
        compare(answers["courier"], answers["courser"])
    # the same ACLs as maildiracl lists them, and the same files
    for name in ["INBOX"] + ["INBOX." + f for f in FOLDERS]:
        results = {w: tool(h, w, ["-list", "Maildir", name]) for w, h in homes.items()}
        assert results["courier"] == results["courser"], name
    mine = acl_files(homes["courser"] / "Maildir")
    theirs = acl_files(homes["courier"] / "Maildir")
    assert mine == theirs
    assert len(theirs) >= 5, theirs


# --------------------------------------------------------------------------
# The account's options through `courser serve`, in both process models


@pytest.mark.parametrize("per_user", [False, True])
def test_group_options_reach_the_session(make_server, per_user):
    if per_user and os.getuid() != 0:
        pytest.skip("the per-user model switches uids: needs root")
    server = make_server(per_user=per_user, auth_extra='default_options = "group=staff"')
    maildir = server.maildir()
    rc, _, err = tool(maildir.parent, "courser", ["-set", "Maildir", "INBOX", "-group=staff", "w"])
    assert rc == 0, err
    server.chown()
    c = server.connect()
    typ, caps = c.capability()
    assert b" ACL ACL2=UNION" in caps[0], caps
    typ, data = c.myrights("INBOX")
    assert typ == "OK" and data == [b'"INBOX" acdilrs'], data
    typ, data = c.getacl("INBOX")
    assert data == [b'"INBOX" owner acdilrsw administrators acdilrsw'], data
    typ, data = c.setacl("INBOX", "bob", "lr")
    assert typ == "OK", data
    c.logout()
    assert (maildir / "courierimapacl").read_bytes() == (
        b"owner aceilrstwx\nadministrators aceilrstwx\n-group=staff w\nuser=bob lr\n")


def test_acl_capability_can_be_turned_off(make_server):
    server = make_server(extra_config="\n[imap]\nacl = false\n")
    c = server.connect()
    typ, caps = c.capability()
    assert b"ACL" not in caps[0], caps
    typ, data = c.myrights("INBOX")
    assert typ == "OK" and data == [b'"INBOX" acdilrsw'], data
    c.logout()


# --------------------------------------------------------------------------
# Random ACL sessions

R_FOLDERS = ["INBOX", "INBOX.a", "INBOX.a.b", "INBOX.c", "INBOX.d", "INBOX.nope"]
R_IDS = ["bob", "-bob", "alice", "-alice", "owner", "-owner", "anyone", "-anyone",
         "anonymous", "authuser", "administrators", "-administrators", "group=staff",
         "user=bob", '"a b"', '""', "carol", "-carol"]
R_LETTERS = "acdeiklprstwx"


R_FLAGS = ["\\Seen", "\\Deleted", "\\Flagged", "\\Answered", "\\Draft"]


def random_flags(rng):
    return "(" + " ".join(rng.sample(R_FLAGS, rng.randint(0, 3))) + ")"


def random_command(rng):
    folder = rng.choice(R_FOLDERS)
    # (no EXAMINE: Courier refuses APPEND into a folder EXAMINEd)
    kind = rng.choices(["SETACL", "DELETEACL", "GETACL", "MYRIGHTS", "LISTRIGHTS",
                        "SELECT", "STATUS", "LIST", "STORE", "FETCH", "EXPUNGE",
                        "CLOSE", "COPY", "APPEND"],
                       weights=[10, 3, 3, 2, 2, 4, 2, 1, 3, 2, 1, 1, 2, 2])[0]
    ident = rng.choice(R_IDS)
    # COPY and APPEND only into folders without mail waiting in new/:
    # Courser numbers what it adds before that mail, Courier after.
    target = rng.choice(["INBOX.c", "INBOX.d", "INBOX.nope"])
    if kind == "SETACL":
        rights = "".join(rng.sample(R_LETTERS, rng.randint(0, 5)))
        if rng.random() < 0.05:
            rights += rng.choice([" ", "Z"])
        rights = rng.choice(["", "+", "-", ""]) + rights
        return f'SETACL {folder} {ident} "{rights}"'
    if kind in ("DELETEACL", "LISTRIGHTS"):
        return f"{kind} {folder} {ident}"
    if kind == "STATUS":
        return f"STATUS {folder} (MESSAGES)"
    if kind == "LIST":
        return 'LIST "" *'
    if kind == "SELECT":
        # Folders that get no mail during the session (Courier tells of an
        # APPEND into the selected folder only at the next command) or
        # none at all.
        return f"SELECT {rng.choice(['INBOX', 'INBOX.a', 'INBOX.a.b', 'INBOX.nope'])}"
    if kind == "STORE":
        return f"STORE 1 {rng.choice(['+FLAGS', '-FLAGS', 'FLAGS'])} {random_flags(rng)}"
    if kind == "FETCH":
        return "FETCH 1 (FLAGS)"
    if kind in ("EXPUNGE", "CLOSE"):
        return kind
    if kind == "COPY":
        return f"COPY 1 {target}"
    if kind == "APPEND":
        return (f"APPEND {target} {random_flags(rng)} {{%d}}", MSG % rng.randint(100, 999))
    return f"{kind} {folder}"


@pytest.mark.parametrize("seed", range(8))
def test_random_acl_sessions_match_courier(tmp_path, seed):
    need(IMAPD, "courier-imap")
    rng = random.Random(seed)
    homes = {w: tmp_path / w for w in ("courier", "courser")}
    make_maildir(homes["courier"])
    shutil.copytree(homes["courier"], homes["courser"], symlinks=True)
    options = rng.choice(["", "group=staff"])
    for _ in range(3):
        commands = [random_command(rng) for _ in range(40)]
        answers = {w: session(w, h, commands, options) for w, h in homes.items()}
        compare(answers["courier"], answers["courser"])
    assert acl_files(homes["courser"] / "Maildir") == acl_files(homes["courier"] / "Maildir")
