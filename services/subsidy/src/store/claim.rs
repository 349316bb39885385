//! Claims (补贴申请) as stored: the snapshot the peers gave (sealed: it holds names and ID
//! numbers), the standards it was calculated with, and the calculation with names masked.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::subsidy::{ClaimFacts, ClaimMaterial, ClaimOutcome};
use qiancheng_domain::policy::tables::SubsidyStandard;
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// The claim's columns that hold personal data, for re-encryption under a newer data key.
pub const SEALED: qiancheng_platform::rekey::SealedTable =
    qiancheng_platform::rekey::SealedTable { table: "claim", key: "id", ciphers: &["facts_cipher"], hashes: &[] };

/// Where a claim stands, by its stored code: filed (or back in review), waiting for review.
pub const FILED: &str = "FILED";
/// Returned to its provider with reasons.
pub const RETURNED: &str = "RETURNED";
/// Reviewed and on public notice (SUBS-NOTICE).
pub const ON_NOTICE: &str = "ON_NOTICE";
/// Approved after its notice.
pub const APPROVED: &str = "APPROVED";

/// A line excluded at review, as stored: the trainee by their roster entry (no ID number), the
/// reason and the officer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exclusion {
    /// The roster entry (`classes/{class}/trainees/{trainee}`).
    pub trainee: String,
    /// Why.
    pub reason: String,
    /// Who excluded it.
    pub excluded_by: String,
}

/// A claim as stored.
#[derive(Debug, Clone, Record)]
#[record(table = "claim", alias = "c", what = "the claim")]
pub struct ClaimRecord {
    /// Assigned.
    pub id: String,
    /// The selection project's id.
    #[column(fixed)]
    pub project_id: String,
    /// The project's title as selection had it when the facts were gathered; empty for claims
    /// gathered before it was kept (shown by the project's resource name).
    pub project_title: String,
    /// The provider.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// The filing bureau.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// Where it stands.
    pub state: String,
    /// The filing day.
    #[column(fixed)]
    pub filed_on: NaiveDate,
    /// The proofs listed.
    #[column(json)]
    pub materials: Vec<ClaimMaterial>,
    /// The policy set of the classes.
    pub policy_version: String,
    /// Its digest.
    pub policy_digest: String,
    /// When the peers were asked.
    pub snapshot_micros: i64,
    /// The project's acceptance day, when outcome had recorded it.
    pub project_accepted_on: Option<NaiveDate>,
    /// The snapshot ([`ClaimFacts`] as JSON), sealed; read back with the data key.
    pub facts_cipher: String,
    /// The standards table of the project's occupation as it was used.
    #[column(json)]
    pub standards: Vec<SubsidyStandard>,
    /// The calculation, names and ID numbers masked.
    #[column(json)]
    pub outcome: Calculation,
    /// The total, in fen.
    pub total_fen: i64,
    /// Who filed it.
    #[column(fixed)]
    pub created_by: String,
    /// The lines excluded at review.
    #[column(json)]
    pub exclusions: Vec<Exclusion>,
    /// Why the claim was returned, when it was.
    #[column(json)]
    pub return_reasons: Vec<String>,
    /// The officer who reviewed it; empty before review.
    pub reviewed_by: String,
    /// The day of the review.
    pub reviewed_on: Option<NaiveDate>,
    /// The day its notice was published.
    pub notice_published_on: Option<NaiveDate>,
    /// The last day of its notice.
    pub notice_ends_on: Option<NaiveDate>,
    /// The officer who approved it; empty before approval.
    pub approved_by: String,
    /// The day of the approval.
    pub approved_on: Option<NaiveDate>,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl ClaimRecord {
    /// Back to review: the review, its notice and any approval are void, and a new review puts
    /// the claim on a new notice (an upheld objection or re-examination, a recalculation).
    pub fn back_to_review(&mut self) {
        self.state = FILED.to_owned();
        self.return_reasons = Vec::new();
        self.reviewed_by = String::new();
        self.reviewed_on = None;
        self.notice_published_on = None;
        self.notice_ends_on = None;
        self.approved_by = String::new();
        self.approved_on = None;
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("claims/{}", self.id)
    }

    /// The project's resource name.
    pub fn project(&self) -> String {
        format!("projects/{}", self.project_id)
    }
}

/// The calculation of a claim as stored (a document of the policy core's [`ClaimOutcome`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Calculation(pub Option<ClaimOutcome>);

/// The snapshot as the policy core reads it.
pub type Snapshot = ClaimFacts;
