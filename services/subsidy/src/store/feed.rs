//! Where the service stands in a feed it follows (outcome's rate changes).

use qiancheng_platform::record::Record;

/// Where a follower of a feed stands.
#[derive(Debug, Clone, Record)]
#[record(table = "feed_cursor", key = "id", what = "the feed cursor")]
pub struct FeedCursorRecord {
    /// The feed's name.
    pub id: String,
    /// The last position read.
    pub position: i64,
    /// When it moved.
    pub update_time_micros: i64,
}
