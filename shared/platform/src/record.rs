//! Records declared once: a stored record's struct, with `#[derive(Record)]`
//! (`qiancheng-record`), is its table, its column list, its row decoding and its insert and
//! update binds. A column is spelt in two places, the migration and the struct's field; how a
//! value is stored is said once per type, here ([`Column`]): text and integers as they are, a
//! civil date as `YYYY-MM-DD`, a flag as 0/1, a coded enum (a state, a county, a skill level) by
//! its stable code, an optional value as the empty text, a document as JSON (`#[column(json)]`).
//!
//! ```text
//! #[derive(Record)]
//! #[record(table = "vacancy", key = "id")]
//! pub struct VacancyRecord {
//!     pub id: String,
//!     #[column(name = "region_code")]
//!     pub region: RegionCode,
//!     pub needed_by: NaiveDate,
//!     pub state: VacancyState,
//!     #[column(stamp)]
//!     pub stamp: Stamp,
//! }
//!
//! let vacancy = record::find::<VacancyRecord>(pool, id).await?;
//! record::update(&mut change.tx, &vacancy).await?;   // WHERE id = … AND revision = …
//! let (page, next) = record::page::<VacancyRecord>(&db, Filter::new().eq("v.state", "PUBLISHED"), &request).await?;
//! ```
//!
//! Reads decode by position, in the order of the struct's fields, from a row of sqlx's `Any`
//! driver or, for [`get`] and [`page`] on SQLite, from a row of the file read directly on the
//! calling thread ([`Db::rows`]); both run on the connections kept for reads.

use std::sync::OnceLock;

use chrono::NaiveDate;
use qiancheng_domain::{Code, OccupationCode};
use sqlx::Row as _;

pub use qiancheng_record::{Columns, Record};

pub use crate::db::{AnyQuery, Bind, Cells};
use crate::db::{Db, Reader, Tx};
use crate::error::Error;
use crate::page::PageRequest;
use crate::stamp::Stamp;

/// How one value is stored in one column.
pub trait Column: Sized {
    /// Reads the value at position `at` (the column `name`, for the error that names a corrupt
    /// one, never its content).
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error>;
    /// Binds the value as the next parameter of `query`.
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

fn required<T>(value: Option<T>, name: &'static str) -> Result<T, Error> {
    value.ok_or_else(|| Error::corrupt(name))
}

impl Column for String {
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        Ok(required(cells.text(at)?, name)?.into_owned())
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(self.clone())
    }
}

impl Column for i64 {
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        required(cells.int(at)?, name)
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(*self)
    }
}

/// Integers narrower than the stored `BIGINT`: a stored value out of range is corrupt.
macro_rules! narrow_integer_columns {
    ($($ty:ty),+) => {
        $(
            impl Column for $ty {
                fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
                    <$ty>::try_from(required(cells.int(at)?, name)?).map_err(|_| Error::corrupt(name))
                }
                fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
                    query.bind(i64::from(*self))
                }
            }
        )+
    };
}

narrow_integer_columns!(i32, u32, u16, u8);

impl Column for bool {
    /// A flag is stored as 0/1: the `Any` driver cannot decode SQLite booleans.
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        Ok(required(cells.int(at)?, name)? != 0)
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(i64::from(*self))
    }
}

impl Column for NaiveDate {
    /// A civil date is stored as `YYYY-MM-DD` text.
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        qiancheng_domain::parse_date(&required(cells.text(at)?, name)?).map_err(|_| Error::corrupt(name))
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(self.to_string())
    }
}

impl Column for OccupationCode {
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        OccupationCode::parse(&required(cells.text(at)?, name)?).map_err(|_| Error::corrupt(name))
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(self.as_str().to_owned())
    }
}

impl Column for qiancheng_domain::Money {
    /// Money is stored as a count of fen.
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        Ok(qiancheng_domain::Money::from_fen(required(cells.int(at)?, name)?))
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(self.fen())
    }
}

impl Column for rust_decimal::Decimal {
    /// A decimal (a score) is stored as its text, so that it reads back exactly.
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        required(cells.text(at)?, name)?.parse().map_err(|_| Error::corrupt(name))
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(self.to_string())
    }
}

/// A value that may be absent, stored as the empty text or `NULL` (read) and the empty text
/// (written) for a text column, or `NULL` for an integer one.
pub trait Absent: Column {
    /// Whether the stored form of "none" is the empty text (`true`) or `NULL`.
    const AS_EMPTY_TEXT: bool;
}

impl<T: Absent> Column for Option<T> {
    fn read<C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<Self, Error> {
        if T::AS_EMPTY_TEXT {
            match cells.text(at)? {
                None => Ok(None),
                Some(text) if text.is_empty() => Ok(None),
                Some(_) => T::read(cells, at, name).map(Some),
            }
        } else {
            match cells.int(at)? {
                None => Ok(None),
                Some(_) => T::read(cells, at, name).map(Some),
            }
        }
    }
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        match self {
            Some(value) => value.bind(query),
            None if T::AS_EMPTY_TEXT => query.bind(String::new()),
            None => query.bind(None::<i64>),
        }
    }
}

impl Absent for NaiveDate {
    const AS_EMPTY_TEXT: bool = true;
}
impl Absent for OccupationCode {
    const AS_EMPTY_TEXT: bool = true;
}
impl Absent for rust_decimal::Decimal {
    const AS_EMPTY_TEXT: bool = true;
}
impl Absent for i64 {
    const AS_EMPTY_TEXT: bool = false;
}
impl Absent for bool {
    const AS_EMPTY_TEXT: bool = false;
}

/// Stores each coded domain enum by its stable code ([`Code`]): `Column` for the type and, with
/// the empty text for none, for its `Option`. A service lists its own coded enums the same way.
#[macro_export]
macro_rules! code_columns {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl $crate::record::Column for $ty {
                fn read<C: $crate::record::Cells + ?Sized>(
                    cells: &C,
                    at: usize,
                    name: &'static str,
                ) -> Result<Self, $crate::Error> {
                    $crate::record::read_code(cells, at, name)
                }
                fn bind<'q>(&self, query: $crate::record::AnyQuery<'q>) -> $crate::record::AnyQuery<'q> {
                    query.bind(<$ty as $crate::__domain::Code>::code_of(*self))
                }
            }
            impl $crate::record::Absent for $ty {
                const AS_EMPTY_TEXT: bool = true;
            }
        )+
    };
}

/// Declares an enum of a service's own that is stored by stable codes, once: the enum, its
/// `ALL` and `code()`, [`Code`] and its column ([`code_columns!`]).
///
/// ```text
/// qiancheng_platform::stored_enum! {
///     /// Whether a session teaches theory or practice.
///     pub enum SessionKind { /// Theory. Theory => "THEORY", /// Practice. Practice => "PRACTICE" }
/// }
/// ```
#[macro_export]
macro_rules! stored_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$doc:meta])* $value:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$doc])* $value),+
        }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$value),+];
            /// The stored code.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$value => $code),+
                }
            }
        }
        impl $crate::__domain::Code for $name {
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn code_of(self) -> &'static str {
                self.code()
            }
        }
        $crate::code_columns!($name);
    };
}

/// Reads a coded enum by its stable code; another text is corrupt.
pub fn read_code<T: Code, C: Cells + ?Sized>(cells: &C, at: usize, name: &'static str) -> Result<T, Error> {
    T::from_code(&required(cells.text(at)?, name)?).ok_or_else(|| Error::corrupt(name))
}

code_columns!(
    qiancheng_domain::RegionCode,
    qiancheng_domain::SkillLevel,
    qiancheng_domain::TargetGroup,
    qiancheng_domain::Industry,
    qiancheng_domain::policy::facts::LocalBasisKind,
    qiancheng_domain::policy::project::TrainingMode,
    qiancheng_domain::policy::project::ProjectBasis,
    qiancheng_domain::policy::provider::ProviderKind,
    qiancheng_domain::policy::provider::Misconduct,
    qiancheng_domain::policy::selection::SelectionMethod,
    qiancheng_domain::policy::QuotaMode,
    qiancheng_domain::lifecycle::VacancyState,
    qiancheng_domain::lifecycle::CatalogItemState,
    qiancheng_domain::lifecycle::RoundState,
    qiancheng_domain::lifecycle::ApplicationState,
    qiancheng_domain::lifecycle::ClassState,
    qiancheng_domain::lifecycle::TraineeState,
    qiancheng_domain::lifecycle::RosterChangeState,
    qiancheng_domain::policy::class::FindingSeverity,
    qiancheng_domain::policy::class::FindingKind,
    qiancheng_domain::policy::class::InspectionOutcome,
    qiancheng_domain::policy::integrity::Severity,
);

/// Reads a document stored as JSON text (`#[column(json)]`); the empty text and `NULL` read as
/// the type's default, for columns added after rows existed (nullable ones too).
pub fn read_json<T, C>(cells: &C, at: usize, name: &'static str) -> Result<T, Error>
where
    T: serde::de::DeserializeOwned + Default,
    C: Cells + ?Sized,
{
    match cells.text(at)? {
        None => Ok(T::default()),
        Some(text) if text.is_empty() => Ok(T::default()),
        Some(text) => serde_json::from_str(&text).map_err(|_| Error::corrupt(name)),
    }
}

/// Binds a document as JSON text (`#[column(json)]`).
pub fn bind_json<'q, T: serde::Serialize>(value: &T, query: AnyQuery<'q>) -> AnyQuery<'q> {
    // Serializing the suite's own plain data types cannot fail (no maps with non-string keys).
    query.bind(serde_json::to_string(value).unwrap_or_default())
}

/// One column of a record, as the derive describes it.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// The column's name (or, for a computed one, the name it is read as).
    pub name: &'static str,
    /// The SQL it is read from when it is not a column of the record's table (`e.display_name`,
    /// a count); such a column is read, never written.
    pub computed: Option<&'static str>,
    /// Written by an insert.
    pub insert: bool,
    /// Written by an update.
    pub update: bool,
    /// Read.
    pub read: bool,
}

impl ColumnDef {
    /// A stored column, read, inserted and updated.
    pub const fn stored(name: &'static str) -> Self {
        Self { name, computed: None, insert: true, update: true, read: true }
    }
}

/// A group of columns: a record, or part of one flattened into it (`#[column(flatten)]`).
pub trait Columns: Sized {
    /// Appends the group's columns, in field order.
    fn describe(out: &mut Vec<ColumnDef>);
    /// Reads the group from position `*at` on, moving `at` past it.
    fn read_from<C: Cells + ?Sized>(cells: &C, at: &mut usize) -> Result<Self, Error>;
    /// Binds the values an insert writes, in order.
    fn bind_insert<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q>;
    /// Binds the values an update writes, in order.
    fn bind_update<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

impl Columns for Stamp {
    fn describe(out: &mut Vec<ColumnDef>) {
        out.push(ColumnDef::stored("revision"));
        out.push(ColumnDef { update: false, ..ColumnDef::stored("create_time_micros") });
        out.push(ColumnDef::stored("update_time_micros"));
    }
    fn read_from<C: Cells + ?Sized>(cells: &C, at: &mut usize) -> Result<Self, Error> {
        let stamp = Stamp {
            revision: i64::read(cells, *at, "revision")?,
            create_time_micros: i64::read(cells, *at + 1, "create_time_micros")?,
            update_time_micros: i64::read(cells, *at + 2, "update_time_micros")?,
        };
        *at += 3;
        Ok(stamp)
    }
    fn bind_insert<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(self.revision).bind(self.create_time_micros).bind(self.update_time_micros)
    }
    fn bind_update<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query.bind(self.revision).bind(self.update_time_micros)
    }
}

/// The SQL of a record, made once from its description.
#[derive(Debug)]
pub struct RecordSql {
    /// `v.id AS id, e.display_name AS enterprise_name, …`: what a read selects.
    pub select_list: String,
    /// The names a read's columns are selected as, in order.
    pub read_names: Vec<&'static str>,
    /// `SELECT … FROM … WHERE key = $1`: a read by key.
    pub find: String,
    /// `INSERT INTO t (…) VALUES (…)` for one record.
    pub insert: String,
    /// The columns an insert writes, comma separated.
    pub insert_columns: String,
    /// How many values an insert binds.
    pub insert_count: usize,
    /// `UPDATE t SET … WHERE key = $n` (and `AND revision = $n+1` for a stamped record).
    pub update: String,
    /// `DELETE FROM t WHERE key = $1` (and `AND revision = $2` for a stamped record).
    pub delete: String,
}

impl RecordSql {
    /// The SQL of a record of `table` (read through `from`, its rows named `alias`), keyed by
    /// `key`, with the columns `columns`; `stamped` records update optimistically.
    pub fn new(table: &str, (alias, from): (&str, &str), key: &str, stamped: bool, columns: &[ColumnDef]) -> Self {
        let read: Vec<&ColumnDef> = columns.iter().filter(|c| c.read).collect();
        let select_list = read
            .iter()
            .map(|c| match c.computed {
                Some(sql) => format!("{sql} AS {}", c.name),
                None => format!("{alias}.{} AS {}", c.name, c.name),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let inserted: Vec<&str> = columns.iter().filter(|c| c.insert && c.computed.is_none()).map(|c| c.name).collect();
        let insert_columns = inserted.join(", ");
        let insert =
            format!("INSERT INTO {table} ({insert_columns}) VALUES ({})", crate::db::placeholders(1, inserted.len()));
        let updated: Vec<&str> = columns.iter().filter(|c| c.update && c.computed.is_none()).map(|c| c.name).collect();
        let mut update = format!("UPDATE {table} SET ");
        for (n, name) in updated.iter().enumerate() {
            if n > 0 {
                update.push_str(", ");
            }
            update.push_str(&format!("{name} = ${}", n + 1));
        }
        update.push_str(&format!(" WHERE {key} = ${}", updated.len() + 1));
        if stamped {
            update.push_str(&format!(" AND revision = ${}", updated.len() + 2));
        }
        let delete = format!("DELETE FROM {table} WHERE {key} = $1{}", if stamped { " AND revision = $2" } else { "" });
        Self {
            find: format!("SELECT {select_list} FROM {from} WHERE {alias}.{key} = $1"),
            select_list,
            read_names: read.iter().map(|c| c.name).collect(),
            insert_count: inserted.len(),
            insert,
            insert_columns,
            update,
            delete,
        }
    }
}

/// A stored record: its table and key, with the SQL made from its columns.
pub trait Record: Columns + Send + Unpin + 'static {
    /// The table.
    const TABLE: &'static str;
    /// What its rows are called in a read (`v`); the table's name unless the record says.
    const ALIAS: &'static str;
    /// What a read selects from (`vacancy v JOIN enterprise e ON …`).
    const FROM: &'static str;
    /// The key column: reads find by it, updates change by it, pages are ordered by it.
    const KEY: &'static str;
    /// Whether the key is an integer (a sequence) rather than text (an id).
    const INTEGER_KEY: bool;
    /// What the record is called in messages (`the vacancy`).
    const WHAT: &'static str;

    /// The record's SQL, made once.
    fn sql() -> &'static RecordSql;
    /// The key's value.
    fn key(&self) -> Bind;
    /// The revision and times, for a record updated optimistically.
    fn stamp(&self) -> Option<&Stamp>;
}

/// The SQL of `R`, made from its description at the first use (the derive's `Record::sql`).
pub fn make_sql<R: Record>(cell: &'static OnceLock<RecordSql>, stamped: bool) -> &'static RecordSql {
    cell.get_or_init(|| {
        let mut columns = Vec::new();
        R::describe(&mut columns);
        RecordSql::new(R::TABLE, (R::ALIAS, R::FROM), R::KEY, stamped, &columns)
    })
}

/// Decodes one row of `R`'s columns.
pub fn decode<R: Record, C: Cells + ?Sized>(cells: &C) -> Result<R, Error> {
    let mut at = 0;
    R::read_from(cells, &mut at)
}

/// The conditions of a read: `column = value` and the like, each value bound as a parameter
/// (`?` in a condition stands for the next one), joined with `AND`. Conditions name columns as
/// the record's read does (`v.state`).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    conditions: Vec<String>,
    binds: Vec<Bind>,
}

impl Filter {
    /// No condition: every row.
    pub fn new() -> Self {
        Self::default()
    }

    /// `condition`, whose `?` take `values` in order.
    pub fn and(mut self, condition: &str, values: impl IntoIterator<Item = Bind>) -> Self {
        self.conditions.push(condition.to_owned());
        self.binds.extend(values);
        self
    }

    /// `column = value`.
    pub fn eq(self, column: &str, value: impl Into<Bind>) -> Self {
        self.and(&format!("{column} = ?"), [value.into()])
    }

    /// `column = value` when a value is given; nothing for `None` or the empty text (a list
    /// filter the caller left out).
    pub fn eq_given(self, column: &str, value: Option<impl Into<Bind>>) -> Self {
        match value.map(Into::into) {
            Some(Bind::Text(text)) if text.is_empty() => self,
            Some(value) => self.and(&format!("{column} = ?"), [value]),
            None => self,
        }
    }

    /// `column IN (…)` over `values`; no value matches nothing.
    pub fn among(self, column: &str, values: impl IntoIterator<Item = impl Into<Bind>>) -> Self {
        let values: Vec<Bind> = values.into_iter().map(Into::into).collect();
        if values.is_empty() {
            return self.and("1 = 0", []);
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.and(&format!("{column} IN ({marks})"), values)
    }

    /// Rows inside `scope`: all of them, one county's (`region_column`), or one organisation's
    /// (`org_column`; a record with none, or a scope with no organisation, matches nothing).
    /// The one place the rule of reach ([`crate::auth::Scope`]) becomes SQL.
    pub fn within(self, scope: &crate::auth::Scope, region_column: &str, org_column: Option<&str>) -> Self {
        use crate::auth::Scope;
        match (scope, org_column) {
            (Scope::All, _) => self,
            (Scope::Region(region), _) => self.eq(region_column, region.code()),
            (Scope::Org(org), Some(column)) if !org.is_empty() => self.eq(column, org.as_str()),
            (Scope::Org(_), _) => self.and("1 = 0", []),
        }
    }

    /// The `WHERE` clause (empty for none), numbering parameters from `$first`.
    fn render(&self, first: usize) -> String {
        let mut sql = String::new();
        let mut next = first;
        for (n, condition) in self.conditions.iter().enumerate() {
            sql.push_str(if n == 0 { " WHERE " } else { " AND " });
            for c in condition.chars() {
                if c == '?' {
                    sql.push('$');
                    sql.push_str(&next.to_string());
                    next += 1;
                } else {
                    sql.push(c);
                }
            }
        }
        sql
    }

    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        self.binds.iter().fold(query, |q, b| b.bind(q))
    }
}

fn key_column<R: Record>() -> String {
    format!("{}.{}", R::ALIAS, R::KEY)
}

/// The record of `R` whose key is `key`, read on a connection kept for reads ([`Db::rows`]):
/// [`find`] outside a transaction.
pub async fn get<R: Record>(db: &Db, key: impl Into<Bind>) -> Result<Option<R>, Error> {
    let rows = db.rows(&R::sql().find, &[key.into()], |row| decode::<R, _>(row)).await?;
    rows.into_iter().next().transpose()
}

/// The record of `R` whose key is `key`.
pub async fn find<'c, R: Record>(executor: impl Reader<'c>, key: impl Into<Bind>) -> Result<Option<R>, Error> {
    let query = key.into().bind(sqlx::query(sqlx::AssertSqlSafe(R::sql().find.as_str())));
    let row = query.fetch_optional(executor).await?;
    row.as_ref().map(|row| decode::<R, _>(row)).transpose()
}

/// The first record of `R` that `filter` admits, in key order.
pub async fn first<'c, R: Record>(executor: impl Reader<'c>, filter: Filter) -> Result<Option<R>, Error> {
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT 1",
        R::sql().select_list,
        R::FROM,
        filter.render(1),
        key_column::<R>()
    );
    let row = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_optional(executor).await?;
    row.as_ref().map(|row| decode::<R, _>(row)).transpose()
}

/// Every record of `R` that `filter` admits, ordered by `order_by` (SQL, `v.id` when empty).
/// These are whole sets a rule reads (a roster, a class's sessions): a row that does not decode
/// fails the read.
pub async fn all<'c, R: Record>(executor: impl Reader<'c>, filter: Filter, order_by: &str) -> Result<Vec<R>, Error> {
    let order = if order_by.is_empty() { key_column::<R>() } else { order_by.to_owned() };
    let sql = format!("SELECT {} FROM {}{} ORDER BY {order}", R::sql().select_list, R::FROM, filter.render(1));
    let rows = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_all(executor).await?;
    rows.iter().map(|row| decode::<R, _>(row)).collect()
}

/// Every record of `R` that `filter` admits, ordered by `order_by` (SQL, the key when empty), to
/// be shown to a caller (candidates to rank, a board): as in [`page`], a row that does not decode
/// is logged and left out, so one corrupt row never takes the answer down.
pub async fn list<'c, R: Record>(executor: impl Reader<'c>, filter: Filter, order_by: &str) -> Result<Vec<R>, Error> {
    let order = if order_by.is_empty() { key_column::<R>() } else { order_by.to_owned() };
    let sql = format!("SELECT {} FROM {}{} ORDER BY {order}", R::sql().select_list, R::FROM, filter.render(1));
    let rows = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_all(executor).await?;
    Ok(crate::db::decode_rows(&rows, |row| decode::<R, _>(row)).0)
}

/// At most `limit` records of `R` that `filter` admits, ordered by `order_by` (SQL): a page of
/// a list whose order is not its key's. As in [`page`], a row that does not decode is logged and
/// left out.
pub async fn take<'c, R: Record>(
    executor: impl Reader<'c>,
    filter: Filter,
    order_by: &str,
    limit: i64,
) -> Result<Vec<R>, Error> {
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {order_by} LIMIT {limit}",
        R::sql().select_list,
        R::FROM,
        filter.render(1)
    );
    let rows = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_all(executor).await?;
    Ok(crate::db::decode_rows(&rows, |row| decode::<R, _>(row)).0)
}

/// The rows of a query of its own (a sum, a grouping), each decoded by position as a group of
/// columns `T` (`#[derive(Columns)]`, its fields in the order the query selects them).
pub async fn select<'c, T: Columns>(executor: impl Reader<'c>, sql: &'static str) -> Result<Vec<T>, Error> {
    let rows = sqlx::query(sql).fetch_all(executor).await?;
    rows.iter().map(read_group).collect()
}

/// The rows of a query of its own with conditions, `SELECT {select} FROM {from} WHERE … {tail}`
/// (`tail` a grouping or an order), the values of `filter` bound as parameters; each row decoded
/// by position as a group of columns `T`, as in [`select`].
pub async fn select_where<'c, T: Columns>(
    executor: impl Reader<'c>,
    (select, from): (&str, &str),
    filter: Filter,
    tail: &str,
) -> Result<Vec<T>, Error> {
    let sql = format!("SELECT {select} FROM {from}{} {tail}", filter.render(1));
    let rows = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_all(executor).await?;
    rows.iter().map(read_group).collect()
}

fn read_group<T: Columns>(row: &sqlx::any::AnyRow) -> Result<T, Error> {
    let mut at = 0;
    T::read_from(row, &mut at)
}

/// How many records of `R` `filter` admits.
pub async fn count<'c, R: Record>(executor: impl Reader<'c>, filter: Filter) -> Result<i64, Error> {
    let sql = format!("SELECT COUNT(*) FROM {}{}", R::FROM, filter.render(1));
    let row = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_one(executor).await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// A page of records of `R` that `filter` admits, in key order after the page token, with the
/// token of the next page, read on a connection kept for reads ([`Db::rows`]). A record that
/// does not decode is logged and left out, and the token still moves past it.
pub async fn page<R: Record>(db: &Db, filter: Filter, page: &PageRequest) -> Result<(Vec<R>, String), Error> {
    let filter = if page.after.is_empty() {
        filter
    } else {
        filter.and(&format!("{} > ?", key_column::<R>()), [after_key::<R>(&page.after)?])
    };
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT {}",
        R::sql().select_list,
        R::FROM,
        filter.render(1),
        key_column::<R>(),
        page.fetch_limit()
    );
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    // Each of the page's rows decoded (or, if it does not decode, its key read alone so that the
    // token moves past it); the row fetched past the page only says there is more.
    let mut seen = 0usize;
    let rows = db
        .rows(&sql, &filter.binds, |row| {
            seen += 1;
            (seen <= size).then(|| {
                decode::<R, _>(row).map_err(|error| {
                    tracing::error!(%error, table = R::TABLE, "a stored row does not decode; it is left out of the list");
                    key_of_row::<R, _>(row)
                })
            })
        })
        .await?;
    let more = rows.len() > size;
    let mut records = Vec::with_capacity(rows.len().min(size));
    let mut last_key = None;
    for row in rows.into_iter().flatten() {
        match row {
            Ok(record) => {
                last_key = Some(record.key());
                records.push(record);
            }
            Err(key) => last_key = key.or(last_key),
        }
    }
    let next = match (more, last_key) {
        (true, Some(Bind::Text(key))) => page.token(&key),
        (true, Some(Bind::Int(key))) => page.token(&key.to_string()),
        _ => String::new(),
    };
    Ok((records, next))
}

/// The key of an undecodable page row, read alone.
fn key_of_row<R: Record, C: Cells + ?Sized>(row: &C) -> Option<Bind> {
    let at = R::sql().read_names.iter().position(|n| *n == R::KEY)?;
    if R::INTEGER_KEY {
        row.int(at).ok().flatten().map(Bind::Int)
    } else {
        row.text(at).ok().flatten().map(|key| Bind::Text(key.into_owned()))
    }
}

/// The key a page token carries, as the record's key is stored.
fn after_key<R: Record>(after: &str) -> Result<Bind, Error> {
    if R::INTEGER_KEY {
        after
            .parse()
            .map(Bind::Int)
            .map_err(|_| Error::invalid("page_token", "PAGE", "page_token was not issued by this list"))
    } else {
        Ok(Bind::Text(after.to_owned()))
    }
}

/// Stores a new record.
pub async fn insert<R: Record>(tx: &mut Tx, record: &R) -> Result<(), Error> {
    let query = record.bind_insert(sqlx::query(sqlx::AssertSqlSafe(R::sql().insert.as_str())));
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Stores new records with multi-row inserts: bulk writes in few round trips.
pub async fn insert_many<R: Record>(tx: &mut Tx, records: &[R]) -> Result<(), Error> {
    let sql = R::sql();
    crate::db::insert_many(tx, R::TABLE, &sql.insert_columns, sql.insert_count, records, |query, record| {
        record.bind_insert(query)
    })
    .await
}

/// Stores a changed record. A stamped record is written only if nobody changed it since it was
/// read (`WHERE revision = …`, else `ABORTED CONCURRENT_CHANGE`); call `stamp.touch()` first.
pub async fn update<R: Record>(tx: &mut Tx, record: &R) -> Result<(), Error> {
    let query = record.bind_update(sqlx::query(sqlx::AssertSqlSafe(R::sql().update.as_str())));
    let query = record.key().bind(query);
    let query = match record.stamp() {
        Some(stamp) => query.bind(stamp.previous_revision()),
        None => query,
    };
    let result = query.execute(&mut **tx).await?;
    crate::db::changed_one(result, R::WHAT)
}

/// Removes a record as it was read: a stamped record only if nobody changed it since (`ABORTED
/// CONCURRENT_CHANGE`), so that a change made meanwhile is never lost with it.
pub async fn delete<R: Record>(tx: &mut Tx, record: &R) -> Result<(), Error> {
    let query = record.key().bind(sqlx::query(sqlx::AssertSqlSafe(R::sql().delete.as_str())));
    let query = match record.stamp() {
        Some(stamp) => query.bind(stamp.revision),
        None => query,
    };
    let result = query.execute(&mut **tx).await?;
    crate::db::changed_one(result, R::WHAT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_number_their_parameters_in_order() {
        let filter =
            Filter::new().eq("v.state", "DRAFT").eq_given("v.region_code", Some("")).and("v.id > ?", [Bind::from("x")]);
        assert_eq!(filter.render(1), " WHERE v.state = $1 AND v.id > $2");
        assert_eq!(Filter::new().render(1), "");
    }

    #[test]
    fn scopes_render_their_own_conditions() {
        use crate::auth::Scope;
        let county = qiancheng_domain::RegionCode::Jiayu;
        let all = Filter::new().within(&Scope::All, "v.region_code", Some("v.org"));
        assert_eq!(all.render(1), "");
        let region = Filter::new().within(&Scope::Region(county), "v.region_code", Some("v.org"));
        assert_eq!(
            (region.render(1).as_str(), region.binds.as_slice()),
            (" WHERE v.region_code = $1", &[Bind::from("421221")][..])
        );
        let none = Filter::new().within(&Scope::Org(String::new()), "v.region_code", Some("v.org"));
        assert_eq!(none.render(1), " WHERE 1 = 0");
        let no_org_column = Filter::new().within(&Scope::Org("A".into()), "v.region_code", None);
        assert_eq!(no_org_column.render(1), " WHERE 1 = 0");
    }

    #[test]
    fn the_sql_of_a_record_is_made_from_its_columns() {
        let columns = [
            ColumnDef { update: false, ..ColumnDef::stored("id") },
            ColumnDef::stored("title"),
            ColumnDef { computed: Some("e.display_name"), insert: false, update: false, ..ColumnDef::stored("owner") },
            ColumnDef { update: false, ..ColumnDef::stored("filed_by") },
            ColumnDef::stored("revision"),
            ColumnDef { update: false, ..ColumnDef::stored("create_time_micros") },
            ColumnDef::stored("update_time_micros"),
        ];
        let sql = RecordSql::new("thing", ("t", "thing t"), "id", true, &columns);
        assert_eq!(sql.find, format!("SELECT {} FROM thing t WHERE t.id = $1", sql.select_list));
        assert_eq!(
            sql.select_list,
            "t.id AS id, t.title AS title, e.display_name AS owner, t.filed_by AS filed_by, t.revision AS revision, \
             t.create_time_micros AS create_time_micros, t.update_time_micros AS update_time_micros"
        );
        assert_eq!(
            sql.insert,
            "INSERT INTO thing (id, title, filed_by, revision, create_time_micros, update_time_micros) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        );
        assert_eq!(
            sql.update,
            "UPDATE thing SET title = $1, revision = $2, update_time_micros = $3 WHERE id = $4 AND revision = $5"
        );
        assert_eq!(sql.delete, "DELETE FROM thing WHERE id = $1 AND revision = $2");
    }

    #[test]
    fn sqlite_rows_read_as_sqlx_rows_do() {
        let sqlite = rusqlite::Connection::open_in_memory().expect("open");
        let sql = "SELECT 'a', 7, NULL, '2026-03-01', '', '12', '29.5', 1.5, x'00', '421221', 'x'";
        let mut statement = sqlite.prepare(sql).expect("prepare");
        let mut rows = statement.query([]).expect("query");
        let row = rows.next().expect("step").expect("a row");
        assert_eq!(String::read(row, 0, "id").expect("text"), "a");
        assert_eq!(u32::read(row, 1, "n").expect("int"), 7);
        assert_eq!(String::read(row, 1, "n").expect("an integer reads as text"), "7");
        assert_eq!(Option::<i64>::read(row, 2, "none").expect("null"), None);
        assert_eq!(NaiveDate::read(row, 3, "day").expect("date"), NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"));
        assert_eq!(Option::<NaiveDate>::read(row, 4, "none").expect("empty"), None);
        assert_eq!(i64::read(row, 5, "n").expect("an integer stored as text"), 12);
        let points = rust_decimal::Decimal::new(295, 1);
        assert_eq!(Option::<rust_decimal::Decimal>::read(row, 6, "score").expect("text"), Some(points));
        assert_eq!(Option::<rust_decimal::Decimal>::read(row, 4, "score").expect("empty"), None);
        let nothing: Option<Vec<String>> = read_json(row, 2, "null").expect("a NULL document");
        assert_eq!(nothing, None, "a NULL document reads as its default");
        assert_eq!(
            qiancheng_domain::RegionCode::read(row, 9, "region").expect("county"),
            qiancheng_domain::RegionCode::Jiayu
        );
        assert!(matches!(i64::read(row, 7, "n"), Err(Error::Corrupt(_))), "a real is no integer");
        assert!(matches!(String::read(row, 8, "t"), Err(Error::Corrupt(_))), "a blob is no text");
        assert!(matches!(i64::read(row, 10, "n"), Err(Error::Corrupt(_))));
        assert!(matches!(NaiveDate::read(row, 0, "day"), Err(Error::Corrupt(_))));
        assert!(matches!(qiancheng_domain::RegionCode::read(row, 0, "region"), Err(Error::Corrupt(_))));
        assert!(matches!(String::read(row, 11, "past the end"), Err(Error::Database(_))));
    }
}
