//! What every service of the suite needs to run, written once.
//!
//! A service crate owns its resources and rules; this crate gives it the ground to stand on:
//! [`client`] (calls to peer services with a service token and the trace context),
//! [`config`] (environment with the `QIANCHENG_` prefix and an optional TOML file),
//! [`telemetry`] (`tracing`, OTLP export, W3C trace context), [`db`] (sqlx `Any`: SQLite by
//! default, PostgreSQL by URL, migrations at start), [`server`] (health, reflection and the
//! tower layers every server carries), [`auth`] (JWT bearer tokens into a [`auth::Principal`]),
//! [`oidc`] (the people's identity provider: JWKS keys, claim mapping), [`tls`] (TLS and mutual
//! TLS with certificates read again when they change),
//! [`error`] (`google.rpc.Status` with `ErrorInfo` and `BadRequest`), [`idempotency`] (safe
//! retries by `request_id`), [`audit`] (the hash-chained audit table), [`pii`] (personal data
//! encrypted at rest, looked up by keyed hash, masked in responses) and [`rekey`] (moving it to
//! the newest data key).

// The record derive names this crate by its path, from here as from a service.
extern crate self as qiancheng_platform;

pub mod admin;
pub mod audit;
pub mod auth;
pub mod call;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod explain;
pub mod gate;
mod http_call;
pub mod idempotency;
pub mod mask;
pub mod object_store;
pub mod oidc;
pub mod page;
pub mod pii;
pub mod record;
pub mod rekey;
pub mod server;
pub mod service;
pub mod stamp;
pub mod stream;
pub mod telemetry;
pub mod time;
pub mod tls;
pub mod token;
pub mod write;

// For the macros of this crate, which name domain types from a caller's crate.
#[doc(hidden)]
pub use qiancheng_domain as __domain;

pub use call::Call;
pub use error::Error;
pub use service::{ServiceSpec, Shared};
pub use stamp::Stamp;
