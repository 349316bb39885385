//! The suite's metrics, each instrument made once per process:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `rpc.server.duration` (ms) | histogram | `rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code` |
//! | `rpc.client.duration` (ms) | histogram | the same, for calls to peers |
//! | `db.client.connections.usage` | gauge | `pool.name`, `state` (`used`, `idle`) |
//! | `db.client.connections.pending_requests` | up-down counter | `pool.name` (writers waiting for a connection) |
//! | `db.client.connections.wait_time` (ms) | histogram | `pool.name` |
//! | `qiancheng.idempotent.replays` | counter | `rpc.method` |
//! | `qiancheng.audit.chain.length` | gauge | `pool.name` |
//! | `qiancheng.audit.chain.broken` | counter | `pool.name` (a verification found a broken row) |
//! | `qiancheng.changes` | counter | `action` (`vacancy.publish`, `round.decide`, …): the business counters |

use std::sync::OnceLock;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, UpDownCounter};
use opentelemetry::{KeyValue, global};

/// Every instrument of the suite.
#[derive(Debug)]
pub struct Instruments {
    /// Server call duration.
    pub server_duration: Histogram<f64>,
    /// Client (peer) call duration.
    pub client_duration: Histogram<f64>,
    /// Requests answered from their stored first response.
    pub replays: Counter<u64>,
    /// Audited changes, by action.
    pub changes: Counter<u64>,
    /// The audit chain's last sequence number.
    pub audit_length: Gauge<u64>,
    /// Verifications that found a broken chain.
    pub audit_broken: Counter<u64>,
    /// Time a writer waited for a connection.
    pub db_wait: Histogram<f64>,
    /// Writers waiting for a connection now.
    pub db_pending: UpDownCounter<i64>,
}

/// The meter of the suite.
pub fn meter() -> Meter {
    global::meter("qiancheng")
}

/// The instruments, made on first use (after [`super::init`] in a process that exports).
pub fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = meter();
        Instruments {
            server_duration: meter
                .f64_histogram("rpc.server.duration")
                .with_unit("ms")
                .with_description("Duration of calls served")
                .build(),
            client_duration: meter
                .f64_histogram("rpc.client.duration")
                .with_unit("ms")
                .with_description("Duration of calls to peer services")
                .build(),
            replays: meter
                .u64_counter("qiancheng.idempotent.replays")
                .with_description("Requests answered from their stored first response")
                .build(),
            changes: meter
                .u64_counter("qiancheng.changes")
                .with_description("Audited changes by action (vacancy.publish, round.decide, ...)")
                .build(),
            audit_length: meter
                .u64_gauge("qiancheng.audit.chain.length")
                .with_description("Rows in the audit chain")
                .build(),
            audit_broken: meter
                .u64_counter("qiancheng.audit.chain.broken")
                .with_description("Audit chain verifications that found a broken row")
                .build(),
            db_wait: meter
                .f64_histogram("db.client.connections.wait_time")
                .with_unit("ms")
                .with_description("Time a write transaction waited to begin")
                .build(),
            db_pending: meter
                .i64_up_down_counter("db.client.connections.pending_requests")
                .with_description("Write transactions waiting to begin")
                .build(),
        }
    })
}

/// Counts a request answered from its stored first response.
pub fn count_replay(method: &'static str) {
    instruments().replays.add(1, &[KeyValue::new("rpc.method", method)]);
}

/// Counts an audited change.
pub fn count_change(action: &str) {
    instruments().changes.add(1, &[KeyValue::new("action", action.to_owned())]);
}
