//! Vacancies (岗位需求, one row of 附件1) as stored, with every revision as it was after each
//! change. A vacancy is read with its enterprise's name and industry.

use chrono::NaiveDate;
use qiancheng_api::convert::Shown;
use qiancheng_domain::demand::Demand;
use qiancheng_domain::lifecycle::VacancyState;
use qiancheng_domain::{Industry, RegionCode, SkillLevel};
use qiancheng_platform::db::Tx;
use qiancheng_platform::record::{self, Columns, Record};
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;

/// A vacancy as stored, and as each revision snapshots it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Record, Shown)]
#[shown(message = "qiancheng_api::demand::Vacancy")]
#[record(
    table = "vacancy",
    alias = "v",
    from = "vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code",
    what = "the vacancy"
)]
pub struct VacancyRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// Enterprise credit code.
    #[column(fixed)]
    pub enterprise_credit_code: String,
    /// Enterprise name.
    #[column(computed = "e.display_name")]
    pub enterprise_name: String,
    /// Enterprise county: scopes access.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// Enterprise industry.
    #[column(computed = "e.industry")]
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
    #[column(name = "work_region_code")]
    pub work_region: RegionCode,
    /// Needed by.
    pub needed_by: NaiveDate,
    /// Survey method, as stored (`DOOR_TO_DOOR`, …).
    #[column(hidden)]
    pub survey_method: String,
    /// Where the vacancy is in its lifecycle.
    pub state: VacancyState,
    /// Revision and times (flattened, so revision snapshots keep their JSON shape).
    #[serde(flatten)]
    #[column(stamp)]
    pub stamp: Stamp,
}

impl VacancyRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("vacancies/{}", self.id)
    }
}

/// A vacancy as it was after one change (适时更新发布).
#[derive(Debug, Clone, Record)]
#[record(table = "vacancy_revision", key = "revision", what = "the vacancy revision")]
pub struct VacancyRevisionRecord {
    /// The vacancy.
    pub vacancy_id: String,
    /// Its revision after the change.
    pub revision: i64,
    /// What was done (`create`, `publish`, …).
    pub action: String,
    /// Why.
    pub reason: String,
    /// Who did it.
    pub actor: String,
    /// The vacancy as it then was.
    #[column(json)]
    pub snapshot: Option<VacancyRecord>,
    /// When.
    pub time_micros: i64,
}

impl VacancyRevisionRecord {
    /// The revision `record` is at now, made by `actor` doing `action` for `reason`.
    pub fn of(record: &VacancyRecord, action: &str, reason: &str, actor: &str) -> Self {
        Self {
            vacancy_id: record.id.clone(),
            revision: record.stamp.revision,
            action: action.to_owned(),
            reason: reason.to_owned(),
            actor: actor.to_owned(),
            snapshot: Some(record.clone()),
            time_micros: record.stamp.update_time_micros,
        }
    }
}

/// Revisions of vacancy `id` older than `before`, newest first (the one list kept newest first:
/// its page key counts down).
pub async fn revisions(pool: &AnyPool, id: &str, before: i64, limit: i64) -> Result<Vec<VacancyRevisionRecord>, Error> {
    let filter = record::Filter::new()
        .eq("vacancy_revision.vacancy_id", id)
        .and("vacancy_revision.revision < ?", [before.into()]);
    record::take(pool, filter, "vacancy_revision.revision DESC", limit).await
}

/// Published headcount for one work county, industry, occupation and level.
#[derive(Debug, Clone, PartialEq, Eq, Columns)]
pub struct PublishedDemand {
    /// Work county.
    pub region: RegionCode,
    /// Enterprise industry.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Occupation name.
    pub occupation_name: String,
    /// Level required.
    pub level: SkillLevel,
    /// Headcount wanted.
    pub headcount: i64,
}

/// Published headcount by work county, industry, occupation and level.
pub async fn published_demand(pool: &AnyPool) -> Result<Vec<Demand>, Error> {
    let rows: Vec<PublishedDemand> = record::select(
        pool,
        "SELECT v.work_region_code, e.industry, v.occupation_code, MIN(v.occupation_name), v.skill_level, \
         CAST(SUM(v.headcount) AS BIGINT) FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code \
         WHERE v.state = 'PUBLISHED' GROUP BY v.work_region_code, e.industry, v.occupation_code, v.skill_level",
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|d| Demand {
            region: d.region,
            industry: d.industry,
            occupation_code: d.occupation_code,
            occupation_name: d.occupation_name,
            level: d.level,
            headcount: d.headcount,
        })
        .collect())
}

/// Published vacancies and headcount in one work county and industry.
#[derive(Debug, Clone, PartialEq, Eq, Columns)]
pub struct PublishedCount {
    /// Work county.
    pub region: RegionCode,
    /// Enterprise industry.
    pub industry: Industry,
    /// Vacancies.
    pub vacancies: i64,
    /// Headcount wanted.
    pub headcount: i64,
}

/// Published vacancies and headcount by work county and industry.
pub async fn published_by_county_and_industry(pool: &AnyPool) -> Result<Vec<PublishedCount>, Error> {
    record::select(
        pool,
        "SELECT v.work_region_code, e.industry, COUNT(*), CAST(SUM(v.headcount) AS BIGINT) \
         FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code \
         WHERE v.state = 'PUBLISHED' GROUP BY v.work_region_code, e.industry",
    )
    .await
}

/// Keeps each of `records` as it is now as its revision (one multi-row insert).
pub async fn insert_revisions(
    tx: &mut Tx,
    records: &[VacancyRecord],
    action: &str,
    reason: &str,
    actor: &str,
) -> Result<(), Error> {
    let revisions: Vec<VacancyRevisionRecord> =
        records.iter().map(|r| VacancyRevisionRecord::of(r, action, reason, actor)).collect();
    record::insert_many(tx, &revisions).await
}
