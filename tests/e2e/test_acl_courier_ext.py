"""Courier's own ACL command (`ACL STORE|SET|DELETE`) and `LIST (ACL
MYRIGHTS POSTADDRESS)`, against Courier's imapd.

The same session runs on two copies of one maildir, Debian's
`/usr/bin/imapd` on one and `courser imapd` on the other: entries added,
replaced and taken away with `+`/`-`, whole lists set, entries deleted,
on one folder and on the folders patterns match; changes the
minimum-rights rule refuses (`* RIGHTS-INFO`), folders without `a` and
bad identifiers (`* ACLFAILED`); and LIST with the ACL, MYRIGHTS and
POSTADDRESS data. Every command must get the same tagged status, the
same ACLFAILED/RIGHTS-INFO lines and the same LIST lines (CHILDREN
attributes and data included; Courier's `\\Marked`/`\\Unmarked` on INBOX
aside), and the ACL files must end byte-identical.

Where Courser differs: a malformed ACL command gets BAD (Courier a
tagged `ACL FAILED: Invalid argument`), and an unknown LIST option
(`LIST (BOGUS)`) BAD where Courier ignores it: a client sending RFC
5258's selection options to a server without LIST-EXTENDED must not get
every folder back as if they were met.
"""

import re
import shutil

from preauth import IMAPD, need
from test_acl_imap import acl_files, make_maildir, session

COMMANDS = [
    # Reading a folder's ACL stores the copy it inherits: both servers
    # read every one here, so that later changes of INBOX's stay there.
    'LIST "" "*"',
    "ACL STORE INBOX user=user0 +l",
    "CREATE INBOX.e",
    "ACL STORE INBOX.e anyone +lr",
    'LIST (ACL) "" INBOX',
    'LIST (ACL MYRIGHTS POSTADDRESS) "" "INBOX.*"',
    'list(acl) "" "%"',
    'LIST (MYRIGHTS) "" "INBOX.%"',
    "ACL STORE INBOX user=fred lr",
    "ACL STORE INBOX -user=john lr",
    "ACL STORE INBOX -authuser lr",
    "GETACL INBOX",
    "ACL STORE (INBOX INBOX.a*) user=fred +c",
    "ACL STORE INBOX.e user=fred d",
    "ACL SET INBOX.e owner acdilrsw anyone lr user=bob lrsw",
    "ACL DELETE INBOX.e anyone",
    "ACL STORE INBOX owner -a",
    "ACL STORE INBOX -owner l",
    "ACL SET INBOX.e anyone lr",
    "ACL STORE INBOX.nope anyone l",
    'ACL STORE INBOX "bad id" r',
    "ACL STORE INBOX anyone +q",
    "ACL STORE INBOX.d owner -a",
    "ACL DELETE (INBOX.c INBOX.d) user=fred",
    "ACL FOO INBOX x",
    "ACL STORE",
    'LIST (ACL) "" "*"',
]

LIST_LINE = re.compile(rb"^\* LIST \(([^)]*)\) (.*)$")


def shown(lines):
    """What must be equal: the tagged status, the ACLFAILED/RIGHTS-INFO
    lines and the LIST lines (sorted)."""
    tagged = lines[-1].split(b" ", 2)[1]
    data = []
    for line in lines[:-1]:
        if m := LIST_LINE.match(line):
            attrs = b" ".join(a for a in m.group(1).split()
                              if a not in (b"\\Marked", b"\\Unmarked"))
            data.append(b"* LIST (" + attrs + b") " + m.group(2))
        elif line.startswith((b"* ACLFAILED", b"* RIGHTS-INFO")):
            data.append(line)
    # Courier answers a malformed ACL command "tag ACL FAILED: ...",
    # Courser BAD.
    if tagged == b"ACL":
        tagged = b"BAD"
    return tagged, sorted(data)


def test_courier_acl_command_matches_courier(tmp_path):
    need(IMAPD, "courier-imap")
    homes = {w: tmp_path / w for w in ("courier", "courser")}
    make_maildir(homes["courier"])
    shutil.copytree(homes["courier"], homes["courser"], symlinks=True)
    answers = {w: session(w, h, COMMANDS) for w, h in homes.items()}
    diffs = []
    for (cmd, theirs), (_, mine) in zip(answers["courier"], answers["courser"]):
        if shown(theirs) != shown(mine):
            diffs.append(f"{cmd}:\n  courier {theirs}\n  courser {mine}")
    assert not diffs, "\n".join(diffs)
    mine = acl_files(homes["courser"] / "Maildir")
    assert mine == acl_files(homes["courier"] / "Maildir")
    assert len(mine) >= 3, mine
