//! One span, one histogram point and one access line per call, by the OpenTelemetry semantic
//! conventions for RPC: [`ServerLayer`] on every server, [`ClientLayer`] on every channel to a
//! peer. A span is named `package.Service/Method`; a call that does not end `OK` is an error
//! span whose message is the status code and whose `error.reason` is the `ErrorInfo.reason`
//! (a rule or platform code, never personal data).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::{KeyValue, global};
use tonic_types::StatusExt as _;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::metrics::instruments;
use super::{HeaderExtractor, HeaderInjector};

/// Who called, as the gate verified it; filled in by [`crate::gate`] for the access line.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<(String, String)>>);

impl CallerSlot {
    /// Records the caller's subject and roles.
    pub fn fill(&self, subject: &str, roles: &str) {
        let _ = self.0.set((subject.to_owned(), roles.to_owned()));
    }
}

/// `/qiancheng.demand.v1.DemandService/GetVacancy` → (`qiancheng.demand.v1.DemandService`, `GetVacancy`).
fn split_path(path: &str) -> (&str, &str) {
    path.trim_start_matches('/').split_once('/').unwrap_or(("unknown", "unknown"))
}

/// The status code and reason of a response, from its headers: a call that fails answers with
/// its status in the headers (trailers-only); one that succeeds has none there.
fn outcome(headers: &http::HeaderMap) -> (i32, String) {
    match tonic::Status::from_header_map(headers) {
        Some(status) if status.code() != tonic::Code::Ok => {
            let reason = status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default();
            (status.code() as i32, reason)
        }
        _ => (0, String::new()),
    }
}

fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// Records the outcome on `span` and returns the metric labels.
fn finish(span: &tracing::Span, service: &str, method: &str, code: i32, reason: &str) -> [KeyValue; 4] {
    span.record("rpc.grpc.status_code", code);
    if code != 0 {
        span.record("otel.status_code", "ERROR");
        span.record("otel.status_message", code_name(code));
        if !reason.is_empty() {
            span.record("error.reason", reason);
        }
    }
    [
        KeyValue::new("rpc.system", "grpc"),
        KeyValue::new("rpc.service", service.to_owned()),
        KeyValue::new("rpc.method", method.to_owned()),
        KeyValue::new("rpc.grpc.status_code", i64::from(code)),
    ]
}

/// The server side: a SERVER span per call (a child of the caller's W3C trace context), the
/// `rpc.server.duration` histogram, and one access line per call (health checks at debug).
#[derive(Debug, Clone, Default)]
pub struct ServerLayer;

impl<S> tower::Layer<S> for ServerLayer {
    type Service = Server<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Server { inner }
    }
}

/// The service of [`ServerLayer`].
#[derive(Debug, Clone)]
pub struct Server<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for Server<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let (service, method) = split_path(&path);
        let (service, method) = (service.to_owned(), method.to_owned());
        let quiet = service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.");
        let span = tracing::info_span!(
            "rpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
            otel.status_message = Empty,
            error.reason = Empty,
        );
        let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
        let _ = span.set_parent(parent);
        let caller = CallerSlot::default();
        request.extensions_mut().insert(caller.clone());
        let started = Instant::now();
        // The inner layers (the gate) run their synchronous part inside the span too.
        let future = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = future.await;
                let (code, reason) = match &result {
                    Ok(response) => outcome(response.headers()),
                    Err(_) => (2, String::new()),
                };
                let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
                let labels = finish(&tracing::Span::current(), &service, &method, code, &reason);
                instruments().server_duration.record(elapsed_ms, &labels);
                let (subject, roles) = caller.0.get().cloned().unwrap_or_default();
                let status = code_name(code);
                if quiet {
                    tracing::debug!(target: "qiancheng::access", method = %method, status, duration_ms = elapsed_ms, "call");
                } else {
                    tracing::info!(
                        target: "qiancheng::access",
                        service = %service,
                        method = %method,
                        status,
                        reason,
                        duration_ms = elapsed_ms,
                        subject = %subject,
                        roles = %roles,
                        "call"
                    );
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The client side, on channels to peer services: a CLIENT span per call whose W3C trace
/// context is sent with the call (the peer's span is its child), and the `rpc.client.duration`
/// histogram.
#[derive(Debug, Clone)]
pub struct ClientLayer {
    peer: &'static str,
}

impl ClientLayer {
    /// Calls to the peer called `peer`.
    pub fn new(peer: &'static str) -> Self {
        Self { peer }
    }
}

impl<S> tower::Layer<S> for ClientLayer {
    type Service = Client<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Client { inner, peer: self.peer }
    }
}

/// The service of [`ClientLayer`].
#[derive(Debug, Clone)]
pub struct Client<S> {
    inner: S,
    peer: &'static str,
}

impl<S, B, R> tower::Service<http::Request<B>> for Client<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let (service, method) = split_path(&path);
        let (service, method) = (service.to_owned(), method.to_owned());
        let span = tracing::info_span!(
            "peer call",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            peer.service = self.peer,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
            otel.status_message = Empty,
            error.reason = Empty,
        );
        let context = span.context();
        global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(request.headers_mut())));
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(
            async move {
                let result = future.await;
                let (code, reason) = match &result {
                    Ok(response) => outcome(response.headers()),
                    Err(_) => (14, String::new()),
                };
                let labels = finish(&tracing::Span::current(), &service, &method, code, &reason);
                instruments().client_duration.record(started.elapsed().as_secs_f64() * 1000.0, &labels);
                result
            }
            .instrument(span),
        )
    }
}
