//! Selection rounds (遴选批次, 七(一)(二)) as stored, with the ranking a decided round keeps
//! beside the scores it was made from, the quota mode, and the policy set's version and digest
//! (PROJ-SELECTION, PROJ-QUOTA). Updates are optimistic: a round changed by another request since
//! it was read is refused (`CONCURRENT_CHANGE`).

use chrono::NaiveDate;
use qiancheng_api::convert::Shown;
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::RoundState;
use qiancheng_domain::policy::selection::{ExpertScore, QuotaReduction, SelectionMethod};
use qiancheng_domain::policy::{QuotaMode, RuleResult};
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
}

/// A selection round (遴选批次) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "selection_round", alias = "r", what = "the round")]
#[shown(message = "qiancheng_api::selection::Round")]
pub struct RoundRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// Title.
    pub title: String,
    /// County, or the city.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// How it selects.
    pub method: SelectionMethod,
    /// Trainees the round may approve in all (PROJ-QUOTA).
    pub quota: i64,
    /// Last day to submit.
    pub deadline: NaiveDate,
    /// Where the round is in its lifecycle.
    pub state: RoundState,
    /// Approved headcount.
    pub approved_headcount: i64,
    /// The ranking, once decided.
    #[column(json, hidden)]
    pub ranking: Vec<StoredRank>,
    /// Policy-set version it was decided under; empty until decided.
    pub policy_version: String,
    /// The policy set's content digest beside its version; empty until decided (and for rounds
    /// decided before digests were recorded).
    pub policy_digest: String,
    /// The quota mode it was decided under; `None` until decided.
    pub quota_mode: Option<QuotaMode>,
    /// Who opened it.
    #[column(fixed, hidden)]
    pub created_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl RoundRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("rounds/{}", self.id)
    }

    /// Whether the round takes applications on `day`: open, and the deadline not passed.
    pub fn takes_applications(&self, day: NaiveDate) -> bool {
        self.state == RoundState::Open && day <= self.deadline
    }
}
