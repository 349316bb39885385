//! Log lines: pretty text for a person at a terminal (colour only on a terminal), or one JSON
//! object per line for a log pipeline. Every line written inside a call carries the call's
//! `trace_id` and `span_id`, so a log line joins its trace. Fields are written once each (a
//! field named `message` does not repeat the key).

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OtelData;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `2026-12-01T05:40:17.123456Z  INFO target: message key=value trace_id=… span_id=…`.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The suite's event format.
#[derive(Debug, Clone, Copy)]
pub struct EventFormat {
    format: Format,
    ansi: bool,
}

impl EventFormat {
    /// Lines in `format`; colour only when standard output is a terminal.
    pub fn new(format: Format) -> Self {
        Self { format, ansi: format == Format::Pretty && std::io::IsTerminal::is_terminal(&std::io::stdout()) }
    }
}

/// Collects an event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().to_owned(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

/// The trace and span id of the innermost span of the event, if it is in one.
fn trace_ids<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<(String, String)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let span = ctx.lookup_current()?;
    let extensions = span.extensions();
    let otel = extensions.get::<OtelData>()?;
    Some((otel.trace_id()?.to_string(), otel.span_id()?.to_string()))
}

impl<S, N> FormatEvent<S, N> for EventFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Map::new();
        event.record(&mut Fields(&mut fields));
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let ids = trace_ids(ctx);
        match self.format {
            Format::Json => {
                let mut line = Map::new();
                line.insert("timestamp".to_owned(), Value::from(timestamp));
                line.insert("level".to_owned(), Value::from(meta.level().as_str()));
                line.insert("target".to_owned(), Value::from(meta.target()));
                if let Some((trace_id, span_id)) = ids {
                    line.insert("trace_id".to_owned(), Value::from(trace_id));
                    line.insert("span_id".to_owned(), Value::from(span_id));
                }
                line.extend(fields);
                writeln!(writer, "{}", Value::Object(line))
            }
            Format::Pretty => {
                let level = meta.level().as_str();
                let level = if self.ansi {
                    let colour = match *meta.level() {
                        tracing::Level::ERROR => "31",
                        tracing::Level::WARN => "33",
                        tracing::Level::INFO => "32",
                        _ => "2",
                    };
                    format!("\x1b[{colour}m{level:>5}\x1b[0m")
                } else {
                    format!("{level:>5}")
                };
                write!(writer, "{timestamp} {level} {}:", meta.target())?;
                if let Some(Value::String(message)) = fields.remove("message") {
                    write!(writer, " {message}")?;
                }
                for (key, value) in fields {
                    match value {
                        Value::String(text) => write!(writer, " {key}={text}")?,
                        other => write!(writer, " {key}={other}")?,
                    }
                }
                if let Some((trace_id, span_id)) = ids {
                    write!(writer, " trace_id={trace_id} span_id={span_id}")?;
                }
                writeln!(writer)
            }
        }
    }
}
