//! The gate every call of the suite passes before its service sees it: the bearer token is
//! verified (or, with no token, the verified client certificate of a service where it stands in
//! for the service's token, [`crate::tls`]), the roles the RPC declares
//! (`qiancheng.type.v1.allowed_roles`) are enforced, and
//! the verified [`Principal`] is put on the request for the handler. A call without a valid
//! token is `UNAUTHENTICATED`; a caller holding none of the declared roles is
//! `PERMISSION_DENIED`, before anything is read. A unary call gets the request timeout
//! (`DEADLINE_EXCEEDED` when it passes); a streaming call has none, only the idle timeout its
//! handler applies ([`crate::stream`]). Health checks and reflection pass untouched.
//!
//! An RPC the proto declares public (`qiancheng.type.v1.public_limit`, a public notice and the
//! objections the public raises against it) needs no token: a call without one passes as the
//! anonymous caller [`Principal::public`], a call with one must carry a valid one (a bad token is
//! `UNAUTHENTICATED`, as anywhere). Every admitted call of a public RPC counts against its
//! limits, per peer address and for the whole process, each in a minute; a call beyond either is
//! `RESOURCE_EXHAUSTED` `RATE_LIMITED` before the service sees it. The peer is the TCP peer: behind a proxy every caller is the proxy's address, and the
//! proxy should limit by the real client.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
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
    limits: Arc<PublicCalls>,
}

impl GateLayer {
    /// Calls are verified by `auth`; unary calls end after `timeout`.
    pub fn new(auth: Authenticator, timeout: Duration) -> Self {
        Self { auth: Arc::new(auth), timeout, limits: Arc::new(PublicCalls::default()) }
    }
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Gate { inner, auth: self.auth.clone(), timeout: self.timeout, limits: self.limits.clone() }
    }
}

/// The service of [`GateLayer`].
#[derive(Debug, Clone)]
pub struct Gate<S> {
    inner: S,
    auth: Arc<Authenticator>,
    timeout: Duration,
    limits: Arc<PublicCalls>,
}

/// The calls public RPCs took in the current minute, by RPC and peer and by RPC for the process
/// (fixed one-minute windows: simple, and at most twice the limit across a window's edge).
#[derive(Debug, Default)]
pub struct PublicCalls {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    minute: i64,
    by_peer: HashMap<(&'static str, Option<IpAddr>), u32>,
    by_rpc: HashMap<&'static str, u32>,
}

impl PublicCalls {
    /// Counts a call of `rpc` from `peer` in minute `minute` (minutes since the epoch), or refuses
    /// it when either limit is reached; a refused call is not counted.
    pub fn admit(
        &self,
        rpc: &RpcInfo,
        limit: qiancheng_api::PublicLimit,
        peer: Option<IpAddr>,
        minute: i64,
    ) -> Result<(), Error> {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.minute != minute {
            // A new window: the old counts go, so the maps never outgrow a minute's peers.
            *counts = Counts { minute, ..Counts::default() };
        }
        let by_rpc = counts.by_rpc.get(rpc.path).copied().unwrap_or(0);
        let by_peer = counts.by_peer.get(&(rpc.path, peer)).copied().unwrap_or(0);
        if by_rpc >= limit.per_process_per_minute || by_peer >= limit.per_peer_per_minute {
            return Err(Error::ResourceExhausted {
                reason: "RATE_LIMITED".into(),
                message: format!(
                    "{} takes {} calls a minute from one address and {} from everyone; try again in a minute",
                    rpc.method, limit.per_peer_per_minute, limit.per_process_per_minute
                ),
            });
        }
        counts.by_rpc.insert(rpc.path, by_rpc + 1);
        counts.by_peer.insert((rpc.path, peer), by_peer + 1);
        Ok(())
    }
}

/// The address of the client that made the call, over TLS or not.
fn peer_address<B>(request: &http::Request<B>) -> Option<IpAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|i| i.get_ref().remote_addr()))
        .map(|a| a.ip())
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
fn admit<B>(auth: &Authenticator, limits: &PublicCalls, rpc: &RpcInfo, request: &http::Request<B>) -> Admission {
    if rpc.public.is_some() && bearer(request.headers()).is_none() {
        return match counted(limits, rpc, peer_address(request), Principal::public()) {
            Ok(principal) => Admission::Admitted(principal),
            Err(error) => Admission::Refused(error),
        };
    }
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
    match authorise(rpc, principal).and_then(|p| counted(limits, rpc, peer_address(request), p)) {
        Ok(principal) => Admission::Admitted(principal),
        Err(error) => Admission::Refused(error),
    }
}

/// Counts an admitted call of a public RPC against its limits (after its token, if any, was
/// verified: a bad token is UNAUTHENTICATED whatever the count); other RPCs pass.
fn counted(
    limits: &PublicCalls,
    rpc: &RpcInfo,
    peer: Option<IpAddr>,
    principal: Principal,
) -> Result<Principal, Error> {
    if let Some(limit) = rpc.public {
        limits.admit(rpc, limit, peer, chrono::Utc::now().timestamp().div_euclid(60))?;
    }
    Ok(principal)
}

/// Refuses a caller holding none of the roles the RPC declares.
fn authorise(rpc: &RpcInfo, principal: Principal) -> Result<Principal, Error> {
    if rpc.public.is_none() && !rpc.roles.is_empty() && !principal.holds_any_of(rpc.roles) {
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
        match admit(&self.auth, &self.limits, rpc, &request) {
            Admission::Admitted(principal) => dispatch(&mut self.inner, request, principal, rpc, self.timeout),
            Admission::Refused(error) => refusal(rpc, error),
            Admission::AfterKeyRefresh(token) => {
                // The ready service goes into the future; a clone takes its place (tower's rule
                // for a service called from a future).
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let (auth, timeout, limits) = (self.auth.clone(), self.timeout, self.limits.clone());
                let peer = peer_address(&request);
                Box::pin(async move {
                    let admitted = auth
                        .verify_refreshing(&token, chrono::Utc::now().timestamp())
                        .await
                        .and_then(|principal| authorise(rpc, principal))
                        .and_then(|principal| counted(&limits, rpc, peer, principal));
                    match admitted {
                        Ok(principal) => dispatch(&mut inner, request, principal, rpc, timeout).await,
                        Err(error) => refusal(rpc, error).await,
                    }
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_rpc() -> &'static RpcInfo {
        qiancheng_api::RPCS.iter().find(|r| r.public.is_some()).expect("the suite has a public RPC")
    }

    #[test]
    fn a_public_rpc_takes_its_limit_per_peer_and_per_process_in_a_minute() {
        let rpc = public_rpc();
        let limit = qiancheng_api::PublicLimit { per_peer_per_minute: 2, per_process_per_minute: 3 };
        let calls = PublicCalls::default();
        let (one, two) = (Some(IpAddr::from([10, 0, 0, 1])), Some(IpAddr::from([10, 0, 0, 2])));
        assert!(calls.admit(rpc, limit, one, 100).is_ok());
        assert!(calls.admit(rpc, limit, one, 100).is_ok());
        let refused = calls.admit(rpc, limit, one, 100).expect_err("the peer's limit");
        assert!(matches!(refused, Error::ResourceExhausted { ref reason, .. } if reason == "RATE_LIMITED"));
        assert!(calls.admit(rpc, limit, two, 100).is_ok(), "another peer has its own count");
        assert!(calls.admit(rpc, limit, two, 100).is_err(), "the process's limit");
        // The next minute starts afresh.
        assert!(calls.admit(rpc, limit, one, 101).is_ok());
    }

    #[test]
    fn a_public_rpc_declares_no_roles_and_a_call_without_a_token_is_the_public() {
        let rpc = public_rpc();
        assert!(rpc.roles.is_empty());
        let admitted = authorise(rpc, Principal::public()).expect("the public");
        assert!(admitted.is_public());
    }
}
