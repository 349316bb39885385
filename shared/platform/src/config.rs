//! Configuration of a service: an optional TOML file named by `QIANCHENG_CONFIG`, overridden by
//! environment variables with the `QIANCHENG_` prefix. Every variable is listed in
//! [`VARIABLES`], which the binary's `--help` and the README print.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;

/// The longest token lifetime trusted unless configured otherwise: a working day and a half.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: i64 = 36 * 3600;

/// Every configuration variable with what it means and its default.
pub const VARIABLES: &[(&str, &str)] = &[
    ("QIANCHENG_CONFIG", "path of an optional TOML file with the same keys in lower case, without the prefix"),
    ("QIANCHENG_BIND_ADDR", "address a served service listens on (default 0.0.0.0:50051)"),
    (
        "QIANCHENG_ADMIN_ADDR",
        "address of the admin port: /metrics (Prometheus), /livez, /readyz (default off; dev and compose set it)",
    ),
    (
        "QIANCHENG_READINESS_INTERVAL_MS",
        "how often the database is checked; while it does not answer, health is NOT_SERVING (default 5000)",
    ),
    ("QIANCHENG_DATA_DIR", "folder of the SQLite files and development keys (default ./data)"),
    ("QIANCHENG_DATABASE_URL", "sqlite:// or postgres:// URL (default: a SQLite file per service in the data folder)"),
    (
        "QIANCHENG_AUTH_PUBLIC_KEYS",
        "comma-separated base64 Ed25519 public keys that sign bearer tokens (required by serve)",
    ),
    (
        "QIANCHENG_AUTH_SIGNING_KEY_FILE",
        "Ed25519 private key used by `qiancheng token` and `qiancheng dev` (default DATA_DIR/dev-signing.key)",
    ),
    (
        "QIANCHENG_SERVICE_PUBLIC_KEYS",
        "comma-separated NAME=base64 public keys of the services that call this one (selection=…); each may sign only its own SERVICE calls",
    ),
    (
        "QIANCHENG_AUTH_REVOCATIONS",
        "file of revoked subjects, one `subject issued_before_secs` a line: their older tokens are refused (re-read every 30 s)",
    ),
    ("QIANCHENG_AUTH_MAX_TOKEN_HOURS", "longest lifetime of a bearer token that is trusted (default 36)"),
    (
        "QIANCHENG_DATA_KEY",
        "base64 32-byte original data key (id v1, AES-256-GCM and HMAC-SHA-256) sealing personal data at rest; serve needs it or QIANCHENG_DATA_KEYS",
    ),
    (
        "QIANCHENG_DATA_KEYS",
        "further data keys, oldest first, as comma-separated ID:PROFILE:BASE64 (PROFILE standard, or gm for SM4-GCM and HMAC-SM3); the last seals new values, every one still decrypts (docs/CRYPTOGRAPHY.md)",
    ),
    (
        "QIANCHENG_POLICY_SET",
        "TOML file of the policy set new decisions are made under (default: the built-in xianning-2025-5/v2; v1 stays loadable for replay)",
    ),
    (
        "QIANCHENG_PEER_<NAME>_URL",
        "http://host:port of the peer service NAME (QIANCHENG_PEER_DEMAND_URL for selection's calls to demand, …)",
    ),
    ("QIANCHENG_PEER_TIMEOUT_MS", "deadline of each call to a peer service in milliseconds (default 5000)"),
    (
        "QIANCHENG_SERVICE_SIGNING_KEY_FILE",
        "Ed25519 private key this service signs its calls to peers with (its public key goes in their QIANCHENG_AUTH_PUBLIC_KEYS)",
    ),
    ("QIANCHENG_REQUEST_TIMEOUT_MS", "per-request timeout in milliseconds (default 10000)"),
    (
        "QIANCHENG_CONCURRENCY_LIMIT",
        "requests served at once before new ones are shed with RESOURCE_EXHAUSTED (default 256)",
    ),
    ("QIANCHENG_MAX_MESSAGE_BYTES", "largest request or response message (default 4194304)"),
    (
        "QIANCHENG_STREAM_IDLE_TIMEOUT_MS",
        "a client stream (bulk import) that sends nothing for this long is ended; streams have no total deadline (default 30000)",
    ),
    ("QIANCHENG_STREAMS_PER_CALLER", "client streams one caller may run at once (default 2)"),
    ("QIANCHENG_DB_MAX_CONNECTIONS", "database pool size (default 10 on PostgreSQL, 4 on SQLite)"),
    ("QIANCHENG_LOG_FORMAT", "pretty or json (default pretty)"),
    ("RUST_LOG", "log filter (default info)"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "when set, traces go to this OTLP/gRPC collector (W3C trace context)"),
    ("OTEL_SERVICE_NAME", "service name reported to the collector (default qiancheng-<service>)"),
];

/// Settings of one service process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Listen address for `serve`.
    pub bind_addr: SocketAddr,
    /// Admin port address, if any.
    pub admin_addr: Option<SocketAddr>,
    /// Readiness check interval, milliseconds.
    pub readiness_interval_ms: u64,
    /// Folder of SQLite files and development keys.
    pub data_dir: PathBuf,
    /// Database URL; `None` means a SQLite file per service in `data_dir`.
    pub database_url: Option<String>,
    /// Base64 Ed25519 public keys that may sign tokens.
    pub auth_public_keys: Vec<String>,
    /// Each calling service's public key, by service name.
    pub service_public_keys: BTreeMap<String, String>,
    /// File of revoked subjects.
    pub auth_revocations: Option<PathBuf>,
    /// Longest token lifetime trusted, seconds.
    pub auth_max_token_lifetime_secs: i64,
    /// File holding the development signing key.
    pub auth_signing_key_file: Option<PathBuf>,
    /// Base64 original data key (`v1`).
    pub data_key: Option<String>,
    /// Further data keys, `ID:PROFILE:BASE64` entries, oldest first.
    pub data_keys: Option<String>,
    /// Policy-set file; `None` means the built-in set.
    pub policy_set: Option<PathBuf>,
    /// URLs of peer services by short name (`demand`).
    pub peers: BTreeMap<String, String>,
    /// Deadline of each call to a peer, milliseconds.
    pub peer_timeout_ms: u64,
    /// Key this service signs its calls to peers with.
    pub service_signing_key_file: Option<PathBuf>,
    /// Per-request timeout in milliseconds.
    pub request_timeout_ms: u64,
    /// Requests in flight before shedding.
    pub concurrency_limit: usize,
    /// Largest message in bytes.
    pub max_message_bytes: usize,
    /// Idle timeout of a client stream, milliseconds.
    pub stream_idle_timeout_ms: u64,
    /// Client streams one caller may run at once.
    pub streams_per_caller: usize,
    /// Database pool size.
    pub db_max_connections: Option<u32>,
    /// `pretty` or `json`.
    pub log_format: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind_addr: SocketAddr::from(([0, 0, 0, 0], 50051)),
            admin_addr: None,
            readiness_interval_ms: 5_000,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            auth_public_keys: Vec::new(),
            auth_signing_key_file: None,
            service_public_keys: BTreeMap::new(),
            auth_revocations: None,
            auth_max_token_lifetime_secs: DEFAULT_MAX_TOKEN_LIFETIME_SECS,
            data_key: None,
            data_keys: None,
            policy_set: None,
            peers: BTreeMap::new(),
            peer_timeout_ms: 5_000,
            service_signing_key_file: None,
            request_timeout_ms: 10_000,
            concurrency_limit: 256,
            max_message_bytes: 4 * 1024 * 1024,
            stream_idle_timeout_ms: 30_000,
            streams_per_caller: 2,
            db_max_connections: None,
            log_format: "pretty".to_owned(),
        }
    }
}

impl Settings {
    /// Reads the optional file, then the environment.
    pub fn load() -> Result<Self, Error> {
        Self::load_from(&std::env::vars().collect())
    }

    /// The variable naming the URL of peer `name` (`QIANCHENG_PEER_DEMAND_URL`).
    pub fn peer_variable(name: &str) -> String {
        format!("QIANCHENG_PEER_{}_URL", name.to_uppercase())
    }

    /// Reads settings with `env` standing in for the environment.
    pub fn load_from(env: &BTreeMap<String, String>) -> Result<Self, Error> {
        let lookup = |key: &str| env.get(key).cloned();
        let mut settings = match lookup("QIANCHENG_CONFIG") {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| Error::Config(format!("cannot read {path}: {e}")))?;
                toml::from_str(&text).map_err(|e| Error::Config(format!("{path}: {e}")))?
            }
            None => Settings::default(),
        };
        let parse = |key: &str, value: &str| Error::Config(format!("{key}={value} is not valid"));
        if let Some(v) = lookup("QIANCHENG_BIND_ADDR") {
            settings.bind_addr = v.parse().map_err(|_| parse("QIANCHENG_BIND_ADDR", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_ADMIN_ADDR").filter(|v| !v.is_empty()) {
            settings.admin_addr = Some(v.parse().map_err(|_| parse("QIANCHENG_ADMIN_ADDR", &v))?);
        }
        if let Some(v) = lookup("QIANCHENG_READINESS_INTERVAL_MS") {
            settings.readiness_interval_ms = v.parse().map_err(|_| parse("QIANCHENG_READINESS_INTERVAL_MS", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_DATA_DIR") {
            settings.data_dir = PathBuf::from(v);
        }
        if let Some(v) = lookup("QIANCHENG_DATABASE_URL").filter(|v| !v.is_empty()) {
            settings.database_url = Some(v);
        }
        if let Some(v) = lookup("QIANCHENG_AUTH_PUBLIC_KEYS") {
            settings.auth_public_keys =
                v.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect();
        }
        if let Some(v) = lookup("QIANCHENG_SERVICE_PUBLIC_KEYS") {
            for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (name, key) = pair
                    .split_once('=')
                    .ok_or_else(|| Error::Config(format!("QIANCHENG_SERVICE_PUBLIC_KEYS: {pair} is not NAME=KEY")))?;
                settings.service_public_keys.insert(name.trim().to_lowercase(), key.trim().to_owned());
            }
        }
        if let Some(v) = lookup("QIANCHENG_AUTH_REVOCATIONS").filter(|v| !v.is_empty()) {
            settings.auth_revocations = Some(PathBuf::from(v));
        }
        if let Some(v) = lookup("QIANCHENG_AUTH_MAX_TOKEN_HOURS") {
            let hours: i64 = v.parse().map_err(|_| parse("QIANCHENG_AUTH_MAX_TOKEN_HOURS", &v))?;
            if !(1..=24 * 31).contains(&hours) {
                return Err(Error::Config("QIANCHENG_AUTH_MAX_TOKEN_HOURS must be 1 to 744".to_owned()));
            }
            settings.auth_max_token_lifetime_secs = hours * 3600;
        }
        if let Some(v) = lookup("QIANCHENG_AUTH_SIGNING_KEY_FILE") {
            settings.auth_signing_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = lookup("QIANCHENG_DATA_KEY").filter(|v| !v.is_empty()) {
            settings.data_key = Some(v);
        }
        if let Some(v) = lookup("QIANCHENG_DATA_KEYS").filter(|v| !v.is_empty()) {
            settings.data_keys = Some(v);
        }
        if let Some(v) = lookup("QIANCHENG_POLICY_SET").filter(|v| !v.is_empty()) {
            settings.policy_set = Some(PathBuf::from(v));
        }
        for (key, value) in env {
            let peer = key.strip_prefix("QIANCHENG_PEER_").and_then(|k| k.strip_suffix("_URL"));
            if let Some(peer) = peer.filter(|p| !p.is_empty())
                && !value.is_empty()
            {
                settings.peers.insert(peer.to_lowercase(), value.clone());
            }
        }
        if let Some(v) = lookup("QIANCHENG_PEER_TIMEOUT_MS") {
            settings.peer_timeout_ms = v.parse().map_err(|_| parse("QIANCHENG_PEER_TIMEOUT_MS", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_SERVICE_SIGNING_KEY_FILE").filter(|v| !v.is_empty()) {
            settings.service_signing_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = lookup("QIANCHENG_REQUEST_TIMEOUT_MS") {
            settings.request_timeout_ms = v.parse().map_err(|_| parse("QIANCHENG_REQUEST_TIMEOUT_MS", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_CONCURRENCY_LIMIT") {
            settings.concurrency_limit = v.parse().map_err(|_| parse("QIANCHENG_CONCURRENCY_LIMIT", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_MAX_MESSAGE_BYTES") {
            settings.max_message_bytes = v.parse().map_err(|_| parse("QIANCHENG_MAX_MESSAGE_BYTES", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_STREAM_IDLE_TIMEOUT_MS") {
            settings.stream_idle_timeout_ms = v.parse().map_err(|_| parse("QIANCHENG_STREAM_IDLE_TIMEOUT_MS", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_STREAMS_PER_CALLER") {
            settings.streams_per_caller = v.parse().map_err(|_| parse("QIANCHENG_STREAMS_PER_CALLER", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_DB_MAX_CONNECTIONS") {
            settings.db_max_connections = Some(v.parse().map_err(|_| parse("QIANCHENG_DB_MAX_CONNECTIONS", &v))?);
        }
        if let Some(v) = lookup("QIANCHENG_LOG_FORMAT") {
            settings.log_format = v;
        }
        if settings.streams_per_caller == 0 || settings.stream_idle_timeout_ms == 0 {
            return Err(Error::Config(
                "QIANCHENG_STREAMS_PER_CALLER and QIANCHENG_STREAM_IDLE_TIMEOUT_MS must be at least 1".into(),
            ));
        }
        if settings.concurrency_limit == 0 {
            return Err(Error::Config("QIANCHENG_CONCURRENCY_LIMIT must be at least 1".into()));
        }
        Ok(settings)
    }

    /// The deadline of each call to a peer.
    pub fn peer_timeout(&self) -> Duration {
        Duration::from_millis(self.peer_timeout_ms)
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The database URL of `service`: the configured one, or its SQLite file in the data folder.
    pub fn database_url_for(&self, service: &str) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join(format!("{service}.db")).display()))
    }

    /// The development signing-key file.
    pub fn signing_key_file(&self) -> PathBuf {
        self.auth_signing_key_file.clone().unwrap_or_else(|| self.data_dir.join("dev-signing.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn environment_overrides_defaults() {
        let settings = Settings::load_from(&env(&[
            ("QIANCHENG_BIND_ADDR", "127.0.0.1:7000"),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", "a, b"),
            ("QIANCHENG_REQUEST_TIMEOUT_MS", "250"),
            ("QIANCHENG_PEER_DEMAND_URL", "http://demand:50051"),
            ("QIANCHENG_PEER_SELECTION_URL", "http://selection:50051"),
        ]))
        .expect("valid");
        assert_eq!(settings.bind_addr.port(), 7000);
        assert_eq!(settings.auth_public_keys, ["a", "b"]);
        assert_eq!(settings.request_timeout(), Duration::from_millis(250));
        assert!(settings.database_url_for("demand").ends_with("demand.db?mode=rwc"));
        assert_eq!(settings.peers.get("demand").map(String::as_str), Some("http://demand:50051"));
        assert_eq!(settings.peers.len(), 2, "any number of peers, each by its own variable");
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable() {
        let error = Settings::load_from(&env(&[("QIANCHENG_CONCURRENCY_LIMIT", "many")])).expect_err("not a number");
        assert!(error.to_string().contains("QIANCHENG_CONCURRENCY_LIMIT"));
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("q.toml");
        std::fs::write(&path, "request_timeout_ms = 5\nlog_format = \"json\"\n").expect("write");
        let path_text = path.display().to_string();
        let settings =
            Settings::load_from(&env(&[("QIANCHENG_CONFIG", &path_text), ("QIANCHENG_LOG_FORMAT", "pretty")]))
                .expect("valid");
        assert_eq!(settings.request_timeout_ms, 5);
        assert_eq!(settings.log_format, "pretty");
    }
}
