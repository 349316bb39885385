//! Starting the suite's services: all of them in one process for development, or one of them
//! from configuration for production. Every service is a [`ServiceSpec`]; nothing here knows
//! one service from another.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::Error;
use qiancheng_platform::admin::Readiness;
use qiancheng_platform::auth::{Authenticator, Role, TokenMinter};
use qiancheng_platform::client::ServiceCredentials;
use qiancheng_platform::config::Settings;
use qiancheng_platform::db::Db;
use qiancheng_platform::pii::PiiCipher;
use qiancheng_platform::server::{ServerConfig, serve as serve_routes, shutdown_signal};
use qiancheng_platform::service::{Peer, Peers};
use qiancheng_platform::stream::StreamLimits;
use qiancheng_platform::tls::{ClientTls, ServerTls, TlsConnect};
use qiancheng_platform::{ServiceSpec, Shared};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The admin port of `dev` (Prometheus text, liveness, readiness of the whole suite).
const DEV_ADMIN_PORT: u16 = 9464;

/// The services this build contains, in port order.
pub static SERVICES: &[&dyn ServiceSpec] = &[
    &qiancheng_demand::Spec,
    &qiancheng_selection::Spec,
    &qiancheng_supervision::Spec,
    &qiancheng_outcome::Spec,
    &qiancheng_subsidy::Spec,
];

/// Every service of the plan in port order: `dev` serves each at the base port plus its place.
const PORT_ORDER: &[&str] = &["demand", "selection", "supervision", "outcome", "subsidy"];

/// The services' short names, in port order.
pub fn names() -> Vec<&'static str> {
    SERVICES.iter().map(|s| s.name()).collect()
}

fn spec(name: &str) -> Result<&'static dyn ServiceSpec, Error> {
    SERVICES
        .iter()
        .copied()
        .find(|s| s.name() == name)
        .ok_or_else(|| Error::Config(format!("unknown service {name}; one of {}", names().join(", "))))
}

/// The policy set of the configuration: a file, or the built-in set.
fn policy_set(settings: &Settings) -> Result<PolicySet, Error> {
    match &settings.policy_set {
        None => Ok(PolicySet::current()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("cannot read policy set {}: {e}", path.display())))?;
            PolicySet::from_toml_str(&text).map_err(|e| Error::Config(format!("policy set {}: {e}", path.display())))
        }
    }
}

/// Connects to `spec`'s database and applies its migrations, or says in one line why not.
async fn open_db(spec: &dyn ServiceSpec, settings: &Settings) -> Result<Db, Error> {
    let url = settings.database_url_for(spec.name());
    Db::connect(&url, settings.db_max_connections, spec.migrator()).await.map_err(|e| {
        Error::Config(format!("cannot open the {} database at {}: {}", spec.name(), redact(&url), e.report()))
    })
}

/// The peers `spec` calls, at the URLs of `urls`, with `credentials`. A peer without a URL is
/// left out: the calls that need it answer `UNAVAILABLE` naming the variable to set.
fn peers(
    spec: &dyn ServiceSpec,
    settings: &Settings,
    urls: &BTreeMap<String, String>,
    credentials: Option<&ServiceCredentials>,
) -> Result<Peers, Error> {
    let mut peers = Vec::new();
    for name in spec.peers() {
        let Some(url) = urls.get(*name) else {
            tracing::warn!(service = spec.name(), peer = name, variable = %Settings::peer_variable(name), "peer not configured");
            continue;
        };
        let credentials = credentials.ok_or_else(|| {
            Error::Config(format!(
                "{} needs QIANCHENG_SERVICE_SIGNING_KEY_FILE to sign its calls to {name} (or an https URL and \
                 QIANCHENG_TLS_CERT_FILE, where {name} lets the certificate stand in for a token)",
                Settings::peer_variable(name)
            ))
        })?;
        if settings.tls_cert_file.is_some() && url.starts_with("http://") {
            tracing::warn!(service = spec.name(), peer = name, %url, "TLS is configured but this peer is called in plaintext");
        }
        peers.push(Peer::connect(name, url, credentials.clone(), settings.peer_timeout())?);
    }
    Ok(Peers::new(peers))
}

/// Runs one service from configuration until SIGTERM or Ctrl-C. It reaches its database and
/// applies migrations before it listens, and logs the address it really bound.
pub async fn serve(settings: Settings, name: &str) -> Result<(), Error> {
    let spec = spec(name)?;
    let _telemetry = qiancheng_platform::telemetry::init(spec.name(), &settings.log_format)?;
    let auth = Authenticator::configured(&settings).await?;
    if let Some(path) = settings.auth_revocations.clone() {
        watch_revocations(auth.clone(), path).await?;
    }
    let pii = PiiCipher::from_config(settings.data_key.as_deref(), settings.data_keys.as_deref())?;
    let credentials = service_credentials(spec, &settings)?;
    let tls = ServerTls::from_settings(&settings)?;
    let policy = policy_set(&settings)?;
    let peers = peers(spec, &settings, &settings.peers, credentials.as_ref())?;
    let db = open_db(spec, &settings).await?;
    watch_data_keys(spec, &db, &pii).await?;
    let listener = TcpListener::bind(settings.bind_addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", settings.bind_addr)))?;
    let addr = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    let readiness = Readiness::default();
    if let Some(admin) = settings.admin_addr {
        let admin = qiancheng_platform::admin::start(admin, readiness.clone()).await?;
        tracing::info!(service = spec.name(), %admin, "admin port: /metrics /livez /readyz");
    }
    tracing::info!(service = spec.name(), %addr, policy = %policy.version, tls = tls.is_some(), "serving");
    let streams = StreamLimits::new(&settings);
    let shared = Shared { db, pii, policy: Arc::new(policy), peers, streams };
    run_service(spec, shared, &settings, auth, listener, readiness, tls, shutdown_signal()).await
}

/// The identity `spec` calls its peers with: a token signed by its own key
/// (`QIANCHENG_SERVICE_SIGNING_KEY_FILE`), over TLS to https peers, or, without a key, its client
/// certificate alone; `None` when it has neither.
fn service_credentials(spec: &dyn ServiceSpec, settings: &Settings) -> Result<Option<ServiceCredentials>, Error> {
    let https =
        settings.peers.iter().any(|(name, url)| spec.peers().contains(&name.as_str()) && url.starts_with("https://"));
    let tls = if https { Some(ClientTls::from_settings(settings)?) } else { None };
    Ok(match (&settings.service_signing_key_file, tls) {
        (Some(path), tls) => {
            let credentials = ServiceCredentials::new(TokenMinter::load(path)?, spec.name());
            Some(match tls {
                Some(tls) => credentials.with_tls(tls),
                None => credentials,
            })
        }
        (None, Some(tls)) if tls.presents_certificate() => Some(ServiceCredentials::certificate_only(spec.name(), tls)),
        (None, _) => None,
    })
}

/// Reads which data key `db` has settled on (a database moved to a key this configuration
/// lacks stops the start), logs the keys in use, and reads it again every 30 seconds.
async fn watch_data_keys(spec: &dyn ServiceSpec, db: &Db, pii: &PiiCipher) -> Result<(), Error> {
    qiancheng_platform::rekey::observe(db, pii).await?;
    tracing::info!(
        service = spec.name(),
        data_key = pii.newest_key_id(),
        profile = pii.profile().name(),
        keys = %pii.key_ids().join(","),
        settled = pii.is_settled(),
        "personal data sealed under the newest data key"
    );
    qiancheng_platform::rekey::watch(db.clone(), pii.clone(), std::time::Duration::from_secs(30));
    Ok(())
}

/// Moves `name`'s sealed personal data and lookup hashes to the newest data key, printing
/// progress, until done or until SIGINT/SIGTERM (the batch in flight finishes first).
pub async fn reencrypt(
    settings: Settings,
    name: &str,
    options: qiancheng_platform::rekey::Options,
) -> Result<(), Error> {
    use qiancheng_platform::rekey::{self, Outcome};
    let spec = spec(name)?;
    let pii = PiiCipher::from_config(settings.data_key.as_deref(), settings.data_keys.as_deref())?;
    let db = open_db(spec, &settings).await?;
    let tables = spec.sealed_tables();
    let target = pii.newest_key_id().to_owned();
    println!(
        "{name}: moving {} to data key {target} ({}, {})",
        tables.iter().map(|t| t.table).collect::<Vec<_>>().join(", "),
        pii.profile().cipher_algorithm(),
        pii.profile().hash_algorithm()
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let options = qiancheng_platform::rekey::Options { policy_version: policy_set(&settings)?.version, ..options };
    let outcome = rekey::reencrypt(&db, &pii, tables, &options, &stop, |p| {
        let done = if p.remaining_at_start == 0 { 100 } else { (p.moved * 100 / p.remaining_at_start).min(100) };
        let state = if p.finished { "done" } else { "moving" };
        // Progress is for the person at the terminal; a closed pipe must not stop the move.
        let _ = writeln!(
            std::io::stdout(),
            "{name}: {}: {state}: {} moved to {target} of {} to move at start ({done}%), {} rows",
            p.table,
            p.moved,
            p.remaining_at_start,
            p.total
        );
    })
    .await;
    db.close().await;
    match outcome? {
        Outcome::Settled { key, moved } => {
            println!(
                "{name}: every row is under data key {key} ({moved} moved by this run); the database is settled on it, \
                 and services look people up by its hash alone within 30 s"
            );
            Ok(())
        }
        Outcome::Stopped { moved } => {
            println!("{name}: stopped after {moved} rows; run the same command again to go on from there");
            Ok(())
        }
        Outcome::Unsettled { remaining, conflicts } => {
            let left: Vec<String> = remaining.iter().map(|(t, n)| format!("{t}: {n}")).collect();
            let taken: Vec<String> = conflicts.iter().map(|(t, k)| format!("{t} row {k}")).collect();
            Err(Error::Config(format!(
                "the move to {target} is not complete: rows under older keys ({}), rows whose new hash another row \
                 holds ({}); rows written meanwhile are moved by running the command again, rows whose hash is \
                 taken are one person recorded twice and need a decision first",
                if left.is_empty() { "none".to_owned() } else { left.join(", ") },
                if taken.is_empty() { "none".to_owned() } else { taken.join(", ") },
            )))
        }
    }
}

/// Loads the revocations file now (a bad file stops the start) and again every 30 seconds.
async fn watch_revocations(auth: Authenticator, path: std::path::PathBuf) -> Result<(), Error> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
    };
    let count = auth.load_revocations(&read(&path)?)?;
    tracing::info!(revoked_subjects = count, file = %path.display(), "revocations loaded");
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            match read(&path).and_then(|text| auth.load_revocations(&text)) {
                Ok(_) => {}
                Err(error) => tracing::error!(error = %error.report(), "revocations not reloaded; the last ones stay"),
            }
        }
    });
    Ok(())
}

/// Applies one service's migrations.
pub async fn migrate(settings: Settings, name: &str) -> Result<(), Error> {
    let spec = spec(name)?;
    open_db(spec, &settings).await?.close().await;
    println!("{name}: migrations applied to {}", redact(&settings.database_url_for(name)));
    Ok(())
}

/// Copies `name`'s SQLite database to `to` while the service runs: `VACUUM INTO` reads the
/// database in one transaction (writers go on; the copy is the database as of one commit), and
/// the copy is checked with `PRAGMA quick_check` before it is reported.
pub async fn backup(settings: Settings, name: &str, to: &std::path::Path) -> Result<(), Error> {
    let spec = spec(name)?;
    let url = settings.database_url_for(name);
    if !url.starts_with("sqlite:") {
        return Err(Error::Config(format!(
            "{} is not SQLite: back a PostgreSQL database up with pg_dump --format=custom (docs/OPERATIONS.md)",
            redact(&url)
        )));
    }
    if to.exists() {
        return Err(Error::Config(format!("{} exists already; name a new file", to.display())));
    }
    // The copy holds personal data, sealed or not: readable by the service's user only, from the
    // start (VACUUM INTO fills an empty file).
    create_private(to)?;
    let db = open_db(spec, &settings).await?;
    let target = to.display().to_string().replace('\'', "''");
    let copied = sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'"))).execute(db.pool()).await;
    db.close().await;
    copied?;
    let mut copy = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("sqlite://{}?mode=ro", to.display()))
        .await
        .map_err(|e| Error::Config(format!("the copy at {} does not open: {e}", to.display())))?;
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check").fetch_one(&mut copy).await?;
    let _ = sqlx::Connection::close(copy).await;
    if verdict != "ok" {
        return Err(Error::Config(format!("the copy at {} fails its check: {verdict}", to.display())));
    }
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    println!("{name}: backed up to {} ({bytes} bytes, checked)", to.display());
    Ok(())
}

/// Creates `path` empty, readable and writable by its owner only.
fn create_private(path: &std::path::Path) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|e| Error::Config(format!("cannot create {}: {e}", path.display())))
}

/// Runs every service on SQLite under the data folder until Ctrl-C, in plaintext. The
/// development key signs people's tokens; each service signs its calls to its peers with a key
/// of its own, made at start and trusted for that service alone, so a token of the development
/// key cannot speak for a service.
pub async fn dev(mut settings: Settings, host: &str, base_port: u16) -> Result<(), Error> {
    let _telemetry = qiancheng_platform::telemetry::init("dev", &settings.log_format)?;
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| Error::Config(format!("cannot create {}: {e}", settings.data_dir.display())))?;
    let minter = TokenMinter::load_or_create(&settings.signing_key_file())?;
    let pii = PiiCipher::load_or_create(&settings.data_dir.join("dev-data.key"), settings.data_keys.as_deref())?;
    settings.auth_public_keys = vec![minter.public_key_base64()];
    if settings.tls_cert_file.is_some() || settings.tls_ca_file.is_some() {
        tracing::warn!("dev serves and calls in plaintext: QIANCHENG_TLS_* are ignored");
    }
    (settings.tls_cert_file, settings.tls_key_file, settings.tls_ca_file) = (None, None, None);
    settings.tls_client_auth = Default::default();
    settings.tls_client_services.clear();
    let policy = Arc::new(policy_set(&settings)?);
    let mut auth = Authenticator::configured(&settings).await?;
    let service_keys = SERVICES.iter().map(|_| TokenMinter::generate()).collect::<Result<Vec<_>, _>>()?;
    for (spec, key) in SERVICES.iter().zip(&service_keys) {
        auth = auth.with_service_key(spec.name(), key.verifying_key());
    }

    // Every listener is bound first, so each service knows its peers' addresses.
    let mut listeners = Vec::new();
    for (offset, spec) in SERVICES.iter().enumerate() {
        // Each service keeps its port whichever others this build contains (subsidy 50055).
        let offset = PORT_ORDER.iter().position(|name| *name == spec.name()).unwrap_or(offset);
        let port = if base_port == 0 { 0 } else { base_port.saturating_add(u16::try_from(offset).unwrap_or(0)) };
        let listener = TcpListener::bind((host, port))
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {host}:{port} for {}: {e}", spec.name())))?;
        let addr: SocketAddr = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
        listeners.push((*spec, listener, addr));
    }
    let urls: BTreeMap<String, String> =
        listeners.iter().map(|(spec, _, addr)| (spec.name().to_owned(), format!("http://{addr}"))).collect();

    let readiness = Readiness::default();
    // QIANCHENG_ADMIN_ADDR moves the admin port, so that two `dev`s can run on one machine.
    let admin_port = if base_port == 0 { 0 } else { DEV_ADMIN_PORT };
    let admin_addr: SocketAddr = match settings.admin_addr {
        Some(addr) => addr,
        None => format!("{host}:{admin_port}")
            .parse()
            .map_err(|e| Error::Config(format!("{host} is not an address for the admin port: {e}")))?,
    };
    let admin = qiancheng_platform::admin::start(admin_addr, readiness.clone()).await?;

    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    println!("Qiancheng development suite (data in {}, policy set {})", settings.data_dir.display(), policy.version);
    for ((spec, listener, addr), key) in listeners.into_iter().zip(service_keys) {
        println!("  {:<12} {addr}   ({})", spec.name(), redact(&settings.database_url_for(spec.name())));
        let credentials = ServiceCredentials::new(key, spec.name());
        let db = open_db(spec, &settings).await?;
        let pii = pii.for_database();
        watch_data_keys(spec, &db, &pii).await?;
        let shared = Shared {
            db,
            pii,
            policy: policy.clone(),
            peers: peers(spec, &settings, &urls, Some(&credentials))?,
            streams: StreamLimits::new(&settings),
        };
        let settings = settings.clone();
        let auth = auth.clone();
        let readiness = readiness.clone();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            if let Err(error) = run_service(spec, shared, &settings, auth, listener, readiness, None, shutdown).await {
                tracing::error!(service = spec.name(), error = %error.report(), "service stopped");
            }
        }));
    }
    println!("  {:<12} http://{admin}/metrics  /livez  /readyz", "admin");
    let token = minter.mint("dev-admin", &[Role::CityAdmin], Some("421200"), None, 12 * 3600)?;
    println!("\nAdministrator token (CITY_ADMIN, 12 hours):\n{token}\n");
    if let Some(url) = urls.values().next() {
        println!("Try: grpcurl -plaintext {} list", url.trim_start_matches("http://"));
    }
    println!(
        "Mint other tokens with: qiancheng token --role COUNTY_OFFICER --region 421221 (in this folder, or with \
         --key-file {})",
        settings.signing_key_file().display()
    );
    println!("Press Ctrl-C to stop.");

    shutdown_signal().await;
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    // Standard output may be gone by now (a closed pipe): the stop itself matters, not the line.
    let _ = writeln!(std::io::stdout(), "stopped");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run_service(
    spec: &'static dyn ServiceSpec,
    shared: Shared,
    settings: &Settings,
    auth: Authenticator,
    listener: TcpListener,
    readiness: Readiness,
    tls: Option<Arc<ServerTls>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let db = shared.db.clone();
    let routes = spec.routes(shared, settings);
    let config = ServerConfig { service_name: spec.grpc_name(), settings, auth, db: Some(db.clone()), readiness, tls };
    let result = serve_routes(config, routes, listener, shutdown).await;
    db.close().await;
    result
}

/// Asks the server at `addr` for the health of `service` and succeeds only when it is SERVING.
/// When the configuration names a TLS certificate or CA (the service's own environment, in its
/// container), the port is asked over TLS as a peer would ask it: verifying the certificate for
/// `server_name` and presenting this service's own.
pub async fn health(settings: &Settings, addr: &str, service: &str, server_name: &str) -> Result<(), String> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = connect(settings, addr, server_name, std::time::Duration::from_secs(3)).await?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest { service: service.to_owned() })
        .await
        .map_err(|e| format!("health check failed: {}", e.message()))?
        .into_inner()
        .status();
    println!("{}", status.as_str_name());
    if status == ServingStatus::Serving { Ok(()) } else { Err(format!("{addr} is {}", status.as_str_name())) }
}

/// A channel to a running service at `addr` (host:port, or a URL `http://host:port` or
/// `https://host:port` as people paste them), over TLS when the configuration names TLS files
/// (QIANCHENG_TLS_CERT_FILE or QIANCHENG_TLS_CA_FILE), the server's certificate checked for
/// `server_name`; each call bounded by `timeout`.
pub async fn connect(
    settings: &Settings,
    addr: &str,
    server_name: &str,
    timeout: std::time::Duration,
) -> Result<tonic::transport::Channel, String> {
    let addr = host_port(addr);
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("{addr} is not an address: {e}"))?
        .connect_timeout(std::time::Duration::from_secs(3))
        .timeout(timeout);
    let connected = if settings.tls_cert_file.is_some() || settings.tls_ca_file.is_some() {
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("{addr} is not host:port"))?;
        let tls = ClientTls::from_settings(settings).map_err(|e| e.report())?;
        let connector =
            TlsConnect::new(tls, host, port).and_then(|c| c.checking_name(server_name)).map_err(|e| e.report())?;
        let origin: http::Uri =
            format!("https://{server_name}:{port}").parse().map_err(|e| format!("{server_name} is not a name: {e}"))?;
        endpoint.origin(origin).connect_with_connector(connector).await
    } else {
        endpoint.connect().await
    };
    connected.map_err(|e| format!("cannot reach {addr}: {e}"))
}

/// `host:port` of an address given as `host:port` or as a URL with a scheme and maybe a
/// trailing slash.
fn host_port(addr: &str) -> &str {
    let bare = addr.trim().strip_prefix("http://").or_else(|| addr.trim().strip_prefix("https://"));
    bare.unwrap_or(addr.trim()).trim_end_matches('/')
}

/// A database URL without its password, for printing.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{host_port, redact};

    #[test]
    fn an_address_is_taken_as_people_paste_it() {
        assert_eq!(host_port("127.0.0.1:50054"), "127.0.0.1:50054");
        assert_eq!(host_port("http://127.0.0.1:50054"), "127.0.0.1:50054");
        assert_eq!(host_port(" https://outcome.example:443/ "), "outcome.example:443");
    }

    #[test]
    fn passwords_never_reach_the_terminal() {
        assert_eq!(redact("postgres://app:s3cr@t@db:5432/demand"), "postgres://app:***@db:5432/demand");
        assert_eq!(redact("sqlite://./data/demand.db?mode=rwc"), "sqlite://./data/demand.db?mode=rwc");
    }
}
