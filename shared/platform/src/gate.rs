//! The gate every call of the suite passes before its service sees it: the bearer token is
//! verified, the roles the RPC declares (`qiancheng.type.v1.allowed_roles`) are enforced, and
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

use crate::auth::{Authenticator, Principal};
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

/// Verifies the call's token and checks its roles against the RPC's declaration.
fn admit(auth: &Authenticator, rpc: &RpcInfo, headers: &http::HeaderMap) -> Result<Principal, Error> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| Error::Unauthenticated("missing bearer token".to_owned()))?;
    let principal = auth.verify(token.trim(), chrono::Utc::now().timestamp())?;
    if !rpc.roles.is_empty() && !principal.holds_any_of(rpc.roles) {
        return Err(Error::denied(format!(
            "{} is for {}",
            rpc.method,
            rpc.roles.iter().map(|r| r.as_str_name().trim_start_matches("ROLE_")).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(principal)
}

impl<S, B> tower::Service<http::Request<B>> for Gate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let Some(rpc) = RpcInfo::by_path(request.uri().path()) else {
            return Box::pin(self.inner.call(request));
        };
        match admit(&self.auth, rpc, request.headers()) {
            Ok(principal) => {
                if let Some(slot) = request.extensions().get::<CallerSlot>() {
                    let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
                    slot.fill(&principal.subject, &roles.join(","));
                }
                request.extensions_mut().insert(principal);
                let call = self.inner.call(request);
                if rpc.client_streaming || rpc.server_streaming {
                    return Box::pin(call);
                }
                let timeout = self.timeout;
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
            Err(error) => {
                let response = error.to_status(rpc.package, rpc.method).into_http();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}
