//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), server side,
//! without channel binding (the `-PLUS` variants are not offered).
//!
//! # Where the keys come from
//!
//! SCRAM needs, per account, a salt, an iteration count, `StoredKey` and
//! `ServerKey`. Courier stores none of these; Courser takes them, through
//! [`crate::Authenticator::scram_keys`], from the first backend that knows
//! the login:
//!
//! 1. a stored secret in RFC 5803's format,
//!    `SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>`
//!    — in userdb the fields `scram-sha-256pw` / `scram-sha-1pw` (per
//!    service `<service>-scram-sha-256pw` first, like `hmac-*pw`; the `pw`
//!    ending makes Courier's makeuserdb keep them in the shadow file),
//!    made by `courser pw --scheme scram-sha-256` ([`ScramKeys::from_password`]);
//! 2. a clear-text password (SQL/LDAP clear column, authdaemond or
//!    authpipe `PASSWD2`), from which keys are derived on the spot
//!    ([`ScramKeys::derived`], [`DEFAULT_ITERATIONS`]).
//!
//! A hashed password (`$6$…`, `{SSHA}`…) cannot serve SCRAM: SCRAM is
//! advertised only where some backend has one of the two sources.
//!
//! # Unknown users look like known ones
//!
//! The server must answer the client-first message with a salt before it
//! can tell a wrong password from an unknown user. For a login without
//! keys it answers [`ScramKeys::decoy`] keys and fails after the client's
//! proof, through the same failure path as a wrong password
//! ([`Exchange::start`]). Salts that
//! Courser makes up (decoys, and keys derived from clear passwords) are
//! an HMAC of the login under a random per-process secret: stable for one
//! login while the process runs, like a stored salt, so asking twice does
//! not tell the cases apart (a random salt per exchange would).
//!
//! [`Exchange`] is the sans-IO server side after the client-first
//! message; the authentication process runs it, so the keys never leave
//! that process. [`crate::sasl::SaslServer`] in the network-facing
//! process only relays the client's messages to it and its answers back.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Iterations for newly made and derived keys (RFC 7677 asks for at
/// least 4096).
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// Salt length for newly made and derived keys, in bytes.
const SALT_LEN: usize = 16;
/// Most iterations accepted from a stored secret (bounds CPU per login).
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    /// Both, strongest first.
    pub const ALL: [ScramHash; 2] = [ScramHash::Sha256, ScramHash::Sha1];

    /// The SASL mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => hmac::Hmac::<Sha1>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
            ScramHash::Sha256 => hmac::Hmac::<Sha256>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// RFC 5802 `Hi()`: PBKDF2 with HMAC as the PRF, one block.
    fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut first = salt.to_vec();
        first.extend_from_slice(&1u32.to_be_bytes());
        let mut u = self.hmac(password, &first);
        let mut out = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &u);
            out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
        }
        out
    }
}

/// The per-account secret SCRAM verifies against.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    /// The mechanism's hash.
    pub hash: ScramHash,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Salt.
    pub salt: Vec<u8>,
    /// `H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramKeys")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramKeys {
    /// Derives keys from a password.
    pub fn from_password(hash: ScramHash, password: &[u8], salt: &[u8], iterations: u32) -> Self {
        let salted = hash.hi(password, salt, iterations.max(1));
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramKeys {
            hash,
            iterations: iterations.max(1),
            salt: salt.to_vec(),
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        }
    }

    /// Keys with a fresh random salt and [`DEFAULT_ITERATIONS`], for
    /// storing (`courser pw --scheme scram-sha-256`).
    pub fn generate(hash: ScramHash, password: &[u8]) -> Result<Self, getrandom::Error> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt)?;
        Ok(Self::from_password(
            hash,
            password,
            &salt,
            DEFAULT_ITERATIONS,
        ))
    }

    /// Keys derived from a clear-text password for one exchange, with the
    /// per-process salt of `login` (see the module documentation).
    pub fn derived(hash: ScramHash, login: &str, password: &[u8]) -> Self {
        let salt = process_hmac(hash, "salt", login);
        Self::from_password(hash, password, &salt[..SALT_LEN], DEFAULT_ITERATIONS)
    }

    /// Keys for a login that has none (unknown, or no SCRAM secret): the
    /// per-process salt of `login` and keys no password matches. Cheap to
    /// make: [`crate::Authenticator::scram_keys`] makes unknown logins
    /// take as long as known ones.
    pub fn decoy(hash: ScramHash, login: &str) -> Self {
        let len = hash.hash(b"").len();
        let key = |purpose| {
            let mut k = process_hmac(hash, purpose, login);
            k.truncate(len);
            k
        };
        ScramKeys {
            hash,
            iterations: DEFAULT_ITERATIONS,
            salt: process_hmac(hash, "salt", login)[..SALT_LEN].to_vec(),
            stored_key: key("decoy stored"),
            server_key: key("decoy server"),
        }
    }

    /// Parses RFC 5803's `SCRAM-SHA-256$iter:salt$stored:server`.
    pub fn parse(text: &str) -> Option<ScramKeys> {
        let (scheme, rest) = text.split_once('$')?;
        let hash = match scheme.to_ascii_uppercase().as_str() {
            "SCRAM-SHA-1" => ScramHash::Sha1,
            "SCRAM-SHA-256" => ScramHash::Sha256,
            _ => return None,
        };
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let iterations: u32 = iterations.parse().ok()?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return None;
        }
        let keys = ScramKeys {
            hash,
            iterations,
            salt: B64.decode(salt).ok()?,
            stored_key: B64.decode(stored).ok()?,
            server_key: B64.decode(server).ok()?,
        };
        let len = hash.hash(b"").len();
        (keys.stored_key.len() == len && keys.server_key.len() == len).then_some(keys)
    }
}

impl std::fmt::Display for ScramKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}${}:{}${}:{}",
            self.hash.mechanism(),
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key)
        )
    }
}

/// HMAC-SHA-256 of `purpose`, the mechanism and `login` under a random
/// secret made once per process.
fn process_hmac(hash: ScramHash, purpose: &str, login: &str) -> Vec<u8> {
    static SECRET: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        let mut s = [0u8; 32];
        if getrandom::fill(&mut s).is_err() {
            // No system randomness: still unpredictable enough to keep
            // decoy salts from being computed from the outside.
            let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
            s.copy_from_slice(&Sha256::digest(seed.as_bytes()));
        }
        s
    });
    let data = format!("{purpose}\0{}\0{login}", hash.mechanism());
    ScramHash::Sha256.hmac(secret, data.as_bytes())
}

/// A fresh server nonce: 24 random bytes in base64 (printable, no comma).
pub fn server_nonce() -> Result<String, getrandom::Error> {
    let mut r = [0u8; 24];
    getrandom::fill(&mut r)?;
    Ok(B64.encode(r))
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// The client's message does not parse.
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    /// Channel binding requested, or an authorisation identity other
    /// than the user.
    #[error("SCRAM option not supported: {0}")]
    Unsupported(&'static str),
    /// Wrong proof (wrong password) or mismatched nonce.
    #[error("SCRAM authentication failed")]
    Failed,
}

/// The parsed `client-first-message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    /// The user name (`n=`), `=2C`/`=3D` decoded.
    pub login: String,
    gs2_header: String,
    bare: String,
    nonce: String,
}

/// Parses `gs2-header client-first-message-bare` (RFC 5802 §7).
pub fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, ScramError> {
    let text = std::str::from_utf8(msg).map_err(|_| ScramError::Malformed("not UTF-8"))?;
    let mut parts = text.splitn(3, ',');
    let cb = parts.next().ok_or(ScramError::Malformed("empty"))?;
    let authzid = parts.next().ok_or(ScramError::Malformed("no gs2 header"))?;
    let bare = parts.next().ok_or(ScramError::Malformed("no user"))?;
    match cb {
        "n" | "y" => {}
        c if c.starts_with("p=") => return Err(ScramError::Unsupported("channel binding")),
        _ => return Err(ScramError::Malformed("bad gs2 flag")),
    }
    let mut login = None;
    let mut nonce = None;
    for attr in bare.split(',') {
        match attr.split_once('=') {
            Some(("n", v)) => login = Some(decode_name(v)?),
            Some(("r", v))
                if !v.is_empty() && v.chars().all(|c| c.is_ascii_graphic() && c != ',') =>
            {
                nonce = Some(v.to_owned());
            }
            Some(("m", _)) => return Err(ScramError::Unsupported("extensions")),
            _ => {}
        }
    }
    let login = login
        .filter(|l| !l.is_empty())
        .ok_or(ScramError::Malformed("no user name"))?;
    if let Some(z) = authzid.strip_prefix("a=") {
        if decode_name(z)? != login {
            return Err(ScramError::Unsupported("authorization identity"));
        }
    } else if !authzid.is_empty() {
        return Err(ScramError::Malformed("bad gs2 header"));
    }
    Ok(ClientFirst {
        login,
        gs2_header: format!("{cb},{authzid},"),
        bare: bare.to_owned(),
        nonce: nonce.ok_or(ScramError::Malformed("no nonce"))?,
    })
}

fn decode_name(v: &str) -> Result<String, ScramError> {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed("bad name escape")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One exchange after the client-first message, once the keys are known.
#[derive(Debug, Clone)]
pub struct ScramServer {
    keys: ScramKeys,
    first: ClientFirst,
    server_first: String,
    nonce: String,
}

impl ScramServer {
    /// Starts with the account's keys and a fresh server nonce (printable
    /// ASCII without commas). Returns the server and `server-first-message`.
    pub fn new(keys: ScramKeys, first: ClientFirst, server_nonce: &str) -> (Self, Vec<u8>) {
        let nonce = format!("{}{server_nonce}", first.nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&keys.salt),
            keys.iterations
        );
        let msg = server_first.clone().into_bytes();
        (
            ScramServer {
                keys,
                first,
                server_first,
                nonce,
            },
            msg,
        )
    }

    /// Checks `client-final-message`; on success returns
    /// `server-final-message` (`v=…`), which proves the server knew the
    /// keys.
    pub fn finish(&self, msg: &[u8]) -> Result<Vec<u8>, ScramError> {
        let text = std::str::from_utf8(msg).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed("no proof"))?;
        let mut cbind = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            match attr.split_once('=') {
                Some(("c", v)) => cbind = Some(v),
                Some(("r", v)) => nonce = Some(v),
                _ => {}
            }
        }
        let cbind = cbind.ok_or(ScramError::Malformed("no channel binding"))?;
        if B64.decode(cbind).ok().as_deref() != Some(self.first.gs2_header.as_bytes()) {
            return Err(ScramError::Failed);
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err(ScramError::Failed);
        }
        let client_proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("bad proof base64"))?;
        let auth_message = format!("{},{},{without_proof}", self.first.bare, self.server_first);
        if !proof_matches(&self.keys, auth_message.as_bytes(), &client_proof) {
            return Err(ScramError::Failed);
        }
        let h = self.keys.hash;
        let server_signature = h.hmac(&self.keys.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}

/// True when `client_proof` over `auth_message` was made with the
/// password behind `keys`: `H(ClientProof XOR HMAC(StoredKey,
/// AuthMessage)) == StoredKey` (RFC 5802 §3), compared in constant time.
fn proof_matches(keys: &ScramKeys, auth_message: &[u8], client_proof: &[u8]) -> bool {
    let h = keys.hash;
    let signature = h.hmac(&keys.stored_key, auth_message);
    if client_proof.len() != signature.len() {
        return false;
    }
    let client_key: Vec<u8> = client_proof
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    bool::from(h.hash(&client_key).ct_eq(&keys.stored_key))
}

/// The server side of one exchange, from the client-first message to the
/// verdict, as the authentication process runs it: the keys stay with
/// whoever holds the exchange, and what goes to the client (salt,
/// iteration count, nonce, server signature) is what RFC 5802 sends.
#[derive(Debug)]
pub struct Exchange {
    server: ScramServer,
    login: String,
    /// The login had no keys: no proof can succeed.
    decoy: bool,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the client-final message (the proof).
    Proof,
    /// The proof was right and `v=` sent; waiting for the client's
    /// empty answer (RFC 4422 §5).
    Verified,
    /// Over.
    Over,
}

/// What an [`Exchange`] answers to a client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeStep {
    /// Send this to the client and pass on its answer.
    Challenge(Vec<u8>),
    /// The exchange is over; `verified` when the client proved the
    /// password and took the server's signature.
    Done {
        /// The client proved the password.
        verified: bool,
    },
}

impl Exchange {
    /// Starts an exchange after the client-first message `first` with the
    /// login's keys, or `None` when it has none (unknown, no SCRAM secret,
    /// or keys of another hash): then decoy keys answer and the exchange
    /// fails after the client's proof, as for a wrong password. Returns
    /// the exchange and `server-first-message`.
    pub fn start(
        hash: ScramHash,
        keys: Option<ScramKeys>,
        first: ClientFirst,
        server_nonce: &str,
    ) -> (Exchange, Vec<u8>) {
        let decoy = keys.as_ref().is_none_or(|k| k.hash != hash);
        let keys = match keys {
            Some(k) if !decoy => k,
            _ => ScramKeys::decoy(hash, &first.login),
        };
        let login = first.login.clone();
        let (server, server_first) = ScramServer::new(keys, first, server_nonce);
        let exchange = Exchange {
            server,
            login,
            decoy,
            stage: Stage::Proof,
        };
        (exchange, server_first)
    }

    /// The user name from the client-first message.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// True when the next client message carries the proof: the step
    /// that checks a password guess.
    pub fn awaits_proof(&self) -> bool {
        self.stage == Stage::Proof
    }

    /// Takes the client's next message. Anything but the right proof
    /// (a wrong one, a malformed message, a decoy) ends the exchange
    /// unverified; so does anything but an empty answer to `v=`.
    pub fn step(&mut self, client_data: &[u8]) -> ExchangeStep {
        let stage = std::mem::replace(&mut self.stage, Stage::Over);
        match stage {
            Stage::Proof => match self.server.finish(client_data) {
                Ok(server_final) if !self.decoy => {
                    self.stage = Stage::Verified;
                    ExchangeStep::Challenge(server_final)
                }
                _ => ExchangeStep::Done { verified: false },
            },
            Stage::Verified => ExchangeStep::Done {
                verified: client_data.is_empty(),
            },
            Stage::Over => ExchangeStep::Done { verified: false },
        }
    }
}

/// A SCRAM client for tests: the client-final message answering
/// `server_first` for `client_first_bare` (gs2 header `n,,`), and the
/// server-final message a server that knows `password` must send.
#[cfg(test)]
pub(crate) fn test_client_final(
    hash: ScramHash,
    password: &[u8],
    client_first_bare: &str,
    server_first: &str,
) -> (String, String) {
    let attr = |name: &str| {
        server_first
            .split(',')
            .find_map(|a| a.strip_prefix(name))
            .expect("attribute")
            .to_owned()
    };
    let salt = B64.decode(attr("s=")).expect("salt");
    let iterations: u32 = attr("i=").parse().expect("iterations");
    let salted = hash.hi(password, &salt, iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    let without_proof = format!("c=biws,r={}", attr("r="));
    let auth = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hash.hmac(&hash.hash(&client_key), auth.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let server_signature = hash.hmac(&hash.hmac(&salted, b"Server Key"), auth.as_bytes());
    (
        format!("{without_proof},p={}", B64.encode(proof)),
        format!("v={}", B64.encode(server_signature)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(hash: ScramHash, salt: &str, cnonce: &str, snonce: &str, proof: &str, v: &str) {
        let keys = ScramKeys::from_password(hash, b"pencil", &B64.decode(salt).unwrap(), 4096);
        let first = parse_client_first(format!("n,,n=user,r={cnonce}").as_bytes()).unwrap();
        assert_eq!(first.login, "user");
        let (server, sf) = ScramServer::new(keys.clone(), first, snonce);
        assert_eq!(
            String::from_utf8(sf).unwrap(),
            format!("r={cnonce}{snonce},s={salt},i=4096")
        );
        let fin = format!("c=biws,r={cnonce}{snonce},p={proof}");
        let server_final = server.finish(fin.as_bytes()).unwrap();
        assert_eq!(server_final, format!("v={v}").into_bytes());
        let wrong = ScramKeys::from_password(hash, b"pen", &B64.decode(salt).unwrap(), 4096);
        let (other, _) = ScramServer::new(wrong, server.first.clone(), snonce);
        assert_eq!(other.finish(fin.as_bytes()), Err(ScramError::Failed));
        let bad = format!("c=biws,r={cnonce}{snonce},p={}", B64.encode(vec![0u8; 20]));
        assert_eq!(server.finish(bad.as_bytes()), Err(ScramError::Failed));
        let other_nonce = format!("c=biws,r={cnonce}x,p={proof}");
        assert_eq!(
            server.finish(other_nonce.as_bytes()),
            Err(ScramError::Failed)
        );
        // The stored form round-trips.
        assert_eq!(ScramKeys::parse(&keys.to_string()), Some(keys));
    }

    #[test]
    fn rfc_5802_and_7677_vectors() {
        run(
            ScramHash::Sha1,
            "QSXCR+Q6sek8bf92",
            "fyko+d2lbbFgONRv9qkxdawL",
            "3rfcNHYJY1ZVvWVs7j",
            "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        );
        run(
            ScramHash::Sha256,
            "W22ZaJ0SNY7soEsUEjb6gQ==",
            "rOprNGfwEbeRWgbNEkqO",
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        );
    }

    #[test]
    fn client_first_edge_cases() {
        assert_eq!(
            parse_client_first(b"n,,n=a=2Cb=3Dc,r=x").unwrap().login,
            "a,b=c"
        );
        assert!(parse_client_first(b"n,a=user,n=user,r=x").is_ok());
        assert_eq!(
            parse_client_first(b"n,a=admin,n=user,r=x"),
            Err(ScramError::Unsupported("authorization identity"))
        );
        assert_eq!(
            parse_client_first(b"p=tls-unique,,n=user,r=x"),
            Err(ScramError::Unsupported("channel binding"))
        );
        for bad in [
            &b""[..],
            b"n,,",
            b"n,,r=x",
            b"n,,n=user",
            b"x,,n=u,r=x",
            b"n,,n=a=ZZ,r=x",
        ] {
            assert!(parse_client_first(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ScramKeys::parse("SCRAM-SHA-256$0:AA==$AA==:AA=="), None);
        assert_eq!(ScramKeys::parse("garbage"), None);
    }

    #[test]
    fn made_up_salts_are_stable_per_login() {
        let h = ScramHash::Sha256;
        let a = ScramKeys::decoy(h, "ann");
        assert_eq!(a, ScramKeys::decoy(h, "ann"));
        assert_ne!(a.salt, ScramKeys::decoy(h, "bob").salt);
        assert_ne!(a.salt, ScramKeys::decoy(ScramHash::Sha1, "ann").salt);
        // Derived keys use the same salt as a decoy would, with the
        // password making the difference.
        let d = ScramKeys::derived(h, "ann", b"pw");
        assert_eq!(
            (d.salt.clone(), d.iterations),
            (a.salt.clone(), a.iterations)
        );
        assert_ne!(d.stored_key, a.stored_key);
        let g = ScramKeys::generate(h, b"pw").expect("random");
        assert_ne!(g.salt, ScramKeys::generate(h, b"pw").expect("random").salt);
        assert!(server_nonce()
            .expect("random")
            .chars()
            .all(|c| c.is_ascii_graphic() && c != ','));
    }
}
