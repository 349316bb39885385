//! Inspections (检查记录, CLASS-INSPECTION) as stored: the spot checks, the finding, the decision
//! and where the referral of the provider to selection stands (PROV-DISQUALIFIED).

use chrono::NaiveDate;
use qiancheng_api::convert::{IntoProto as _, Shown};
use qiancheng_api::supervision as proto;
use qiancheng_domain::policy::project::{FindingKind, FindingSeverity, InspectionOutcome};
use qiancheng_platform::auth::Scope;
use qiancheng_platform::db::{Db, Reader, Tx};
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::{Error, Stamp};

use super::StoredDecision;

qiancheng_platform::stored_enum! {
    /// Where the referral of the provider to selection stands.
    pub enum Referral {
        /// The finding does not disqualify.
        NotNeeded => "NOT_NEEDED",
        /// Not yet accepted: selection could not be reached.
        Pending => "PENDING",
        /// Selection disqualified the provider.
        Accepted => "ACCEPTED",
        /// Selection refused it.
        Refused => "REFUSED",
    }
}

qiancheng_platform::stored_enum! {
    /// Whether the provider knew of the inspection beforehand.
    pub enum InspectionKind {
        /// Announced.
        Announced => "ANNOUNCED",
        /// Unannounced (暗访).
        Unannounced => "UNANNOUNCED",
    }
}

qiancheng_api::proto_enum!(local Referral => proto::ReferralState, "REFERRAL_STATE_", "ENUM", "a referral state");
qiancheng_api::proto_enum!(local InspectionKind => proto::InspectionKind, "INSPECTION_KIND_", "REQUIRED",
    "whether the inspection was announced");

/// An inspection as stored; it is read with its class, whose county and provider scope it.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[shown(message = "proto::Inspection")]
#[record(
    table = "inspection",
    alias = "i",
    from = "inspection i JOIN training_class c ON c.id = i.class_id",
    what = "the inspection"
)]
pub struct InspectionRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The class.
    #[column(fixed, hidden)]
    pub class_id: String,
    /// Announced or unannounced (暗访).
    #[column(fixed)]
    pub kind: InspectionKind,
    /// The day.
    #[column(fixed)]
    pub inspected_on: NaiveDate,
    /// The inspecting officer.
    #[column(fixed)]
    pub inspector: String,
    /// People counted present.
    #[column(fixed)]
    pub people_present: i64,
    /// Trainees with a check-in that day, as recorded.
    #[column(fixed)]
    pub signed_in: i64,
    /// The venue matches the filing.
    #[column(fixed)]
    pub venue_ok: bool,
    /// The content matches the plan.
    #[column(fixed)]
    pub content_ok: bool,
    /// How serious.
    #[column(fixed)]
    pub severity: FindingSeverity,
    /// What was found.
    #[column(fixed, hidden)]
    pub finding: FindingKind,
    /// The officer's note.
    #[column(fixed)]
    pub note: String,
    /// The decision.
    #[column(json, fixed, hidden)]
    pub decision: StoredDecision,
    /// What it means for the class.
    #[column(fixed)]
    pub outcome: InspectionOutcome,
    /// The referral to selection.
    pub referral: Referral,
    /// Selection's answer when it refused or could not be reached.
    pub referral_message: String,
    /// Revision and times (the message shows the times, not an etag: an inspection is not edited).
    #[column(stamp, hidden)]
    pub stamp: Stamp,
}

impl InspectionRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/inspections/{}", self.class_id, self.id)
    }

    /// The inspection as the API shows it.
    pub fn to_proto(&self) -> proto::Inspection {
        proto::Inspection {
            name: self.name(),
            finding: if self.severity == FindingSeverity::None { 0 } else { self.finding.into_proto() },
            // An inspection's decision judges the class: its reasons withhold nothing.
            decision: Some(self.decision.to_proto(Audience::WHOLE)),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            ..self.shown()
        }
    }
}

/// Stores a new inspection.
pub async fn insert(tx: &mut Tx, inspection: &InspectionRecord) -> Result<(), Error> {
    record::insert(tx, inspection).await
}

/// Stores where the referral stands, unless the inspection changed since it was read.
pub async fn update_referral(tx: &mut Tx, inspection: &InspectionRecord) -> Result<(), Error> {
    record::update(tx, inspection).await
}

/// Reads an inspection of a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, class_id: &str, id: &str) -> Result<Option<InspectionRecord>, Error> {
    record::first(executor, Filter::new().eq("i.id", id).eq("i.class_id", class_id)).await
}

/// Every inspection of a class, oldest first.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<InspectionRecord>, Error> {
    record::all(executor, Filter::new().eq("i.class_id", class_id), "i.create_time_micros, i.id").await
}

/// A page of inspections of classes inside `scope`, of `class` and of county `region` when
/// given, in id order (the order they were recorded).
pub async fn page(
    db: &Db,
    scope: &Scope,
    (class, region): (&str, &str),
    page: &PageRequest,
) -> Result<(Vec<InspectionRecord>, String), Error> {
    let filter = Filter::new()
        .within(scope, "c.region_code", Some("c.provider_credit_code"))
        .eq_given("i.class_id", Some(class))
        .eq_given("c.region_code", Some(region));
    record::page(db, filter, page).await
}
