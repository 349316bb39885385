//! Inspections (检查记录, CLASS-INSPECTION) as stored: the spot checks, the finding, the decision
//! and where the referral of the provider to selection stands (PROV-DISQUALIFIED).

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::supervision as proto;
use qiancheng_domain::policy::project::{FindingKind, FindingSeverity, InspectionOutcome};
use qiancheng_platform::db::{self, BindStamp as _, Reader, Table, Tx, flag_value};
use qiancheng_platform::explain::Audience;
use qiancheng_platform::{Error, Stamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{StoredDecision, int32};

/// Where the referral of the provider to selection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Referral {
    /// The finding does not disqualify.
    NotNeeded,
    /// Not yet accepted: selection could not be reached.
    Pending,
    /// Selection disqualified the provider.
    Accepted,
    /// Selection refused it.
    Refused,
}

impl Referral {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Referral::NotNeeded => "NOT_NEEDED",
            Referral::Pending => "PENDING",
            Referral::Accepted => "ACCEPTED",
            Referral::Refused => "REFUSED",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        [Referral::NotNeeded, Referral::Pending, Referral::Accepted, Referral::Refused]
            .into_iter()
            .find(|r| r.code() == code)
    }
}

/// An inspection as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionRecord {
    /// Id (ULID).
    pub id: String,
    /// The class.
    pub class_id: String,
    /// Unannounced (暗访) or announced.
    pub unannounced: bool,
    /// The day.
    pub inspected_on: NaiveDate,
    /// The inspecting officer.
    pub inspector: String,
    /// People counted present.
    pub people_present: i64,
    /// Trainees with a check-in that day, as recorded.
    pub signed_in: i64,
    /// The venue matches the filing.
    pub venue_ok: bool,
    /// The content matches the plan.
    pub content_ok: bool,
    /// How serious.
    pub severity: FindingSeverity,
    /// What was found.
    pub finding: FindingKind,
    /// The officer's note.
    pub note: String,
    /// The decision.
    pub decision: StoredDecision,
    /// What it means for the class.
    pub outcome: InspectionOutcome,
    /// The referral to selection.
    pub referral: Referral,
    /// Selection's answer when it refused or could not be reached.
    pub referral_message: String,
    /// Revision and times.
    pub stamp: Stamp,
}

const COLUMNS: &str = "id, class_id, kind, inspected_on, inspector, people_present, signed_in, venue_ok, content_ok, \
    severity, finding, note, decision, outcome, referral, referral_message, revision, create_time_micros, \
    update_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "inspection", columns: COLUMNS };

/// The stored code of a severity.
pub fn severity_code(severity: FindingSeverity) -> &'static str {
    match severity {
        FindingSeverity::None => "NONE",
        FindingSeverity::Minor => "MINOR",
        FindingSeverity::Serious => "SERIOUS",
    }
}

/// The stored code of a finding.
pub fn finding_code(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Subcontracting => "SUBCONTRACTING",
        FindingKind::Fraud => "FRAUD",
        FindingKind::Safety => "SAFETY",
        FindingKind::Attendance => "ATTENDANCE",
        FindingKind::Other => "OTHER",
    }
}

/// The stored code of an outcome.
pub fn outcome_code(outcome: InspectionOutcome) -> &'static str {
    match outcome {
        InspectionOutcome::Continue => "CONTINUE",
        InspectionOutcome::Correct => "CORRECT",
        InspectionOutcome::Stop => "STOP",
        InspectionOutcome::StopAndDisqualify => "STOP_AND_DISQUALIFY",
    }
}

fn parse_code<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str, text: &str) -> Result<T, ()> {
    all.iter().copied().find(|v| code(*v) == text).ok_or(())
}

impl InspectionRecord {
    /// Decodes a row of the columns.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        let decision: String = row.try_get("decision")?;
        let severities = [FindingSeverity::None, FindingSeverity::Minor, FindingSeverity::Serious];
        let findings = [
            FindingKind::Subcontracting,
            FindingKind::Fraud,
            FindingKind::Safety,
            FindingKind::Attendance,
            FindingKind::Other,
        ];
        let outcomes = [
            InspectionOutcome::Continue,
            InspectionOutcome::Correct,
            InspectionOutcome::Stop,
            InspectionOutcome::StopAndDisqualify,
        ];
        Ok(Self {
            id: row.try_get("id")?,
            class_id: row.try_get("class_id")?,
            unannounced: db::parsed(row, "kind", |c| match c {
                "UNANNOUNCED" => Ok(true),
                "ANNOUNCED" => Ok(false),
                _ => Err(()),
            })?,
            inspected_on: db::date(row, "inspected_on")?,
            inspector: row.try_get("inspector")?,
            people_present: row.try_get("people_present")?,
            signed_in: row.try_get("signed_in")?,
            venue_ok: db::flag_column(row, "venue_ok")?,
            content_ok: db::flag_column(row, "content_ok")?,
            severity: db::parsed(row, "severity", |c| parse_code(&severities, severity_code, c))?,
            finding: db::parsed(row, "finding", |c| parse_code(&findings, finding_code, c))?,
            note: row.try_get("note")?,
            decision: StoredDecision::from_text(&decision, "decision")?.unwrap_or_default(),
            outcome: db::parsed(row, "outcome", |c| parse_code(&outcomes, outcome_code, c))?,
            referral: db::parsed(row, "referral", |c| Referral::parse(c).ok_or(()))?,
            referral_message: row.try_get("referral_message")?,
            stamp: db::stamp(row, "revision")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/inspections/{}", self.class_id, self.id)
    }

    /// The inspection as the API shows it.
    pub fn to_proto(&self) -> proto::Inspection {
        let enum_value = |name: String, lookup: fn(&str) -> Option<i32>| lookup(&name).unwrap_or(0);
        proto::Inspection {
            name: self.name(),
            kind: if self.unannounced {
                proto::InspectionKind::Unannounced as i32
            } else {
                proto::InspectionKind::Announced as i32
            },
            inspected_on: Some(convert::date_to_proto(self.inspected_on)),
            inspector: self.inspector.clone(),
            people_present: int32(self.people_present),
            signed_in: int32(self.signed_in),
            venue_ok: self.venue_ok,
            content_ok: self.content_ok,
            severity: enum_value(format!("FINDING_SEVERITY_{}", severity_code(self.severity)), |n| {
                proto::FindingSeverity::from_str_name(n).map(|v| v as i32)
            }),
            finding: if self.severity == FindingSeverity::None {
                proto::FindingKind::Unspecified as i32
            } else {
                enum_value(format!("FINDING_KIND_{}", finding_code(self.finding)), |n| {
                    proto::FindingKind::from_str_name(n).map(|v| v as i32)
                })
            },
            note: self.note.clone(),
            // An inspection's decision judges the class: its reasons withhold nothing.
            decision: Some(self.decision.to_proto(Audience::WHOLE)),
            outcome: enum_value(format!("INSPECTION_OUTCOME_{}", outcome_code(self.outcome)), |n| {
                proto::InspectionOutcome::from_str_name(n).map(|v| v as i32)
            }),
            referral: enum_value(format!("REFERRAL_STATE_{}", self.referral.code()), |n| {
                proto::ReferralState::from_str_name(n).map(|v| v as i32)
            }),
            referral_message: self.referral_message.clone(),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
        }
    }
}

/// Stores a new inspection.
pub async fn insert(tx: &mut Tx, r: &InspectionRecord) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!("INSERT INTO inspection ({COLUMNS}) VALUES {}", db::values(1, 19))))
        .bind(&r.id)
        .bind(&r.class_id)
        .bind(if r.unannounced { "UNANNOUNCED" } else { "ANNOUNCED" })
        .bind(r.inspected_on.to_string())
        .bind(&r.inspector)
        .bind(r.people_present)
        .bind(r.signed_in)
        .bind(flag_value(r.venue_ok))
        .bind(flag_value(r.content_ok))
        .bind(severity_code(r.severity))
        .bind(finding_code(r.finding))
        .bind(&r.note)
        .bind(r.decision.json())
        .bind(outcome_code(r.outcome))
        .bind(r.referral.code())
        .bind(&r.referral_message)
        .bind_stamp(&r.stamp)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores where the referral stands, unless the inspection changed since it was read.
pub async fn update_referral(tx: &mut Tx, r: &InspectionRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE inspection SET referral = $1, referral_message = $2, revision = $3, update_time_micros = $4 \
         WHERE id = $5 AND revision = $6",
    )
    .bind(r.referral.code())
    .bind(&r.referral_message);
    db::update_stamped(tx, query, &r.stamp, &r.id, "the inspection").await
}

/// Reads an inspection of a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, class_id: &str, id: &str) -> Result<Option<InspectionRecord>, Error> {
    TABLE.find(executor, &[("id", id), ("class_id", class_id)], InspectionRecord::from_row).await
}

/// Every inspection of a class, oldest first.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<InspectionRecord>, Error> {
    TABLE.all(executor, &[("class_id", class_id)], "create_time_micros, id", InspectionRecord::from_row).await
}

/// A page of inspections after id `after`, of classes inside `scope`, of `class` and of county
/// `region` when given, in id order (the order they were recorded).
pub async fn page(
    pool: &sqlx::AnyPool,
    after: &str,
    scope: (&str, &str),
    (class, region): (&str, &str),
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    let columns = COLUMNS.split(", ").map(|c| format!("i.{}", c.trim())).collect::<Vec<_>>().join(", ");
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM inspection i JOIN training_class c ON c.id = i.class_id WHERE i.id > $1 \
         AND ($2 = 'ALL' OR ($2 = 'REGION' AND c.region_code = $3) OR ($2 = 'ORG' AND c.provider_credit_code = $3)) \
         AND ($4 = '' OR i.class_id = $4) AND ($5 = '' OR c.region_code = $5) ORDER BY i.id LIMIT $6"
    )))
    .bind(after)
    .bind(scope.0)
    .bind(scope.1)
    .bind(class)
    .bind(region)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
