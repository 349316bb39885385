//! Starting the suite's services: all of them in one process for development, or one of them
//! from configuration for production.

use std::io::Write as _;
use std::net::SocketAddr;

use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::{Authenticator, Role, TokenMinter};
use qiancheng_platform::config::Settings;
use qiancheng_platform::pii::PiiCipher;
use qiancheng_platform::server::{serve as serve_routes, shutdown_signal};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The services this build contains, in port order.
pub const NAMES: [&str; 1] = [qiancheng_demand::NAME];

/// Runs one service from configuration until SIGTERM or Ctrl-C.
pub async fn serve(settings: Settings, name: &str) -> Result<(), PlatformError> {
    let _telemetry = qiancheng_platform::telemetry::init(name, &settings.log_format)?;
    let auth = Authenticator::from_base64_keys(&settings.auth_public_keys)?;
    let pii = PiiCipher::from_base64(settings.data_key.as_deref().ok_or_else(|| {
        PlatformError::Config("QIANCHENG_DATA_KEY is required: it encrypts personal data at rest".to_owned())
    })?)?;
    let listener = TcpListener::bind(settings.bind_addr)
        .await
        .map_err(|e| PlatformError::Config(format!("cannot listen on {}: {e}", settings.bind_addr)))?;
    tracing::info!(service = name, addr = %settings.bind_addr, "serving");
    run_service(name, &settings, &auth, pii, listener, shutdown_signal()).await
}

/// Applies one service's migrations.
pub async fn migrate(settings: Settings, name: &str) -> Result<(), PlatformError> {
    match name {
        qiancheng_demand::NAME => {
            let db = qiancheng_demand::open_db(&settings).await.map_err(into_platform)?;
            db.close().await;
        }
        other => return Err(PlatformError::Config(format!("unknown service {other}"))),
    }
    println!("{name}: migrations applied to {}", redact(&settings.database_url_for(name)));
    Ok(())
}

/// Runs every service on SQLite under the data folder until Ctrl-C.
pub async fn dev(mut settings: Settings, host: &str, base_port: u16) -> Result<(), PlatformError> {
    let _telemetry = qiancheng_platform::telemetry::init("dev", &settings.log_format)?;
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| PlatformError::Config(format!("cannot create {}: {e}", settings.data_dir.display())))?;
    let minter = TokenMinter::load_or_create(&settings.signing_key_file())?;
    let pii = PiiCipher::load_or_create(&settings.data_dir.join("dev-data.key"))?;
    let auth = minter.authenticator();
    settings.auth_public_keys = vec![minter.public_key_base64()];

    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut first_addr = None;
    println!("Qiancheng development suite (data in {})", settings.data_dir.display());
    for (offset, name) in NAMES.iter().enumerate() {
        let port = if base_port == 0 { 0 } else { base_port.saturating_add(u16::try_from(offset).unwrap_or(0)) };
        let listener = TcpListener::bind((host, port))
            .await
            .map_err(|e| PlatformError::Config(format!("cannot listen on {host}:{port} for {name}: {e}")))?;
        let addr: SocketAddr = listener.local_addr().map_err(|e| PlatformError::Config(e.to_string()))?;
        first_addr.get_or_insert(addr);
        println!("  {name:<12} {addr}   ({})", redact(&settings.database_url_for(name)));
        let (settings, auth, pii) = (settings.clone(), auth.clone(), pii.clone());
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            if let Err(error) = run_service(name, &settings, &auth, pii, listener, shutdown).await {
                tracing::error!(service = name, %error, "service stopped");
            }
        }));
    }
    let token = minter.mint("dev-admin", &[Role::CityAdmin], Some("421200"), None, 12 * 3600)?;
    println!("\nAdministrator token (CITY_ADMIN, 12 hours):\n{token}\n");
    if let Some(addr) = first_addr {
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
    name: &str,
    settings: &Settings,
    auth: &Authenticator,
    pii: PiiCipher,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), PlatformError> {
    match name {
        qiancheng_demand::NAME => {
            let db = qiancheng_demand::open_db(settings).await.map_err(into_platform)?;
            let service = qiancheng_demand::Demand::new(qiancheng_demand::State {
                db: db.clone(),
                pii,
                policy_version: qiancheng_domain::policy::set::PolicySet::XIANNING_2025_5_V1.to_owned(),
            });
            let result = serve_routes(
                qiancheng_demand::SERVICE_NAME,
                service.routes(auth, settings),
                listener,
                settings,
                shutdown,
            )
            .await;
            db.close().await;
            result
        }
        other => Err(PlatformError::Config(format!("unknown service {other}"))),
    }
}

fn into_platform(error: qiancheng_demand::DemandError) -> PlatformError {
    match error {
        qiancheng_demand::DemandError::Platform(e) => e,
        other => PlatformError::Config(other.to_string()),
    }
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

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_terminal() {
        assert_eq!(redact("postgres://app:s3cr@t@db:5432/demand"), "postgres://app:***@db:5432/demand");
        assert_eq!(redact("sqlite://./data/demand.db?mode=rwc"), "sqlite://./data/demand.db?mode=rwc");
    }
}
