//! Acceptances (综合评估和验收) as stored.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// The bureau's acceptance of a project; `rates` is the API's rates on the day (JSON pairs).
#[derive(Debug, Clone, Record)]
#[record(table = "acceptance", key = "project_id", what = "the acceptance")]
pub struct AcceptanceRecord {
    /// The project's id.
    pub project_id: String,
    /// The project's county.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// Accepted or refused.
    pub accepted: bool,
    /// The reasons.
    #[column(json)]
    pub reasons: Vec<String>,
    /// The day the bureau decided.
    pub decided_on: NaiveDate,
    /// Who recorded it.
    pub recorded_by: String,
    /// The rates on the day: `[basis, numerator, denominator]`.
    #[column(json)]
    pub rates: Vec<(String, i64, i64)>,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}
