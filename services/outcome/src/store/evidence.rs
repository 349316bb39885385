//! Items of evidence as stored.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// An item of evidence.
#[derive(Debug, Clone, Record)]
#[record(table = "evidence", key = "id", what = "the evidence")]
pub struct EvidenceRecord {
    /// Id.
    pub id: String,
    /// The trainee's id.
    #[column(fixed)]
    pub trainee_id: String,
    /// The project's id.
    #[column(fixed)]
    pub project_id: String,
    /// The class's id.
    #[column(fixed)]
    pub class_id: String,
    /// The provider's credit code.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// The class's county.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The kind, as the API names it (`EVIDENCE_KIND_CONTRACT`).
    #[column(fixed)]
    pub kind: String,
    /// The state (`EVIDENCE_STATE_PENDING`).
    pub state: String,
    /// Where it came from (`EVIDENCE_SOURCE_PROVIDER`).
    #[column(fixed)]
    pub source: String,
    /// The content as submitted (see the migration).
    #[column(fixed)]
    pub detail: String,
    /// A certificate's number; empty for other kinds.
    #[column(fixed)]
    pub certificate_number: String,
    /// A payment's engagement (an evidence id); empty for other kinds.
    #[column(fixed)]
    pub engagement_id: String,
    /// The document's SHA-256.
    #[column(fixed)]
    pub document_sha256: String,
    /// The document's media type.
    #[column(fixed)]
    pub media_type: String,
    /// The document's size.
    #[column(fixed)]
    pub size_bytes: i64,
    /// The end of the retention period.
    #[column(fixed)]
    pub retain_until: NaiveDate,
    /// The review (protobuf, base64), empty before it.
    pub review: String,
    /// The re-examination (protobuf, base64), empty before it.
    pub reexamination: String,
    /// Who submitted or recorded it.
    #[column(fixed)]
    pub submitted_by: String,
    /// The day it counts from.
    pub counts_from: Option<NaiveDate>,
    /// The day it stops counting.
    pub counts_until: Option<NaiveDate>,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl EvidenceRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("evidence/{}", self.id)
    }

    /// Whether it counts on `day`.
    pub fn counts_on(&self, day: NaiveDate) -> bool {
        self.counts_from.is_some_and(|from| from <= day) && self.counts_until.is_none_or(|until| day < until)
    }
}

/// The item holding certificate number `number`, if one does: a certificate is one record per
/// number, whichever way it arrived (OUT-CERT-DUPLICATE).
pub async fn holding_certificate(
    executor: impl qiancheng_platform::db::Reader<'_>,
    number: &str,
) -> Result<Option<EvidenceRecord>, qiancheng_platform::Error> {
    qiancheng_platform::record::first::<EvidenceRecord>(
        executor,
        qiancheng_platform::record::Filter::new().eq("evidence.certificate_number", number),
    )
    .await
}
