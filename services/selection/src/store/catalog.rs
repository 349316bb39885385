//! Catalog items (培训项目目录条目, PROJ-CATALOG) as stored: every version of an item is a row,
//! tied to the first by its lineage, each with its own [`CatalogItemState`].

use qiancheng_api::convert;
use qiancheng_api::selection::{CatalogItem, CatalogItemState as ProtoState, TrainingMode as ProtoMode};
use qiancheng_domain::lifecycle::{CatalogItemState, Lifecycle as _};
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::project::{
    CatalogItem as PolicyItem, InServiceBasis, TrainingMode as Mode, proj_catalog,
};
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel, ValueError};
use qiancheng_platform::db::{self, Table, Tx};
use qiancheng_platform::time::now_micros;
use qiancheng_platform::{Error, Stamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{BindStamp as _, Reader, json};
use qiancheng_api::convert::int32;

/// A catalog item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItemRecord {
    /// Id (ULID).
    pub id: String,
    /// Id of the first version.
    pub lineage: String,
    /// Version within the lineage, from 1.
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
    /// PROJ-INSERVICE: the list or document naming the occupation as urgently needed; empty if
    /// none.
    pub urgent_occupation_reference: String,
    /// Where the item is in its lifecycle.
    pub state: CatalogItemState,
    /// Revision and times.
    pub stamp: Stamp,
}

const COLUMNS: &str = "id, lineage, version, region_code, industry, occupation_code, occupation_name, skill_level, \
    headcount, skill_requirements, content, hours, mode, answers, state, revision, create_time_micros, update_time_micros, \
    urgent_occupation_reference";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "catalog_item", columns: COLUMNS };

fn mode_code(mode: Option<Mode>) -> String {
    mode.and_then(|m| serde_json::to_value(m).ok()).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn mode_from_code(code: &str) -> Option<Mode> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

/// A proto training mode as the domain's; `None` when not given.
pub fn mode_from_proto(value: i32) -> Result<Option<Mode>, ValueError> {
    match ProtoMode::try_from(value) {
        Ok(ProtoMode::Unspecified) => Ok(None),
        Ok(m) => Ok(m.as_str_name().strip_prefix("TRAINING_MODE_").and_then(mode_from_code)),
        Err(_) => Err(ValueError::new("PROJ-CATALOG", format!("{value} is not a training mode"))),
    }
}

/// A domain training mode as its proto value.
pub fn mode_to_proto(mode: Option<Mode>) -> i32 {
    ProtoMode::from_str_name(&format!("TRAINING_MODE_{}", mode_code(mode))).map_or(0, |m| m as i32)
}

qiancheng_api::proto_states!(
    CatalogItemState,
    ProtoState,
    "CATALOG_ITEM_STATE_",
    "PROJ-CATALOG",
    "not a catalog item state"
);

impl CatalogItemRecord {
    /// Decodes a row of the table.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            lineage: row.try_get("lineage")?,
            version: row.try_get("version")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            industry: db::parsed(row, "industry", Industry::parse)?,
            occupation_code: row.try_get("occupation_code")?,
            occupation_name: row.try_get("occupation_name")?,
            level: db::parsed(row, "skill_level", SkillLevel::parse)?,
            headcount: row.try_get("headcount")?,
            skill_requirements: row.try_get("skill_requirements")?,
            content: row.try_get("content")?,
            hours: row.try_get("hours")?,
            mode: db::parsed_opt(row, "mode", |m| mode_from_code(m).ok_or(()))?,
            answers: db::parsed(row, "answers", |t| serde_json::from_str(t))?,
            state: db::parsed(row, "state", |s| CatalogItemState::parse(s).ok_or(()))?,
            urgent_occupation_reference: row.try_get("urgent_occupation_reference")?,
            stamp: db::stamp(row, "revision")?,
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
            version: int32(self.version),
            region_code: self.region.code().to_owned(),
            industry: convert::industry_to_proto(self.industry),
            occupation_code: self.occupation_code.clone(),
            occupation_name: self.occupation_name.clone(),
            skill_level: convert::skill_level_to_proto(Some(self.level)),
            headcount: int32(self.headcount),
            skill_requirements: self.skill_requirements.clone(),
            content: self.content.clone(),
            hours: int32(self.hours),
            mode: mode_to_proto(self.mode),
            answers: self.answers.clone(),
            state: state_to_proto(self.state),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
            urgent_occupation_reference: self.urgent_occupation_reference.clone(),
        }
    }

    /// PROJ-CATALOG: whether the item states everything a published item must.
    pub fn publishable(&self) -> RuleResult {
        let (Ok(occupation), Some(mode)) = (OccupationCode::parse(&self.occupation_code), self.mode) else {
            return RuleResult::fail(
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

    /// PROJ-INSERVICE: the basis the item records for in-service projects (its industry and the
    /// reference naming the occupation urgently needed); `None` when it records no reference.
    pub fn in_service_basis(&self) -> Option<InServiceBasis> {
        let reference = self.urgent_occupation_reference.trim();
        (!reference.is_empty()).then(|| InServiceBasis {
            industry: self.industry,
            urgent_occupation_reference: Some(reference.to_owned()),
        })
    }

    /// PROJ-CATALOG: `None` while the item is in the published catalog, else why an application
    /// on it goes no further.
    pub fn no_longer_published(&self) -> Option<RuleResult> {
        (self.state != CatalogItemState::Published).then(|| {
            RuleResult::fail(
                "PROJ-CATALOG",
                format!("培训项目目录条目{}已不在公布目录中", self.name()),
                format!("{} is no longer in the published catalog", self.name()),
            )
        })
    }
}

/// Reads a catalog item by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<CatalogItemRecord>, Error> {
    TABLE.find(executor, &[("id", id)], CatalogItemRecord::from_row).await
}

/// A page of items after id `after` in `state`, of region `region` (empty: any), inside `scope`
/// (see `Scope::sql`).
pub async fn list(
    pool: &sqlx::AnyPool,
    after: &str,
    (state, region): (CatalogItemState, &str),
    scope: (&str, &str),
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM catalog_item WHERE id > $1 AND state = $2 AND ($3 = '' OR region_code = $3) \
         AND ($4 = 'ALL' OR ($4 = 'REGION' AND region_code = $5)) ORDER BY id LIMIT $6"
    )))
    .bind(after)
    .bind(state.code())
    .bind(region)
    .bind(scope.0)
    .bind(scope.1)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Stores a new item (or a new version) made by `actor`.
pub async fn insert(tx: &mut Tx, record: &CatalogItemRecord, actor: &str) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO catalog_item ({COLUMNS}, created_by) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
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
    .bind(json(&record.answers, "catalog item answers")?)
    .bind(record.state.code())
    .bind_stamp(&record.stamp)
    .bind(&record.urgent_occupation_reference)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores an item's state and stamp (the rest of a version never changes), unless another
/// request changed it since it was read (`CONCURRENT_CHANGE`).
pub async fn update_state(tx: &mut Tx, record: &CatalogItemRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE catalog_item SET state = $1, revision = $2, update_time_micros = $3 WHERE id = $4 AND revision = $5",
    )
    .bind(record.state.code());
    db::update_stamped(tx, query, &record.stamp, &record.id, "the catalog item").await
}

/// PROJ-CATALOG: the published version of `lineage`, if any, becomes superseded; returns how
/// many versions were.
pub async fn supersede_published(tx: &mut Tx, lineage: &str) -> Result<u64, Error> {
    Ok(sqlx::query(
        "UPDATE catalog_item SET state = $1, revision = revision + 1, update_time_micros = $2 \
         WHERE lineage = $3 AND state = $4",
    )
    .bind(CatalogItemState::Superseded.code())
    .bind(now_micros())
    .bind(lineage)
    .bind(CatalogItemState::Published.code())
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Whether a draft or published item already answers the demand of `region`, `industry`,
/// `occupation` and `level`.
pub async fn answers_demand(
    tx: &mut Tx,
    region: RegionCode,
    industry: Industry,
    occupation: &str,
    level: SkillLevel,
) -> Result<bool, Error> {
    let answered: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM catalog_item WHERE region_code = $1 AND industry = $2 AND occupation_code = $3 \
         AND skill_level = $4 AND state IN ($5, $6)",
    )
    .bind(region.code())
    .bind(industry.code())
    .bind(occupation)
    .bind(level.code())
    .bind(CatalogItemState::Draft.code())
    .bind(CatalogItemState::Published.code())
    .fetch_one(&mut **tx)
    .await?;
    Ok(answered > 0)
}

/// Whether `lineage` has a draft version waiting to be published.
pub async fn has_draft(tx: &mut Tx, lineage: &str) -> Result<bool, Error> {
    let drafts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM catalog_item WHERE lineage = $1 AND state = $2")
        .bind(lineage)
        .bind(CatalogItemState::Draft.code())
        .fetch_one(&mut **tx)
        .await?;
    Ok(drafts > 0)
}

/// The newest version number of `lineage`.
pub async fn latest_version(tx: &mut Tx, lineage: &str) -> Result<i64, Error> {
    Ok(sqlx::query_scalar("SELECT MAX(version) FROM catalog_item WHERE lineage = $1")
        .bind(lineage)
        .fetch_one(&mut **tx)
        .await?)
}
