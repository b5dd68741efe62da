"""SORT and THREAD (RFC 5256, RFC 5957): Courser's answers beside
Dovecot's and Courier-IMAP's on the same adversarial folder, and through
Python's imaplib against the running server.

The folder is generated here: nested Re/Fwd/[list] subjects, "(fwd)"
trailers and "[Fwd: …]" wrappers, encoded words in several charsets,
missing and malformed dates, equal keys, duplicate and missing
Message-IDs, References loops, missing parents, In-Reply-To only,
group addresses and encoded display names. Each server gets its own copy
with the same file names and modification times.

Courser must answer as Dovecot does, except where `DOVECOT_DIFFERS` says
why not. Courier's answers are printed beside them for the record (it
follows the RFC less closely: `COURIER_NOTES`).
"""

import imaplib
import os
import random
import re
import shutil
import tempfile
from pathlib import Path

import pytest

import test_differential as diff
from conftest import serving_ids

START = 1_700_000_000

SUBJECTS = [
    "Re: [list] plans",
    "plans",
    "Fwd: Re: plans",
    "[list] Re: [other] plans (fwd)",
    "[Fwd: plans]",
    "=?UTF-8?Q?caf=C3=A9_menu?=",
    "Re: =?ISO-8859-1?Q?caf=E9?= menu",
    "=?KOI8-R?B?8NLJ18XU?=",
    "",
    None,
    "RE: FW: plans",
    "re:plans",
    "[list]",
    "Re: [list]",
    "  spaced\t  out  ",
    "Zebra",
    "apple",
    "Apple",
    "[Fwd: [Fwd: deep]]",
    "Re [3]: counted",
]

DATES = [
    "Mon, 2 Jun 2025 10:00:00 +0200",
    "Mon, 2 Jun 2025 08:00:00 +0000",  # the same instant as the one before
    "2 Jun 2025 09:00 -0100",
    None,
    "not a date at all",
    "Tue, 3 Jun 2025 23:59:59 -1200",
    "Wed, 4 Jun 2025 00:00:00 +1400",
    # Not the epoch itself: Dovecot takes a Date: of 1 Jan 1970 00:00 UTC
    # for a missing one (time 0) and sorts it by INTERNALDATE; Courser
    # sorts it as written, as RFC 5256 §2.2 says.
    "Thu, 1 Jan 1970 00:00:01 +0000",
    "Fri, 31 Dec 2049 23:59:59 +0000",
    "Sat, 7 Jun 2025 12:00:00 GMT",
]

FROMS = [
    "Ann <ann@example.org>",
    "=?UTF-8?Q?=C3=89mile?= <emile@example.org>",
    "bob@example.org",
    "undisclosed-recipients:;",
    None,
    '"Zed, Z." <zed@example.org>',
    "Carol <carol@example.org>, dave@example.org",
    "<noname@example.org>",
]


def message(i):
    """The i-th generated message, its id scheme designed to exercise
    REFERENCES: chains, a loop, duplicates, missing parents."""
    h = []
    subject = SUBJECTS[i % len(SUBJECTS)]
    if subject is not None:
        h.append(f"Subject: {subject}")
    date = DATES[(i * 7) % len(DATES)]
    if date is not None:
        h.append(f"Date: {date}")
    frm = FROMS[(i * 3) % len(FROMS)]
    if frm is not None:
        h.append(f"From: {frm}")
    h.append(f"To: {FROMS[(i * 5 + 1) % len(FROMS)] or 'x@example.org'}")
    if i % 4 == 0:
        h.append(f"Cc: {FROMS[(i + 2) % len(FROMS)] or 'y@example.org'}")
    if i % 9 != 5:  # some have none
        # Every 11th repeats an earlier id.
        mid = i - 3 if i % 11 == 10 else i
        h.append(f"Message-ID: <m{mid}@example.org>")
    kind = i % 6
    if kind == 1 and i > 1:
        h.append(f"References: <m{i - 1}@example.org>")
    elif kind == 2 and i > 2:
        h.append(f"References: <m{i - 2}@example.org> <m{i - 1}@example.org>")
    elif kind == 3:
        # A parent that is not in the folder, and a loop partner.
        h.append(f"References: <absent{i // 12}@example.org> <m{i + 1}@example.org>")
    elif kind == 4:
        h.append(f"In-Reply-To: <m{i - 1}@example.org> (a comment) <m{i - 2}@example.org>")
    elif kind == 5:
        h.append(f"References: garbage <m{i - 5}@example.org")
        h.append(f"In-Reply-To: <m{i - 3}@example.org>")
    body = "x" * ((i * 37) % 500) + "\r\n"
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


MESSAGES = [message(i) for i in range(60)]

SORTS = [
    "ARRIVAL",
    "CC",
    "DATE",
    "FROM",
    "SIZE",
    "SUBJECT",
    "TO",
    "REVERSE DATE",
    "REVERSE SUBJECT",
    "SUBJECT DATE",
    "REVERSE FROM REVERSE SIZE",
    "DISPLAYFROM",
    "DISPLAYTO",
]

THREADS = ["REFERENCES", "ORDEREDSUBJECT"]

# Where Courser answers differently from Dovecot, and why.
DOVECOT_DIFFERS = {}

# Seen in Courier-IMAP 5.0 (Debian) on this folder; the RFC is followed,
# as Dovecot does, and no client is known to depend on Courier's way.
COURIER_NOTES = (
    "Courier breaks ties between equal keys by descending sequence number "
    "(RFC 5256 §3: ascending), has no SORT=DISPLAY (NO), and answers "
    "ORDEREDSUBJECT threads as one chain (a b c) where §3 makes the later "
    "messages children of the first (a (b)(c))"
)


def commands():
    cmds = [b"a SELECT INBOX\r\n"]
    for n, key in enumerate(SORTS):
        cmds.append(f"s{n} SORT ({key}) UTF-8 ALL\r\n".encode())
    for n, alg in enumerate(THREADS):
        cmds.append(f"t{n} THREAD {alg} UTF-8 ALL\r\n".encode())
    # `b` is the tag run_session checks.
    cmds.append(b"b UID SORT (DATE) UTF-8 1:30\r\n")
    cmds.append(b"c LOGOUT\r\n")
    return cmds


def write_folder(home, uid, gid):
    md = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    for i, data in enumerate(MESSAGES):
        f = md / "cur" / f"{START + i}.M{i}P1.courser-sort:2,"
        f.write_bytes(data)
        # Same INTERNALDATE everywhere, some equal on purpose.
        t = START + (i // 3) * 60
        os.utime(f, (t, t))
    if os.getuid() == 0:
        for dirpath, _, files in os.walk(home):
            os.chown(dirpath, uid, gid)
            for name in files:
                os.chown(os.path.join(dirpath, name), uid, gid)


def answers_of(raw):
    """`{tag: "SORT 1 2 …" or "THREAD (…)…"}` from a transcript."""
    text = raw.decode("utf-8", "replace")
    out = {}
    pending = None
    for line in text.split("\r\n"):
        m = re.match(r"\* (SORT|THREAD)(.*)$", line)
        if m:
            pending = (m.group(1) + m.group(2)).strip()
            continue
        m = re.match(r"([st]\d+|b) (OK|NO|BAD)", line)
        if m:
            out[m.group(1)] = pending if m.group(2) == "OK" else line
            pending = None
    return out


@pytest.fixture(scope="module")
def answers():
    tmp = Path(tempfile.mkdtemp(prefix="courser-sort-"))
    try:
        uid, gid = serving_ids()
        if os.getuid() == 0:
            os.chmod(tmp, 0o755)
        got = {}
        for name, run in (("courser", diff.courser), ("dovecot", diff.dovecot),
                          ("courier", diff.courier)):
            home = tmp / name
            home.mkdir()
            write_folder(home, uid, gid)
            got[name] = answers_of(run(home, uid, gid, commands()))
        yield got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_sort_and_thread_answer_as_dovecot_does(answers):
    ours, dovecot, courier = answers["courser"], answers["dovecot"], answers["courier"]
    labels = {f"s{n}": f"SORT ({k})" for n, k in enumerate(SORTS)}
    labels.update({f"t{n}": f"THREAD {a}" for n, a in enumerate(THREADS)})
    labels["b"] = "UID SORT (DATE) 1:30"
    unexplained = []
    for tag, label in labels.items():
        assert ours.get(tag, "").startswith(("SORT", "THREAD")), (label, ours.get(tag))
        if ours[tag] != courier.get(tag):
            print(f"  courier differs on {label}: {COURIER_NOTES}")
        if ours[tag] == dovecot.get(tag):
            continue
        if label in DOVECOT_DIFFERS:
            print(f"  dovecot differs on {label}: {DOVECOT_DIFFERS[label]}")
            continue
        unexplained.append(f"{label}:\n  courser {ours[tag]}\n  dovecot {dovecot.get(tag)}")
    assert not unexplained, "\n".join(unexplained)


def test_imaplib_sort_and_thread(server):
    """A real client's calls through the running server."""
    m = server.connect()
    for i, data in enumerate(MESSAGES[:12]):
        m.append("INBOX", None, imaplib.Time2Internaldate(START + i * 60), data)
    m.select("INBOX")
    typ, caps = m.capability()
    assert b"THREAD=REFERENCES" in caps[0] and b"SORT=DISPLAY" in caps[0]
    typ, data = m.sort("(REVERSE ARRIVAL)", "UTF-8", "ALL")
    assert typ == "OK" and data[0].split() == [str(n).encode() for n in range(12, 0, -1)]
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK" and data[0].startswith(b"(")
    typ, data = m.uid("SORT", "(SUBJECT)", "UTF-8", "NOT SUBJECT plans")
    assert typ == "OK"
    typ, data = m._simple_command("SORT", "(DATE)", "BOGUS-CHARSET", "ALL")
    assert typ == "NO"
    # ESEARCH (RFC 4731) and ESORT (RFC 5267) through the same client.
    typ, data = m._simple_command("SEARCH", "RETURN (MIN MAX COUNT)", "ALL")
    typ, data = m._untagged_response(typ, data, "ESEARCH")
    assert typ == "OK" and data[0].endswith(b") MIN 1 MAX 12 COUNT 12"), data
    typ, data = m._simple_command("SORT", "RETURN (ALL)", "(REVERSE ARRIVAL)", "UTF-8", "1:3")
    typ, data = m._untagged_response(typ, data, "ESEARCH")
    assert typ == "OK" and data[0].endswith(b") ALL 3,2,1"), data
    m.logout()


def test_the_switch_turns_them_off(make_server):
    """`[imap] sort_thread = false` is Courier's IMAP_DISABLETHREADSORT."""
    server = make_server("\n[imap]\nsort_thread = false\n")
    m = server.connect()
    m.select("INBOX")
    typ, caps = m.capability()
    assert b"SORT" not in caps[0] and b"THREAD" not in caps[0]
    with pytest.raises(imaplib.IMAP4.error, match="not supported"):
        m.sort("(DATE)", "UTF-8", "ALL")
    m.logout()


def test_once_indexed_no_message_file_is_read(server):
    """With the folder index built, SORT, THREAD, header SEARCH and the
    listing FETCH items answer the same after every message file has been
    made unreadable: they read no file. A section still needs the file."""
    m = server.connect()
    for i, data in enumerate(MESSAGES):
        m.append("INBOX", None, imaplib.Time2Internaldate(START + i * 60), data)
    m.select("INBOX")
    asks = [("SORT", "(SUBJECT)", "UTF-8", "ALL"), ("SORT", "(REVERSE DATE SIZE)", "UTF-8", "ALL"),
            ("SORT", "(DISPLAYFROM TO CC)", "UTF-8", "ALL"),
            ("THREAD", "REFERENCES", "UTF-8", "ALL"), ("THREAD", "ORDEREDSUBJECT", "UTF-8", "ALL"),
            ("SEARCH", "OR SUBJECT plans FROM example"), ("SEARCH", "LARGER 300 SENTSINCE 1-Jan-2000"),
            ("FETCH", "1:*", "(RFC822.SIZE ENVELOPE BODYSTRUCTURE INTERNALDATE)")]

    def ask():
        out = []
        for a in asks:
            typ, data = m.uid(*a)
            assert typ == "OK", (a, data)
            out.append(data)
        return out

    before = ask()
    files = list((server.maildir() / "cur").iterdir())
    assert len(files) == len(MESSAGES)
    for f in files:
        f.chmod(0)
    try:
        assert ask() == before
        # A section needs the file, which the server may not read now.
        # (UID FETCH leaves out what it cannot read, RFC 3501 §6.4.8.)
        typ, data = m.uid("FETCH", "1", "(BODY.PEEK[TEXT])")
        assert (typ, data) == ("OK", [None]), (typ, data)
    finally:
        for f in files:
            f.chmod(0o600)
    m.logout()


def test_remembered_orders_stay_exact_as_the_folder_changes(make_server):
    """SORT orders and THREAD forests of a big folder are remembered by the
    server process. After expunges (answered from the remembered orders)
    and after new mail (worked out again), every answer equals that of a
    server without them (`scan_cache_messages = 0`) on a copy of the
    maildir."""
    server = make_server()
    plain = make_server("\n[maildir]\nscan_cache_messages = 0\n")
    rng = random.Random(5256)
    n = 10_000
    subjects = ["plans", "Re: plans", "[list] Fwd: budget", "budget", "Re: Re: lunch", "lunch"]
    cur = server.maildir() / "cur"
    for i in range(n):
        # Few distinct dates: many ties, broken by sequence number.
        day = 1 + rng.randrange(28)
        text = ((f"From: u{rng.randrange(50)}@example.org\nSubject: {rng.choice(subjects)}\n"
                f"Date: {day:02d} Mar 2021 10:00:00 +0000\nMessage-ID: <m{i}@x>\n")
                # Replies to the first 100, which reply to none: threads
                # stay shallow.
                + (f"References: <m{rng.randrange(100)}@x>\n" if i >= 100 else "")
                + f"\nbody {i}\n")
        (cur / f"{1_600_000_000 + i}.M{i}P1.test:2,{'S' if i % 3 else ''}").write_text(text)
    server.chown()
    m = server.connect()
    m.select("INBOX")
    # The orders over ALL are remembered; the searches after them are
    # answered from them (subsets of what they cover).
    asks = [("SORT", "(DATE)", "ALL"), ("SORT", "(REVERSE SUBJECT)", "ALL"),
            ("SORT", "(DATE)", "UNSEEN"), ("UID SORT", "(DATE)", "UID 2000:7000"),
            ("SORT", "(REVERSE SUBJECT)", "FROM u7"), ("SORT", "(FROM)", "UNSEEN"),
            ("THREAD", "REFERENCES", "ALL")]

    def answers(c):
        out = []
        for cmd, criteria, search in asks:
            typ, data = c._simple_command(*cmd.split(), criteria, "UTF-8", *search.split())
            assert typ == "OK", data
            name = "THREAD" if cmd == "THREAD" else "SORT"
            out.append(c._untagged_response(typ, data, name)[1])
        return out

    def plain_answers():
        shutil.rmtree(plain.maildir())
        shutil.copytree(server.maildir(), plain.maildir(), symlinks=True)
        plain.chown()
        c = plain.connect()
        c.select("INBOX")
        out = answers(c)
        c.logout()
        return out

    first = answers(m)
    assert all(a and a[0] for a in first)
    assert answers(m) == first, "remembered: the same answers"
    assert first == plain_answers()

    # Another session expunges 300 messages; this one hears of it.
    other = server.connect()
    other.select("INBOX")
    gone = sorted(rng.sample(range(1, n + 1), 300))
    other.store(",".join(map(str, gone)), "+FLAGS.SILENT", "(\\Deleted)")
    other.expunge()
    other.logout()
    m.noop()
    after = answers(m)
    assert after != first
    assert after == plain_answers()

    # New mail is not covered: the orders are worked out again.
    for i in range(20):
        server.deliver(f"Subject: plans\nDate: 0{1 + i % 9} Mar 2021 10:00:00 +0000\n\nnew {i}\n".encode())
    m.noop()
    assert answers(m) == plain_answers()
    m.logout()
