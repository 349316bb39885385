//! Starting the suite's services: all of them in one process for development, or one of them
//! from configuration for production.

use std::io::Write as _;
use std::net::SocketAddr;

use qiancheng_domain::policy::set::PolicySet;
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::{Authenticator, Role, TokenMinter};
use qiancheng_platform::client::{ServiceCredentials, connect};
use qiancheng_platform::config::Settings;
use qiancheng_platform::db::Db;
use qiancheng_platform::pii::PiiCipher;
use qiancheng_platform::server::{serve as serve_routes, shutdown_signal};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::Routes;

/// The services this build contains, in port order.
pub const NAMES: [&str; 2] = [qiancheng_demand::NAME, qiancheng_selection::NAME];

/// What a service needs besides its database: keys, the policy set, and its peers.
#[derive(Debug, Clone)]
struct Ground {
    auth: Authenticator,
    pii: PiiCipher,
    policy: PolicySet,
    /// Identity for calls to peers, when the service makes any.
    credentials: Option<ServiceCredentials>,
    /// URL of the demand service.
    demand_url: Option<String>,
}

/// The policy set of the configuration: a file, or the built-in set.
fn policy_set(settings: &Settings) -> Result<PolicySet, PlatformError> {
    match &settings.policy_set {
        None => Ok(PolicySet::xianning_2025_5_v1()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| PlatformError::Config(format!("cannot read policy set {}: {e}", path.display())))?;
            PolicySet::from_toml_str(&text)
                .map_err(|e| PlatformError::Config(format!("policy set {}: {e}", path.display())))
        }
    }
}

/// Runs one service from configuration until SIGTERM or Ctrl-C.
pub async fn serve(settings: Settings, name: &str) -> Result<(), PlatformError> {
    let name = NAMES
        .into_iter()
        .find(|n| *n == name)
        .ok_or_else(|| PlatformError::Config(format!("unknown service {name}")))?;
    let _telemetry = qiancheng_platform::telemetry::init(name, &settings.log_format)?;
    let auth = Authenticator::from_base64_keys(&settings.auth_public_keys)?;
    let pii = PiiCipher::from_base64(settings.data_key.as_deref().ok_or_else(|| {
        PlatformError::Config("QIANCHENG_DATA_KEY is required: it encrypts personal data at rest".to_owned())
    })?)?;
    let credentials = match (&settings.peer_demand_url, &settings.service_signing_key_file) {
        (None, _) => None,
        (Some(_), Some(path)) => Some(ServiceCredentials::new(TokenMinter::load(path)?, name)),
        (Some(_), None) => {
            return Err(PlatformError::Config(
                "QIANCHENG_PEER_DEMAND_URL needs QIANCHENG_SERVICE_SIGNING_KEY_FILE to sign calls to it".to_owned(),
            ));
        }
    };
    let ground =
        Ground { auth, pii, policy: policy_set(&settings)?, credentials, demand_url: settings.peer_demand_url.clone() };
    let listener = TcpListener::bind(settings.bind_addr)
        .await
        .map_err(|e| PlatformError::Config(format!("cannot listen on {}: {e}", settings.bind_addr)))?;
    tracing::info!(service = name, addr = %settings.bind_addr, policy = %ground.policy.version, "serving");
    run_service(name, &settings, &ground, listener, shutdown_signal()).await
}

/// Applies one service's migrations.
pub async fn migrate(settings: Settings, name: &str) -> Result<(), PlatformError> {
    open_db(&settings, name).await?.close().await;
    println!("{name}: migrations applied to {}", redact(&settings.database_url_for(name)));
    Ok(())
}

async fn open_db(settings: &Settings, name: &str) -> Result<Db, PlatformError> {
    match name {
        qiancheng_demand::NAME => qiancheng_demand::open_db(settings).await.map_err(|e| match e {
            qiancheng_demand::DemandError::Platform(e) => e,
            other => PlatformError::Config(other.to_string()),
        }),
        qiancheng_selection::NAME => qiancheng_selection::open_db(settings).await.map_err(|e| match e {
            qiancheng_selection::SelectionError::Platform(e) => e,
            other => PlatformError::Config(other.to_string()),
        }),
        other => Err(PlatformError::Config(format!("unknown service {other}"))),
    }
}

/// Runs every service on SQLite under the data folder until Ctrl-C.
pub async fn dev(mut settings: Settings, host: &str, base_port: u16) -> Result<(), PlatformError> {
    let _telemetry = qiancheng_platform::telemetry::init("dev", &settings.log_format)?;
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| PlatformError::Config(format!("cannot create {}: {e}", settings.data_dir.display())))?;
    let minter = TokenMinter::load_or_create(&settings.signing_key_file())?;
    let pii = PiiCipher::load_or_create(&settings.data_dir.join("dev-data.key"))?;
    settings.auth_public_keys = vec![minter.public_key_base64()];

    // Every listener is bound first, so each service knows its peers' addresses.
    let mut listeners = Vec::new();
    for (offset, name) in NAMES.iter().enumerate() {
        let port = if base_port == 0 { 0 } else { base_port.saturating_add(u16::try_from(offset).unwrap_or(0)) };
        let listener = TcpListener::bind((host, port))
            .await
            .map_err(|e| PlatformError::Config(format!("cannot listen on {host}:{port} for {name}: {e}")))?;
        let addr: SocketAddr = listener.local_addr().map_err(|e| PlatformError::Config(e.to_string()))?;
        listeners.push((*name, listener, addr));
    }
    let demand_addr = listeners.iter().find(|(n, _, _)| *n == qiancheng_demand::NAME).map(|(_, _, a)| *a);
    let policy = policy_set(&settings)?;

    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    println!("Qiancheng development suite (data in {}, policy set {})", settings.data_dir.display(), policy.version);
    for (name, listener, addr) in listeners {
        println!("  {name:<12} {addr}   ({})", redact(&settings.database_url_for(name)));
        let ground = Ground {
            auth: minter.authenticator(),
            pii: pii.clone(),
            policy: policy.clone(),
            credentials: Some(ServiceCredentials::new(minter.clone(), name)),
            demand_url: demand_addr.map(|a| format!("http://{a}")),
        };
        let settings = settings.clone();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            if let Err(error) = run_service(name, &settings, &ground, listener, shutdown).await {
                tracing::error!(service = name, %error, "service stopped");
            }
        }));
    }
    let token = minter.mint("dev-admin", &[Role::CityAdmin], Some("421200"), None, 12 * 3600)?;
    println!("\nAdministrator token (CITY_ADMIN, 12 hours):\n{token}\n");
    if let Some(addr) = demand_addr {
        println!("Try: grpcurl -plaintext {addr} list");
    }
    println!("Mint other tokens with: qiancheng token --role COUNTY_OFFICER --region 421221");
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

async fn run_service(
    name: &'static str,
    settings: &Settings,
    ground: &Ground,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), PlatformError> {
    let db = open_db(settings, name).await?;
    let (service_name, routes): (&'static str, Routes) = match name {
        qiancheng_demand::NAME => (
            qiancheng_demand::SERVICE_NAME,
            qiancheng_demand::Demand::new(qiancheng_demand::State {
                db: db.clone(),
                pii: ground.pii.clone(),
                policy_version: ground.policy.version.clone(),
            })
            .routes(&ground.auth, settings),
        ),
        qiancheng_selection::NAME => {
            let demand = match (&ground.demand_url, &ground.credentials) {
                (Some(url), Some(credentials)) => Some(qiancheng_selection::DemandPeer {
                    channel: connect(url, settings.request_timeout())?,
                    credentials: credentials.clone(),
                }),
                _ => None,
            };
            (
                qiancheng_selection::SERVICE_NAME,
                qiancheng_selection::Selection::new(qiancheng_selection::State {
                    db: db.clone(),
                    policy: ground.policy.clone(),
                    demand,
                })
                .routes(&ground.auth, settings),
            )
        }
        other => return Err(PlatformError::Config(format!("unknown service {other}"))),
    };
    let result = serve_routes(service_name, routes, listener, settings, shutdown).await;
    db.close().await;
    result
}

/// Asks the server at `addr` for the health of `service` and succeeds only when it is SERVING.
pub async fn health(addr: &str, service: &str) -> Result<(), String> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("{addr} is not an address: {e}"))?
        .connect_timeout(std::time::Duration::from_secs(3))
        .timeout(std::time::Duration::from_secs(3));
    let channel = endpoint.connect().await.map_err(|e| format!("cannot reach {addr}: {e}"))?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest { service: service.to_owned() })
        .await
        .map_err(|e| format!("health check failed: {}", e.message()))?
        .into_inner()
        .status();
    println!("{}", status.as_str_name());
    if status == ServingStatus::Serving { Ok(()) } else { Err(format!("{addr} is {}", status.as_str_name())) }
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
    use super::redact;

    #[test]
    fn passwords_never_reach_the_terminal() {
        assert_eq!(redact("postgres://app:s3cr@t@db:5432/demand"), "postgres://app:***@db:5432/demand");
        assert_eq!(redact("sqlite://./data/demand.db?mode=rwc"), "sqlite://./data/demand.db?mode=rwc");
    }
}
