//! Enterprises (用人单位) as stored.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::demand::Enterprise;
use qiancheng_domain::{Industry, RegionCode};
use qiancheng_platform::db::{self, BindStamp as _, Reader, Table, Tx, flag_value};
use qiancheng_platform::{Error, Stamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

/// An enterprise as stored.
#[derive(Debug, Clone)]
pub struct EnterpriseRecord {
    /// Unified social credit code.
    pub credit_code: String,
    /// Registered name.
    pub display_name: String,
    /// County.
    pub region: RegionCode,
    /// Industry.
    pub industry: Industry,
    /// In the county's key-project library.
    pub key_project: bool,
    /// The key project's name.
    pub key_project_name: String,
    /// Expected start of production.
    pub expected_production_date: Option<NaiveDate>,
    /// Revision and times.
    pub stamp: Stamp,
}

/// The columns [`EnterpriseRecord::from_row`] reads.
pub const COLUMNS: &str = "credit_code, display_name, region_code, industry, key_project, key_project_name, \
    expected_production_date, version, create_time_micros, update_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "enterprise", columns: COLUMNS };

impl EnterpriseRecord {
    /// Decodes a row of [`COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            credit_code: row.try_get("credit_code")?,
            display_name: row.try_get("display_name")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            industry: db::parsed(row, "industry", Industry::parse)?,
            key_project: db::flag_column(row, "key_project")?,
            key_project_name: row.try_get("key_project_name")?,
            expected_production_date: row
                .try_get::<Option<String>, _>("expected_production_date")?
                .map(|d| qiancheng_domain::parse_date(&d).map_err(|_| Error::corrupt("expected_production_date")))
                .transpose()?,
            stamp: db::stamp(row, "version")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("enterprises/{}", self.credit_code)
    }

    /// The enterprise as the API shows it.
    pub fn to_proto(&self) -> Enterprise {
        Enterprise {
            name: self.name(),
            credit_code: self.credit_code.clone(),
            display_name: self.display_name.clone(),
            region_code: self.region.code().to_owned(),
            industry: convert::industry_to_proto(self.industry),
            key_project: self.key_project,
            key_project_name: self.key_project_name.clone(),
            expected_production_date: self.expected_production_date.map(convert::date_to_proto),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
        }
    }
}

/// Reads an enterprise by credit code, inside a transaction or from the pool.
pub async fn find<'c>(executor: impl Reader<'c>, credit_code: &str) -> Result<Option<EnterpriseRecord>, Error> {
    TABLE.find(executor, &[("credit_code", credit_code)], EnterpriseRecord::from_row).await
}

/// The enterprises of `credit_codes` that are registered, by credit code (one query).
pub async fn find_many(
    tx: &mut Tx,
    credit_codes: &[&str],
) -> Result<std::collections::HashMap<String, EnterpriseRecord>, Error> {
    let mut distinct: Vec<&str> = credit_codes.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut found = std::collections::HashMap::new();
    for batch in distinct.chunks(500) {
        let sql =
            format!("SELECT {COLUMNS} FROM enterprise WHERE credit_code IN ({})", db::placeholders(1, batch.len()));
        let query = batch.iter().fold(sqlx::query(AssertSqlSafe(sql)), |q, code| q.bind(*code));
        for row in query.fetch_all(&mut **tx).await? {
            let record = EnterpriseRecord::from_row(&row)?;
            found.insert(record.credit_code.clone(), record);
        }
    }
    Ok(found)
}

/// A page of enterprises after `after` (by credit code), in `region` when given, inside `scope`.
pub async fn list(
    pool: &sqlx::AnyPool,
    after: &str,
    region: Option<RegionCode>,
    scope: (&str, &str),
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM enterprise WHERE credit_code > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = 'ALL' OR ($3 = 'REGION' AND region_code = $4) OR ($3 = 'ORG' AND credit_code = $4)) \
         ORDER BY credit_code LIMIT $5"
    )))
    .bind(after)
    .bind(region.map_or("", |r| r.code()))
    .bind(scope.0)
    .bind(scope.1)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Stores a new enterprise, registered by `created_by`.
pub async fn insert(tx: &mut Tx, record: &EnterpriseRecord, created_by: &str) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO enterprise ({COLUMNS}, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )))
    .bind(&record.credit_code)
    .bind(&record.display_name)
    .bind(record.region.code())
    .bind(record.industry.code())
    .bind(flag_value(record.key_project))
    .bind(&record.key_project_name)
    .bind(record.expected_production_date.map(|d| d.to_string()))
    .bind_stamp(&record.stamp)
    .bind(created_by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores the changed fields of an enterprise, unless it changed since it was read.
pub async fn update(tx: &mut Tx, record: &EnterpriseRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE enterprise SET display_name = $1, industry = $2, key_project = $3, key_project_name = $4, \
         expected_production_date = $5, version = $6, update_time_micros = $7 WHERE credit_code = $8 AND version = $9",
    )
    .bind(&record.display_name)
    .bind(record.industry.code())
    .bind(flag_value(record.key_project))
    .bind(&record.key_project_name)
    .bind(record.expected_production_date.map(|d| d.to_string()));
    db::update_stamped(tx, query, &record.stamp, &record.credit_code, "the enterprise").await
}
