//! The database of a service: sqlx's `Any` driver over a SQLite file (the embedded default) or
//! PostgreSQL (given a `postgres://` URL), migrated at start with the platform's tables and the
//! service's own.
//!
//! Every write runs in a transaction opened by [`Db::begin_write`]:
//!
//! - on SQLite (one writer at a time in any case) writers wait their turn in the process, holding
//!   no connection while they wait, so readers are never starved of connections; the turn then
//!   begins `BEGIN IMMEDIATE`, taking the database's write lock before any read, so a transaction
//!   never has to upgrade its lock and fail with `SQLITE_BUSY`;
//! - on PostgreSQL writers proceed concurrently: each resource's audit chain is locked only at the
//!   end of the transaction ([`crate::audit`]), updates are optimistic (a row changed since it was
//!   read is refused, [`crate::stamp::Stamp`]), and an invariant spanning rows (a quota, a
//!   headcount) is guarded by a transaction-scoped advisory lock
//!   ([`crate::write::Change::serialize_on`]).
//!
//! A read of a record or a page runs on a connection kept for reads ([`Db::rows`]), taken and
//! put back with no round trip of its own: the pool checks each connection with a round trip
//! when it hands it out and again when it takes it back, which tripled the round trips of a
//! one-query read. On SQLite those connections are the file opened directly and a read runs on
//! the calling thread (a read by key takes microseconds): sqlx's SQLite connection runs each
//! query on a thread of its own and hands every row across, which cost a point read more than
//! the query did.

use std::borrow::Cow;
use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use sqlx::any::AnyRow;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions as _, Connection as _, Executor as _, Row as _, Transaction};

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

impl Backend {
    /// The engine's name in the OpenTelemetry conventions (`db.system`).
    pub fn system_name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// The platform's own migrations, run before each service's.
static PLATFORM_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// A service's database pool.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's writers take turns here, in the process, before they take a connection.
    writers: Option<Arc<tokio::sync::Mutex<()>>>,
    /// The connections kept for reads.
    readers: Arc<Readers>,
}

/// How long a connection may wait unused before it is checked with a round trip when it is
/// taken again (a database restarted meanwhile has closed it); one in steady use is not.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(5);
/// How long a connection lives before it is replaced, as the pool's are (30 minutes).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long a call waits for a connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a read of the SQLite file waits for a lock (only recovering a crashed writer's log
/// holds readers up in write-ahead logging) before it fails: the read runs on the calling
/// thread, which must not be held for long.
const SQLITE_READ_BUSY: Duration = Duration::from_secs(1);

/// Connections kept for reads, as many as the pool's, opened when first needed.
struct Readers {
    target: ReadTarget,
    permits: tokio::sync::Semaphore,
    size: usize,
    idle: std::sync::Mutex<Vec<Kept>>,
    closed: AtomicBool,
}

/// What the connections kept for reads connect to.
enum ReadTarget {
    /// The SQLite file, opened directly.
    SqliteFile(std::path::PathBuf),
    /// The PostgreSQL server, or an in-memory SQLite database (which only sqlx's own connections
    /// share), through sqlx.
    Any(AnyConnectOptions, Backend),
}

/// A connection for reads.
enum ReadConnection {
    Sqlite(rusqlite::Connection),
    Any(AnyConnection),
}

impl ReadConnection {
    async fn open(target: &ReadTarget) -> Result<Self, Error> {
        Ok(match target {
            ReadTarget::SqliteFile(path) => ReadConnection::Sqlite(open_sqlite(path)?),
            ReadTarget::Any(options, backend) => {
                let mut connection = options.connect().await?;
                set_up(&mut connection, *backend).await?;
                ReadConnection::Any(connection)
            }
        })
    }

    async fn close(self) {
        if let ReadConnection::Any(connection) = self {
            let _ = connection.close().await;
        }
    }

    /// Whether the connection still answers; a file opened directly always does.
    async fn ping(&mut self) -> bool {
        match self {
            ReadConnection::Sqlite(_) => true,
            ReadConnection::Any(connection) => connection.ping().await.is_ok(),
        }
    }

    /// Runs `sql` with `binds` and hands each row to `each`.
    async fn rows<T>(
        &mut self,
        sql: &str,
        binds: &[Bind],
        each: &mut impl FnMut(&dyn Cells) -> T,
    ) -> Result<Vec<T>, Error> {
        match self {
            ReadConnection::Sqlite(connection) => sqlite_rows(connection, sql, binds, each),
            ReadConnection::Any(connection) => {
                let query = binds.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |query, bind| bind.bind(query));
                Ok(query.fetch_all(&mut *connection).await?.iter().map(|row| each(row)).collect())
            }
        }
    }
}

/// A connection kept for reads, with when it was opened and last put back.
struct Kept {
    connection: ReadConnection,
    opened: Instant,
    returned: Instant,
}

/// Where a record's values are read from: a row of sqlx's `Any` driver, or of the SQLite file read
/// directly.
pub trait Cells {
    /// The integer at position `at`; `None` for SQL `NULL`.
    fn int(&self, at: usize) -> Result<Option<i64>, Error>;
    /// The text at position `at`; `None` for SQL `NULL`.
    fn text(&self, at: usize) -> Result<Option<Cow<'_, str>>, Error>;
}

impl Cells for AnyRow {
    fn int(&self, at: usize) -> Result<Option<i64>, Error> {
        Ok(self.try_get::<Option<i64>, _>(at)?)
    }
    fn text(&self, at: usize) -> Result<Option<Cow<'_, str>>, Error> {
        Ok(self.try_get::<Option<&str>, _>(at)?.map(Cow::Borrowed))
    }
}

impl Cells for rusqlite::Row<'_> {
    fn int(&self, at: usize) -> Result<Option<i64>, Error> {
        match self.get_ref(at).map_err(sqlite_error)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            // SQLite hands back whatever was stored; an integer stored as text still reads.
            ValueRef::Text(text) => std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Some)
                .ok_or_else(|| Error::corrupt("an integer")),
            ValueRef::Real(_) | ValueRef::Blob(_) => Err(Error::corrupt("an integer")),
        }
    }
    fn text(&self, at: usize) -> Result<Option<Cow<'_, str>>, Error> {
        match self.get_ref(at).map_err(sqlite_error)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(text) => {
                std::str::from_utf8(text).map(|t| Some(Cow::Borrowed(t))).map_err(|_| Error::corrupt("a text"))
            }
            ValueRef::Integer(n) => Ok(Some(Cow::Owned(n.to_string()))),
            ValueRef::Real(n) => Ok(Some(Cow::Owned(n.to_string()))),
            ValueRef::Blob(_) => Err(Error::corrupt("a text")),
        }
    }
}

/// A value a query binds: text or an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
}

impl From<&str> for Bind {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}
impl From<String> for Bind {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}
impl From<&String> for Bind {
    fn from(value: &String) -> Self {
        Self::Text(value.clone())
    }
}
impl From<i64> for Bind {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl Bind {
    pub(crate) fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        match self {
            Bind::Text(text) => query.bind(text.clone()),
            Bind::Int(n) => query.bind(*n),
        }
    }
}

/// The error of a read of the SQLite file: the database's own, as sqlx's would be (it leaves
/// the connection to be closed).
pub(crate) fn sqlite_error(error: rusqlite::Error) -> Error {
    Error::Database(sqlx::Error::Io(std::io::Error::other(error)))
}

/// Opens the SQLite file for reads: no writes through it (`query_only`), a short wait for a
/// lock, and room for the statements of a service's reads.
fn open_sqlite(path: &std::path::Path) -> Result<rusqlite::Connection, Error> {
    use rusqlite::OpenFlags;
    let connection = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    connection.busy_timeout(SQLITE_READ_BUSY).map_err(sqlite_error)?;
    connection.pragma_update(None, "query_only", true).map_err(sqlite_error)?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

/// Runs `sql` with `binds` on the SQLite file, on the calling thread, and hands each row to
/// `each`. Parameters are bound by their number (`$2` takes the second value), as sqlx binds them.
fn sqlite_rows<T>(
    connection: &rusqlite::Connection,
    sql: &str,
    binds: &[Bind],
    each: &mut impl FnMut(&dyn Cells) -> T,
) -> Result<Vec<T>, Error> {
    let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.trim_start_matches(['$', '?']).parse::<usize>().ok())
            .unwrap_or(index);
        let bound = match binds.get(number.wrapping_sub(1)) {
            Some(Bind::Text(text)) => statement.raw_bind_parameter(index, text.as_str()),
            Some(Bind::Int(n)) => statement.raw_bind_parameter(index, n),
            None => statement.raw_bind_parameter(index, rusqlite::types::Null),
        };
        bound.map_err(sqlite_error)?;
    }
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        out.push(each(row));
    }
    Ok(out)
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match self.target {
            ReadTarget::SqliteFile(_) => "the SQLite file",
            ReadTarget::Any(_, backend) => backend.system_name(),
        };
        f.debug_struct("Readers").field("target", &target).field("size", &self.size).finish_non_exhaustive()
    }
}

/// Sets a new connection up as the service uses it: on SQLite, write-ahead logging (readers
/// never wait for the writer), a writer's wait for the lock, and foreign keys enforced.
async fn set_up(connection: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        connection.execute("PRAGMA journal_mode = WAL").await?;
        connection.execute("PRAGMA busy_timeout = 10000").await?;
        connection.execute("PRAGMA foreign_keys = ON").await?;
    }
    Ok(())
}

/// Whether an error leaves the connection unusable (it is then closed rather than kept).
fn breaks_connection(error: &Error) -> bool {
    matches!(
        error,
        Error::Database(
            sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::PoolClosed
        )
    )
}

impl Readers {
    /// A kept connection: an idle one (checked first if it waited long), or a new one.
    async fn take(&self) -> Result<Kept, Error> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
            let Some(mut kept) = idle else { break };
            if kept.opened.elapsed() > MAX_LIFETIME {
                kept.connection.close().await;
                continue;
            }
            if kept.returned.elapsed() <= CHECK_AFTER_IDLE || kept.connection.ping().await {
                return Ok(kept);
            }
        }
        let connection = ReadConnection::open(&self.target).await?;
        let now = Instant::now();
        Ok(Kept { connection, opened: now, returned: now })
    }

    /// Puts a connection back for the next read.
    fn put(&self, mut kept: Kept) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        kept.returned = Instant::now();
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(kept);
    }

    /// Closes the idle connections; those in use are closed when their read ends.
    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for kept in idle {
            kept.connection.close().await;
        }
    }

    /// Connections now in use and idle.
    fn usage(&self) -> (i64, i64) {
        let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
        let used = self.size.saturating_sub(self.permits.available_permits());
        (i64::try_from(used).unwrap_or(i64::MAX), i64::try_from(idle).unwrap_or(i64::MAX))
    }
}

/// A writer's turn on SQLite; the turn ends when the write transaction does.
#[derive(Debug)]
pub struct WriteTurn(#[allow(dead_code)] Option<tokio::sync::OwnedMutexGuard<()>>);

/// The pool size when none is configured: enough connections to keep the machine's cores busy
/// while others wait on I/O.
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores * 2 + 2).unwrap_or(8).clamp(4, 32)
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
        let sqlite_file = match backend {
            Backend::Sqlite => sqlite_file(url)?,
            Backend::Postgres => None,
        };
        if let Some(path) = &sqlite_file {
            create_sqlite_parent(path)?;
        }
        let options = AnyConnectOptions::from_str(url).map_err(|e| Error::Config(format!("database URL: {e}")))?;
        let size = max_connections.unwrap_or_else(default_pool_size);
        let pool = AnyPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection is checked with a round trip when it is handed out only if it waited
            // unused for a while; one in steady use is not (each check costs a round trip).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > CHECK_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| Box::pin(set_up(conn, backend)))
            .connect_with(options.clone())
            .await?;
        let writers = (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        let target = match sqlite_file {
            Some(path) => ReadTarget::SqliteFile(path),
            None => ReadTarget::Any(options, backend),
        };
        let readers = Arc::new(Readers {
            target,
            permits: tokio::sync::Semaphore::new(usize::try_from(size).unwrap_or(1).max(1)),
            size: usize::try_from(size).unwrap_or(1).max(1),
            idle: std::sync::Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        let db = Self { pool, backend, writers, readers };
        db.migrate(migrator).await?;
        db.observe_pool();
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

    /// Runs `sql` with `binds` (a read: one query outside any transaction, as
    /// [`crate::record::page`] and [`crate::record::get`] make) on a connection kept for reads,
    /// and hands each row to `each`. The connection is taken and put back without a round trip of
    /// its own; it is checked first only when it waited unused for a while, and closed, not kept,
    /// when the read failed with it or was abandoned half-way (a call cancelled or timed out). On
    /// SQLite the read runs on the calling thread.
    pub async fn rows<T>(
        &self,
        sql: &str,
        binds: &[Bind],
        mut each: impl FnMut(&dyn Cells) -> T,
    ) -> Result<Vec<T>, Error> {
        let readers = &self.readers;
        let _permit = match tokio::time::timeout(ACQUIRE_TIMEOUT, readers.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(Error::Database(sqlx::Error::PoolClosed)),
            Err(_) => return Err(Error::Database(sqlx::Error::PoolTimedOut)),
        };
        let mut kept = readers.take().await?;
        let result = kept.connection.rows(sql, binds, &mut each).await;
        match &result {
            Err(error) if breaks_connection(error) => {}
            _ => readers.put(kept),
        }
        result
    }

    /// The engine behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens a write transaction (see the module docs); keep the turn until the transaction
    /// ends. The time it waits is measured (`db.client.connections.wait_time`,
    /// `…pending_requests`).
    pub async fn begin_write(&self) -> Result<(Tx, WriteTurn), Error> {
        let metrics = crate::telemetry::metrics::instruments();
        let labels = [opentelemetry::KeyValue::new("pool.name", self.backend.system_name())];
        metrics.db_pending.add(1, &labels);
        let started = std::time::Instant::now();
        let begun = async {
            match &self.writers {
                Some(writers) => {
                    let turn = writers.clone().lock_owned().await;
                    let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                    Ok::<_, Error>((tx, WriteTurn(Some(turn))))
                }
                None => Ok((self.pool.begin().await?, WriteTurn(None))),
            }
        }
        .await;
        metrics.db_pending.add(-1, &labels);
        metrics.db_wait.record(started.elapsed().as_secs_f64() * 1000.0, &labels);
        begun
    }

    /// Reports the pool's connections in use and idle (`db.client.connections.usage`) whenever
    /// metrics are collected.
    fn observe_pool(&self) {
        let pool = self.pool.clone();
        let readers = self.readers.clone();
        let name = self.backend.system_name();
        let _ = crate::telemetry::metrics::meter()
            .i64_observable_gauge("db.client.connections.usage")
            .with_description("Database connections by state")
            .with_callback(move |observer| {
                // The pool's and the connections kept for reads, together.
                let (reading, waiting) = readers.usage();
                let pool_idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
                let used = (i64::from(pool.size()) - pool_idle).saturating_add(reading);
                let idle = pool_idle.saturating_add(waiting);
                observer.observe(
                    used,
                    &[opentelemetry::KeyValue::new("pool.name", name), opentelemetry::KeyValue::new("state", "used")],
                );
                observer.observe(
                    idle,
                    &[opentelemetry::KeyValue::new("pool.name", name), opentelemetry::KeyValue::new("state", "idle")],
                );
            })
            .build();
    }

    /// Whether the database answers within `timeout` (readiness).
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(&self.pool)).await, Ok(Ok(_)))
    }

    /// Closes the pool, waiting for connections to be returned, and the connections kept for
    /// reads.
    pub async fn close(&self) {
        self.readers.close().await;
        self.pool.close().await;
    }
}

/// The file of a SQLite URL, as sqlx reads it; none for an in-memory database (only sqlx's own
/// connections share one).
fn sqlite_file(url: &str) -> Result<Option<std::path::PathBuf>, Error> {
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|e| Error::Config(format!("database URL: {e}")))?;
    // In memory as sqlx reads the URL: the database `:memory:`, or `mode=memory`.
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory = database == ":memory:" || query.split('&').any(|pair| pair == "mode=memory");
    Ok((!memory).then(|| options.get_filename().to_path_buf()))
}

/// Creates the folder of the SQLite file and the file itself, readable by the service alone.
fn create_sqlite_parent(path: &std::path::Path) -> Result<(), Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", parent.display())))?;
    }
    owner_only(path)
}

/// Makes the database file (and the journal files SQLite derives from its mode) readable by
/// the service's own user only: it holds personal data, encrypted or not.
#[cfg(unix)]
fn owner_only(path: &std::path::Path) -> Result<(), Error> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let cannot = |e: std::io::Error| Error::Config(format!("cannot protect {}: {e}", path.display()));
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(cannot)?;
    for file in [path.to_path_buf(), path.with_extension("db-wal"), path.with_extension("db-shm")] {
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(cannot)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &std::path::Path) -> Result<(), Error> {
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

/// Reads a stored flag.
pub fn flag_column(row: &AnyRow, column: &str) -> Result<bool, Error> {
    Ok(flag(row.try_get(column)?))
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

/// `($1, $2, …), (…)`: the VALUES of a multi-row INSERT of `rows` rows of `columns` columns.
pub fn values(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        out.push_str(&placeholders(row * columns + 1, columns));
        out.push(')');
    }
    out
}

/// `$first, $first+1, …`: `count` placeholders, as an `IN` list or a row of VALUES takes them.
pub fn placeholders(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 5);
    for n in first..first + count {
        if n > first {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// A query being bound, as [`insert_many`] hands it to a row's binder.
pub type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Most parameters one multi-row statement binds (well inside SQLite's and PostgreSQL's limits,
/// and small enough that binding stays cheap).
const PARAMETERS_PER_STATEMENT: usize = 1_000;

/// Inserts `items` into `table` (`columns`, `per_row` of them, bound by `bind` in order) with
/// multi-row `INSERT … VALUES (…), (…)` statements: bulk writes in a few round trips instead of
/// one per row.
pub async fn insert_many<'q, T>(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    per_row: usize,
    items: &'q [T],
    bind: impl Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
) -> Result<(), Error> {
    let rows_per_statement = (PARAMETERS_PER_STATEMENT / per_row.max(1)).max(1);
    for batch in items.chunks(rows_per_statement) {
        let sql = format!("INSERT INTO {table} ({columns}) VALUES {}", values(batch.len(), per_row));
        let query = batch.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), &bind);
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// What a read runs on: the pool, a connection of it, or a transaction.
pub trait Reader<'c>: sqlx::Executor<'c, Database = Any> {}

impl<'c, E: sqlx::Executor<'c, Database = Any>> Reader<'c> for E {}

/// Whether a database error is a unique-key violation (two writers created the same thing).
pub fn is_unique_violation(error: &Error) -> bool {
    matches!(error, Error::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
}

/// Checks that an optimistic update changed its one row; none means another change to the row
/// committed since it was read (`ABORTED`, `CONCURRENT_CHANGE`).
pub fn changed_one(result: sqlx::any::AnyQueryResult, what: &str) -> Result<(), Error> {
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::Conflict(format!("{what} was changed by another request at the same time; read it again and retry")))
    }
}

/// Decodes a stored 0/1 flag.
pub fn flag(value: i64) -> bool {
    value != 0
}

/// Encodes a flag as 0/1 (the `Any` driver cannot decode SQLite booleans).
pub fn flag_value(value: bool) -> i64 {
    i64::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_file_is_the_one_sqlx_opens_and_memory_is_none() {
        let file = |url: &str| sqlite_file(url).expect("a SQLite URL");
        assert_eq!(file("sqlite://data/demand.db?mode=rwc"), Some("data/demand.db".into()));
        assert_eq!(file("sqlite:///var/lib/qiancheng/demand.db"), Some("/var/lib/qiancheng/demand.db".into()));
        assert_eq!(file("sqlite:demand.db"), Some("demand.db".into()));
        for memory in ["sqlite::memory:", "sqlite://:memory:", "sqlite://?mode=memory", "sqlite://x.db?mode=memory"] {
            assert_eq!(file(memory), None, "{memory}");
        }
    }

    #[test]
    fn multi_row_values_number_their_placeholders() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(1, 1), "($1)");
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
    }
}
