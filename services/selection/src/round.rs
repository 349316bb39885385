//! Selection rounds (遴选批次, 七(一)(二)): a county's (or the city's) call for applications with
//! its method (遴选, 揭榜领题, 专家评审, 综合评议), quota and deadline. A round is opened, closed so
//! experts can score, and decided: the submitted applications are ranked (PROJ-SELECTION),
//! checked again for disqualification (PROV-DISQUALIFIED) and cross-region consent
//! (PROJ-CROSS-REGION), and approved in order while the quota lasts (PROJ-QUOTA). The ranking is
//! stored with the scores it was made from and the policy version, so it can be replayed.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike as _, NaiveDate};
use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::policy::decision::RuleResult as PolicyRule;
use qiancheng_domain::policy::project::proj_cross_region;
use qiancheng_domain::policy::provider::prov_disqualified;
use qiancheng_domain::policy::selection::{ExpertScore, QuotaRequest, proj_quota, proj_selection_score};
use qiancheng_domain::{RegionCode, today_in_china};
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::Principal;
use qiancheng_platform::db::Tx;
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Executor, Row as _};
use tonic::Request;

use crate::access;
use crate::application::{self, ApplicationRecord};
use crate::error::SelectionError;
use crate::project::{self, ProjectRecord};
use crate::provider::{self, rule_to_proto};
use crate::{State, catalog, expert};

/// Largest quota a round may hold.
pub const MAX_QUOTA: i64 = 1_000_000;

/// The method of expert review (专家评审), the one method scored by experts.
pub const EXPERT_REVIEW: &str = "EXPERT_REVIEW";

/// One application's place in a decided round, as stored with the facts it was ranked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRank {
    /// The application's id.
    pub application_id: String,
    /// Rank, from 1.
    pub rank: i64,
    /// The score ranked by; `None` when no valid score could be made (PROJ-SELECTION).
    pub score: Option<Decimal>,
    /// Headcount asked.
    pub headcount: i64,
    /// When it was (last) submitted, microseconds: the first tie-break.
    pub submitted_micros: i64,
    /// The experts' scores it was scored from (expert review), recused experts included.
    #[serde(default)]
    pub expert_scores: Vec<ExpertScore>,
    /// Whether it was approved.
    pub approved: bool,
    /// The rules that decided it.
    pub rules: Vec<PolicyRule>,
}

/// A selection round (遴选批次) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRecord {
    /// Id (ULID).
    pub id: String,
    /// Title.
    pub title: String,
    /// County, or the city.
    pub region: RegionCode,
    /// Method (`SELECTION`, `OPEN_CHALLENGE`, `EXPERT_REVIEW`, `COMPREHENSIVE_EVALUATION`).
    pub method: String,
    /// Trainees the round may approve in all (PROJ-QUOTA).
    pub quota: i64,
    /// Last day to submit.
    pub deadline: NaiveDate,
    /// State (`OPEN`, `CLOSED`, `DECIDED`).
    pub state: String,
    /// Approved headcount.
    pub approved_headcount: i64,
    /// The ranking, once decided.
    pub ranking: Vec<StoredRank>,
    /// Policy-set version it was decided under; empty until decided.
    pub policy_version: String,
    /// Revision, for the etag.
    pub revision: i64,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

const COLUMNS: &str = "id, title, region_code, method, quota, deadline, state, approved_headcount, ranking, \
    policy_version, revision, create_time_micros, update_time_micros";

fn corrupt(what: &str) -> SelectionError {
    PlatformError::Corrupt(format!("round {what}")).into()
}

/// A proto selection method as its stored code; `None` when not given.
fn method_from_proto(value: i32) -> Option<String> {
    SelectionMethod::try_from(value)
        .ok()
        .filter(|m| *m != SelectionMethod::Unspecified)
        .and_then(|m| m.as_str_name().strip_prefix("SELECTION_METHOD_").map(str::to_owned))
}

/// A stored selection method as its proto value.
pub fn method_to_proto(code: &str) -> i32 {
    SelectionMethod::from_str_name(&format!("SELECTION_METHOD_{code}")).map_or(0, |m| m as i32)
}

fn state_to_proto(code: &str) -> i32 {
    RoundState::from_str_name(&format!("ROUND_STATE_{code}")).map_or(0, |s| s as i32)
}

/// Clamps a stored count to the wire's `int32`.
pub(crate) fn to_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl RoundRecord {
    fn from_row(row: &AnyRow) -> Result<Self, SelectionError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        Ok(Self {
            id: text("id")?,
            title: text("title")?,
            region: RegionCode::parse(&text("region_code")?).map_err(|_| corrupt("region"))?,
            method: text("method")?,
            quota: row.try_get("quota")?,
            deadline: qiancheng_domain::parse_date(&text("deadline")?).map_err(|_| corrupt("deadline"))?,
            state: text("state")?,
            approved_headcount: row.try_get("approved_headcount")?,
            ranking: serde_json::from_str(&text("ranking")?).map_err(|_| corrupt("ranking"))?,
            policy_version: text("policy_version")?,
            revision: row.try_get("revision")?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("rounds/{}", self.id)
    }

    /// Whether the round takes applications on `day`: open, and the deadline not passed.
    pub fn takes_applications(&self, day: NaiveDate) -> bool {
        self.state == "OPEN" && day <= self.deadline
    }

    /// The round as the API shows it.
    pub fn to_proto(&self) -> Round {
        Round {
            name: self.name(),
            title: self.title.clone(),
            region_code: self.region.code().to_owned(),
            method: method_to_proto(&self.method),
            quota: to_i32(self.quota),
            deadline: Some(convert::date_to_proto(self.deadline)),
            state: state_to_proto(&self.state),
            approved_headcount: to_i32(self.approved_headcount),
            ranking: self
                .ranking
                .iter()
                .map(|r| RankedApplication {
                    application: format!("applications/{}", r.application_id),
                    rank: to_i32(r.rank),
                    score: r.score.map(|s| s.normalize().to_string()).unwrap_or_default(),
                    headcount: to_i32(r.headcount),
                    approved: r.approved,
                    rules: r.rules.iter().map(rule_to_proto).collect(),
                    expert_scores: r
                        .expert_scores
                        .iter()
                        .map(|e| ExpertScoreRecord {
                            expert: e.expert.clone(),
                            organisation: e.organisation.clone(),
                            recused: e.conflict_declared,
                            score: e.score.normalize().to_string(),
                        })
                        .collect(),
                    submitted_micros: r.submitted_micros,
                })
                .collect(),
            policy_version: self.policy_version.clone(),
            create_time_micros: self.create_time_micros,
            update_time_micros: self.update_time_micros,
            etag: self.revision.to_string(),
        }
    }
}

/// Reads a round by id.
pub async fn load<'c>(
    executor: impl Executor<'c, Database = sqlx::Any>,
    id: &str,
) -> Result<Option<RoundRecord>, SelectionError> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM selection_round WHERE id = $1")))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(RoundRecord::from_row).transpose()
}

async fn insert(tx: &mut Tx, record: &RoundRecord, actor: &str) -> Result<(), SelectionError> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO selection_round ({COLUMNS}, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )))
    .bind(&record.id)
    .bind(&record.title)
    .bind(record.region.code())
    .bind(&record.method)
    .bind(record.quota)
    .bind(record.deadline.to_string())
    .bind(&record.state)
    .bind(record.approved_headcount)
    .bind(serde_json::to_string(&record.ranking).map_err(|e| PlatformError::Corrupt(e.to_string()))?)
    .bind(&record.policy_version)
    .bind(record.revision)
    .bind(record.create_time_micros)
    .bind(record.update_time_micros)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn store(tx: &mut Tx, record: &RoundRecord) -> Result<(), SelectionError> {
    sqlx::query(
        "UPDATE selection_round SET state = $1, approved_headcount = $2, ranking = $3, policy_version = $4, \
         revision = $5, update_time_micros = $6 WHERE id = $7",
    )
    .bind(&record.state)
    .bind(record.approved_headcount)
    .bind(serde_json::to_string(&record.ranking).map_err(|e| PlatformError::Corrupt(e.to_string()))?)
    .bind(&record.policy_version)
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
    record: &RoundRecord,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), SelectionError> {
    state.audit(tx, principal, action, &record.name(), detail).await
}

/// The id inside `rounds/{round}`, or the bad field.
pub fn round_id(name: &str, field: &str) -> Result<String, SelectionError> {
    convert::resource_id(name, "rounds")
        .map(str::to_owned)
        .map_err(|e| SelectionError::invalid(field, e.rule, e.reason))
}

/// CreateRound: opens a round for a county (or, for city administrators, the city).
pub async fn create(
    state: &State,
    request: Request<CreateRoundRequest>,
) -> Result<CreateRoundResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
    let input = m.round.clone().unwrap_or_default();
    let mut v = Violations::default();
    let title = v.value("round.title", convert::text(&input.title, 200));
    let region = v.value("round.region_code", RegionCode::parse(&input.region_code));
    let method = method_from_proto(input.method);
    if method.is_none() {
        v.add(
            "round.method",
            "PROJ-SELECTION",
            "a round uses one method: selection, open challenge, expert review or comprehensive evaluation",
        );
    }
    let quota = i64::from(input.quota);
    if !(1..=MAX_QUOTA).contains(&quota) {
        v.add("round.quota", "PROJ-QUOTA", format!("the quota must be 1 to {MAX_QUOTA} trainees"));
    }
    let deadline = v.value("round.deadline", convert::required_date(input.deadline.as_ref()));
    if deadline.is_some_and(|d| d < today_in_china()) {
        v.add("round.deadline", "DATE", "the deadline cannot be before today");
    }
    v.finish()?;
    let (Some(title), Some(region), Some(method), Some(deadline)) = (title, region, method, deadline) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    access::check_officer_region(&principal, &scope, region)?;
    let key = IdempotencyKey::new(&principal.subject, "CreateRound", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let now = now_micros();
    let record = RoundRecord {
        id: new_id(),
        title,
        region,
        method,
        quota,
        deadline,
        state: "OPEN".to_owned(),
        approved_headcount: 0,
        ranking: Vec::new(),
        policy_version: String::new(),
        revision: 1,
        create_time_micros: now,
        update_time_micros: now,
    };
    insert(&mut write.tx, &record, &principal.subject).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "round.create",
        serde_json::json!({ "region": record.region.code(), "method": record.method, "quota": record.quota,
            "deadline": record.deadline.to_string() }),
    )
    .await?;
    Ok(write.commit(CreateRoundResponse { round: Some(record.to_proto()) }).await?)
}

/// GetRound: any authenticated caller; a county officer only their county's and the city's.
pub async fn get(state: &State, request: Request<GetRoundRequest>) -> Result<GetRoundResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let name = &request.get_ref().name;
    let record = load(state.db.pool(), &round_id(name, "name")?).await?.ok_or_else(|| {
        if access::confined_county(&principal).is_some() {
            SelectionError::denied("the record belongs to another county")
        } else {
            SelectionError::NotFound(name.clone())
        }
    })?;
    access::check_public(&principal, &[record.region])?;
    Ok(GetRoundResponse { round: Some(record.to_proto()) })
}

/// ListRounds: any authenticated caller (a county officer sees their county's and the city's);
/// filters by region (a county or the city) and state.
pub async fn list(state: &State, request: Request<ListRoundsRequest>) -> Result<ListRoundsResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let confined = access::confined_county(&principal);
    let m = request.into_inner();
    let mut v = Violations::default();
    let region =
        if m.region_code.is_empty() { None } else { v.value("region_code", RegionCode::parse(&m.region_code)) };
    let wanted = match RoundState::try_from(m.state) {
        Ok(RoundState::Unspecified) => String::new(),
        Ok(s) => s.as_str_name().trim_start_matches("ROUND_STATE_").to_owned(),
        Err(_) => {
            v.add("state", "PROJ-SELECTION", "not a round state");
            String::new()
        }
    };
    v.finish()?;
    let region = region.map_or("", |r| r.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("rounds|{region}|{wanted}"))?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM selection_round WHERE id > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = '' OR state = $3) AND ($4 = '' OR region_code = $4 OR region_code = $5) ORDER BY id LIMIT $6"
    )))
    .bind(&page.after)
    .bind(region)
    .bind(&wanted)
    .bind(confined.map_or("", |c| c.code()))
    .bind(RegionCode::CITY.code())
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(RoundRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.id.clone());
    Ok(ListRoundsResponse { rounds: records.iter().map(RoundRecord::to_proto).collect(), next_page_token })
}

/// Opens an idempotent write on a round the officer acts for.
async fn open_for_change<R: prost::Message + Default>(
    state: &State,
    principal: &Principal,
    name: &str,
    key: Option<IdempotencyKey>,
) -> Result<Result<(idempotency::IdempotentTx, RoundRecord), R>, SelectionError> {
    let scope = access::officer_scope(principal)?;
    let id = round_id(name, "name")?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(Err(response)),
        Started::Fresh(write) => write,
    };
    let record = load(&mut *write.tx, &id).await?.ok_or_else(|| access::missing(&scope, name))?;
    access::check_officer_region(principal, &scope, record.region)?;
    Ok(Ok((write, record)))
}

/// CloseRound: OPEN → CLOSED; applications are no longer taken and experts may score.
pub async fn close(state: &State, request: Request<CloseRoundRequest>) -> Result<CloseRoundResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let key = IdempotencyKey::new(&principal.subject, "CloseRound", &m.request_id, &m)?;
    let (mut write, mut record) = match open_for_change::<CloseRoundResponse>(state, &principal, &m.name, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if record.state != "OPEN" {
        return Err(SelectionError::state(
            "ROUND_STATE",
            format!("a {} round cannot be closed", record.state.to_lowercase()),
        ));
    }
    record.state = "CLOSED".to_owned();
    record.revision += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    audit_change(&mut write.tx, state, &principal, &record, "round.close", serde_json::json!({})).await?;
    Ok(write.commit(CloseRoundResponse { round: Some(record.to_proto()) }).await?)
}

/// A score of 0 to `max` points with at most two decimals, as officers and experts give them.
pub fn parse_points(text: &str, max: Decimal) -> Option<Decimal> {
    let text = text.trim();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value: Decimal = text.parse().ok()?;
    (value.scale() <= 2 && value >= Decimal::ZERO && value <= max).then_some(value)
}

/// The officers' scores of a round decided by another method than expert review, validated.
fn officer_scores(scores: &[OfficerScore], v: &mut Violations) -> BTreeMap<String, Decimal> {
    let mut by_application = BTreeMap::new();
    for (i, s) in scores.iter().enumerate() {
        let Ok(id) = convert::resource_id(&s.application, "applications") else {
            v.add(&format!("officer_scores[{i}].application"), "RESOURCE-NAME", "must look like applications/{id}");
            continue;
        };
        let Some(score) = parse_points(&s.score, Decimal::ONE_HUNDRED) else {
            v.add(
                &format!("officer_scores[{i}].score"),
                "PROJ-SELECTION",
                "a score is a number from 0 to 100 with at most two decimals",
            );
            continue;
        };
        if by_application.insert(id.to_owned(), score).is_some() {
            v.add(&format!("officer_scores[{i}].application"), "PROJ-SELECTION", "each application is scored once");
        }
    }
    by_application
}

/// One submitted application as it is ranked.
struct Candidate {
    application: ApplicationRecord,
    score: Option<Decimal>,
    expert_scores: Vec<ExpertScore>,
    rules: Vec<PolicyRule>,
}

/// Orders candidates by score (highest first; no valid score last), then by submission time,
/// then by id, so equal scores always rank the same way.
fn rank_order(a: &Candidate, b: &Candidate) -> Ordering {
    match (a.score, b.score) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then(a.application.submitted_micros.cmp(&b.application.submitted_micros))
    .then_with(|| a.application.id.cmp(&b.application.id))
}

/// DecideRound: ranks the submitted applications (PROJ-SELECTION), leaves out those of a
/// disqualified provider (PROV-DISQUALIFIED) or without cross-region consent
/// (PROJ-CROSS-REGION), approves the rest in order while the quota lasts (PROJ-QUOTA), makes a
/// project of each approved one and rejects the others with the rule that stopped them.
pub async fn decide(
    state: &State,
    request: Request<DecideRoundRequest>,
) -> Result<DecideRoundResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    access::officer_scope(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let given = officer_scores(&m.officer_scores, &mut v);
    v.finish()?;
    let key = IdempotencyKey::new(&principal.subject, "DecideRound", &m.request_id, &m)?;
    let (mut write, mut record) = match open_for_change::<DecideRoundResponse>(state, &principal, &m.name, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if record.state != "CLOSED" {
        return Err(SelectionError::state(
            "ROUND_STATE",
            format!("a {} round cannot be decided; close it first", record.state.to_lowercase()),
        ));
    }
    let submitted = application::load_submitted_in_round(&mut write.tx, &record.id).await?;
    let today = today_in_china();
    // PROJ-QUOTA: the round approves within its own quota and within what is left of its
    // county's quota for the year of its deadline, so no number of rounds can exceed the latter.
    let year = i64::from(record.deadline.year());
    let period = crate::quota::load_in(&mut write.tx, record.region, year).await?.ok_or_else(|| {
        SelectionError::Rule(PolicyRule::fail(
            "PROJ-QUOTA",
            format!("{}{year}年度名额尚未下达", record.region.name()),
            format!("no quota is set for {} in {year}; the city sets it first", record.region.code()),
        ))
    })?;

    // PROJ-SELECTION: every submitted application gets a score by the round's method.
    let mut candidates = Vec::with_capacity(submitted.len());
    if record.method == EXPERT_REVIEW {
        if !given.is_empty() {
            return Err(SelectionError::invalid(
                "officer_scores",
                "PROJ-SELECTION",
                "a round under expert review is scored by its experts",
            ));
        }
        for application in submitted {
            let assignments = expert::assignments_of(&mut write.tx, &application.id).await?;
            if let Some(pending) = assignments.iter().find(|a| !a.recused && a.score.is_none()) {
                return Err(SelectionError::state(
                    "PROJ-SELECTION",
                    format!("expert {} has not scored {} yet", pending.expert, application.name()),
                ));
            }
            let expert_scores: Vec<ExpertScore> = assignments
                .iter()
                .map(|a| ExpertScore {
                    expert: a.expert.clone(),
                    organisation: a.organisation.clone(),
                    conflict_declared: a.recused,
                    score: a.score.unwrap_or_default(),
                })
                .collect();
            let decision = proj_selection_score(&state.policy, &application.provider_credit_code, &expert_scores);
            candidates.push(Candidate { score: decision.outcome, expert_scores, rules: decision.rules, application });
        }
    } else {
        let ids: BTreeSet<&str> = submitted.iter().map(|a| a.id.as_str()).collect();
        let unknown: Vec<&String> = given.keys().filter(|id| !ids.contains(id.as_str())).collect();
        let unscored: Vec<&&str> = ids.iter().filter(|id| !given.contains_key(**id)).collect();
        if !unknown.is_empty() || !unscored.is_empty() {
            return Err(SelectionError::invalid(
                "officer_scores",
                "PROJ-SELECTION",
                format!(
                    "give one score for every submitted application of the round (missing {}, not submitted in it {})",
                    unscored.len(),
                    unknown.len()
                ),
            ));
        }
        for application in submitted {
            let score = given.get(&application.id).copied();
            let rules = vec![PolicyRule::pass(
                "PROJ-SELECTION",
                format!("评议得分:{}", score.unwrap_or_default()),
                format!("officers' score: {}", score.unwrap_or_default()),
            )];
            candidates.push(Candidate { score, expert_scores: Vec::new(), rules, application });
        }
    }
    candidates.sort_by(rank_order);

    // PROV-DISQUALIFIED and PROJ-CROSS-REGION are checked again on the day of the decision;
    // an application failing either is not approved and takes nothing from the quota.
    let mut items = BTreeMap::new();
    for candidate in &mut candidates {
        if candidate.score.is_none() {
            continue;
        }
        let a = &candidate.application;
        let provider = provider::load_in(&mut write.tx, &a.provider_credit_code)
            .await?
            .ok_or_else(|| corrupt("application of an unknown provider"))?;
        candidate.rules.push(prov_disqualified(&provider.facts(None), today));
        candidate.rules.push(proj_cross_region(provider.region, a.training_region, !a.consent_reference.is_empty()));
        // PROJ-CATALOG: only an item still in the published catalog becomes a project.
        if !items.contains_key(&a.catalog_item_id) {
            let item = catalog::load(&mut *write.tx, &a.catalog_item_id)
                .await?
                .ok_or_else(|| corrupt("application of an unknown catalog item"))?;
            items.insert(a.catalog_item_id.clone(), item);
        }
        if items[&a.catalog_item_id].state != "PUBLISHED" {
            candidate.rules.push(application::catalog_no_longer_published(&items[&a.catalog_item_id]));
        }
    }
    let in_quota: Vec<QuotaRequest> = candidates
        .iter()
        .filter(|c| c.score.is_some() && c.rules.iter().all(|r| r.passed))
        .map(|c| QuotaRequest {
            application_id: c.application.id.clone(),
            headcount: u32::try_from(c.application.headcount).unwrap_or(u32::MAX),
        })
        .collect();
    let quota = u32::try_from(record.quota.min(period.remaining())).unwrap_or(0);
    for allocation in proj_quota(quota, &in_quota) {
        if let Some(c) = candidates.iter_mut().find(|c| c.application.id == allocation.application_id) {
            c.rules.push(allocation.rule);
        }
    }

    let now = now_micros();
    let mut ranking = Vec::with_capacity(candidates.len());
    let mut projects = Vec::new();
    let mut approved_headcount = 0;
    for (i, c) in candidates.into_iter().enumerate() {
        let rank = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1);
        let approved =
            c.score.is_some() && c.rules.iter().all(|r| r.passed) && c.rules.iter().any(|r| r.code == "PROJ-QUOTA");
        let a = &c.application;
        if approved {
            approved_headcount += a.headcount;
            if !items.contains_key(&a.catalog_item_id) {
                let item = catalog::load(&mut *write.tx, &a.catalog_item_id)
                    .await?
                    .ok_or_else(|| corrupt("application of an unknown catalog item"))?;
                items.insert(a.catalog_item_id.clone(), item);
            }
            let item = &items[&a.catalog_item_id];
            let project = ProjectRecord::approve(&new_id(), a, &record, item, now);
            project::insert(&mut write.tx, &project).await?;
            application::set_state(&mut write.tx, &a.id, "APPROVED", now).await?;
            application::append_event(
                &mut write.tx,
                &a.id,
                "approve",
                &principal.subject,
                &format!("{}, rank {rank}", project.name()),
            )
            .await?;
            projects.push(project.to_proto());
        } else {
            let failed = c.rules.iter().find(|r| !r.passed).map_or("PROJ-SELECTION", |r| r.code.as_str());
            application::set_state(&mut write.tx, &a.id, "REJECTED", now).await?;
            application::append_event(&mut write.tx, &a.id, "reject", &principal.subject, failed).await?;
        }
        ranking.push(StoredRank {
            application_id: a.id.clone(),
            rank,
            score: c.score,
            headcount: a.headcount,
            submitted_micros: a.submitted_micros,
            expert_scores: c.expert_scores,
            approved,
            rules: c.rules,
        });
    }
    let unsubmitted = application::reject_unsubmitted_in_round(&mut write.tx, &record.id, &principal.subject).await?;
    record.state = "DECIDED".to_owned();
    record.approved_headcount = approved_headcount;
    record.ranking = ranking;
    record.policy_version = state.policy.version.clone();
    record.revision += 1;
    record.update_time_micros = now;
    store(&mut write.tx, &record).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "round.decide",
        serde_json::json!({ "method": record.method, "quota": record.quota, "year_quota": period.trainees,
            "year_remaining_before": period.remaining(), "approved_headcount": approved_headcount,
            "ranked": record.ranking.len(), "approved": projects.iter().map(|p| &p.application).collect::<Vec<_>>(),
            "rejected_unsubmitted": unsubmitted }),
    )
    .await?;
    Ok(write.commit(DecideRoundResponse { round: Some(record.to_proto()), projects }).await?)
}
