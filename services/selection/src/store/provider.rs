//! Training providers (承训机构, 六) as stored: who they are, the conditions of their kind, their
//! bank account, the officer's override of a pilot credit code and justification of a kind outside
//! the plan's list, disqualification, and the violations on record (PROV-CLEAN). Updates are
//! optimistic: a provider changed by another request since it was read is refused.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::selection::{
    BankAccount, KindConditions, KindJustification as ProtoJustification, Provider, ProviderKind as ProtoKind,
    Violation,
};
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::provider::{
    KindFacts, KindJustification, PilotOverride, ProviderFacts, ProviderKind as Kind, evaluate_provider_eligibility,
};
use qiancheng_domain::{RegionCode, ValueError, today_in_china};
use qiancheng_platform::db::{self, Table, Tx, flag_value};
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use super::{decision_to_proto, json};

/// The conditions of a provider's kind, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// Occupations of its majors (schools).
    pub related_occupations: Vec<String>,
    /// The county bureau's subsidised-training qualification (schools).
    pub subsidised_training_qualification: bool,
    /// Passed every annual inspection (private schools).
    pub passed_all_annual_inspections: bool,
    /// Years with subsidised training (private schools).
    pub subsidised_training_years: Vec<i32>,
    /// Certification in good standing (employers, associations).
    pub certification_in_good_standing: bool,
    /// Own venue (bases, studios, leading enterprises).
    pub own_venue: bool,
    /// Own equipment.
    pub own_equipment: bool,
    /// Own teachers.
    pub own_teachers: bool,
    /// Passed its latest annual inspection (年检合格, private schools).
    #[serde(default)]
    pub annual_inspection_passed: bool,
    /// The recognition of a public training base's public service function, its reference.
    #[serde(default)]
    pub public_function_recognition: String,
}

impl Conditions {
    /// The conditions as the API shows them.
    pub fn to_proto(&self) -> KindConditions {
        KindConditions {
            related_occupations: self.related_occupations.clone(),
            subsidised_training_qualification: self.subsidised_training_qualification,
            passed_all_annual_inspections: self.passed_all_annual_inspections,
            subsidised_training_years: self.subsidised_training_years.clone(),
            certification_in_good_standing: self.certification_in_good_standing,
            own_venue: self.own_venue,
            own_equipment: self.own_equipment,
            own_teachers: self.own_teachers,
            annual_inspection_passed: self.annual_inspection_passed,
            public_function_recognition: self.public_function_recognition.clone(),
        }
    }
}

/// A violation on record (PROV-CLEAN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationRecord {
    /// When it happened.
    pub occurred_on: NaiveDate,
    /// What it was.
    pub description: String,
    /// Who recorded it.
    pub recorded_by: String,
}

/// A bank account for subsidy payments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankAccountRecord {
    /// Account holder.
    pub holder: String,
    /// Bank and branch.
    pub bank: String,
    /// Account number, digits only.
    pub number: String,
}

/// A provider as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRecord {
    /// Credit code.
    pub credit_code: String,
    /// Registered name.
    pub display_name: String,
    /// County it operates in.
    pub region: RegionCode,
    /// Pays tax in 咸宁.
    pub pays_tax_locally: bool,
    /// Independent legal person.
    pub independent_legal_person: bool,
    /// Kind.
    pub kind: Kind,
    /// Conditions of its kind.
    pub conditions: Conditions,
    /// Bank account for subsidies.
    pub bank: BankAccountRecord,
    /// Whether the credit code passes its check character.
    pub check_passed: bool,
    /// The officer's override of a failing pilot code.
    pub pilot_override: Option<PilotOverride>,
    /// The officer's justification of a kind outside the plan's list (PROV-KIND).
    pub kind_justification: Option<KindJustification>,
    /// Day of disqualification.
    pub disqualified_on: Option<NaiveDate>,
    /// Misconduct found (`SUBCONTRACTING`, `FRAUD`), empty if none.
    pub misconduct: String,
    /// The finding.
    pub disqualification_finding: String,
    /// Violations on record, oldest first.
    pub violations: Vec<ViolationRecord>,
    /// Revision (the `version` column) and times.
    pub stamp: Stamp,
}

const COLUMNS: &str = "credit_code, display_name, region_code, pays_tax_locally, independent_legal_person, kind, \
    conditions, bank_holder, bank_name, bank_number, check_passed, pilot_override, disqualified_on, misconduct, \
    disqualification_finding, version, create_time_micros, update_time_micros, kind_justification";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "provider", columns: COLUMNS };

/// The stored code of a kind (`PRIVATE_TRAINING_SCHOOL`).
pub fn kind_code(kind: Kind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn kind_from_code(code: &str) -> Option<Kind> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

/// A proto kind as the domain's (PROV-KIND).
pub fn kind_from_proto(value: i32) -> Result<Kind, ValueError> {
    ProtoKind::try_from(value)
        .ok()
        .filter(|k| *k != ProtoKind::Unspecified)
        .and_then(|k| k.as_str_name().strip_prefix("PROVIDER_KIND_").and_then(kind_from_code))
        .ok_or_else(|| ValueError::new("PROV-KIND", "the kind of provider is required"))
}

fn kind_to_proto(kind: Kind) -> i32 {
    ProtoKind::from_str_name(&format!("PROVIDER_KIND_{}", kind_code(kind))).map_or(0, |k| k as i32)
}

/// An optional JSON column.
fn json_opt<T: for<'de> Deserialize<'de>>(row: &AnyRow, column: &str) -> Result<Option<T>, Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| serde_json::from_str(&text).map_err(|_| Error::corrupt(format!("provider {column}"))))
        .transpose()
}

impl ProviderRecord {
    /// Decodes a row of the table, without the violations [`find`] adds.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            credit_code: row.try_get("credit_code")?,
            display_name: row.try_get("display_name")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            pays_tax_locally: db::flag_column(row, "pays_tax_locally")?,
            independent_legal_person: db::flag_column(row, "independent_legal_person")?,
            kind: db::parsed(row, "kind", |k| kind_from_code(k).ok_or(()))?,
            conditions: db::parsed(row, "conditions", |t| serde_json::from_str(t))?,
            bank: BankAccountRecord {
                holder: row.try_get("bank_holder")?,
                bank: row.try_get("bank_name")?,
                number: row.try_get("bank_number")?,
            },
            check_passed: db::flag_column(row, "check_passed")?,
            pilot_override: json_opt(row, "pilot_override")?,
            kind_justification: json_opt(row, "kind_justification")?,
            disqualified_on: row
                .try_get::<Option<String>, _>("disqualified_on")?
                .map(|d| qiancheng_domain::parse_date(&d).map_err(|_| Error::corrupt("provider disqualified_on")))
                .transpose()?,
            misconduct: row.try_get("misconduct")?,
            disqualification_finding: row.try_get("disqualification_finding")?,
            violations: Vec::new(),
            stamp: db::stamp(row, "version")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("providers/{}", self.credit_code)
    }

    /// The provider as the PROV-* rules see it; `occupation` is the project's, for schools'
    /// related majors (same occupation, or the same middle group `X-XX`).
    pub fn facts(&self, occupation: Option<&str>) -> ProviderFacts {
        let related = &self.conditions.related_occupations;
        let related_major = match occupation {
            Some(occ) => related.iter().any(|r| r == occ || r.get(..4) == occ.get(..4)),
            None => !related.is_empty(),
        };
        ProviderFacts {
            name: self.display_name.clone(),
            uscc: self.credit_code.clone(),
            pilot_override: self.pilot_override.clone(),
            pays_tax_locally: self.pays_tax_locally,
            independent_legal_person: self.independent_legal_person,
            violations: self.violations.iter().map(|v| v.occurred_on).collect(),
            kind: self.kind,
            kind_facts: KindFacts {
                related_major,
                subsidised_training_qualification: self.conditions.subsidised_training_qualification,
                passed_all_annual_inspections: self.conditions.passed_all_annual_inspections,
                subsidised_training_years: self.conditions.subsidised_training_years.clone(),
                certification_in_good_standing: self.conditions.certification_in_good_standing,
                own_venue: self.conditions.own_venue,
                own_equipment: self.conditions.own_equipment,
                own_teachers: self.conditions.own_teachers,
                // 年检合格: passing every annual inspection includes the latest one.
                annual_inspection_passed: self.conditions.annual_inspection_passed
                    || self.conditions.passed_all_annual_inspections,
                public_function_recognition: Some(self.conditions.public_function_recognition.trim())
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                other_kind_justification: self.kind_justification.clone(),
            },
            disqualified_on: self.disqualified_on,
        }
    }

    /// The provider as the API shows it, with its eligibility under `policy` today and its bank
    /// account in full.
    pub fn to_proto(&self, policy: &PolicySet) -> Provider {
        let eligibility = evaluate_provider_eligibility(policy, &self.facts(None), today_in_china());
        Provider {
            name: self.name(),
            credit_code: self.credit_code.clone(),
            display_name: self.display_name.clone(),
            region_code: self.region.code().to_owned(),
            pays_tax_locally: self.pays_tax_locally,
            independent_legal_person: self.independent_legal_person,
            kind: kind_to_proto(self.kind),
            conditions: Some(self.conditions.to_proto()),
            bank_account: Some(BankAccount {
                holder: self.bank.holder.clone(),
                bank: self.bank.bank.clone(),
                number: self.bank.number.clone(),
            }),
            violations: self
                .violations
                .iter()
                .map(|v| Violation {
                    occurred_on: Some(convert::date_to_proto(v.occurred_on)),
                    description: v.description.clone(),
                    recorded_by: v.recorded_by.clone(),
                })
                .collect(),
            credit_code_check_passed: self.check_passed,
            pilot_override_by: self.pilot_override.as_ref().map(|o| o.officer.clone()).unwrap_or_default(),
            disqualified_on: self.disqualified_on.map(convert::date_to_proto),
            disqualification_finding: self.disqualification_finding.clone(),
            eligibility: Some(decision_to_proto(&eligibility)),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
            kind_justification: self.kind_justification.as_ref().map(|j| ProtoJustification {
                note: j.note.clone(),
                officer: j.officer.clone(),
                recorded_on: Some(convert::date_to_proto(j.recorded_on)),
            }),
        }
    }
}

/// Reads a provider with its violations, on a connection of the pool or inside a transaction.
pub async fn find(conn: &mut AnyConnection, credit_code: &str) -> Result<Option<ProviderRecord>, Error> {
    let found = TABLE.find(&mut *conn, &[("credit_code", credit_code)], ProviderRecord::from_row).await?;
    let Some(mut record) = found else { return Ok(None) };
    let violations = sqlx::query(
        "SELECT occurred_on, description, recorded_by FROM provider_violation WHERE provider_credit_code = $1 \
         ORDER BY occurred_on, id",
    )
    .bind(credit_code)
    .fetch_all(&mut *conn)
    .await?;
    record.violations = violations
        .iter()
        .map(|v| {
            Ok(ViolationRecord {
                occurred_on: db::date(v, "occurred_on")?,
                description: v.try_get("description")?,
                recorded_by: v.try_get("recorded_by")?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Some(record))
}

/// The credit codes of a page of providers after `after`, by credit code: of county `region`
/// (empty: any), inside `scope` (see `Scope::sql`).
pub async fn list_codes(
    pool: &sqlx::AnyPool,
    after: &str,
    region: &str,
    scope: (&str, &str),
    limit: i64,
) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT credit_code FROM provider WHERE credit_code > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = 'ALL' OR ($3 = 'REGION' AND region_code = $4) OR ($3 = 'ORG' AND credit_code = $4)) \
         ORDER BY credit_code LIMIT $5",
    )
    .bind(after)
    .bind(region)
    .bind(scope.0)
    .bind(scope.1)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Binds a provider's columns, in the order of [`COLUMNS`].
macro_rules! bind_provider {
    ($query:expr, $record:expr, $conditions:expr, $pilot:expr) => {
        $query
            .bind(&$record.credit_code)
            .bind(&$record.display_name)
            .bind($record.region.code())
            .bind(flag_value($record.pays_tax_locally))
            .bind(flag_value($record.independent_legal_person))
            .bind(kind_code($record.kind))
            .bind($conditions)
            .bind(&$record.bank.holder)
            .bind(&$record.bank.bank)
            .bind(&$record.bank.number)
            .bind(flag_value($record.check_passed))
            .bind($pilot)
            .bind($record.disqualified_on.map(|d| d.to_string()))
            .bind(&$record.misconduct)
            .bind(&$record.disqualification_finding)
            .bind($record.stamp.revision)
            .bind($record.stamp.create_time_micros)
            .bind($record.stamp.update_time_micros)
    };
}

/// The nested columns of a provider, as JSON: its conditions, the pilot override and the kind's
/// justification.
fn nested(record: &ProviderRecord) -> Result<(String, Option<String>, Option<String>), Error> {
    let pilot = record.pilot_override.as_ref().map(|o| json(o, "provider pilot override")).transpose()?;
    let justification =
        record.kind_justification.as_ref().map(|j| json(j, "provider kind justification")).transpose()?;
    Ok((json(&record.conditions, "provider conditions")?, pilot, justification))
}

/// Stores a new provider registered by `actor`.
pub async fn insert(tx: &mut Tx, record: &ProviderRecord, actor: &str) -> Result<(), Error> {
    let (conditions, pilot, justification) = nested(record)?;
    let sql = format!(
        "INSERT INTO provider ({COLUMNS}, created_by) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    );
    bind_provider!(sqlx::query(AssertSqlSafe(sql)), record, conditions, pilot)
        .bind(justification)
        .bind(actor)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores the changes to a provider (its violations are added by [`insert_violation`]), unless
/// another request changed it since it was read (`CONCURRENT_CHANGE`).
pub async fn update(tx: &mut Tx, record: &ProviderRecord) -> Result<(), Error> {
    let (conditions, pilot, justification) = nested(record)?;
    let sql = "UPDATE provider SET display_name = $2, region_code = $3, pays_tax_locally = $4, \
        independent_legal_person = $5, kind = $6, conditions = $7, bank_holder = $8, bank_name = $9, \
        bank_number = $10, check_passed = $11, pilot_override = $12, disqualified_on = $13, misconduct = $14, \
        disqualification_finding = $15, version = $16, create_time_micros = $17, update_time_micros = $18, \
        kind_justification = $19 WHERE credit_code = $1 AND version = $20";
    let result = bind_provider!(sqlx::query(sql), record, conditions, pilot)
        .bind(justification)
        .bind(record.stamp.previous_revision())
        .execute(&mut **tx)
        .await?;
    db::changed_one(result, "the provider")
}

/// Adds a violation to a provider's record.
pub async fn insert_violation(tx: &mut Tx, credit_code: &str, violation: &ViolationRecord) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO provider_violation (id, provider_credit_code, occurred_on, description, recorded_by, time_micros) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(credit_code)
    .bind(violation.occurred_on.to_string())
    .bind(&violation.description)
    .bind(&violation.recorded_by)
    .bind(now_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
