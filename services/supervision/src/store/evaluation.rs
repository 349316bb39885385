//! Skill-evaluation results (技能评价结果) as stored: certificates, each recorded once in the
//! service (issuer and number), as the outcome service needs them for OUT-CERT.

use chrono::NaiveDate;
use qiancheng_api::convert::{IntoProto as _, Shown};
use qiancheng_api::supervision as proto;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::class::evaluation_related;
use qiancheng_domain::{OccupationCode, SkillLevel};
use qiancheng_platform::Error;
use qiancheng_platform::db::{Reader, Tx};
use qiancheng_platform::record::{self, Filter, Record};

qiancheng_platform::stored_enum! {
    /// The kind of a certificate.
    pub enum CertificateKind {
        /// 职业资格证书.
        VocationalQualification => "VOCATIONAL_QUALIFICATION",
        /// 职业技能等级证书.
        SkillLevel => "SKILL_LEVEL",
    }
}

qiancheng_api::proto_enum!(local CertificateKind => proto::CertificateKind, "CERTIFICATE_KIND_", "REQUIRED",
    "a vocational qualification or a skill-level certificate");

/// A skill-evaluation result as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "skill_evaluation", alias = "e", what = "the skill evaluation")]
#[shown(message = "proto::SkillEvaluation")]
pub struct EvaluationRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The class.
    #[column(hidden)]
    pub class_id: String,
    /// The trainee.
    #[column(hidden)]
    pub trainee_id: String,
    /// Certificate number.
    pub certificate_number: String,
    /// Kind.
    pub kind: CertificateKind,
    /// Occupation.
    #[column(name = "occupation_code")]
    pub occupation: OccupationCode,
    /// Level.
    #[column(name = "skill_level")]
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

impl EvaluationRecord {
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
        proto::SkillEvaluation { name: self.name(), counts_for_completion: Some(counts.into_proto()), ..self.shown() }
    }
}

/// Stores a result.
pub async fn insert(tx: &mut Tx, evaluation: &EvaluationRecord) -> Result<(), Error> {
    record::insert(tx, evaluation).await
}

/// Whether the certificate `number` of `issuer` is recorded already.
pub async fn certificate_known(tx: &mut Tx, issuer: &str, number: &str) -> Result<bool, Error> {
    let filter = Filter::new().eq("e.issuer", issuer).eq("e.certificate_number", number);
    Ok(record::count::<EvaluationRecord>(&mut **tx, filter).await? > 0)
}

/// Every result of a class's trainees.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<EvaluationRecord>, Error> {
    record::all(executor, Filter::new().eq("e.class_id", class_id), "e.create_time_micros, e.id").await
}

/// Every result of the trainees `ids` (a page of a project's roster).
pub async fn of_trainees(pool: &sqlx::AnyPool, ids: &[&str]) -> Result<Vec<EvaluationRecord>, Error> {
    record::all(pool, Filter::new().among("e.trainee_id", ids.iter().copied()), "e.create_time_micros, e.id").await
}
