//! Calls from one service of the suite to another: a channel with timeouts, and an interceptor
//! that gives every call a short-lived `SERVICE` bearer token so the callee can authorise it.
//! (The trace context is sent by the client span of [`crate::telemetry::ClientLayer`].)
//!
//! A service signs its own tokens with its private key (its public key is among the callee's
//! `QIANCHENG_AUTH_PUBLIC_KEYS`); in development the one development key signs every token.

use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::auth::{Role, TokenMinter};
use crate::error::Error;

/// How long a minted service token lives: long enough for one call and its retries.
const SERVICE_TOKEN_SECONDS: i64 = 300;

/// Connects lazily to a peer service at `url` (`http://host:port`); the first call connects.
pub fn connect(url: &str, timeout: Duration) -> Result<Channel, Error> {
    Ok(Endpoint::from_shared(url.to_owned())
        .map_err(|e| Error::Config(format!("peer URL {url}: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy())
}

/// The identity a service calls its peers with.
#[derive(Debug, Clone)]
pub struct ServiceCredentials {
    minter: TokenMinter,
    subject: String,
}

impl ServiceCredentials {
    /// Calls made as `service` (`selection`), signed by `minter`.
    pub fn new(minter: TokenMinter, service: &str) -> Self {
        Self { minter, subject: format!("service:{service}") }
    }

    /// A fresh bearer token for one call.
    pub fn bearer(&self) -> Result<String, Error> {
        self.minter.mint(&self.subject, &[Role::Service], None, None, SERVICE_TOKEN_SECONDS)
    }

    /// An interceptor for a generated client: a bearer token on every call.
    pub fn interceptor(&self) -> impl tonic::service::Interceptor + Clone + use<> {
        let credentials = self.clone();
        move |mut request: Request<()>| -> Result<Request<()>, Status> {
            let token =
                credentials.bearer().map_err(|e| Status::internal(format!("cannot sign a service token: {e}")))?;
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| Status::internal("a service token is not valid metadata"))?;
            request.metadata_mut().insert("authorization", value);
            Ok(request)
        }
    }
}
