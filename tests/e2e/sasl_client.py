"""Client sides of SASL mechanisms for the tests, written from the RFCs:
SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677), and helpers that run
an exchange over IMAP (imaplib) or POP3 (poplib, RFC 5034)."""

import base64
import hashlib
import hmac
import os


class Scram:
    """One SCRAM exchange, client side, without channel binding."""

    def __init__(self, mechanism, user, password):
        self.hash = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[mechanism]
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        name = user.replace("=", "=3D").replace(",", "=2C")
        self.first_bare = f"n={name},r={self.nonce}"
        self.server_signature = None
        self.server_first = None

    def client_first(self):
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first):
        """The proof answering `server_first` (RFC 5802 §3)."""
        self.server_first = server_first
        text = server_first.decode()
        attrs = dict(a.split("=", 1) for a in text.split(","))
        assert attrs["r"].startswith(self.nonce) and len(attrs["r"]) > len(self.nonce), text
        salt = base64.b64decode(attrs["s"])
        salted = hashlib.pbkdf2_hmac(self.hash, self.password, salt, int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = hashlib.new(self.hash, client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth = f"{self.first_bare},{text},{without_proof}".encode()
        signature = hmac.new(stored_key, auth, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.server_signature = b"v=" + base64.b64encode(
            hmac.new(server_key, auth, self.hash).digest())
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def salt(self):
        """The salt the server sent (to compare exchanges)."""
        return dict(a.split("=", 1) for a in self.server_first.decode().split(","))["s"]

    def callback(self):
        """An imaplib authobject: answers each challenge in turn and checks
        the server's signature before the final empty response."""
        steps = iter([self.client_first, self.client_final, self.verify_server])

        def answer(challenge):
            step = next(steps)
            return step() if step == self.client_first else step(challenge)
        return answer

    def verify_server(self, server_final):
        assert server_final == self.server_signature, (server_final, self.server_signature)
        return b""


def b64(data):
    return base64.b64encode(data).decode()


def pop3_auth(client, mechanism, answers, initial=None):
    """Runs `AUTH mechanism [initial]` on a poplib client. `answers` maps
    each decoded challenge to the response bytes. Returns the server's
    final line (bytes); raises poplib.error_proto on -ERR."""
    line = f"AUTH {mechanism}" + (f" {b64(initial) if initial else '='}"
                                  if initial is not None else "")
    resp = client._shortcmd(line)
    while resp.startswith(b"+ ") or resp == b"+":
        challenge = base64.b64decode(resp[2:])
        resp = client._shortcmd(b64(answers(challenge)))
    return resp


def pop3_scram(client, mechanism, user, password):
    """A SCRAM login over POP3 (initial response in the AUTH command)."""
    scram = Scram(mechanism, user, password)
    steps = iter([scram.client_final, scram.verify_server])
    resp = pop3_auth(client, mechanism, lambda ch: next(steps)(ch), scram.client_first())
    assert scram.server_signature is not None
    return resp
