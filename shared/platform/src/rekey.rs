//! Moving personal data to the newest data key (`qiancheng reencrypt <service>`,
//! `docs/CRYPTOGRAPHY.md`): after a key is added (a rotation, or the move to the 国密 profile),
//! every sealed column and lookup hash a service declares ([`SealedTable`]) is re-sealed and
//! re-hashed under the newest key, while the service runs.
//!
//! - **Resumable.** Rows are moved in batches in key order; each batch commits together with how
//!   far the move has got (`pii_reencryption`), so a run stopped at any point (Ctrl-C between
//!   batches, or a kill in the middle of one, which rolls that batch back) resumes after the last
//!   batch it committed. Running it again after it finished is harmless.
//! - **Lookups stay correct.** Until the move is complete, services consult the hash of every
//!   configured key ([`PiiCipher::lookup_hashes`]); a row is found under its old hash before the
//!   move reaches it and under its new one after. A row is updated only if it still holds what
//!   was read (a concurrent change wins, and the final check finds the row if it is still old).
//! - **Unique hash columns.** A duplicate check consults every key's hash, so one person is never
//!   stored twice across keys; should two rows still end up with the same new hash (written by a
//!   replica that had not been given the new key), the second is left as it is, named by its row
//!   key in the outcome, and the move is not marked complete until someone resolves it.
//! - **How a service learns the move is complete.** The run ends by counting, in every declared
//!   table, the rows not under the newest key. Only when none is left does it record the key in
//!   `pii_settled_key` (with an audit entry); services read that record at start and every
//!   30 seconds ([`watch`]) and from then on look people up by the newest key's hash alone. A
//!   count that finds rows left (written meanwhile under an older key) rewinds those tables so the
//!   next run rescans them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Row as _};

use crate::audit::{self, AuditEntry};
use crate::db::{Db, Tx};
use crate::error::Error;
use crate::pii::PiiCipher;
pub use crate::pii::SealedTable;

/// How a run moves rows.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rows read and moved per transaction.
    pub batch_size: usize,
    /// A pause after each batch, so that a busy service's writers get their turns.
    pub pause: Duration,
    /// Stop after this many batches (the run can be resumed); `None` runs to the end.
    pub max_batches: Option<usize>,
    /// Who the audit entry names.
    pub actor: String,
    /// The policy-set version the audit entry is recorded under.
    pub policy_version: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_size: 500,
            pause: Duration::ZERO,
            max_batches: None,
            actor: "qiancheng reencrypt".to_owned(),
            policy_version: String::new(),
        }
    }
}

/// Where the move of one table stands, reported after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The table.
    pub table: &'static str,
    /// Rows moved to the newest key by the runs of this move so far.
    pub moved: i64,
    /// Rows of the table under another key when this run began.
    pub remaining_at_start: i64,
    /// Rows of the table.
    pub total: i64,
    /// Whether the table has been walked to its end.
    pub finished: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every row of every table is under the newest key, and the database says so.
    Settled {
        /// The newest key.
        key: String,
        /// Rows this run moved.
        moved: i64,
    },
    /// The run stopped before the end (asked to, or after its batches); run it again to go on.
    Stopped {
        /// Rows this run moved.
        moved: i64,
    },
    /// The walk ended but rows are still under other keys: rows written meanwhile under an
    /// older key (the tables are rewound, run again), or rows whose new hash another row
    /// already holds (named by table and row key).
    Unsettled {
        /// Rows left under other keys, by table.
        remaining: Vec<(&'static str, i64)>,
        /// Rows left because their new hash is taken: table and row key.
        conflicts: Vec<(&'static str, String)>,
    },
}

/// The key the database has settled on, if a move has completed.
pub async fn settled_key(db: &Db) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar("SELECT key_id FROM pii_settled_key WHERE id = 1").fetch_optional(db.pool()).await?)
}

/// Reads which key the database has settled on into `pii`: lookups need only the newest key's
/// hash when it is that key. A database settled on a key this configuration lacks cannot be
/// served (its values would not open).
pub async fn observe(db: &Db, pii: &PiiCipher) -> Result<(), Error> {
    let settled = settled_key(db).await?;
    if let Some(key) = &settled
        && !pii.knows(key)
    {
        return Err(Error::Config(format!(
            "this database was moved to data key {key}, which is not configured (QIANCHENG_DATA_KEYS)"
        )));
    }
    pii.set_settled(settled.as_deref() == Some(pii.newest_key_id()));
    Ok(())
}

/// Reads the settled key now and then every `every`, in the background.
pub fn watch(db: Db, pii: PiiCipher, every: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(error) = observe(&db, &pii).await {
                tracing::error!(error = %error.report(), "the settled data key was not read; lookups consult every key");
                pii.set_settled(false);
            }
        }
    });
}

/// `c1 LIKE $1 AND … AND h1 LIKE $2 …`: every sealed column and hash of `table` is under the
/// newest key (the patterns are bound by [`bind_patterns`]).
fn under_newest(table: &SealedTable, pii: &PiiCipher) -> String {
    let hash_test = if pii.newest_hash_prefix().is_some() { "LIKE" } else { "NOT LIKE" };
    let mut tests: Vec<String> = table.ciphers.iter().map(|c| format!("{c} LIKE $1")).collect();
    tests.extend(table.hashes.iter().map(|(h, _)| format!("{h} {hash_test} $2")));
    tests.join(" AND ")
}

/// The `LIKE` patterns of [`under_newest`]: the newest key's cipher prefix, and its hash prefix
/// (or, for the original key, whose hashes are bare hex, any `:`).
fn patterns(pii: &PiiCipher) -> (String, String) {
    let hash = pii.newest_hash_prefix().map_or_else(|| "%:%".to_owned(), |p| format!("{p}%"));
    (format!("{}%", pii.newest_cipher_prefix()), hash)
}

/// Rows of `table` with a sealed value or hash under another key than the newest.
pub async fn remaining(db: &Db, pii: &PiiCipher, table: &SealedTable) -> Result<i64, Error> {
    let (cipher, hash) = patterns(pii);
    let sql = format!("SELECT COUNT(*) FROM {} WHERE NOT ({})", table.table, under_newest(table, pii));
    Ok(sqlx::query_scalar(AssertSqlSafe(sql)).bind(cipher).bind(hash).fetch_one(db.pool()).await?)
}

/// A row as read for the move.
struct Row {
    key: String,
    ciphers: Vec<String>,
    hashes: Vec<String>,
}

/// What became of a batch.
#[derive(Debug, Default)]
struct Batch {
    read: usize,
    moved: i64,
    last_key: Option<String>,
    conflicts: Vec<String>,
}

/// Moves `tables` of `db` to the newest key of `pii` (see the module docs), reporting after
/// each batch, until done, until `stop` is set (checked between batches), or after
/// `options.max_batches` batches.
pub async fn reencrypt(
    db: &Db,
    pii: &PiiCipher,
    tables: &[SealedTable],
    options: &Options,
    stop: &AtomicBool,
    mut report: impl FnMut(&Progress),
) -> Result<Outcome, Error> {
    let target = pii.newest_key_id().to_owned();
    let batch_size = options.batch_size.max(1);
    let mut moved_now = 0i64;
    let mut batches = 0usize;
    let mut conflicts: Vec<(&'static str, String)> = Vec::new();
    for table in tables {
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", table.table)))
            .fetch_one(db.pool())
            .await?;
        let remaining_at_start = remaining(db, pii, table).await?;
        let (mut after, mut moved, mut finished) = cursor(db, &target, table.table).await?;
        report(&Progress { table: table.table, moved, remaining_at_start, total, finished });
        while !finished {
            if stop.load(Ordering::Relaxed) || options.max_batches.is_some_and(|max| batches >= max) {
                return Ok(Outcome::Stopped { moved: moved_now });
            }
            let (mut tx, _turn) = db.begin_write().await?;
            let batch = move_batch(&mut tx, pii, table, &after, batch_size).await?;
            finished = batch.read < batch_size;
            if let Some(last) = batch.last_key {
                after = last;
            }
            moved += batch.moved;
            save_cursor(&mut tx, &target, table.table, &after, moved, finished).await?;
            tx.commit().await?;
            conflicts.extend(batch.conflicts.into_iter().map(|key| (table.table, key)));
            moved_now += batch.moved;
            batches += 1;
            report(&Progress { table: table.table, moved, remaining_at_start, total, finished });
            if !options.pause.is_zero() && !finished {
                tokio::time::sleep(options.pause).await;
            }
        }
    }
    settle(db, pii, tables, options, moved_now, conflicts).await
}

/// Ends a walk that reached the end of every table: marks the database settled on the newest key
/// when no row is left under another, or rewinds the tables that still have some.
async fn settle(
    db: &Db,
    pii: &PiiCipher,
    tables: &[SealedTable],
    options: &Options,
    moved: i64,
    conflicts: Vec<(&'static str, String)>,
) -> Result<Outcome, Error> {
    let target = pii.newest_key_id();
    let mut left = Vec::new();
    for table in tables {
        let count = remaining(db, pii, table).await?;
        if count > 0 {
            left.push((table.table, count));
        }
    }
    let (mut tx, _turn) = db.begin_write().await?;
    if !left.is_empty() || !conflicts.is_empty() {
        for (table, _) in &left {
            // The next run walks these tables again from the start.
            save_cursor(&mut tx, target, table, "", 0, false).await?;
        }
        tx.commit().await?;
        return Ok(Outcome::Unsettled { remaining: left, conflicts });
    }
    let now = crate::time::now_micros();
    sqlx::query(
        "INSERT INTO pii_settled_key (id, key_id, settled_micros) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, settled_micros = excluded.settled_micros",
    )
    .bind(target)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({
        "key": target,
        "profile": pii.profile().name(),
        "tables": tables.iter().map(|t| t.table).collect::<Vec<_>>(),
        "moved_by_last_run": moved,
    });
    let resource = format!("dataKeys/{target}");
    audit::record_many(
        &mut tx,
        &[AuditEntry {
            actor: &options.actor,
            action: "pii.reencrypt.settled",
            resource: &resource,
            detail: &detail,
            policy_version: &options.policy_version,
        }],
    )
    .await?;
    tx.commit().await?;
    pii.set_settled(true);
    Ok(Outcome::Settled { key: target.to_owned(), moved })
}

/// How far the move of `table` to `target` has got: the last row key done, rows moved, and
/// whether the walk is finished.
async fn cursor(db: &Db, target: &str, table: &str) -> Result<(String, i64, bool), Error> {
    let row = sqlx::query(
        "SELECT after_key, moved, finished FROM pii_reencryption WHERE target_key = $1 AND table_name = $2",
    )
    .bind(target)
    .bind(table)
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(row) => Ok((row.try_get("after_key")?, row.try_get("moved")?, crate::db::flag_column(&row, "finished")?)),
        None => Ok((String::new(), 0, false)),
    }
}

async fn save_cursor(
    tx: &mut Tx,
    target: &str,
    table: &str,
    after: &str,
    moved: i64,
    finished: bool,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO pii_reencryption (target_key, table_name, after_key, moved, finished, update_time_micros) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (target_key, table_name) DO UPDATE SET \
         after_key = excluded.after_key, moved = excluded.moved, finished = excluded.finished, \
         update_time_micros = excluded.update_time_micros",
    )
    .bind(target)
    .bind(table)
    .bind(after)
    .bind(moved)
    .bind(crate::db::flag_value(finished))
    .bind(crate::time::now_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Reads up to `limit` rows of `table` after row key `after` and moves those not under the
/// newest key, each inside a savepoint (a taken hash leaves that row alone, not the batch).
async fn move_batch(
    tx: &mut Tx,
    pii: &PiiCipher,
    table: &SealedTable,
    after: &str,
    limit: usize,
) -> Result<Batch, Error> {
    let mut columns: Vec<&str> = vec![table.key];
    columns.extend(table.ciphers.iter().copied());
    columns.extend(table.hashes.iter().map(|(h, _)| *h));
    let sql = format!(
        "SELECT {} FROM {} WHERE {} > $1 ORDER BY {} LIMIT $2",
        columns.join(", "),
        table.table,
        table.key,
        table.key
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut **tx)
        .await?;
    let mut batch = Batch { read: rows.len(), ..Batch::default() };
    for row in &rows {
        let row = Row {
            key: row.try_get(table.key)?,
            ciphers: table.ciphers.iter().map(|c| row.try_get::<String, _>(*c)).collect::<Result<_, _>>()?,
            hashes: table.hashes.iter().map(|(h, _)| row.try_get::<String, _>(*h)).collect::<Result<_, _>>()?,
        };
        batch.last_key = Some(row.key.clone());
        let current = row.ciphers.iter().all(|c| pii.is_sealed_under_newest(c))
            && row.hashes.iter().all(|h| pii.is_hashed_under_newest(h));
        if current {
            continue;
        }
        match move_row(tx, pii, table, &row).await? {
            Moved::Yes => batch.moved += 1,
            Moved::ChangedMeanwhile => {}
            Moved::HashTaken => batch.conflicts.push(row.key.clone()),
        }
    }
    Ok(batch)
}

/// What became of one row.
enum Moved {
    Yes,
    ChangedMeanwhile,
    HashTaken,
}

/// Re-seals and re-hashes one row under the newest key, if it still holds what was read.
async fn move_row(tx: &mut Tx, pii: &PiiCipher, table: &SealedTable, row: &Row) -> Result<Moved, Error> {
    let where_row = |what: &str| format!("{what} of {} row {}", table.table, row.key);
    let mut plaintexts = Vec::with_capacity(row.ciphers.len());
    for (column, stored) in table.ciphers.iter().zip(&row.ciphers) {
        let plain = pii.decrypt(stored).map_err(|e| Error::Pii(format!("{}: {e}", where_row(column))))?;
        plaintexts.push(plain);
    }
    let mut sealed = Vec::with_capacity(row.ciphers.len());
    for (stored, plain) in row.ciphers.iter().zip(&plaintexts) {
        sealed.push(if pii.is_sealed_under_newest(stored) { stored.clone() } else { pii.encrypt(plain)? });
    }
    let mut hashes = Vec::with_capacity(row.hashes.len());
    for (column, source) in table.hashes {
        let index = table
            .ciphers
            .iter()
            .position(|c| c == source)
            .ok_or_else(|| Error::Config(format!("{}: {source} is not a sealed column", where_row(column))))?;
        hashes.push(pii.lookup_hash(&plaintexts[index]));
    }
    let mut sets: Vec<String> = Vec::new();
    let mut checks: Vec<String> = Vec::new();
    let written: Vec<&str> = table.ciphers.iter().copied().chain(table.hashes.iter().map(|(h, _)| *h)).collect();
    let n = written.len();
    for (i, column) in written.iter().enumerate() {
        sets.push(format!("{column} = ${}", i + 1));
        checks.push(format!("{column} = ${}", n + 2 + i));
    }
    let sql = format!(
        "UPDATE {} SET {} WHERE {} = ${} AND {}",
        table.table,
        sets.join(", "),
        table.key,
        n + 1,
        checks.join(" AND ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for value in sealed.iter().chain(&hashes) {
        query = query.bind(value.as_str());
    }
    query = query.bind(row.key.as_str());
    for value in row.ciphers.iter().chain(&row.hashes) {
        query = query.bind(value.as_str());
    }
    sqlx::query("SAVEPOINT reencrypt_row").execute(&mut **tx).await?;
    match query.execute(&mut **tx).await {
        Ok(done) => {
            sqlx::query("RELEASE SAVEPOINT reencrypt_row").execute(&mut **tx).await?;
            Ok(if done.rows_affected() == 1 { Moved::Yes } else { Moved::ChangedMeanwhile })
        }
        Err(error) => {
            sqlx::query("ROLLBACK TO SAVEPOINT reencrypt_row").execute(&mut **tx).await?;
            sqlx::query("RELEASE SAVEPOINT reencrypt_row").execute(&mut **tx).await?;
            let error = Error::from(error);
            if crate::db::is_unique_violation(&error) {
                tracing::warn!(table = table.table, row = %row.key, "the row's new lookup hash is held by another row; left under its old key");
                Ok(Moved::HashTaken)
            } else {
                Err(error)
            }
        }
    }
}
