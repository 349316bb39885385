//! The revision and times every resource people edit carries (AIP-154): a revision counted from
//! 1, an etag derived from it, and create and update times in microseconds since the epoch. A
//! change checks the caller's etag (stale → `ABORTED`) and touches the stamp, once, here.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::time::now_micros;

/// Revision and times of a stored resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Counts changes from 1.
    pub revision: i64,
    /// Created, microseconds since the epoch (UTC).
    pub create_time_micros: i64,
    /// Last changed, microseconds since the epoch (UTC).
    pub update_time_micros: i64,
}

impl Stamp {
    /// The stamp of a resource created now.
    pub fn new() -> Self {
        let now = now_micros();
        Self { revision: 1, create_time_micros: now, update_time_micros: now }
    }

    /// The etag a client sends back to change the resource.
    pub fn etag(&self) -> String {
        self.revision.to_string()
    }

    /// Refuses a change made from a stale read; an empty etag means "whatever is stored".
    pub fn check(&self, etag: &str) -> Result<(), Error> {
        if etag.is_empty() || etag == self.etag() { Ok(()) } else { Err(Error::StaleEtag) }
    }

    /// Records one more change, now.
    pub fn touch(&mut self) {
        self.revision += 1;
        // Never earlier than the last change, whatever the clock did in between.
        self.update_time_micros = now_micros().max(self.update_time_micros);
    }

    /// The revision the stored row has until this change commits (the one [`Stamp::touch`]
    /// moved on from): updates write `WHERE revision = previous`, so a change made concurrently
    /// from the same read is refused instead of lost ([`crate::db::changed_one`]).
    pub fn previous_revision(&self) -> i64 {
        self.revision - 1
    }

    /// The revision as the API shows it.
    pub fn revision_i32(&self) -> i32 {
        i32::try_from(self.revision).unwrap_or(i32::MAX)
    }
}

impl Default for Stamp {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_checks_the_etag_and_counts_the_revision() {
        let mut stamp = Stamp::new();
        assert_eq!(stamp.etag(), "1");
        assert!(stamp.check("").is_ok() && stamp.check("1").is_ok());
        stamp.touch();
        assert_eq!(stamp.revision, 2);
        assert!(matches!(stamp.check("1"), Err(Error::StaleEtag)));
        assert!(stamp.update_time_micros >= stamp.create_time_micros);
    }
}
