//! Personal data at rest (DESIGN.md, Security): resident ID numbers, names and phone numbers are
//! stored encrypted with AES-256-GCM, with a keyed hash (HMAC-SHA-256) beside them so that a
//! service can look a person up and find duplicates without decrypting. Both keys derive from one
//! configured data key; responses mask what they show.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::Aead as _;
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::error::Error;

/// Prefix of every ciphertext this version writes, so that a later key or algorithm can coexist.
const CIPHERTEXT_PREFIX: &str = "v1:";

/// Encrypts, decrypts and hashes personal data.
#[derive(Clone)]
pub struct PiiCipher {
    aead: Aes256Gcm,
    lookup_key: [u8; 32],
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiCipher(..)")
    }
}

fn derive(key: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl PiiCipher {
    /// A cipher from the 32-byte data key.
    pub fn new(data_key: &[u8; 32]) -> Self {
        let encryption_key = derive(data_key, "qiancheng/pii/encryption/v1");
        Self { aead: Aes256Gcm::new(&encryption_key.into()), lookup_key: derive(data_key, "qiancheng/pii/lookup/v1") }
    }

    /// A cipher from the base64 data key of the configuration.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        let key: [u8; 32] = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::Config("QIANCHENG_DATA_KEY must be 32 bytes, base64".to_owned()))?;
        Ok(Self::new(&key))
    }

    /// Loads the development data key kept at `path`, or makes one and keeps it there.
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Self::from_base64(&text);
        }
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Config(format!("cannot create {}: {e}", parent.display())))?;
        }
        crate::auth::write_secret(path, &STANDARD.encode(key))?;
        Ok(Self::new(&key))
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, Error> {
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| Error::Pii(format!("no randomness: {e}")))?;
        let sealed = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| Error::Pii("encryption failed".to_owned()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{CIPHERTEXT_PREFIX}{}", STANDARD.encode(blob)))
    }

    /// Decrypts what [`PiiCipher::encrypt`] wrote; a wrong key or a changed byte is an error.
    pub fn decrypt(&self, stored: &str) -> Result<String, Error> {
        let blob = stored
            .strip_prefix(CIPHERTEXT_PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or_else(|| Error::Pii("stored ciphertext is malformed".to_owned()))?;
        let (nonce, sealed) = blob.split_at(12);
        let plain = self
            .aead
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| Error::Pii("ciphertext does not authenticate".to_owned()))?;
        String::from_utf8(plain).map_err(|_| Error::Pii("plaintext is not UTF-8".to_owned()))
    }

    /// The keyed hash of `value` for lookups and duplicate checks (hex).
    pub fn lookup_hash(&self, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.lookup_key).expect("HMAC takes a key of any length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciphertext_round_trips_and_does_not_contain_the_plaintext() {
        let cipher = PiiCipher::new(&[7u8; 32]);
        let id = "42120219900307123X";
        let stored = cipher.encrypt(id).expect("encrypt");
        assert!(!stored.contains(id));
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
    }

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("欧阳锋锋"), "欧**锋");
        assert_eq!(mask_name("李"), "*");
    }
}
