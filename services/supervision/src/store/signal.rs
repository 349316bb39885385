//! Integrity signals as stored (docs/integrity.md): one row per code, class and subject (a
//! session and device, a phone, an inspection), its evidence and parameters as JSON, and where
//! it stands. `signal_key` is the identity a later event finds it by; `severity_rank` orders a
//! county's list.

use std::collections::BTreeMap;

use qiancheng_api::convert::Shown;
use qiancheng_domain::RegionCode;
use qiancheng_platform::db::Tx;
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::{Error, Stamp};

use qiancheng_domain::policy::integrity::{Evidence, Severity};

qiancheng_platform::stored_enum! {
    /// Where a signal stands (SIGNAL-STATE).
    pub enum SignalState {
        /// Raised, not yet looked at.
        Open => "OPEN",
        /// Found innocent, with a reason.
        Dismissed => "DISMISSED",
        /// An inspection was asked for; the next one recorded for the class confirms it.
        InspectionDue => "INSPECTION_DUE",
        /// Confirmed by an inspection.
        Confirmed => "CONFIRMED",
    }
}

qiancheng_api::proto_enum!(local SignalState => qiancheng_api::supervision::SignalState, "SIGNAL_STATE_", "ENUM",
    "a signal state");

/// A signal as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "integrity_signal", alias = "g", what = "the signal")]
#[shown(message = "qiancheng_api::supervision::Signal")]
pub struct SignalRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// Code, class and subject: what a later event finds the signal by.
    #[column(fixed, hidden)]
    pub signal_key: String,
    /// The signal code.
    #[column(fixed)]
    pub code: String,
    /// The class it concerns.
    #[column(fixed, hidden)]
    pub class_id: String,
    /// The class's county: scopes officers.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The class's provider.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// How much attention it asks for.
    pub severity: Severity,
    /// The severity's rank, for ordering.
    #[column(hidden)]
    pub severity_rank: i64,
    /// What was observed, in words.
    pub explanation: String,
    /// The records it rests on.
    #[column(json, hidden)]
    pub evidence: Vec<Evidence>,
    /// The parameters it was computed with.
    #[column(json, hidden)]
    pub parameters: BTreeMap<String, i64>,
    /// Where it stands.
    pub state: SignalState,
    /// The dismissal's reason or the confirmation's note.
    pub state_note: String,
    /// Who decided it.
    pub decided_by: String,
    /// The inspection that confirmed it (resource name).
    pub inspection: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl SignalRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("signals/{}", self.id)
    }
}

/// The signal of `key`, if any.
pub async fn by_key(tx: &mut Tx, key: &str) -> Result<Option<SignalRecord>, Error> {
    record::first::<SignalRecord>(&mut **tx, Filter::new().eq("g.signal_key", key)).await
}

/// Every signal of a class, highest severity first.
pub async fn of_class(tx: &mut Tx, class_id: &str) -> Result<Vec<SignalRecord>, Error> {
    record::all::<SignalRecord>(&mut **tx, Filter::new().eq("g.class_id", class_id), "g.severity_rank DESC, g.id").await
}

/// The signals of a class waiting for an inspection.
pub async fn due_for_inspection(tx: &mut Tx, class_id: &str) -> Result<Vec<SignalRecord>, Error> {
    record::all::<SignalRecord>(
        &mut **tx,
        Filter::new().eq("g.class_id", class_id).eq("g.state", SignalState::InspectionDue.code()),
        "g.id",
    )
    .await
}

/// The sort key of a signal in a list (highest severity first, then newest) as a page token
/// carries it.
pub fn list_key(record: &SignalRecord) -> String {
    format!("{}/{}", record.severity_rank, record.id)
}

/// At most `limit` signals `filter` admits after the list key `after` (empty for the first
/// page), highest severity first, then newest.
pub async fn list(pool: &sqlx::AnyPool, filter: Filter, after: &str, limit: i64) -> Result<Vec<SignalRecord>, Error> {
    let filter = match after.split_once('/') {
        None => filter,
        Some((rank, id)) => {
            let rank: i64 = rank
                .parse()
                .map_err(|_| Error::invalid("page_token", "PAGE", "page_token was not issued by this list"))?;
            filter.and(
                "(g.severity_rank < ? OR (g.severity_rank = ? AND g.id < ?))",
                [rank.into(), rank.into(), id.to_owned().into()],
            )
        }
    };
    record::take::<SignalRecord>(pool, filter, "g.severity_rank DESC, g.id DESC", limit).await
}
