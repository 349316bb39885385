//! The subsidy service (`qiancheng.subsidy.v1.SubsidyService`): how much each provider is owed
//! for each project, calculated with the tables the city keeps (plan 五 补贴类别, 七(五) 补贴申领).
//!
//! It owns the standards table (SUBS-STANDARD: rows by occupation and level with their source
//! and effective day, never edited in place) and the uplift policies with the uplifts recorded
//! for trainees (SUBS-UPLIFT), and the claims providers file (附件4): the snapshot gathered from
//! selection, supervision and outcome, stored with the time and the policy set of the classes,
//! and calculated with the policy core (SUBS-DEADLINE, SUBS-MATERIALS, every rule of a line). It
//! reads its peers through ports ([`peer`]), so that what it is told is gathered the same way
//! whoever answers.
//!
//! Review, public notice and approval (审核公示无异议, SUBS-SOD, SUBS-NOTICE): an officer of the
//! filing bureau reviews a claim (accepting it with lines excluded, or returning it), the
//! accepted claim goes on notice for working days by the holiday calendar, the public (without
//! an account, through a rate-limited public RPC) and officers raise objections that officers
//! resolve, and another officer of the bureau approves it once the notice has ended and every
//! objection is resolved. A claim's rate moves until payment is released: [`follow`] reads
//! outcome's rate change feed and sends a claim whose amount changed back through review and a
//! new notice. A provider may ask once for a re-examination (复核) of an excluded line or a
//! returned claim ([`reexamination`]), decided by an officer who took no part, and is told of
//! its right to 行政复议.
//!
//! One handler module per resource, each function named after its RPC: [`standard`],
//! [`uplift`], [`claim`], [`review`] (review and approval), [`objection`] (the notice and its
//! objections), [`trace`] (a payment traced back to its evidence, SUBS-KEEP), [`report`] (payments and
//! recoveries per fund channel for the province); [`claim_view`] opens, recalculates and shows a stored claim for them. Handlers check access ([`access`]), validate at the edge, ask peers through
//! [`peer`] before any transaction, and write through [`store`] inside the platform's one
//! idempotent write; they never import each other.

pub mod access;
pub mod bank;
pub mod claim;
pub mod claim_view;
pub mod clock;
pub mod follow;
pub mod fund;
pub mod objection;
pub mod payment;
pub mod peer;
pub mod recovery;
pub mod reexamination;
pub mod report;
pub mod review;
pub mod standard;
pub mod store;
pub mod trace;
pub mod uplift;

use std::sync::Arc;

use chrono::NaiveDate;
use qiancheng_api::subsidy::subsidy_service_server::SubsidyServiceServer;
use qiancheng_domain::policy::calendar::HolidayCalendar;
use qiancheng_platform::Shared;
use qiancheng_platform::config::Settings;
use tonic::service::Routes;

pub use clock::Clock;
use peer::{OutcomeGrpc, OutcomePort, SelectionGrpc, SelectionPort, SupervisionGrpc, SupervisionPort};

/// The service's short name: its SQLite file, its `serve` argument, its peer name.
pub const NAME: &str = "subsidy";

/// The service's own migrations (the platform's run first).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The peers the service reads, each behind its port.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Projects (selection).
    pub selection: Arc<dyn SelectionPort>,
    /// Rosters, classes and results (supervision).
    pub supervision: Arc<dyn SupervisionPort>,
    /// Acceptance and outcome evidence (outcome).
    pub outcome: Arc<dyn OutcomePort>,
    /// The providers' recorded accounts finance pays into (selection).
    pub providers: Arc<dyn payment::ProviderPort>,
}

impl Ports {
    /// Every port over gRPC to the configured peers.
    pub fn grpc(peers: &qiancheng_platform::service::Peers) -> Self {
        Self {
            selection: Arc::new(SelectionGrpc(peers.clone())),
            supervision: Arc::new(SupervisionGrpc(peers.clone())),
            outcome: Arc::new(OutcomeGrpc(peers.clone())),
            providers: Arc::new(payment::ProviderGrpc(peers.clone())),
        }
    }
}

/// The subsidy service over what its handlers share, its clock (DATE-TZ) and its ports.
#[derive(Debug, Clone)]
pub struct Subsidy {
    shared: Arc<Shared>,
    clock: Clock,
    /// The national holiday calendar public notice is counted by (DATE-WORKDAYS).
    pub calendar: Arc<HolidayCalendar>,
    /// Days after a review within which its provider may ask for a re-examination (复核).
    pub reexamination_days: u32,
    /// What the service reads from its peers.
    pub ports: Ports,
}

impl Subsidy {
    /// Today in China (DATE-TZ), by the service's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }
}

qiancheng_platform::deref_shared!(Subsidy);

/// Every RPC's handler, by the RPC's name.
mod handlers {
    pub use crate::bank::{get_bank_payment_file, import_bank_results, resend_payment};
    pub use crate::claim::*;
    pub use crate::fund::{list_fund_budgets, set_fund_budget};
    pub use crate::objection::*;
    pub use crate::payment::{
        get_claim_payment, list_payment_instructions, release_payment, sign_off_claim, verify_ledger,
    };
    pub use crate::recovery::{list_receivables, open_recovery, record_repayment};
    pub use crate::reexamination::*;
    pub use crate::report::get_fund_report;
    pub use crate::review::*;
    pub use crate::standard::*;
    pub use crate::trace::get_payment_trace;
    pub use crate::uplift::*;
    pub use qiancheng_platform::audit::verify_audit_chain;
}

qiancheng_api::subsidy_service!(Subsidy, handlers);

fn routes(
    shared: Shared,
    settings: &Settings,
    clock: Clock,
    ports: Option<Ports>,
    calendar: Option<HolidayCalendar>,
    follow: Option<std::time::Duration>,
) -> Routes {
    let ports = ports.unwrap_or_else(|| Ports::grpc(&shared.peers));
    let calendar = Arc::new(calendar.unwrap_or_else(|| match &settings.holiday_calendar_file {
        // Checked when the settings were read; read again here, a failure keeps the bundled years.
        Some(file) => HolidayCalendar::bundled_with_file(file).unwrap_or_else(|why| {
            tracing::error!(%why, "the holiday calendar file: the bundled years stand");
            HolidayCalendar::bundled()
        }),
        None => HolidayCalendar::bundled(),
    }));
    let reexamination_days = settings.subsidy_reexamination_days;
    let subsidy = Subsidy { shared: Arc::new(shared), clock, calendar, reexamination_days, ports };
    // The follower of outcome's rate changes runs beside the routes, where a runtime runs.
    if let (Some(interval), Ok(runtime)) = (follow, tokio::runtime::Handle::try_current()) {
        runtime.spawn(follow::run(Arc::new(subsidy.clone()), interval));
    }
    qiancheng_platform::routes_of!(SubsidyServiceServer::new(subsidy), settings)
}

qiancheng_platform::spec! {
    /// The subsidy service as the binary starts it: the system clock, its peers over gRPC, the
    /// holiday calendar (bundled, and a later year's file if configured), and the follower of
    /// outcome's rate changes. Projects, providers and their accounts come from selection,
    /// rosters and results from supervision, acceptance, verdicts and pre-hire contracts from
    /// outcome.
    Spec {
        name: NAME,
        server: SubsidyServiceServer<Subsidy>,
        migrator: MIGRATOR,
        peers: ["selection", "supervision", "outcome"],
        sealed: [store::claim::SEALED, store::objection::SEALED],
    }
    |shared, settings| routes(shared, settings, Clock::system(), None, None, Some(follow::INTERVAL))
}

/// The subsidy service on a clock of the caller's and, where given, ports of its own (tests and
/// benchmarks: a day that moves, a peer answered by the test).
#[derive(Debug, Clone)]
pub struct SpecWith {
    /// The clock.
    pub clock: Clock,
    /// The ports; the configured peers over gRPC when absent.
    pub ports: Option<Ports>,
    /// The holiday calendar; the one the suite bundles when absent.
    pub calendar: Option<HolidayCalendar>,
    /// How often to follow outcome's rate changes; none starts no follower.
    pub follow: Option<std::time::Duration>,
}

qiancheng_platform::spec_variant!(SpecWith, Spec, |this, shared, settings| {
    routes(shared, settings, this.clock.clone(), this.ports.clone(), this.calendar.clone(), this.follow)
});
