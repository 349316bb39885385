//! The gate every call of the suite passes before its service sees it: the bearer token is
//! verified (or, with no token, the verified client certificate of a service where it stands in
//! for the service's token, [`crate::tls`]), the roles the RPC declares
//! (`qiancheng.type.v1.allowed_roles`) are enforced, and
//! the verified [`Principal`] is put on the request for the handler. A call without a valid
//! token is `UNAUTHENTICATED`; a caller holding none of the declared roles is
//! `PERMISSION_DENIED`, before anything is read. A unary call gets the request timeout
//! (`DEADLINE_EXCEEDED` when it passes); a streaming call has none, only the idle timeout its
//! handler applies ([`crate::stream`]). Health checks and reflection pass untouched.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use qiancheng_api::RpcInfo;

use tokio_rustls::rustls::pki_types::CertificateDer;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::auth::{Authenticator, Principal, Refusal};
use crate::error::Error;
use crate::telemetry::rpc::CallerSlot;

/// A tower layer that authenticates every call of the suite.
#[derive(Debug, Clone)]
pub struct GateLayer {
    auth: Arc<Authenticator>,
    timeout: Duration,
}

impl GateLayer {
    /// Calls are verified by `auth`; unary calls end after `timeout`.
    pub fn new(auth: Authenticator, timeout: Duration) -> Self {
        Self { auth: Arc::new(auth), timeout }
    }
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Gate { inner, auth: self.auth.clone(), timeout: self.timeout }
    }
}

/// The service of [`GateLayer`].
#[derive(Debug, Clone)]
pub struct Gate<S> {
    inner: S,
    auth: Arc<Authenticator>,
    timeout: Duration,
}

/// What the gate decides of a call before the service sees it.
enum Admission {
    /// The caller, verified and holding a declared role.
    Admitted(Principal),
    /// Refused, with the reason the client is told.
    Refused(Error),
    /// The token names a key id the identity provider has not published (yet): its keys are
    /// read again before the token is verified.
    AfterKeyRefresh(String),
}

/// The bearer token of a call, if any.
fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

/// The certificates a client presented over TLS, leaf first, verified by the handshake.
fn client_certificates<B>(request: &http::Request<B>) -> Option<Arc<Vec<CertificateDer<'static>>>> {
    request.extensions().get::<TlsConnectInfo<TcpConnectInfo>>()?.peer_certs()
}

/// Verifies the call's token (or, with no token, the client certificate where it may stand in
/// for a service's token) and checks the caller's roles against the RPC's declaration.
fn admit<B>(auth: &Authenticator, rpc: &RpcInfo, request: &http::Request<B>) -> Admission {
    let principal = match bearer(request.headers()) {
        Some(token) => match auth.try_verify(token, chrono::Utc::now().timestamp()) {
            Ok(principal) => principal,
            Err(Refusal::Refused(error)) => return Admission::Refused(error),
            Err(Refusal::UnknownKey) => return Admission::AfterKeyRefresh(token.to_owned()),
        },
        None => {
            let certificates = client_certificates(request).filter(|_| auth.accepts_certificates());
            match certificates.as_ref().and_then(|c| c.first()) {
                Some(leaf) => match auth.certificate_principal(leaf) {
                    Ok(principal) => principal,
                    Err(error) => return Admission::Refused(error),
                },
                None => return Admission::Refused(Error::Unauthenticated("missing bearer token".to_owned())),
            }
        }
    };
    match authorise(rpc, principal) {
        Ok(principal) => Admission::Admitted(principal),
        Err(error) => Admission::Refused(error),
    }
}

/// Refuses a caller holding none of the roles the RPC declares.
fn authorise(rpc: &RpcInfo, principal: Principal) -> Result<Principal, Error> {
    if !rpc.roles.is_empty() && !principal.holds_any_of(rpc.roles) {
        return Err(Error::denied(format!(
            "{} is for {}",
            rpc.method,
            rpc.roles.iter().map(|r| r.as_str_name().trim_start_matches("ROLE_")).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(principal)
}

type Answer<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

/// The refusal of a call, as the client sees it.
fn refusal<E: Send + 'static>(rpc: &RpcInfo, error: Error) -> Answer<http::Response<tonic::body::Body>, E> {
    let response = error.to_status(rpc.package, rpc.method).into_http();
    Box::pin(async move { Ok(response) })
}

/// Hands an admitted call to the service: the caller goes on the request (and to the access
/// line), and a unary call gets the request timeout.
fn dispatch<S, B>(
    inner: &mut S,
    mut request: http::Request<B>,
    principal: Principal,
    rpc: &'static RpcInfo,
    timeout: Duration,
) -> Answer<S::Response, S::Error>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    if let Some(slot) = request.extensions().get::<CallerSlot>() {
        let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
        slot.fill(&principal.subject, &roles.join(","));
    }
    request.extensions_mut().insert(principal);
    let call = inner.call(request);
    if rpc.client_streaming || rpc.server_streaming {
        return Box::pin(call);
    }
    let (package, method) = (rpc.package, rpc.method);
    Box::pin(async move {
        match tokio::time::timeout(timeout, call).await {
            Ok(result) => result,
            Err(_) => Ok(crate::error::status(
                tonic::Code::DeadlineExceeded,
                "DEADLINE_EXCEEDED",
                package,
                format!("{method} did not finish within {} ms; nothing was changed", timeout.as_millis()),
            )
            .into_http()),
        }
    })
}

impl<S, B> tower::Service<http::Request<B>> for Gate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Answer<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(rpc) = RpcInfo::by_path(request.uri().path()) else {
            return Box::pin(self.inner.call(request));
        };
        match admit(&self.auth, rpc, &request) {
            Admission::Admitted(principal) => dispatch(&mut self.inner, request, principal, rpc, self.timeout),
            Admission::Refused(error) => refusal(rpc, error),
            Admission::AfterKeyRefresh(token) => {
                // The ready service goes into the future; a clone takes its place (tower's rule
                // for a service called from a future).
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let (auth, timeout) = (self.auth.clone(), self.timeout);
                Box::pin(async move {
                    let admitted = auth
                        .verify_refreshing(&token, chrono::Utc::now().timestamp())
                        .await
                        .and_then(|principal| authorise(rpc, principal));
                    match admitted {
                        Ok(principal) => dispatch(&mut inner, request, principal, rpc, timeout).await,
                        Err(error) => refusal(rpc, error).await,
                    }
                })
            }
        }
    }
}
