//! The selection service's errors and their one mapping to gRPC statuses.

use qiancheng_domain::policy::decision::RuleResult;
use qiancheng_platform::PlatformError;
use qiancheng_platform::error::{FieldViolation, status};
use tonic::{Code, Status};

use crate::DOMAIN;

/// Everything a selection call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// A platform failure: bad request, authentication, idempotency, database.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The resource already exists.
    #[error("{message}")]
    AlreadyExists {
        /// Stable reason code.
        reason: &'static str,
        /// What exists.
        message: String,
    },
    /// The resource's state does not allow the call.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable reason code.
        reason: &'static str,
        /// Why not.
        message: String,
    },
    /// A rule of the plan refuses the call; the reason is its code.
    #[error("{}: {}", .0.code, .0.reason_en)]
    Rule(RuleResult),
    /// A peer service could not be reached or failed.
    #[error("{service} service: {message}")]
    Peer {
        /// Which service.
        service: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl SelectionError {
    /// A single bad field.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>, description: impl Into<String>) -> Self {
        PlatformError::invalid(FieldViolation::new(field, rule, description)).into()
    }

    /// The caller may not do this.
    pub fn denied(why: impl Into<String>) -> Self {
        PlatformError::PermissionDenied(why.into()).into()
    }

    /// A state that does not allow the call.
    pub fn state(reason: &'static str, message: impl Into<String>) -> Self {
        Self::FailedPrecondition { reason, message: message.into() }
    }
}

impl From<sqlx::Error> for SelectionError {
    fn from(error: sqlx::Error) -> Self {
        Self::Platform(PlatformError::Database(error))
    }
}

impl From<SelectionError> for Status {
    fn from(error: SelectionError) -> Self {
        match error {
            SelectionError::Platform(error) => error.into_status(DOMAIN),
            SelectionError::NotFound(what) => status(Code::NotFound, "NOT_FOUND", DOMAIN, format!("{what} not found")),
            SelectionError::AlreadyExists { reason, message } => status(Code::AlreadyExists, reason, DOMAIN, message),
            SelectionError::FailedPrecondition { reason, message } => {
                status(Code::FailedPrecondition, reason, DOMAIN, message)
            }
            // A rule of the plan that refuses is a precondition of the call, named by its code.
            SelectionError::Rule(rule) => status(
                Code::FailedPrecondition,
                &rule.code,
                DOMAIN,
                format!("{} ({}): {}", rule.reason_en, rule.code, rule.reason_zh),
            ),
            SelectionError::Peer { service, message } => {
                tracing::warn!(service, %message, "peer service failed");
                status(Code::Unavailable, "PEER_UNAVAILABLE", DOMAIN, format!("the {service} service is unavailable"))
            }
        }
    }
}
