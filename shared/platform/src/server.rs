//! The gRPC server every service runs on: the service's routes plus `grpc.health.v1.Health` and
//! server reflection (so `grpcurl` works with no proto files, and decodes the `google.rpc` error
//! details too), behind the tower layers of the
//! suite: a per-request timeout, a process-wide concurrency limit that sheds excess load with
//! `RESOURCE_EXHAUSTED` instead of queueing it, the gate that verifies tokens and declared roles
//! ([`crate::gate`]), a message-size limit (set on each generated
//! server by [`Settings::max_message_bytes`](crate::config::Settings)), W3C trace context, and a
//! graceful shutdown that reports `NOT_SERVING` and drains calls in flight. With a certificate
//! configured the port serves TLS only, mutual TLS where configured ([`crate::tls`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::admin::Readiness;
use crate::auth::Authenticator;
use crate::config::Settings;
use crate::db::Db;
use crate::error::Error;
use crate::gate::GateLayer;
use crate::telemetry::ServerLayer;
use crate::tls::ServerTls;

/// What a server needs besides its routes.
#[derive(Debug, Clone)]
pub struct ServerConfig<'a> {
    /// The fully qualified gRPC service served (`qiancheng.demand.v1.DemandService`).
    pub service_name: &'static str,
    /// Limits and timeouts.
    pub settings: &'a Settings,
    /// Verifies tokens.
    pub auth: Authenticator,
    /// The database whose reachability decides readiness, if any.
    pub db: Option<Db>,
    /// Readiness, shared with the admin port's `/readyz`.
    pub readiness: Readiness,
    /// TLS of the port, if any (`None`: plaintext).
    pub tls: Option<Arc<ServerTls>>,
}

/// Serves `routes` on `listener` until `shutdown` completes, then drains calls in flight.
/// Health is SERVING while the database answers and the server is not draining; a database that
/// stops answering turns it NOT_SERVING until it answers again, with no restart.
pub async fn serve(
    config: ServerConfig<'_>,
    routes: Routes,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let ServerConfig { service_name, settings, auth, db, readiness, tls } = config;
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status(service_name, ServingStatus::Serving).await;
    health.set_service_status("", ServingStatus::Serving).await;
    readiness.set(true);
    let draining_flag = Readiness::default();
    if let Some(db) = db {
        tokio::spawn(watch_readiness(
            db,
            health.clone(),
            service_name,
            readiness.clone(),
            draining_flag.clone(),
            std::time::Duration::from_millis(settings.readiness_interval_ms),
        ));
    }

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(qiancheng_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        // Only what this server serves is advertised; the descriptor set holds every service.
        .with_service_name(service_name)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .build_v1()
        .map_err(|e| Error::Config(format!("reflection: {e}")))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(qiancheng_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        // Only what this server serves is advertised; the descriptor set holds every service.
        .with_service_name(service_name)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection")
        .build_v1alpha()
        .map_err(|e| Error::Config(format!("reflection: {e}")))?;

    let routes = routes.add_service(health_service).add_service(reflection_v1).add_service(reflection_v1alpha);

    let (drain_started, drain_begun) = tokio::sync::oneshot::channel::<()>();
    let draining = {
        let health = health.clone();
        let readiness = readiness.clone();
        async move {
            shutdown.await;
            tracing::info!(service = service_name, "shutting down: draining calls in flight");
            draining_flag.set(true);
            readiness.set(false);
            health.set_service_status(service_name, ServingStatus::NotServing).await;
            health.set_service_status("", ServingStatus::NotServing).await;
            let _ = drain_started.send(());
        }
    };
    // No call runs longer than the request timeout, so once that much time (and a margin) has
    // passed since shutdown began, connections still open are idle clients that did not close:
    // stop waiting for them.
    let drain_limit = settings.request_timeout() + std::time::Duration::from_secs(2);
    let drain_deadline = async move {
        match drain_begun.await {
            Ok(()) => tokio::time::sleep(drain_limit).await,
            Err(_) => std::future::pending::<()>().await,
        }
    };

    let router = Server::builder()
        .load_shed(true)
        // Room for headers past hyper's 16 KiB, so that an oversized token is refused by the gate
        // with a reason (`UNAUTHENTICATED`), not by the transport with a bare HTTP 431.
        .http2_max_header_list_size(crate::auth::MAX_HEADER_LIST_BYTES)
        .layer(
            ServiceBuilder::new()
                .layer(ServerLayer)
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(settings.concurrency_limit))
                .layer(GateLayer::new(auth, settings.request_timeout())),
        )
        .add_routes(routes);
    let serving: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> = match tls {
        // The TLS handshake is made by `tls::incoming`, with the certificate current at each
        // connection; the client's verified certificate reaches the gate as `TlsConnectInfo`.
        Some(tls) => Box::pin(router.serve_with_incoming_shutdown(crate::tls::incoming(listener, tls), draining)),
        // TCP_NODELAY: replies are written whole, and Nagle's algorithm would hold the last
        // segment of a larger reply back until the client's delayed acknowledgement (~40 ms).
        None => Box::pin(
            router.serve_with_incoming_shutdown(
                TcpIncoming::from(listener)
                    .with_nodelay(Some(true))
                    .with_keepalive(Some(std::time::Duration::from_secs(60))),
                draining,
            ),
        ),
    };
    tokio::select! {
        result = serving => result.map_err(|e| Error::Config(format!("server: {e}"))),
        () = drain_deadline => {
            tracing::warn!(service = service_name, "drain limit reached: closing idle connections");
            Ok(())
        }
    }
}

/// Checks the database every `interval` and reports health accordingly, until draining begins.
async fn watch_readiness(
    db: Db,
    health: tonic_health::server::HealthReporter,
    service_name: &'static str,
    readiness: Readiness,
    draining: Readiness,
    interval: std::time::Duration,
) {
    let mut ready = true;
    loop {
        tokio::time::sleep(interval).await;
        if draining.get() {
            return;
        }
        let now = db.ping(interval.min(std::time::Duration::from_secs(3))).await;
        if now != ready && !draining.get() {
            ready = now;
            let status = if ready { ServingStatus::Serving } else { ServingStatus::NotServing };
            if ready {
                tracing::info!(service = service_name, "the database answers again: serving");
            } else {
                tracing::error!(service = service_name, "the database does not answer: not serving");
            }
            health.set_service_status(service_name, status).await;
            health.set_service_status("", status).await;
            readiness.set(ready);
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
