//! The demand service's errors and their one mapping to gRPC statuses.

use qiancheng_platform::PlatformError;
use qiancheng_platform::error::{FieldViolation, status};
use tonic::{Code, Status};

use crate::DOMAIN;

/// Everything a demand call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DemandError {
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
    /// The resource is in a state that does not allow the call.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable reason code.
        reason: &'static str,
        /// Why not.
        message: String,
    },
}

impl DemandError {
    /// A single bad field.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>, description: impl Into<String>) -> Self {
        PlatformError::invalid(FieldViolation::new(field, rule, description)).into()
    }

    /// The caller may not do this.
    pub fn denied(why: impl Into<String>) -> Self {
        PlatformError::PermissionDenied(why.into()).into()
    }
}

impl From<sqlx::Error> for DemandError {
    fn from(error: sqlx::Error) -> Self {
        Self::Platform(PlatformError::Database(error))
    }
}

impl From<DemandError> for Status {
    fn from(error: DemandError) -> Self {
        match error {
            DemandError::Platform(error) => error.into_status(DOMAIN),
            DemandError::NotFound(what) => status(Code::NotFound, "NOT_FOUND", DOMAIN, format!("{what} not found")),
            DemandError::AlreadyExists { reason, message } => status(Code::AlreadyExists, reason, DOMAIN, message),
            DemandError::FailedPrecondition { reason, message } => {
                status(Code::FailedPrecondition, reason, DOMAIN, message)
            }
        }
    }
}
