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
pub mod completion;
pub mod evaluation;
pub mod feed;
pub mod inspection;
pub mod judge;
pub mod ledger;
pub mod peer;
pub mod roster;
pub mod session;
pub mod signal;
pub mod standing;
pub mod store;
pub mod watch;

use chrono::NaiveDate;
use qiancheng_api::supervision::supervision_service_server::SupervisionServiceServer;
use qiancheng_domain::policy::integrity;
use qiancheng_platform::Shared;
use qiancheng_platform::config::Settings;
use tonic::service::Routes;

pub use qiancheng_platform::clock::Clock;

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
    /// The most bytes of one trainee part of a ledger: [`ledger::LEDGER_PART_BYTES`], or half the
    /// largest message when the operator set that lower.
    ledger_part_bytes: usize,
}

impl Supervision {
    /// Today in China (DATE-TZ), by the service's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// Now, microseconds since the epoch, by the service's clock.
    pub fn now_micros(&self) -> i64 {
        self.clock.now_micros()
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
    /// How far past the service's clock a check-in may be dated, for devices whose clocks run
    /// ahead (`QIANCHENG_SUPERVISION_CHECKIN_LEEWAY_SECS`, default 300; ATTENDANCE_FUTURE).
    pub checkin_leeway_secs: i64,
    /// The most hours of sessions one class holds on one day
    /// (`QIANCHENG_SUPERVISION_MAX_DAILY_HOURS`, default 8; CLASS-SESSION-HOURS): the suite's
    /// interpretation of a training day, not a figure of the plan.
    pub max_daily_hours: u32,
    /// A file the clock is read from (`QIANCHENG_SUPERVISION_CLOCK_FILE`): for development and
    /// demonstrations only, so that a class can be lived through; never set in production.
    pub clock_file: Option<std::path::PathBuf>,
    /// The thresholds of the integrity signals (`QIANCHENG_SUPERVISION_SIGNAL_PARAMS`, `name=value`
    /// pairs over the defaults of [`integrity::Params`], docs/integrity.md): the suite's
    /// interpretation, not figures of the plan.
    pub signals: integrity::Params,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            roster_readers: vec!["outcome".to_owned(), "subsidy".to_owned()],
            checkin_leeway_secs: 300,
            max_daily_hours: 8,
            clock_file: None,
            signals: integrity::Params::default(),
        }
    }
}

impl Options {
    /// The variable naming the roster readers.
    pub const ROSTER_READERS: &'static str = "QIANCHENG_SUPERVISION_ROSTER_READERS";

    /// The variable of the check-in leeway.
    pub const CHECKIN_LEEWAY_SECS: &'static str = "QIANCHENG_SUPERVISION_CHECKIN_LEEWAY_SECS";
    /// The variable of the daily maximum of session hours.
    pub const MAX_DAILY_HOURS: &'static str = "QIANCHENG_SUPERVISION_MAX_DAILY_HOURS";
    /// The variable naming the development clock file.
    pub const CLOCK_FILE: &'static str = "QIANCHENG_SUPERVISION_CLOCK_FILE";
    /// The variable of the integrity signals' thresholds.
    pub const SIGNAL_PARAMS: &'static str = "QIANCHENG_SUPERVISION_SIGNAL_PARAMS";

    /// The options `env` sets, the defaults for the rest; a number that does not parse, or a
    /// leeway outside 0 to 3600 seconds or a daily maximum outside 1 to 24 hours, is an error.
    pub fn from_env(env: &std::collections::BTreeMap<String, String>) -> Result<Self, qiancheng_platform::Error> {
        let mut options = Self::default();
        let invalid = |key: &str, value: &str| qiancheng_platform::Error::Config(format!("{key}={value} is not valid"));
        if let Some(readers) = env.get(Self::ROSTER_READERS) {
            options.roster_readers =
                readers.split(',').map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty()).collect();
        }
        if let Some(v) = env.get(Self::CHECKIN_LEEWAY_SECS) {
            options.checkin_leeway_secs = v
                .trim()
                .parse()
                .ok()
                .filter(|s| (0..=3600).contains(s))
                .ok_or_else(|| invalid(Self::CHECKIN_LEEWAY_SECS, v))?;
        }
        if let Some(v) = env.get(Self::MAX_DAILY_HOURS) {
            options.max_daily_hours = v
                .trim()
                .parse()
                .ok()
                .filter(|h| (1..=24).contains(h))
                .ok_or_else(|| invalid(Self::MAX_DAILY_HOURS, v))?;
        }
        if let Some(v) = env.get(Self::SIGNAL_PARAMS) {
            options.signals = integrity::Params::parse(v)
                .map_err(|why| qiancheng_platform::Error::Config(format!("{}: {why}", Self::SIGNAL_PARAMS)))?;
        }
        options.clock_file = env.get(Self::CLOCK_FILE).filter(|v| !v.trim().is_empty()).map(std::path::PathBuf::from);
        Ok(options)
    }
}

qiancheng_platform::deref_shared!(Supervision);

/// Every RPC's handler, by the RPC's name.
mod handlers {
    pub use crate::attendance::*;
    pub use crate::class::*;
    pub use crate::completion::*;
    pub use crate::evaluation::*;
    pub use crate::feed::*;
    pub use crate::inspection::*;
    pub use crate::ledger::*;
    pub use crate::roster::*;
    pub use crate::session::*;
    pub use crate::signal::*;
    pub use qiancheng_platform::audit::verify_audit_chain;
}

qiancheng_api::supervision_service!(Supervision, handlers);

fn routes(shared: Shared, settings: &Settings, clock: Clock, options: Options) -> Routes {
    let options = std::sync::Arc::new(options);
    let ledger_part_bytes = ledger::LEDGER_PART_BYTES.min(settings.max_message_bytes / 2).max(1);
    let supervision = Supervision { shared: std::sync::Arc::new(shared), clock, options, ledger_part_bytes };
    // PROV-DISQUALIFIED: providers with running classes are checked against selection at an interval.
    standing::start_sweeping(
        supervision.clone(),
        std::time::Duration::from_millis(settings.standing_sweep_interval_ms),
    );
    qiancheng_platform::routes_of!(SupervisionServiceServer::new(supervision), settings)
}

qiancheng_platform::spec! {
    /// The supervision service as the binary starts it, on the system clock (or the development
    /// clock file), with the options of its environment. Filing asks selection about the project
    /// and provider; a serious subcontracting or fraud finding is sent to it.
    Spec {
        name: NAME,
        server: SupervisionServiceServer<Supervision>,
        migrator: MIGRATOR,
        peers: ["selection"],
        sealed: [store::trainee::SEALED],
    }
    |shared, settings| {
        let options = Options::from_env(&std::env::vars().collect()).unwrap_or_else(|error| {
            // Routes cannot fail: a setting that does not parse is reported and its default kept.
            tracing::error!(%error, "supervision options: the defaults stand");
            Options::default()
        });
        let clock = match &options.clock_file {
            Some(path) => {
                tracing::warn!(path = %path.display(), "supervision reads its clock from a file: for development only");
                Clock::from_file(path.clone())
            }
            None => Clock::system(),
        };
        routes(shared, settings, clock, options)
    }
}

/// The supervision service on a clock of the caller's (tests and benchmarks, which must see a
/// class filed before its first day and then run on it), with the default [`Options`].
#[derive(Debug, Clone)]
pub struct SpecWithClock(pub Clock);

/// The supervision service on a clock of the caller's with options of the caller's.
#[derive(Debug, Clone)]
pub struct SpecWithOptions(pub Clock, pub Options);

qiancheng_platform::spec_variant!(SpecWithOptions, Spec, |this, shared, settings| {
    routes(shared, settings, this.0.clone(), this.1.clone())
});

qiancheng_platform::spec_variant!(SpecWithClock, Spec, |this, shared, settings| {
    routes(shared, settings, this.0.clone(), Options::default())
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_readers_are_outcome_and_subsidy_unless_configured() {
        let read = |key: &str, value: &str| Options::from_env(&[(key.to_owned(), value.to_owned())].into());
        assert_eq!(Options::from_env(&Default::default()).expect("defaults"), Options::default());
        assert_eq!(Options::default().roster_readers, ["outcome", "subsidy"]);
        let set = read(Options::ROSTER_READERS, " Outcome, ,subsidy,audit ").expect("read");
        assert_eq!(set.roster_readers, ["outcome", "subsidy", "audit"]);
        assert!(read(Options::ROSTER_READERS, "").expect("read").roster_readers.is_empty());
    }

    #[test]
    fn the_leeway_and_the_daily_maximum_are_bounded() {
        let read = |key: &str, value: &str| Options::from_env(&[(key.to_owned(), value.to_owned())].into());
        assert_eq!((Options::default().checkin_leeway_secs, Options::default().max_daily_hours), (300, 8));
        assert_eq!(read(Options::CHECKIN_LEEWAY_SECS, "0").expect("read").checkin_leeway_secs, 0);
        assert_eq!(read(Options::CHECKIN_LEEWAY_SECS, "3600").expect("read").checkin_leeway_secs, 3600);
        assert!(
            read(Options::CHECKIN_LEEWAY_SECS, "3601").is_err() && read(Options::CHECKIN_LEEWAY_SECS, "-1").is_err()
        );
        assert_eq!(read(Options::MAX_DAILY_HOURS, "1").expect("read").max_daily_hours, 1);
        assert_eq!(read(Options::MAX_DAILY_HOURS, "24").expect("read").max_daily_hours, 24);
        assert!(read(Options::MAX_DAILY_HOURS, "0").is_err() && read(Options::MAX_DAILY_HOURS, "25").is_err());
        assert!(read(Options::MAX_DAILY_HOURS, "eight").is_err());
        assert_eq!(read(Options::CLOCK_FILE, "/tmp/c").expect("read").clock_file, Some("/tmp/c".into()));
    }

    #[test]
    fn the_signal_thresholds_are_settings() {
        let read = |value: &str| Options::from_env(&[(Options::SIGNAL_PARAMS.to_owned(), value.to_owned())].into());
        assert_eq!(read("sync_min_trainees=30").expect("read").signals.sync_min_trainees, 30);
        let refused = read("sync_min_trainees=0").expect_err("out of range").to_string();
        assert!(refused.contains(Options::SIGNAL_PARAMS) && refused.contains("sync_min_trainees"), "{refused}");
    }
}
