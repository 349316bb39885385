//! Telemetry: `tracing` logs (pretty or JSON) and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set,
//! traces and metrics exported over OTLP/gRPC. The W3C trace context (`traceparent`) is read from
//! every incoming call by [`TraceContextLayer`] and written into outgoing calls by
//! [`inject_trace_context`], so one trace follows a request across the services.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, global};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::error::Error;

/// Keeps the exporters alive; dropping it flushes what is buffered.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(tracer) = self.tracer.take() {
            let _ = tracer.shutdown();
        }
        if let Some(meter) = self.meter.take() {
            let _ = meter.shutdown();
        }
    }
}

/// Installs logging for the process and, with an OTLP endpoint configured, trace and metric
/// export. Calling it again in the same process is harmless (tests do).
pub fn init(service_name: &str, log_format: &str) -> Result<TelemetryGuard, Error> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = match log_format {
        "json" => tracing_subscriber::fmt::layer().json().with_current_span(true).boxed(),
        "pretty" => tracing_subscriber::fmt::layer().compact().boxed(),
        other => {
            return Err(Error::Config(format!("QIANCHENG_LOG_FORMAT={other}: use pretty or json")));
        }
    };
    let mut guard = TelemetryGuard::default();
    let otel = if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(
                std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| format!("qiancheng-{service_name}")),
            )
            .build();
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| Error::Config(format!("OTLP trace exporter: {e}")))?;
        let tracer_provider =
            SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource.clone()).build();
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| Error::Config(format!("OTLP metric exporter: {e}")))?;
        let meter_provider =
            SdkMeterProvider::builder().with_periodic_exporter(metrics).with_resource(resource).build();
        global::set_meter_provider(meter_provider.clone());
        let tracer = tracer_provider.tracer("qiancheng");
        global::set_tracer_provider(tracer_provider.clone());
        guard.tracer = Some(tracer_provider);
        guard.meter = Some(meter_provider);
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    } else {
        None
    };
    // A second initialisation in one process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init();
    Ok(guard)
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Writes the current span's W3C trace context into an outgoing call's metadata.
pub fn inject_trace_context(metadata: &mut tonic::metadata::MetadataMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut MetadataInjector(metadata)));
}

/// Counts a request answered from its stored first response (`qiancheng.idempotent.replays`).
pub fn count_replay(method: &'static str) {
    global::meter("qiancheng")
        .u64_counter("qiancheng.idempotent.replays")
        .build()
        .add(1, &[KeyValue::new("rpc.method", method)]);
}

/// A tower layer that opens a span for every call, parented on the caller's W3C trace context,
/// and records the call's duration in the `rpc.server.duration` histogram (milliseconds).
#[derive(Debug, Clone, Default)]
pub struct TraceContextLayer;

impl<S> tower::Layer<S> for TraceContextLayer {
    type Service = TraceContext<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TraceContext { inner }
    }
}

/// The service of [`TraceContextLayer`].
#[derive(Debug, Clone)]
pub struct TraceContext<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for TraceContext<S>
where
    S: tower::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
        let span = tracing::info_span!("rpc", rpc.method = %path, otel.kind = "server");
        let _ = span.set_parent(parent);
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(
            async move {
                let result = future.await;
                global::meter("qiancheng")
                    .f64_histogram("rpc.server.duration")
                    .with_unit("ms")
                    .build()
                    .record(started.elapsed().as_secs_f64() * 1000.0, &[KeyValue::new("rpc.method", path)]);
                result
            }
            .instrument(span),
        )
    }
}
