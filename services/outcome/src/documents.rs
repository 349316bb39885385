//! The content-addressed document store (八(三)): each document is a file named by the SHA-256
//! of its content under `documents/` of the data directory, written once (the same content is
//! stored once), read back checked against its address, and kept at least until the end of its
//! retention period: the store has no way to delete a document, and [`Documents::may_delete`]
//! says when one could be.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use qiancheng_platform::Error;
use sha2::{Digest as _, Sha256};

/// How long documents are kept after the day they were stored, in years (八(三) keeps training
/// records; the subsidy claim's proofs may be audited years after).
pub const RETENTION_YEARS: u32 = 10;

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// A folder of documents by SHA-256.
#[derive(Debug, Clone)]
pub struct Documents {
    root: PathBuf,
}

impl Documents {
    /// The store under `data_dir/documents`.
    pub fn under(data_dir: &Path) -> Self {
        Self { root: data_dir.join("documents") }
    }

    /// The SHA-256 of `content`, lowercase hex.
    pub fn address(content: &[u8]) -> String {
        hex::encode(Sha256::digest(content))
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Stores `content` and returns its address; content stored before is not written again.
    pub async fn put(&self, content: &[u8]) -> Result<String, Error> {
        let sha256 = Self::address(content);
        let path = self.path_of(&sha256);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(sha256);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
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
        let content =
            tokio::fs::read(self.path_of(sha256)).await.map_err(|_| Error::corrupt("a document of the store"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_document_is_stored_once_by_its_address_and_read_back_checked() {
        let dir = tempfile::tempdir().expect("a folder");
        let store = Documents::under(dir.path());
        let first = store.put(b"labour contract").await.expect("stored");
        assert_eq!(first, Documents::address(b"labour contract"));
        assert_eq!(store.put(b"labour contract").await.expect("stored again"), first);
        assert_eq!(store.get(&first).await.expect("read"), b"labour contract");
        // A file changed on disk no longer matches its address.
        std::fs::write(store.path_of(&first), b"forged").expect("overwrite");
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
