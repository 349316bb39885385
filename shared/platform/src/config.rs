//! Configuration of a service: an optional TOML file named by `QIANCHENG_CONFIG`, overridden by
//! environment variables with the `QIANCHENG_` prefix. Every variable is listed in
//! [`VARIABLES`], which the binary's `--help` and the README print.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::token::{ISSUED_AT_LEEWAY_SECS, ISSUER, Role};

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
        "QIANCHENG_AUTH_LEEWAY_SECS",
        "how far ahead of this server's clock a token's issue time (iat) or start (nbf) may lie; an expiry is never extended (default 60)",
    ),
    (
        "QIANCHENG_OIDC_ISSUER",
        "issuer (iss) of the people's identity provider, exactly as its tokens name it: its tokens are then trusted for people's roles, never for SERVICE (default off)",
    ),
    (
        "QIANCHENG_OIDC_AUDIENCE",
        "comma-separated audiences (aud): a token of the identity provider must name one of them (required with QIANCHENG_OIDC_ISSUER)",
    ),
    (
        "QIANCHENG_OIDC_JWKS",
        "the identity provider's public keys (EdDSA, RS256, ES256): a JWKS file, or an http:// or https:// URL; redirects are followed on the same host only (required with QIANCHENG_OIDC_ISSUER)",
    ),
    (
        "QIANCHENG_OIDC_JWKS_REFRESH_SECS",
        "how often the JWKS is read again, so rotated keys are trusted without a restart (default 300)",
    ),
    (
        "QIANCHENG_OIDC_JWKS_MIN_REFRESH_SECS",
        "a token naming a key id the JWKS does not hold reads the JWKS again at once, but no more often than this (default 10)",
    ),
    (
        "QIANCHENG_OIDC_CA_FILE",
        "PEM CA certificates an https JWKS URL is verified against (default: the system's trust store)",
    ),
    ("QIANCHENG_OIDC_SUBJECT_CLAIM", "claim naming the caller (default sub); a dotted path reaches into objects"),
    (
        "QIANCHENG_OIDC_ROLES_CLAIM",
        "claim holding the caller's roles: a list, or one string separated by spaces or commas (default roles; Keycloak: realm_access.roles)",
    ),
    (
        "QIANCHENG_OIDC_REGION_CLAIM",
        "claim holding the region code (default region; a 9- or 12-digit division code ending in zeros is read as its 6-digit code)",
    ),
    ("QIANCHENG_OIDC_ORG_CLAIM", "claim holding the organisation's unified social credit code (default org)"),
    (
        "QIANCHENG_OIDC_ROLE_MAP",
        "comma-separated VALUE=ROLE pairs from the provider's role values to the suite's roles (hrss-city-admin=CITY_ADMIN,…); unset, values are read as the suite's role names; unmapped values are ignored; SERVICE cannot be mapped",
    ),
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
        "http://host:port, or https://host:port for TLS, of the peer service NAME (QIANCHENG_PEER_DEMAND_URL for selection's calls to demand, …)",
    ),
    ("QIANCHENG_PEER_TIMEOUT_MS", "deadline of each call to a peer service in milliseconds (default 5000)"),
    (
        "QIANCHENG_SERVICE_SIGNING_KEY_FILE",
        "Ed25519 private key this service signs its calls to peers with (its public key goes in their QIANCHENG_AUTH_PUBLIC_KEYS)",
    ),
    (
        "QIANCHENG_TLS_CERT_FILE",
        "PEM certificate chain of this service: with QIANCHENG_TLS_KEY_FILE the gRPC port serves TLS only, and calls to https peers present it as the client certificate; re-read when the file changes (default off: plaintext; dev is always plaintext)",
    ),
    (
        "QIANCHENG_TLS_KEY_FILE",
        "PEM private key (PKCS#8, PKCS#1 or SEC1) of QIANCHENG_TLS_CERT_FILE; re-read when the file changes",
    ),
    (
        "QIANCHENG_TLS_CA_FILE",
        "PEM CA certificates that peers' server certificates and, with QIANCHENG_TLS_CLIENT_AUTH, clients' certificates must chain to (peers default to the system's trust store); re-read when the file changes",
    ),
    (
        "QIANCHENG_TLS_CLIENT_AUTH",
        "none, optional or required: whether a client must present a certificate chaining to QIANCHENG_TLS_CA_FILE (required: mutual TLS; optional: those presented are verified) (default none)",
    ),
    (
        "QIANCHENG_TLS_CLIENT_SERVICES",
        "comma-separated services whose client certificate (SAN URI spiffe://qiancheng/service/NAME) stands in for their service token on calls without one (default none)",
    ),
    ("QIANCHENG_REQUEST_TIMEOUT_MS", "per-request timeout in milliseconds (default 10000)"),
    (
        "QIANCHENG_CONCURRENCY_LIMIT",
        "requests served at once before new ones are shed with RESOURCE_EXHAUSTED (default 256)",
    ),
    ("QIANCHENG_MAX_MESSAGE_BYTES", "largest request or response message (default 4194304)"),
    (
        "QIANCHENG_SUBSIDY_REEXAMINATION_DAYS",
        "days after a claim's review within which its provider may ask once for a re-examination (复核) of an excluded line or a return (default 15)",
    ),
    (
        "QIANCHENG_HOLIDAY_CALENDAR_FILE",
        "CSV (date,kind,name) of the national holiday calendar of years published after this build, added to the bundled 2025 and 2026 (public notice counts working days by it); checked at start-up (default none)",
    ),
    (
        "QIANCHENG_STREAM_IDLE_TIMEOUT_MS",
        "a client stream (bulk import) that sends nothing for this long is ended; streams have no total deadline (default 30000)",
    ),
    ("QIANCHENG_STREAMS_PER_CALLER", "client streams one caller may run at once (default 2)"),
    (
        "QIANCHENG_DB_MAX_CONNECTIONS",
        "database pool size, and as many kept for reads (default 10 on PostgreSQL, 4 on SQLite)",
    ),
    ("QIANCHENG_LOG_FORMAT", "pretty or json (default pretty)"),
    (
        "QIANCHENG_STANDING_SWEEP_INTERVAL_MS",
        "supervision: how often every provider with a running class is checked against selection's standing (PROV-DISQUALIFIED); 0 for never (default 300000)",
    ),
    ("RUST_LOG", "log filter (default info)"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "when set, traces go to this OTLP/gRPC collector (W3C trace context)"),
    ("OTEL_SERVICE_NAME", "service name reported to the collector (default qiancheng-<service>)"),
];

/// Whether a TLS server asks its clients for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsClientAuth {
    /// Clients present no certificate.
    #[default]
    None,
    /// A client may present one; one presented must chain to the CA.
    Optional,
    /// Every client presents one chaining to the CA (mutual TLS).
    Required,
}

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
    /// How far ahead an issue or start time may lie, seconds.
    pub auth_leeway_secs: i64,
    /// Issuer of the people's identity provider; `None`: no provider.
    pub oidc_issuer: Option<String>,
    /// Audiences a provider's token must name one of.
    pub oidc_audience: Vec<String>,
    /// The provider's JWKS: a file path or an http(s) URL.
    pub oidc_jwks: Option<String>,
    /// How often the JWKS is read again, seconds.
    pub oidc_jwks_refresh_secs: u64,
    /// Least time between reads of the JWKS caused by unknown key ids, seconds.
    pub oidc_jwks_min_refresh_secs: u64,
    /// CA certificates an https JWKS URL is verified against.
    pub oidc_ca_file: Option<PathBuf>,
    /// Claim naming the caller.
    pub oidc_subject_claim: String,
    /// Claim holding the roles.
    pub oidc_roles_claim: String,
    /// Claim holding the region code.
    pub oidc_region_claim: String,
    /// Claim holding the organisation's credit code.
    pub oidc_org_claim: String,
    /// The provider's role values mapped to the suite's roles; empty: values are role names.
    pub oidc_role_map: BTreeMap<String, Role>,
    /// This service's TLS certificate chain (PEM).
    pub tls_cert_file: Option<PathBuf>,
    /// This service's TLS private key (PEM).
    pub tls_key_file: Option<PathBuf>,
    /// CA certificates peers and clients are verified against (PEM).
    pub tls_ca_file: Option<PathBuf>,
    /// Whether clients must present a certificate.
    pub tls_client_auth: TlsClientAuth,
    /// Services whose client certificate stands in for their token.
    pub tls_client_services: Vec<String>,
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
    /// Days after a claim's review within which its provider may ask for a re-examination (复核).
    pub subsidy_reexamination_days: u32,
    /// A CSV of later years' holiday calendar, added to the bundled one.
    pub holiday_calendar_file: Option<PathBuf>,
    /// Idle timeout of a client stream, milliseconds.
    pub stream_idle_timeout_ms: u64,
    /// Client streams one caller may run at once.
    pub streams_per_caller: usize,
    /// Database pool size.
    pub db_max_connections: Option<u32>,
    /// `pretty` or `json`.
    pub log_format: String,
    /// Supervision: how often providers with running classes are checked against selection's
    /// standing (PROV-DISQUALIFIED), in milliseconds; 0 for never.
    pub standing_sweep_interval_ms: u64,
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
            auth_leeway_secs: ISSUED_AT_LEEWAY_SECS,
            oidc_issuer: None,
            oidc_audience: Vec::new(),
            oidc_jwks: None,
            oidc_jwks_refresh_secs: 300,
            oidc_jwks_min_refresh_secs: 10,
            oidc_ca_file: None,
            oidc_subject_claim: "sub".to_owned(),
            oidc_roles_claim: "roles".to_owned(),
            oidc_region_claim: "region".to_owned(),
            oidc_org_claim: "org".to_owned(),
            oidc_role_map: BTreeMap::new(),
            tls_cert_file: None,
            tls_key_file: None,
            tls_ca_file: None,
            tls_client_auth: TlsClientAuth::None,
            tls_client_services: Vec::new(),
            data_key: None,
            data_keys: None,
            policy_set: None,
            peers: BTreeMap::new(),
            peer_timeout_ms: 5_000,
            service_signing_key_file: None,
            request_timeout_ms: 10_000,
            concurrency_limit: 256,
            max_message_bytes: 4 * 1024 * 1024,
            subsidy_reexamination_days: 15,
            holiday_calendar_file: None,
            stream_idle_timeout_ms: 30_000,
            streams_per_caller: 2,
            db_max_connections: None,
            log_format: "pretty".to_owned(),
            standing_sweep_interval_ms: 300_000,
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
        settings.load_identity_and_tls(&lookup)?;
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
        if let Some(v) = lookup("QIANCHENG_SUBSIDY_REEXAMINATION_DAYS") {
            settings.subsidy_reexamination_days =
                v.parse().map_err(|_| parse("QIANCHENG_SUBSIDY_REEXAMINATION_DAYS", &v))?;
        }
        if let Some(v) = lookup("QIANCHENG_HOLIDAY_CALENDAR_FILE").filter(|v| !v.trim().is_empty()) {
            let file = PathBuf::from(v);
            // A calendar that does not read stops the start, not the first notice of the year.
            qiancheng_domain::policy::calendar::HolidayCalendar::bundled_with_file(&file)
                .map_err(|why| Error::Config(format!("QIANCHENG_HOLIDAY_CALENDAR_FILE: {why}")))?;
            settings.holiday_calendar_file = Some(file);
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
        if let Some(v) = lookup("QIANCHENG_STANDING_SWEEP_INTERVAL_MS") {
            settings.standing_sweep_interval_ms =
                v.parse().map_err(|_| parse("QIANCHENG_STANDING_SWEEP_INTERVAL_MS", &v))?;
        }
        if settings.streams_per_caller == 0 || settings.stream_idle_timeout_ms == 0 {
            return Err(Error::Config(
                "QIANCHENG_STREAMS_PER_CALLER and QIANCHENG_STREAM_IDLE_TIMEOUT_MS must be at least 1".into(),
            ));
        }
        if settings.concurrency_limit == 0 {
            return Err(Error::Config("QIANCHENG_CONCURRENCY_LIMIT must be at least 1".into()));
        }
        settings.check_identity_and_tls()?;
        Ok(settings)
    }

    /// Reads the identity provider's and TLS variables (`QIANCHENG_AUTH_LEEWAY_SECS`,
    /// `QIANCHENG_OIDC_*`, `QIANCHENG_TLS_*`).
    fn load_identity_and_tls(&mut self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
        let present = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let list = |v: String| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let number =
            |key: &str, v: &str| v.trim().parse().map_err(|_| Error::Config(format!("{key}={v} is not valid")));
        if let Some(v) = present("QIANCHENG_AUTH_LEEWAY_SECS") {
            self.auth_leeway_secs = number("QIANCHENG_AUTH_LEEWAY_SECS", &v)?;
        }
        if let Some(v) = present("QIANCHENG_OIDC_ISSUER") {
            self.oidc_issuer = Some(v.trim().to_owned());
        }
        if let Some(v) = present("QIANCHENG_OIDC_AUDIENCE") {
            self.oidc_audience = list(v);
        }
        if let Some(v) = present("QIANCHENG_OIDC_JWKS") {
            self.oidc_jwks = Some(v.trim().to_owned());
        }
        if let Some(v) = present("QIANCHENG_OIDC_JWKS_REFRESH_SECS") {
            self.oidc_jwks_refresh_secs = u64::try_from(number("QIANCHENG_OIDC_JWKS_REFRESH_SECS", &v)?)
                .map_err(|_| Error::Config("QIANCHENG_OIDC_JWKS_REFRESH_SECS must be positive".into()))?;
        }
        if let Some(v) = present("QIANCHENG_OIDC_JWKS_MIN_REFRESH_SECS") {
            self.oidc_jwks_min_refresh_secs = u64::try_from(number("QIANCHENG_OIDC_JWKS_MIN_REFRESH_SECS", &v)?)
                .map_err(|_| Error::Config("QIANCHENG_OIDC_JWKS_MIN_REFRESH_SECS must not be negative".into()))?;
        }
        if let Some(v) = present("QIANCHENG_OIDC_CA_FILE") {
            self.oidc_ca_file = Some(PathBuf::from(v));
        }
        for (key, claim) in [
            ("QIANCHENG_OIDC_SUBJECT_CLAIM", &mut self.oidc_subject_claim),
            ("QIANCHENG_OIDC_ROLES_CLAIM", &mut self.oidc_roles_claim),
            ("QIANCHENG_OIDC_REGION_CLAIM", &mut self.oidc_region_claim),
            ("QIANCHENG_OIDC_ORG_CLAIM", &mut self.oidc_org_claim),
        ] {
            if let Some(v) = present(key) {
                *claim = v.trim().to_owned();
            }
        }
        if let Some(v) = present("QIANCHENG_OIDC_ROLE_MAP") {
            self.oidc_role_map.clear();
            for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (value, role) = pair
                    .rsplit_once('=')
                    .ok_or_else(|| Error::Config(format!("QIANCHENG_OIDC_ROLE_MAP: {pair} is not VALUE=ROLE")))?;
                let role = role.trim().parse().map_err(|e| Error::Config(format!("QIANCHENG_OIDC_ROLE_MAP: {e}")))?;
                self.oidc_role_map.insert(value.trim().to_owned(), role);
            }
        }
        if let Some(v) = present("QIANCHENG_TLS_CERT_FILE") {
            self.tls_cert_file = Some(PathBuf::from(v));
        }
        if let Some(v) = present("QIANCHENG_TLS_KEY_FILE") {
            self.tls_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = present("QIANCHENG_TLS_CA_FILE") {
            self.tls_ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = present("QIANCHENG_TLS_CLIENT_AUTH") {
            self.tls_client_auth = match v.trim().to_lowercase().as_str() {
                "none" => TlsClientAuth::None,
                "optional" => TlsClientAuth::Optional,
                "required" => TlsClientAuth::Required,
                _ => {
                    return Err(Error::Config(format!(
                        "QIANCHENG_TLS_CLIENT_AUTH={v}: one of none, optional, required"
                    )));
                }
            };
        }
        if let Some(v) = present("QIANCHENG_TLS_CLIENT_SERVICES") {
            self.tls_client_services = list(v.to_lowercase());
        }
        Ok(())
    }

    /// Refuses identity and TLS settings that cannot work together, naming the variables.
    fn check_identity_and_tls(&self) -> Result<(), Error> {
        let refuse = |why: &str| Err(Error::Config(why.to_owned()));
        if !(0..=3600).contains(&self.auth_leeway_secs) {
            return refuse("QIANCHENG_AUTH_LEEWAY_SECS must be 0 to 3600");
        }
        if self.oidc_issuer.as_deref() == Some(ISSUER) {
            return refuse("QIANCHENG_OIDC_ISSUER cannot be `qiancheng`: that issuer is the suite's own");
        }
        if self.oidc_issuer.is_some() && (self.oidc_audience.is_empty() || self.oidc_jwks.is_none()) {
            // Without an audience, a token the provider issued to any other application would do.
            return refuse("QIANCHENG_OIDC_ISSUER needs QIANCHENG_OIDC_AUDIENCE and QIANCHENG_OIDC_JWKS");
        }
        if self.oidc_role_map.values().any(|r| *r == Role::Service) {
            return refuse(
                "QIANCHENG_OIDC_ROLE_MAP cannot map to SERVICE: the identity provider speaks for people only",
            );
        }
        if self.oidc_jwks_refresh_secs == 0 {
            return refuse("QIANCHENG_OIDC_JWKS_REFRESH_SECS must be at least 1");
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return refuse("QIANCHENG_TLS_CERT_FILE and QIANCHENG_TLS_KEY_FILE go together");
        }
        if self.tls_client_auth != TlsClientAuth::None && (self.tls_ca_file.is_none() || self.tls_cert_file.is_none()) {
            return refuse(
                "QIANCHENG_TLS_CLIENT_AUTH needs QIANCHENG_TLS_CERT_FILE, QIANCHENG_TLS_KEY_FILE and QIANCHENG_TLS_CA_FILE",
            );
        }
        if !self.tls_client_services.is_empty() && self.tls_client_auth == TlsClientAuth::None {
            return refuse("QIANCHENG_TLS_CLIENT_SERVICES needs QIANCHENG_TLS_CLIENT_AUTH (optional or required)");
        }
        Ok(())
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
    fn a_later_holiday_calendar_is_read_at_start_and_a_bad_one_stops_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("2027.csv");
        std::fs::write(&good, "date,kind,name\n2027-01-01,holiday,元旦\n").expect("write");
        let key = "QIANCHENG_HOLIDAY_CALENDAR_FILE";
        let settings = Settings::load_from(&env(&[(key, good.to_str().expect("utf-8"))])).expect("valid");
        assert_eq!(settings.holiday_calendar_file.as_deref(), Some(good.as_path()));
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "date,kind,name\n2027-01-01,feast,x\n").expect("write");
        let refused = Settings::load_from(&env(&[(key, bad.to_str().expect("utf-8"))])).expect_err("bad kind");
        assert!(refused.to_string().contains(key), "{refused}");
        let missing = Settings::load_from(&env(&[(key, "/nonexistent/2027.csv")])).expect_err("no file");
        assert!(missing.to_string().contains(key), "{missing}");
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable() {
        let error = Settings::load_from(&env(&[("QIANCHENG_CONCURRENCY_LIMIT", "many")])).expect_err("not a number");
        assert!(error.to_string().contains("QIANCHENG_CONCURRENCY_LIMIT"));
    }

    #[test]
    fn the_identity_provider_and_tls_are_read_from_their_variables() {
        let settings = Settings::load_from(&env(&[
            ("QIANCHENG_OIDC_ISSUER", "https://sso.example/realms/hrss"),
            ("QIANCHENG_OIDC_AUDIENCE", "qiancheng, portal"),
            ("QIANCHENG_OIDC_JWKS", "https://sso.example/realms/hrss/certs"),
            ("QIANCHENG_OIDC_ROLES_CLAIM", "realm_access.roles"),
            ("QIANCHENG_OIDC_ROLE_MAP", "hrss-admin=CITY_ADMIN, hrss-county=county_officer"),
            ("QIANCHENG_AUTH_LEEWAY_SECS", "30"),
            ("QIANCHENG_TLS_CERT_FILE", "/run/tls/tls.crt"),
            ("QIANCHENG_TLS_KEY_FILE", "/run/tls/tls.key"),
            ("QIANCHENG_TLS_CA_FILE", "/run/tls/ca.crt"),
            ("QIANCHENG_TLS_CLIENT_AUTH", "Required"),
            ("QIANCHENG_TLS_CLIENT_SERVICES", "Selection, supervision"),
        ]))
        .expect("valid");
        assert_eq!(settings.oidc_audience, ["qiancheng", "portal"]);
        assert_eq!(settings.oidc_roles_claim, "realm_access.roles");
        assert_eq!(settings.oidc_subject_claim, "sub", "unset claims keep their defaults");
        assert_eq!(settings.oidc_role_map.get("hrss-county"), Some(&Role::CountyOfficer));
        assert_eq!(settings.auth_leeway_secs, 30);
        assert_eq!(settings.tls_client_auth, TlsClientAuth::Required);
        assert_eq!(settings.tls_client_services, ["selection", "supervision"]);
    }

    #[test]
    fn identity_and_tls_settings_that_cannot_work_are_refused_naming_the_variables() {
        for (pairs, named) in [
            (vec![("QIANCHENG_OIDC_ISSUER", "https://sso.example")], "QIANCHENG_OIDC_AUDIENCE"),
            (
                vec![
                    ("QIANCHENG_OIDC_ISSUER", "qiancheng"),
                    ("QIANCHENG_OIDC_AUDIENCE", "a"),
                    ("QIANCHENG_OIDC_JWKS", "k"),
                ],
                "QIANCHENG_OIDC_ISSUER",
            ),
            (vec![("QIANCHENG_OIDC_ROLE_MAP", "svc=SERVICE")], "QIANCHENG_OIDC_ROLE_MAP"),
            (vec![("QIANCHENG_OIDC_ROLE_MAP", "admin")], "QIANCHENG_OIDC_ROLE_MAP"),
            (vec![("QIANCHENG_OIDC_ROLE_MAP", "admin=MAYOR")], "QIANCHENG_OIDC_ROLE_MAP"),
            (vec![("QIANCHENG_AUTH_LEEWAY_SECS", "7200")], "QIANCHENG_AUTH_LEEWAY_SECS"),
            (vec![("QIANCHENG_TLS_CERT_FILE", "c")], "QIANCHENG_TLS_KEY_FILE"),
            (
                vec![
                    ("QIANCHENG_TLS_CERT_FILE", "c"),
                    ("QIANCHENG_TLS_KEY_FILE", "k"),
                    ("QIANCHENG_TLS_CLIENT_AUTH", "required"),
                ],
                "QIANCHENG_TLS_CA_FILE",
            ),
            (vec![("QIANCHENG_TLS_CLIENT_AUTH", "sometimes")], "QIANCHENG_TLS_CLIENT_AUTH"),
            (vec![("QIANCHENG_TLS_CLIENT_SERVICES", "selection")], "QIANCHENG_TLS_CLIENT_AUTH"),
        ] {
            let error = Settings::load_from(&env(&pairs)).expect_err("refused");
            assert!(error.to_string().contains(named), "{pairs:?}: {error}");
        }
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
