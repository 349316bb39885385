//! The minimum-wage table as stored.

use chrono::NaiveDate;
use qiancheng_platform::record::Record;

/// One entry: a region's monthly minimum wage from a day; keyed `{region}/{day}`.
#[derive(Debug, Clone, Record)]
#[record(table = "minimum_wage", key = "id", what = "the minimum wage")]
pub struct MinimumWageRecord {
    /// `{region}/{YYYY-MM-DD}`.
    pub id: String,
    /// The six-digit region code.
    pub region_code: String,
    /// First day in force.
    pub effective_date: NaiveDate,
    /// The monthly figure in fen.
    pub monthly_fen: i64,
    /// The table version that added it.
    pub version: i64,
    /// The notice it comes from.
    pub source: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// When.
    pub create_time_micros: i64,
}

/// Where a follower of a feed stands.
#[derive(Debug, Clone, Record)]
#[record(table = "feed_cursor", key = "id", what = "the feed cursor")]
pub struct FeedCursorRecord {
    /// The feed's name.
    pub id: String,
    /// The position, as the feed gave it.
    pub position: String,
    /// When it moved.
    pub update_time_micros: i64,
}
