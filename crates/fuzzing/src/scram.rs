//! SCRAM targets (RFC 5802, RFC 7677): the message parsers of
//! `courser_auth::scram`, and a small client of our own, written from the
//! RFC, that the SASL target uses as well.
//!
//! The client is independent of the server code on purpose: it is the
//! oracle that says which proofs are right.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use courser_auth::scram::{parse_client_first, ScramError, ScramHash, ScramKeys, ScramServer};

/// The account's password in both targets.
pub(crate) const PASSWORD: &[u8] = b"pencil";
/// Its salt and iteration count (few, to keep executions fast).
pub(crate) const SALT: &[u8] = b"fuzz salt";
pub(crate) const ITERATIONS: u32 = 2;

/// The account's keys for `hash`.
pub(crate) fn keys(hash: ScramHash) -> ScramKeys {
    ScramKeys::from_password(hash, PASSWORD, SALT, ITERATIONS)
}

fn hmac(hash: ScramHash, key: &[u8], data: &[u8]) -> Vec<u8> {
    match hash {
        ScramHash::Sha1 => hmac::Hmac::<Sha1>::new_from_slice(key)
            .expect("HMAC takes any key")
            .chain_update(data)
            .finalize()
            .into_bytes()
            .to_vec(),
        ScramHash::Sha256 => hmac::Hmac::<Sha256>::new_from_slice(key)
            .expect("HMAC takes any key")
            .chain_update(data)
            .finalize()
            .into_bytes()
            .to_vec(),
    }
}

fn digest(hash: ScramHash, data: &[u8]) -> Vec<u8> {
    match hash {
        ScramHash::Sha1 => Sha1::digest(data).to_vec(),
        ScramHash::Sha256 => Sha256::digest(data).to_vec(),
    }
}

/// What a client that knows `password` sends and expects for one
/// `AuthMessage`: `(ClientProof, ServerSignature)` (RFC 5802 §3).
pub(crate) fn client_proof(
    hash: ScramHash,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    auth_message: &str,
) -> (Vec<u8>, Vec<u8>) {
    // Hi(): PBKDF2 with one output block.
    let mut u = hmac(hash, password, &[salt, &1u32.to_be_bytes()].concat());
    let mut salted = u.clone();
    for _ in 1..iterations {
        u = hmac(hash, password, &u);
        salted.iter_mut().zip(&u).for_each(|(s, x)| *s ^= x);
    }
    let client_key = hmac(hash, &salted, b"Client Key");
    let signature = hmac(hash, &digest(hash, &client_key), auth_message.as_bytes());
    let proof = client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect();
    let server_key = hmac(hash, &salted, b"Server Key");
    (proof, hmac(hash, &server_key, auth_message.as_bytes()))
}

/// The value of attribute `name` in a SCRAM message, if it occurs
/// exactly once.
pub(crate) fn attribute<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let mut values = message
        .split(',')
        .filter_map(|a| a.strip_prefix(name)?.strip_prefix('='));
    let value = values.next()?;
    values.next().is_none().then_some(value)
}

/// RFC 5802 §5.1 `saslname`: `,` and `=` escaped.
fn escape_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The client-first message the fixed exchange starts with.
const CLIENT_FIRST: &str = "n,,n=user,r=client-nonce";
const SERVER_NONCE: &str = "server-nonce";

/// The SCRAM message parsers: `client-first-message`
/// ([`parse_client_first`]: gs2 header, channel-binding flag, attributes,
/// `saslname` escapes), the stored-keys syntax ([`ScramKeys::parse`]) and
/// `client-final-message` ([`ScramServer::finish`]: channel binding,
/// nonce, base64 proof) on a fixed exchange; the first octet picks the
/// hash.
///
/// Checks: no panic; a parsed login is non-empty and round-trips through
/// escaping; parsed keys round-trip through their text form; a final
/// message is accepted only with the proof our own client computes for
/// the password, and then the server signature is the one the client
/// expects; a proof made with another password is refused; and the
/// canonical final message with the right proof, plus any extension
/// attributes from the input, is accepted.
pub fn messages(data: &[u8]) {
    let hash = match data.first() {
        Some(b) if b & 1 == 1 => ScramHash::Sha1,
        _ => ScramHash::Sha256,
    };
    if let Ok(first) = parse_client_first(data) {
        assert!(!first.login.is_empty());
        let again = format!("n,,n={},r=x", escape_name(&first.login));
        let back = parse_client_first(again.as_bytes()).expect("an escaped name parses");
        assert_eq!(back.login, first.login, "saslname escaping round-trip");
    }
    let text = String::from_utf8_lossy(data);
    if let Some(k) = ScramKeys::parse(&text) {
        assert!(k.iterations >= 1);
        assert_eq!(
            ScramKeys::parse(&k.to_string()),
            Some(k),
            "stored keys round-trip"
        );
    }
    final_message(hash, data, &text);
}

/// `client-final-message` on the fixed exchange.
fn final_message(hash: ScramHash, data: &[u8], text: &str) {
    let first = parse_client_first(CLIENT_FIRST.as_bytes()).expect("fixed client-first");
    let (server, server_first) = ScramServer::new(keys(hash), first, SERVER_NONCE);
    let server_first = String::from_utf8(server_first).expect("ASCII");
    let bare = &CLIENT_FIRST[3..];
    let proof_for = |password: &[u8], without_proof: &str| {
        client_proof(
            hash,
            password,
            SALT,
            ITERATIONS,
            &format!("{bare},{server_first},{without_proof}"),
        )
    };

    // The input as a whole final message.
    if let Ok(server_final) = server.finish(data) {
        let (without_proof, proof) = text.rsplit_once(",p=").expect("accepted with a proof");
        let (right, signature) = proof_for(PASSWORD, without_proof);
        assert_eq!(
            B64.decode(proof).ok(),
            Some(right),
            "accepted a proof that is not the right one"
        );
        assert_eq!(
            server_final,
            format!("v={}", B64.encode(signature)).into_bytes()
        );
    }

    // The input as extension attributes after the canonical ones (RFC
    // 5802 §7 allows them; the server ignores them), with our proof.
    let nonce = attribute(&server_first, "r").expect("server nonce");
    let extensions: String = text
        .split(',')
        .filter(|a| a.len() > 2 && a.as_bytes()[1] == b'=' && !"crp".contains(&a[..1]))
        .map(|a| format!(",{a}"))
        .collect();
    let without_proof = format!("c=biws,r={nonce}{extensions}");
    let (right, signature) = proof_for(PASSWORD, &without_proof);
    let message = format!("{without_proof},p={}", B64.encode(&right));
    let server_final = server
        .finish(message.as_bytes())
        .unwrap_or_else(|e| panic!("right proof refused ({e}): {message}"));
    assert_eq!(
        server_final,
        format!("v={}", B64.encode(signature)).into_bytes()
    );

    // The same with a proof made from the input as the password.
    if data != PASSWORD {
        let (wrong, _) = proof_for(data, &without_proof);
        let message = format!("{without_proof},p={}", B64.encode(wrong));
        assert_eq!(
            server.finish(message.as_bytes()).map(|_| ()),
            Err(ScramError::Failed),
            "a wrong password's proof"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client reproduces RFC 5802 §5's example.
    #[test]
    fn the_client_matches_the_rfc_example() {
        let salt = B64.decode("QSXCR+Q6sek8bf92").unwrap();
        let auth = "n=user,r=fyko+d2lbbFgONRv9qkxdawL,\
                    r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,\
                    c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
        let (proof, signature) = client_proof(ScramHash::Sha1, b"pencil", &salt, 4096, auth);
        assert_eq!(B64.encode(proof), "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
        assert_eq!(B64.encode(signature), "rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    }
}
