//! Training providers (承训机构, 六) as stored: who they are, the conditions of their kind, their
//! bank account, the officer's override of a pilot credit code and justification of a kind outside
//! the plan's list, disqualification, and the violations on record (PROV-CLEAN). Updates are
//! optimistic: a provider changed by another request since it was read is refused.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::provider::{
    KindFacts, KindJustification, Misconduct, PilotOverride, ProviderFacts, ProviderKind,
};
use qiancheng_platform::record::{self, Columns, Filter, Record};
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

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

/// A violation on record (PROV-CLEAN).
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "provider_violation", alias = "pv", what = "the violation")]
pub struct ViolationRecord {
    /// Id (ULID).
    pub id: String,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// When it happened.
    pub occurred_on: NaiveDate,
    /// What it was.
    pub description: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// Recorded, microseconds.
    pub time_micros: i64,
}

/// A bank account for subsidy payments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Columns)]
pub struct BankAccountRecord {
    /// Account holder.
    #[column(name = "bank_holder")]
    pub holder: String,
    /// Bank and branch.
    #[column(name = "bank_name")]
    pub bank: String,
    /// Account number, digits only.
    #[column(name = "bank_number")]
    pub number: String,
}

/// A provider as stored.
#[derive(Debug, Clone, PartialEq, Record)]
#[record(table = "provider", alias = "p", key = "credit_code", what = "the provider")]
pub struct ProviderRecord {
    /// Credit code.
    pub credit_code: String,
    /// Registered name.
    pub display_name: String,
    /// County it operates in.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// Pays tax in 咸宁.
    pub pays_tax_locally: bool,
    /// Independent legal person.
    pub independent_legal_person: bool,
    /// Kind.
    pub kind: ProviderKind,
    /// Conditions of its kind.
    #[column(json)]
    pub conditions: Conditions,
    /// Bank account for subsidies.
    #[column(flatten)]
    pub bank: BankAccountRecord,
    /// Whether the credit code passes its check character.
    #[column(fixed)]
    pub check_passed: bool,
    /// The officer's override of a failing pilot code.
    #[column(json)]
    pub pilot_override: Option<PilotOverride>,
    /// The officer's justification of a kind outside the plan's list (PROV-KIND).
    #[column(json)]
    pub kind_justification: Option<KindJustification>,
    /// Day of disqualification.
    pub disqualified_on: Option<NaiveDate>,
    /// Misconduct found, if any.
    pub misconduct: Option<Misconduct>,
    /// The finding.
    pub disqualification_finding: String,
    /// Who registered it.
    #[column(fixed)]
    pub created_by: String,
    /// Violations on record, oldest first ([`find`] and [`with_violations`] read them).
    #[column(skip)]
    pub violations: Vec<ViolationRecord>,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl ProviderRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("providers/{}", self.credit_code)
    }

    /// The provider as the PROV-* rules see it; `occupation` is the project's, for schools'
    /// related majors (same occupation, or the same middle group `X-XX`).
    pub fn facts(&self, occupation: Option<&str>) -> ProviderFacts {
        let c = &self.conditions;
        let related_major = match occupation {
            Some(occ) => c.related_occupations.iter().any(|r| r == occ || r.get(..4) == occ.get(..4)),
            None => !c.related_occupations.is_empty(),
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
                subsidised_training_qualification: c.subsidised_training_qualification,
                passed_all_annual_inspections: c.passed_all_annual_inspections,
                subsidised_training_years: c.subsidised_training_years.clone(),
                certification_in_good_standing: c.certification_in_good_standing,
                own_venue: c.own_venue,
                own_equipment: c.own_equipment,
                own_teachers: c.own_teachers,
                // 年检合格: passing every annual inspection includes the latest one.
                annual_inspection_passed: c.annual_inspection_passed || c.passed_all_annual_inspections,
                public_function_recognition: Some(c.public_function_recognition.trim())
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                other_kind_justification: self.kind_justification.clone(),
            },
            disqualified_on: self.disqualified_on,
        }
    }
}

/// Reads a provider with its violations, on a connection of the pool or inside a transaction.
pub async fn find(conn: &mut AnyConnection, credit_code: &str) -> Result<Option<ProviderRecord>, Error> {
    let Some(found) = record::find::<ProviderRecord>(&mut *conn, credit_code).await? else { return Ok(None) };
    Ok(with_violations(conn, vec![found]).await?.pop())
}

/// `providers` with their violations, oldest first (one query for all of them).
pub async fn with_violations(
    conn: &mut AnyConnection,
    mut providers: Vec<ProviderRecord>,
) -> Result<Vec<ProviderRecord>, Error> {
    let of = Filter::new().among("pv.provider_credit_code", providers.iter().map(|p| p.credit_code.as_str()));
    for violation in record::all::<ViolationRecord>(conn, of, "pv.occurred_on, pv.id").await? {
        if let Some(p) = providers.iter_mut().find(|p| p.credit_code == violation.provider_credit_code) {
            p.violations.push(violation);
        }
    }
    Ok(providers)
}
