//! Personal data at rest (`docs/CRYPTOGRAPHY.md`): resident ID numbers,
//! names and phone numbers are stored sealed with authenticated encryption, with a keyed hash
//! beside them so that a service can look a person up and find duplicates without decrypting.
//! Responses mask what they show.
//!
//! Two profiles, chosen per data key:
//!
//! - `standard`: AES-256-GCM seals, HMAC-SHA-256 hashes, HMAC-SHA-256 derives the working keys;
//! - `gm` (国密, for a GB/T 39786 review): SM4-GCM seals (GB/T 32907 in GCM mode, the RustCrypto
//!   `sm4` cipher in the `aes-gcm` crate's generic GCM), HMAC-SM3 hashes (GB/T 32905) and derives.
//!
//! Data keys have ids and are configured oldest first ([`DataKey::parse_list`]); new writes use
//! the newest, every configured key still decrypts. A stored value says which key and algorithm
//! sealed it:
//!
//! - under the original key (id `v1`, standard), as the suite wrote before keys had ids: the
//!   ciphertext `v1:<base64 nonce‖sealed‖tag>` and the hash as bare hex;
//! - under any other key: the ciphertext `<algorithm>:<key id>:<base64 nonce‖sealed‖tag>`, with
//!   `<algorithm>:<key id>` bound as associated data (so a header cannot be swapped), and the hash
//!   `<hash algorithm>:<key id>:<hex>`.
//!
//! After a new key is added, `qiancheng reencrypt <service>` ([`crate::rekey`]) moves old rows
//! to it. Until the database records that the move is complete, lookups consult the hash of
//! every configured key ([`PiiCipher::lookup_hashes`]), so a person stored under the old key is
//! found all the same.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, KeyInit as _, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use sm3::Sm3;
use sm4::Sm4;

use crate::error::Error;

/// SM4 in Galois/Counter Mode with a 96-bit nonce and a 128-bit tag.
type Sm4Gcm = AesGcm<Sm4, U12>;

/// The id of the original data key (`QIANCHENG_DATA_KEY`), whose stored values carry no header.
pub const ORIGINAL_KEY_ID: &str = "v1";

/// Bytes of a nonce.
const NONCE_BYTES: usize = 12;

/// Which algorithms a data key seals and hashes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// AES-256-GCM and HMAC-SHA-256.
    Standard,
    /// 国密: SM4-GCM and HMAC-SM3.
    Gm,
}

impl Profile {
    /// The profile named `text` (`standard`, `gm`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "standard" => Some(Self::Standard),
            "gm" => Some(Self::Gm),
            _ => None,
        }
    }

    /// Its name in configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Gm => "gm",
        }
    }

    /// The sealing algorithm, as ciphertexts name it.
    pub fn cipher_algorithm(self) -> &'static str {
        match self {
            Self::Standard => "aes-256-gcm",
            Self::Gm => "sm4-gcm",
        }
    }

    /// The keyed hash, as lookup hashes name it.
    pub fn hash_algorithm(self) -> &'static str {
        match self {
            Self::Standard => "hmac-sha256",
            Self::Gm => "hmac-sm3",
        }
    }

    /// The keyed hash of `parts` under `key` with this profile's hash function.
    fn mac(self, key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        match self {
            Self::Standard => {
                let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
                parts.iter().for_each(|p| mac.update(p));
                mac.finalize().into_bytes().into()
            }
            Self::Gm => {
                let mut mac = <Hmac<Sm3> as hmac::Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
                parts.iter().for_each(|p| mac.update(p));
                mac.finalize().into_bytes().into()
            }
        }
    }
}

/// A configured data key: its id, its profile and its 32-byte secret.
#[derive(Clone)]
pub struct DataKey {
    /// The id stored values name it by (`2026-gm`).
    pub id: String,
    /// What it seals and hashes with.
    pub profile: Profile,
    secret: [u8; 32],
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({}, {})", self.id, self.profile.name())
    }
}

impl DataKey {
    /// A key; the id has 1 to 32 lower-case letters, digits, `.` and `-`, and the id `v1` is the
    /// original key's, which is `standard`.
    pub fn new(id: &str, profile: Profile, secret: [u8; 32]) -> Result<Self, Error> {
        let valid = (1..=32).contains(&id.len())
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !valid {
            return Err(Error::Config(format!(
                "data key id {id:?} must have 1 to 32 lower-case letters, digits, '.' or '-'"
            )));
        }
        if id == ORIGINAL_KEY_ID && profile != Profile::Standard {
            return Err(Error::Config(format!(
                "data key id {ORIGINAL_KEY_ID} is the original key's, which is standard"
            )));
        }
        Ok(Self { id: id.to_owned(), profile, secret })
    }

    /// The original key (`QIANCHENG_DATA_KEY`): id `v1`, standard.
    pub fn original(secret: [u8; 32]) -> Self {
        Self { id: ORIGINAL_KEY_ID.to_owned(), profile: Profile::Standard, secret }
    }

    /// A new random key.
    pub fn generate(id: &str, profile: Profile) -> Result<Self, Error> {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        Self::new(id, profile, secret)
    }

    /// Parses `ID:PROFILE:BASE64` entries separated by commas, oldest first
    /// (`QIANCHENG_DATA_KEYS`).
    pub fn parse_list(text: &str) -> Result<Vec<Self>, Error> {
        let mut keys: Vec<Self> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let mut parts = entry.splitn(3, ':');
            let (Some(id), Some(profile), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(Error::Config("QIANCHENG_DATA_KEYS entries are ID:PROFILE:BASE64".to_owned()));
            };
            let id = id.trim();
            let profile = Profile::parse(profile)
                .ok_or_else(|| Error::Config(format!("QIANCHENG_DATA_KEYS: key {id} has no profile standard or gm")))?;
            let key = Self::new(id, profile, decode_secret(secret, &format!("QIANCHENG_DATA_KEYS: key {id}"))?)?;
            if keys.iter().any(|k| k.id == key.id) {
                return Err(Error::Config(format!("QIANCHENG_DATA_KEYS: key id {id} is listed twice")));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// The key as a `QIANCHENG_DATA_KEYS` entry (it holds the secret).
    pub fn to_entry(&self) -> String {
        format!("{}:{}:{}", self.id, self.profile.name(), STANDARD.encode(self.secret))
    }
}

/// A 32-byte secret from its base64 text; `what` names it in the error.
fn decode_secret(text: &str, what: &str) -> Result<[u8; 32], Error> {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Config(format!("{what} must be 32 bytes, base64")))
}

/// What seals under one key.
#[derive(Clone)]
enum Sealer {
    Aes(Box<Aes256Gcm>),
    Sm4(Box<Sm4Gcm>),
}

/// A data key ready for use: its sealer, its lookup key and the header its values carry.
#[derive(Clone)]
struct WorkingKey {
    id: String,
    profile: Profile,
    sealer: Sealer,
    lookup_key: [u8; 32],
    /// `v1` for the original key, `<algorithm>:<id>` for the others.
    header: String,
    /// `<hash algorithm>:<id>:` for the keys other than the original.
    hash_prefix: Option<String>,
}

impl WorkingKey {
    fn new(key: &DataKey) -> Self {
        let original = key.id == ORIGINAL_KEY_ID;
        let profile = key.profile;
        let (encryption_label, lookup_label) = if original {
            // The labels the suite derived its one key's working keys with, so that what was
            // written before keys had ids stays readable.
            ("qiancheng/pii/encryption/v1".to_owned(), "qiancheng/pii/lookup/v1".to_owned())
        } else {
            (
                format!("qiancheng/pii/encryption/{}", profile.cipher_algorithm()),
                format!("qiancheng/pii/lookup/{}", profile.hash_algorithm()),
            )
        };
        let encryption_key = profile.mac(&key.secret, &[encryption_label.as_bytes()]);
        let sealer = match profile {
            Profile::Standard => Sealer::Aes(Box::new(Aes256Gcm::new(&encryption_key.into()))),
            // SM4 keys are 128 bits: the first half of the derived key.
            Profile::Gm => {
                Sealer::Sm4(Box::new(Sm4Gcm::new_from_slice(&encryption_key[..16]).expect("SM4 takes a 16-byte key")))
            }
        };
        Self {
            id: key.id.clone(),
            profile,
            sealer,
            lookup_key: profile.mac(&key.secret, &[lookup_label.as_bytes()]),
            header: if original {
                ORIGINAL_KEY_ID.to_owned()
            } else {
                format!("{}:{}", profile.cipher_algorithm(), key.id)
            },
            hash_prefix: (!original).then(|| format!("{}:{}:", profile.hash_algorithm(), key.id)),
        }
    }

    /// The associated data bound to each ciphertext: the header, except under the original key
    /// (which bound none).
    fn aad(&self) -> &[u8] {
        if self.hash_prefix.is_none() { b"" } else { self.header.as_bytes() }
    }

    fn seal(&self, nonce: &[u8; NONCE_BYTES], plaintext: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg: plaintext, aad: self.aad() };
        match &self.sealer {
            Sealer::Aes(aead) => aead.encrypt(Nonce::from_slice(nonce), payload).ok(),
            Sealer::Sm4(aead) => aead.encrypt(Nonce::from_slice(nonce), payload).ok(),
        }
    }

    fn open(&self, nonce: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg: sealed, aad: self.aad() };
        match &self.sealer {
            Sealer::Aes(aead) => aead.decrypt(Nonce::from_slice(nonce), payload).ok(),
            Sealer::Sm4(aead) => aead.decrypt(Nonce::from_slice(nonce), payload).ok(),
        }
    }

    fn hash(&self, value: &str) -> String {
        let digest = hex::encode(self.profile.mac(&self.lookup_key, &[value.as_bytes()]));
        match &self.hash_prefix {
            Some(prefix) => format!("{prefix}{digest}"),
            None => digest,
        }
    }

    /// Whether `stored` (a lookup hash) was made under this key.
    fn hashed(&self, stored: &str) -> bool {
        match &self.hash_prefix {
            Some(prefix) => stored.starts_with(prefix.as_str()),
            None => !stored.contains(':'),
        }
    }
}

/// Encrypts, decrypts and hashes personal data under the configured data keys.
///
/// A clone shares the keys and the knowledge that the database has settled on the newest key
/// ([`PiiCipher::set_settled`]); that knowledge belongs to one database, so each service of a
/// process takes its own with [`PiiCipher::for_database`].
#[derive(Clone)]
pub struct PiiCipher {
    /// Oldest first; the last is the newest, which new writes use.
    keys: Arc<[WorkingKey]>,
    settled: Arc<AtomicBool>,
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "PiiCipher(keys {ids:?}, newest {})", self.newest().id)
    }
}

impl PiiCipher {
    /// A cipher with only the original key (`v1`, standard), from its 32 bytes.
    pub fn new(data_key: &[u8; 32]) -> Self {
        Self::with_keys(vec![DataKey::original(*data_key)]).expect("one key is a keyring")
    }

    /// A cipher over `keys`, oldest first: the last seals new values.
    pub fn with_keys(keys: Vec<DataKey>) -> Result<Self, Error> {
        if keys.is_empty() {
            return Err(Error::Config("no data key is configured".to_owned()));
        }
        for (n, key) in keys.iter().enumerate() {
            if keys[..n].iter().any(|k| k.id == key.id) {
                return Err(Error::Config(format!("data key id {} is configured twice", key.id)));
            }
        }
        Ok(Self { keys: keys.iter().map(WorkingKey::new).collect(), settled: Arc::new(AtomicBool::new(false)) })
    }

    /// A cipher from the base64 original key of the configuration.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        Ok(Self::new(&decode_secret(text, "QIANCHENG_DATA_KEY")?))
    }

    /// The keys of the configuration: `QIANCHENG_DATA_KEY` (the original key, `v1`) first when
    /// given, then the entries of `QIANCHENG_DATA_KEYS`, oldest first.
    pub fn from_config(original: Option<&str>, keys: Option<&str>) -> Result<Self, Error> {
        let mut all = Vec::new();
        if let Some(text) = original {
            all.push(DataKey::original(decode_secret(text, "QIANCHENG_DATA_KEY")?));
        }
        all.extend(DataKey::parse_list(keys.unwrap_or_default())?);
        if all.is_empty() {
            return Err(Error::Config(
                "QIANCHENG_DATA_KEY or QIANCHENG_DATA_KEYS is required: it encrypts personal data at rest".to_owned(),
            ));
        }
        Self::with_keys(all)
    }

    /// Loads the development data key kept at `path`, or makes one and keeps it there; `newer`
    /// keys (`QIANCHENG_DATA_KEYS`) follow it.
    pub fn load_or_create(path: &Path, newer: Option<&str>) -> Result<Self, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(_) => {
                let mut key = [0u8; 32];
                getrandom::getrandom(&mut key).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::Config(format!("cannot create {}: {e}", parent.display())))?;
                }
                let text = STANDARD.encode(key);
                crate::auth::write_secret(path, &text)?;
                text
            }
        };
        Self::from_config(Some(&text), newer)
    }

    /// The same keys, with no knowledge yet of which key a database has settled on: for each
    /// service of a process that runs several.
    pub fn for_database(&self) -> Self {
        Self { keys: self.keys.clone(), settled: Arc::new(AtomicBool::new(false)) }
    }

    fn newest(&self) -> &WorkingKey {
        self.keys.last().expect("a keyring has at least one key")
    }

    /// The id of the newest key, which new values are sealed and hashed under.
    pub fn newest_key_id(&self) -> &str {
        &self.newest().id
    }

    /// The profile of the newest key.
    pub fn profile(&self) -> Profile {
        self.newest().profile
    }

    /// The ids of the configured keys, oldest first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Whether a key with id `id` is configured.
    pub fn knows(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }

    /// Records whether the database holds every value under the newest key (the re-encryption
    /// to it is complete), so that lookups need only the newest key's hash.
    pub fn set_settled(&self, settled: bool) {
        self.settled.store(settled, Ordering::Relaxed);
    }

    /// Whether the database is known to hold every value under the newest key.
    pub fn is_settled(&self) -> bool {
        self.keys.len() == 1 || self.settled.load(Ordering::Relaxed)
    }

    /// Seals `plaintext` under the newest key with a fresh random nonce.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, Error> {
        let key = self.newest();
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::getrandom(&mut nonce).map_err(|e| Error::Pii(format!("no randomness: {e}")))?;
        let sealed =
            key.seal(&nonce, plaintext.as_bytes()).ok_or_else(|| Error::Pii("encryption failed".to_owned()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{}:{}", key.header, STANDARD.encode(blob)))
    }

    /// The key a stored ciphertext names, and its body.
    fn key_of<'a>(&self, stored: &'a str) -> Result<(&WorkingKey, &'a str), Error> {
        let (header, body) =
            stored.rsplit_once(':').ok_or_else(|| Error::Pii("stored ciphertext is malformed".to_owned()))?;
        let key = self.keys.iter().find(|k| k.header == header).ok_or_else(|| {
            // The header names an algorithm and a key id, never personal data.
            let named = header.rsplit(':').next().unwrap_or_default();
            Error::Pii(format!(
                "stored ciphertext names data key {:?}, which is not configured",
                named.chars().take(32).collect::<String>()
            ))
        })?;
        Ok((key, body))
    }

    /// Decrypts what [`PiiCipher::encrypt`] wrote under any configured key; an unknown key, a
    /// wrong key or a changed byte is an error.
    pub fn decrypt(&self, stored: &str) -> Result<String, Error> {
        let (key, body) = self.key_of(stored)?;
        let blob = STANDARD
            .decode(body)
            .ok()
            .filter(|b| b.len() > NONCE_BYTES)
            .ok_or_else(|| Error::Pii("stored ciphertext is malformed".to_owned()))?;
        let (nonce, sealed) = blob.split_at(NONCE_BYTES);
        let plain = key.open(nonce, sealed).ok_or_else(|| Error::Pii("ciphertext does not authenticate".to_owned()))?;
        String::from_utf8(plain).map_err(|_| Error::Pii("plaintext is not UTF-8".to_owned()))
    }

    /// Whether `stored` is sealed under the newest key.
    pub fn is_sealed_under_newest(&self, stored: &str) -> bool {
        stored.rsplit_once(':').is_some_and(|(header, _)| header == self.newest().header)
    }

    /// The keyed hash of `value` under the newest key: what a new row stores for lookups and
    /// duplicate checks.
    pub fn lookup_hash(&self, value: &str) -> String {
        self.newest().hash(value)
    }

    /// Every hash under which a row of `value` may be stored, the newest key's first: only it
    /// once the database has settled on the newest key, otherwise one per configured key (rows
    /// not yet re-encrypted carry an older key's). Lookups and duplicate checks match any.
    pub fn lookup_hashes(&self, value: &str) -> Vec<String> {
        if self.is_settled() { vec![self.lookup_hash(value)] } else { self.every_hash(value) }
    }

    /// The hash of `value` under every configured key, the newest first, whatever the database
    /// has settled on: for hashes that re-encryption cannot redo because their value is not
    /// stored (idempotency keys).
    pub fn every_hash(&self, value: &str) -> Vec<String> {
        self.keys.iter().rev().map(|k| k.hash(value)).collect()
    }

    /// Whether the stored hash `stored` was made under the newest key.
    pub fn is_hashed_under_newest(&self, stored: &str) -> bool {
        self.newest().hashed(stored)
    }

    /// How a value sealed under the newest key begins (`sm4-gcm:2026-gm:`), for counting rows.
    pub fn newest_cipher_prefix(&self) -> String {
        format!("{}:", self.newest().header)
    }

    /// How a hash under the newest key begins, or `None` for the original key, whose hashes are
    /// bare hex (no `:`).
    pub fn newest_hash_prefix(&self) -> Option<&str> {
        self.newest().hash_prefix.as_deref()
    }
}

/// Masks a person's name for display: the first character stays, the others become `*`, except
/// the last of a name of three or more characters (张*, 张*丰, 欧**锋).
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut masked = String::new();
            masked.push(chars[0]);
            masked.extend(std::iter::repeat_n('*', n - 2));
            masked.push(chars[n - 1]);
            masked
        }
    }
}

/// `text` with all but its first `keep_start` and last `keep_end` characters starred, or wholly
/// starred when it is too short to show any of it safely: a phone number (`138****5678`), an ID
/// number, a bank account number (the last four digits) as shown to those who may not read it.
pub fn masked(text: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.len() < keep_start + keep_end + 4 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..keep_start].iter().collect();
    out.push_str(&"*".repeat(chars.len() - keep_start - keep_end));
    out.extend(&chars[chars.len() - keep_end..]);
    out
}

/// A table of a service that holds sealed values or lookup hashes.
#[derive(Debug, Clone, Copy)]
pub struct SealedTable {
    /// The table.
    pub table: &'static str,
    /// Its primary-key column (text), the order the move walks in.
    pub key: &'static str,
    /// Columns holding values sealed by [`PiiCipher::encrypt`].
    pub ciphers: &'static [&'static str],
    /// Columns holding a lookup hash, each with the sealed column whose plaintext it hashes.
    pub hashes: &'static [(&'static str, &'static str)],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gm(id: &str, byte: u8) -> DataKey {
        DataKey::new(id, Profile::Gm, [byte; 32]).expect("a valid key")
    }

    #[test]
    fn ciphertext_round_trips_and_does_not_contain_the_plaintext() {
        let cipher = PiiCipher::new(&[7u8; 32]);
        let id = "42120219900307123X";
        let stored = cipher.encrypt(id).expect("encrypt");
        assert!(!stored.contains(id));
        assert!(stored.starts_with("v1:"), "the original key writes as the suite always has: {stored}");
        assert_ne!(stored, cipher.encrypt(id).expect("encrypt"), "fresh nonce each time");
        assert_eq!(cipher.decrypt(&stored).expect("decrypt"), id);
        assert!(PiiCipher::new(&[8u8; 32]).decrypt(&stored).is_err());
    }

    #[test]
    fn lookup_hash_is_stable_and_keyed() {
        let a = PiiCipher::new(&[1u8; 32]);
        let b = PiiCipher::new(&[2u8; 32]);
        assert_eq!(a.lookup_hash("x"), a.lookup_hash("x"));
        assert_ne!(a.lookup_hash("x"), b.lookup_hash("x"));
        assert_eq!(a.lookup_hash("x").len(), 64, "the original key's hashes are bare hex");
    }

    #[test]
    fn what_the_original_key_wrote_before_keys_had_ids_still_opens() {
        // Sealed and hashed by the suite's earlier code under the key of 32 bytes of 7s.
        let key = [7u8; 32];
        let derive = |label: &str| Profile::Standard.mac(&key, &[label.as_bytes()]);
        let aead = Aes256Gcm::new(&derive("qiancheng/pii/encryption/v1").into());
        let nonce = [3u8; 12];
        let sealed =
            aes_gcm::aead::Aead::encrypt(&aead, Nonce::from_slice(&nonce), b"13800000000".as_slice()).expect("seal");
        let stored = format!("v1:{}", STANDARD.encode([nonce.as_slice(), &sealed].concat()));
        let cipher = PiiCipher::new(&key);
        assert_eq!(cipher.decrypt(&stored).expect("decrypt"), "13800000000");
        let hash = hex::encode(Profile::Standard.mac(&derive("qiancheng/pii/lookup/v1"), &[b"x"]));
        assert_eq!(cipher.lookup_hash("x"), hash);
    }

    #[test]
    fn the_gm_profile_seals_with_sm4_and_hashes_with_hmac_sm3_naming_its_key() {
        let cipher = PiiCipher::with_keys(vec![DataKey::original([1; 32]), gm("2026-gm", 2)]).expect("keys");
        let stored = cipher.encrypt("张三").expect("encrypt");
        assert!(stored.starts_with("sm4-gcm:2026-gm:"), "{stored}");
        assert_eq!(cipher.decrypt(&stored).expect("decrypt"), "张三");
        assert!(cipher.is_sealed_under_newest(&stored));
        let hash = cipher.lookup_hash("42120219900307123X");
        assert!(hash.starts_with("hmac-sm3:2026-gm:") && hash.len() == "hmac-sm3:2026-gm:".len() + 64, "{hash}");
        assert!(cipher.is_hashed_under_newest(&hash));
        assert_eq!(cipher.newest_key_id(), "2026-gm");
        assert_eq!(cipher.profile(), Profile::Gm);
    }

    #[test]
    fn every_configured_key_decrypts_and_new_values_use_the_newest() {
        let old = PiiCipher::new(&[1; 32]);
        let sealed_old = old.encrypt("13800000000").expect("encrypt");
        let both = PiiCipher::with_keys(vec![DataKey::original([1; 32]), gm("k2", 2)]).expect("keys");
        assert_eq!(both.decrypt(&sealed_old).expect("the old key still opens"), "13800000000");
        assert!(!both.is_sealed_under_newest(&sealed_old));
        assert!(!both.is_hashed_under_newest(&old.lookup_hash("x")));
        let sealed_new = both.encrypt("13800000000").expect("encrypt");
        assert!(old.decrypt(&sealed_new).is_err(), "a cipher without the new key cannot open it");
        assert!(old.decrypt(&sealed_new).expect_err("unknown").to_string().contains("\"k2\""));
    }

    #[test]
    fn until_the_move_is_settled_lookups_consult_every_key() {
        let old = PiiCipher::new(&[1; 32]);
        let both = PiiCipher::with_keys(vec![DataKey::original([1; 32]), gm("k2", 2)]).expect("keys");
        let hashes = both.lookup_hashes("v");
        assert_eq!(hashes, [both.lookup_hash("v"), old.lookup_hash("v")], "the newest first, then the older");
        both.set_settled(true);
        assert_eq!(both.lookup_hashes("v"), [both.lookup_hash("v")]);
        assert_eq!(both.every_hash("v").len(), 2, "idempotency keys always consult every key");
        assert!(!both.for_database().is_settled(), "settlement belongs to one database");
    }

    #[test]
    fn a_swapped_header_does_not_authenticate() {
        let a = PiiCipher::with_keys(vec![gm("k2", 2)]).expect("keys");
        let b = PiiCipher::with_keys(vec![gm("k2", 2), gm("k3", 2)]).expect("keys");
        let stored = b.encrypt("x").expect("encrypt");
        let swapped = stored.replacen("sm4-gcm:k3:", "sm4-gcm:k2:", 1);
        assert!(a.decrypt(&swapped).is_err(), "the header is bound to the ciphertext as associated data");
    }

    #[test]
    fn sm4_gcm_matches_the_published_test_vector() {
        // RFC 8998, appendix A.1 (SM4-GCM).
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").expect("hex");
        let nonce = hex::decode("00001234567800000000ABCD").expect("hex");
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").expect("hex");
        let plaintext = hex::decode(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFF\
             EEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        )
        .expect("hex");
        let aead = Sm4Gcm::new_from_slice(&key).expect("key");
        let sealed = aead.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad: &aad }).expect("encrypt");
        assert_eq!(
            hex::encode_upper(sealed),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15\
             A56834CBCF98C397B4024A2691233B8D83DE3541E4C2B58177E065A9BF7B62EC"
        );
    }

    #[test]
    fn hmac_sm3_matches_sm3_of_the_standard() {
        // GB/T 32905-2016, example 1: SM3("abc").
        use sm3::Digest as _;
        assert_eq!(
            hex::encode(Sm3::digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        // HMAC-SM3 is RFC 2104 over SM3: checked against a second computation by definition.
        let key = [0x0bu8; 20];
        let inner = Sm3::digest([[0x36u8 ^ 0x0b; 20].as_slice(), &[0x36u8; 44], b"Hi There"].concat());
        let outer = Sm3::digest([[0x5cu8 ^ 0x0b; 20].as_slice(), &[0x5cu8; 44], inner.as_slice()].concat());
        assert_eq!(Profile::Gm.mac(&key, &[b"Hi There"]), <[u8; 32]>::from(outer));
    }

    #[test]
    fn data_key_lists_parse_oldest_first_and_refuse_what_is_wrong() {
        let secret = STANDARD.encode([9u8; 32]);
        let keys = DataKey::parse_list(&format!("v1:standard:{secret}, 2026-gm:gm:{secret}")).expect("valid");
        assert_eq!(
            keys.iter().map(|k| (k.id.as_str(), k.profile)).collect::<Vec<_>>(),
            [("v1", Profile::Standard), ("2026-gm", Profile::Gm)]
        );
        assert_eq!(DataKey::parse_list(&keys[1].to_entry()).expect("round trip")[0].id, "2026-gm");
        for bad in [
            format!("k1:gm:{secret},k1:gm:{secret}"),
            format!("K1:gm:{secret}"),
            format!("k1:rot13:{secret}"),
            "k1:gm:c2hvcnQ=".to_owned(),
            format!("v1:gm:{secret}"),
            "k1".to_owned(),
        ] {
            let error = DataKey::parse_list(&bad).expect_err("refused");
            assert!(!error.to_string().contains(&secret), "no secret in the error: {error}");
        }
        assert!(PiiCipher::from_config(None, None).is_err(), "no key at all is refused");
    }

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("欧阳锋锋"), "欧**锋");
        assert_eq!(mask_name("李"), "*");
    }

    #[test]
    fn numbers_keep_only_their_ends() {
        assert_eq!(masked("6228480012345678", 0, 4), "************5678");
        assert_eq!(masked(" 13812345678 ", 3, 4), "138****5678");
        assert_eq!(masked("1234567", 0, 4), "*******", "too short to show any of it");
    }
}
