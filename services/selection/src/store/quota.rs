//! Yearly quotas (名额, PROJ-QUOTA) as stored, each with what the decided rounds of its region
//! have approved against it.

use qiancheng_api::selection::Quota;
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::{Lifecycle as _, RoundState};
use qiancheng_platform::Error;
use qiancheng_platform::db::{self, Tx};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use qiancheng_api::convert::int32;

/// A region's quota for a year, with what decided rounds have approved against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRecord {
    /// County or city.
    pub region: RegionCode,
    /// Calendar year.
    pub year: i64,
    /// Trainees that may be approved.
    pub trainees: i64,
    /// What the figure rests on.
    pub basis: String,
    /// Approved so far.
    pub approved: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

const SELECT: &str = "SELECT region_code, year, trainees, basis, update_time_micros FROM quota";

impl QuotaRecord {
    /// Decodes a row of the quota table; what is approved is counted by [`approved_in`].
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            year: row.try_get("year")?,
            trainees: row.try_get("trainees")?,
            basis: row.try_get("basis")?,
            approved: 0,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The key a list is ordered by (`421221-2026`).
    pub fn key(&self) -> String {
        format!("{}-{}", self.region.code(), self.year)
    }

    /// What is left to approve.
    pub fn remaining(&self) -> i64 {
        (self.trainees - self.approved).max(0)
    }

    /// The quota as the API shows it.
    pub fn to_proto(&self) -> Quota {
        Quota {
            name: format!("quotas/{}", self.key()),
            region_code: self.region.code().to_owned(),
            year: int32(self.year),
            trainees: int32(self.trainees),
            basis: self.basis.clone(),
            approved: int32(self.approved),
            remaining: int32(self.remaining()),
            update_time_micros: self.update_time_micros,
        }
    }
}

/// Trainees approved by decided rounds of `region` whose deadline falls in `year`.
pub async fn approved_in(conn: &mut AnyConnection, region: RegionCode, year: i64) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(approved_headcount), 0) AS BIGINT) FROM selection_round \
         WHERE region_code = $1 AND state = $2 AND substr(deadline, 1, 4) = $3",
    )
    .bind(region.code())
    .bind(RoundState::Decided.code())
    .bind(format!("{year:04}"))
    .fetch_one(&mut *conn)
    .await?)
}

/// The quota of `region` for `year`, with what is approved against it; `None` when the city
/// has set none.
pub async fn find(conn: &mut AnyConnection, region: RegionCode, year: i64) -> Result<Option<QuotaRecord>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE region_code = $1 AND year = $2")))
        .bind(region.code())
        .bind(year)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(mut record) = row.as_ref().map(QuotaRecord::from_row).transpose()? else { return Ok(None) };
    record.approved = approved_in(conn, record.region, record.year).await?;
    Ok(Some(record))
}

/// Sets a quota, as `actor`.
pub async fn upsert(tx: &mut Tx, record: &QuotaRecord, actor: &str) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO quota (region_code, year, trainees, basis, set_by, update_time_micros) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (region_code, year) DO UPDATE SET trainees = $3, basis = $4, set_by = $5, update_time_micros = $6",
    )
    .bind(record.region.code())
    .bind(record.year)
    .bind(record.trainees)
    .bind(&record.basis)
    .bind(actor)
    .bind(record.update_time_micros)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Quotas after key `after` (see [`QuotaRecord::key`]), of `year` (0: any), of county
/// `confined` and the city (empty: every region), with what is approved against each.
pub async fn list(
    conn: &mut AnyConnection,
    after: &str,
    year: i64,
    confined: &str,
    limit: i64,
) -> Result<Vec<QuotaRecord>, Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE (region_code || '-' || CAST(year AS TEXT)) > $1 AND ($2 = 0 OR year = $2) \
         AND ($3 = '' OR region_code = $3 OR region_code = $4) \
         ORDER BY region_code || '-' || CAST(year AS TEXT) LIMIT $5"
    )))
    .bind(after)
    .bind(year)
    .bind(confined)
    .bind(RegionCode::CITY.code())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut quotas = db::decode_rows(&rows, QuotaRecord::from_row).0;
    for quota in &mut quotas {
        quota.approved = approved_in(conn, quota.region, quota.year).await?;
    }
    Ok(quotas)
}
