//! One call of an RPC as a handler sees it: the verified caller and the request message. The
//! generated server (`qiancheng_api::<service>_service!`) builds it from the tonic request, so a
//! handler never touches transport types.

use tonic::Request;

use crate::auth::Principal;
use crate::error::Error;

/// The caller and the message of one call.
#[derive(Debug, Clone)]
pub struct Call<M> {
    /// Who is calling, as the authentication layer verified it.
    pub principal: Principal,
    /// The request message (or, for a client stream, the stream of messages).
    pub message: M,
}

impl<M> Call<M> {
    /// A call made by `principal` (tests and in-process callers).
    pub fn new(principal: Principal, message: M) -> Self {
        Self { principal, message }
    }
}

impl<M> TryFrom<Request<M>> for Call<M> {
    type Error = Error;

    fn try_from(request: Request<M>) -> Result<Self, Error> {
        let principal = Principal::of(&request)?;
        Ok(Self { principal, message: request.into_inner() })
    }
}
