//! One trace follows a call from one service to another: the caller's interceptor sends its
//! W3C trace context and a service token, and the callee's `TraceContextLayer` opens its span as
//! a child of the caller's.

use std::sync::{Arc, Mutex};

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use qiancheng_platform::auth::{Role, TokenMinter};
use qiancheng_platform::client::{ServiceCredentials, connect};
use qiancheng_platform::telemetry::TraceContextLayer;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::interceptor::InterceptedService;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Debug, Default)]
struct Seen {
    traceparent: Option<String>,
    authorization: Option<String>,
    server_trace_id: Option<String>,
}

fn current_trace_id() -> String {
    tracing::Span::current().context().span().span_context().trace_id().to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn the_trace_and_a_service_token_cross_the_call() {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let seen = Arc::new(Mutex::new(Seen::default()));
    let capture = {
        let seen = seen.clone();
        move |request: tonic::Request<()>| {
            let header = |name: &str| request.metadata().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let mut seen = seen.lock().expect("lock");
            seen.traceparent = header("traceparent");
            seen.authorization = header("authorization");
            seen.server_trace_id = Some(current_trace_id());
            Ok(request)
        }
    };
    let (_, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(TraceContextLayer)
            .add_service(InterceptedService::new(health, capture))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    let minter = TokenMinter::generate().expect("key");
    let credentials = ServiceCredentials::new(minter.clone(), "selection");
    let channel = connect(&format!("http://{addr}"), std::time::Duration::from_secs(5)).expect("channel");
    let mut client = HealthClient::with_interceptor(channel, credentials.interceptor());
    let span = tracing::info_span!("caller");
    let caller_trace_id = span.context().span().span_context().trace_id().to_string();
    async {
        client.check(HealthCheckRequest { service: String::new() }).await.expect("the call succeeds");
    }
    .instrument(span)
    .await;

    let seen = seen.lock().expect("lock");
    let traceparent = seen.traceparent.clone().expect("a traceparent header was sent");
    assert!(traceparent.contains(&caller_trace_id), "{traceparent} carries trace {caller_trace_id}");
    assert_eq!(
        seen.server_trace_id.as_deref(),
        Some(caller_trace_id.as_str()),
        "the callee's span joins the caller's trace"
    );
    let token = seen.authorization.clone().expect("a bearer token was sent");
    let principal = minter
        .authenticator()
        .verify(token.trim_start_matches("Bearer "), chrono::Utc::now().timestamp())
        .expect("the token verifies");
    assert_eq!(principal.roles, [Role::Service]);
    assert_eq!(principal.subject, "service:selection");
}
