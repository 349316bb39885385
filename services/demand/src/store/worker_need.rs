//! Workers' employment and training needs as stored. The resident ID number, name and phone are
//! kept encrypted, with a keyed hash of the ID number beside them; the masked forms are what
//! responses show. Nothing here reads the encrypted columns back; `qiancheng reencrypt demand`
//! moves them to the newest data key ([`SEALED`]).

use qiancheng_api::convert;
use qiancheng_api::demand::WorkerNeed;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::db::{self, BindStamp as _, Reader, Table, Tx, flag_value};
use qiancheng_platform::{Error, Stamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

/// A worker's need as stored, without the encrypted columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerNeedRecord {
    /// Id (ULID).
    pub id: String,
    /// Masked ID number.
    pub id_number_masked: String,
    /// Masked name.
    pub name_masked: String,
    /// Masked phone.
    pub phone_masked: String,
    /// County.
    pub region: RegionCode,
    /// Target group.
    pub target_group: TargetGroup,
    /// Industry wanted.
    pub wanted_industry: Option<Industry>,
    /// Occupation wanted.
    pub wanted_occupation_code: Option<OccupationCode>,
    /// Occupation wanted, name.
    pub wanted_occupation_name: String,
    /// Lowest monthly pay wanted, fen.
    pub wanted_pay_min_fen: i64,
    /// Occupation held.
    pub held_occupation_code: Option<OccupationCode>,
    /// Level held.
    pub held_skill_level: Option<SkillLevel>,
    /// Wants training.
    pub wants_training: bool,
    /// Training occupation.
    pub training_occupation_code: Option<OccupationCode>,
    /// Training level.
    pub training_skill_level: Option<SkillLevel>,
    /// Revision and times.
    pub stamp: Stamp,
}

/// The person's data as stored: encrypted, with the keyed hash of the ID number.
#[derive(Debug, Clone)]
pub struct SealedPerson {
    /// Keyed hash of the ID number, for lookups and duplicates.
    pub id_number_hash: String,
    /// Encrypted ID number.
    pub id_number_cipher: String,
    /// Encrypted name.
    pub name_cipher: String,
    /// Encrypted phone.
    pub phone_cipher: String,
}

/// The sealed columns and the lookup hash of the table, for re-encryption.
pub const SEALED: qiancheng_platform::rekey::SealedTable = qiancheng_platform::rekey::SealedTable {
    table: "worker_need",
    key: "id",
    ciphers: &["id_number_cipher", "name_cipher", "phone_cipher"],
    hashes: &[("id_number_hash", "id_number_cipher")],
};

/// The columns [`WorkerNeedRecord::from_row`] reads; never the encrypted ones.
pub const COLUMNS: &str = "id, id_number_masked, name_masked, phone_masked, region_code, target_group, wanted_industry, \
    wanted_occupation_code, wanted_occupation_name, wanted_pay_min_fen, held_occupation_code, held_skill_level, \
    wants_training, training_occupation_code, training_skill_level, version, create_time_micros, update_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "worker_need", columns: COLUMNS };

impl WorkerNeedRecord {
    /// Decodes a row of [`COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            id_number_masked: row.try_get("id_number_masked")?,
            name_masked: row.try_get("name_masked")?,
            phone_masked: row.try_get("phone_masked")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            target_group: db::parsed(row, "target_group", TargetGroup::parse)?,
            wanted_industry: db::parsed_opt(row, "wanted_industry", Industry::parse)?,
            wanted_occupation_code: db::parsed_opt(row, "wanted_occupation_code", OccupationCode::parse)?,
            wanted_occupation_name: row.try_get("wanted_occupation_name")?,
            wanted_pay_min_fen: row.try_get("wanted_pay_min_fen")?,
            held_occupation_code: db::parsed_opt(row, "held_occupation_code", OccupationCode::parse)?,
            held_skill_level: db::parsed_opt(row, "held_skill_level", SkillLevel::parse)?,
            wants_training: db::flag_column(row, "wants_training")?,
            training_occupation_code: db::parsed_opt(row, "training_occupation_code", OccupationCode::parse)?,
            training_skill_level: db::parsed_opt(row, "training_skill_level", SkillLevel::parse)?,
            stamp: db::stamp(row, "version")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("workerNeeds/{}", self.id)
    }

    /// The need as the API shows it, person masked.
    pub fn to_proto(&self) -> WorkerNeed {
        let code = |c: &Option<OccupationCode>| c.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default();
        WorkerNeed {
            name: self.name(),
            person: Some(PersonRef {
                name: self.name_masked.clone(),
                id_number: self.id_number_masked.clone(),
                phone: self.phone_masked.clone(),
            }),
            region_code: self.region.code().to_owned(),
            target_group: convert::target_group_to_proto(self.target_group),
            wanted_industry: self.wanted_industry.map_or(0, convert::industry_to_proto),
            wanted_occupation_code: code(&self.wanted_occupation_code),
            wanted_occupation_name: self.wanted_occupation_name.clone(),
            wanted_pay_min_fen: self.wanted_pay_min_fen,
            held_occupation_code: code(&self.held_occupation_code),
            held_skill_level: convert::skill_level_to_proto(self.held_skill_level),
            wants_training: self.wants_training,
            training_occupation_code: code(&self.training_occupation_code),
            training_skill_level: convert::skill_level_to_proto(self.training_skill_level),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
        }
    }
}

/// Reads a need by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<WorkerNeedRecord>, Error> {
    TABLE.find(executor, &[("id", id)], WorkerNeedRecord::from_row).await
}

/// The id and county of the need recorded for the person whose ID number hashes to one of
/// `hashes` (its hash under each data key a row may still be stored under).
pub async fn find_by_person(tx: &mut Tx, hashes: &[String]) -> Result<Option<(String, RegionCode)>, Error> {
    let sql = format!(
        "SELECT id, region_code FROM worker_need WHERE id_number_hash IN ({}) ORDER BY id LIMIT 1",
        db::placeholders(1, hashes.len())
    );
    let query = hashes.iter().fold(sqlx::query(AssertSqlSafe(sql)), |q, hash| q.bind(hash.as_str()));
    let row = query.fetch_optional(&mut **tx).await?;
    row.map(|row| Ok((row.try_get("id")?, db::parsed(&row, "region_code", RegionCode::parse)?))).transpose()
}

/// A page of needs after id `after`, in `region` when given, only those wanting training when
/// asked, inside `scope`.
pub async fn list(
    pool: &sqlx::AnyPool,
    after: &str,
    region: Option<RegionCode>,
    wants_training_only: bool,
    scope: (&str, &str),
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM worker_need WHERE id > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = 'ALL' OR ($3 = 'REGION' AND region_code = $4)) AND ($5 = 0 OR wants_training = 1) \
         ORDER BY id LIMIT $6"
    )))
    .bind(after)
    .bind(region.map_or("", |r| r.code()))
    .bind(scope.0)
    .bind(scope.1)
    .bind(flag_value(wants_training_only))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Needs inside `scope` that want, hold or would train in an occupation of minor group `group`
/// (`6-18`), by id.
pub async fn in_occupation_group(pool: &sqlx::AnyPool, group: &str, scope: (&str, &str)) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM worker_need WHERE ($1 = 'ALL' OR ($1 = 'REGION' AND region_code = $2)) \
         AND (substr(wanted_occupation_code, 1, 4) = $3 OR substr(held_occupation_code, 1, 4) = $3 \
         OR substr(training_occupation_code, 1, 4) = $3) ORDER BY id"
    )))
    .bind(scope.0)
    .bind(scope.1)
    .bind(group)
    .fetch_all(pool)
    .await?)
}

/// What workers hold and want, for the training-need summary: only workers who hold an
/// occupation or want training can count; by id, so the summary is the same on every run.
pub async fn skills(pool: &sqlx::AnyPool) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(
        "SELECT region_code, held_occupation_code, held_skill_level, wants_training, training_occupation_code, \
         training_skill_level FROM worker_need WHERE held_occupation_code <> '' OR wants_training = 1 ORDER BY id",
    )
    .fetch_all(pool)
    .await?)
}

/// How many workers want training.
pub async fn count_willing(pool: &sqlx::AnyPool) -> Result<i64, Error> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM worker_need WHERE wants_training = 1").fetch_one(pool).await?)
}

/// Stores a new need with the person's sealed data, recorded by `created_by`.
pub async fn insert(
    tx: &mut Tx,
    record: &WorkerNeedRecord,
    person: &SealedPerson,
    created_by: &str,
) -> Result<(), Error> {
    let query = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO worker_need ({COLUMNS}, id_number_hash, id_number_cipher, name_cipher, phone_cipher, created_by) \
         VALUES {}",
        db::values(1, 23)
    )))
    .bind(&record.id)
    .bind(&record.id_number_masked)
    .bind(&record.name_masked)
    .bind(&record.phone_masked);
    bind_content(query, record)
        .bind_stamp(&record.stamp)
        .bind(&person.id_number_hash)
        .bind(&person.id_number_cipher)
        .bind(&person.name_cipher)
        .bind(&person.phone_cipher)
        .bind(created_by)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores the changed fields of a need, unless it changed since it was read.
pub async fn update(tx: &mut Tx, record: &WorkerNeedRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE worker_need SET region_code = $1, target_group = $2, wanted_industry = $3, wanted_occupation_code = $4, \
         wanted_occupation_name = $5, wanted_pay_min_fen = $6, held_occupation_code = $7, held_skill_level = $8, \
         wants_training = $9, training_occupation_code = $10, training_skill_level = $11, version = $12, \
         update_time_micros = $13 WHERE id = $14 AND version = $15",
    );
    db::update_stamped(tx, bind_content(query, record), &record.stamp, &record.id, "the worker's need").await
}

/// Binds what a need says (`region_code` … `training_skill_level`), as an insert and an update
/// both write it.
fn bind_content<'q>(query: db::AnyQuery<'q>, record: &'q WorkerNeedRecord) -> db::AnyQuery<'q> {
    query
        .bind(record.region.code())
        .bind(record.target_group.code())
        .bind(record.wanted_industry.map_or("", |i| i.code()))
        .bind(record.wanted_occupation_code.as_ref().map_or("", |c| c.as_str()))
        .bind(&record.wanted_occupation_name)
        .bind(record.wanted_pay_min_fen)
        .bind(record.held_occupation_code.as_ref().map_or("", |c| c.as_str()))
        .bind(record.held_skill_level.map_or("", |l| l.code()))
        .bind(flag_value(record.wants_training))
        .bind(record.training_occupation_code.as_ref().map_or("", |c| c.as_str()))
        .bind(record.training_skill_level.map_or("", |l| l.code()))
}
