#!/usr/bin/env python3
"""A Courier authpipe program for the tests (spec §4): reads requests on
standard input, answers on standard output, and keeps running.

Accounts come from the JSON file named by the first argument:
{"login": {"password": "...", "uid": 1, "gid": 1, "home": "...",
           "options": "..."}}. A login of "tempfail" makes the program
exit without answering: authpipe's way to report a temporary failure.
ENUMERATE lists every account, with a comment and a blank line first as
Courier's authdaemond writes them."""

import base64
import hashlib
import hmac
import json
import sys

USERS = json.load(open(sys.argv[1]))
out = sys.stdout


def record(login):
    u = USERS[login]
    lines = [f"UID={u['uid']}", f"GID={u['gid']}", f"HOME={u['home']}",
             f"ADDRESS={login}", f"MAILDIR={u['home']}/Maildir"]
    if u.get("options"):
        lines.append(f"OPTIONS={u['options']}")
    out.write("\n".join(lines) + "\n.\n")


def fail():
    out.write("FAIL\n")


def answer(service, authtype, a, b):
    if authtype == "login":
        if a == "tempfail":
            sys.exit(0)
        u = USERS.get(a)
        if u and u["password"] == b:
            return record(a)
        return fail()
    if authtype.startswith("cram-"):
        digest = {"cram-md5": hashlib.md5, "cram-sha1": hashlib.sha1,
                  "cram-sha256": hashlib.sha256}.get(authtype)
        challenge = base64.b64decode(a)
        user, _, got = base64.b64decode(b).decode().rpartition(" ")
        u = USERS.get(user)
        if digest and u:
            want = hmac.new(u["password"].encode(), challenge, digest).hexdigest()
            if hmac.compare_digest(want, got):
                return record(user)
        return fail()
    return fail()


stdin = sys.stdin.buffer
while True:
    line = stdin.readline()
    if not line:
        break
    words = line.decode().rstrip("\n").split(" ")
    if words[0] == "PRE" and len(words) == 4:
        if words[3] in USERS:
            record(words[3])
        else:
            fail()
    elif words[0] == "AUTH" and len(words) == 2:
        body = stdin.read(int(words[1])).decode()
        parts = body.split("\n")
        parts += [""] * 4
        answer(parts[0], parts[1].lower(), parts[2], parts[3])
    elif words[0] == "ENUMERATE":
        out.write("# authpipe test program\n\n")
        for login, u in USERS.items():
            out.write(f"{login}\t{u['uid']}\t{u['gid']}\t{u['home']}\t{u['home']}/Maildir"
                      f"\t{u.get('options', '')}\n")
        out.write(".\n")
    else:
        fail()
    out.flush()
