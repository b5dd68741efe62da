"""The rights matrix: for each ACL right, every IMAP command that needs
it is refused to a user without it and works for one with it, with the
folder's files unchanged by a refusal.

Two accounts, alice and bob, share one tree and a shared index (Courier's
`IMAP_SHAREDINDEXFILE`), and `courser imapd` serves one of them at a time,
preauthenticated (`AUTHENTICATED`), as authlib starts Courier's imapd.
alice's folder `INBOX.pub` holds an unseen message and a `\\Deleted` one;
its ACL gives the user under test every right (`aceilrstwx`), or every
right but one. The same table runs twice:

* bob, a sharer, on `#shared.alice.pub` (rights from `user=bob`);
* alice on her own `INBOX.pub`, the right taken by a negative entry
  (`-user=alice`; the owner always keeps `a`).

A refusal is Courier's text with NOPERM (the user still sees the
folder); flag changes without the right are left out silently (RFC 4314
§4). Then: a folder bob may not see answers every command as a name that
is not there (RFC 4314 §6), and rights the owner takes away while bob has
the folder selected apply to bob's next command, in both process models.
"""

import os
import re
from dataclasses import dataclass
from typing import Callable

import pytest

from test_acl_imap import session
from test_shared_virtual import group_readable, sharing_server

ALL = "aceilrstwx"
MSG = b"From: a@example.org\r\nSubject: matrix\r\n\r\nbody\r\n"
UNSEEN = "1000000001.M1P1.test"   # 1 in INBOX.pub
DELETED = "1000000002.M2P1.test"  # 2 in INBOX.pub, \Deleted
MINE = "1000000003.M3P1.test"     # 1 in each INBOX, \Seen \Flagged \Deleted
DELIVERED = "1000000009.M9P1.test"


def maildir(base, md, folders):
    for f in [""] + ["." + f for f in folders]:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(base / md / f / sub, exist_ok=True)
        if f:
            (base / md / f / "maildirfolder").touch()
    (base / md / "cur" / f"{MINE}:2,DFST").write_bytes(MSG)


def make_tree(base, pub_acl, secret_acl=""):
    """alice (`mda`) with INBOX.pub (ACL `pub_acl` after the owner's
    entries), INBOX.other (bob may do anything there) and INBOX.secret,
    bob (`mdb`), and the shared index listing both."""
    maildir(base, "mda", ["pub", "other", "secret"])
    maildir(base, "mdb", [])
    pub = base / "mda" / ".pub"
    (pub / "cur" / f"{UNSEEN}:2,").write_bytes(MSG)
    (pub / "cur" / f"{DELETED}:2,T").write_bytes(MSG)
    head = "owner aceilrstwx\nadministrators aceilrstwx\nuser=carol lr\n"
    for folder, acl in [("pub", pub_acl), ("other", f"user=bob {ALL}\n"),
                        ("secret", secret_acl)]:
        (base / "mda" / f".{folder}" / "courierimapacl").write_text(head + acl)
    idx = base / "idx"
    idx.mkdir()
    (idx / "index").write_text(f"alice\t1\t1\t{base}\tmda\nbob\t1\t1\t{base}\tmdb\n")


def run(base, user, commands):
    md = {"alice": "mda", "bob": "mdb"}[user]
    env = {"IMAP_SHAREDINDEXFILE": str(base / "idx" / "index"), "IMAP_KEYWORDS": "1"}
    answers = session("courser", base, commands, user=user, maildir=md, env=env)
    # (without the greeting read with the first answer)
    return [(cmd, [line for line in lines if not line.startswith(b"* PREAUTH ")])
            for cmd, lines in answers]


def files(base):
    """What a refusal must leave alone: the folders, the messages (names
    and flags), ACLs, keywords and subscriptions of both accounts."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        rel = os.path.relpath(dirpath, base)
        if rel.split(os.sep)[0] not in ("mda", "mdb"):
            continue
        out[rel] = "dir"
        for n in filenames:
            path = os.path.join(rel, n)
            leaf = os.path.basename(rel)
            if leaf in ("cur", "new", "tmp"):
                out[path] = "message"
            elif n in ("courierimapacl", "courierimapsubscribed") or leaf in (
                    "courierimaphieracl", "courierimapkeywords"):
                out[path] = open(os.path.join(base, path), "rb").read()
    return out


def pub_messages(snap):
    """{base name: flags} of the messages in alice's INBOX.pub."""
    out = {}
    for path in snap:
        parts = path.split(os.sep)
        if parts[:2] == ["mda", ".pub"] and len(parts) == 4 and parts[2] in ("cur", "new"):
            name, _, flags = parts[3].partition(":2,")
            out[name] = flags
    return out


# What a command did, from the files after it and the lines it answered.
def flag(letter, name=UNSEEN):
    return lambda snap, lines: letter in pub_messages(snap).get(name, "")


def appended(letter=""):
    """A message came into INBOX.pub (with flag `letter`, if given)."""
    def done(snap, lines):
        new = {n: f for n, f in pub_messages(snap).items() if n not in (UNSEEN, DELETED)}
        return bool(new) and all(letter in f for f in new.values())
    return done


def gone(name=DELETED):
    return lambda snap, lines: name not in pub_messages(snap)


def exists(folder):
    return lambda snap, lines: os.path.join("mda", folder) in snap


def missing(folder):
    return lambda snap, lines: os.path.join("mda", folder) not in snap


def acl_has(text):
    return lambda snap, lines: text in snap.get(os.path.join("mda", ".pub", "courierimapacl"),
                                                b"").decode()


def keyword(word):
    return lambda snap, lines: any(
        isinstance(v, bytes) and word.encode() in v
        for k, v in snap.items() if "courierimapkeywords" in k)


def answered(pattern):
    return lambda snap, lines: any(re.search(pattern.encode(), line) for line in lines)


def ok(snap, lines):
    return lines[-1].split(b" ")[1] == b"OK"


def listed(snap, lines):
    return any(re.match(rb'\* L(IST|SUB) .*"?(#shared\.alice|INBOX)\.pub"?( \(.*)?$', line)
               for line in lines)


@dataclass
class Case:
    right: str
    command: object  # a command, or (APPEND with %d, its message)
    done: Callable
    # the refusal's verb and folder ("" for a command refused silently)
    verb: str = ""
    on: str = "{F}"
    before: tuple = ()
    # also run for the owner (who always has `a`)
    owner: bool = True
    # refused silently, the command still adds a message (without the flag)
    adds: bool = False


def append(flags=""):
    return ("APPEND {F} " + (flags + " " if flags else "") + "{{%d}}", MSG)


CASES = [
    Case("l", 'LIST "" {P}', listed),
    Case("l", 'LSUB "" {P}', listed, before=("SUBSCRIBE {F}",)),
    Case("l", 'LIST (MYRIGHTS) "" {P}', listed),
    Case("r", "SELECT {F}", ok, "SELECT/EXAMINE"),
    Case("r", "EXAMINE {F}", ok, "SELECT/EXAMINE"),
    Case("r", "STATUS {F} (MESSAGES UNSEEN)", answered(r"^\* STATUS "), "STATUS"),
    Case("s", "FETCH 1 (BODY[])", flag("S"), before=("SELECT {F}",)),
    Case("s", "UID FETCH 1:* (RFC822.TEXT)", flag("S"), before=("SELECT {F}",)),
    Case("s", "STORE 1 +FLAGS (\\Seen)", flag("S"), before=("SELECT {F}",)),
    Case("s", append("(\\Seen)"), appended("S"), adds=True),
    Case("s", "COPY 1 {F}", appended("S"), before=("SELECT {H}",), adds=True),
    Case("w", "STORE 1 +FLAGS (\\Flagged)", flag("F"), before=("SELECT {F}",)),
    Case("w", "STORE 1 +FLAGS ($Work)", keyword("$Work"), before=("SELECT {F}",)),
    Case("w", "STORE 1 FLAGS (\\Answered \\Draft)", flag("R"), before=("SELECT {F}",)),
    Case("w", append("(\\Flagged)"), appended("F"), adds=True),
    Case("w", "COPY 1 {F}", appended("F"), before=("SELECT {H}",), adds=True),
    Case("t", "STORE 1 +FLAGS (\\Deleted)", flag("T"), before=("SELECT {F}",)),
    Case("t", "UID STORE 2 -FLAGS.SILENT (\\Deleted)", lambda s, l: not flag("T", DELETED)(s, l),
         before=("SELECT {F}",)),
    Case("t", append("(\\Deleted)"), appended("T"), adds=True),
    Case("t", "COPY 1 {F}", appended("T"), before=("SELECT {H}",), adds=True),
    Case("t", "MOVE 2 {H}", gone(), "MOVE", "current mailbox", ("SELECT {F}",)),
    Case("i", append(), appended(), "APPEND"),
    Case("i", "COPY 1 {F}", appended(), "COPY", before=("SELECT {H}",)),
    Case("i", "UID COPY 1:* {F}", appended(), "UID COPY", before=("SELECT {H}",)),
    Case("i", "MOVE 1 {F}", appended(), "MOVE", before=("SELECT {H}",)),
    Case("c", "CREATE {F}.new", exists(".pub.new"), "CREATE"),
    Case("c", "RENAME {O} {F}.moved", exists(".pub.moved"), "RENAME"),
    Case("x", "DELETE {F}", missing(".pub"), "DELETE"),
    Case("x", "RENAME {F} {O}.moved", exists(".other.moved"), "RENAME"),
    Case("e", "EXPUNGE", gone(), "EXPUNGE", "current mailbox", ("SELECT {F}",)),
    Case("e", "UID EXPUNGE 1:*", gone(), "UID EXPUNGE", "current mailbox", ("SELECT {F}",)),
    Case("e", "CLOSE", gone(), before=("SELECT {F}",)),
    Case("e", "MOVE 2 {H}", gone(), "MOVE", "current mailbox", ("SELECT {F}",)),
    Case("a", "GETACL {F}", answered(r"^\* ACL "), "GETACL", owner=False),
    Case("a", "SETACL {F} dave lr", acl_has("user=dave lr"), "SETACL", owner=False),
    Case("a", "DELETEACL {F} carol", lambda s, l: not acl_has("carol")(s, l), "DELETEACL",
         owner=False),
    Case("a", "ACL STORE {F} user=carol +w", acl_has("user=carol lrw"), owner=False),
    Case("a", "ACL DELETE {F} user=carol", lambda s, l: not acl_has("carol")(s, l),
         owner=False),
]

def negative(identifier, held):
    """The negative entry that takes from `identifier` what `held` lacks."""
    taken = "".join(r for r in ALL if r not in held)
    return f"-{identifier} {taken}\n" if taken else ""


# Who is tested where: the names the commands use, and the ACL entry
# that leaves them the rights `held` on INBOX.pub.
SHARER = dict(user="bob", F="#shared.alice.pub", O="#shared.alice.other", H="INBOX",
              P='"#shared.alice.*"', entry=lambda held: f"user=bob {held}\n")
OWNER = dict(user="alice", F="INBOX.pub", O="INBOX.other", H="INBOX", P='"*"',
             entry=lambda held: negative("user=alice", held))


def fill(cmd, who):
    if isinstance(cmd, tuple):
        return (fill(cmd[0], who), cmd[1])
    return cmd.format(F=who["F"], O=who["O"], H=who["H"], P=who["P"])


def attempt(tmp_path, who, case, held):
    """Runs `case` as `who["user"]` holding rights `held` on INBOX.pub;
    returns (lines answered, files before, files after)."""
    base = tmp_path / f"{who['user']}-{len(list(tmp_path.iterdir()))}"
    base.mkdir()
    make_tree(base, who["entry"](held))
    snaps = []
    commands = [fill(c, who) for c in case.before]
    commands += [lambda: snaps.append(files(base)), fill(case.command, who),
                 lambda: snaps.append(files(base))]
    answers = run(base, who["user"], commands)
    for cmd, lines in answers[:-1]:
        assert lines[-1].split(b" ")[1] == b"OK", (case, cmd, lines)
    return answers[-1][1], snaps[0], snaps[1]


def ids(case):
    cmd = case.command[0] if isinstance(case.command, tuple) else case.command
    return f"{case.right}:{cmd.replace(' {{%d}}', '')}"


# (the owner always has `a`: its rows are only the others)
PAIRS = [(who, case) for who in (SHARER, OWNER) for case in CASES
         if who is SHARER or case.owner]


@pytest.mark.parametrize(
    "who,case", PAIRS,
    ids=[f"{'sharer' if w is SHARER else 'owner'}-{ids(c)}" for w, c in PAIRS])
def test_a_right_is_needed_and_enough(tmp_path, who, case):
    lines, before, after = attempt(tmp_path, who, case, ALL)
    assert case.done(after, lines), ("with all rights", lines)
    assert lines[-1].split(b" ")[1] == b"OK", lines
    without = "".join(r for r in ALL if r != case.right)
    lines, before, after = attempt(tmp_path, who, case, without)
    assert not case.done(after, lines), (f"without {case.right}", lines)
    if case.adds:
        assert appended()(after, lines), lines
    else:
        assert after == before, "a refusal changed files"
    tagged = lines[-1].split(b" ", 1)[1].decode()
    if case.verb:
        on = fill(case.on, who)
        want = f'NO [NOPERM] Access denied for {case.verb} on {on} (ACL "{case.right}" required)'
        assert tagged == want, lines
    else:
        assert tagged.startswith("OK "), lines


def test_listrights_and_myrights_need_any_right_that_shows_the_folder(tmp_path):
    """Not `a` (Courier's rule; RFC 4314 asks `a` of LISTRIGHTS)."""
    base = tmp_path / "t"
    base.mkdir()
    make_tree(base, "user=bob lr\n")
    answers = run(base, "bob", ["MYRIGHTS #shared.alice.pub",
                                "LISTRIGHTS #shared.alice.pub carol"])
    assert answers[0][1] == [b'* MYRIGHTS "#shared.alice.pub" lr', b"t0 OK MYRIGHTS completed."]
    assert answers[1][1][-1] == b"t1 OK LISTRIGHTS completed."


# --------------------------------------------------------------------------
# A folder bob may not see is, to him, a folder that is not there.

# Every command naming folder X, in an order where a permitted one does
# not change what the next ones see (INBOX selected for COPY and MOVE).
NAMING = [
    "SELECT INBOX", "COPY 1 {X}", "UID COPY 1 {X}", "MOVE 1 {X}",
    ("APPEND {X} (\\Seen) {{%d}}", MSG), "STATUS {X} (MESSAGES)", "GETQUOTAROOT {X}",
    "GETACL {X}", "MYRIGHTS {X}", "LISTRIGHTS {X} bob", "SETACL {X} bob lr",
    "SETACL {X} group=x r", "DELETEACL {X} carol", "ACL STORE {X} anyone +l",
    "ACL SET {X} anyone l", "ACL DELETE {X} user=carol",
    "ACL STORE (#shared.alice.*) user=dave +l", 'LIST "" {X}', 'LIST "" {X}*',
    'LIST "" "#shared.alice.*"', 'LIST "" "#shared.alice.%"',
    'LIST (ACL MYRIGHTS) "" "#shared.*"', "SUBSCRIBE {X}", 'LSUB "" "#shared.*"',
    "UNSUBSCRIBE {X}", 'LSUB "" "*"', "CREATE {X}", "CREATE {X}.sub",
    "RENAME #shared.alice.other {X}.sub", "RENAME {X} #shared.alice.other.x", "DELETE {X}",
    "EXAMINE {X}", "SELECT {X}", "NOOP",
]
HIDDEN, NOWHERE = "#shared.alice.secret", "#shared.alice.nosuch"
# bob's rights on it (none of them `l`), and the commands they allow
WITHOUT_L = {
    "": [],
    "pstw": [],
    # (any right but s, t, w shows the folder to MYRIGHTS, as RFC 4314 says)
    "i": ["COPY 1 {X}", "UID COPY 1 {X}", "MOVE 1 {X}", "APPEND {X}", "GETQUOTAROOT {X}",
          "MYRIGHTS {X}", "LISTRIGHTS {X}"],
    "r": ["STATUS {X}", "GETQUOTAROOT {X}", "MYRIGHTS {X}", "LISTRIGHTS {X}", "EXAMINE {X}",
          "SELECT {X}"],
}


def naming(folder):
    return [(cmd[0].format(X=folder), cmd[1]) if isinstance(cmd, tuple) else cmd.format(X=folder)
            for cmd in NAMING]


@pytest.mark.parametrize("held", sorted(WITHOUT_L), ids=lambda r: r or "none")
def test_a_folder_bob_may_not_see_is_not_there(tmp_path, held):
    bases = {f: tmp_path / f.rsplit(".", 1)[1] for f in (HIDDEN, NOWHERE)}
    for base in bases.values():
        base.mkdir()
        make_tree(base, "user=bob lr\n", secret_acl=f"user=bob {held}\n" if held else "")
    secret = {f: files(bases[f] / "mda" / ".secret") for f in bases}
    answers = {f: run(base, "bob", naming(f)) for f, base in bases.items()}
    allowed = WITHOUT_L[held]
    for (cmd, seen), (_, nowhere) in zip(answers[HIDDEN], answers[NOWHERE]):
        template = cmd.replace(HIDDEN, "{X}")
        if any(template.startswith(a) for a in allowed):
            assert seen[-1].split(b" ")[1] == b"OK", (cmd, seen)
            continue
        # (UIDVALIDITY is the clock's when a folder is first opened)
        same = [re.sub(rb"UIDVALIDITY \d+", b"UIDVALIDITY n", line) for line in nowhere]
        shown = [re.sub(rb"UIDVALIDITY \d+", b"UIDVALIDITY n",
                        line.replace(HIDDEN.encode(), NOWHERE.encode())) for line in seen]
        assert shown == same, f"{template}:\n  hidden  {seen}\n  missing {nowhere}"
    # nothing done to the hidden folder, nothing made for the missing one
    if not allowed:
        assert files(bases[HIDDEN] / "mda" / ".secret") == secret[HIDDEN]
    assert not (bases[NOWHERE] / "mda" / ".nosuch").exists()
    assert not (bases[NOWHERE] / "mda" / ".secret.sub").exists()


# --------------------------------------------------------------------------
# Rights taken away while bob has the folder selected


def test_rights_taken_away_apply_to_the_next_command(tmp_path):
    make_tree(tmp_path, f"user=bob {ALL}\n")
    pub = tmp_path / "mda" / ".pub"

    def owner(change):
        def act():
            (answer,) = run(tmp_path, "alice", [f"SETACL INBOX.pub bob {change}"])
            assert answer[1][-1].endswith(b"OK ACLs updated."), answer
        return act

    def deliver():
        (pub / "new" / DELIVERED).write_bytes(MSG)

    f = "#shared.alice.pub"
    answers = run(tmp_path, "bob", [
        f"SELECT {f}",
        owner("-s"), "FETCH 1 (BODY[])", "STORE 1 +FLAGS (\\Seen)",
        owner("-wt"), "STORE 1 +FLAGS (\\Flagged \\Deleted $Work)",
        owner("-i"), ("APPEND %s {%%d}" % f, MSG), f"COPY 1 {f}",
        owner("-e"), "EXPUNGE", "CLOSE", f"SELECT {f}",
        owner("-r"), deliver, "FETCH 1 (FLAGS)", "NOOP", "SEARCH ALL",
        owner("-l"), "NOOP", f"STATUS {f} (MESSAGES)", "CLOSE",
    ])
    # the answers, by the command's place in the list above (actions aside)
    lines = dict(enumerate(ans for _, ans in answers))

    def announced(n, rights):
        assert f'* OK [MYRIGHTS "{rights}"] ACL'.encode() in lines[n], (n, lines[n])

    def tagged(n):
        return lines[n][-1].split(b" ", 1)[1].decode()

    def denied(n, verb, right, on="current mailbox"):
        want = f'NO [NOPERM] Access denied for {verb} on {on} (ACL "{right}" required)'
        assert tagged(n) == want, lines[n]

    assert tagged(0).startswith("OK [READ-WRITE]")
    announced(1, "acdilrw")
    announced(3, "aceilrx")
    announced(4, "acelrx")
    denied(4, "APPEND", "i", f)
    denied(5, "COPY", "i", f)
    announced(6, "aclrx")
    denied(6, "EXPUNGE", "e")
    assert tagged(8).startswith("OK [READ-ONLY]"), "no right left to change anything"
    # nothing was marked, added or expunged: both messages as they were,
    # and the one delivered
    assert pub_messages(files(tmp_path)) == {UNSEEN: "", DELETED: "T", DELIVERED: ""}
    announced(9, "aclx")
    denied(9, "FETCH", "r")
    denied(11, "SEARCH", "r")
    # the message delivered meanwhile is not told of
    assert not any(b"EXISTS" in line for line in lines[10]), lines[10]
    # without `l` and `r`: not there, but the session may still leave it
    announced(12, "acx")
    assert tagged(13) == "NO [NONEXISTENT] No such mailbox"
    assert tagged(14) == "OK CLOSE completed"


@pytest.mark.parametrize("per_user", [False, True], ids=["shared", "per-user"])
def test_rights_taken_away_through_the_server(make_server, per_user):
    """`courser serve`: alice changes the ACL in her session while bob's
    has her folder selected; in the per-user model bob's process runs as
    bob and reads alice's (group-readable) files, the ACL she rewrites
    included."""
    server = sharing_server(make_server, per_user)
    alice = server.raw(login="alice")
    alice.cmd("CREATE INBOX.pub", ok=True)
    alice.cmd("SETACL INBOX.pub bob lrs", ok=True)
    alice.send(b"a1 APPEND INBOX.pub {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
    assert alice.until("a1")[1].startswith(b"a1 OK"), "APPEND"
    if per_user:
        group_readable(server.maildir("alice"), server.account_ids["bob"][1])
    bob = server.raw(login="bob")
    f = "#shared.alice.pub"
    _, tagged = bob.cmd(f'SELECT "{f}"', ok=True)
    untagged, _ = bob.cmd("FETCH 1 (FLAGS)", ok=True)
    assert b"* 1 FETCH" in b"".join(untagged), untagged

    alice.cmd("SETACL INBOX.pub bob l", ok=True)
    untagged, tagged = bob.cmd("FETCH 1 (FLAGS)", ok="NO")
    assert untagged[0] == b'* OK [MYRIGHTS "l"] ACL\r\n', untagged
    assert b'Access denied for FETCH on current mailbox (ACL "r" required)' in tagged
    untagged, _ = bob.cmd(f'LIST "" "{f}"', ok=True)
    assert untagged == [b'* LIST (\\HasNoChildren) "." "#shared.alice.pub"\r\n'], untagged

    alice.cmd("DELETEACL INBOX.pub bob", ok=True)
    untagged, _ = bob.cmd("NOOP", ok=True)
    assert untagged == [b'* OK [MYRIGHTS ""] ACL\r\n'], untagged
    _, tagged = bob.cmd(f'STATUS "{f}" (MESSAGES)', ok="NO")
    assert tagged.endswith(b"NO [NONEXISTENT] No such mailbox\r\n"), tagged
    bob.cmd("CLOSE", ok=True)
    untagged, _ = bob.cmd(f'LIST "" "#shared.*"', ok=True)
    assert untagged == [], untagged
    for c in (alice, bob):
        c.cmd("LOGOUT")
        c.close()


@pytest.mark.parametrize("per_user", [False, True], ids=["shared", "per-user"])
def test_an_inherited_acl_serves_a_sharer_who_may_not_store_it(make_server, per_user):
    """A folder without its own ACL file has its parent's, whose copy the
    first reader stores. bob's process in the per-user model may read
    alice's group-readable maildir but not write it: he gets the
    inherited rights all the same (the folder is listed and opens), and
    CREATE below a folder hidden from him and below a name that is not
    there are refused alike."""
    server = sharing_server(make_server, per_user)
    alice = server.raw(login="alice")
    alice.cmd("SETACL INBOX bob lr", ok=True)
    alice.cmd("CREATE INBOX.secret", ok=True)
    alice.cmd('SETACL INBOX.secret bob ""', ok=True)
    md = server.maildir("alice")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(md / ".plain" / sub)
    server.chown()
    if per_user:
        group_readable(md, server.account_ids["bob"][1])
    bob = server.raw(login="bob")
    untagged, _ = bob.cmd('LIST "" "#shared.alice.*"', ok=True)
    assert untagged == [b'* LIST (\\HasNoChildren) "." "#shared.alice.plain"\r\n'], untagged
    untagged, tagged = bob.cmd('SELECT "#shared.alice.plain"', ok=True)
    assert b'* OK [MYRIGHTS "lr"] ACL\r\n' in untagged, untagged
    denied = [bob.cmd(f'CREATE "#shared.alice.{f}.sub"', ok="NO")[1].split(b" ", 1)[1]
              for f in ("secret", "nosuch")]
    assert denied[0].replace(b"secret", b"nosuch") == denied[1], denied
    assert not (md / ".secret.sub").exists() and not (md / ".nosuch.sub").exists()
    for c in (alice, bob):
        c.cmd("LOGOUT")
        c.close()
