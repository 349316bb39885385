//! Experts' assignments (专家分配, PROJ-SELECTION) to applications as stored: whether the
//! expert is recused and why, and the score with the rubric it was given on. Updates and
//! withdrawals are optimistic: an assignment changed by another request since it was read (a
//! score given meanwhile) is refused, never overwritten or removed.

use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One line of a scored rubric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricLine {
    /// The criterion.
    pub criterion: String,
    /// Points given.
    pub points: Decimal,
}

/// An expert's assignment (专家分配) to an application, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "expert_assignment", alias = "e", what = "the assignment")]
pub struct AssignmentRecord {
    /// The application and the expert, as [`AssignmentRecord::id_of`] joins them.
    pub id: String,
    /// The application's id.
    #[column(fixed)]
    pub application_id: String,
    /// The expert's token subject.
    #[column(fixed)]
    pub expert: String,
    /// The expert's organisation (credit code), empty if none.
    #[column(fixed)]
    pub organisation: String,
    /// The round's id.
    #[column(fixed)]
    pub round_id: String,
    /// Whether the expert is recused.
    pub recused: bool,
    /// Why.
    pub recusal_reason: String,
    /// The total score, once scored.
    pub score: Option<Decimal>,
    /// The rubric it was scored on.
    #[column(json)]
    pub rubric: Vec<RubricLine>,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl AssignmentRecord {
    /// The key of the assignment of `expert` to application `application_id`: one per pair.
    pub fn id_of(application_id: &str, expert: &str) -> String {
        format!("{application_id}/{expert}")
    }
}
