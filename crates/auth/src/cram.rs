//! CRAM-MD5, CRAM-SHA1 and CRAM-SHA256 verification, and Courier's stored
//! HMAC contexts (userdb `hmac-md5pw`, `hmac-sha1pw`, `hmac-sha256pw`).
//!
//! A CRAM response is `HMAC(secret, challenge)`. Courier lets userdb store,
//! instead of the clear password, the two intermediate hash states that
//! HMAC computes from the key alone: the state after hashing one block of
//! `key XOR opad`, and the one after `key XOR ipad` (RFC 2104 §4 suggests
//! exactly this precomputation). `userdbpw -hmac-md5` prints them as lower
//! case hex, **outer state first, then inner** (`hmac_hashkey(…, kxopad,
//! kxipad)` in Courier's `libhmac`; checked against the real tool in the
//! tests). Each state is serialised in the hash's own digest byte order:
//! little-endian words for MD5, big-endian for SHA-1 and SHA-256.
//!
//! Resuming a hash from such a state needs the raw compression function,
//! which the RustCrypto crates expose (`compress`); the Merkle–Damgård
//! padding is done here, counting the one key block already hashed.

use std::fmt;

use subtle::ConstantTimeEq;

use crate::hex;

/// Block size of MD5, SHA-1 and SHA-256, in bytes.
const BLOCK: usize = 64;

/// The hash functions Courier's CRAM mechanisms use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CramHash {
    /// CRAM-MD5 (RFC 2195).
    Md5,
    /// CRAM-SHA1.
    Sha1,
    /// CRAM-SHA256.
    Sha256,
}

impl CramHash {
    /// Every supported hash, strongest first.
    pub const ALL: [CramHash; 3] = [CramHash::Sha256, CramHash::Sha1, CramHash::Md5];

    /// Courier's name for the hash, as used in `hmac-<name>pw` field names
    /// and in the authdaemond `cram-<name>` auth types.
    pub fn name(self) -> &'static str {
        match self {
            CramHash::Md5 => "md5",
            CramHash::Sha1 => "sha1",
            CramHash::Sha256 => "sha256",
        }
    }

    /// The SASL mechanism name (`CRAM-MD5`, …).
    pub fn mechanism(self) -> &'static str {
        match self {
            CramHash::Md5 => "CRAM-MD5",
            CramHash::Sha1 => "CRAM-SHA1",
            CramHash::Sha256 => "CRAM-SHA256",
        }
    }

    /// Parses [`CramHash::name`] (case-insensitive).
    pub fn from_name(name: &str) -> Option<CramHash> {
        CramHash::ALL
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            CramHash::Md5 => 16,
            CramHash::Sha1 => 20,
            CramHash::Sha256 => 32,
        }
    }

    /// Plain hash of `data` (used to shorten keys longer than a block).
    fn digest(self, data: &[u8]) -> Vec<u8> {
        let iv = self.iv();
        self.resume(&iv, 0, data)
    }

    /// The initial state, serialised.
    fn iv(self) -> Vec<u8> {
        match self {
            CramHash::Md5 => words_le(&[0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]),
            CramHash::Sha1 => words_be(&[
                0x6745_2301,
                0xefcd_ab89,
                0x98ba_dcfe,
                0x1032_5476,
                0xc3d2_e1f0,
            ]),
            CramHash::Sha256 => words_be(&[
                0x6a09_e667,
                0xbb67_ae85,
                0x3c6e_f372,
                0xa54f_f53a,
                0x510e_527f,
                0x9b05_688c,
                0x1f83_d9ab,
                0x5be0_cd19,
            ]),
        }
    }

    /// Compresses whole blocks into a serialised state, returning the new
    /// serialised state. `state` has [`CramHash::output_len`] bytes and
    /// `data` a multiple of [`BLOCK`] bytes.
    fn compress(self, state: &[u8], data: &[u8]) -> Vec<u8> {
        let blocks: Vec<[u8; BLOCK]> = data
            .chunks_exact(BLOCK)
            .map(|c| {
                let mut b = [0u8; BLOCK];
                b.copy_from_slice(c);
                b
            })
            .collect();
        match self {
            CramHash::Md5 => {
                let mut s = [0u32; 4];
                read_le(state, &mut s);
                md5::block_api::compress(&mut s, &blocks);
                words_le(&s)
            }
            CramHash::Sha1 => {
                let mut s = [0u32; 5];
                read_be(state, &mut s);
                sha1::block_api::compress(&mut s, &blocks);
                words_be(&s)
            }
            CramHash::Sha256 => {
                let mut s = [0u32; 8];
                read_be(state, &mut s);
                sha2::block_api::compress256(&mut s, &blocks);
                words_be(&s)
            }
        }
    }

    /// Finishes a hash that had already absorbed `prefix_len` bytes (a
    /// multiple of the block size) ending in `state`, over `data`.
    fn resume(self, state: &[u8], prefix_len: u64, data: &[u8]) -> Vec<u8> {
        let total_bits = (prefix_len.wrapping_add(data.len() as u64)).wrapping_mul(8);
        let mut buf = Vec::with_capacity(data.len() + 2 * BLOCK);
        buf.extend_from_slice(data);
        buf.push(0x80);
        while buf.len() % BLOCK != BLOCK - 8 {
            buf.push(0);
        }
        match self {
            CramHash::Md5 => buf.extend_from_slice(&total_bits.to_le_bytes()),
            CramHash::Sha1 | CramHash::Sha256 => buf.extend_from_slice(&total_bits.to_be_bytes()),
        }
        self.compress(state, &buf)
    }
}

impl fmt::Display for CramHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mechanism())
    }
}

fn words_le(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn words_be(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_be_bytes()).collect()
}

fn read_le(bytes: &[u8], out: &mut [u32]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

fn read_be(bytes: &[u8], out: &mut [u32]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    }
}

/// A precomputed HMAC key: the hash states after the outer and inner
/// padded key blocks. Equivalent to knowing the password for CRAM, so it
/// is a secret; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacContext {
    hash: CramHash,
    outer: Vec<u8>,
    inner: Vec<u8>,
}

impl HmacContext {
    /// Computes the context from a clear-text password (what
    /// `userdbpw -hmac-<hash>` does).
    pub fn from_password(hash: CramHash, password: &[u8]) -> Self {
        let shortened;
        let key = if password.len() > BLOCK {
            shortened = hash.digest(password);
            &shortened[..]
        } else {
            password
        };
        let mut opad = [0x5cu8; BLOCK];
        let mut ipad = [0x36u8; BLOCK];
        for (i, k) in key.iter().enumerate() {
            opad[i] ^= k;
            ipad[i] ^= k;
        }
        let iv = hash.iv();
        HmacContext {
            hash,
            outer: hash.compress(&iv, &opad),
            inner: hash.compress(&iv, &ipad),
        }
    }

    /// Parses Courier's stored form: hex of the outer state followed by the
    /// inner state. `None` if the length or a digit is wrong.
    pub fn from_hex(hash: CramHash, stored: &str) -> Option<Self> {
        let bytes = hex::decode(stored.as_bytes())?;
        let l = hash.output_len();
        if bytes.len() != 2 * l {
            return None;
        }
        Some(HmacContext {
            hash,
            outer: bytes[..l].to_vec(),
            inner: bytes[l..].to_vec(),
        })
    }

    /// Courier's stored form (see [`HmacContext::from_hex`]).
    pub fn to_hex(&self) -> String {
        let mut all = self.outer.clone();
        all.extend_from_slice(&self.inner);
        hex::encode(&all)
    }

    /// The hash this context is for.
    pub fn hash(&self) -> CramHash {
        self.hash
    }

    /// `HMAC(key, text)`.
    pub fn mac(&self, text: &[u8]) -> Vec<u8> {
        let inner = self.hash.resume(&self.inner, BLOCK as u64, text);
        self.hash.resume(&self.outer, BLOCK as u64, &inner)
    }

    /// Checks a CRAM response digest (hex, either case, as Courier
    /// accepts) against `HMAC(key, challenge)` in constant time.
    pub fn verify_hex(&self, challenge: &[u8], digest_hex: &str) -> bool {
        let Some(given) = hex::decode(digest_hex.as_bytes()) else {
            return false;
        };
        let expected = self.mac(challenge);
        given.len() == expected.len() && bool::from(given.ct_eq(&expected))
    }
}

impl fmt::Debug for HmacContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacContext")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};

    /// Generated with Courier's own tool (Debian courier-authlib-userdb
    /// 0.71.4): `echo secret | userdbpw -hmac-md5` etc.
    const USERDBPW_SECRET: [(CramHash, &str); 3] = [
        (CramHash::Md5, "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"),
        (
            CramHash::Sha1,
            "091e0f4c6cb5277ee2beb639a60d0831b5c8adcdaee172433df3e96ba4f00fb1b6a490c3929d2034",
        ),
        (
            CramHash::Sha256,
            "5a84072aab37d22275b139adf7a92564c7f674be98e77d991f6f689d29e0524572804f31b042016804d3dea2f4e991a21b1c8906be161594b202fb74afc8ceb3",
        ),
    ];

    #[test]
    fn matches_courier_userdbpw() {
        for (hash, hex) in USERDBPW_SECRET {
            assert_eq!(HmacContext::from_password(hash, b"secret").to_hex(), hex);
        }
        // A key longer than one block is hashed first (RFC 2104).
        // `userdbpw -hmac-md5` with this 86-byte password:
        let long = b"a much longer password that exceeds sixty-four bytes of key material for hmac blocks!!";
        assert_eq!(
            HmacContext::from_password(CramHash::Md5, long).to_hex(),
            "19b34ed9ec18cb7c65e6d84f2f51ddeaa803f3d1a3b8ab3d5f7f9ed39a299093"
        );
    }

    fn reference(hash: CramHash, key: &[u8], text: &[u8]) -> Vec<u8> {
        match hash {
            CramHash::Md5 => {
                let mut m = hmac::Hmac::<md5::Md5>::new_from_slice(key).expect("any key");
                m.update(text);
                m.finalize().into_bytes().to_vec()
            }
            CramHash::Sha1 => {
                let mut m = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).expect("any key");
                m.update(text);
                m.finalize().into_bytes().to_vec()
            }
            CramHash::Sha256 => {
                let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key");
                m.update(text);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    #[test]
    fn mac_from_stored_context_equals_hmac() {
        let challenge = b"<1896.697170952@postoffice.reston.mci.com>";
        for (hash, stored) in USERDBPW_SECRET {
            let ctx = HmacContext::from_hex(hash, stored).expect("valid");
            assert_eq!(ctx.mac(challenge), reference(hash, b"secret", challenge));
            // Texts across block boundaries.
            for n in [0usize, 55, 56, 63, 64, 65, 119, 200] {
                let text = vec![b'x'; n];
                assert_eq!(
                    ctx.mac(&text),
                    reference(hash, b"secret", &text),
                    "{hash} {n}"
                );
            }
        }
    }

    #[test]
    fn rfc2195_example() {
        // RFC 2195 §2: user tim, password tanstaaftanstaaf.
        let ctx = HmacContext::from_password(CramHash::Md5, b"tanstaaftanstaaf");
        assert!(ctx.verify_hex(
            b"<1896.697170952@postoffice.reston.mci.net>",
            "b913a602c7eda7a495b4e6e7334d3890"
        ));
        assert!(ctx.verify_hex(
            b"<1896.697170952@postoffice.reston.mci.net>",
            "B913A602C7EDA7A495B4E6E7334D3890"
        ));
        assert!(!ctx.verify_hex(
            b"<1896.697170952@postoffice.reston.mci.net>",
            "b913a602c7eda7a495b4e6e7334d3891"
        ));
        assert!(!ctx.verify_hex(b"<x>", "zz"));
        assert!(!ctx.verify_hex(b"<x>", ""));
    }

    #[test]
    fn python_hmac_vectors() {
        // python3: hmac.new(b"secret", b"<68E0A1B2C3D4E5F60718293A4B5C6D7E@mail.example>", h).hexdigest()
        let ch = b"<68E0A1B2C3D4E5F60718293A4B5C6D7E@mail.example>";
        let want = [
            (CramHash::Md5, PY_MD5),
            (CramHash::Sha1, PY_SHA1),
            (CramHash::Sha256, PY_SHA256),
        ];
        for (hash, hex) in want {
            let ctx = HmacContext::from_password(hash, b"secret");
            assert!(ctx.verify_hex(ch, hex), "{hash}");
        }
    }

    const PY_MD5: &str = "47d26682e7b3528707ce145d6ffba437";
    const PY_SHA1: &str = "9cef795c153eb93116e503935c88cfd5129d81c8";
    const PY_SHA256: &str = "ed6667951dbbcb600a18791e7980c9673e23853a124974415e56b17c150428ee";

    #[test]
    fn bad_stored_contexts() {
        assert!(HmacContext::from_hex(CramHash::Md5, "abcd").is_none());
        assert!(HmacContext::from_hex(CramHash::Sha1, USERDBPW_SECRET[0].1).is_none());
        let bad = "g".repeat(64);
        assert!(HmacContext::from_hex(CramHash::Md5, &bad).is_none());
        assert_eq!(CramHash::from_name("SHA256"), Some(CramHash::Sha256));
        assert_eq!(CramHash::from_name("sha512"), None);
    }
}
