//! Verdicts and their history as stored.

use qiancheng_domain::RegionCode;
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// A trainee's current verdict; `body` is the API's Verdict (protobuf, base64).
#[derive(Debug, Clone, Record)]
#[record(table = "verdict", key = "trainee_id", what = "the verdict")]
pub struct VerdictRecord {
    /// The trainee's id.
    pub trainee_id: String,
    /// The project's id.
    #[column(fixed)]
    pub project_id: String,
    /// The class's id.
    #[column(fixed)]
    pub class_id: String,
    /// The class's county.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The provider's credit code.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// Positive.
    pub positive: bool,
    /// The verdict.
    pub body: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

/// One revision of a verdict, kept.
#[derive(Debug, Clone, Record)]
#[record(table = "verdict_history", key = "id", what = "the verdict revision")]
pub struct VerdictHistoryRecord {
    /// `{trainee}/{revision, zero-padded}`.
    pub id: String,
    /// The trainee's id.
    pub trainee_id: String,
    /// The revision.
    pub revision: i64,
    /// The verdict.
    pub body: String,
    /// When decided.
    pub decided_micros: i64,
}
