//! The eligibility decisions of a roster change that adds a trainee (ELIG-*, CLASS-HEADCOUNT):
//! the one made when it was proposed and, once an officer approved it, the one made then, side
//! by side, so that what changed between the two days stays visible.

use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

use super::StoredDecision;

/// A roster change's decisions, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "roster_change_decision", alias = "d", key = "change_id", what = "the roster change's decisions")]
pub struct ChangeDecisionsRecord {
    /// The roster change.
    pub change_id: String,
    /// Its class.
    #[column(fixed)]
    pub class_id: String,
    /// The decision made when the change was proposed.
    #[column(json)]
    pub at_proposal: Option<StoredDecision>,
    /// The decision made when an officer approved it; none before.
    #[column(json)]
    pub at_approval: Option<StoredDecision>,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}
