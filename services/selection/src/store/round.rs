//! Selection rounds (遴选批次, 七(一)(二)) as stored, with the ranking a decided round keeps
//! beside the scores it was made from, the quota mode, and the policy set's version and digest
//! (PROJ-SELECTION, PROJ-QUOTA). Updates are optimistic: a round changed by another request since
//! it was read is refused (`CONCURRENT_CHANGE`).

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::selection::{
    ExpertScoreRecord, QuotaMode as ProtoMode, QuotaReduction as ProtoReduction, RankedApplication, Round,
    RoundState as ProtoState, SelectionMethod,
};
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::{Lifecycle as _, RoundState};
use qiancheng_domain::policy::selection::{ExpertScore, QuotaReduction};
use qiancheng_domain::policy::{QuotaMode, RuleResult};
use qiancheng_platform::db::{self, Table, Tx};
use qiancheng_platform::{Error, Stamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{BindStamp as _, Reader, json, rule_to_proto};
use qiancheng_api::convert::int32;

/// How a round selects (七(二)): 遴选, 揭榜领题, 专家评审 or 综合评议.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// 遴选.
    Selection,
    /// 揭榜领题.
    OpenChallenge,
    /// 专家评审: the one method scored by experts.
    ExpertReview,
    /// 综合评议.
    ComprehensiveEvaluation,
}

impl Method {
    const ALL: [Self; 4] = [Self::Selection, Self::OpenChallenge, Self::ExpertReview, Self::ComprehensiveEvaluation];

    /// The stored code (`EXPERT_REVIEW`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Selection => "SELECTION",
            Self::OpenChallenge => "OPEN_CHALLENGE",
            Self::ExpertReview => "EXPERT_REVIEW",
            Self::ComprehensiveEvaluation => "COMPREHENSIVE_EVALUATION",
        }
    }

    /// The method a stored code names.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }

    /// A proto method as the method; `None` when not given.
    pub fn from_proto(value: i32) -> Option<Self> {
        SelectionMethod::try_from(value)
            .ok()
            .and_then(|m| m.as_str_name().strip_prefix("SELECTION_METHOD_").and_then(Self::parse))
    }

    /// The method as its proto value.
    pub fn to_proto(self) -> i32 {
        SelectionMethod::from_str_name(&format!("SELECTION_METHOD_{}", self.code())).map_or(0, |m| m as i32)
    }
}

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
    /// Trainees approved (the headcount, or the reduced one); absent from rankings stored before
    /// reductions existed, where an approved application got its headcount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_headcount: Option<i64>,
    /// The officer's reduction (核减), when it was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduction: Option<QuotaReduction>,
    /// The rules that decided it.
    pub rules: Vec<RuleResult>,
}

impl StoredRank {
    /// Trainees approved: the stored figure, or for a ranking stored before reductions existed,
    /// the headcount of an approved application.
    pub fn approved_headcount(&self) -> i64 {
        self.approved_headcount.unwrap_or(if self.approved { self.headcount } else { 0 })
    }

    fn to_proto(&self) -> RankedApplication {
        RankedApplication {
            application: format!("applications/{}", self.application_id),
            rank: int32(self.rank),
            score: self.score.map(|s| s.normalize().to_string()).unwrap_or_default(),
            headcount: int32(self.headcount),
            approved: self.approved,
            rules: self.rules.iter().map(rule_to_proto).collect(),
            expert_scores: self
                .expert_scores
                .iter()
                .map(|e| ExpertScoreRecord {
                    expert: e.expert.clone(),
                    organisation: e.organisation.clone(),
                    recused: e.conflict_declared,
                    score: e.score.normalize().to_string(),
                })
                .collect(),
            submitted_micros: self.submitted_micros,
            approved_headcount: int32(self.approved_headcount()),
            reduction: self.reduction.as_ref().map(|r| ProtoReduction {
                application: format!("applications/{}", r.application_id),
                headcount: i32::try_from(r.headcount).unwrap_or(i32::MAX),
                reason: r.reason.clone(),
                officer: r.officer.clone(),
            }),
        }
    }
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
    /// How it selects.
    pub method: Method,
    /// Trainees the round may approve in all (PROJ-QUOTA).
    pub quota: i64,
    /// Last day to submit.
    pub deadline: NaiveDate,
    /// Where the round is in its lifecycle.
    pub state: RoundState,
    /// Approved headcount.
    pub approved_headcount: i64,
    /// The ranking, once decided.
    pub ranking: Vec<StoredRank>,
    /// Policy-set version it was decided under; empty until decided.
    pub policy_version: String,
    /// The policy set's content digest beside its version; empty until decided (and for rounds
    /// decided before digests were recorded).
    pub policy_digest: String,
    /// The quota mode it was decided under; `None` until decided.
    pub quota_mode: Option<QuotaMode>,
    /// Revision and times.
    pub stamp: Stamp,
}

const COLUMNS: &str = "id, title, region_code, method, quota, deadline, state, approved_headcount, ranking, \
    policy_version, revision, create_time_micros, update_time_micros, quota_mode, policy_digest";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "selection_round", columns: COLUMNS };

/// The quota mode a stored code names (`STRICT`, `FIT`).
fn quota_mode_from_code(code: &str) -> Option<QuotaMode> {
    [QuotaMode::Strict, QuotaMode::Fit].into_iter().find(|m| m.code() == code)
}

/// The quota mode as its proto value; UNSPECIFIED when not decided.
fn quota_mode_to_proto(mode: Option<QuotaMode>) -> i32 {
    mode.and_then(|m| ProtoMode::from_str_name(&format!("QUOTA_MODE_{}", m.code()))).map_or(0, |m| m as i32)
}

qiancheng_api::proto_states!(RoundState, ProtoState, "ROUND_STATE_", "PROJ-SELECTION", "not a round state");

impl RoundRecord {
    /// Decodes a row of the table.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            method: db::parsed(row, "method", |m| Method::parse(m).ok_or(()))?,
            quota: row.try_get("quota")?,
            deadline: db::date(row, "deadline")?,
            state: db::parsed(row, "state", |s| RoundState::parse(s).ok_or(()))?,
            approved_headcount: row.try_get("approved_headcount")?,
            ranking: db::parsed(row, "ranking", |t| serde_json::from_str(t))?,
            policy_version: row.try_get("policy_version")?,
            policy_digest: row.try_get("policy_digest")?,
            quota_mode: db::parsed_opt(row, "quota_mode", |m| quota_mode_from_code(m).ok_or(()))?,
            stamp: db::stamp(row, "revision")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("rounds/{}", self.id)
    }

    /// Whether the round takes applications on `day`: open, and the deadline not passed.
    pub fn takes_applications(&self, day: NaiveDate) -> bool {
        self.state == RoundState::Open && day <= self.deadline
    }

    /// The round as the API shows it.
    pub fn to_proto(&self) -> Round {
        Round {
            name: self.name(),
            title: self.title.clone(),
            region_code: self.region.code().to_owned(),
            method: self.method.to_proto(),
            quota: int32(self.quota),
            deadline: Some(convert::date_to_proto(self.deadline)),
            state: state_to_proto(self.state),
            approved_headcount: int32(self.approved_headcount),
            ranking: self.ranking.iter().map(StoredRank::to_proto).collect(),
            policy_version: self.policy_version.clone(),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
            quota_mode: quota_mode_to_proto(self.quota_mode),
            policy_digest: self.policy_digest.clone(),
        }
    }
}

/// Reads a round by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<RoundRecord>, Error> {
    TABLE.find(executor, &[("id", id)], RoundRecord::from_row).await
}

/// A page of rounds after id `after`, of region `region` and state `state` (empty: any), of
/// county `confined` and the city (empty: every region).
pub async fn list(
    pool: &sqlx::AnyPool,
    after: &str,
    (region, state): (&str, &str),
    confined: &str,
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM selection_round WHERE id > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = '' OR state = $3) AND ($4 = '' OR region_code = $4 OR region_code = $5) ORDER BY id LIMIT $6"
    )))
    .bind(after)
    .bind(region)
    .bind(state)
    .bind(confined)
    .bind(RegionCode::CITY.code())
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Stores a new round opened by `actor`.
pub async fn insert(tx: &mut Tx, record: &RoundRecord, actor: &str) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO selection_round ({COLUMNS}, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    )))
    .bind(&record.id)
    .bind(&record.title)
    .bind(record.region.code())
    .bind(record.method.code())
    .bind(record.quota)
    .bind(record.deadline.to_string())
    .bind(record.state.code())
    .bind(record.approved_headcount)
    .bind(json(&record.ranking, "round ranking")?)
    .bind(&record.policy_version)
    .bind_stamp(&record.stamp)
    .bind(record.quota_mode.map_or("", QuotaMode::code))
    .bind(&record.policy_digest)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a round's state, its decision and its stamp, unless another request changed the round
/// since it was read (`CONCURRENT_CHANGE`).
pub async fn update(tx: &mut Tx, record: &RoundRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE selection_round SET state = $1, approved_headcount = $2, ranking = $3, policy_version = $4, \
         quota_mode = $5, policy_digest = $6, revision = $7, update_time_micros = $8 WHERE id = $9 AND revision = $10",
    )
    .bind(record.state.code())
    .bind(record.approved_headcount)
    .bind(json(&record.ranking, "round ranking")?)
    .bind(&record.policy_version)
    .bind(record.quota_mode.map_or("", QuotaMode::code))
    .bind(&record.policy_digest);
    db::update_stamped(tx, query, &record.stamp, &record.id, "the round").await
}
