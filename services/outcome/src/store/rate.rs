//! Project rates and their change feed as stored.

use qiancheng_platform::Error;
use qiancheng_platform::db::Tx;
use qiancheng_platform::record::{self, Record};

/// A project's current rate of one kind; keyed `{project}/{basis}`.
#[derive(Debug, Clone, Record)]
#[record(table = "project_rate", key = "id", what = "the project rate")]
pub struct ProjectRateRecord {
    /// `{project}/{basis}`.
    pub id: String,
    /// The project's id.
    pub project_id: String,
    /// `EMPLOYMENT` or `CERTIFICATE`.
    pub basis: String,
    /// Positive verdicts.
    pub numerator: i64,
    /// Trainees counted.
    pub denominator: i64,
    /// The feed's sequence of the latest change.
    pub change_sequence: i64,
}

/// One change of a project's rate.
#[derive(Debug, Clone, Record)]
#[record(table = "rate_change", key = "sequence", what = "the rate change")]
pub struct RateChangeRecord {
    /// Its place in the feed.
    pub sequence: i64,
    /// The project's id.
    pub project_id: String,
    /// `EMPLOYMENT` or `CERTIFICATE`.
    pub basis: String,
    /// The new numerator.
    pub numerator: i64,
    /// The new denominator.
    pub denominator: i64,
    /// The numerator before.
    pub previous_numerator: i64,
    /// The denominator before.
    pub previous_denominator: i64,
    /// The policy version.
    pub policy_version: String,
    /// What caused it.
    pub cause: String,
    /// When.
    pub changed_micros: i64,
}

/// The next sequence of the feed, inside the change's transaction (writers of the feed take
/// turns: see `rate::write_rates`).
pub async fn next_sequence(tx: &mut Tx) -> Result<i64, Error> {
    let last = record::all::<RateChangeRecord>(&mut **tx, record::Filter::new(), "sequence DESC LIMIT 1").await?;
    Ok(last.first().map_or(1, |r| r.sequence + 1))
}
