//! The admin port (`QIANCHENG_ADMIN_ADDR`), for schedulers and for teams without an
//! OpenTelemetry collector: plain HTTP/1.1 with three paths.
//!
//! - `GET /metrics`: every metric as Prometheus text ([`crate::telemetry::prometheus`]);
//! - `GET /livez`: 200 while the process runs (liveness);
//! - `GET /readyz`: 200 when the service takes calls, 503 while its database is unreachable or it
//!   is draining (readiness; the gRPC health service says the same).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::error::Error;

/// Whether the service takes calls; shared by the readiness watcher and `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Sets readiness.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    /// Whether the service takes calls.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Binds the admin port and serves it in the background; returns the address it bound.
pub async fn start(addr: SocketAddr, readiness: Readiness) -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on admin address {addr}: {e}")))?;
    let bound = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { continue };
            let readiness = readiness.clone();
            tokio::spawn(async move {
                let mut head = vec![0u8; 4096];
                let read = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut head)).await;
                let Ok(Ok(n)) = read else { return };
                let request = String::from_utf8_lossy(&head[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (status, content_type, body) = match path {
                    "/metrics" => ("200 OK", "text/plain; version=0.0.4", crate::telemetry::prometheus::render()),
                    "/livez" => ("200 OK", "text/plain", "alive\n".to_owned()),
                    "/readyz" if readiness.get() => ("200 OK", "text/plain", "ready\n".to_owned()),
                    "/readyz" => ("503 Service Unavailable", "text/plain", "not ready\n".to_owned()),
                    _ => ("404 Not Found", "text/plain", "metrics, livez or readyz\n".to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(bound)
}
