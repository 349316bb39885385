//! The content-addressed document store (八(三)): each document is named by the SHA-256 of its
//! content, written once (the same content is stored once), read back checked against its
//! address, and kept at least until the end of its retention period: the store has no way to
//! delete a document, and [`Documents::may_delete`] says when one could be.
//!
//! By default the documents are files under `documents/` of the data directory. With
//! `QIANCHENG_OUTCOME_DOCUMENTS_S3_ENDPOINT` set they go to an S3-compatible object store
//! ([`qiancheng_platform::object_store`]), keyed `{prefix}{aa}/{sha256}`, and with
//! `QIANCHENG_OUTCOME_DOCUMENTS_S3_OBJECT_LOCK=1` each is put under Object Lock (COMPLIANCE)
//! until the last day of its retention period, so that the store itself refuses to delete it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use qiancheng_platform::object_store::{ObjectStore, ObjectStoreConfig};

use chrono::NaiveDate;
use qiancheng_platform::Error;
use sha2::{Digest as _, Sha256};

/// How long documents are kept after the day they were stored, in years (八(三) keeps training
/// records; the subsidy claim's proofs may be audited years after).
pub const RETENTION_YEARS: u32 = 10;

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// The prefix of the document store's settings (`QIANCHENG_OUTCOME_DOCUMENTS_S3_ENDPOINT`, …).
pub const SETTINGS_PREFIX: &str = "QIANCHENG_OUTCOME_DOCUMENTS";

/// Documents by SHA-256, in a folder or an object store.
#[derive(Debug, Clone)]
pub struct Documents {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Folder(PathBuf),
    Objects(ObjectStore),
    /// The object store's settings are wrong: every document is refused with why, rather than
    /// written where nobody looks for it.
    Misconfigured(Arc<str>),
}

impl Documents {
    /// The store under `data_dir/documents`.
    pub fn under(data_dir: &Path) -> Self {
        Self { backend: Backend::Folder(data_dir.join("documents")) }
    }

    /// The store in an S3-compatible object store.
    pub fn in_object_store(store: ObjectStore) -> Self {
        Self { backend: Backend::Objects(store) }
    }

    /// The store `env` configures: the object store when its endpoint is set, else the folder
    /// under `data_dir`. Settings that are wrong are logged, and every document is refused
    /// with the reason (UNAVAILABLE) until they are mended.
    pub fn configured(data_dir: &Path, env: &std::collections::BTreeMap<String, String>) -> Self {
        match ObjectStoreConfig::from_env(SETTINGS_PREFIX, env).and_then(|c| c.map(ObjectStore::new).transpose()) {
            Ok(Some(store)) => {
                tracing::info!(?store, "documents go to the object store");
                Self::in_object_store(store)
            }
            Ok(None) => Self::under(data_dir),
            Err(error) => {
                tracing::error!(%error, "the document store is misconfigured: every document is refused until it is mended");
                Self { backend: Backend::Misconfigured(error.to_string().into()) }
            }
        }
    }

    fn object_key(sha256: &str) -> String {
        format!("{}/{sha256}", &sha256[..2])
    }

    /// The SHA-256 of `content`, lowercase hex.
    pub fn address(content: &[u8]) -> String {
        hex::encode(Sha256::digest(content))
    }

    fn path_of(root: &Path, sha256: &str) -> PathBuf {
        root.join(&sha256[..2]).join(sha256)
    }

    /// Stores `content`, retained until [`Documents::retain_until`] of `today`, and returns its
    /// address; content stored before is not written again.
    pub async fn put(&self, content: &[u8], today: NaiveDate) -> Result<String, Error> {
        let sha256 = Self::address(content);
        let root = match &self.backend {
            Backend::Folder(root) => root,
            Backend::Objects(store) => {
                let key = Self::object_key(&sha256);
                if !store.exists(&key).await? {
                    store.put(&key, content, Self::retain_until(today)).await?;
                }
                return Ok(sha256);
            }
            Backend::Misconfigured(why) => return Err(misconfigured(why)),
        };
        let path = Self::path_of(root, &sha256);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(sha256);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
        tokio::fs::create_dir_all(&dir).await.map_err(|e| Error::Config(format!("document store: {e}")))?;
        // Written under a temporary name and renamed: a reader never sees half a document.
        let partial = dir.join(format!("{sha256}.{}.partial", ulid::Ulid::new()));
        tokio::fs::write(&partial, content).await.map_err(|e| Error::Config(format!("document store: {e}")))?;
        tokio::fs::rename(&partial, &path).await.map_err(|e| Error::Config(format!("document store: {e}")))?;
        Ok(sha256)
    }

    /// The content stored under `sha256`, checked against it: a file that is missing or does not
    /// match its address is corrupt.
    pub async fn get(&self, sha256: &str) -> Result<Vec<u8>, Error> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::corrupt("a document address"));
        }
        let content = match &self.backend {
            Backend::Folder(root) => tokio::fs::read(Self::path_of(root, sha256)).await.ok(),
            Backend::Objects(store) => store.get(&Self::object_key(sha256)).await?,
            Backend::Misconfigured(why) => return Err(misconfigured(why)),
        };
        let content = content.ok_or_else(|| Error::corrupt("a document of the store"))?;
        if Self::address(&content) != sha256 {
            return Err(Error::corrupt("a document of the store"));
        }
        Ok(content)
    }

    /// The last day of the retention period of a document stored on `stored_on`.
    pub fn retain_until(stored_on: NaiveDate) -> NaiveDate {
        qiancheng_domain::add_months(stored_on, RETENTION_YEARS * 12)
    }

    /// Whether a document retained until `retain_until` may be deleted on `today`: never within
    /// its retention period.
    pub fn may_delete(retain_until: NaiveDate, today: NaiveDate) -> bool {
        today > retain_until
    }
}

fn misconfigured(why: &str) -> Error {
    Error::Peer {
        service: "documents",
        status: Box::new(tonic::Status::unavailable(format!("the document store: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_document_is_stored_once_by_its_address_and_read_back_checked() {
        let dir = tempfile::tempdir().expect("a folder");
        let store = Documents::under(dir.path());
        let today = NaiveDate::from_ymd_opt(2027, 5, 1).expect("date");
        let first = store.put(b"labour contract", today).await.expect("stored");
        assert_eq!(first, Documents::address(b"labour contract"));
        assert_eq!(store.put(b"labour contract", today).await.expect("stored again"), first);
        assert_eq!(store.get(&first).await.expect("read"), b"labour contract");
        // A file changed on disk no longer matches its address.
        std::fs::write(Documents::path_of(&dir.path().join("documents"), &first), b"forged").expect("overwrite");
        assert!(store.get(&first).await.is_err());
        assert!(store.get("not-an-address").await.is_err());
    }

    #[test]
    fn a_document_may_not_be_deleted_within_its_retention_period() {
        let stored = NaiveDate::from_ymd_opt(2026, 2, 28).expect("date");
        let until = Documents::retain_until(stored);
        assert_eq!(until, NaiveDate::from_ymd_opt(2036, 2, 28).expect("date"));
        assert!(!Documents::may_delete(until, until));
        assert!(Documents::may_delete(until, until.succ_opt().expect("date")));
    }
}
