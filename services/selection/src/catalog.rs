//! The training-project catalog (培训项目目录, 二(二), PROJ-CATALOG): what is to be trained, for
//! which demand. Items are drafted by hand or from the demand service's training-need summary,
//! published, revised as new versions (never edited in place once published), and withdrawn.

use qiancheng_api::convert;
use qiancheng_api::demand::SummarizeTrainingNeedsRequest;
use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::selection::*;
use qiancheng_domain::policy::decision::RuleResult as PolicyRule;
use qiancheng_domain::policy::project::{CatalogItem as PolicyItem, TrainingMode as Mode, proj_catalog};
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel};
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::db::Tx;
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Executor, Row as _};
use tonic::Request;

use crate::State;
use crate::access::{self, Scope};
use crate::error::SelectionError;

/// Largest headcount one item may state.
pub const MAX_HEADCOUNT: i64 = 100_000;

/// A catalog item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItemRecord {
    /// Id (ULID).
    pub id: String,
    /// Id of the first version.
    pub lineage: String,
    /// Version.
    pub version: i64,
    /// County or city.
    pub region: RegionCode,
    /// Industry.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Occupation name.
    pub occupation_name: String,
    /// Level.
    pub level: SkillLevel,
    /// Headcount.
    pub headcount: i64,
    /// Skill requirements.
    pub skill_requirements: String,
    /// Content.
    pub content: String,
    /// Hours.
    pub hours: i64,
    /// Mode, if chosen.
    pub mode: Option<Mode>,
    /// The demand it answers.
    pub answers: Vec<String>,
    /// State (`DRAFT`, `PUBLISHED`, `SUPERSEDED`, `WITHDRAWN`).
    pub state: String,
    /// Revision, for the etag.
    pub revision: i64,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

const COLUMNS: &str = "id, lineage, version, region_code, industry, occupation_code, occupation_name, skill_level, \
    headcount, skill_requirements, content, hours, mode, answers, state, revision, create_time_micros, update_time_micros";

fn corrupt(what: &str) -> SelectionError {
    PlatformError::Corrupt(format!("catalog item {what}")).into()
}

fn mode_code(mode: Option<Mode>) -> String {
    mode.and_then(|m| serde_json::to_value(m).ok()).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn mode_from_code(code: &str) -> Option<Mode> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

/// A proto training mode as the domain's; `None` when not given.
pub fn mode_from_proto(value: i32) -> Result<Option<Mode>, qiancheng_domain::ValueError> {
    match TrainingMode::try_from(value) {
        Ok(TrainingMode::Unspecified) => Ok(None),
        Ok(m) => Ok(m.as_str_name().strip_prefix("TRAINING_MODE_").and_then(mode_from_code)),
        Err(_) => Err(qiancheng_domain::ValueError::new("PROJ-CATALOG", format!("{value} is not a training mode"))),
    }
}

/// A domain training mode as its proto value.
pub fn mode_to_proto(mode: Option<Mode>) -> i32 {
    TrainingMode::from_str_name(&format!("TRAINING_MODE_{}", mode_code(mode))).map_or(0, |m| m as i32)
}

impl CatalogItemRecord {
    fn from_row(row: &AnyRow) -> Result<Self, SelectionError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        let mode = text("mode")?;
        Ok(Self {
            id: text("id")?,
            lineage: text("lineage")?,
            version: row.try_get("version")?,
            region: RegionCode::parse(&text("region_code")?).map_err(|_| corrupt("region"))?,
            industry: Industry::parse(&text("industry")?).map_err(|_| corrupt("industry"))?,
            occupation_code: text("occupation_code")?,
            occupation_name: text("occupation_name")?,
            level: SkillLevel::parse(&text("skill_level")?).map_err(|_| corrupt("level"))?,
            headcount: row.try_get("headcount")?,
            skill_requirements: text("skill_requirements")?,
            content: text("content")?,
            hours: row.try_get("hours")?,
            mode: if mode.is_empty() { None } else { Some(mode_from_code(&mode).ok_or_else(|| corrupt("mode"))?) },
            answers: serde_json::from_str(&text("answers")?).map_err(|_| corrupt("answers"))?,
            state: text("state")?,
            revision: row.try_get("revision")?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("catalogItems/{}", self.id)
    }

    /// The item as the API shows it.
    pub fn to_proto(&self) -> CatalogItem {
        CatalogItem {
            name: self.name(),
            lineage: format!("catalogItems/{}", self.lineage),
            version: i32::try_from(self.version).unwrap_or(i32::MAX),
            region_code: self.region.code().to_owned(),
            industry: convert::industry_to_proto(self.industry),
            occupation_code: self.occupation_code.clone(),
            occupation_name: self.occupation_name.clone(),
            skill_level: convert::skill_level_to_proto(Some(self.level)),
            headcount: i32::try_from(self.headcount).unwrap_or(i32::MAX),
            skill_requirements: self.skill_requirements.clone(),
            content: self.content.clone(),
            hours: i32::try_from(self.hours).unwrap_or(i32::MAX),
            mode: mode_to_proto(self.mode),
            answers: self.answers.clone(),
            state: CatalogItemState::from_str_name(&format!("CATALOG_ITEM_STATE_{}", self.state))
                .map_or(0, |s| s as i32),
            create_time_micros: self.create_time_micros,
            update_time_micros: self.update_time_micros,
            etag: self.revision.to_string(),
        }
    }

    /// PROJ-CATALOG: whether the item states everything a published item must.
    pub fn publishable(&self) -> PolicyRule {
        let (Ok(occupation), Some(mode)) = (OccupationCode::parse(&self.occupation_code), self.mode) else {
            return PolicyRule::fail(
                "PROJ-CATALOG",
                "清单条目缺少培训方式",
                "the catalog item lacks its training mode",
            );
        };
        proj_catalog(&PolicyItem {
            occupation,
            occupation_name: self.occupation_name.clone(),
            level: self.level,
            headcount: u32::try_from(self.headcount).unwrap_or(0),
            skill_requirements: self.skill_requirements.clone(),
            content: self.content.clone(),
            hours: u32::try_from(self.hours).unwrap_or(0),
            mode,
            demand: self.answers.join("; "),
        })
    }
}

/// Reads a catalog item by id.
pub async fn load<'c>(
    executor: impl Executor<'c, Database = sqlx::Any>,
    id: &str,
) -> Result<Option<CatalogItemRecord>, SelectionError> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM catalog_item WHERE id = $1")))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(CatalogItemRecord::from_row).transpose()
}

async fn insert(tx: &mut Tx, record: &CatalogItemRecord, actor: &str) -> Result<(), SelectionError> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO catalog_item ({COLUMNS}, created_by) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    )))
    .bind(&record.id)
    .bind(&record.lineage)
    .bind(record.version)
    .bind(record.region.code())
    .bind(record.industry.code())
    .bind(&record.occupation_code)
    .bind(&record.occupation_name)
    .bind(record.level.code())
    .bind(record.headcount)
    .bind(&record.skill_requirements)
    .bind(&record.content)
    .bind(record.hours)
    .bind(mode_code(record.mode))
    .bind(serde_json::to_string(&record.answers).map_err(|e| PlatformError::Corrupt(e.to_string()))?)
    .bind(&record.state)
    .bind(record.revision)
    .bind(record.create_time_micros)
    .bind(record.update_time_micros)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn set_state(tx: &mut Tx, record: &CatalogItemRecord) -> Result<(), SelectionError> {
    sqlx::query("UPDATE catalog_item SET state = $1, revision = $2, update_time_micros = $3 WHERE id = $4")
        .bind(&record.state)
        .bind(record.revision)
        .bind(record.update_time_micros)
        .bind(&record.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn audit_change(
    tx: &mut Tx,
    state: &State,
    principal: &Principal,
    record: &CatalogItemRecord,
    action: &str,
    reason: &str,
) -> Result<(), SelectionError> {
    let detail = serde_json::json!({ "version": record.version, "state": record.state, "reason": reason,
        "occupation": record.occupation_code, "level": record.level.code(), "headcount": record.headcount });
    state.audit(tx, principal, action, &record.name(), detail).await
}

/// The content fields an officer edits, validated.
struct Content {
    headcount: i64,
    skill_requirements: String,
    content: String,
    hours: i64,
    mode: Option<Mode>,
    answers: Vec<String>,
}

fn validate_content(item: &CatalogItem, v: &mut Violations) -> Option<Content> {
    let headcount = i64::from(item.headcount);
    if !(1..=MAX_HEADCOUNT).contains(&headcount) {
        v.add("catalog_item.headcount", "PROJ-CATALOG", format!("headcount must be 1 to {MAX_HEADCOUNT}"));
    }
    if !(0..=2000).contains(&item.hours) {
        v.add("catalog_item.hours", "PROJ-CATALOG", "hours must be 0 to 2000");
    }
    if item.answers.len() > 200 || item.answers.iter().any(|a| a.chars().count() > 500) {
        v.add("catalog_item.answers", "PROJ-CATALOG", "at most 200 references of at most 500 characters");
    }
    Some(Content {
        headcount,
        skill_requirements: v
            .value("catalog_item.skill_requirements", convert::optional_text(&item.skill_requirements, 2000))?,
        content: v.value("catalog_item.content", convert::optional_text(&item.content, 5000))?,
        hours: i64::from(item.hours),
        mode: v.value("catalog_item.mode", mode_from_proto(item.mode))?,
        answers: item.answers.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect(),
    })
}

/// CreateCatalogItem.
pub async fn create(
    state: &State,
    request: Request<CreateCatalogItemRequest>,
) -> Result<CreateCatalogItemResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
    let item = m.catalog_item.clone().unwrap_or_default();
    let mut v = Violations::default();
    let region = v.value("catalog_item.region_code", RegionCode::parse(&item.region_code));
    let industry = v.value("catalog_item.industry", convert::industry(item.industry));
    let occupation = v.value("catalog_item.occupation_code", OccupationCode::parse(&item.occupation_code));
    let occupation_name = v.value("catalog_item.occupation_name", convert::text(&item.occupation_name, 100));
    let level = v.value("catalog_item.skill_level", convert::required_skill_level(item.skill_level));
    let content = validate_content(&item, &mut v);
    v.finish()?;
    let (Some(region), Some(industry), Some(occupation), Some(occupation_name), Some(level), Some(content)) =
        (region, industry, occupation, occupation_name, level, content)
    else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    access::check_officer_region(&principal, &scope, region)?;
    let key = IdempotencyKey::new(&principal.subject, "CreateCatalogItem", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let id = new_id();
    let now = now_micros();
    let record = CatalogItemRecord {
        lineage: id.clone(),
        id,
        version: 1,
        region,
        industry,
        occupation_code: occupation.as_str().to_owned(),
        occupation_name,
        level,
        headcount: content.headcount,
        skill_requirements: content.skill_requirements,
        content: content.content,
        hours: content.hours,
        mode: content.mode,
        answers: content.answers,
        state: "DRAFT".to_owned(),
        revision: 1,
        create_time_micros: now,
        update_time_micros: now,
    };
    // PROJ-CATALOG: a draft states everything a published item must, so review is all that
    // stands between it and the catalog (a published item is never edited, only revised).
    let complete = record.publishable();
    if !complete.passed {
        return Err(SelectionError::invalid("catalog_item", "PROJ-CATALOG", complete.reason_en));
    }
    insert(&mut write.tx, &record, &principal.subject).await?;
    audit_change(&mut write.tx, state, &principal, &record, "catalog_item.create", "").await?;
    Ok(write.commit(CreateCatalogItemResponse { catalog_item: Some(record.to_proto()) }).await?)
}

/// DraftCatalogFromDemand: asks the demand service for its training-need summary and drafts one
/// item per row with people to train ("用什么、学什么"), skipping rows the catalog already answers.
pub async fn draft_from_demand(
    state: &State,
    request: Request<DraftCatalogFromDemandRequest>,
) -> Result<DraftCatalogFromDemandResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    let mode = v.value("mode", mode_from_proto(m.mode)).flatten();
    // PROJ-CATALOG: the drafts are complete items, ready for review and publication.
    if m.content.trim().is_empty() {
        v.add("content", "PROJ-CATALOG", "say what the training teaches");
    }
    let content = v.value("content", convert::optional_text(&m.content, 5000));
    if !(1..=2000).contains(&m.hours) {
        v.add("hours", "PROJ-CATALOG", "hours must be 1 to 2000");
    }
    if mode.is_none() {
        v.add("mode", "PROJ-CATALOG", "say how the training is given");
    }
    v.finish()?;
    let content = content.unwrap_or_default();
    // Officers draft for their county; only the city drafts for every county at once.
    let region = match (&scope, region) {
        (Scope::Region(own), None) => Some(*own),
        (_, region) => region,
    };
    if let Some(region) = region {
        access::check(&scope, region, "")?;
    }
    let key = IdempotencyKey::new(&principal.subject, "DraftCatalogFromDemand", &m.request_id, &m)?;
    // A retry answers from its stored response without asking the demand service again.
    if let Started::Replayed(response) = idempotency::start(&state.db, key.clone()).await? {
        return Ok(response);
    }
    let peer = state.demand.as_ref().ok_or_else(|| {
        SelectionError::state(
            "DEMAND_NOT_CONFIGURED",
            "the demand service is not configured (QIANCHENG_PEER_DEMAND_URL)",
        )
    })?;
    // The summary is read before the write transaction opens: no lock is held across a call.
    let summary = DemandServiceClient::with_interceptor(peer.channel.clone(), peer.credentials.interceptor())
        .summarize_training_needs(SummarizeTrainingNeedsRequest {
            region_code: region.map(|r| r.code().to_owned()).unwrap_or_default(),
            industry: 0,
        })
        .await
        .map_err(|status| SelectionError::Peer { service: "demand", message: status.message().to_owned() })?
        .into_inner();

    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let mut drafts = Vec::new();
    for need in summary.needs.iter().filter(|n| n.gap > 0) {
        let (Ok(need_region), Ok(industry), Ok(Some(level)), Ok(_)) = (
            RegionCode::parse(&need.region_code),
            convert::industry(need.industry),
            convert::skill_level(need.skill_level),
            OccupationCode::parse(&need.occupation_code),
        ) else {
            return Err(SelectionError::Peer { service: "demand", message: "a summary row did not parse".to_owned() });
        };
        let answered: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM catalog_item WHERE region_code = $1 AND industry = $2 AND occupation_code = $3 \
             AND skill_level = $4 AND state IN ('DRAFT', 'PUBLISHED')",
        )
        .bind(need_region.code())
        .bind(industry.code())
        .bind(&need.occupation_code)
        .bind(level.code())
        .fetch_one(&mut *write.tx)
        .await?;
        if answered > 0 {
            continue;
        }
        let id = new_id();
        let now = now_micros();
        let record = CatalogItemRecord {
            lineage: id.clone(),
            id,
            version: 1,
            region: need_region,
            industry,
            occupation_code: need.occupation_code.clone(),
            occupation_name: need.occupation_name.clone(),
            level,
            headcount: i64::from(need.gap),
            skill_requirements: format!("达到{}{}职业技能标准", need.occupation_name, level.name_zh()),
            content: content.clone(),
            hours: i64::from(m.hours),
            mode,
            answers: vec![format!(
                "岗位需求汇总({}): 需求{}人, 已具备{}人, 缺口{}人, 有培训意愿{}人",
                summary.as_of_micros, need.headcount_wanted, need.workers_qualified, need.gap, need.workers_willing
            )],
            state: "DRAFT".to_owned(),
            revision: 1,
            create_time_micros: now,
            update_time_micros: now,
        };
        insert(&mut write.tx, &record, &principal.subject).await?;
        audit_change(&mut write.tx, state, &principal, &record, "catalog_item.draft_from_demand", "").await?;
        drafts.push(record.to_proto());
    }
    Ok(write
        .commit(DraftCatalogFromDemandResponse { catalog_items: drafts, demand_as_of_micros: summary.as_of_micros })
        .await?)
}

fn item_id(name: &str, field: &str) -> Result<String, SelectionError> {
    convert::resource_id(name, "catalogItems")
        .map(str::to_owned)
        .map_err(|e| SelectionError::invalid(field, e.rule, e.reason))
}

/// GetCatalogItem.
pub async fn get(
    state: &State,
    request: Request<GetCatalogItemRequest>,
) -> Result<GetCatalogItemResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let name = &request.get_ref().name;
    let record =
        load(state.db.pool(), &item_id(name, "name")?).await?.ok_or_else(|| SelectionError::NotFound(name.clone()))?;
    if record.state != "PUBLISHED" && !access::reads_internal(&principal, record.region) {
        return Err(SelectionError::denied("unpublished catalog items are for the officers of their county"));
    }
    Ok(GetCatalogItemResponse { catalog_item: Some(record.to_proto()) })
}

/// ListCatalogItems.
pub async fn list(
    state: &State,
    request: Request<ListCatalogItemsRequest>,
) -> Result<ListCatalogItemsResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let region = v
        .value(
            "region_code",
            RegionCode::parse(&m.region_code)
                .map(Some)
                .or_else(|e| if m.region_code.is_empty() { Ok(None) } else { Err(e) }),
        )
        .flatten();
    let wanted = match CatalogItemState::try_from(m.state) {
        Ok(CatalogItemState::Unspecified) => "PUBLISHED".to_owned(),
        Ok(s) => s.as_str_name().trim_start_matches("CATALOG_ITEM_STATE_").to_owned(),
        Err(_) => {
            v.add("state", "PROJ-CATALOG", "not a catalog item state");
            String::new()
        }
    };
    v.finish()?;
    // The public catalog is for everyone; other states only within an officer's reach.
    let scope = if wanted == "PUBLISHED" || principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        Scope::All
    } else {
        access::officer_scope(&principal)?
    };
    let page = PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("catalog|{wanted}|{}", region.map_or("", |r| r.code())),
    )?;
    let (scope_kind, scope_value) = scope.sql();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM catalog_item WHERE id > $1 AND state = $2 AND ($3 = '' OR region_code = $3) \
         AND ($4 = 'ALL' OR ($4 = 'REGION' AND region_code = $5)) ORDER BY id LIMIT $6"
    )))
    .bind(&page.after)
    .bind(&wanted)
    .bind(region.map_or("", |r| r.code()))
    .bind(scope_kind)
    .bind(scope_value)
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(CatalogItemRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.id.clone());
    Ok(ListCatalogItemsResponse {
        catalog_items: records.iter().map(CatalogItemRecord::to_proto).collect(),
        next_page_token,
    })
}

/// Opens an idempotent write on an item the caller may change.
async fn open_for_change<R: prost::Message + Default>(
    state: &State,
    principal: &Principal,
    name: &str,
    key: Option<IdempotencyKey>,
) -> Result<Result<(idempotency::IdempotentTx, CatalogItemRecord), R>, SelectionError> {
    let scope = access::officer_scope(principal)?;
    let id = item_id(name, "name")?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(Err(response)),
        Started::Fresh(write) => write,
    };
    let record = load(&mut *write.tx, &id).await?.ok_or_else(|| access::missing(&scope, name))?;
    access::check_officer_region(principal, &scope, record.region)?;
    Ok(Ok((write, record)))
}

/// PublishCatalogItem.
pub async fn publish(
    state: &State,
    request: Request<PublishCatalogItemRequest>,
) -> Result<PublishCatalogItemResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let key = IdempotencyKey::new(&principal.subject, "PublishCatalogItem", &m.request_id, &m)?;
    let (mut write, mut record) =
        match open_for_change::<PublishCatalogItemResponse>(state, &principal, &m.name, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    if !m.etag.is_empty() && m.etag != record.revision.to_string() {
        return Err(PlatformError::StaleEtag.into());
    }
    if record.state != "DRAFT" {
        return Err(SelectionError::state(
            "CATALOG_ITEM_STATE",
            format!("a {} item cannot be published", record.state.to_lowercase()),
        ));
    }
    let rule = record.publishable();
    if !rule.passed {
        return Err(SelectionError::Rule(rule));
    }
    // PROJ-CATALOG: a published item is never edited; its new version replaces it.
    let superseded = sqlx::query(
        "UPDATE catalog_item SET state = 'SUPERSEDED', revision = revision + 1, update_time_micros = $1 \
         WHERE lineage = $2 AND state = 'PUBLISHED'",
    )
    .bind(now_micros())
    .bind(&record.lineage)
    .execute(&mut *write.tx)
    .await?
    .rows_affected();
    record.state = "PUBLISHED".to_owned();
    record.revision += 1;
    record.update_time_micros = now_micros();
    set_state(&mut write.tx, &record).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "catalog_item.publish",
        &format!("superseded {superseded}"),
    )
    .await?;
    Ok(write.commit(PublishCatalogItemResponse { catalog_item: Some(record.to_proto()) }).await?)
}

/// ReviseCatalogItem.
pub async fn revise(
    state: &State,
    request: Request<ReviseCatalogItemRequest>,
) -> Result<ReviseCatalogItemResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let input = m.catalog_item.clone().unwrap_or_default();
    let mut v = Violations::default();
    let content = validate_content(&input, &mut v);
    v.finish()?;
    let content = content.expect("every missing value was recorded as a violation, and finish() refused them");
    let key = IdempotencyKey::new(&principal.subject, "ReviseCatalogItem", &m.request_id, &m)?;
    let (mut write, published) =
        match open_for_change::<ReviseCatalogItemResponse>(state, &principal, &input.name, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    if published.state != "PUBLISHED" {
        return Err(SelectionError::state(
            "CATALOG_ITEM_STATE",
            "only a published item is revised; edit a draft by creating it again",
        ));
    }
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM catalog_item WHERE lineage = $1 AND state = 'DRAFT'")
        .bind(&published.lineage)
        .fetch_one(&mut *write.tx)
        .await?;
    if pending > 0 {
        return Err(SelectionError::state("REVISION_PENDING", "a draft revision of this item already exists"));
    }
    let latest: i64 = sqlx::query_scalar("SELECT MAX(version) FROM catalog_item WHERE lineage = $1")
        .bind(&published.lineage)
        .fetch_one(&mut *write.tx)
        .await?;
    let now = now_micros();
    let record = CatalogItemRecord {
        id: new_id(),
        version: latest + 1,
        headcount: content.headcount,
        skill_requirements: content.skill_requirements,
        content: content.content,
        hours: content.hours,
        mode: content.mode,
        answers: if content.answers.is_empty() { published.answers.clone() } else { content.answers },
        state: "DRAFT".to_owned(),
        revision: 1,
        create_time_micros: now,
        update_time_micros: now,
        ..published
    };
    insert(&mut write.tx, &record, &principal.subject).await?;
    audit_change(&mut write.tx, state, &principal, &record, "catalog_item.revise", "").await?;
    Ok(write.commit(ReviseCatalogItemResponse { catalog_item: Some(record.to_proto()) }).await?)
}

/// WithdrawCatalogItem.
pub async fn withdraw(
    state: &State,
    request: Request<WithdrawCatalogItemRequest>,
) -> Result<WithdrawCatalogItemResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let reason = convert::text(&m.reason, 500).map_err(|e| SelectionError::invalid("reason", e.rule, e.reason))?;
    let key = IdempotencyKey::new(&principal.subject, "WithdrawCatalogItem", &m.request_id, &m)?;
    let (mut write, mut record) =
        match open_for_change::<WithdrawCatalogItemResponse>(state, &principal, &m.name, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    if !matches!(record.state.as_str(), "DRAFT" | "PUBLISHED") {
        return Err(SelectionError::state(
            "CATALOG_ITEM_STATE",
            format!("a {} item cannot be withdrawn", record.state.to_lowercase()),
        ));
    }
    record.state = "WITHDRAWN".to_owned();
    record.revision += 1;
    record.update_time_micros = now_micros();
    set_state(&mut write.tx, &record).await?;
    audit_change(&mut write.tx, state, &principal, &record, "catalog_item.withdraw", &reason).await?;
    Ok(write.commit(WithdrawCatalogItemResponse { catalog_item: Some(record.to_proto()) }).await?)
}
