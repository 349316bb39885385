//! Metrics as Prometheus text (exposition format 0.0.4), for teams without an OpenTelemetry
//! collector: a reader collects the process's metrics on each scrape of the admin port's
//! `/metrics`. Names follow Prometheus habits: dots become underscores, the unit is a suffix
//! (`rpc_server_duration_milliseconds`), counters end in `_total`.

use std::fmt::Write as _;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

static READER: RwLock<Option<Arc<ManualReader>>> = RwLock::new(None);

/// The reader behind `/metrics`, shared between the meter provider and the scrape.
#[derive(Debug, Clone)]
pub struct Scrape(Arc<ManualReader>);

impl Scrape {
    /// A new reader, made the one `/metrics` reads.
    pub fn install() -> Self {
        let reader = Arc::new(ManualReader::builder().build());
        *READER.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reader.clone());
        Self(reader)
    }
}

impl MetricReader for Scrape {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

fn metric_name(name: &str, unit: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let suffix = match unit {
        "ms" => "_milliseconds",
        "s" => "_seconds",
        "By" => "_bytes",
        _ => "",
    };
    out.push_str(suffix);
    out
}

fn labels(attributes: &mut dyn Iterator<Item = &KeyValue>, extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = attributes
        .map(|kv| {
            let key: String =
                kv.key.as_str().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            let value = kv.value.as_str().replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{key}=\"{value}\"")
        })
        .collect();
    if let Some((key, value)) = extra {
        parts.push(format!("{key}=\"{value}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

fn write_data<T: Copy>(out: &mut String, name: &str, help: &str, data: &MetricData<T>, as_f64: fn(T) -> f64) {
    match data {
        MetricData::Gauge(gauge) => {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for point in gauge.data_points() {
                let _ =
                    writeln!(out, "{name}{} {}", labels(&mut point.attributes(), None), number(as_f64(point.value())));
            }
        }
        MetricData::Sum(sum) => {
            let (name, kind) =
                if sum.is_monotonic() { (format!("{name}_total"), "counter") } else { (name.to_owned(), "gauge") };
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for point in sum.data_points() {
                let _ =
                    writeln!(out, "{name}{} {}", labels(&mut point.attributes(), None), number(as_f64(point.value())));
            }
        }
        MetricData::Histogram(histogram) => {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for point in histogram.data_points() {
                let mut cumulative = 0u64;
                let bounds: Vec<f64> = point.bounds().collect();
                for (i, count) in point.bucket_counts().enumerate() {
                    cumulative += count;
                    let le = bounds.get(i).map_or_else(|| "+Inf".to_owned(), |b| format!("{b}"));
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {cumulative}",
                        labels(&mut point.attributes(), Some(("le", le)))
                    );
                }
                let attrs = labels(&mut point.attributes(), None);
                let _ = writeln!(out, "{name}_sum{attrs} {}", number(as_f64(point.sum())));
                let _ = writeln!(out, "{name}_count{attrs} {}", point.count());
            }
        }
        MetricData::ExponentialHistogram(_) => {}
    }
}

/// The process's metrics as Prometheus text; empty before telemetry is initialised.
pub fn render() -> String {
    let reader = READER.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let Some(reader) = reader else { return String::new() };
    let mut metrics = ResourceMetrics::default();
    if reader.collect(&mut metrics).is_err() {
        return String::new();
    }
    let mut out = String::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            let name = metric_name(metric.name(), metric.unit());
            let help = metric.description().replace('\n', " ");
            match metric.data() {
                AggregatedMetrics::F64(data) => write_data(&mut out, &name, &help, data, |v| v),
                AggregatedMetrics::U64(data) => write_data(&mut out, &name, &help, data, |v| v as f64),
                AggregatedMetrics::I64(data) => write_data(&mut out, &name, &help, data, |v| v as f64),
            }
        }
    }
    out
}
