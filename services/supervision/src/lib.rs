//! The supervision service (`qiancheng.supervision.v1.SupervisionService`): how a class is run
//! and what it achieved (plan 二(三) 开班备案、过程监督、结果考核, 七(三) 凡补必进、不进不补,
//! 八(三) 全程留痕, 八(四) 终止培训、取消承办资质).
//!
//! It owns the classes filed under approved projects (CLASS-FILING, CLASS-HOURS,
//! CLASS-HEADCOUNT), their real-name rosters with every version (ELIG-*), sessions and
//! attendance taken in streams from sign-in devices, explicit corrections, inspections
//! (CLASS-INSPECTION) and the referral of a provider to selection, completion (CLASS-ATTENDANCE,
//! CLASS-COMPLETION) and skill-evaluation results, terminations, the ledger (CLASS-LEDGER), and
//! the roster the outcome and subsidy services read. It asks the selection service about
//! projects and providers and stores what it was told.
//!
//! One handler module per resource, each function named after its RPC: [`class`], [`roster`],
//! [`attendance`], [`inspection`], [`completion`], [`ledger`]. Handlers check access
//! ([`access`]), validate at the edge, gather facts and let the policy core decide ([`judge`]),
//! ask selection through [`peer`], and write through [`store`] inside the platform's one
//! idempotent write; they never import each other.

pub mod access;
pub mod attendance;
pub mod class;
pub mod clock;
pub mod completion;
pub mod feed;
pub mod inspection;
pub mod integrity;
pub mod judge;
pub mod ledger;
pub mod peer;
pub mod roster;
pub mod signal;
pub mod store;
pub mod watch;

use chrono::NaiveDate;
use qiancheng_api::supervision::supervision_service_server::SupervisionServiceServer;
use qiancheng_platform::config::Settings;
use qiancheng_platform::{ServiceSpec, Shared};
use tonic::service::Routes;

pub use clock::Clock;

/// The service's short name: its SQLite file, its `serve` argument, its peer name.
pub const NAME: &str = "supervision";

/// The most trainees one roster holds (a big class has 100).
pub const MAX_ROSTER: usize = 1_000;

/// The service's own migrations (the platform's run first).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The supervision service over what its handlers share, and the clock that says which day it
/// is (DATE-TZ).
#[derive(Debug, Clone)]
pub struct Supervision {
    shared: std::sync::Arc<Shared>,
    clock: Clock,
    options: std::sync::Arc<Options>,
}

impl Supervision {
    /// Today in China (DATE-TZ), by the service's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// What the operator set for this service.
    pub fn options(&self) -> &Options {
        &self.options
    }
}

/// What an operator sets for the supervision service beyond the platform's settings, from the
/// environment (README, Configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The services of the suite that may read a project's roster with ID numbers, names and
    /// phones whole (ListProjectTrainees), by name: `QIANCHENG_SUPERVISION_ROSTER_READERS`,
    /// comma-separated, default `outcome,subsidy`. No other `SERVICE` caller reads it.
    pub roster_readers: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self { roster_readers: vec!["outcome".to_owned(), "subsidy".to_owned()] }
    }
}

impl Options {
    /// The variable naming the roster readers.
    pub const ROSTER_READERS: &'static str = "QIANCHENG_SUPERVISION_ROSTER_READERS";

    /// The options `env` sets, the defaults for the rest.
    pub fn from_env(env: &std::collections::BTreeMap<String, String>) -> Self {
        let mut options = Self::default();
        if let Some(readers) = env.get(Self::ROSTER_READERS) {
            options.roster_readers =
                readers.split(',').map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty()).collect();
        }
        options
    }
}

impl std::ops::Deref for Supervision {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// Every RPC's handler, by the RPC's name.
mod handlers {
    pub use crate::attendance::*;
    pub use crate::class::*;
    pub use crate::completion::*;
    pub use crate::feed::*;
    pub use crate::inspection::*;
    pub use crate::ledger::*;
    pub use crate::roster::*;
    pub use crate::signal::*;
}

qiancheng_api::supervision_service!(Supervision, handlers);

fn routes(shared: Shared, settings: &Settings, clock: Clock, options: Options) -> Routes {
    let options = std::sync::Arc::new(options);
    Routes::new(
        SupervisionServiceServer::new(Supervision { shared: std::sync::Arc::new(shared), clock, options })
            .max_decoding_message_size(settings.max_message_bytes)
            .max_encoding_message_size(settings.max_message_bytes),
    )
}

/// The supervision service as the binary starts it, on the system clock.
#[derive(Debug, Clone, Copy)]
pub struct Spec;

impl ServiceSpec for Spec {
    fn name(&self) -> &'static str {
        NAME
    }
    fn grpc_name(&self) -> &'static str {
        <SupervisionServiceServer<Supervision> as tonic::server::NamedService>::NAME
    }
    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }
    /// Filing asks selection about the project and provider; a serious subcontracting or fraud
    /// finding is sent to it.
    fn peers(&self) -> &'static [&'static str] {
        &["selection"]
    }
    fn sealed_tables(&self) -> &'static [qiancheng_platform::rekey::SealedTable] {
        &[store::trainee::SEALED]
    }
    fn routes(&self, shared: Shared, settings: &Settings) -> Routes {
        routes(shared, settings, Clock::system(), Options::from_env(&std::env::vars().collect()))
    }
}

/// The supervision service on a clock of the caller's (tests and benchmarks, which must see a
/// class filed before its first day and then run on it), with the default [`Options`].
#[derive(Debug, Clone)]
pub struct SpecWithClock(pub Clock);

/// The supervision service on a clock of the caller's with options of the caller's.
#[derive(Debug, Clone)]
pub struct SpecWithOptions(pub Clock, pub Options);

impl ServiceSpec for SpecWithOptions {
    fn name(&self) -> &'static str {
        Spec.name()
    }
    fn grpc_name(&self) -> &'static str {
        Spec.grpc_name()
    }
    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        Spec.migrator()
    }
    fn peers(&self) -> &'static [&'static str] {
        Spec.peers()
    }
    fn sealed_tables(&self) -> &'static [qiancheng_platform::rekey::SealedTable] {
        Spec.sealed_tables()
    }
    fn routes(&self, shared: Shared, settings: &Settings) -> Routes {
        routes(shared, settings, self.0.clone(), self.1.clone())
    }
}

impl ServiceSpec for SpecWithClock {
    fn name(&self) -> &'static str {
        Spec.name()
    }
    fn grpc_name(&self) -> &'static str {
        Spec.grpc_name()
    }
    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        Spec.migrator()
    }
    fn peers(&self) -> &'static [&'static str] {
        Spec.peers()
    }
    fn sealed_tables(&self) -> &'static [qiancheng_platform::rekey::SealedTable] {
        Spec.sealed_tables()
    }
    fn routes(&self, shared: Shared, settings: &Settings) -> Routes {
        routes(shared, settings, self.0.clone(), Options::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_readers_are_outcome_and_subsidy_unless_configured() {
        assert_eq!(Options::from_env(&Default::default()).roster_readers, ["outcome", "subsidy"]);
        let env = [(Options::ROSTER_READERS.to_owned(), " Outcome, ,subsidy,audit ".to_owned())].into();
        assert_eq!(Options::from_env(&env).roster_readers, ["outcome", "subsidy", "audit"]);
        let none = [(Options::ROSTER_READERS.to_owned(), String::new())].into();
        assert!(Options::from_env(&none).roster_readers.is_empty());
    }
}
