//! Filings returned to their providers with reasons (退回补正) as stored. A return is open until
//! the provider refiles the class (UpdateClass); while one is open the class is not acknowledged.

use qiancheng_api::convert::Shown;
use qiancheng_api::supervision as proto;
use qiancheng_platform::Error;
use qiancheng_platform::db::{Reader, Tx};
use qiancheng_platform::record::{self, Filter, Record};

/// A return of a filing.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "class_return", alias = "r", what = "the return")]
#[shown(message = "proto::ClassReturn")]
pub struct ClassReturnRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The class.
    #[column(fixed, hidden)]
    pub class_id: String,
    /// Why, one reason a line.
    #[column(json, fixed)]
    pub reasons: Vec<String>,
    /// The officer who returned it.
    #[column(fixed)]
    pub returned_by: String,
    /// When, microseconds since the epoch.
    #[column(fixed)]
    pub return_time_micros: i64,
    /// When the provider refiled it; 0 while it is open.
    pub refile_time_micros: i64,
}

impl ClassReturnRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/returns/{}", self.class_id, self.id)
    }

    /// The return as the API shows it.
    pub fn to_proto(&self) -> proto::ClassReturn {
        proto::ClassReturn { name: self.name(), ..self.shown() }
    }
}

/// The open return of a class, if one is.
pub async fn open_of<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Option<ClassReturnRecord>, Error> {
    record::first(executor, Filter::new().eq("r.class_id", class_id).eq("r.refile_time_micros", 0_i64)).await
}

/// Stores a return.
pub async fn insert(tx: &mut Tx, r: &ClassReturnRecord) -> Result<(), Error> {
    record::insert(tx, r).await
}

/// Stores a return refiled.
pub async fn update(tx: &mut Tx, r: &ClassReturnRecord) -> Result<(), Error> {
    record::update(tx, r).await
}
