//! Calls from one service of the suite to another: a channel with timeouts, plaintext to an
//! `http://` peer or TLS to an `https://` one ([`crate::tls`]), and an interceptor that gives
//! every call a short-lived `SERVICE` bearer token so the callee can authorise it. (The trace
//! context is sent by the client span of [`crate::telemetry::ClientLayer`].)
//!
//! A service signs its own tokens with its private key (its public key is among the callee's
//! `QIANCHENG_SERVICE_PUBLIC_KEYS`). Where the callee lets the caller's client certificate stand
//! in for its token (`QIANCHENG_TLS_CLIENT_SERVICES`), a service without a signing key calls with
//! its certificate alone. In development each service has a key of its own, made at start.

use std::sync::Arc;
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::auth::{Role, SERVICE_SUBJECT_PREFIX, TokenMinter};
use crate::error::Error;
use crate::tls::{ClientTls, TlsConnect};

/// How long a minted service token lives: long enough for one call and its retries.
const SERVICE_TOKEN_SECONDS: i64 = 300;

/// Connects lazily to a peer service at `url` (`http://host:port`, or `https://host:port` over
/// `tls`); the first call connects, and a lost connection is opened again on the next call.
pub fn connect(url: &str, timeout: Duration, tls: Option<&Arc<ClientTls>>) -> Result<Channel, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::Config(format!("peer URL {url}: {e}"));
    let uri: http::Uri = url.parse().map_err(|e| bad(&e))?;
    let endpoint = |url: &str| -> Result<Endpoint, Error> {
        Ok(Endpoint::from_shared(url.to_owned())
            .map_err(|e| bad(&e))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .tcp_nodelay(true))
    };
    if uri.scheme_str() != Some("https") {
        return Ok(endpoint(url)?.connect_lazy());
    }
    let tls = tls.ok_or_else(|| bad(&"an https peer needs the suite's TLS settings (QIANCHENG_TLS_*)"))?;
    let (Some(host), Some(authority)) = (uri.host(), uri.authority()) else { return Err(bad(&"no host")) };
    let connector = TlsConnect::new(tls.clone(), host, uri.port_u16().unwrap_or(443))?;
    // The connector makes the TLS connection itself (with the certificate current at each
    // connection), so the channel is given the plain form of the address; requests still carry
    // the https origin.
    Ok(endpoint(&format!("http://{authority}"))?.origin(uri).connect_with_connector_lazy(connector))
}

/// The identity a service calls its peers with: a token signed by its own key, its client
/// certificate, or both.
#[derive(Debug, Clone)]
pub struct ServiceCredentials {
    minter: Option<TokenMinter>,
    subject: String,
    tls: Option<Arc<ClientTls>>,
}

impl ServiceCredentials {
    /// Calls made as `service` (`selection`), signed by `minter`.
    pub fn new(minter: TokenMinter, service: &str) -> Self {
        Self { minter: Some(minter), subject: format!("{SERVICE_SUBJECT_PREFIX}{service}"), tls: None }
    }

    /// Calls made as `service` with its client certificate alone: no token is sent, and the
    /// callee must let the certificate stand in for one.
    pub fn certificate_only(service: &str, tls: Arc<ClientTls>) -> Self {
        Self { minter: None, subject: format!("{SERVICE_SUBJECT_PREFIX}{service}"), tls: Some(tls) }
    }

    /// The same calls, to https peers over `tls`.
    pub fn with_tls(mut self, tls: Arc<ClientTls>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The TLS settings of calls to https peers, if any.
    pub fn tls(&self) -> Option<&Arc<ClientTls>> {
        self.tls.as_ref()
    }

    /// A fresh bearer token for one call; `None` when calls rely on the client certificate.
    pub fn bearer(&self) -> Result<Option<String>, Error> {
        self.minter
            .as_ref()
            .map(|minter| minter.mint(&self.subject, &[Role::Service], None, None, SERVICE_TOKEN_SECONDS))
            .transpose()
    }

    /// An interceptor for a generated client: a bearer token on every call (unless the client
    /// certificate stands in for it).
    pub fn interceptor(&self) -> impl tonic::service::Interceptor + Clone + use<> {
        let credentials = self.clone();
        move |mut request: Request<()>| -> Result<Request<()>, Status> {
            let token =
                credentials.bearer().map_err(|e| Status::internal(format!("cannot sign a service token: {e}")))?;
            if let Some(token) = token {
                let value = MetadataValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| Status::internal("a service token is not valid metadata"))?;
                request.metadata_mut().insert("authorization", value);
            }
            Ok(request)
        }
    }
}
