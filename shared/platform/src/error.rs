//! Errors as the suite reports them: `google.rpc.Status` with a canonical code, an `ErrorInfo`
//! whose `reason` is a stable rule code (from POLICY.md, or a platform code such as
//! `REQUEST_ID_REUSED`) and whose `domain` is the service's package, and a `BadRequest` with one
//! violation per bad field. No database text or stack ever reaches a client: server faults are
//! logged here with their source chain and answered with a bare `INTERNAL`.

use qiancheng_domain::ValueError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The request field, as a path (`vacancy.headcount`).
    pub field: String,
    /// The stable rule code the value breaks.
    pub rule: String,
    /// What is wrong, for a person to read.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `rule` by `field`.
    pub fn new(field: impl Into<String>, rule: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into(), description: description.into() }
    }

    /// A domain value that failed to parse, attached to the request field it came from.
    pub fn from_value(field: impl Into<String>, error: ValueError) -> Self {
        Self::new(field, error.rule, error.reason)
    }
}

/// Collects every bad field of a request, so that one answer names them all.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps a parsed value, or records why `field` is not one.
    pub fn value<T>(&mut self, field: &str, parsed: Result<T, ValueError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldViolation::from_value(field, error));
                None
            }
        }
    }

    /// Records that `field` breaks `rule`.
    pub fn add(&mut self, field: &str, rule: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, rule, description));
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when every field was valid, else `INVALID_ARGUMENT` with every violation.
    pub fn finish(self) -> Result<(), PlatformError> {
        if self.0.is_empty() { Ok(()) } else { Err(PlatformError::InvalidArgument(self.0)) }
    }
}

/// The platform's errors; each service wraps them in its own error enum.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// One or more request fields are invalid.
    #[error("invalid request: {}", .0.first().map(|v| v.description.as_str()).unwrap_or("invalid"))]
    InvalidArgument(Vec<FieldViolation>),
    /// No valid bearer token.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's roles or scope do not allow the call.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The same `request_id` came with a different request.
    #[error("request id was used before for a different request")]
    RequestIdReused,
    /// The resource changed since the caller read it.
    #[error("etag does not match the stored resource")]
    StaleEtag,
    /// Configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Personal data could not be encrypted or decrypted.
    #[error("personal data protection: {0}")]
    Pii(String),
    /// The database failed.
    #[error("database")]
    Database(#[source] sqlx::Error),
    /// Migrations failed.
    #[error("migration")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl PlatformError {
    /// A single bad field.
    pub fn invalid(violation: FieldViolation) -> Self {
        Self::InvalidArgument(vec![violation])
    }

    /// Turns the error into the status a client sees, under the service's error `domain`.
    /// Client faults are logged at `info`, server faults at `warn` (with their sources).
    pub fn into_status(self, domain: &str) -> Status {
        if !matches!(self, Self::Config(_) | Self::Pii(_) | Self::Database(_) | Self::Migrate(_) | Self::Corrupt(_)) {
            tracing::info!(domain, error = %self, "request refused");
        }
        match self {
            Self::InvalidArgument(violations) => invalid_argument(domain, &violations),
            Self::Unauthenticated(message) => status(Code::Unauthenticated, "UNAUTHENTICATED", domain, message),
            Self::PermissionDenied(message) => status(Code::PermissionDenied, "PERMISSION_DENIED", domain, message),
            Self::RequestIdReused => status(
                Code::AlreadyExists,
                "REQUEST_ID_REUSED",
                domain,
                "request_id was used before for a different request",
            ),
            Self::StaleEtag => status(
                Code::Aborted,
                "ETAG_MISMATCH",
                domain,
                "the resource changed since it was read; read it again and retry",
            ),
            error @ (Self::Config(_) | Self::Pii(_) | Self::Database(_) | Self::Migrate(_) | Self::Corrupt(_)) => {
                internal(domain, &error)
            }
        }
    }
}

impl From<sqlx::Error> for PlatformError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// A status with an `ErrorInfo` carrying `reason` under `domain`.
pub fn status(code: Code, reason: &str, domain: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(reason, domain, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

/// `INVALID_ARGUMENT` with a `BadRequest` of every violation; the `ErrorInfo` reason is the first
/// violation's rule.
pub fn invalid_argument(domain: &str, violations: &[FieldViolation]) -> Status {
    let first = violations.first();
    let reason = first.map_or("INVALID_ARGUMENT", |v| v.rule.as_str());
    let message =
        first.map_or_else(|| "invalid request".to_owned(), |v| format!("{}: {} ({})", v.field, v.description, v.rule));
    let mut details = ErrorDetails::with_error_info(reason, domain, std::collections::HashMap::new());
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), format!("{} ({})", v.description, v.rule));
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// `INTERNAL` for a server fault: the error and its sources are logged, the client sees none.
pub fn internal(domain: &str, error: &(dyn std::error::Error + 'static)) -> Status {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        chain.push_str(": ");
        chain.push_str(&inner.to_string());
        source = inner.source();
    }
    tracing::warn!(error = %chain, domain, "server fault");
    status(Code::Internal, "INTERNAL", domain, "internal error; it has been logged")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_rule_and_field() {
        let status = PlatformError::invalid(FieldViolation::new("worker_need.id_number", "PERSON-ID", "bad check"))
            .into_status("qiancheng.demand.v1");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("PERSON-ID"));
        let bad = details.bad_request().expect("bad request");
        assert_eq!(bad.field_violations[0].field, "worker_need.id_number");
    }

    #[test]
    fn database_text_never_reaches_the_client() {
        let status = PlatformError::Database(sqlx::Error::Protocol("secret table t_x".into()))
            .into_status("qiancheng.demand.v1");
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("t_x"));
    }
}
