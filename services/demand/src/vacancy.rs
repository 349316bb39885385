//! Vacancies (岗位需求, one row of 附件1): post, occupation and level, headcount, monthly pay
//! range, requirements, work county, needed-by date and how the vacancy was surveyed.
//!
//! A vacancy is a draft until published on the demand board, then filled or withdrawn. Every
//! change keeps a revision with the vacancy as it was after it (适时更新发布), who made it and why.

use chrono::NaiveDate;
use qiancheng_api::demand::*;
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel, Uscc};
use qiancheng_platform::PlatformError;
use qiancheng_platform::audit::{self, AuditEntry};
use qiancheng_platform::auth::Principal;
use qiancheng_platform::db::Tx;
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{Executor, Row as _};
use tokio_stream::StreamExt as _;
use tonic::{Request, Streaming};

use crate::State;
use crate::access::{self, Scope};
use crate::enterprise;
use crate::error::DemandError;
use qiancheng_api::convert;

/// Most headcount one vacancy may ask for.
pub const MAX_HEADCOUNT: i64 = 10_000;
/// Most rows one import stream takes; the stream is not read past it.
pub const MAX_IMPORT_ROWS: usize = 5_000;

/// A vacancy as stored, and as each revision snapshots it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VacancyRecord {
    /// Id (ULID).
    pub id: String,
    /// Enterprise credit code.
    pub enterprise_credit_code: String,
    /// Enterprise name.
    pub enterprise_name: String,
    /// Enterprise county: scopes access.
    pub region: RegionCode,
    /// Enterprise industry.
    pub industry: Industry,
    /// Post title.
    pub post: String,
    /// Occupation code.
    pub occupation_code: String,
    /// Occupation name.
    pub occupation_name: String,
    /// Level required.
    pub skill_level: SkillLevel,
    /// Headcount wanted.
    pub headcount: i64,
    /// Monthly pay, lower end, fen.
    pub pay_min_fen: i64,
    /// Monthly pay, upper end, fen.
    pub pay_max_fen: i64,
    /// Requirements.
    pub requirements: String,
    /// Work county.
    pub work_region: RegionCode,
    /// Needed by.
    pub needed_by: NaiveDate,
    /// Survey method, as stored (`DOOR_TO_DOOR`, …).
    pub survey_method: String,
    /// State, as stored (`DRAFT`, `PUBLISHED`, `FILLED`, `WITHDRAWN`).
    pub state: String,
    /// Revision.
    pub revision: i64,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

/// Selects vacancies with their enterprise's name and industry; add `WHERE …` after it.
pub const SELECT: &str = "SELECT v.id, v.enterprise_credit_code, e.display_name AS enterprise_name, v.region_code, \
    e.industry, v.post, v.occupation_code, v.occupation_name, v.skill_level, v.headcount, v.pay_min_fen, \
    v.pay_max_fen, v.requirements, v.work_region_code, v.needed_by, v.survey_method, v.state, v.revision, \
    v.create_time_micros, v.update_time_micros FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code";

fn corrupt(what: &str) -> DemandError {
    DemandError::Platform(PlatformError::Corrupt(format!("vacancy {what}")))
}

impl VacancyRecord {
    /// Decodes a row of [`SELECT`].
    pub fn from_row(row: &AnyRow) -> Result<Self, DemandError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        Ok(Self {
            id: text("id")?,
            enterprise_credit_code: text("enterprise_credit_code")?,
            enterprise_name: text("enterprise_name")?,
            region: RegionCode::parse(&text("region_code")?).map_err(|_| corrupt("region"))?,
            industry: Industry::parse(&text("industry")?).map_err(|_| corrupt("industry"))?,
            post: text("post")?,
            occupation_code: text("occupation_code")?,
            occupation_name: text("occupation_name")?,
            skill_level: SkillLevel::parse(&text("skill_level")?).map_err(|_| corrupt("level"))?,
            headcount: row.try_get("headcount")?,
            pay_min_fen: row.try_get("pay_min_fen")?,
            pay_max_fen: row.try_get("pay_max_fen")?,
            requirements: text("requirements")?,
            work_region: RegionCode::parse(&text("work_region_code")?).map_err(|_| corrupt("work region"))?,
            needed_by: qiancheng_domain::parse_date(&text("needed_by")?).map_err(|_| corrupt("date"))?,
            survey_method: text("survey_method")?,
            state: text("state")?,
            revision: row.try_get("revision")?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("vacancies/{}", self.id)
    }

    /// The state as its proto value.
    pub fn state(&self) -> VacancyState {
        VacancyState::from_str_name(&format!("VACANCY_STATE_{}", self.state)).unwrap_or(VacancyState::Unspecified)
    }

    /// The vacancy as the API shows it.
    pub fn to_proto(&self) -> Vacancy {
        Vacancy {
            name: self.name(),
            enterprise_credit_code: self.enterprise_credit_code.clone(),
            enterprise_name: self.enterprise_name.clone(),
            region_code: self.region.code().to_owned(),
            post: self.post.clone(),
            occupation_code: self.occupation_code.clone(),
            occupation_name: self.occupation_name.clone(),
            skill_level: convert::skill_level_to_proto(Some(self.skill_level)),
            headcount: i32::try_from(self.headcount).unwrap_or(i32::MAX),
            pay_min_fen: self.pay_min_fen,
            pay_max_fen: self.pay_max_fen,
            requirements: self.requirements.clone(),
            work_region_code: self.work_region.code().to_owned(),
            needed_by: Some(convert::date_to_proto(self.needed_by)),
            survey_method: SurveyMethod::from_str_name(&format!("SURVEY_METHOD_{}", self.survey_method))
                .map_or(0, |m| m as i32),
            state: self.state() as i32,
            revision: i32::try_from(self.revision).unwrap_or(i32::MAX),
            industry: convert::industry_to_proto(self.industry),
            create_time_micros: self.create_time_micros,
            update_time_micros: self.update_time_micros,
            etag: self.revision.to_string(),
        }
    }

    /// The vacancy as the public board shows it: no enterprise contact, no internal fields.
    pub fn to_published(&self) -> PublishedVacancy {
        PublishedVacancy {
            name: self.name(),
            enterprise_name: self.enterprise_name.clone(),
            post: self.post.clone(),
            occupation_code: self.occupation_code.clone(),
            occupation_name: self.occupation_name.clone(),
            skill_level: convert::skill_level_to_proto(Some(self.skill_level)),
            headcount: i32::try_from(self.headcount).unwrap_or(i32::MAX),
            pay_min_fen: self.pay_min_fen,
            pay_max_fen: self.pay_max_fen,
            requirements: self.requirements.clone(),
            work_region_code: self.work_region.code().to_owned(),
            needed_by: Some(convert::date_to_proto(self.needed_by)),
            industry: convert::industry_to_proto(self.industry),
        }
    }
}

/// Reads a vacancy by id.
pub async fn find<'e, E: Executor<'e, Database = sqlx::Any>>(
    executor: E,
    id: &str,
) -> Result<Option<VacancyRecord>, DemandError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE v.id = $1"))).bind(id).fetch_optional(executor).await?;
    row.as_ref().map(VacancyRecord::from_row).transpose()
}

/// The editable content of a vacancy, validated.
#[derive(Debug, Clone)]
struct Content {
    post: String,
    occupation_code: OccupationCode,
    occupation_name: String,
    skill_level: SkillLevel,
    headcount: i64,
    pay_min_fen: i64,
    pay_max_fen: i64,
    requirements: String,
    work_region: RegionCode,
    needed_by: NaiveDate,
    survey_method: String,
}

/// Validates the content fields of `input`, naming fields under `prefix` (`vacancy.`).
fn validate_content(input: &Vacancy, prefix: &str, v: &mut Violations) -> Option<Content> {
    let field = |name: &str| format!("{prefix}{name}");
    let post = v.value(&field("post"), convert::text(&input.post, 100));
    let occupation_code = v.value(&field("occupation_code"), OccupationCode::parse(&input.occupation_code));
    let occupation_name = v.value(&field("occupation_name"), convert::text(&input.occupation_name, 100));
    let skill_level = v.value(&field("skill_level"), convert::required_skill_level(input.skill_level));
    let requirements = v.value(&field("requirements"), convert::optional_text(&input.requirements, 2000));
    let work_region = v.value(&field("work_region_code"), convert::county(&input.work_region_code));
    let needed_by = v.value(&field("needed_by"), convert::required_date(input.needed_by.as_ref()));
    let headcount = i64::from(input.headcount);
    if !(1..=MAX_HEADCOUNT).contains(&headcount) {
        v.add(&field("headcount"), "DEMAND-HEADCOUNT", format!("headcount must be 1 to {MAX_HEADCOUNT}"));
    }
    if input.pay_min_fen <= 0 {
        v.add(&field("pay_min_fen"), "DEMAND-PAY", "monthly pay must be more than zero");
    }
    if input.pay_max_fen < input.pay_min_fen {
        v.add(&field("pay_max_fen"), "DEMAND-PAY", "the upper end of the pay range is below the lower end");
    }
    let survey_method = SurveyMethod::try_from(input.survey_method)
        .ok()
        .filter(|m| *m != SurveyMethod::Unspecified)
        .and_then(|m| m.as_str_name().strip_prefix("SURVEY_METHOD_").map(str::to_owned));
    if survey_method.is_none() {
        v.add(&field("survey_method"), "REQUIRED", "say how the vacancy was surveyed");
    }
    Some(Content {
        post: post?,
        occupation_code: occupation_code?,
        occupation_name: occupation_name?,
        skill_level: skill_level?,
        headcount,
        pay_min_fen: input.pay_min_fen,
        pay_max_fen: input.pay_max_fen,
        requirements: requirements?,
        work_region: work_region?,
        needed_by: needed_by?,
        survey_method: survey_method?,
    })
}

/// Writes a revision row and the audit record of a change to `record`.
async fn record_change(
    tx: &mut Tx,
    state: &State,
    principal: &Principal,
    record: &VacancyRecord,
    action: &str,
    reason: &str,
) -> Result<(), DemandError> {
    let snapshot = serde_json::to_string(record).map_err(|e| PlatformError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO vacancy_revision (vacancy_id, revision, action, reason, actor, snapshot, time_micros) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&record.id)
    .bind(record.revision)
    .bind(action)
    .bind(reason)
    .bind(&principal.subject)
    .bind(&snapshot)
    .bind(record.update_time_micros)
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        AuditEntry {
            actor: &principal.subject,
            action: &format!("vacancy.{action}"),
            resource: &record.name(),
            detail: serde_json::json!({ "revision": record.revision, "state": record.state, "reason": reason }),
            policy_version: &state.policy_version,
        },
    )
    .await?;
    Ok(())
}

/// Validates and stores a new draft vacancy inside `tx`; shared by CreateVacancy and the import.
async fn insert_new(
    tx: &mut Tx,
    state: &State,
    principal: &Principal,
    scope: &Scope,
    input: &Vacancy,
    prefix: &str,
) -> Result<VacancyRecord, DemandError> {
    let mut v = Violations::default();
    let credit_code = v.value(&format!("{prefix}enterprise_credit_code"), Uscc::parse(&input.enterprise_credit_code));
    let content = validate_content(input, prefix, &mut v);
    if let Some(c) = &content
        && c.needed_by < qiancheng_domain::today_in_china()
    {
        v.add(&format!("{prefix}needed_by"), "DEMAND-NEEDED-BY", "the needed-by date has passed");
    }
    v.finish()?;
    let (Some(credit_code), Some(content)) = (credit_code, content) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    // Permission before existence: an enterprise filing for another learns nothing about it.
    if matches!(scope, Scope::Org(own) if own != credit_code.as_str()) {
        return Err(DemandError::denied("an enterprise files only its own vacancies"));
    }
    let owner =
        enterprise::find(&mut **tx, credit_code.as_str()).await?.ok_or_else(|| DemandError::FailedPrecondition {
            reason: "ENTERPRISE_NOT_REGISTERED",
            message: format!("enterprises/{} is not registered; create it first", credit_code.as_str()),
        })?;
    access::check(scope, owner.region, &owner.credit_code)?;
    let now = now_micros();
    let record = VacancyRecord {
        id: new_id(),
        enterprise_credit_code: owner.credit_code,
        enterprise_name: owner.display_name,
        region: owner.region,
        industry: owner.industry,
        post: content.post,
        occupation_code: content.occupation_code.as_str().to_owned(),
        occupation_name: content.occupation_name,
        skill_level: content.skill_level,
        headcount: content.headcount,
        pay_min_fen: content.pay_min_fen,
        pay_max_fen: content.pay_max_fen,
        requirements: content.requirements,
        work_region: content.work_region,
        needed_by: content.needed_by,
        survey_method: content.survey_method,
        state: "DRAFT".to_owned(),
        revision: 1,
        create_time_micros: now,
        update_time_micros: now,
    };
    sqlx::query(
        "INSERT INTO vacancy (id, enterprise_credit_code, region_code, post, occupation_code, \
         occupation_name, skill_level, headcount, pay_min_fen, pay_max_fen, requirements, work_region_code, \
         needed_by, survey_method, state, revision, create_time_micros, update_time_micros) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&record.id)
    .bind(&record.enterprise_credit_code)
    .bind(record.region.code())
    .bind(&record.post)
    .bind(&record.occupation_code)
    .bind(&record.occupation_name)
    .bind(record.skill_level.code())
    .bind(record.headcount)
    .bind(record.pay_min_fen)
    .bind(record.pay_max_fen)
    .bind(&record.requirements)
    .bind(record.work_region.code())
    .bind(record.needed_by.to_string())
    .bind(&record.survey_method)
    .bind(&record.state)
    .bind(record.revision)
    .bind(record.create_time_micros)
    .bind(record.update_time_micros)
    .execute(&mut **tx)
    .await?;
    record_change(tx, state, principal, &record, "create", "").await?;
    Ok(record)
}

/// CreateVacancy.
pub async fn create(
    state: &State,
    request: Request<CreateVacancyRequest>,
) -> Result<CreateVacancyResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::enterprise_write_scope(&principal)?;
    let message = request.into_inner();
    let input = message.vacancy.clone().unwrap_or_default();
    let key = IdempotencyKey::new(&principal.subject, "CreateVacancy", &message.request_id, &message)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let record = insert_new(&mut write.tx, state, &principal, &scope, &input, "vacancy.").await?;
    Ok(write.commit(CreateVacancyResponse { vacancy: Some(record.to_proto()) }).await?)
}

fn vacancy_id(name: &str, field: &str) -> Result<String, DemandError> {
    convert::resource_id(name, "vacancies")
        .map(str::to_owned)
        .map_err(|e| DemandError::invalid(field, e.rule, e.reason))
}

/// Reads a vacancy the caller may see, or says why not.
pub async fn readable(
    state: &State,
    principal: &Principal,
    name: &str,
    field: &str,
) -> Result<VacancyRecord, DemandError> {
    let scope = access::enterprise_read_scope(principal)?;
    let id = vacancy_id(name, field)?;
    let record = find(state.db.pool(), &id).await?.ok_or_else(|| access::missing(&scope, name))?;
    access::check(&scope, record.region, &record.enterprise_credit_code)?;
    Ok(record)
}

/// GetVacancy.
pub async fn get(state: &State, request: Request<GetVacancyRequest>) -> Result<GetVacancyResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let record = readable(state, &principal, &request.get_ref().name, "name").await?;
    Ok(GetVacancyResponse { vacancy: Some(record.to_proto()) })
}

/// ListVacancies.
pub async fn list(state: &State, request: Request<ListVacanciesRequest>) -> Result<ListVacanciesResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::enterprise_read_scope(&principal)?;
    let message = request.into_inner();
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&message.region_code)).flatten();
    let industry = v.value("industry", convert::optional_industry(message.industry)).flatten();
    let state_filter = match VacancyState::try_from(message.state) {
        Ok(VacancyState::Unspecified) => String::new(),
        Ok(s) => s.as_str_name().trim_start_matches("VACANCY_STATE_").to_owned(),
        Err(_) => {
            v.add("state", "VACANCY-STATE", "not a vacancy state");
            String::new()
        }
    };
    v.finish()?;
    let filters = [
        state_filter.as_str(),
        region.map_or("", |r| r.code()),
        industry.map_or("", |i| i.code()),
        message.enterprise_credit_code.as_str(),
    ];
    let page = PageRequest::parse(message.page_size, &message.page_token, &format!("vacancies|{}", filters.join("|")))?;
    let (scope_kind, scope_value) = scope.sql();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE v.id > $1 AND ($2 = '' OR v.state = $2) AND ($3 = '' OR v.region_code = $3) \
         AND ($4 = '' OR e.industry = $4) AND ($5 = '' OR v.enterprise_credit_code = $5) \
         AND ($6 = 'ALL' OR ($6 = 'REGION' AND v.region_code = $7) OR ($6 = 'ORG' AND v.enterprise_credit_code = $7)) \
         ORDER BY v.id LIMIT $8"
    )))
    .bind(&page.after)
    .bind(filters[0])
    .bind(filters[1])
    .bind(filters[2])
    .bind(filters[3])
    .bind(scope_kind)
    .bind(scope_value)
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(VacancyRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.id.clone());
    Ok(ListVacanciesResponse { vacancies: records.iter().map(VacancyRecord::to_proto).collect(), next_page_token })
}

/// Opens an idempotent write on a vacancy the caller may change, checking its etag.
async fn open_for_change<R: prost::Message + Default>(
    state: &State,
    principal: &Principal,
    name: &str,
    etag: &str,
    key: Option<IdempotencyKey>,
) -> Result<Result<(idempotency::IdempotentTx, VacancyRecord), R>, DemandError> {
    let scope = access::enterprise_write_scope(principal)?;
    let id = vacancy_id(name, "name")?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(Err(response)),
        Started::Fresh(write) => write,
    };
    let record = find(&mut *write.tx, &id).await?.ok_or_else(|| access::missing(&scope, name))?;
    access::check(&scope, record.region, &record.enterprise_credit_code)?;
    if !etag.is_empty() && etag != record.revision.to_string() {
        return Err(PlatformError::StaleEtag.into());
    }
    Ok(Ok((write, record)))
}

async fn store(tx: &mut Tx, record: &VacancyRecord) -> Result<(), DemandError> {
    sqlx::query(
        "UPDATE vacancy SET post = $1, occupation_code = $2, occupation_name = $3, skill_level = $4, headcount = $5, \
         pay_min_fen = $6, pay_max_fen = $7, requirements = $8, work_region_code = $9, needed_by = $10, \
         survey_method = $11, state = $12, revision = $13, update_time_micros = $14 WHERE id = $15",
    )
    .bind(&record.post)
    .bind(&record.occupation_code)
    .bind(&record.occupation_name)
    .bind(record.skill_level.code())
    .bind(record.headcount)
    .bind(record.pay_min_fen)
    .bind(record.pay_max_fen)
    .bind(&record.requirements)
    .bind(record.work_region.code())
    .bind(record.needed_by.to_string())
    .bind(&record.survey_method)
    .bind(&record.state)
    .bind(record.revision)
    .bind(record.update_time_micros)
    .bind(&record.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// UpdateVacancy.
pub async fn update(
    state: &State,
    request: Request<UpdateVacancyRequest>,
) -> Result<UpdateVacancyResponse, DemandError> {
    const EDITABLE: [&str; 11] = [
        "post",
        "occupation_code",
        "occupation_name",
        "skill_level",
        "headcount",
        "pay_min_fen",
        "pay_max_fen",
        "requirements",
        "work_region_code",
        "needed_by",
        "survey_method",
    ];
    let principal = Principal::of(&request)?;
    let message = request.into_inner();
    let input = message.vacancy.clone().unwrap_or_default();
    let paths = message.update_mask.as_ref().map(|m| m.paths.clone()).unwrap_or_default();
    if paths.is_empty() {
        return Err(DemandError::invalid("update_mask", "REQUIRED", "name the fields to change"));
    }
    if let Some(bad) = paths.iter().find(|p| !EDITABLE.contains(&p.as_str())) {
        return Err(DemandError::invalid("update_mask", "UPDATE-MASK", format!("{bad} cannot be changed")));
    }
    let reason =
        convert::optional_text(&message.reason, 500).map_err(|e| DemandError::invalid("reason", e.rule, e.reason))?;
    let key = IdempotencyKey::new(&principal.subject, "UpdateVacancy", &message.request_id, &message)?;
    let (mut write, mut record) =
        match open_for_change::<UpdateVacancyResponse>(state, &principal, &input.name, &input.etag, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    if !matches!(record.state.as_str(), "DRAFT" | "PUBLISHED") {
        return Err(DemandError::FailedPrecondition {
            reason: "VACANCY_STATE",
            message: format!("a {} vacancy cannot change", record.state.to_lowercase()),
        });
    }
    let mut merged = record.to_proto();
    for path in &paths {
        match path.as_str() {
            "post" => merged.post = input.post.clone(),
            "occupation_code" => merged.occupation_code = input.occupation_code.clone(),
            "occupation_name" => merged.occupation_name = input.occupation_name.clone(),
            "skill_level" => merged.skill_level = input.skill_level,
            "headcount" => merged.headcount = input.headcount,
            "pay_min_fen" => merged.pay_min_fen = input.pay_min_fen,
            "pay_max_fen" => merged.pay_max_fen = input.pay_max_fen,
            "requirements" => merged.requirements = input.requirements.clone(),
            "work_region_code" => merged.work_region_code = input.work_region_code.clone(),
            "needed_by" => merged.needed_by = input.needed_by,
            _ => merged.survey_method = input.survey_method,
        }
    }
    let mut v = Violations::default();
    let content = validate_content(&merged, "vacancy.", &mut v);
    if paths.iter().any(|p| p == "needed_by")
        && let Some(c) = &content
        && c.needed_by < qiancheng_domain::today_in_china()
    {
        v.add("vacancy.needed_by", "DEMAND-NEEDED-BY", "the needed-by date has passed");
    }
    v.finish()?;
    let content = content.expect("every missing value was recorded as a violation above");
    record.post = content.post;
    record.occupation_code = content.occupation_code.as_str().to_owned();
    record.occupation_name = content.occupation_name;
    record.skill_level = content.skill_level;
    record.headcount = content.headcount;
    record.pay_min_fen = content.pay_min_fen;
    record.pay_max_fen = content.pay_max_fen;
    record.requirements = content.requirements;
    record.work_region = content.work_region;
    record.needed_by = content.needed_by;
    record.survey_method = content.survey_method;
    record.revision += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    record_change(&mut write.tx, state, &principal, &record, "update", &reason).await?;
    Ok(write.commit(UpdateVacancyResponse { vacancy: Some(record.to_proto()) }).await?)
}

/// Moves a vacancy from one of `from` to `to`, keeping a revision.
#[allow(clippy::too_many_arguments)]
async fn transition<R: prost::Message + Default>(
    state: &State,
    principal: &Principal,
    name: &str,
    etag: &str,
    key: Option<IdempotencyKey>,
    from: &[&str],
    to: &str,
    action: &str,
    reason: &str,
    respond: impl FnOnce(Vacancy) -> R,
) -> Result<R, DemandError> {
    let (mut write, mut record) = match open_for_change::<R>(state, principal, name, etag, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if !from.contains(&record.state.as_str()) {
        return Err(DemandError::FailedPrecondition {
            reason: "VACANCY_STATE",
            message: format!("a {} vacancy cannot become {}", record.state.to_lowercase(), to.to_lowercase()),
        });
    }
    record.state = to.to_owned();
    record.revision += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    record_change(&mut write.tx, state, principal, &record, action, reason).await?;
    Ok(write.commit(respond(record.to_proto())).await?)
}

/// PublishVacancy.
pub async fn publish(
    state: &State,
    request: Request<PublishVacancyRequest>,
) -> Result<PublishVacancyResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let key = IdempotencyKey::new(&principal.subject, "PublishVacancy", &m.request_id, &m)?;
    transition(state, &principal, &m.name, &m.etag, key, &["DRAFT"], "PUBLISHED", "publish", "", |v| {
        PublishVacancyResponse { vacancy: Some(v) }
    })
    .await
}

/// FillVacancy.
pub async fn fill(state: &State, request: Request<FillVacancyRequest>) -> Result<FillVacancyResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let key = IdempotencyKey::new(&principal.subject, "FillVacancy", &m.request_id, &m)?;
    transition(state, &principal, &m.name, &m.etag, key, &["PUBLISHED"], "FILLED", "fill", "", |v| {
        FillVacancyResponse { vacancy: Some(v) }
    })
    .await
}

/// WithdrawVacancy.
pub async fn withdraw(
    state: &State,
    request: Request<WithdrawVacancyRequest>,
) -> Result<WithdrawVacancyResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let reason = convert::text(&m.reason, 500).map_err(|e| DemandError::invalid("reason", e.rule, e.reason))?;
    let key = IdempotencyKey::new(&principal.subject, "WithdrawVacancy", &m.request_id, &m)?;
    transition(
        state,
        &principal,
        &m.name,
        &m.etag,
        key,
        &["DRAFT", "PUBLISHED"],
        "WITHDRAWN",
        "withdraw",
        &reason,
        |v| WithdrawVacancyResponse { vacancy: Some(v) },
    )
    .await
}

/// ListVacancyRevisions.
pub async fn list_revisions(
    state: &State,
    request: Request<ListVacancyRevisionsRequest>,
) -> Result<ListVacancyRevisionsResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let record = readable(state, &principal, &m.name, "name").await?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("revisions|{}", record.id))?;
    // Newest first: the page key is the revision number, counted down.
    let before = if page.after.is_empty() {
        i64::MAX
    } else {
        page.after.parse().map_err(|_| DemandError::invalid("page_token", "PAGE", "not a token of this list"))?
    };
    let rows = sqlx::query(
        "SELECT revision, action, reason, actor, snapshot, time_micros FROM vacancy_revision \
         WHERE vacancy_id = $1 AND revision < $2 ORDER BY revision DESC LIMIT $3",
    )
    .bind(&record.id)
    .bind(before)
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut revisions = rows
        .iter()
        .map(|row| {
            let snapshot: VacancyRecord = serde_json::from_str(&row.try_get::<String, _>("snapshot")?)
                .map_err(|_| corrupt("revision snapshot"))?;
            Ok(VacancyRevision {
                revision: i32::try_from(row.try_get::<i64, _>("revision")?).unwrap_or(i32::MAX),
                vacancy: Some(snapshot.to_proto()),
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                reason: row.try_get("reason")?,
                time_micros: row.try_get("time_micros")?,
            })
        })
        .collect::<Result<Vec<_>, DemandError>>()?;
    let next_page_token = page.finish(&mut revisions, |r| r.revision.to_string());
    Ok(ListVacancyRevisionsResponse { revisions, next_page_token })
}

/// ImportVacancies. Rows are stored in transactions of up to [`IMPORT_CHUNK_ROWS`], each row
/// inside a savepoint of its own, so a bad row is reported and rolled back while the good rows
/// are kept; with a request id per row, a retried import stores nothing twice.
pub async fn import(
    state: &State,
    request: Request<Streaming<ImportVacanciesRequest>>,
) -> Result<ImportVacanciesResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::enterprise_write_scope(&principal)?;
    let mut stream = request.into_inner();
    let mut response = ImportVacanciesResponse::default();
    let mut chunk: Option<(Tx, usize)> = None;
    let mut row = 0i32;
    loop {
        let message = match stream.next().await {
            None => break,
            Some(Ok(message)) => message,
            Some(Err(status)) => {
                // The client is gone: keep the rows already stored (a retry with the same
                // request ids finds them) and report why the stream ended.
                if let Some((tx, _)) = chunk.take() {
                    tx.commit().await?;
                }
                return Err(DemandError::invalid("stream", "IMPORT-STREAM", status.message().to_owned()));
            }
        };
        row += 1;
        if usize::try_from(row).unwrap_or(usize::MAX) > MAX_IMPORT_ROWS {
            response.rejected += 1;
            response.results.push(ImportRowResult {
                row,
                reason: "IMPORT-LIMIT".to_owned(),
                field: "vacancy".to_owned(),
                message: format!("an import takes at most {MAX_IMPORT_ROWS} rows; rows from here on were not read"),
                ..Default::default()
            });
            break;
        }
        let (mut tx, stored) = match chunk.take() {
            Some(open) => open,
            None => (state.db.begin_write().await?, 0),
        };
        let outcome = import_row(&mut tx, state, &principal, &scope, &message).await;
        let mut result =
            ImportRowResult { row, row_ref: message.row_ref.chars().take(64).collect(), ..Default::default() };
        match outcome {
            Ok(name) => {
                result.ok = true;
                result.vacancy_name = name;
                response.imported += 1;
            }
            Err(error) => {
                (result.reason, result.field, result.message) = describe(error);
                response.rejected += 1;
            }
        }
        response.results.push(result);
        if stored + 1 >= IMPORT_CHUNK_ROWS {
            tx.commit().await?;
        } else {
            chunk = Some((tx, stored + 1));
        }
    }
    if let Some((tx, _)) = chunk {
        tx.commit().await?;
    }
    Ok(response)
}

/// Rows stored in one transaction of an import.
pub const IMPORT_CHUNK_ROWS: usize = 200;

/// Stores one imported row inside a savepoint of `tx`, returning the vacancy's name.
async fn import_row(
    tx: &mut Tx,
    state: &State,
    principal: &Principal,
    scope: &Scope,
    message: &ImportVacanciesRequest,
) -> Result<String, DemandError> {
    if message.row_ref.chars().count() > 64 {
        return Err(DemandError::invalid("row_ref", "TEXT-LENGTH", "at most 64 characters"));
    }
    let input = message.vacancy.clone().unwrap_or_default();
    let key = IdempotencyKey::new(&principal.subject, "ImportVacancies", &message.request_id, &input)?;
    if let Some(done) = idempotency::replay::<CreateVacancyResponse>(tx, key.as_ref()).await? {
        return Ok(done.vacancy.map(|v| v.name).unwrap_or_default());
    }
    sqlx::query("SAVEPOINT import_row").execute(&mut **tx).await?;
    let stored = async {
        let record = insert_new(tx, state, principal, scope, &input, "vacancy.").await?;
        let response = CreateVacancyResponse { vacancy: Some(record.to_proto()) };
        idempotency::remember(tx, key.as_ref(), &response).await?;
        Ok::<_, DemandError>(record.name())
    }
    .await;
    match stored {
        Ok(name) => {
            sqlx::query("RELEASE SAVEPOINT import_row").execute(&mut **tx).await?;
            Ok(name)
        }
        Err(error) => {
            sqlx::query("ROLLBACK TO SAVEPOINT import_row").execute(&mut **tx).await?;
            sqlx::query("RELEASE SAVEPOINT import_row").execute(&mut **tx).await?;
            Err(error)
        }
    }
}

/// The reason, field and message of a refused import row, as a client would see them.
fn describe(error: DemandError) -> (String, String, String) {
    let status = tonic::Status::from(error);
    let details = tonic_types::StatusExt::get_error_details(&status);
    let reason = details.error_info().map(|i| i.reason.clone()).unwrap_or_default();
    let field =
        details.bad_request().and_then(|b| b.field_violations.first()).map(|f| f.field.clone()).unwrap_or_default();
    (reason, field, status.message().to_owned())
}
