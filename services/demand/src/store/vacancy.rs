//! Vacancies (岗位需求, one row of 附件1) as stored, with every revision as it was after each
//! change.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::demand::{PublishedVacancy, SurveyMethod, Vacancy, VacancyRevision, VacancyState as ProtoState};
use qiancheng_domain::lifecycle::{Lifecycle as _, VacancyState};
use qiancheng_domain::{Industry, RegionCode, SkillLevel};
use qiancheng_platform::db::{self, BindStamp as _, Reader, Tx};
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

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
    /// Where the vacancy is in its lifecycle.
    pub state: VacancyState,
    /// Revision and times (flattened, so revision snapshots keep their JSON shape).
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// Selects vacancies with their enterprise's name and industry; add `WHERE …` after it.
pub const SELECT: &str = "SELECT v.id, v.enterprise_credit_code, e.display_name AS enterprise_name, v.region_code, \
    e.industry, v.post, v.occupation_code, v.occupation_name, v.skill_level, v.headcount, v.pay_min_fen, \
    v.pay_max_fen, v.requirements, v.work_region_code, v.needed_by, v.survey_method, v.state, v.revision, \
    v.create_time_micros, v.update_time_micros FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code";

impl VacancyRecord {
    /// Decodes a row of [`SELECT`].
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            enterprise_credit_code: row.try_get("enterprise_credit_code")?,
            enterprise_name: row.try_get("enterprise_name")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            industry: db::parsed(row, "industry", Industry::parse)?,
            post: row.try_get("post")?,
            occupation_code: row.try_get("occupation_code")?,
            occupation_name: row.try_get("occupation_name")?,
            skill_level: db::parsed(row, "skill_level", SkillLevel::parse)?,
            headcount: row.try_get("headcount")?,
            pay_min_fen: row.try_get("pay_min_fen")?,
            pay_max_fen: row.try_get("pay_max_fen")?,
            requirements: row.try_get("requirements")?,
            work_region: db::parsed(row, "work_region_code", RegionCode::parse)?,
            needed_by: db::date(row, "needed_by")?,
            survey_method: row.try_get("survey_method")?,
            state: db::parsed(row, "state", |s| VacancyState::parse(s).ok_or(()))?,
            stamp: db::stamp(row, "revision")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("vacancies/{}", self.id)
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
            state: state_to_proto(self.state),
            revision: self.stamp.revision_i32(),
            industry: convert::industry_to_proto(self.industry),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
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

qiancheng_api::proto_states!(VacancyState, ProtoState, "VACANCY_STATE_", "VACANCY-STATE", "not a vacancy state");

/// Reads a vacancy by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<VacancyRecord>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE v.id = $1"))).bind(id).fetch_optional(executor).await?;
    row.as_ref().map(VacancyRecord::from_row).transpose()
}

/// What a vacancy list is narrowed to; empty strings match everything.
#[derive(Debug, Clone, Default)]
pub struct ListFilter<'a> {
    /// Stored state code.
    pub state: &'a str,
    /// Enterprise county.
    pub region: &'a str,
    /// Enterprise industry code.
    pub industry: &'a str,
    /// Enterprise credit code.
    pub enterprise: &'a str,
}

/// A page of vacancies after id `after` matching `filter`, inside `scope`.
pub async fn list(
    pool: &sqlx::AnyPool,
    after: &str,
    filter: &ListFilter<'_>,
    scope: (&str, &str),
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE v.id > $1 AND ($2 = '' OR v.state = $2) AND ($3 = '' OR v.region_code = $3) \
         AND ($4 = '' OR e.industry = $4) AND ($5 = '' OR v.enterprise_credit_code = $5) \
         AND ($6 = 'ALL' OR ($6 = 'REGION' AND v.region_code = $7) OR ($6 = 'ORG' AND v.enterprise_credit_code = $7)) \
         ORDER BY v.id LIMIT $8"
    )))
    .bind(after)
    .bind(filter.state)
    .bind(filter.region)
    .bind(filter.industry)
    .bind(filter.enterprise)
    .bind(scope.0)
    .bind(scope.1)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Published vacancies whose occupation is in one of the minor groups `groups` (`6-18`, up to
/// three), by id.
pub async fn published_in_groups(pool: &sqlx::AnyPool, groups: &[&str]) -> Result<Vec<AnyRow>, Error> {
    let group = |i: usize| groups.get(i).or(groups.first()).copied().unwrap_or_default();
    Ok(sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE v.state = 'PUBLISHED' AND substr(v.occupation_code, 1, 4) IN ($1, $2, $3) ORDER BY v.id"
    )))
    .bind(group(0))
    .bind(group(1))
    .bind(group(2))
    .fetch_all(pool)
    .await?)
}

/// A page of the public board after id `after`: published vacancies by work county, industry
/// and occupation (empty strings match everything).
pub async fn board(
    pool: &sqlx::AnyPool,
    after: &str,
    (region, industry, occupation): (&str, &str, &str),
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE v.state = 'PUBLISHED' AND v.id > $1 AND ($2 = '' OR v.work_region_code = $2) \
         AND ($3 = '' OR e.industry = $3) AND ($4 = '' OR v.occupation_code = $4) ORDER BY v.id LIMIT $5"
    )))
    .bind(after)
    .bind(region)
    .bind(industry)
    .bind(occupation)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Published headcount by work county, industry, occupation and level.
pub async fn published_demand(pool: &sqlx::AnyPool) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(
        "SELECT v.work_region_code, e.industry, v.occupation_code, v.skill_level, \
         MIN(v.occupation_name) AS occupation_name, CAST(SUM(v.headcount) AS BIGINT) AS headcount \
         FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code \
         WHERE v.state = 'PUBLISHED' GROUP BY v.work_region_code, e.industry, v.occupation_code, v.skill_level",
    )
    .fetch_all(pool)
    .await?)
}

/// Published vacancies and headcount by work county and industry.
pub async fn published_by_county_and_industry(pool: &sqlx::AnyPool) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(
        "SELECT v.work_region_code, e.industry, COUNT(*) AS vacancies, CAST(SUM(v.headcount) AS BIGINT) AS headcount \
         FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code \
         WHERE v.state = 'PUBLISHED' GROUP BY v.work_region_code, e.industry",
    )
    .fetch_all(pool)
    .await?)
}

/// The columns [`insert_many`] writes.
const INSERT_COLUMNS: &str = "id, enterprise_credit_code, region_code, post, occupation_code, occupation_name, \
    skill_level, headcount, pay_min_fen, pay_max_fen, requirements, work_region_code, needed_by, survey_method, state, \
    revision, create_time_micros, update_time_micros";

/// Stores a new vacancy.
pub async fn insert(tx: &mut Tx, record: &VacancyRecord) -> Result<(), Error> {
    insert_many(tx, std::slice::from_ref(record)).await
}

/// Stores new vacancies in multi-row inserts (bulk import).
pub async fn insert_many(tx: &mut Tx, records: &[VacancyRecord]) -> Result<(), Error> {
    let needed_by: Vec<String> = records.iter().map(|r| r.needed_by.to_string()).collect();
    let rows: Vec<(&VacancyRecord, &String)> = records.iter().zip(&needed_by).collect();
    db::insert_many(tx, "vacancy", INSERT_COLUMNS, 18, &rows, |query, (record, needed_by)| {
        query
            .bind(record.id.as_str())
            .bind(record.enterprise_credit_code.as_str())
            .bind(record.region.code())
            .bind(record.post.as_str())
            .bind(record.occupation_code.as_str())
            .bind(record.occupation_name.as_str())
            .bind(record.skill_level.code())
            .bind(record.headcount)
            .bind(record.pay_min_fen)
            .bind(record.pay_max_fen)
            .bind(record.requirements.as_str())
            .bind(record.work_region.code())
            .bind(needed_by.as_str())
            .bind(record.survey_method.as_str())
            .bind(record.state.code())
            .bind_stamp(&record.stamp)
    })
    .await
}

/// Stores the changed fields and state of a vacancy, unless it changed since it was read.
pub async fn update(tx: &mut Tx, record: &VacancyRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE vacancy SET post = $1, occupation_code = $2, occupation_name = $3, skill_level = $4, headcount = $5, \
         pay_min_fen = $6, pay_max_fen = $7, requirements = $8, work_region_code = $9, needed_by = $10, \
         survey_method = $11, state = $12, revision = $13, update_time_micros = $14 WHERE id = $15 AND revision = $16",
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
    .bind(record.state.code());
    db::update_stamped(tx, query, &record.stamp, &record.id, "the vacancy").await
}

/// Keeps each of `records` as it is now as its revision (bulk import).
pub async fn insert_revisions(
    tx: &mut Tx,
    records: &[VacancyRecord],
    action: &str,
    reason: &str,
    actor: &str,
) -> Result<(), Error> {
    let snapshots = records
        .iter()
        .map(|r| serde_json::to_string(r).map_err(|e| Error::corrupt(format!("vacancy snapshot: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<(&VacancyRecord, &String)> = records.iter().zip(&snapshots).collect();
    db::insert_many(
        tx,
        "vacancy_revision",
        "vacancy_id, revision, action, reason, actor, snapshot, time_micros",
        7,
        &rows,
        |query, (record, snapshot)| {
            query
                .bind(record.id.as_str())
                .bind(record.stamp.revision)
                .bind(action)
                .bind(reason)
                .bind(actor)
                .bind(snapshot.as_str())
                .bind(record.stamp.update_time_micros)
        },
    )
    .await
}

/// Revisions of vacancy `id` older than `before`, newest first.
pub async fn revisions(pool: &sqlx::AnyPool, id: &str, before: i64, limit: i64) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(
        "SELECT revision, action, reason, actor, snapshot, time_micros FROM vacancy_revision \
         WHERE vacancy_id = $1 AND revision < $2 ORDER BY revision DESC LIMIT $3",
    )
    .bind(id)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Decodes a row of [`revisions`].
pub fn revision_from_row(row: &AnyRow) -> Result<VacancyRevision, Error> {
    let snapshot: VacancyRecord = serde_json::from_str(&row.try_get::<String, _>("snapshot")?)
        .map_err(|_| Error::corrupt("vacancy revision snapshot"))?;
    Ok(VacancyRevision {
        revision: i32::try_from(row.try_get::<i64, _>("revision")?).unwrap_or(i32::MAX),
        vacancy: Some(snapshot.to_proto()),
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        reason: row.try_get("reason")?,
        time_micros: row.try_get("time_micros")?,
    })
}
