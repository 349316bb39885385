//! Trainees on real-name rosters (实名制花名册, ELIG-REALNAME) as stored. The ID number, name and
//! phone are kept encrypted, with a keyed hash of the ID number beside them (the same person has
//! the same hash in every class, ELIG-OVERLAP, ELIG-ONCE); the masked forms are what responses
//! show. A trainee is on roster version `v` when `added_version <= v` and they were not removed
//! by `v`, so every earlier version of a roster can be read back.

use chrono::NaiveDate;
use qiancheng_api::convert::{IntoProto as _, Shown};
use qiancheng_api::supervision as proto;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::lifecycle::{Lifecycle as _, TraineeState};
use qiancheng_domain::policy::facts::LocalBasisKind;
use qiancheng_domain::{OccupationCode, SkillLevel, TargetGroup};
use qiancheng_platform::db::{Db, Reader, Tx};
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Columns, Filter, Record};
use qiancheng_platform::{Error, Stamp};

use super::StoredDecision;

/// A trainee as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "trainee", alias = "t", what = "the trainee")]
#[shown(message = "proto::Trainee")]
pub struct TraineeRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The class.
    #[column(fixed, hidden)]
    pub class_id: String,
    /// Keyed hash of the ID number.
    #[column(fixed, hidden)]
    pub person_hash: String,
    /// Masked ID number.
    #[column(fixed, hidden)]
    pub id_number_masked: String,
    /// Masked name.
    #[column(fixed, hidden)]
    pub name_masked: String,
    /// Masked phone.
    #[column(fixed, hidden)]
    pub phone_masked: String,
    /// What the roster entry declared of the person.
    #[column(flatten)]
    pub declared: Declared,
    /// Target group as judged (ELIG-GROUP).
    pub judged_group: TargetGroup,
    /// State.
    pub state: TraineeState,
    /// The roster version that added the trainee; 0 while proposed or if rejected.
    #[shown(name = "added_in_version")]
    pub added_version: i64,
    /// The roster version that removed the trainee; 0 while on the roster.
    #[shown(name = "removed_in_version")]
    pub removed_version: i64,
    /// The day put on the roster (or proposed).
    pub added_on: NaiveDate,
    /// The eligibility decision.
    #[column(json, hidden)]
    pub eligibility: StoredDecision,
    /// The completion-assessment result, once recorded.
    #[column(hidden)]
    pub assessment: Option<Assessment>,
    /// The completion decision, once decided.
    #[column(json, hidden)]
    pub completion: Option<StoredDecision>,
    /// The day they withdrew.
    pub terminated_on: Option<NaiveDate>,
    /// Why.
    pub termination_reason: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
    /// The person, encrypted: written with the trainee, read back only to be opened for those
    /// who may see it.
    #[column(flatten, fixed, hidden)]
    pub sealed: SealedPerson,
}

/// What a roster entry declares of a person beyond who they are: as filed, as stored, and as
/// judged again when an officer decides a roster change.
#[derive(Debug, Clone, PartialEq, Eq, Columns, Shown)]
#[shown(message = "proto::Trainee", message = "proto::ProjectTrainee")]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Columns)]
pub struct SealedPerson {
    /// Encrypted ID number.
    pub id_number_cipher: String,
    /// Encrypted name.
    pub name_cipher: String,
    /// Encrypted phone.
    pub phone_cipher: String,
}

qiancheng_platform::stored_enum! {
    /// The completion assessment's result (结业考核).
    pub enum Assessment {
        /// Passed.
        Passed => "PASSED",
        /// Failed.
        Failed => "FAILED",
    }
}

qiancheng_api::proto_enum!(local Assessment => proto::AssessmentResult, "ASSESSMENT_RESULT_", "REQUIRED",
    "an assessment result");

impl Assessment {
    /// The result of an assessment `passed` or not.
    pub fn of(passed: bool) -> Self {
        if passed { Assessment::Passed } else { Assessment::Failed }
    }
}

/// The sealed columns and the lookup hash of the table, for re-encryption
/// (`qiancheng reencrypt supervision`).
pub const SEALED: qiancheng_platform::rekey::SealedTable = qiancheng_platform::rekey::SealedTable {
    table: "trainee",
    key: "id",
    ciphers: &["id_number_cipher", "name_cipher", "phone_cipher"],
    hashes: &[("person_hash", "id_number_cipher"), ("phone_hash", "phone_cipher")],
};

/// Trainees on the current roster version.
pub const ON_ROSTER: &str = "t.added_version > 0 AND t.removed_version = 0";

impl TraineeRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/trainees/{}", self.class_id, self.id)
    }

    /// Whether the trainee is on the current roster.
    pub fn on_roster(&self) -> bool {
        self.added_version > 0 && self.removed_version == 0
    }

    /// Whether the completion assessment was passed.
    pub fn passed_assessment(&self) -> bool {
        self.assessment == Some(Assessment::Passed)
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
            eligibility: Some(self.eligibility.to_proto(audience)),
            assessment: self.assessment.map_or(0, |a| a.into_proto()),
            completion: self.completion.as_ref().map(|d| d.to_proto(audience)),
            ..self.shown()
        }
    }
}

/// The trainees of class `class_id`.
fn of(class_id: &str) -> Filter {
    Filter::new().eq("t.class_id", class_id)
}

/// Stores new trainees with their sealed persons, in multi-row INSERTs.
pub async fn insert_many(tx: &mut Tx, trainees: &[TraineeRecord]) -> Result<(), Error> {
    record::insert_many(tx, trainees).await
}

/// Stores what changes on a trainee, unless it changed since it was read.
pub async fn update(tx: &mut Tx, trainee: &TraineeRecord) -> Result<(), Error> {
    record::update(tx, trainee).await
}

/// Reads a trainee of a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, class_id: &str, id: &str) -> Result<Option<TraineeRecord>, Error> {
    record::first(executor, of(class_id).eq("t.id", id)).await
}

/// Every trainee of a class ever on its roster or proposed for it, by id.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<TraineeRecord>, Error> {
    record::all(executor, of(class_id), "t.id").await
}

/// A page of the roster of a class as it was at `version`.
pub async fn page_at_version(
    db: &Db,
    class_id: &str,
    version: i64,
    page: &PageRequest,
) -> Result<(Vec<TraineeRecord>, String), Error> {
    let filter = of(class_id).and(
        "t.added_version > 0 AND t.added_version <= ? AND (t.removed_version = 0 OR t.removed_version > ?)",
        [version.into(), version.into()],
    );
    record::page(db, filter, page).await
}

/// The trainees `ids` (a page's worth), by id.
pub async fn with_ids<'c>(executor: impl Reader<'c>, ids: &[&str]) -> Result<Vec<TraineeRecord>, Error> {
    record::all(executor, Filter::new().among("t.id", ids.iter().copied()), "t.id").await
}

/// What attendance intake needs to know of a trainee on a roster.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "trainee", alias = "t", what = "the trainee")]
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
    record::all(&mut **tx, of(class_id).and(ON_ROSTER, []), "t.id").await
}

/// A person's place on the roster of a class, as ELIG-OVERLAP and ELIG-ONCE need it.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(
    table = "trainee",
    alias = "t",
    from = "trainee t JOIN training_class c ON c.id = t.class_id",
    key = "class_id",
    what = "the trainee"
)]
pub struct PersonClass {
    /// Keyed hash of the person's ID number.
    pub person_hash: String,
    /// The class.
    pub class_id: String,
    /// Its first day.
    #[column(computed = "c.first_day")]
    pub first_day: NaiveDate,
    /// Its last day.
    #[column(computed = "c.last_day")]
    pub last_day: NaiveDate,
    /// The day it was filed.
    #[column(computed = "c.filed_on")]
    pub filed_on: NaiveDate,
    /// Its occupation.
    #[column(computed = "c.occupation_code")]
    pub occupation: OccupationCode,
    /// Its level.
    #[column(computed = "c.skill_level")]
    pub level: SkillLevel,
    /// The person's state there.
    pub state: TraineeState,
}

/// Every class whose current roster holds one of the people of `hashes` (classes that were
/// stopped train no one any more and are left out).
pub async fn classes_of_people(tx: &mut Tx, hashes: &[&str]) -> Result<Vec<PersonClass>, Error> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(500) {
        let filter = Filter::new()
            .and("c.state <> 'STOPPED'", [])
            .and(ON_ROSTER, [])
            .among("t.person_hash", chunk.iter().copied());
        found.extend(record::all::<PersonClass>(&mut **tx, filter, "").await?);
    }
    Ok(found)
}

/// Whether a person (by their hash under each data key a row may carry) is on a class's roster
/// or proposed for it.
pub async fn person_in_class(tx: &mut Tx, class_id: &str, hashes: &[String]) -> Result<bool, Error> {
    let filter = of(class_id)
        .among("t.person_hash", hashes.iter().map(String::as_str))
        .and("t.state IN ('PROPOSED', 'ACTIVE', 'WITHDRAWN', 'COMPLETED', 'NOT_COMPLETED')", []);
    Ok(record::count::<TraineeRecord>(&mut **tx, filter).await? > 0)
}

/// A page of the trainees of a project's classes: everyone ever on a roster (proposals that
/// never made it left out).
pub async fn page_of_project(
    db: &Db,
    project_id: &str,
    page: &PageRequest,
) -> Result<(Vec<TraineeRecord>, String), Error> {
    let filter = Filter::new()
        .and("t.class_id IN (SELECT id FROM training_class WHERE project_id = ?)", [project_id.into()])
        .and("t.added_version > 0", []);
    record::page(db, filter, page).await
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
