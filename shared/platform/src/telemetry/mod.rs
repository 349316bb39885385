//! Telemetry by the conventions the ops teams' tools are built on (OpenTelemetry semantic
//! conventions for RPC, Prometheus exposition):
//!
//! - **traces**: one SERVER span per call named `package.Service/Method` with `rpc.system`,
//!   `rpc.service`, `rpc.method`, `rpc.grpc.status_code`, an error status and `error.reason` (the
//!   `ErrorInfo.reason`) when it fails ([`rpc::ServerLayer`]); a CLIENT span per call to a peer
//!   ([`rpc::ClientLayer`]); a span around each database transaction. The W3C trace context
//!   crosses every call. Spans go to an OTLP collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
//!   trace ids exist either way, so logs carry them.
//! - **metrics**: `rpc.server.duration` and `rpc.client.duration` histograms by service, method
//!   and status code, database pool use and waits, idempotent replays, the audit chain's length
//!   and breaks, and business counters (`qiancheng.changes` by audited action). Exported over
//!   OTLP, and scraped as Prometheus text from the admin port ([`crate::admin`]).
//! - **logs**: `tracing` events as pretty text or JSON; every line inside a call carries
//!   `trace_id` and `span_id` ([`logs`]), and every call writes one access line.

pub mod logs;
pub mod metrics;
pub mod prometheus;
pub mod rpc;

use opentelemetry::global;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::error::Error;

pub use rpc::{ClientLayer, ServerLayer};

/// Keeps the providers alive; dropping it flushes what is buffered (spans, a last metrics
/// batch), as a service does on SIGTERM.
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

/// Installs logging, tracing and metrics for the process. With `OTEL_EXPORTER_OTLP_ENDPOINT`
/// set, spans and metrics are exported over OTLP/gRPC; metrics are always readable as
/// Prometheus text. A second call in one process (tests) keeps the first subscriber.
pub fn init(service_name: &str, log_format: &str) -> Result<TelemetryGuard, Error> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let format = match log_format {
        "json" => logs::Format::Json,
        "pretty" => logs::Format::Pretty,
        other => return Err(Error::Config(format!("QIANCHENG_LOG_FORMAT={other}: use pretty or json"))),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| format!("qiancheng-{service_name}")))
        .build();
    let export = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();

    // Spans are always made (so that logs carry trace ids); they leave the process only when a
    // collector is configured.
    let mut tracer_provider = SdkTracerProvider::builder().with_resource(resource.clone());
    if export {
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| Error::Config(format!("OTLP trace exporter: {e}")))?;
        tracer_provider = tracer_provider.with_batch_exporter(spans);
    }
    let tracer_provider = tracer_provider.build();

    let mut meter_provider =
        SdkMeterProvider::builder().with_resource(resource).with_reader(prometheus::Scrape::install());
    if export {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
            .map_err(|e| Error::Config(format!("OTLP metric exporter: {e}")))?;
        meter_provider = meter_provider.with_periodic_exporter(exporter);
    }
    let meter_provider = meter_provider.build();
    global::set_meter_provider(meter_provider.clone());
    global::set_tracer_provider(tracer_provider.clone());

    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer("qiancheng"))
        // Span attributes follow the RPC conventions only: no source locations, thread ids,
        // busy/idle times or levels from `tracing` itself.
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_level(false)
        .with_target(false);
    let fmt = tracing_subscriber::fmt::layer().event_format(logs::EventFormat::new(format)).boxed();
    let _ = tracing_subscriber::registry().with(filter).with(otel).with(fmt).try_init();
    Ok(TelemetryGuard { tracer: Some(tracer_provider), meter: Some(meter_provider) })
}

/// Reads the W3C trace context from request headers.
pub(crate) struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes the W3C trace context into request headers.
pub(crate) struct HeaderInjector<'a>(pub &'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) =
            (http::HeaderName::from_bytes(key.as_bytes()), http::HeaderValue::from_str(&value))
        {
            self.0.insert(key, value);
        }
    }
}
