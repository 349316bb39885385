//! The policy core: every rule of docs/RULES.md as a pure, versioned, explainable function.
//!
//! Handlers gather facts, call a rule here with a [`PolicySet`], and store the returned
//! [`Decision`] with its explanation. Nothing here reads a clock, a file or a database: calendars
//! and tables are passed in, loaded from text by their own constructors.
//!
//! New decisions use policy set `xianning-2025-5/v2` ([`PolicySet::current`]); decisions made
//! under `xianning-2025-5/v1` replay under it unchanged ([`PolicySet::builtin`]). Where the two
//! differ, the set says how: a parameter for each interpretation (docs/RULES.md) and
//! `rules_edition` for v2's corrections of the rules' text (see [`set`]). A service stores with
//! each decision the set's version and digest, and decides later steps about a class under the
//! version recorded when it was filed ([`PolicySet::recorded`]).
//!
//! | module | rules |
//! |---|---|
//! | [`set`] | the parameters of every rule, versioned and digested; [`RULE_CODES`] |
//! | [`calendar`] | DATE-WORKDAYS |
//! | [`tables`] | SUBS-STANDARD data, minimum wages for OUT-EMP-SERVICE |
//! | [`eligibility`] | PERSON-ID, ELIG-* |
//! | [`provider`] | PROV-* |
//! | [`outcome`] | OUT-WINDOW, OUT-MONTHS, OUT-CERT, OUT-EMP-* |
//! | [`subsidy`] | OUT-RATE, SUBS-* but SUBS-PAY and SUBS-KEEP; the claim under edition 1 |
//! | [`claim`] | the claim under edition 2: OUT-RATE by kind, SUBS-MATERIALS, one person one trainee |
//! | [`payment`] | SUBS-PAY |
//! | [`trace`] | SUBS-KEEP |
//! | [`project`] | PROJ-CATALOG, PROJ-PLAN, PROJ-CROSS-REGION, PROJ-BRAND, PROJ-INSERVICE, PROJ-BASIS |
//! | [`class`] | CLASS-FILING, CLASS-HOURS, CLASS-HEADCOUNT, CLASS-ATTENDANCE, CLASS-COMPLETION, CLASS-INSPECTION, CLASS-LEDGER |
//! | [`selection`] | PROJ-SELECTION, PROJ-QUOTA |
//! | [`integrity`] | the integrity signals: SYNC-CHECKIN, DEVICE-SHARED, PHONE-SHARED, ROSTER-CHURN, PERFECT-ATTENDANCE, GHOST-SESSION |
//! | [`replay`] | a claim's facts as JSON in, its decision and a readable table out |

pub mod calendar;
pub mod claim;
pub mod class;
pub mod decision;
pub mod eligibility;
pub mod facts;
pub mod fraction;
pub mod integrity;
pub mod outcome;
pub mod payment;
pub mod project;
pub mod provider;
pub mod replay;
pub mod selection;
pub mod session;
pub mod set;
pub mod subsidy;
pub mod tables;
pub mod trace;

pub use calendar::HolidayCalendar;
pub use claim::evaluate_claim;
pub use decision::{Decision, Discloses, RuleResult, Withheld};
pub use fraction::Fraction;
pub use payment::{PaymentDecision, PaymentFacts, PaymentOutcome, subs_pay};
pub use selection::{RoundFacts, RoundOutcome, decide_round};
pub use set::{Fund, PolicySet, QuotaMode, RULE_CODES, RulesEdition, Tier};
pub use subsidy::{ClaimDecision, ClaimFacts, ClaimOutcome, SubsidyLine};
pub use tables::{MinimumWage, MinimumWageTable, StandardSource, SubsidyStandard, SubsidyStandardTable, WageRegion};
pub use trace::{TraceStep, subs_keep};
