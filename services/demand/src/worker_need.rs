//! Workers' employment and training needs (劳动者就业和培训需求, 二(一)): the person, their
//! county and target group, the industry, occupation and pay they want, the occupation and level
//! they already hold, and whether they want training and in what.
//!
//! The resident ID number, name and phone are stored encrypted with a keyed hash of the ID number
//! beside them, so a person is recorded once; responses show them masked.

use qiancheng_api::demand::*;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::{IdNumber, Industry, OccupationCode, PhoneNumber, RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::PlatformError;
use qiancheng_platform::audit::{self, AuditEntry};
use qiancheng_platform::auth::Principal;
use qiancheng_platform::db::{flag, flag_value};
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::pii::mask_name;
use qiancheng_platform::time::{new_id, now_micros};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{Executor, Row as _};
use tonic::Request;

use crate::State;
use crate::access;
use crate::error::DemandError;
use qiancheng_api::convert;

/// A worker's need as stored, without the encrypted columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerNeedRecord {
    /// Id (ULID).
    pub id: String,
    /// Masked ID number.
    pub id_number_masked: String,
    /// Masked name.
    pub name_masked: String,
    /// Masked phone.
    pub phone_masked: String,
    /// County.
    pub region: RegionCode,
    /// Target group.
    pub target_group: TargetGroup,
    /// Industry wanted.
    pub wanted_industry: Option<Industry>,
    /// Occupation wanted.
    pub wanted_occupation_code: Option<OccupationCode>,
    /// Occupation wanted, name.
    pub wanted_occupation_name: String,
    /// Lowest monthly pay wanted, fen.
    pub wanted_pay_min_fen: i64,
    /// Occupation held.
    pub held_occupation_code: Option<OccupationCode>,
    /// Level held.
    pub held_skill_level: Option<SkillLevel>,
    /// Wants training.
    pub wants_training: bool,
    /// Training occupation.
    pub training_occupation_code: Option<OccupationCode>,
    /// Training level.
    pub training_skill_level: Option<SkillLevel>,
    /// Version for the etag.
    pub version: i64,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

/// The columns [`WorkerNeedRecord::from_row`] reads; never the encrypted ones.
pub const COLUMNS: &str = "id, id_number_masked, name_masked, phone_masked, region_code, target_group, wanted_industry, \
    wanted_occupation_code, wanted_occupation_name, wanted_pay_min_fen, held_occupation_code, held_skill_level, \
    wants_training, training_occupation_code, training_skill_level, version, create_time_micros, update_time_micros";

fn corrupt(what: &str) -> DemandError {
    DemandError::Platform(PlatformError::Corrupt(format!("worker need {what}")))
}

fn optional_code(text: String) -> Result<Option<OccupationCode>, DemandError> {
    if text.is_empty() { Ok(None) } else { OccupationCode::parse(&text).map(Some).map_err(|_| corrupt("occupation")) }
}

fn optional_level(text: String) -> Result<Option<SkillLevel>, DemandError> {
    if text.is_empty() { Ok(None) } else { SkillLevel::parse(&text).map(Some).map_err(|_| corrupt("level")) }
}

impl WorkerNeedRecord {
    /// Decodes a row of [`COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Self, DemandError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        let industry = text("wanted_industry")?;
        Ok(Self {
            id: text("id")?,
            id_number_masked: text("id_number_masked")?,
            name_masked: text("name_masked")?,
            phone_masked: text("phone_masked")?,
            region: RegionCode::parse(&text("region_code")?).map_err(|_| corrupt("region"))?,
            target_group: TargetGroup::parse(&text("target_group")?).map_err(|_| corrupt("group"))?,
            wanted_industry: if industry.is_empty() {
                None
            } else {
                Some(Industry::parse(&industry).map_err(|_| corrupt("industry"))?)
            },
            wanted_occupation_code: optional_code(text("wanted_occupation_code")?)?,
            wanted_occupation_name: text("wanted_occupation_name")?,
            wanted_pay_min_fen: row.try_get("wanted_pay_min_fen")?,
            held_occupation_code: optional_code(text("held_occupation_code")?)?,
            held_skill_level: optional_level(text("held_skill_level")?)?,
            wants_training: flag(row.try_get("wants_training")?),
            training_occupation_code: optional_code(text("training_occupation_code")?)?,
            training_skill_level: optional_level(text("training_skill_level")?)?,
            version: row.try_get("version")?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The need as the API shows it, person masked.
    pub fn to_proto(&self) -> WorkerNeed {
        let code = |c: &Option<OccupationCode>| c.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
        WorkerNeed {
            name: format!("workerNeeds/{}", self.id),
            person: Some(PersonRef {
                name: self.name_masked.clone(),
                id_number: self.id_number_masked.clone(),
                phone: self.phone_masked.clone(),
            }),
            region_code: self.region.code().to_owned(),
            target_group: convert::target_group_to_proto(self.target_group),
            wanted_industry: self.wanted_industry.map_or(0, convert::industry_to_proto),
            wanted_occupation_code: code(&self.wanted_occupation_code),
            wanted_occupation_name: self.wanted_occupation_name.clone(),
            wanted_pay_min_fen: self.wanted_pay_min_fen,
            held_occupation_code: code(&self.held_occupation_code),
            held_skill_level: convert::skill_level_to_proto(self.held_skill_level),
            wants_training: self.wants_training,
            training_occupation_code: code(&self.training_occupation_code),
            training_skill_level: convert::skill_level_to_proto(self.training_skill_level),
            create_time_micros: self.create_time_micros,
            update_time_micros: self.update_time_micros,
            etag: self.version.to_string(),
        }
    }
}

/// Reads a need by id.
pub async fn find<'e, E: Executor<'e, Database = sqlx::Any>>(
    executor: E,
    id: &str,
) -> Result<Option<WorkerNeedRecord>, DemandError> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM worker_need WHERE id = $1")))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(WorkerNeedRecord::from_row).transpose()
}

/// Validates the need fields of `input` into `record` (the person fields are not touched).
fn apply_need(input: &WorkerNeedInput, record: &mut WorkerNeedRecord, paths: Option<&[String]>, v: &mut Violations) {
    let wants = |name: &str| paths.is_none_or(|p| p.iter().any(|x| x == name));
    let field = |name: &str| format!("worker_need.{name}");
    // Each named field is parsed at the edge; a bad one is recorded and leaves the record as it was.
    macro_rules! apply {
        ($name:literal, $parsed:expr, $target:expr) => {
            if wants($name)
                && let Some(value) = v.value(&field($name), $parsed)
            {
                $target = value;
            }
        };
    }
    apply!("region_code", convert::county(&input.region_code), record.region);
    apply!("target_group", convert::target_group(input.target_group), record.target_group);
    apply!("wanted_industry", convert::optional_industry(input.wanted_industry), record.wanted_industry);
    apply!(
        "wanted_occupation_code",
        convert::optional_occupation(&input.wanted_occupation_code),
        record.wanted_occupation_code
    );
    apply!(
        "wanted_occupation_name",
        convert::optional_text(&input.wanted_occupation_name, 100),
        record.wanted_occupation_name
    );
    apply!("wanted_pay_min_fen", non_negative_pay(input.wanted_pay_min_fen), record.wanted_pay_min_fen);
    apply!(
        "held_occupation_code",
        convert::optional_occupation(&input.held_occupation_code),
        record.held_occupation_code
    );
    apply!("held_skill_level", convert::skill_level(input.held_skill_level), record.held_skill_level);
    apply!("wants_training", Ok(input.wants_training), record.wants_training);
    apply!(
        "training_occupation_code",
        convert::optional_occupation(&input.training_occupation_code),
        record.training_occupation_code
    );
    apply!("training_skill_level", convert::skill_level(input.training_skill_level), record.training_skill_level);
    // A level held means nothing without the occupation it is held in.
    if record.held_skill_level.is_some() && record.held_occupation_code.is_none() {
        v.add(&field("held_occupation_code"), "REQUIRED", "a held skill level needs the occupation it is held in");
    }
    if record.wants_training && record.training_occupation_code.is_none() {
        v.add(&field("training_occupation_code"), "REQUIRED", "a worker who wants training says in which occupation");
    }
}

fn non_negative_pay(fen: i64) -> Result<i64, qiancheng_domain::ValueError> {
    if fen < 0 { Err(qiancheng_domain::ValueError::new("DEMAND-PAY", "pay cannot be negative")) } else { Ok(fen) }
}

/// CreateWorkerNeed.
pub async fn create(
    state: &State,
    request: Request<CreateWorkerNeedRequest>,
) -> Result<CreateWorkerNeedResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::worker_write_scope(&principal)?;
    let message = request.into_inner();
    let input = message.worker_need.clone().unwrap_or_default();
    let mut v = Violations::default();
    let person_name = v.value("worker_need.person_name", convert::text(&input.person_name, 50));
    let id_number = v.value("worker_need.id_number", IdNumber::parse(&input.id_number));
    let phone = v.value("worker_need.phone", PhoneNumber::parse(&input.phone));
    let now = now_micros();
    let mut record = WorkerNeedRecord {
        id: new_id(),
        id_number_masked: id_number.as_ref().map(IdNumber::masked).unwrap_or_default(),
        name_masked: person_name.as_deref().map(mask_name).unwrap_or_default(),
        phone_masked: phone.as_ref().map(PhoneNumber::masked).unwrap_or_default(),
        region: RegionCode::CITY,
        target_group: TargetGroup::OtherEligible,
        wanted_industry: None,
        wanted_occupation_code: None,
        wanted_occupation_name: String::new(),
        wanted_pay_min_fen: 0,
        held_occupation_code: None,
        held_skill_level: None,
        wants_training: false,
        training_occupation_code: None,
        training_skill_level: None,
        version: 1,
        create_time_micros: now,
        update_time_micros: now,
    };
    apply_need(&input, &mut record, None, &mut v);
    v.finish()?;
    let (Some(person_name), Some(id_number), Some(phone)) = (person_name, id_number, phone) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    access::check(&scope, record.region, "")?;

    let key = IdempotencyKey::new(&principal.subject, "CreateWorkerNeed", &message.request_id, &message)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let id_hash = state.pii.lookup_hash(id_number.as_str());
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM worker_need WHERE id_number_hash = $1")
        .bind(&id_hash)
        .fetch_optional(&mut *write.tx)
        .await?;
    if let Some(existing) = existing {
        // Name the existing record only to a caller who may read it: an officer must not learn
        // where a person of another county is registered.
        let existing_region: String = sqlx::query_scalar("SELECT region_code FROM worker_need WHERE id = $1")
            .bind(&existing)
            .fetch_one(&mut *write.tx)
            .await?;
        let visible = RegionCode::parse(&existing_region).is_ok_and(|r| scope.admits(r, ""));
        return Err(DemandError::AlreadyExists {
            reason: "WORKER_NEED_EXISTS",
            message: if visible {
                format!("this person's need is already recorded as workerNeeds/{existing}; update it instead")
            } else {
                "this person's need is already recorded by another county; ask the city to move it".to_owned()
            },
        });
    }
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO worker_need ({COLUMNS}, id_number_hash, id_number_cipher, name_cipher, phone_cipher, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    )))
    .bind(&record.id)
    .bind(&record.id_number_masked)
    .bind(&record.name_masked)
    .bind(&record.phone_masked)
    .bind(record.region.code())
    .bind(record.target_group.code())
    .bind(record.wanted_industry.map_or("", |i| i.code()))
    .bind(record.wanted_occupation_code.as_ref().map_or("", |c| c.as_str()))
    .bind(&record.wanted_occupation_name)
    .bind(record.wanted_pay_min_fen)
    .bind(record.held_occupation_code.as_ref().map_or("", |c| c.as_str()))
    .bind(record.held_skill_level.map_or("", |l| l.code()))
    .bind(flag_value(record.wants_training))
    .bind(record.training_occupation_code.as_ref().map_or("", |c| c.as_str()))
    .bind(record.training_skill_level.map_or("", |l| l.code()))
    .bind(record.version)
    .bind(record.create_time_micros)
    .bind(record.update_time_micros)
    .bind(&id_hash)
    .bind(state.pii.encrypt(id_number.as_str())?)
    .bind(state.pii.encrypt(&person_name)?)
    .bind(state.pii.encrypt(phone.as_str())?)
    .bind(&principal.subject)
    .execute(&mut *write.tx)
    .await?;
    let resource = format!("workerNeeds/{}", record.id);
    audit::record(
        &mut write.tx,
        AuditEntry {
            actor: &principal.subject,
            action: "worker_need.create",
            resource: &resource,
            detail: serde_json::json!({ "person": record.id_number_masked, "region": record.region.code(),
                "target_group": record.target_group.code(), "wants_training": record.wants_training }),
            policy_version: &state.policy_version,
        },
    )
    .await?;
    Ok(write.commit(CreateWorkerNeedResponse { worker_need: Some(record.to_proto()) }).await?)
}

fn need_id(name: &str, field: &str) -> Result<String, DemandError> {
    convert::resource_id(name, "workerNeeds")
        .map(str::to_owned)
        .map_err(|e| DemandError::invalid(field, e.rule, e.reason))
}

/// Reads a need the caller may see, or says why not.
pub async fn readable(
    state: &State,
    principal: &Principal,
    name: &str,
    field: &str,
) -> Result<WorkerNeedRecord, DemandError> {
    let scope = access::worker_read_scope(principal)?;
    let id = need_id(name, field)?;
    let record = find(state.db.pool(), &id).await?.ok_or_else(|| access::missing(&scope, name))?;
    access::check(&scope, record.region, "")?;
    Ok(record)
}

/// GetWorkerNeed.
pub async fn get(state: &State, request: Request<GetWorkerNeedRequest>) -> Result<GetWorkerNeedResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let record = readable(state, &principal, &request.get_ref().name, "name").await?;
    Ok(GetWorkerNeedResponse { worker_need: Some(record.to_proto()) })
}

/// ListWorkerNeeds.
pub async fn list(
    state: &State,
    request: Request<ListWorkerNeedsRequest>,
) -> Result<ListWorkerNeedsResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::worker_read_scope(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    v.finish()?;
    let page = PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("workerNeeds|{}|{}", region.map_or("", |r| r.code()), m.wants_training_only),
    )?;
    let (scope_kind, scope_value) = scope.sql();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM worker_need WHERE id > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = 'ALL' OR ($3 = 'REGION' AND region_code = $4)) AND ($5 = 0 OR wants_training = 1) \
         ORDER BY id LIMIT $6"
    )))
    .bind(&page.after)
    .bind(region.map_or("", |r| r.code()))
    .bind(scope_kind)
    .bind(scope_value)
    .bind(flag_value(m.wants_training_only))
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(WorkerNeedRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.id.clone());
    Ok(ListWorkerNeedsResponse {
        worker_needs: records.iter().map(WorkerNeedRecord::to_proto).collect(),
        next_page_token,
    })
}

/// UpdateWorkerNeed.
pub async fn update(
    state: &State,
    request: Request<UpdateWorkerNeedRequest>,
) -> Result<UpdateWorkerNeedResponse, DemandError> {
    const EDITABLE: [&str; 11] = [
        "region_code",
        "target_group",
        "wanted_industry",
        "wanted_occupation_code",
        "wanted_occupation_name",
        "wanted_pay_min_fen",
        "held_occupation_code",
        "held_skill_level",
        "wants_training",
        "training_occupation_code",
        "training_skill_level",
    ];
    let principal = Principal::of(&request)?;
    let scope = access::worker_write_scope(&principal)?;
    let m = request.into_inner();
    let id = need_id(&m.name, "name")?;
    let paths = m.update_mask.as_ref().map(|mask| mask.paths.clone()).unwrap_or_default();
    if paths.is_empty() {
        return Err(DemandError::invalid("update_mask", "REQUIRED", "name the fields to change"));
    }
    if let Some(bad) = paths.iter().find(|p| !EDITABLE.contains(&p.as_str())) {
        return Err(DemandError::invalid("update_mask", "UPDATE-MASK", format!("{bad} cannot be changed")));
    }
    let key = IdempotencyKey::new(&principal.subject, "UpdateWorkerNeed", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let mut record = find(&mut *write.tx, &id).await?.ok_or_else(|| access::missing(&scope, &m.name))?;
    access::check(&scope, record.region, "")?;
    if !m.etag.is_empty() && m.etag != record.version.to_string() {
        return Err(PlatformError::StaleEtag.into());
    }
    let mut v = Violations::default();
    apply_need(&m.worker_need.clone().unwrap_or_default(), &mut record, Some(&paths), &mut v);
    v.finish()?;
    // The new county must be inside the officer's scope too.
    access::check(&scope, record.region, "")?;
    record.version += 1;
    record.update_time_micros = now_micros();
    sqlx::query(
        "UPDATE worker_need SET region_code = $1, target_group = $2, wanted_industry = $3, wanted_occupation_code = $4, \
         wanted_occupation_name = $5, wanted_pay_min_fen = $6, held_occupation_code = $7, held_skill_level = $8, \
         wants_training = $9, training_occupation_code = $10, training_skill_level = $11, version = $12, \
         update_time_micros = $13 WHERE id = $14",
    )
    .bind(record.region.code())
    .bind(record.target_group.code())
    .bind(record.wanted_industry.map_or("", |i| i.code()))
    .bind(record.wanted_occupation_code.as_ref().map_or("", |c| c.as_str()))
    .bind(&record.wanted_occupation_name)
    .bind(record.wanted_pay_min_fen)
    .bind(record.held_occupation_code.as_ref().map_or("", |c| c.as_str()))
    .bind(record.held_skill_level.map_or("", |l| l.code()))
    .bind(flag_value(record.wants_training))
    .bind(record.training_occupation_code.as_ref().map_or("", |c| c.as_str()))
    .bind(record.training_skill_level.map_or("", |l| l.code()))
    .bind(record.version)
    .bind(record.update_time_micros)
    .bind(&record.id)
    .execute(&mut *write.tx)
    .await?;
    audit::record(
        &mut write.tx,
        AuditEntry {
            actor: &principal.subject,
            action: "worker_need.update",
            resource: &m.name,
            detail: serde_json::json!({ "fields": paths }),
            policy_version: &state.policy_version,
        },
    )
    .await?;
    Ok(write.commit(UpdateWorkerNeedResponse { worker_need: Some(record.to_proto()) }).await?)
}
