//! The one error type of every service, and its one mapping to what a client sees:
//! `google.rpc.Status` with a canonical code, an `ErrorInfo` whose `reason` is a stable rule code
//! (a rule code of the plan, or a platform code such as `REQUEST_ID_REUSED`, each explained in docs/RULES.md) and whose `domain` is the
//! RPC's package, and a `BadRequest` with one violation per bad field.
//!
//! Refusals (the caller's fault, or a rule of the plan) are logged at `info` with their reason;
//! faults (ours: the database, a corrupt row, configuration) at `error` with their source chain,
//! and the client sees a bare `INTERNAL`. No database text or stack ever reaches a client. A
//! peer service's refusal keeps its code (a peer's `NOT_FOUND` stays `NOT_FOUND`); only a peer
//! that cannot be reached is `UNAVAILABLE`.

use std::borrow::Cow;
use std::collections::HashMap;

use qiancheng_api::{IntoStatus, Rpc};
use qiancheng_domain::ValueError;
use qiancheng_domain::policy::RuleResult;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub use qiancheng_api::FieldViolation;

/// Collects every bad field of a request, so that one answer names them all.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps a parsed value, or records why `field` is not one.
    pub fn value<T>(&mut self, field: &str, parsed: Result<T, ValueError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.rule, error.reason);
                None
            }
        }
    }

    /// Records that `field` breaks `rule` (a field refused twice is named once, by its first
    /// violation, when the status is made: [`invalid_argument`]).
    pub fn add(&mut self, field: &str, rule: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, rule, description));
    }

    /// Records every field of `message` (named under `prefix`, `vacancy.`) that breaks the rules
    /// its proto declares: how an update checks the resource it merged from the stored one and
    /// the fields of its mask.
    pub fn declared(&mut self, message: &impl qiancheng_api::Validate, prefix: &str) {
        message.check_at(prefix, &mut self.0);
    }

    /// Records, of the fields of `message` that break their declared rules, those an update's
    /// mask names (`paths`, top-level fields of the resource under `prefix`).
    pub fn declared_in(&mut self, message: &impl qiancheng_api::Validate, prefix: &str, paths: &[String]) {
        let mut all = Vec::new();
        message.check_at(prefix, &mut all);
        self.0.extend(all.into_iter().filter(|v| {
            let field = v.field.strip_prefix(prefix).unwrap_or(&v.field);
            paths
                .iter()
                .any(|p| field == p || field.starts_with(&format!("{p}.")) || field.starts_with(&format!("{p}[")))
        }));
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when every field was valid, else `INVALID_ARGUMENT` with every violation.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::InvalidArgument(self.0)) }
    }
}

/// A stable reason code: a rule code or a platform code (docs/RULES.md).
pub type Reason = Cow<'static, str>;

/// Everything a call of the suite can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more request fields are invalid.
    #[error("invalid request: {}", .0.first().map_or("invalid", |v| v.description.as_str()))]
    InvalidArgument(Vec<FieldViolation>),
    /// No valid bearer token.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's roles or scope do not allow the call.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The resource already exists.
    #[error("{message}")]
    AlreadyExists {
        /// Stable reason code.
        reason: Reason,
        /// What exists.
        message: String,
    },
    /// The resource's state does not allow the call.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable reason code.
        reason: Reason,
        /// Why not.
        message: String,
    },
    /// A rule of the plan refuses the call: the policy core's result, named by its rule code.
    #[error("{}: {}", .0.code, .0.reason_en)]
    Refused(RuleResult),
    /// The same `request_id` came with a different request.
    #[error("request id was used before for a different request")]
    RequestIdReused,
    /// The resource changed since the caller read it.
    #[error("etag does not match the stored resource")]
    StaleEtag,
    /// A concurrent change to the same data came first.
    #[error("{0}")]
    Conflict(String),
    /// A client stream ended before its intake finished (what was acknowledged is stored).
    #[error("{0}")]
    StreamEnded(String),
    /// A limit of the suite was reached (too many rows, too many streams).
    #[error("{message}")]
    ResourceExhausted {
        /// Stable reason code.
        reason: Reason,
        /// Which limit.
        message: String,
    },
    /// A peer service answered with an error, or could not be reached.
    #[error("{service} service: {}", .status.message())]
    Peer {
        /// The peer's short name (`demand`).
        service: &'static str,
        /// What it answered.
        status: Box<Status>,
    },
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

impl From<sqlx::Error> for Error {
    /// A database error; a deadlock or serialization failure between concurrent writers
    /// (PostgreSQL 40P01, 40001) is a conflict the caller may retry, not a fault.
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error
            && matches!(db.code().as_deref(), Some("40P01" | "40001"))
        {
            return Self::Conflict("a concurrent change got in the way; retry".to_owned());
        }
        Self::Database(error)
    }
}

impl From<qiancheng_domain::lifecycle::Transition> for Error {
    fn from(refused: qiancheng_domain::lifecycle::Transition) -> Self {
        Self::FailedPrecondition { reason: refused.reason.into(), message: refused.message }
    }
}

impl Error {
    /// A single bad field.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, rule, description)])
    }

    /// A domain value that failed to parse, for the request field it came from.
    pub fn invalid_value(field: impl Into<String>, error: ValueError) -> Self {
        Self::InvalidArgument(vec![FieldViolation::from_value(field, error)])
    }

    /// The caller may not do this.
    pub fn denied(why: impl Into<String>) -> Self {
        Self::PermissionDenied(why.into())
    }

    /// The resource's state does not allow the call.
    pub fn precondition(reason: impl Into<Reason>, message: impl Into<String>) -> Self {
        Self::FailedPrecondition { reason: reason.into(), message: message.into() }
    }

    /// The resource exists already.
    pub fn exists(reason: impl Into<Reason>, message: impl Into<String>) -> Self {
        Self::AlreadyExists { reason: reason.into(), message: message.into() }
    }

    /// A stored value of `what` could not be decoded.
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }

    /// A rule that failed, as a refusal; a rule that passed is not an error.
    pub fn unless_passed(rule: RuleResult) -> Result<(), Self> {
        if rule.passed { Ok(()) } else { Err(Self::Refused(rule)) }
    }

    /// The error with its chain of sources, on one line, for an operator.
    pub fn report(&self) -> String {
        let mut chain = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(inner) = source {
            chain.push_str(": ");
            chain.push_str(&inner.to_string());
            source = inner.source();
        }
        chain
    }

    /// Whether the error is the server's fault rather than the caller's.
    pub fn is_fault(&self) -> bool {
        match self {
            Self::Config(_) | Self::Pii(_) | Self::Database(_) | Self::Migrate(_) | Self::Corrupt(_) => true,
            Self::Peer { status, .. } => peer_code(status) == Code::Internal,
            _ => false,
        }
    }

    /// Turns the error into the status a client sees, under the error `domain` (the package),
    /// logging it once: refusals at `info`, faults at `error`.
    pub fn to_status(self, domain: &str, method: &str) -> Status {
        if self.is_fault() {
            return internal(domain, method, &self);
        }
        let status = match self {
            Self::InvalidArgument(violations) => invalid_argument(domain, &violations),
            Self::Unauthenticated(message) => status(Code::Unauthenticated, "UNAUTHENTICATED", domain, message),
            Self::PermissionDenied(message) => status(Code::PermissionDenied, "PERMISSION_DENIED", domain, message),
            Self::NotFound(what) => {
                status(Code::NotFound, "NOT_FOUND", domain, format!("{} not found", shown_name(&what)))
            }
            Self::AlreadyExists { reason, message } => status(Code::AlreadyExists, &reason, domain, message),
            Self::FailedPrecondition { reason, message } => status(Code::FailedPrecondition, &reason, domain, message),
            // A rule of the plan that refuses is a precondition of the call, named by its code.
            Self::Refused(rule) => status(
                Code::FailedPrecondition,
                &rule.code,
                domain,
                format!("{} ({}): {}", rule.reason_en, rule.code, rule.reason_zh),
            ),
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
            Self::Conflict(message) => status(Code::Aborted, "CONCURRENT_CHANGE", domain, message),
            Self::StreamEnded(message) => status(Code::Aborted, "STREAM_ENDED", domain, message),
            Self::ResourceExhausted { reason, message } => status(Code::ResourceExhausted, &reason, domain, message),
            Self::Peer { service, status: peer } => peer_status(domain, service, &peer),
            Self::Config(_) | Self::Pii(_) | Self::Database(_) | Self::Migrate(_) | Self::Corrupt(_) => {
                unreachable!("faults were answered above")
            }
        };
        let reason = status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default();
        tracing::info!(rpc.method = method, code = ?status.code(), reason, "request refused");
        status
    }
}

impl IntoStatus for Error {
    fn into_status<M: Rpc>(self) -> Status {
        self.to_status(M::PACKAGE, M::METHOD)
    }
}

/// How a peer's code is passed on: refusals keep their code, a peer out of reach (or a call that
/// broke on its way, [`made_here`]) is `UNAVAILABLE`, and a peer's own fault (or its refusal of
/// our credentials) is ours.
fn peer_code(peer: &Status) -> Code {
    if made_here(peer) {
        return Code::Unavailable;
    }
    let code = peer.code();
    match code {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => Code::Unavailable,
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::OutOfRange => code,
        Code::Ok | Code::Unknown | Code::Unauthenticated | Code::Unimplemented | Code::Internal | Code::DataLoss => {
            Code::Internal
        }
    }
}

/// Whether `peer` was made here from a failed connection rather than answered by the peer: such a
/// status carries the transport's error as its source (a stream reset, a broken pipe, a connection
/// dropped mid-call when the peer was killed), whatever code tonic gave it. The peer is out of
/// reach, not at fault.
fn made_here(peer: &Status) -> bool {
    std::error::Error::source(peer).is_some()
}

fn peer_status(domain: &str, service: &str, peer: &Status) -> Status {
    let code = peer_code(peer);
    if code == Code::Unavailable {
        tracing::warn!(peer = service, code = ?peer.code(), message = peer.message(), "peer service unavailable");
        return status(Code::Unavailable, "PEER_UNAVAILABLE", domain, format!("the {service} service is unavailable"));
    }
    // The peer's reason (its rule code) is kept, so a client sees why it was refused.
    let reason = peer.get_error_details().error_info().map_or_else(|| "PEER_REFUSED".to_owned(), |i| i.reason.clone());
    status(code, &reason, domain, format!("the {service} service refused: {}", peer.message()))
}

/// Longest status message sent; the message travels in a header, and clients limit headers
/// (Python's grpcio to 16 KB, with the error details).
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Most field violations listed in one `BadRequest`.
pub const MAX_VIOLATIONS: usize = 50;

fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max).chain(['…']).collect() }
}

/// A resource name as an error may repeat it: whole when it looks like one of the suite's names
/// (a short collection and id of letters, digits and `-`/`_`, no long run of digits that could be
/// an ID number), otherwise its collection and a short, masked piece of the rest.
fn shown_name(name: &str) -> String {
    let longest_digits = name.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0);
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'));
    if plain && name.len() <= 80 && longest_digits < 15 {
        return name.to_owned();
    }
    match name.split_once('/') {
        Some((collection, rest)) if collection.len() <= 30 && collection.chars().all(|c| c.is_ascii_alphabetic()) => {
            format!("{collection}/{}", qiancheng_domain::quote(rest))
        }
        _ => qiancheng_domain::quote(name),
    }
}

/// A status with an `ErrorInfo` carrying `reason` under `domain`.
pub fn status(code: Code, reason: &str, domain: &str, message: impl Into<String>) -> Status {
    let details = ErrorDetails::with_error_info(bounded(reason, 64), domain, HashMap::new());
    Status::with_error_details(code, bounded(&message.into(), MAX_MESSAGE_CHARS), details)
}

/// `INVALID_ARGUMENT` with a `BadRequest` of every violation; the `ErrorInfo` reason is the first
/// violation's rule.
pub fn invalid_argument(domain: &str, violations: &[FieldViolation]) -> Status {
    let first = violations.first();
    let reason = first.map_or("INVALID_ARGUMENT", |v| v.rule.as_str());
    let message =
        first.map_or_else(|| "invalid request".to_owned(), |v| format!("{}: {} ({})", v.field, v.description, v.rule));
    let mut details = ErrorDetails::with_error_info(bounded(reason, 64), domain, HashMap::new());
    let mut named: Vec<&str> = Vec::new();
    for v in violations {
        if named.len() == MAX_VIOLATIONS {
            break;
        }
        if named.contains(&v.field.as_str()) {
            continue;
        }
        named.push(&v.field);
        details.add_bad_request_violation(
            bounded(&v.field, 200),
            bounded(&format!("{} ({})", v.description, v.rule), 300),
        );
    }
    Status::with_error_details(Code::InvalidArgument, bounded(&message, MAX_MESSAGE_CHARS), details)
}

/// `INTERNAL` for a server fault: the error and its sources are logged, the client sees none.
fn internal(domain: &str, method: &str, error: &Error) -> Status {
    tracing::error!(rpc.method = method, error = %error.report(), "server fault");
    status(Code::Internal, "INTERNAL", domain, "internal error; it has been logged")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "qiancheng.demand.v1";

    #[test]
    fn invalid_argument_carries_rule_and_field() {
        let status = Error::invalid("worker_need.id_number", "PERSON-ID", "bad check").to_status(DOMAIN, "X");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        assert_eq!(details.error_info().map(|i| i.reason.as_str()), Some("PERSON-ID"));
        let bad = details.bad_request().expect("bad request");
        assert_eq!(bad.field_violations[0].field, "worker_need.id_number");
    }

    #[test]
    fn database_text_never_reaches_the_client() {
        let status = Error::Database(sqlx::Error::Protocol("secret table t_x".into())).to_status(DOMAIN, "X");
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("t_x"));
    }

    #[test]
    fn a_missing_resource_is_named_unless_its_name_could_carry_personal_data() {
        let plain = Error::NotFound("vacancies/01m8rxxfebd3bjyybaxzph7c5q".into()).to_status(DOMAIN, "X");
        assert!(plain.message().contains("vacancies/01m8rxxfebd3bjyybaxzph7c5q"));
        let id = Error::NotFound("enterprises/110101199003071233".into()).to_status(DOMAIN, "X");
        assert!(!id.message().contains("199003071233"), "{}", id.message());
        let long = Error::NotFound(format!("vacancies/{}", "长".repeat(400))).to_status(DOMAIN, "X");
        assert!(long.message().len() < 100, "{}", long.message());
    }

    #[test]
    fn a_rule_refusal_is_a_failed_precondition_named_by_its_code() {
        let rule = RuleResult::fail("PROJ-QUOTA", "名额不足", "quota exhausted");
        let status = Error::Refused(rule).to_status(DOMAIN, "X");
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.get_error_details().error_info().map(|i| i.reason.as_str()), Some("PROJ-QUOTA"));
    }

    #[test]
    fn a_peer_refusal_keeps_its_code_and_reason() {
        let peer = status(Code::PermissionDenied, "PERMISSION_DENIED", "qiancheng.demand.v1", "not yours");
        let passed = Error::Peer { service: "demand", status: Box::new(peer) }.to_status("qiancheng.selection.v1", "X");
        assert_eq!(passed.code(), Code::PermissionDenied);
        assert_eq!(passed.get_error_details().error_info().map(|i| i.reason.as_str()), Some("PERMISSION_DENIED"));
        let gone = Error::Peer { service: "demand", status: Box::new(Status::unavailable("connection refused")) }
            .to_status("qiancheng.selection.v1", "X");
        assert_eq!(gone.code(), Code::Unavailable);
        assert_eq!(gone.get_error_details().error_info().map(|i| i.reason.as_str()), Some("PEER_UNAVAILABLE"));
        let broken = Error::Peer { service: "demand", status: Box::new(Status::internal("boom")) }
            .to_status("qiancheng.selection.v1", "X");
        assert_eq!(broken.code(), Code::Internal);
    }

    #[test]
    fn a_peer_killed_mid_call_is_unavailable_whatever_code_the_transport_gave() {
        // A connection broken under a call: tonic makes the status here, with the transport's
        // error as its source, and may call it INTERNAL or UNKNOWN; the peer did not answer.
        for kind in [std::io::ErrorKind::BrokenPipe, std::io::ErrorKind::Other] {
            let dropped = Status::from_error(Box::new(std::io::Error::new(kind, "connection closed")));
            assert!(std::error::Error::source(&dropped).is_some());
            let passed =
                Error::Peer { service: "demand", status: Box::new(dropped) }.to_status("qiancheng.selection.v1", "X");
            assert_eq!(passed.code(), Code::Unavailable, "{kind:?}");
            assert_eq!(passed.get_error_details().error_info().map(|i| i.reason.as_str()), Some("PEER_UNAVAILABLE"));
        }
    }
}
