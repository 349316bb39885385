//! Trainees on real-name rosters (实名制花名册, ELIG-REALNAME) as stored. The ID number, name and
//! phone are kept encrypted, with a keyed hash of the ID number beside them (the same person has
//! the same hash in every class, ELIG-OVERLAP, ELIG-ONCE); the masked forms are what responses
//! show. A trainee is on roster version `v` when `added_version <= v` and they were not removed
//! by `v`, so every earlier version of a roster can be read back.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::supervision as proto;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::lifecycle::{Lifecycle as _, TraineeState};
use qiancheng_domain::policy::facts::LocalBasisKind;
use qiancheng_domain::{OccupationCode, SkillLevel, TargetGroup};
use qiancheng_platform::db::{self, BindStamp as _, Reader, Table, Tx, flag_value};
use qiancheng_platform::explain::Audience;
use qiancheng_platform::{Error, Stamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{StoredDecision, date_proto, date_text, int32};

/// A trainee as stored, without the encrypted columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraineeRecord {
    /// Id (ULID).
    pub id: String,
    /// The class.
    pub class_id: String,
    /// Keyed hash of the ID number.
    pub person_hash: String,
    /// Masked ID number.
    pub id_number_masked: String,
    /// Masked name.
    pub name_masked: String,
    /// Masked phone.
    pub phone_masked: String,
    /// What the roster entry declared of the person.
    pub declared: Declared,
    /// Target group as judged (ELIG-GROUP).
    pub judged_group: TargetGroup,
    /// State.
    pub state: TraineeState,
    /// The roster version that added the trainee; 0 while proposed or if rejected.
    pub added_version: i64,
    /// The roster version that removed the trainee; 0 while on the roster.
    pub removed_version: i64,
    /// The day put on the roster (or proposed).
    pub added_on: NaiveDate,
    /// The eligibility decision.
    pub eligibility: StoredDecision,
    /// The completion-assessment result, once recorded.
    pub assessment: Option<bool>,
    /// The completion decision, once decided.
    pub completion: Option<StoredDecision>,
    /// The day they withdrew.
    pub terminated_on: Option<NaiveDate>,
    /// Why.
    pub termination_reason: String,
    /// Revision and times.
    pub stamp: Stamp,
}

/// What a roster entry declares of a person beyond who they are: as filed, as stored, and as
/// judged again when an officer decides a roster change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Target group as recorded.
    pub target_group: TargetGroup,
    /// In service on the first day.
    pub in_service: bool,
    /// Level held before the class.
    pub skill_level: Option<SkillLevel>,
    /// Paid from the public budget.
    pub budget_paid: bool,
    /// ELIG-LOCAL basis.
    pub local_basis: Option<LocalBasisKind>,
    /// Its evidence.
    pub local_basis_evidence: String,
    /// The enterprise that intends to hire a pre-hire trainee.
    pub prehire_enterprise: String,
}

/// The person as stored: encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPerson {
    /// Encrypted ID number.
    pub id_number_cipher: String,
    /// Encrypted name.
    pub name_cipher: String,
    /// Encrypted phone.
    pub phone_cipher: String,
}

/// The columns [`TraineeRecord::from_row`] reads; never the encrypted ones.
pub const COLUMNS: &str = "id, class_id, person_hash, id_number_masked, name_masked, phone_masked, target_group, \
    judged_group, in_service, skill_level, budget_paid, local_basis, local_basis_evidence, prehire_enterprise, state, \
    added_version, removed_version, added_on, eligibility, assessment, completion, terminated_on, termination_reason, \
    revision, create_time_micros, update_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "trainee", columns: COLUMNS };

/// Every stored column, in the order [`insert_many`] binds them.
const STORED: &str = "id, class_id, person_hash, id_number_masked, name_masked, phone_masked, target_group, \
    judged_group, in_service, skill_level, budget_paid, local_basis, local_basis_evidence, prehire_enterprise, state, \
    added_version, removed_version, added_on, eligibility, assessment, completion, terminated_on, termination_reason, \
    revision, create_time_micros, update_time_micros, id_number_cipher, name_cipher, phone_cipher";

/// The condition of a trainee on the current roster.
/// The sealed columns and the lookup hash of the table, for re-encryption
/// (`qiancheng reencrypt supervision`).
pub const SEALED: qiancheng_platform::rekey::SealedTable = qiancheng_platform::rekey::SealedTable {
    table: "trainee",
    key: "id",
    ciphers: &["id_number_cipher", "name_cipher", "phone_cipher"],
    hashes: &[("person_hash", "id_number_cipher"), ("phone_hash", "phone_cipher")],
};

/// Trainees on the current roster version.
pub const ON_ROSTER: &str = "added_version > 0 AND removed_version = 0";

/// A local basis from its stored code.
fn local_basis_from_code(code: &str) -> Result<Option<LocalBasisKind>, ()> {
    if code.is_empty() {
        return Ok(None);
    }
    LocalBasisKind::ALL.into_iter().find(|k| k.code() == code).map(Some).ok_or(())
}

/// A local basis as its proto value.
pub fn local_basis_to_proto(basis: Option<LocalBasisKind>) -> i32 {
    basis.map_or(0, |b| proto::LocalBasis::from_str_name(&format!("LOCAL_BASIS_{}", b.code())).map_or(0, |v| v as i32))
}

qiancheng_api::proto_states!(
    TraineeState,
    proto::TraineeState,
    "TRAINEE_STATE_",
    "TRAINEE_STATE",
    "not a trainee state"
);

impl TraineeRecord {
    /// Decodes a row of [`COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        let eligibility: String = row.try_get("eligibility")?;
        let completion: String = row.try_get("completion")?;
        let assessment: String = row.try_get("assessment")?;
        Ok(Self {
            id: row.try_get("id")?,
            class_id: row.try_get("class_id")?,
            person_hash: row.try_get("person_hash")?,
            id_number_masked: row.try_get("id_number_masked")?,
            name_masked: row.try_get("name_masked")?,
            phone_masked: row.try_get("phone_masked")?,
            declared: Declared {
                target_group: db::parsed(row, "target_group", TargetGroup::parse)?,
                in_service: db::flag_column(row, "in_service")?,
                skill_level: db::parsed_opt(row, "skill_level", SkillLevel::parse)?,
                budget_paid: db::flag_column(row, "budget_paid")?,
                local_basis: db::parsed(row, "local_basis", local_basis_from_code)?,
                local_basis_evidence: row.try_get("local_basis_evidence")?,
                prehire_enterprise: row.try_get("prehire_enterprise")?,
            },
            judged_group: db::parsed(row, "judged_group", TargetGroup::parse)?,
            state: db::parsed(row, "state", |c| TraineeState::parse(c).ok_or(()))?,
            added_version: row.try_get("added_version")?,
            removed_version: row.try_get("removed_version")?,
            added_on: db::date(row, "added_on")?,
            eligibility: StoredDecision::from_text(&eligibility, "eligibility")?.unwrap_or_default(),
            assessment: match assessment.as_str() {
                "" => None,
                "PASSED" => Some(true),
                "FAILED" => Some(false),
                _ => return Err(Error::corrupt("assessment")),
            },
            completion: StoredDecision::from_text(&completion, "completion")?,
            terminated_on: db::parsed_opt(row, "terminated_on", qiancheng_domain::parse_date)?,
            termination_reason: row.try_get("termination_reason")?,
            stamp: db::stamp(row, "revision")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/trainees/{}", self.class_id, self.id)
    }

    /// Whether the trainee is on the current roster.
    pub fn on_roster(&self) -> bool {
        self.added_version > 0 && self.removed_version == 0
    }

    /// The person, masked.
    pub fn person_masked(&self) -> PersonRef {
        PersonRef {
            name: self.name_masked.clone(),
            id_number: self.id_number_masked.clone(),
            phone: self.phone_masked.clone(),
        }
    }

    /// The trainee as the API shows it to `audience`, person masked.
    pub fn to_proto(&self, audience: Audience) -> proto::Trainee {
        proto::Trainee {
            name: self.name(),
            person: Some(self.person_masked()),
            target_group: convert::target_group_to_proto(self.declared.target_group),
            judged_group: convert::target_group_to_proto(self.judged_group),
            in_service: self.declared.in_service,
            skill_level: convert::skill_level_to_proto(self.declared.skill_level),
            budget_paid: self.declared.budget_paid,
            local_basis: local_basis_to_proto(self.declared.local_basis),
            local_basis_evidence: self.declared.local_basis_evidence.clone(),
            prehire_enterprise: self.declared.prehire_enterprise.clone(),
            state: state_to_proto(self.state),
            added_in_version: int32(self.added_version),
            removed_in_version: int32(self.removed_version),
            added_on: Some(convert::date_to_proto(self.added_on)),
            eligibility: Some(self.eligibility.to_proto(audience)),
            assessment: match self.assessment {
                None => proto::AssessmentResult::Unspecified as i32,
                Some(true) => proto::AssessmentResult::Passed as i32,
                Some(false) => proto::AssessmentResult::Failed as i32,
            },
            completion: self.completion.as_ref().map(|d| d.to_proto(audience)),
            terminated_on: date_proto(self.terminated_on),
            termination_reason: self.termination_reason.clone(),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
        }
    }
}

fn assessment_code(assessment: Option<bool>) -> &'static str {
    match assessment {
        None => "",
        Some(true) => "PASSED",
        Some(false) => "FAILED",
    }
}

/// Stores new trainees with their sealed persons, in multi-row INSERTs.
pub async fn insert_many(tx: &mut Tx, trainees: &[(TraineeRecord, SealedPerson)]) -> Result<(), Error> {
    let columns = STORED.split(", ").count();
    db::insert_many(tx, "trainee", STORED, columns, trainees, |query, (t, sealed)| {
        let query = query
            .bind(&t.id)
            .bind(&t.class_id)
            .bind(&t.person_hash)
            .bind(&t.id_number_masked)
            .bind(&t.name_masked)
            .bind(&t.phone_masked)
            .bind(t.declared.target_group.code())
            .bind(t.judged_group.code())
            .bind(flag_value(t.declared.in_service))
            .bind(t.declared.skill_level.map_or("", |l| l.code()))
            .bind(flag_value(t.declared.budget_paid))
            .bind(t.declared.local_basis.map_or("", |b| b.code()))
            .bind(&t.declared.local_basis_evidence)
            .bind(&t.declared.prehire_enterprise);
        bind_progress(query, t)
            .bind_stamp(&t.stamp)
            .bind(&sealed.id_number_cipher)
            .bind(&sealed.name_cipher)
            .bind(&sealed.phone_cipher)
    })
    .await
}

/// Binds what changes on a trainee as it goes through its class, in the order of the columns
/// `state` … `termination_reason` that an insert and an update both write.
fn bind_progress<'q>(query: db::AnyQuery<'q>, t: &'q TraineeRecord) -> db::AnyQuery<'q> {
    query
        .bind(t.state.code())
        .bind(t.added_version)
        .bind(t.removed_version)
        .bind(t.added_on.to_string())
        .bind(t.eligibility.json())
        .bind(assessment_code(t.assessment))
        .bind(t.completion.as_ref().map(StoredDecision::json).unwrap_or_default())
        .bind(date_text(t.terminated_on))
        .bind(&t.termination_reason)
}

/// Stores what changes on a trainee, unless it changed since it was read.
pub async fn update(tx: &mut Tx, t: &TraineeRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE trainee SET judged_group = $1, state = $2, added_version = $3, removed_version = $4, added_on = $5, \
         eligibility = $6, assessment = $7, completion = $8, terminated_on = $9, termination_reason = $10, \
         revision = $11, update_time_micros = $12 WHERE id = $13 AND revision = $14",
    )
    .bind(t.judged_group.code());
    db::update_stamped(tx, bind_progress(query, t), &t.stamp, &t.id, "the trainee").await
}

/// Reads a trainee of a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, class_id: &str, id: &str) -> Result<Option<TraineeRecord>, Error> {
    TABLE.find(executor, &[("id", id), ("class_id", class_id)], TraineeRecord::from_row).await
}

/// Every trainee of a class ever on its roster or proposed for it, by id.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<TraineeRecord>, Error> {
    TABLE.all(executor, &[("class_id", class_id)], "id", TraineeRecord::from_row).await
}

/// A page of the roster of a class as it was at `version`, after id `after`.
pub async fn list_at_version(
    pool: &sqlx::AnyPool,
    class_id: &str,
    version: i64,
    after: &str,
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM trainee WHERE class_id = $1 AND id > $2 AND added_version > 0 AND added_version <= $3 \
         AND (removed_version = 0 OR removed_version > $3) ORDER BY id LIMIT $4"
    )))
    .bind(class_id)
    .bind(after)
    .bind(version)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The trainees `ids` (a page's worth), by id.
pub async fn with_ids<'c>(executor: impl Reader<'c>, ids: &[&str]) -> Result<Vec<TraineeRecord>, Error> {
    TABLE.among(executor, ("id", ids), "id", TraineeRecord::from_row).await
}

/// Every trainee of a class with their sealed person, by id.
pub async fn of_class_sealed<'c>(
    executor: impl Reader<'c>,
    class_id: &str,
) -> Result<Vec<(TraineeRecord, SealedPerson)>, Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS}, id_number_cipher, name_cipher, phone_cipher FROM trainee WHERE class_id = $1 ORDER BY id"
    )))
    .bind(class_id)
    .fetch_all(executor)
    .await?;
    rows.iter().map(|row| Ok((TraineeRecord::from_row(row)?, sealed_of_row(row)?))).collect()
}

/// The sealed person of one trainee.
pub async fn sealed(tx: &mut Tx, id: &str) -> Result<SealedPerson, Error> {
    let row = sqlx::query("SELECT id_number_cipher, name_cipher, phone_cipher FROM trainee WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    sealed_of_row(&row)
}

/// What attendance intake needs to know of a trainee on a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterMember {
    /// Id.
    pub id: String,
    /// Keyed hash of the ID number.
    pub person_hash: String,
    /// State.
    pub state: TraineeState,
    /// The day they withdrew.
    pub terminated_on: Option<NaiveDate>,
}

/// The trainees on the current roster of a class, with what attendance intake needs.
pub async fn roster_members(tx: &mut Tx, class_id: &str) -> Result<Vec<RosterMember>, Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT id, person_hash, state, terminated_on FROM trainee WHERE class_id = $1 AND {ON_ROSTER}"
    )))
    .bind(class_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RosterMember {
                id: row.try_get("id")?,
                person_hash: row.try_get("person_hash")?,
                state: db::parsed(row, "state", |c| TraineeState::parse(c).ok_or(()))?,
                terminated_on: db::parsed_opt(row, "terminated_on", qiancheng_domain::parse_date)?,
            })
        })
        .collect()
}

/// A person's place on the roster of a class, as ELIG-OVERLAP and ELIG-ONCE need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonClass {
    /// Keyed hash of the person's ID number.
    pub person_hash: String,
    /// The class.
    pub class_id: String,
    /// Its first day.
    pub first_day: NaiveDate,
    /// Its last day.
    pub last_day: NaiveDate,
    /// The day it was filed.
    pub filed_on: NaiveDate,
    /// Its occupation.
    pub occupation: OccupationCode,
    /// Its level.
    pub level: SkillLevel,
    /// The person's state there.
    pub state: TraineeState,
}

/// Every class whose current roster holds one of the people of `hashes` (classes that were
/// stopped train no one any more and are left out).
pub async fn classes_of_people(tx: &mut Tx, hashes: &[&str]) -> Result<Vec<PersonClass>, Error> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(500) {
        let sql = format!(
            "SELECT t.person_hash, t.class_id, t.state, c.first_day, c.last_day, c.filed_on, c.occupation_code, \
             c.skill_level FROM trainee t JOIN training_class c ON c.id = t.class_id WHERE c.state <> 'STOPPED' \
             AND t.added_version > 0 AND t.removed_version = 0 AND t.person_hash IN ({})",
            db::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for hash in chunk {
            query = query.bind(*hash);
        }
        for row in query.fetch_all(&mut **tx).await? {
            found.push(PersonClass {
                person_hash: row.try_get("person_hash")?,
                class_id: row.try_get("class_id")?,
                first_day: db::date(&row, "first_day")?,
                last_day: db::date(&row, "last_day")?,
                filed_on: db::date(&row, "filed_on")?,
                occupation: db::parsed(&row, "occupation_code", OccupationCode::parse)?,
                level: db::parsed(&row, "skill_level", SkillLevel::parse)?,
                state: db::parsed(&row, "state", |c| TraineeState::parse(c).ok_or(()))?,
            });
        }
    }
    Ok(found)
}

/// Whether a person (by their hash under each data key a row may carry) is on a class's roster
/// or proposed for it.
pub async fn person_in_class(tx: &mut Tx, class_id: &str, hashes: &[String]) -> Result<bool, Error> {
    let sql = format!(
        "SELECT id FROM trainee WHERE class_id = $1 AND person_hash IN ({}) \
         AND state IN ('PROPOSED', 'ACTIVE', 'WITHDRAWN', 'COMPLETED', 'NOT_COMPLETED') LIMIT 1",
        db::placeholders(2, hashes.len())
    );
    let query = hashes.iter().fold(sqlx::query_scalar(AssertSqlSafe(sql)).bind(class_id), |q, h| q.bind(h.as_str()));
    let found: Option<String> = query.fetch_optional(&mut **tx).await?;
    Ok(found.is_some())
}

/// A page of the trainees of a project's classes after id `after`: everyone ever on a roster
/// (proposals that never made it left out).
pub async fn of_project(pool: &sqlx::AnyPool, project_id: &str, after: &str, limit: i64) -> Result<Vec<AnyRow>, Error> {
    let columns = COLUMNS.split(", ").map(|c| format!("t.{}", c.trim())).collect::<Vec<_>>().join(", ");
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {columns}, t.id_number_cipher, t.name_cipher, t.phone_cipher FROM trainee t \
         JOIN training_class c ON c.id = t.class_id WHERE c.project_id = $1 AND t.id > $2 AND t.added_version > 0 \
         ORDER BY t.id LIMIT $3"
    )))
    .bind(project_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The sealed person of a row of [`of_project`].
pub fn sealed_of_row(row: &AnyRow) -> Result<SealedPerson, Error> {
    Ok(SealedPerson {
        id_number_cipher: row.try_get("id_number_cipher")?,
        name_cipher: row.try_get("name_cipher")?,
        phone_cipher: row.try_get("phone_cipher")?,
    })
}

/// Terminates every trainee of the class who is still active (a class stopped, plan 八(四)
/// 终止培训): each is withdrawn on `on` with `reason`. Returns those terminated.
pub async fn terminate_active(
    tx: &mut Tx,
    class_id: &str,
    on: chrono::NaiveDate,
    reason: &str,
) -> Result<Vec<TraineeRecord>, Error> {
    let mut terminated = Vec::new();
    for mut person in of_class(&mut **tx, class_id).await? {
        if person.state != TraineeState::Active {
            continue;
        }
        person.state = person.state.to(TraineeState::Withdrawn)?;
        person.terminated_on = Some(on);
        person.termination_reason = reason.to_owned();
        person.stamp.touch();
        update(tx, &person).await?;
        terminated.push(person);
    }
    Ok(terminated)
}
