//! Training brands (培训品牌, PROJ-BRAND) as stored: a county's brand, the approved projects it
//! stands for, and the note on a name outside the advised pattern.

use qiancheng_api::selection::Brand;
use qiancheng_domain::RegionCode;
use qiancheng_platform::Error;
use qiancheng_platform::db::{self, Tx};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::json;

/// A brand as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandRecord {
    /// Id (ULID).
    pub id: String,
    /// The brand (嘉鱼焊工培训).
    pub display_name: String,
    /// The occupation it names.
    pub occupation_name: String,
    /// Its county.
    pub region: RegionCode,
    /// The ids of the projects it stands for.
    pub projects: Vec<String>,
    /// Registered, microseconds.
    pub create_time_micros: i64,
    /// PROJ-BRAND: the note on a name outside the advised pattern; empty when it follows it.
    pub note: String,
}

impl BrandRecord {
    /// Decodes a row of the table.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            display_name: row.try_get("display_name")?,
            occupation_name: row.try_get("occupation_name")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            projects: db::parsed(row, "projects", |t| serde_json::from_str(t))?,
            create_time_micros: row.try_get("create_time_micros")?,
            note: row.try_get("note")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("brands/{}", self.id)
    }

    /// The brand as the API shows it.
    pub fn to_proto(&self) -> Brand {
        Brand {
            name: self.name(),
            display_name: self.display_name.clone(),
            occupation_name: self.occupation_name.clone(),
            region_code: self.region.code().to_owned(),
            projects: self.projects.iter().map(|id| format!("projects/{id}")).collect(),
            create_time_micros: self.create_time_micros,
            note: self.note.clone(),
        }
    }
}

const SELECT: &str =
    "SELECT id, display_name, occupation_name, region_code, projects, create_time_micros, note FROM brand";

/// Whether a brand is registered under `display_name`.
pub async fn name_taken(tx: &mut Tx, display_name: &str) -> Result<bool, Error> {
    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM brand WHERE display_name = $1")
        .bind(display_name)
        .fetch_one(&mut **tx)
        .await?;
    Ok(taken > 0)
}

/// Stores a new brand registered by `actor`.
pub async fn insert(tx: &mut Tx, record: &BrandRecord, actor: &str) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO brand (id, display_name, occupation_name, region_code, projects, created_by, create_time_micros, \
         note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&record.id)
    .bind(&record.display_name)
    .bind(&record.occupation_name)
    .bind(record.region.code())
    .bind(json(&record.projects, "brand projects")?)
    .bind(actor)
    .bind(record.create_time_micros)
    .bind(&record.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A page of brands after id `after`, of county `region` (empty: any), by id.
pub async fn list(pool: &sqlx::AnyPool, after: &str, region: &str, limit: i64) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE id > $1 AND ($2 = '' OR region_code = $2) ORDER BY id LIMIT $3"
    )))
    .bind(after)
    .bind(region)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Every brand's county and name, by county and name.
pub async fn names_by_county(pool: &sqlx::AnyPool) -> Result<Vec<(RegionCode, String)>, Error> {
    let rows = sqlx::query("SELECT region_code, display_name FROM brand ORDER BY region_code, display_name")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((db::parsed(row, "region_code", RegionCode::parse)?, row.try_get("display_name")?)))
        .collect()
}
