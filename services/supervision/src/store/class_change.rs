//! The change feed (outbox) as stored: one row per change that matters to a trainee's outcome or
//! subsidy, written inside the transaction of the change itself, numbered in commit order.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::{Error, write};

use crate::access::Scope;
use crate::store::class::ClassRecord;

qiancheng_platform::stored_enum! {
    /// What changed.
    pub enum ChangeKind {
        /// The class completed (结业): its trainees were decided.
        ClassCompleted => "CLASS_COMPLETED",
        /// The class stopped (by its provider, an officer or an inspection).
        ClassStopped => "CLASS_STOPPED",
        /// A skill evaluation (certificate) was recorded for a trainee.
        SkillEvaluationRecorded => "SKILL_EVALUATION_RECORDED",
        /// A trainee's attendance of a session was corrected.
        AttendanceCorrected => "ATTENDANCE_CORRECTED",
        /// A trainee withdrew or was terminated.
        TraineeTerminated => "TRAINEE_TERMINATED",
        /// The roster changed (a trainee added or removed).
        RosterChanged => "ROSTER_CHANGED",
    }
}

qiancheng_api::proto_enum!(local ChangeKind => qiancheng_api::supervision::ClassChangeKind, "CLASS_CHANGE_KIND_", "ENUM",
    "a kind of change");

/// One change of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "class_change", alias = "f", key = "position", what = "the change")]
pub struct ClassChangeRecord {
    /// Position in the feed: 1, 2, 3… in commit order.
    pub position: i64,
    /// What changed.
    pub kind: ChangeKind,
    /// The class.
    pub class_id: String,
    /// The project (selection's id).
    pub project_id: String,
    /// The class's county.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// The class's provider.
    pub provider_credit_code: String,
    /// The trainee concerned, when one is (empty for a change of the whole class).
    pub trainee_id: String,
    /// The civil day the change took effect (DATE-TZ).
    pub occurred_on: NaiveDate,
    /// Who made it (a subject, never a person's data).
    pub actor: String,
    /// When it was committed, microseconds since the epoch.
    pub create_time_micros: i64,
}

impl ClassChangeRecord {
    /// The class, `classes/{class}`.
    pub fn class_name(&self) -> String {
        format!("classes/{}", self.class_id)
    }

    /// The trainee, `classes/{class}/trainees/{trainee}`, or the empty text.
    pub fn trainee_name(&self) -> String {
        if self.trainee_id.is_empty() {
            String::new()
        } else {
            format!("classes/{}/trainees/{}", self.class_id, self.trainee_id)
        }
    }
}

/// The key writers of the feed take turns on until they commit, so positions follow commit order.
const FEED_TURN: &str = "class_change/feed";

/// Notes that `kind` happened to `class` (and `trainee`, when one is concerned) on `day`, inside
/// `change`'s transaction. Called last in a change, after every other turn it takes.
pub async fn note(
    change: &mut write::Change,
    kind: ChangeKind,
    class: &ClassRecord,
    trainee: Option<&str>,
    day: NaiveDate,
    actor: &str,
) -> Result<(), Error> {
    change.serialize_on(FEED_TURN).await?;
    let record = ClassChangeRecord {
        position: last_position(&mut *change.tx).await? + 1,
        kind,
        class_id: class.id.clone(),
        project_id: class.project_id.clone(),
        region: class.region,
        provider_credit_code: class.provider_credit_code.clone(),
        trainee_id: trainee.unwrap_or_default().to_owned(),
        occurred_on: day,
        actor: actor.to_owned(),
        create_time_micros: qiancheng_platform::time::now_micros(),
    };
    record::insert(&mut change.tx, &record).await
}

/// At most `limit` changes after position `after` and up to `last` that `scope` admits, in feed
/// order.
pub async fn between<'c>(
    executor: impl qiancheng_platform::db::Reader<'c>,
    scope: &Scope,
    after: i64,
    last: i64,
    limit: i64,
) -> Result<Vec<ClassChangeRecord>, Error> {
    let filter = Filter::new().and("f.position > ?", [after.into()]).and("f.position <= ?", [last.into()]).within(
        scope,
        "f.region_code",
        None,
    );
    record::take(executor, filter, "f.position", limit).await
}

/// The last position of the feed (0 when it is empty).
pub async fn last_position<'c>(executor: impl qiancheng_platform::db::Reader<'c>) -> Result<i64, Error> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM class_change").fetch_one(executor).await?;
    Ok(last.unwrap_or(0))
}
