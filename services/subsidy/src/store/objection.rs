//! Objections (异议) to a claim on public notice as stored: the objector's contact sealed, the
//! text, and the finding once an officer resolves it.

use qiancheng_domain::RegionCode;
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// The objection's columns that hold personal data, for re-encryption under a newer data key.
pub const SEALED: qiancheng_platform::rekey::SealedTable = qiancheng_platform::rekey::SealedTable {
    table: "claim_objection",
    key: "id",
    ciphers: &["contact_cipher"],
    hashes: &[],
};

/// An objection as stored.
#[derive(Debug, Clone, Record)]
#[record(table = "claim_objection", alias = "o", what = "the objection")]
pub struct ObjectionRecord {
    /// Assigned.
    pub id: String,
    /// The claim objected to.
    #[column(fixed)]
    pub claim_id: String,
    /// The claim's filing bureau.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// How it arrived (ONLINE, PHONE, LETTER, IN_PERSON).
    #[column(fixed)]
    pub channel: String,
    /// The objector's contact, sealed.
    #[column(fixed)]
    pub contact_cipher: String,
    /// The objection.
    #[column(fixed)]
    pub body: String,
    /// UPHELD or DISMISSED once resolved; empty while open.
    pub finding: String,
    /// The officer's finding; empty while open.
    pub finding_note: String,
    /// Who recorded it (`public` for the public RPC).
    #[column(fixed)]
    pub recorded_by: String,
    /// Who resolved it; empty while open.
    pub resolved_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl ObjectionRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("claims/{}/objections/{}", self.claim_id, self.id)
    }
}
