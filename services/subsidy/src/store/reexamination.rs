//! Re-examinations (复核) as stored: the decision they concern (the review's day and officer),
//! the provider's grounds, and the finding once decided.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// A re-examination as stored.
#[derive(Debug, Clone, Record)]
#[record(table = "claim_reexamination", alias = "x", what = "the re-examination")]
pub struct ReexaminationRecord {
    /// Assigned.
    pub id: String,
    /// The claim.
    #[column(fixed)]
    pub claim_id: String,
    /// The claim's filing bureau.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The claim's provider.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// The excluded line's roster entry; empty for a returned claim.
    #[column(fixed)]
    pub trainee: String,
    /// The provider's grounds.
    #[column(fixed)]
    pub grounds: String,
    /// The day of the review concerned.
    #[column(fixed)]
    pub decision_on: NaiveDate,
    /// The officer who made that decision.
    #[column(fixed)]
    pub decision_by: String,
    /// UPHELD or DISMISSED once decided; empty while open.
    pub finding: String,
    /// Why; empty while open.
    pub finding_note: String,
    /// Who asked.
    #[column(fixed)]
    pub requested_by: String,
    /// Who decided; empty while open.
    pub decided_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl ReexaminationRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("claims/{}/reexaminations/{}", self.claim_id, self.id)
    }
}
