"""Virtual shared folders (`#shared.`) against Courier's imapd.

Three accounts share one directory tree, listed in a shared index with
two groups (`a`, `b`), as Courier's own test suite sets them up (its
T001–T074). Two copies of the tree are made, one served by Debian's
`/usr/bin/imapd` and one by `courser imapd`, each with its own index
(`IMAP_SHAREDINDEXFILE`), preauthenticated as one account at a time
(`AUTHENTICATED`, `OPTIONS`), as authlib would start them.

The same scripted sessions run on both: owners grant rights with
SETACL, others LIST the `#shared` hierarchy (which folders show, and
their `\\Noselect`/`\\HasChildren`), SELECT, FETCH, STATUS, APPEND and
COPY into other accounts' folders, CREATE and RENAME there with and
without the rights, subscribe to them, and read and change their ACLs.
Every command must get the same tagged status from both, the same
untagged data, the same refusal texts where they name the rights, and
the ACL files of every maildir must end byte-identical.

Not compared: `\\Recent` and PERMANENTFLAGS; STORE in a folder whose
rights make it read-only (Courier answers OK and changes nothing,
Courser NO [READ-ONLY], as in the account's own folders); the levels
Courier's LSUB adds above subscribed names. A refusal on a folder the
session's LIST did not show selectable: Courier says "Access denied",
which tells that it exists; Courser answers as for a folder that is not
there (RFC 4314 §6, docs/acl.md), and that is what is checked.
"""

import os
import re

import pytest

from preauth import IMAPD, need
from test_acl_imap import acl_files, facts, session

ACCOUNTS = {"user0": "md0", "user1": "md1", "user2": "md2"}
MSG = b"From: %s@example.org\r\nSubject: %s\r\n\r\n%s\r\n"


def append(folder, who):
    text = MSG % (who.encode(), who.encode(), who.encode())
    return ("APPEND %s (\\Seen) {%%d}" % folder, text)


def make_tree(base):
    for md in ACCOUNTS.values():
        for sub in ("cur", "new", "tmp"):
            os.makedirs(base / md / sub, mode=0o700)
    idx = base / "idx"
    idx.mkdir()
    (idx / "index").write_text(f"user0\t1\t1\t{base}\tmd0\na\t*\tindexa\nb\t*\tindexb\n")
    # aashared's maildir does not exist: it is never listed
    (idx / "indexa").write_text(f"user1\t1\t1\t{base}\tmd1\naashared\t1\t1\t{base}\tmd5\n")
    (idx / "indexb").write_text(f"user2\t1\t1\t{base}\tmd2\n")
    (idx / "indexgroup1").write_text(f"usergroup1\t1\t1\t{base}\tmd0\n")


def run(which, base, user, commands, options="", env=None):
    env = {"IMAP_SHAREDINDEXFILE": str(base / "idx" / "index"), "IMAP_KEYWORDS": "1",
           "IMAP_BROKENUIDV": "1", **(env or {})}
    return session(which, base, commands, options=options, user=user,
                   maildir=ACCOUNTS[user], env=env)


def shared_facts(cmd, lines):
    """`facts`, with LIST attributes, and SELECT's message count and
    access mode."""
    out = facts(cmd, lines)
    if "data" not in out:
        return out
    data = [d for d in out["data"] if d[0] not in (b"LIST", b"LSUB")]
    selecting = cmd.startswith("SELECT")
    for line in lines[:-1]:
        if line.startswith((b"* LIST ", b"* LSUB ")):
            verb, rest = line[2:].split(b" ", 1)
            attrs, rest = rest[1:].split(b")", 1)
            attrs = sorted(a for a in attrs.split() if a not in (b"\\Marked", b"\\Unmarked"))
            name = rest.split(b" ", 2)[2]
            # Courier's `LIST (ACL)` data after the name
            name, _, extra = name.partition(b'" (')
            name = name.strip(b'"')
            if verb == b"LIST":
                data.append([verb, name, extra] + attrs)
                continue
            # Courier's LSUB adds every level above a subscribed name as
            # \Noselect, and leaves subscribed #shared names out of other
            # patterns (`*`); Courser lists the names the pattern matches
            # (RFC 3501 §6.3.9).
            if b"\\Noselect" in attrs or (
                    name.startswith(b"#shared") and not cmd.startswith('LSUB "" "#')):
                continue
            data.append([verb, name])
        elif line.startswith((b"* ACLFAILED", b"* RIGHTS-INFO")):
            data.append([line])
        elif selecting and line.endswith(b" EXISTS"):
            data.append([b"EXISTS", line.split()[1]])
    out["data"] = sorted(data)
    tagged = lines[-1]
    for mode in (b"[READ-ONLY]", b"[READ-WRITE]"):
        if mode in tagged:
            out["mode"] = mode
    return out


DENIED = re.compile(rb' NO Access denied for .+ on "?([^"]+?)"? \(ACL "\w+" required\)$')
NOT_THERE = re.compile(rb' NO \[(NONEXISTENT|TRYCREATE)\] ')


def selectable(lines):
    """The names LIST answered without `\\Noselect`."""
    return {m.group(2) for line in lines
            if (m := re.match(rb'\* LIST \(([^)]*)\) "." "?([^"]*)"?$', line))
            and b"\\Noselect" not in m.group(1)}


def hidden_refusal(theirs, mine, visible):
    """Courier refused a folder the user may not see, and Courser
    answered as for one that is not there."""
    m = DENIED.search(theirs[-1])
    return bool(m and m.group(1) not in visible and NOT_THERE.search(mine[-1]))


def compare(courier, ours):
    assert len(courier) == len(ours)
    diffs = []
    visible = set()
    for (cmd, theirs), (_, mine) in zip(courier, ours):
        visible |= selectable(theirs)
        if hidden_refusal(theirs, mine, visible):
            continue
        if shared_facts(cmd, theirs) != shared_facts(cmd, mine):
            diffs.append(f"{cmd}:\n  courier {theirs}\n  courser {mine}")
    assert not diffs, "\n".join(diffs)


# (user, options, extra environment, commands)
SCRIPTS = [
    ("user1", "", {}, [
        "SETACL INBOX user0 +l",
        "CREATE INBOX.a",
        "SETACL INBOX.a anyone +lr",
        append("INBOX.a", "user1"),
    ]),
    ("user2", "", {}, [
        "SETACL INBOX anyone +l",
        "CREATE INBOX.a",
        append("INBOX.a", "user2"),
    ]),
    ("user0", "", {}, [
        'LIST "" "#shared.*"',
        'list(acl) "" "#shared.*"',
        "SETACL INBOX anyone lrswipkxtecda",
        'LIST "" "#shared.%"',
        'LIST "" "*"',
        "NAMESPACE",
    ]),
    ("user2", "", {}, [
        'LIST "" "#shared.*"',
        'LIST "" "#shared.%"',
        'LIST "" "#shared.a.%"',
        'LIST "" "#shared.c.%"',
        'LIST "#shared.a." "%"',
        'LIST "" "#shared.a.user1*"',
        'SELECT "#shared.a.user1"',
        'SELECT "#shared.a.user1.a"',
        "FETCH 1:* (ENVELOPE FLAGS)",
        "MYRIGHTS #shared.a.user1.a",
        "GETACL #shared.a.user1.a",
        "STATUS #shared.a.user1 (UIDVALIDITY)",
        "STATUS #shared.a.user1.a (MESSAGES UNSEEN)",
        "COPY 1 #shared.user0",
        "COPY 1 #shared.a.user1",
        "COPY 1 INBOX.a",
        "SELECT #shared.user0",
        "FETCH 1:* (FLAGS)",
        append("#shared.user0", "user2"),
        "STORE 1 +FLAGS (\\Deleted)",
        "EXPUNGE",
        "CREATE #shared.a.user1.b",
        "CREATE #shared.c",
        "CREATE #shared.a",
        "CREATE #shared.user0.foo",
        "RENAME #shared.user0.foo #shared.user0.bar",
        'LIST "" "#shared.user0*"',
        'LIST(ACL) "" "#shared.user0*"',
        "ACL STORE #shared.a.user1.a anyone lr",
        "ACL STORE #shared.user0 anyone +c",
        "ACL STORE (#shared.*) user=user2 +l",
        "SETACL #shared.a.user1.a anyone lr",
        "GETACL #shared.user0",
        "CREATE #shared.user0.foo",
        "SETACL #shared.user0.foo anyone alr",
        "SETACL #shared.user0.bar anyone -x",
        "RENAME #shared.user0.bar #shared.user0.foo.bar",
        "SETACL #shared.user0.bar anyone +x",
        "RENAME #shared.user0.bar #shared.user0.foo.bar",
        "SETACL #shared.user0.foo anyone +c",
        "RENAME #shared.user0.bar #shared.user0.foo.bar",
        'LIST "" "#shared.user0*"',
        "RENAME INBOX.a #shared.user0.aa",
        "RENAME #shared.user0.foo INBOX.foo",
        "SUBSCRIBE #shared.user0.foo",
        "SUBSCRIBE #shared.a.user1.a",
        'LSUB "" "#shared.*"',
        "UNSUBSCRIBE #shared.a.user1.a",
        'LSUB "" "*"',
        "DELETE #shared.user0.foo.bar",
        "DELETE #shared.a.user1.a",
        'LIST "" "#shared.*"',
    ]),
    # another account of group a: user1's folder, and its own is hidden
    ("user1", "group=staff", {}, [
        'LIST "" "#shared.*"',
        "MYRIGHTS #shared.user0",
        "SELECT #shared.user0",
        "FETCH 1:* (FLAGS)",
    ]),
    # ACLs off: no shared folders at all
    ("user2", "disableshared=1", {}, [
        'LIST "" "#shared.*"',
        "SELECT #shared.user0",
    ]),
    # another universe
    ("user1", "sharedgroup=group1", {}, [
        'LIST "" "#shared.*"',
        "SELECT #shared.usergroup1",
    ]),
]

def test_shared_folders_match_courier(tmp_path):
    need(IMAPD, "courier-imap")
    bases = {w: tmp_path / w for w in ("courier", "courser")}
    for base in bases.values():
        make_tree(base)
    for user, options, env, commands in SCRIPTS:
        answers = {w: run(w, b, user, commands, options, env) for w, b in bases.items()}
        compare(answers["courier"], answers["courser"])
    for md in ACCOUNTS.values():
        assert acl_files(bases["courser"] / md) == acl_files(bases["courier"] / md), md
    # what the sessions did to the other accounts' folders is there
    for md, folder in [("md0", ".foo"), ("md0", "")]:
        for base in bases.values():
            assert (base / md / folder / "cur").is_dir()
    gone = {w: not (b / "md1" / ".a").exists() for w, b in bases.items()}
    assert gone["courser"] == gone["courier"]


# Names with `.`, `/`, `&` and non-ASCII letters in the index, shown
# with spaces or (IMAP_SHAREDMUNGENAMES) escapes. Debian's Courier 5.0.13
# encodes `&` twice here (`use&--2`); these are the names Courier's own
# test suite expects (T055-T058), which Courser must show.
MUNGED = "use&2\t1\t1\t{base}\tmd2\nuser.2\t1\t1\t{base}\tmd2\nusér/3\t1\t1\t{base}\tmd2\n"
SPACES = ["us&AOk-r 3", "use&-2", "user 2"]
ESCAPES = ["us&AOk-r\\;3", "use&-2", "user\\:2"]


def listed(lines):
    out = set()
    for line in lines[:-1]:
        if line.startswith(b"* LIST "):
            attrs, rest = line[len(b"* LIST ("):].split(b") ", 1)
            name = rest.split(b" ", 1)[1]
            out.add((name.decode(), attrs.decode()))
    return out


@pytest.mark.parametrize("escapes", [False, True])
def test_index_names_are_munged_as_courier_shows_them(tmp_path, escapes):
    make_tree(tmp_path)
    run("courser", tmp_path, "user2", ["SETACL INBOX anyone +l", "CREATE INBOX.a",
                                       "SETACL INBOX.a anyone +lr"])
    (tmp_path / "idx" / "indexb").write_text(MUNGED.format(base=tmp_path))
    names = ESCAPES if escapes else SPACES
    quoted = ['"#shared.b.%s"' % n.replace("\\", "\\\\") for n in names]
    commands = ['LIST "" "#shared.b.*"', 'LIST "" "#shared.b.%"',
                'LIST "" %s.*"' % quoted[2][:-1], 'LIST "" "#shared.b.use&-2.*"',
                'SELECT %s.a"' % quoted[0][:-1]]
    env = {"IMAP_SHAREDMUNGENAMES": "1"} if escapes else {}
    answers = run("courser", tmp_path, "user1", commands, env=env)
    children = {(q, "\\HasChildren") for q in quoted}
    below = {(q[:-1] + '.a"', "\\HasNoChildren") for q in quoted}
    assert listed(answers[0][1]) == children | below
    assert listed(answers[1][1]) == children
    assert listed(answers[2][1]) == {(quoted[2][:-1] + '.a"', "\\HasNoChildren")}
    assert listed(answers[3][1]) == {('"#shared.b.use&-2.a"', "\\HasNoChildren")}
    assert answers[4][1][-1].startswith(b"t4 OK [READ-ONLY]"), answers[4]


def group_readable(top, gid):
    """Gives group `gid` read access to everything under `top` (and a way
    through to it)."""
    for dirpath, dirnames, filenames in os.walk(top):
        os.chown(dirpath, -1, gid)
        os.chmod(dirpath, 0o750)
        for f in filenames:
            p = os.path.join(dirpath, f)
            os.chown(p, -1, gid)
            os.chmod(p, 0o640)
    os.chown(top.parent, -1, gid)
    os.chmod(top.parent, 0o750)


def sharing_server(make_server, per_user):
    """`courser serve` (in the per-user model with `per_user`, which
    needs root) with a shared index listing every account."""
    if per_user and os.getuid() != 0:
        pytest.skip("the per-user model switches uids: needs root")
    server = make_server(per_user=per_user,
                         extra_config='\n[maildir]\nshared_index = "shared/index"\n')
    (server.root / "shared").mkdir()
    (server.root / "shared" / "index").write_text(
        "".join(f"{u}\t1\t1\t{h}\n" for u, h in server.homes.items()))
    return server


@pytest.mark.parametrize("per_user", [False, True])
def test_shared_folders_through_the_server(make_server, per_user):
    """`[maildir] shared_index` through `courser serve`: bob sees and reads
    the folder alice shares. In the per-user model bob's process runs as
    bob, as Courier's does: alice's 0700 maildir stays closed to him
    (nothing listed, SELECT refused cleanly) until it is group-readable;
    changes that need write access to her files are refused, not crashed
    on."""
    server = sharing_server(make_server, per_user)
    a = server.connect("alice")
    assert a.create("INBOX.pub")[0] == "OK"
    assert a.setacl("INBOX.pub", "bob", "lrs")[0] == "OK"
    assert a.append("INBOX.pub", None, None, MSG % (b"alice", b"hello", b"body"))[0] == "OK"
    a.logout()

    raw = server.raw(login="bob")

    def cmd(text, ok=True):
        untagged, tagged = raw.cmd(text, ok=ok)
        return [u.rstrip(b"\r\n") for u in untagged], tagged

    untagged, _ = cmd("NAMESPACE")
    assert untagged == [b'* NAMESPACE (("INBOX." ".")) NIL (("#shared." "."))'], untagged
    if per_user:
        # alice's maildir is hers alone: not listed, not opened
        untagged, _ = cmd('LIST "" "#shared.*"')
        assert untagged == [], untagged
        cmd('SELECT "#shared.alice.pub"', ok="NO")
        group_readable(server.maildir("alice"), server.account_ids["bob"][1])
    untagged, _ = cmd('LIST "" "#shared.*"')
    assert sorted(untagged) == [b'* LIST (\\HasNoChildren) "." "#shared.alice.pub"',
                                b'* LIST (\\Noselect \\HasChildren) "." "#shared.alice"'], untagged
    untagged, tagged = cmd('SELECT "#shared.alice.pub"')
    assert b"* 1 EXISTS" in untagged, untagged
    # bob's process may read alice's files, not change them
    mode = b"[READ-ONLY]" if per_user else b"[READ-WRITE]"
    assert mode in tagged, tagged
    untagged, _ = cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"hello" in b"".join(untagged), untagged
    _, tagged = cmd("STORE 1 +FLAGS (\\Seen)", ok="NO" if per_user else True)
    if per_user:
        assert b"READ-ONLY" in tagged, tagged
    untagged, _ = cmd('STATUS "#shared.alice.pub" (MESSAGES)')
    assert b"MESSAGES 1" in untagged[0], untagged
    cmd("NOOP")
    cmd("LOGOUT")
    server.check_transcripts()


def test_acls_set_under_one_server_bind_the_other(tmp_path):
    """One tree, the servers taking turns: rights user1 gives under
    Courier are what Courser enforces for user2, and the reverse."""
    need(IMAPD, "courier-imap")
    make_tree(tmp_path)

    def status(answer):
        return answer[1][-1].split(b" ", 2)[1]

    def myrights(answer):
        line = next(l for l in answer[1] if l.startswith(b"* MYRIGHTS "))
        return line.rsplit(b" ", 1)[1].strip(b'"')

    run("courier", tmp_path, "user1", [
        "CREATE INBOX.a", "SETACL INBOX.a user2 lr", append("INBOX.a", "user1")])
    mine = run("courser", tmp_path, "user2", [
        'LIST "" "#shared.a.%.%"', 'SELECT "#shared.a.user1.a"', "FETCH 1 (FLAGS)",
        append("#shared.a.user1.a", "user2"), "MYRIGHTS #shared.a.user1.a"])
    assert [status(a) for a in mine] == [b"OK", b"OK", b"OK", b"NO", b"OK"], mine
    assert any(b'"#shared.a.user1.a"' in l for l in mine[0][1]), mine[0]
    assert b"[READ-ONLY]" in mine[1][1][-1], mine[1]
    assert myrights(mine[4]) == b"lr", mine[4]

    run("courser", tmp_path, "user1", ["SETACL INBOX.a user2 +i"])
    theirs = run("courier", tmp_path, "user2", [
        "MYRIGHTS #shared.a.user1.a", append("#shared.a.user1.a", "user2"),
        'SELECT "#shared.a.user1.a"'])
    assert [status(a) for a in theirs] == [b"OK", b"OK", b"OK"], theirs
    assert myrights(theirs[0]) == b"ilr", theirs[0]
    assert b"* 2 EXISTS" in theirs[2][1], theirs[2]
    again = run("courser", tmp_path, "user2", ['STATUS "#shared.a.user1.a" (MESSAGES)'])
    assert any(b"MESSAGES 2" in l for l in again[0][1]), again
