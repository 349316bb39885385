//! The change feed (outbox) the outcome and subsidy services follow: ListClassChanges.
//!
//! Every change that matters to a trainee's outcome or subsidy is noted in the feed inside the
//! transaction that makes it ([`crate::store::class_change::note`]), so the feed holds exactly
//! what was committed. Positions follow commit order (writers of the feed take turns until they
//! commit), so a reader that keeps the last position it read misses nothing.

use qiancheng_api::convert::{self, IntoProto as _};
use qiancheng_api::supervision::*;
use qiancheng_platform::auth::{Role, Scope};
use qiancheng_platform::{Call, Error};

use crate::Supervision;
use crate::store::class_change::{self, ClassChangeRecord};

/// Changes a page holds unless the caller asks for fewer.
const DEFAULT_PAGE: i64 = 100;
/// The most changes a page holds.
const MAX_PAGE: i64 = 1_000;

impl From<&ClassChangeRecord> for ClassChange {
    fn from(record: &ClassChangeRecord) -> Self {
        ClassChange {
            position: record.position,
            kind: record.kind.into_proto(),
            class: record.class_name(),
            project: format!("projects/{}", record.project_id),
            trainee: record.trainee_name(),
            region_code: record.region.code().to_owned(),
            occurred_on: Some(convert::date_to_proto(record.occurred_on)),
            change_time_micros: record.create_time_micros,
        }
    }
}

/// ListClassChanges: the changes after `after` the caller may read, in feed order.
pub async fn list_class_changes(
    s: &Supervision,
    call: Call<ListClassChangesRequest>,
) -> Result<ListClassChangesResponse, Error> {
    let scope = Scope::of(&call.principal, &[Role::Service, Role::CityAdmin, Role::Auditor], None)
        .ok_or_else(|| Error::denied("the change feed is for services, officers, the city and auditors"))?;
    let m = &call.message;
    let limit = if m.page_size == 0 { DEFAULT_PAGE } else { i64::from(m.page_size).clamp(1, MAX_PAGE) };
    let pool = s.db.pool();
    // The end is read first: a change committed after it waits for the next read, so that
    // `next_after` never passes a change the caller has not been shown.
    let last = class_change::last_position(pool).await?;
    let changes = class_change::between(pool, &scope, m.after, last, limit).await?;
    let full = i64::try_from(changes.len()).unwrap_or(i64::MAX) >= limit;
    let next_after = match (full, changes.last()) {
        (true, Some(change)) => change.position,
        _ => last.max(m.after),
    };
    Ok(ListClassChangesResponse {
        changes: changes.iter().map(ClassChange::from).collect(),
        next_after,
        more: full && next_after < last,
    })
}
