//! Who is watched: subsidy follows outcome's rate change feed (`ListRateChanges`, with the
//! service's own SERVICE identity). A claim's rate moves until its payment is released: for each
//! project named in the feed after the stored cursor, its claim is gathered and calculated again
//! ([`crate::claim::follow_rate_change`]), and one whose amount changed goes back through review
//! and a new notice. The cursor moves after the projects it covers are followed, so a round that
//! fails is read again; following a project twice comes out the same.

use std::sync::Arc;
use std::time::Duration;

use qiancheng_platform::record;
use qiancheng_platform::{Error, write};

use crate::Subsidy;
use crate::store::feed::FeedCursorRecord;

/// How often the follower asks for changes.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// The cursor's name.
const FEED: &str = "outcome.rate_changes";

/// Follows outcome's rate changes until the runtime stops: every `interval`, one round of
/// [`follow_once`]. A failed round is logged (without personal data) and tried again next time.
pub async fn run(subsidy: Arc<Subsidy>, interval: Duration) {
    loop {
        if let Err(error) = follow_once(&subsidy).await {
            tracing::info!(error = %error, "the follower of outcome's rate changes waits");
        }
        tokio::time::sleep(interval).await;
    }
}

/// One round: every change after the cursor, its projects' claims followed, then the cursor
/// moved, until the feed has nothing more. Returns the claims that changed.
pub async fn follow_once(subsidy: &Subsidy) -> Result<Vec<String>, Error> {
    let mut changed = Vec::new();
    loop {
        let cursor = record::find::<FeedCursorRecord>(subsidy.db.pool(), FEED).await?;
        let after = cursor.as_ref().map_or(0, |c| c.position);
        let changes = subsidy.ports.outcome.rate_changes(after).await?;
        for project in &changes.projects {
            if let Some(claim) = crate::claim::follow_rate_change(subsidy, project).await? {
                changed.push(claim);
            }
        }
        if changes.next_after != after {
            let mut change = write::Change::open(subsidy, "service:subsidy").await?;
            let record = FeedCursorRecord {
                id: FEED.to_owned(),
                position: changes.next_after,
                update_time_micros: qiancheng_platform::time::now_micros(),
            };
            if cursor.is_some() {
                record::update(&mut change.tx, &record).await?;
            } else {
                record::insert(&mut change.tx, &record).await?;
            }
            change.commit().await?;
        }
        if !changes.more || changes.next_after == after {
            return Ok(changed);
        }
    }
}
