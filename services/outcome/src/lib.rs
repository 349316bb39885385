//! The outcome service (`qiancheng.outcome.v1.OutcomeService`): whether each trainee found work
//! (routes ①–④) or a certificate within six months of the class, the bureau's 综合评估和验收 of
//! each project, and each project's rates, which set the subsidy tier (plan 七(四), 八(三)).
//!
//! The rules (OUT-*, PROJ-BASIS, ELIG-PREHIRE) are the policy core's: this service gathers the
//! evidence and calls them ([`verdict`]). Who is watched comes from supervision ([`follow`]):
//! a follower reads its change feed with a cursor and each changed project's real-name roster
//! under the service's own identity. Documents go to a content-addressed store, a folder under
//! the data directory or an S3-compatible object store ([`documents`]).
//!
//! One handler module per resource, each function named after its RPC: [`evidence`],
//! [`review`], [`trainee`], [`verdict`], [`acceptance`], [`rate`], [`wage`].

pub mod acceptance;
pub mod access;
pub mod clock;
pub mod documents;
pub mod evidence;
pub mod exchange;
pub mod follow;
pub mod judge;
pub mod rate;
pub mod review;
pub mod roster;
pub mod store;
pub mod trainee;
pub mod verdict;
pub mod wage;

use std::sync::Arc;

use chrono::NaiveDate;
use qiancheng_api::outcome::outcome_service_server::OutcomeServiceServer;
use qiancheng_platform::Shared;
use qiancheng_platform::config::Settings;
use tonic::service::Routes;

pub use clock::Clock;
pub use documents::Documents;
pub use follow::{FeedPort, PeerFeed};

/// The service's short name: its SQLite file, its `serve` argument, its peer name.
pub const NAME: &str = "outcome";

/// The service's own migrations (the platform's run first).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The outcome service over what its handlers share: the clock that says which day it is
/// (DATE-TZ), the document store and the port to supervision.
#[derive(Debug, Clone)]
pub struct Outcome {
    shared: Arc<Shared>,
    clock: Clock,
    documents: Documents,
}

impl Outcome {
    /// Today in China, by the service's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// The document store.
    pub fn documents(&self) -> &Documents {
        &self.documents
    }
}

qiancheng_platform::deref_shared!(Outcome);

/// Every RPC's handler, by the RPC's name.
mod handlers {
    pub use crate::acceptance::*;
    pub use crate::evidence::*;
    pub use crate::exchange::*;
    pub use crate::rate::*;
    pub use crate::review::*;
    pub use crate::trainee::*;
    pub use crate::verdict::*;
    pub use crate::wage::*;
    pub use qiancheng_platform::audit::verify_audit_chain;
}

qiancheng_api::outcome_service!(Outcome, handlers);

/// The service's routes; when a runtime is running and a feed is given, the follower of
/// supervision's change feed starts beside them.
fn routes(
    shared: Shared,
    settings: &Settings,
    clock: Clock,
    feed: Option<(Arc<dyn FeedPort>, std::time::Duration)>,
) -> Routes {
    let documents = Documents::configured(&settings.data_dir, &std::env::vars().collect());
    routes_with(shared, settings, clock, feed, documents)
}

/// [`routes`] with the document store given.
fn routes_with(
    shared: Shared,
    settings: &Settings,
    clock: Clock,
    feed: Option<(Arc<dyn FeedPort>, std::time::Duration)>,
    documents: Documents,
) -> Routes {
    let outcome = Outcome { shared: Arc::new(shared), clock, documents };
    if let (Some((feed, interval)), Ok(runtime)) = (feed, tokio::runtime::Handle::try_current()) {
        runtime.spawn(follow::run(outcome.clone(), feed, interval));
    }
    qiancheng_platform::routes_of!(OutcomeServiceServer::new(outcome), settings)
}

qiancheng_platform::spec! {
    /// The outcome service as the binary starts it, on the system clock, following supervision
    /// through its peers: supervision's change feed and rosters; selection's projects (their
    /// provider and county).
    Spec {
        name: NAME,
        server: OutcomeServiceServer<Outcome>,
        migrator: MIGRATOR,
        peers: ["supervision", "selection"],
    }
    |shared, settings| {
        let feed: Arc<dyn FeedPort> = Arc::new(PeerFeed::new(shared.peers.clone()));
        routes(shared, settings, Clock::system(), Some((feed, follow::INTERVAL)))
    }
}

/// The outcome service on a clock and a feed of the caller's (tests and benchmarks: a class's
/// window is months long, and a test feeds the changes it wants followed).
#[derive(Debug, Clone)]
pub struct SpecWith {
    /// The clock.
    pub clock: Clock,
    /// The feed to follow and how often; none starts no follower.
    pub feed: Option<(Arc<dyn FeedPort>, std::time::Duration)>,
}

qiancheng_platform::spec_variant!(SpecWith, Spec, |this, shared, settings| {
    routes(shared, settings, this.clock.clone(), this.feed.clone())
});

/// The outcome service on the system clock, following nothing, with its documents in a store of
/// the caller's (tests of the object store).
#[derive(Debug, Clone)]
pub struct SpecWithDocuments {
    /// The document store.
    pub documents: Documents,
}

qiancheng_platform::spec_variant!(SpecWithDocuments, Spec, |this, shared, settings| {
    routes_with(shared, settings, Clock::system(), None, this.documents.clone())
});
