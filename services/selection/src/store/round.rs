//! Selection rounds (遴选批次, 七(一)(二)) as stored, with the ranking a decided round keeps
//! beside the scores it was made from and the policy version (PROJ-SELECTION, PROJ-QUOTA).

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::selection::{
    ExpertScoreRecord, RankedApplication, Round, RoundState as ProtoState, SelectionMethod,
};
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::{Lifecycle as _, RoundState};
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::selection::ExpertScore;
use qiancheng_platform::db::{self, Tx};
use qiancheng_platform::{Error, Stamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{BindStamp as _, Reader, json, rule_to_proto, to_i32};

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
    /// The rules that decided it.
    pub rules: Vec<RuleResult>,
}

impl StoredRank {
    fn to_proto(&self) -> RankedApplication {
        RankedApplication {
            application: format!("applications/{}", self.application_id),
            rank: to_i32(self.rank),
            score: self.score.map(|s| s.normalize().to_string()).unwrap_or_default(),
            headcount: to_i32(self.headcount),
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
    /// Revision and times.
    pub stamp: Stamp,
}

const COLUMNS: &str = "id, title, region_code, method, quota, deadline, state, approved_headcount, ranking, \
    policy_version, revision, create_time_micros, update_time_micros";

proto_states!(RoundState, ProtoState, "ROUND_STATE_", "PROJ-SELECTION", "not a round state");

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
            quota: to_i32(self.quota),
            deadline: Some(convert::date_to_proto(self.deadline)),
            state: state_to_proto(self.state),
            approved_headcount: to_i32(self.approved_headcount),
            ranking: self.ranking.iter().map(StoredRank::to_proto).collect(),
            policy_version: self.policy_version.clone(),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
        }
    }
}

/// Reads a round by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<RoundRecord>, Error> {
    super::find_by_id(executor, ("selection_round", COLUMNS), id, RoundRecord::from_row).await
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
        "INSERT INTO selection_round ({COLUMNS}, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
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
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a round's state, its decision and its stamp.
pub async fn update(tx: &mut Tx, record: &RoundRecord) -> Result<(), Error> {
    sqlx::query(
        "UPDATE selection_round SET state = $1, approved_headcount = $2, ranking = $3, policy_version = $4, \
         revision = $5, update_time_micros = $6 WHERE id = $7",
    )
    .bind(record.state.code())
    .bind(record.approved_headcount)
    .bind(json(&record.ranking, "round ranking")?)
    .bind(&record.policy_version)
    .bind(record.stamp.revision)
    .bind(record.stamp.update_time_micros)
    .bind(&record.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
