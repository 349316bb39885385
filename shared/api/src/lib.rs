//! The suite's protobuf contracts, generated at build time from `proto/` with `protox`.
//!
//! Each package of `proto/qiancheng/<service>/v1` is a module here, `qiancheng::<service>::v1`,
//! with its messages, its client and its server. [`FILE_DESCRIPTOR_SET`] feeds server reflection
//! so that `grpcurl` works against any service without the proto files at hand. [`convert`]
//! turns the shared protobuf types into domain values and back.
//!
//! From the same descriptors the build generates what the platform needs to know of each RPC:
//! [`Rpc`] on every request message (its method, response type, allowed roles and
//! `request_id`), the [`RPCS`] table, and one macro per service (`demand_service!`,
//! `selection_service!`, `supervision_service!`) that implements the generated server trait by
//! calling one handler function per RPC, named after it, and mapping the result to a status in
//! one place.

use std::pin::Pin;

pub mod codec;
pub mod convert;
mod enums;
pub mod rules;

pub use convert::{FromProto, IntoProto};
pub use rules::{FieldViolation, Validate};

// For the macros of this crate, which name domain types from a caller's crate.
#[doc(hidden)]
pub use qiancheng_domain as __domain;

/// Every string a message carries, nested messages included: the one place a request's text is
/// checked as a whole (no control characters, a length limit) before any handler sees it.
pub trait Texts {
    /// The path (`vacancy.post`, `officer_scores[2].note`) of the first string `ok` refuses.
    fn first_bad_text(&self, ok: &dyn Fn(&str) -> bool) -> Option<String>;
}

impl<T> Texts for tonic::Streaming<T> {
    /// The messages of a stream are checked one by one as they are read.
    fn first_bad_text(&self, _ok: &dyn Fn(&str) -> bool) -> Option<String> {
        None
    }
}

/// A message whose top-level fields can be copied by name: how an update applies the paths of
/// its `update_mask` to the stored resource (generated for every message of the suite).
pub trait Fields {
    /// Copies the field the proto names `field` from `from`; `false` when there is none.
    fn copy_field(&mut self, from: &Self, field: &str) -> bool;
}

/// What the suite knows of an RPC from its request message, generated from the descriptors so
/// that no method name or role list is ever typed by hand.
pub trait Rpc: prost::Message + Texts + Validate + Default + Clone + Send + Sync + 'static {
    /// The response message.
    type Response: prost::Message + Default + Clone + Send + 'static;
    /// The protobuf package (`qiancheng.demand.v1`): the error domain.
    const PACKAGE: &'static str;
    /// The fully qualified service (`qiancheng.demand.v1.DemandService`).
    const SERVICE: &'static str;
    /// The method (`CreateVacancy`).
    const METHOD: &'static str;
    /// The HTTP/2 path (`/qiancheng.demand.v1.DemandService/CreateVacancy`).
    const PATH: &'static str;
    /// The roles that may call it (`qiancheng.type.v1.allowed_roles`).
    const ROLES: &'static [types::Role];
    /// The caller's `request_id` for safe retries; empty when the request has none.
    fn request_id(&self) -> &str {
        ""
    }
}

/// How often a public RPC may be called: per peer address and for the whole process, each in a
/// minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicLimit {
    /// Calls one peer address may make in a minute.
    pub per_peer_per_minute: u32,
    /// Calls the process takes in a minute from every peer together.
    pub per_process_per_minute: u32,
}

/// One row of [`RPCS`].
#[derive(Debug, Clone, Copy)]
pub struct RpcInfo {
    /// The HTTP/2 path.
    pub path: &'static str,
    /// The protobuf package.
    pub package: &'static str,
    /// The fully qualified service.
    pub service: &'static str,
    /// The method.
    pub method: &'static str,
    /// The roles that may call it.
    pub roles: &'static [types::Role],
    /// Open to the public without an account, at this rate (`qiancheng.type.v1.public_limit`);
    /// such an RPC declares no roles.
    pub public: Option<PublicLimit>,
    /// The client sends a stream.
    pub client_streaming: bool,
    /// The server answers with a stream.
    pub server_streaming: bool,
    /// The fully qualified request message.
    pub request: &'static str,
}

impl RpcInfo {
    /// The RPC served at `path`, if it is one of the suite's.
    pub fn by_path(path: &str) -> Option<&'static RpcInfo> {
        static BY_PATH: std::sync::LazyLock<std::collections::HashMap<&'static str, &'static RpcInfo>> =
            std::sync::LazyLock::new(|| RPCS.iter().map(|r| (r.path, r)).collect());
        BY_PATH.get(path).copied()
    }
}

/// A server-streaming response.
pub type ResponseStream<T> =
    Pin<Box<dyn tonic::codegen::tokio_stream::Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

/// An error a handler returns, turned into the status a client sees under the RPC's package.
pub trait IntoStatus {
    /// The status for a failed call of `M`.
    fn into_status<M: Rpc>(self) -> tonic::Status;
}

impl IntoStatus for tonic::Status {
    fn into_status<M: Rpc>(self) -> tonic::Status {
        self
    }
}

/// A handler's result as the generated server answers it: the one place a handler's error
/// becomes a status.
pub fn respond<M: Rpc, T, E: IntoStatus>(result: Result<T, E>) -> Result<tonic::Response<T>, tonic::Status> {
    result.map(tonic::Response::new).map_err(IntoStatus::into_status::<M>)
}

include!(concat!(env!("OUT_DIR"), "/qiancheng_rpc.rs"));

/// Every proto file of the suite, encoded as a `google.protobuf.FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/qiancheng_descriptor.bin"));

/// The `qiancheng.*` protobuf packages.
#[allow(missing_docs, clippy::all, missing_debug_implementations)]
pub mod qiancheng {
    /// Messages shared by every service.
    pub mod r#type {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.r#type.v1.rs"));
        }
    }
    /// The demand service.
    pub mod demand {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.demand.v1.rs"));
        }
    }
    /// The selection service.
    pub mod selection {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.selection.v1.rs"));
            // Once the service's own messages, now `qiancheng.type.v1`'s (same numbers on the
            // wire): clients that name them here keep compiling.
            pub use super::super::r#type::v1::{RuleResult, TrainingMode};
        }
    }
    /// The supervision service.
    pub mod supervision {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.supervision.v1.rs"));
        }
    }
    /// The outcome service.
    pub mod outcome {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.outcome.v1.rs"));
        }
    }
    /// The subsidy service.
    pub mod subsidy {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/qiancheng.subsidy.v1.rs"));
        }
    }
}

pub use qiancheng::demand::v1 as demand;
pub use qiancheng::outcome::v1 as outcome;
pub use qiancheng::selection::v1 as selection;
pub use qiancheng::subsidy::v1 as subsidy;
pub use qiancheng::supervision::v1 as supervision;
pub use qiancheng::r#type::v1 as types;
