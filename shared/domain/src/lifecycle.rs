//! The lifecycles (状态) of the suite's resources: each state as a type, with the transitions it
//! allows written once beside it, so that no service compares state strings or decides by hand
//! what may follow what.
//!
//! A state is stored as its code (`DRAFT`) and shown on the wire as the proto enum value of the
//! same name (`VACANCY_STATE_DRAFT`).

use std::fmt;

/// A resource's lifecycle: its states, their stored codes, and the transitions allowed.
pub trait Lifecycle: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// What the states belong to (`vacancy`), for messages.
    const KIND: &'static str;
    /// The stable reason code of a refused transition (`VACANCY_STATE`).
    const REASON: &'static str;
    /// Every state.
    const ALL: &'static [Self];

    /// The stored code (`DRAFT`).
    fn code(self) -> &'static str;

    /// Whether a resource in this state may move to `next`.
    fn allows(self, next: Self) -> bool;

    /// The state a stored code names.
    fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// The state in lower case words, for messages (`draft`).
    fn words(self) -> String {
        self.code().to_lowercase().replace('_', " ")
    }

    /// Moves to `next`, or says why not.
    fn to(self, next: Self) -> Result<Self, Transition> {
        if self.allows(next) {
            Ok(next)
        } else {
            Err(Transition {
                reason: Self::REASON,
                message: format!("{} {} cannot become {}", with_article(&self.words()), Self::KIND, next.words()),
            })
        }
    }

    /// Refuses unless the resource is in one of `states`; `doing` says what was asked
    /// (`be decided; close it first`).
    fn require(self, states: &[Self], doing: &str) -> Result<(), Transition> {
        if states.contains(&self) {
            Ok(())
        } else {
            Err(Transition {
                reason: Self::REASON,
                message: format!("{} {} cannot {doing}", with_article(&self.words()), Self::KIND),
            })
        }
    }
}

/// `draft` → `a draft`, `open` → `an open`.
fn with_article(words: &str) -> String {
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {words}")
}

/// A transition a lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Transition {
    /// Stable reason code (`VACANCY_STATE`).
    pub reason: &'static str,
    /// Why not, for a person to read.
    pub message: String,
}

macro_rules! lifecycle {
    (
        $(#[$meta:meta])*
        $name:ident, kind $kind:literal, reason $reason:literal {
            $($(#[$vmeta:meta])* $state:ident = $code:literal => [$($next:ident),*]),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* $state),+
        }

        impl Lifecycle for $name {
            const KIND: &'static str = $kind;
            const REASON: &'static str = $reason;
            const ALL: &'static [Self] = &[$($name::$state),+];

            fn code(self) -> &'static str {
                match self {
                    $($name::$state => $code),+
                }
            }

            fn allows(self, next: Self) -> bool {
                match self {
                    $($name::$state => [$($name::$next),*].contains(&next)),+
                }
            }
        }
    };
}

lifecycle! {
    /// A vacancy (岗位需求): a draft until published on the demand board, then filled or
    /// withdrawn.
    VacancyState, kind "vacancy", reason "VACANCY_STATE" {
        /// Filed, not yet on the board.
        Draft = "DRAFT" => [Published, Withdrawn],
        /// On the demand board.
        Published = "PUBLISHED" => [Filled, Withdrawn],
        /// Filled: off the board.
        Filled = "FILLED" => [],
        /// Withdrawn: off the board.
        Withdrawn = "WITHDRAWN" => [],
    }
}

lifecycle! {
    /// A catalog item (培训项目目录条目, PROJ-CATALOG): drafted, published, then superseded by a
    /// revision or withdrawn; a published item is never edited in place.
    CatalogItemState, kind "catalog item", reason "CATALOG_ITEM_STATE" {
        /// Being written.
        Draft = "DRAFT" => [Published, Withdrawn],
        /// In the published catalog.
        Published = "PUBLISHED" => [Superseded, Withdrawn],
        /// Replaced by a newer version.
        Superseded = "SUPERSEDED" => [],
        /// Taken out of the catalog.
        Withdrawn = "WITHDRAWN" => [],
    }
}

lifecycle! {
    /// A selection round (遴选批次, PROJ-SELECTION): open for applications, closed for review,
    /// then decided.
    RoundState, kind "round", reason "ROUND_STATE" {
        /// Taking applications.
        Open = "OPEN" => [Closed],
        /// Under review.
        Closed = "CLOSED" => [Decided],
        /// Decided: projects approved.
        Decided = "DECIDED" => [],
    }
}

lifecycle! {
    /// An application (项目申报, PROJ-PLAN): a draft, submitted, perhaps returned for correction
    /// and submitted again, then approved or rejected.
    ApplicationState, kind "application", reason "APPLICATION_STATE" {
        /// Being written by the provider.
        Draft = "DRAFT" => [Submitted, Rejected],
        /// Submitted to the round.
        Submitted = "SUBMITTED" => [Returned, Approved, Rejected],
        /// Returned to the provider for correction.
        Returned = "RETURNED" => [Submitted, Rejected],
        /// Approved: a project.
        Approved = "APPROVED" => [],
        /// Rejected.
        Rejected = "REJECTED" => [],
    }
}

lifecycle! {
    /// A class (班次, CLASS-FILING): filed, acknowledged by the county, then completed (结业) or
    /// stopped, by an inspection (CLASS-INSPECTION) or with a reason.
    ClassState, kind "class", reason "CLASS_STATE" {
        /// Filed (开班备案), waiting for the county's acknowledgement.
        Filed = "FILED" => [Acknowledged, Stopped],
        /// Acknowledged; running.
        Acknowledged = "ACKNOWLEDGED" => [Completed, Stopped],
        /// Completed: every trainee decided.
        Completed = "COMPLETED" => [],
        /// Stopped (终止培训).
        Stopped = "STOPPED" => [],
    }
}

lifecycle! {
    /// A trainee on a real-name roster (ELIG-REALNAME): proposed by a change after the first day
    /// and approved or rejected, on the roster until removed, withdrawn or decided at completion.
    /// A trainee who did not complete may still complete by a later skill evaluation
    /// (CLASS-COMPLETION: the assessment or a skill evaluation).
    TraineeState, kind "trainee", reason "TRAINEE_STATE" {
        /// Proposed by a roster change waiting for an officer; not on the roster.
        Proposed = "PROPOSED" => [Active, Rejected],
        /// On the roster.
        Active = "ACTIVE" => [Removed, Withdrawn, Completed, NotCompleted],
        /// Removed by a roster change.
        Removed = "REMOVED" => [],
        /// A proposal an officer rejected.
        Rejected = "REJECTED" => [],
        /// Withdrew from the class (退训).
        Withdrawn = "WITHDRAWN" => [],
        /// Completed the class (结业).
        Completed = "COMPLETED" => [],
        /// Did not complete the class.
        NotCompleted = "NOT_COMPLETED" => [Completed],
    }
}

lifecycle! {
    /// A change to a started class's roster (ELIG-REALNAME): pending until an officer approves
    /// it (applied) or rejects it. A change before the first day is applied at once.
    RosterChangeState, kind "roster change", reason "ROSTER_CHANGE_STATE" {
        /// Waiting for an officer.
        Pending = "PENDING" => [Applied, Rejected],
        /// Applied: it made a roster version.
        Applied = "APPLIED" => [],
        /// Rejected by an officer.
        Rejected = "REJECTED" => [],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_completes_only_once_acknowledged_and_never_leaves_an_end() {
        assert!(ClassState::Filed.to(ClassState::Completed).is_err());
        assert!(ClassState::Acknowledged.to(ClassState::Completed).is_ok());
        for end in [ClassState::Completed, ClassState::Stopped] {
            assert!(ClassState::ALL.iter().all(|next| !end.allows(*next)), "{end:?}");
        }
        let refused = ClassState::Stopped.to(ClassState::Acknowledged).expect_err("final");
        assert_eq!(refused.reason, "CLASS_STATE");
        assert!(TraineeState::NotCompleted.allows(TraineeState::Completed));
        assert!(!TraineeState::Completed.allows(TraineeState::NotCompleted));
        assert!(RosterChangeState::Pending.allows(RosterChangeState::Applied));
    }

    #[test]
    fn every_state_round_trips_through_its_code() {
        for state in VacancyState::ALL {
            assert_eq!(VacancyState::parse(state.code()), Some(*state));
        }
        assert_eq!(RoundState::parse("LOST"), None);
    }

    #[test]
    fn a_filled_vacancy_cannot_change_and_says_so() {
        let refused = VacancyState::Filled.to(VacancyState::Published).expect_err("final");
        assert_eq!(refused.reason, "VACANCY_STATE");
        assert_eq!(refused.message, "a filled vacancy cannot become published");
        assert_eq!(VacancyState::Draft.to(VacancyState::Published), Ok(VacancyState::Published));
    }

    #[test]
    fn no_state_becomes_itself() {
        for state in VacancyState::ALL {
            assert!(!state.allows(*state), "{state:?}");
        }
        for state in ApplicationState::ALL {
            assert!(!state.allows(*state), "{state:?}");
        }
    }

    #[test]
    fn a_round_is_decided_only_after_it_closes() {
        assert!(RoundState::Open.to(RoundState::Decided).is_err());
        assert!(RoundState::Closed.to(RoundState::Decided).is_ok());
        let refused = RoundState::Open.require(&[RoundState::Closed], "be decided; close it first").expect_err("open");
        assert_eq!(refused.message, "an open round cannot be decided; close it first");
    }
}
