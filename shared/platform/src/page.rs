//! Pagination (AIP-158): `page_size` with a default and a ceiling, and an opaque `page_token`.
//!
//! Lists are ordered by a unique text key; the token carries the last key of the page before and
//! a fingerprint of the list and its filters, so a token is refused by any other list or with
//! other filters instead of silently skipping rows.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::error::Error;

/// Page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page served, whatever the caller asks.
pub const MAX_PAGE_SIZE: i64 = 500;

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows to return.
    pub size: i64,
    /// Return rows whose key is greater than this (empty for the first page).
    pub after: String,
    fingerprint: String,
}

fn fingerprint(query: &str) -> String {
    hex::encode(&Sha256::digest(query.as_bytes())[..8])
}

impl PageRequest {
    /// Validates `page_size` and decodes `page_token` for the list described by `query` (the
    /// list's name and its filter values).
    pub fn parse(page_size: i32, page_token: &str, query: &str) -> Result<Self, Error> {
        if page_size < 0 {
            return Err(Error::invalid("page_size", "PAGE", "page_size must not be negative"));
        }
        let size = match i64::from(page_size) {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let fingerprint = fingerprint(query);
        let after = if page_token.is_empty() {
            String::new()
        } else {
            URL_SAFE_NO_PAD
                .decode(page_token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|s| s.strip_prefix(&format!("{fingerprint}:")).map(str::to_owned))
                .ok_or_else(|| {
                    Error::invalid("page_token", "PAGE", "page_token was not issued by this list with these filters")
                })?
        };
        Ok(Self { size, after, fingerprint })
    }

    /// The number of rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts the fetched rows to the page and returns its last row when another page follows.
    fn cut<'r, T>(&self, rows: &'r mut Vec<T>) -> Option<&'r T> {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() > size {
            rows.truncate(size);
            rows.last()
        } else {
            None
        }
    }

    /// The token of the page after the row whose key is `last_key`.
    pub fn token(&self, last_key: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{last_key}", self.fingerprint))
    }

    /// Cuts the fetched rows to the page and returns the token of the next page.
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> String {
        self.cut(rows).map(|last| self.token(&key(last))).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_token_round_trips_and_foreign_tokens_are_refused() {
        let request = PageRequest::parse(2, "", "vacancies|DRAFT").expect("valid");
        let mut rows = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let token = request.finish(&mut rows, Clone::clone);
        assert_eq!(rows, ["a", "b"]);
        let next = PageRequest::parse(2, &token, "vacancies|DRAFT").expect("our token");
        assert_eq!(next.after, "b");
        assert!(PageRequest::parse(2, &token, "vacancies|PUBLISHED").is_err(), "other filters");
        assert!(PageRequest::parse(2, &token, "enterprises|").is_err(), "another list");
        assert!(PageRequest::parse(2, "not-a-token", "vacancies|DRAFT").is_err());
        assert!(PageRequest::parse(-1, "", "x").is_err());
        assert_eq!(PageRequest::parse(0, "", "x").expect("default").size, DEFAULT_PAGE_SIZE);
        assert_eq!(PageRequest::parse(10_000, "", "x").expect("capped").size, MAX_PAGE_SIZE);
    }

    #[test]
    fn last_page_has_no_token() {
        let request = PageRequest::parse(5, "", "x").expect("valid");
        let mut rows = vec![1, 2];
        assert_eq!(request.finish(&mut rows, ToString::to_string), "");
    }
}
