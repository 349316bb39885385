//! The demand service (`qiancheng.demand.v1.DemandService`): what employers need and what
//! workers want (plan 二(一), 三(一)–(四)).
//!
//! It owns enterprises that file demand, their vacancies (附件1 岗位需求表) with every revision,
//! workers' employment and training needs (personal data encrypted at rest, masked in
//! responses), matching both ways with the reasons for each score, the training-need summary the
//! selection service builds its catalog from, the public demand board and its statistics.
//!
//! One handler module per resource, each function named after its RPC: [`enterprise`],
//! [`vacancy`], [`worker_need`], [`matching`], [`summary`]. Handlers check access ([`access`]),
//! validate at the edge, write through [`store`] inside the platform's one idempotent write, and
//! never import each other.

pub mod access;
pub mod enterprise;
pub mod matching;
pub mod store;
pub mod summary;
pub mod vacancy;
pub mod worker_need;

use qiancheng_api::demand::demand_service_server::DemandServiceServer;

/// The service's short name: its SQLite file, its `serve` argument, its peer name.
pub const NAME: &str = "demand";

/// Highest monthly pay a vacancy or a worker's need may state, in fen (100,000 yuan): anything
/// above is a typing error, and the board is public.
pub const MAX_MONTHLY_PAY_FEN: i64 = 10_000_000;

/// The service's own migrations (the platform's run first).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

qiancheng_platform::service! {
    /// The demand service over what its handlers share.
    Demand {
        name: NAME,
        server: DemandServiceServer,
        migrator: MIGRATOR,
        peers: [],
        sealed: [store::worker_need::SEALED],
    }
}

/// Every RPC's handler, by the RPC's name.
mod handlers {
    pub use crate::enterprise::*;
    pub use crate::matching::{match_vacancies, match_workers};
    pub use crate::summary::*;
    pub use crate::vacancy::*;
    pub use crate::worker_need::*;
    pub use qiancheng_platform::audit::verify_audit_chain;
}

qiancheng_api::demand_service!(Demand, handlers);
