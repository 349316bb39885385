//! Suite-wide checks that no single service owns: `contracts.rs` holds every protobuf package
//! to the API conventions of docs/ARCHITECTURE.md, `topology.rs` holds `docker-compose.yml` and the
//! `Dockerfile` to the services the suite has, `selection_with_demand.rs` tries one service
//! calling another (selection drafting its catalog from demand), and `mtls.rs` the same two over
//! mutual TLS. Each service's own behaviour is
//! tested beside it, in `services/<service>/tests`, and the binary's in `services/qiancheng/tests`.

/// The services the suite has today, by short name; each must be in the production topology.
pub const SERVICES: &[&str] = &["demand", "selection", "supervision", "outcome", "subsidy"];

/// The services that call another, with the one they call: each has a signing key of its own,
/// trusted by its peer for its own SERVICE calls only.
pub const CALLERS: &[(&str, &str)] = &[
    ("selection", "demand"),
    ("supervision", "selection"),
    ("outcome", "supervision"),
    ("subsidy", "selection"),
    ("subsidy", "supervision"),
    ("subsidy", "outcome"),
];
