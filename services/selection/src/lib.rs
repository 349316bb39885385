//! The selection service (`qiancheng.selection.v1.SelectionService`): who may train, what is to
//! be trained, and which provider trains it (plan 二(二), 二(四), 六, 七(一)(二), 八(四)).
//!
//! It owns training providers (承训机构) and their eligibility under the PROV-* rules, the
//! training-project catalog (培训项目目录) built from the demand service's training-need summary,
//! applications with their filing, application and plan (附件2, 附件3, 一项目一方案), selection
//! rounds with expert review and quotas, the projects approved in them, brands (一县一品牌) and
//! disqualification. Other services ask it whether a provider and a project are in good standing.
//!
//! One handler module per resource, each function named after its RPC: [`provider`],
//! [`catalog`], [`quota`], [`round`], [`application`], [`expert`], [`project`], [`brand`],
//! [`report`]. Requests arrive with the field rules `selection.proto` declares already checked;
//! handlers check access ([`access`]) and what only they can (domain values, rules of the plan),
//! read and write the records [`store`] declares through the platform's `record` functions, let
//! the policy core (`qiancheng_domain::policy`) decide, and show records through `From` impls of
//! their own, inside the platform's one idempotent write; they never import each other. New decisions
//! are made under the policy set the service is given (`xianning-2025-5/v2` by default); each
//! decision records its version (and a decided round the set's digest and quota mode).
//!
//! On PostgreSQL writers run concurrently: every stored row is updated optimistically (a row
//! changed since it was read is refused, `CONCURRENT_CHANGE`), and the rules that span rows
//! (a county's yearly quota, a round's state, a provider's standing) are guarded by taking their
//! turn first ([`store::turn`]).

pub mod access;
pub mod application;
pub mod brand;
pub mod catalog;
pub mod expert;
pub mod project;
pub mod provider;
pub mod quota;
pub mod report;
pub mod round;
pub mod store;

use qiancheng_api::selection::selection_service_server::SelectionServiceServer;

/// The service's short name: its SQLite file, its `serve` argument, its peer name.
pub const NAME: &str = "selection";

/// The service's own migrations (the platform's run first).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

qiancheng_platform::service! {
    /// The selection service over what its handlers share. DraftCatalogFromDemand reads the
    /// demand service's training-need summary.
    Selection { name: NAME, server: SelectionServiceServer, migrator: MIGRATOR, peers: ["demand"] }
}

/// Every RPC's handler, by the RPC's name.
mod handlers {
    pub use crate::application::*;
    pub use crate::brand::*;
    pub use crate::catalog::*;
    pub use crate::expert::*;
    pub use crate::project::*;
    pub use crate::provider::*;
    pub use crate::quota::*;
    pub use crate::report::*;
    pub use crate::round::*;
    pub use qiancheng_platform::audit::verify_audit_chain;
}

qiancheng_api::selection_service!(Selection, handlers);
