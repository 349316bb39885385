//! Skill-evaluation results (技能评价结果) as stored: certificates, each recorded once in the
//! service (issuer and number), as the outcome service needs them for OUT-CERT.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::supervision as proto;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::class::evaluation_related;
use qiancheng_domain::{OccupationCode, SkillLevel};
use qiancheng_platform::Error;
use qiancheng_platform::db::{self, Reader, Table, Tx};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

/// The kind of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateKind {
    /// 职业资格证书.
    VocationalQualification,
    /// 职业技能等级证书.
    SkillLevel,
}

impl CertificateKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            CertificateKind::VocationalQualification => "VOCATIONAL_QUALIFICATION",
            CertificateKind::SkillLevel => "SKILL_LEVEL",
        }
    }
}

/// A skill-evaluation result as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationRecord {
    /// Id (ULID).
    pub id: String,
    /// The class.
    pub class_id: String,
    /// The trainee.
    pub trainee_id: String,
    /// Certificate number.
    pub certificate_number: String,
    /// Kind.
    pub kind: CertificateKind,
    /// Occupation.
    pub occupation: OccupationCode,
    /// Level.
    pub level: SkillLevel,
    /// Issuer.
    pub issuer: String,
    /// Issue date.
    pub issued_on: NaiveDate,
    /// Who recorded it.
    pub recorded_by: String,
    /// When, microseconds since the epoch.
    pub create_time_micros: i64,
}

const COLUMNS: &str = "id, class_id, trainee_id, certificate_number, kind, occupation_code, skill_level, issuer, \
    issued_on, recorded_by, create_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "skill_evaluation", columns: COLUMNS };

impl EvaluationRecord {
    /// Decodes a row of the columns.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            class_id: row.try_get("class_id")?,
            trainee_id: row.try_get("trainee_id")?,
            certificate_number: row.try_get("certificate_number")?,
            kind: db::parsed(row, "kind", |c| match c {
                "VOCATIONAL_QUALIFICATION" => Ok(CertificateKind::VocationalQualification),
                "SKILL_LEVEL" => Ok(CertificateKind::SkillLevel),
                _ => Err(()),
            })?,
            occupation: db::parsed(row, "occupation_code", OccupationCode::parse)?,
            level: db::parsed(row, "skill_level", SkillLevel::parse)?,
            issuer: row.try_get("issuer")?,
            issued_on: db::date(row, "issued_on")?,
            recorded_by: row.try_get("recorded_by")?,
            create_time_micros: row.try_get("create_time_micros")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/trainees/{}/evaluations/{}", self.class_id, self.trainee_id, self.id)
    }

    /// EVALUATION_RELATED: whether it counts for CLASS-COMPLETION of its class, which trains
    /// `occupation` at `level` under `policy`.
    pub fn counts(&self, policy: &PolicySet, occupation: &OccupationCode, level: SkillLevel) -> RuleResult {
        evaluation_related(policy, occupation, level, &self.occupation, self.level)
    }

    /// The result as the API shows it, with whether it `counts` for completion.
    pub fn to_proto(&self, counts: &RuleResult) -> proto::SkillEvaluation {
        proto::SkillEvaluation {
            name: self.name(),
            certificate_number: self.certificate_number.clone(),
            kind: match self.kind {
                CertificateKind::VocationalQualification => proto::CertificateKind::VocationalQualification as i32,
                CertificateKind::SkillLevel => proto::CertificateKind::SkillLevel as i32,
            },
            occupation_code: self.occupation.as_str().to_owned(),
            skill_level: convert::skill_level_to_proto(Some(self.level)),
            issuer: self.issuer.clone(),
            issued_on: Some(convert::date_to_proto(self.issued_on)),
            create_time_micros: self.create_time_micros,
            recorded_by: self.recorded_by.clone(),
            counts_for_completion: Some(super::rule_to_proto(counts)),
        }
    }
}

/// Stores a result.
pub async fn insert(tx: &mut Tx, e: &EvaluationRecord) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!("INSERT INTO skill_evaluation ({COLUMNS}) VALUES {}", db::values(1, 11))))
        .bind(&e.id)
        .bind(&e.class_id)
        .bind(&e.trainee_id)
        .bind(&e.certificate_number)
        .bind(e.kind.code())
        .bind(e.occupation.as_str())
        .bind(e.level.code())
        .bind(&e.issuer)
        .bind(e.issued_on.to_string())
        .bind(&e.recorded_by)
        .bind(e.create_time_micros)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether the certificate `number` of `issuer` is recorded already.
pub async fn certificate_known(tx: &mut Tx, issuer: &str, number: &str) -> Result<bool, Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM skill_evaluation WHERE issuer = $1 AND certificate_number = $2")
            .bind(issuer)
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// Every result of a class's trainees.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<EvaluationRecord>, Error> {
    TABLE.all(executor, &[("class_id", class_id)], "create_time_micros, id", EvaluationRecord::from_row).await
}

/// Every result of the trainees `ids` (a page of a project's roster).
pub async fn of_trainees(pool: &sqlx::AnyPool, ids: &[&str]) -> Result<Vec<EvaluationRecord>, Error> {
    TABLE.among(pool, ("trainee_id", ids), "create_time_micros, id", EvaluationRecord::from_row).await
}
