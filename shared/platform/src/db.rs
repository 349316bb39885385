//! The database of a service: sqlx's `Any` driver over a SQLite file (the embedded default) or
//! PostgreSQL (given a `postgres://` URL), migrated at start with the platform's tables and the
//! service's own.
//!
//! Every write runs in a transaction opened by [`Db::begin_write`], which first locks the audit
//! chain's head row: on SQLite that takes the write lock before any read (so a transaction never
//! has to upgrade and fail with `SQLITE_BUSY`), on PostgreSQL it serialises the service's writers
//! so the audit chain stays a single line.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor as _, Row as _, Transaction};

use crate::error::Error;

/// A write transaction.
pub type Tx = Transaction<'static, Any>;

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The platform's own migrations, run before each service's.
static PLATFORM_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// A service's database pool.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects to `url`, creating a SQLite file if needed, and applies the platform's
    /// migrations followed by `migrator`'s.
    pub async fn connect(url: &str, max_connections: Option<u32>, migrator: &Migrator) -> Result<Self, Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Config("database URL must start with sqlite: or postgres:".to_owned()));
        };
        if backend == Backend::Sqlite {
            create_sqlite_parent(url)?;
        }
        let options =
            AnyConnectOptions::from_str(url).map_err(|e| Error::Config(format!("database URL: {e}")))?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.unwrap_or(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 10,
            }))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let db = Self { pool, backend };
        db.migrate(migrator).await?;
        Ok(db)
    }

    /// Applies the platform's migrations and the service's.
    pub async fn migrate(&self, service: &Migrator) -> Result<(), Error> {
        let mut all: Vec<_> = PLATFORM_MIGRATIONS.iter().cloned().collect();
        all.extend(service.iter().cloned());
        all.sort_by_key(|m| m.version);
        Migrator::with_migrations(all).run(&self.pool).await.map_err(Error::Migrate)
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens a write transaction holding the service's write lock (see the module docs).
    pub async fn begin_write(&self) -> Result<Tx, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1").execute(&mut *tx).await?;
        Ok(tx)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn create_sqlite_parent(url: &str) -> Result<(), Error> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//").split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// Reads column `column` of `row` and parses it with `parse`; a value that does not parse is
/// corrupt stored data, named by its column (never by its value, which may be personal data).
pub fn parsed<T, E>(row: &AnyRow, column: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, Error> {
    let text: String = row.try_get(column)?;
    parse(&text).map_err(|_| Error::corrupt(column.to_owned()))
}

/// Like [`parsed`], for a column where the empty string means "none".
pub fn parsed_opt<T, E>(
    row: &AnyRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, Error> {
    let text: String = row.try_get(column)?;
    if text.is_empty() { Ok(None) } else { parse(&text).map(Some).map_err(|_| Error::corrupt(column.to_owned())) }
}

/// Reads a stored civil date (`YYYY-MM-DD`).
pub fn date(row: &AnyRow, column: &str) -> Result<chrono::NaiveDate, Error> {
    parsed(row, column, qiancheng_domain::parse_date)
}

/// Reads a stored flag.
pub fn flag_column(row: &AnyRow, column: &str) -> Result<bool, Error> {
    Ok(flag(row.try_get(column)?))
}

/// Reads the revision and times of a row (`revision`, `create_time_micros`,
/// `update_time_micros`; the revision column may be named otherwise).
pub fn stamp(row: &AnyRow, revision_column: &str) -> Result<crate::stamp::Stamp, Error> {
    Ok(crate::stamp::Stamp {
        revision: row.try_get(revision_column)?,
        create_time_micros: row.try_get("create_time_micros")?,
        update_time_micros: row.try_get("update_time_micros")?,
    })
}

/// Decodes the rows of a list. A row that does not decode is logged and left out, so that one
/// corrupt row never takes a whole list down; the count of rows left out is returned.
pub fn decode_rows<T>(rows: &[AnyRow], decode: impl Fn(&AnyRow) -> Result<T, Error>) -> (Vec<T>, usize) {
    let mut decoded = Vec::with_capacity(rows.len());
    let mut skipped = 0;
    for row in rows {
        match decode(row) {
            Ok(value) => decoded.push(value),
            Err(error) => {
                skipped += 1;
                tracing::error!(%error, "a stored row does not decode; it is left out of the list");
            }
        }
    }
    (decoded, skipped)
}

/// Decodes a stored 0/1 flag.
pub fn flag(value: i64) -> bool {
    value != 0
}

/// Encodes a flag as 0/1 (the `Any` driver cannot decode SQLite booleans).
pub fn flag_value(value: bool) -> i64 {
    i64::from(value)
}
