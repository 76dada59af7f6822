//! Password hashing and verification (emqttd_auth_mod:passwd_hash/2): `plain`, salted `md5` and
//! `sha256`, `pbkdf2` (HMAC-SHA256) and `bcrypt`; digests are compared in constant time.
//!
//! A salt is text, used as its bytes and put before the password: `md5(salt ‖ password)`, as
//! emqttd's username module stored them. Digests are written as lowercase hex; bcrypt keeps its
//! own `$2b$<cost>$<salt+hash>` string (the salt is inside it).

use md5::Md5;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// The bcrypt costs the bcrypt crate accepts.
pub const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=31;
/// The longest PBKDF2 output we store (bytes).
pub const PBKDF2_MAX_LEN: usize = 64;
/// The PBKDF2 output length of newly stored passwords (bytes).
pub const PBKDF2_LEN: usize = 32;

/// A hash algorithm, as named in config files and the users file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Plain,
    Md5,
    Sha256,
    Pbkdf2,
    Bcrypt,
}

impl Algorithm {
    pub const NAMES: &'static str = "plain, md5, sha256, pbkdf2, bcrypt";

    pub fn parse(name: &str) -> Option<Algorithm> {
        Some(match name {
            "plain" => Algorithm::Plain,
            "md5" => Algorithm::Md5,
            "sha256" => Algorithm::Sha256,
            "pbkdf2" => Algorithm::Pbkdf2,
            "bcrypt" => Algorithm::Bcrypt,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Plain => "plain",
            Algorithm::Md5 => "md5",
            Algorithm::Sha256 => "sha256",
            Algorithm::Pbkdf2 => "pbkdf2",
            Algorithm::Bcrypt => "bcrypt",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stored password: what verification needs, decoded once.
#[derive(Clone, PartialEq, Eq)]
pub enum Stored {
    Plain(Vec<u8>),
    Md5 {
        salt: String,
        digest: [u8; 16],
    },
    Sha256 {
        salt: String,
        digest: [u8; 32],
    },
    Pbkdf2 {
        salt: String,
        iterations: u32,
        digest: Vec<u8>,
    },
    /// The whole `$2b$...` string.
    Bcrypt(String),
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets into logs.
        write!(f, "Stored({})", self.algorithm())
    }
}

/// The fields of a stored password as written in a file (`algorithm`, `hash`, `salt`,
/// `iterations`), before validation.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub algorithm: String,
    pub hash: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub salt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u32>,
}

/// Why a record is not a usable stored password: the field at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn record_error(field: &'static str, message: impl Into<String>) -> RecordError {
    RecordError {
        field,
        message: message.into(),
    }
}

/// How new passwords are stored (`password_hash` and its parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hasher {
    pub algorithm: Algorithm,
    pub pbkdf2_iterations: u32,
    pub bcrypt_cost: u32,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            algorithm: Algorithm::Sha256,
            pbkdf2_iterations: 4096,
            bcrypt_cost: 10,
        }
    }
}

/// A fresh random salt: 16 bytes as 32 hex digits.
pub fn new_salt() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random salt: {e}"))?;
    Ok(to_hex(&bytes))
}

fn salted(salt: &str, password: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(salt.len() + password.len());
    input.extend_from_slice(salt.as_bytes());
    input.extend_from_slice(password);
    input
}

fn pbkdf2(password: &[u8], salt: &str, iterations: u32, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), iterations, &mut out);
    out
}

impl Hasher {
    /// Store `password` with this hasher's algorithm and a fresh salt.
    pub fn hash(&self, password: &[u8]) -> Result<Stored, String> {
        self.hash_with_salt(password, &new_salt()?)
    }

    /// Store `password` with `salt` (bcrypt makes its own salt and ignores this one).
    pub fn hash_with_salt(&self, password: &[u8], salt: &str) -> Result<Stored, String> {
        let salt = salt.to_string();
        Ok(match self.algorithm {
            Algorithm::Plain => Stored::Plain(password.to_vec()),
            Algorithm::Md5 => Stored::Md5 {
                digest: Md5::digest(salted(&salt, password)).into(),
                salt,
            },
            Algorithm::Sha256 => Stored::Sha256 {
                digest: Sha256::digest(salted(&salt, password)).into(),
                salt,
            },
            Algorithm::Pbkdf2 => Stored::Pbkdf2 {
                digest: pbkdf2(password, &salt, self.pbkdf2_iterations, PBKDF2_LEN),
                iterations: self.pbkdf2_iterations,
                salt,
            },
            Algorithm::Bcrypt => Stored::Bcrypt(
                bcrypt::hash(password, self.bcrypt_cost).map_err(|e| format!("bcrypt: {e}"))?,
            ),
        })
    }
}

impl Stored {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Stored::Plain(_) => Algorithm::Plain,
            Stored::Md5 { .. } => Algorithm::Md5,
            Stored::Sha256 { .. } => Algorithm::Sha256,
            Stored::Pbkdf2 { .. } => Algorithm::Pbkdf2,
            Stored::Bcrypt(_) => Algorithm::Bcrypt,
        }
    }

    /// Whether verifying costs enough CPU to belong off the session's thread.
    pub fn is_expensive(&self) -> bool {
        matches!(self, Stored::Pbkdf2 { .. } | Stored::Bcrypt(_))
    }

    /// Does `password` match? Digests are compared in constant time.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Stored::Plain(stored) => stored.as_slice().ct_eq(password).into(),
            Stored::Md5 { salt, digest } => {
                let computed: [u8; 16] = Md5::digest(salted(salt, password)).into();
                computed.ct_eq(digest).into()
            }
            Stored::Sha256 { salt, digest } => {
                let computed: [u8; 32] = Sha256::digest(salted(salt, password)).into();
                computed.ct_eq(digest).into()
            }
            Stored::Pbkdf2 {
                salt,
                iterations,
                digest,
            } => pbkdf2(password, salt, *iterations, digest.len())
                .ct_eq(digest)
                .into(),
            // A malformed hash cannot be stored (from_record checks it); refuse anyway.
            Stored::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
        }
    }

    /// The record to write to a file.
    pub fn to_record(&self) -> Record {
        let (hash, salt, iterations) = match self {
            Stored::Plain(password) => (String::from_utf8_lossy(password).into_owned(), "", None),
            Stored::Md5 { salt, digest } => (to_hex(digest), salt.as_str(), None),
            Stored::Sha256 { salt, digest } => (to_hex(digest), salt.as_str(), None),
            Stored::Pbkdf2 {
                salt,
                iterations,
                digest,
            } => (to_hex(digest), salt.as_str(), Some(*iterations)),
            Stored::Bcrypt(hash) => (hash.clone(), "", None),
        };
        Record {
            algorithm: self.algorithm().name().to_string(),
            hash,
            salt: salt.to_string(),
            iterations,
        }
    }

    /// A record read from a file, checked: errors name the field at fault.
    pub fn from_record(record: &Record) -> Result<Stored, RecordError> {
        let algorithm = Algorithm::parse(&record.algorithm).ok_or_else(|| {
            record_error(
                "algorithm",
                format!(
                    "unknown algorithm {:?} (expected one of {})",
                    record.algorithm,
                    Algorithm::NAMES
                ),
            )
        })?;
        if record.iterations.is_some() && algorithm != Algorithm::Pbkdf2 {
            return Err(record_error("iterations", "only pbkdf2 takes iterations"));
        }
        let salt = record.salt.clone();
        Ok(match algorithm {
            Algorithm::Plain => Stored::Plain(record.hash.as_bytes().to_vec()),
            Algorithm::Md5 => Stored::Md5 {
                digest: hex_array(&record.hash)?,
                salt,
            },
            Algorithm::Sha256 => Stored::Sha256 {
                digest: hex_array(&record.hash)?,
                salt,
            },
            Algorithm::Pbkdf2 => {
                let iterations = record
                    .iterations
                    .ok_or_else(|| record_error("iterations", "missing (pbkdf2 needs it)"))?;
                if iterations == 0 {
                    return Err(record_error("iterations", "must be at least 1"));
                }
                let digest = from_hex(&record.hash).map_err(|m| record_error("hash", m))?;
                if digest.is_empty() || digest.len() > PBKDF2_MAX_LEN {
                    return Err(record_error(
                        "hash",
                        format!("a pbkdf2 hash is 1 to {PBKDF2_MAX_LEN} bytes"),
                    ));
                }
                Stored::Pbkdf2 {
                    salt,
                    iterations,
                    digest,
                }
            }
            Algorithm::Bcrypt => {
                check_bcrypt(&record.hash).map_err(|m| record_error("hash", m))?;
                Stored::Bcrypt(record.hash.clone())
            }
        })
    }
}

/// A bcrypt string: `$2a$`, `$2b$`, `$2x$` or `$2y$`, a two-digit cost, 53 characters of salt
/// and hash.
fn check_bcrypt(hash: &str) -> Result<(), String> {
    let malformed = || "not a bcrypt hash ($2b$<cost>$<53 characters>)".to_string();
    let parts: Vec<&str> = hash.split('$').collect();
    let [empty, version, cost, rest] = parts.as_slice() else {
        return Err(malformed());
    };
    if !empty.is_empty() || !["2a", "2b", "2x", "2y"].contains(version) || rest.len() != 53 {
        return Err(malformed());
    }
    match cost.parse::<u32>() {
        Ok(cost) if cost.to_string().len() <= 2 && BCRYPT_COSTS.contains(&cost) => Ok(()),
        _ => Err(format!("bcrypt cost {cost:?} is not in 4..=31")),
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("hex of odd length {}", text.len()));
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => Ok(high << 4 | low),
            _ => Err(format!("not hex at character {}", i * 2 + 1)),
        })
        .collect()
}

fn hex_array<const N: usize>(text: &str) -> Result<[u8; N], RecordError> {
    let bytes = from_hex(text).map_err(|m| record_error("hash", m))?;
    bytes.as_slice().try_into().map_err(|_| {
        record_error(
            "hash",
            format!("expected {} hex digits, found {}", N * 2, text.len()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(algorithm: &str, hash: &str, salt: &str, iterations: Option<u32>) -> Stored {
        Stored::from_record(&Record {
            algorithm: algorithm.into(),
            hash: hash.into(),
            salt: salt.into(),
            iterations,
        })
        .unwrap()
    }

    #[test]
    fn md5_known_vectors() {
        // RFC 1321 test suite
        let s = stored("md5", "900150983cd24fb0d6963f7d28e17f72", "", None);
        assert!(s.verify(b"abc"));
        assert!(!s.verify(b"abd"));
        // salt prefix: md5("ab" ‖ "c") = md5("abc")
        let s = stored("md5", "900150983CD24FB0D6963F7D28E17F72", "ab", None);
        assert!(s.verify(b"c"));
        assert!(!s.verify(b"abc"));
        let s = stored("md5", "d41d8cd98f00b204e9800998ecf8427e", "", None);
        assert!(s.verify(b""));
    }

    #[test]
    fn sha256_known_vectors() {
        // FIPS 180-2 "abc"
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(stored("sha256", abc, "", None).verify(b"abc"));
        assert!(stored("sha256", abc, "a", None).verify(b"bc"));
        assert!(!stored("sha256", abc, "a", None).verify(b"abc"));
    }

    #[test]
    fn pbkdf2_hmac_sha256_known_vectors() {
        // RFC 7914 §11 / the widely published PBKDF2-HMAC-SHA256 vectors for "password"/"salt"
        let one = "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b";
        let two = "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43";
        let many = "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a";
        assert!(stored("pbkdf2", one, "salt", Some(1)).verify(b"password"));
        assert!(stored("pbkdf2", two, "salt", Some(2)).verify(b"password"));
        assert!(stored("pbkdf2", many, "salt", Some(4096)).verify(b"password"));
        assert!(!stored("pbkdf2", one, "salt", Some(2)).verify(b"password"));
        assert!(!stored("pbkdf2", one, "salt", Some(1)).verify(b"passwore"));
        // RFC 7914 §11: P = "passwd", S = "salt", c = 1, dkLen = 64
        let long = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                    49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";
        assert!(stored("pbkdf2", long, "salt", Some(1)).verify(b"passwd"));
    }

    #[test]
    fn bcrypt_known_vectors() {
        // OpenBSD / OpenWall test vectors
        let s = stored(
            "bcrypt",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "",
            None,
        );
        assert!(s.verify(b"U*U"));
        assert!(!s.verify(b"U*V"));
        assert!(s.is_expensive());
    }

    #[test]
    fn plain_compares_the_bytes() {
        let s = stored("plain", "public", "", None);
        assert!(s.verify(b"public"));
        assert!(!s.verify(b"publi"));
        assert!(!s.verify(b"publicc"));
        assert!(!s.is_expensive());
    }

    #[test]
    fn every_hasher_round_trips_through_a_record() {
        for algorithm in ["plain", "md5", "sha256", "pbkdf2", "bcrypt"] {
            let hasher = Hasher {
                algorithm: Algorithm::parse(algorithm).unwrap(),
                pbkdf2_iterations: 3,
                bcrypt_cost: 4,
            };
            let s = hasher.hash(b"s3cret").unwrap();
            assert_eq!(s.algorithm().name(), algorithm);
            assert!(s.verify(b"s3cret"), "{algorithm}");
            assert!(!s.verify(b"s3creT"), "{algorithm}");
            let back = Stored::from_record(&s.to_record()).unwrap();
            assert_eq!(back, s, "{algorithm}");
        }
    }

    #[test]
    fn salts_are_fresh_and_change_the_digest() {
        let hasher = Hasher::default();
        let (a, b) = (hasher.hash(b"x").unwrap(), hasher.hash(b"x").unwrap());
        assert_ne!(a.to_record().salt, b.to_record().salt);
        assert_eq!(a.to_record().salt.len(), 32);
        assert_ne!(a.to_record().hash, b.to_record().hash);
    }

    #[test]
    fn bad_records_name_the_field() {
        let error = |algorithm: &str, hash: &str, iterations| {
            Stored::from_record(&Record {
                algorithm: algorithm.into(),
                hash: hash.into(),
                salt: String::new(),
                iterations,
            })
            .unwrap_err()
        };
        assert_eq!(error("sha1", "", None).field, "algorithm");
        assert_eq!(error("md5", "abc", None).field, "hash");
        assert_eq!(error("md5", "zz", None).field, "hash");
        assert_eq!(error("sha256", &"a".repeat(32), None).field, "hash");
        assert_eq!(error("pbkdf2", "abcd", None).field, "iterations");
        assert_eq!(error("pbkdf2", "abcd", Some(0)).field, "iterations");
        assert_eq!(error("md5", &"a".repeat(32), Some(3)).field, "iterations");
        assert_eq!(error("bcrypt", "$2b$10$short", None).field, "hash");
        let bad_cost = format!("$2b$99${}", "C".repeat(53));
        assert!(error("bcrypt", &bad_cost, None).message.contains("cost"));
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(to_hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex("00ABff").unwrap(), vec![0, 0xab, 0xff]);
        assert!(from_hex("0").is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = stored("plain", "topsecret", "", None);
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
