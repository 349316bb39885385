//! One call of an RPC as a handler sees it: the verified caller and the request message. The
//! generated server (`qiancheng_api::<service>_service!`) builds it from the tonic request, so a
//! handler never touches transport types.

use qiancheng_api::{Texts, Validate};
use tonic::Request;

use crate::auth::Principal;
use crate::error::Error;

/// The longest string any request field may carry; each field has its own, smaller limit where
/// it is validated, so this only stops what no field would take.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Whether a string may enter the suite at all: no control characters but tab and line breaks,
/// and at most [`MAX_TEXT_CHARS`] characters. NUL in particular is refused the same way on both
/// backends (PostgreSQL cannot store it).
pub fn acceptable_text(text: &str) -> bool {
    // Most text is short: counting characters is needed only past the byte limit.
    (text.len() <= MAX_TEXT_CHARS || text.chars().count() <= MAX_TEXT_CHARS)
        && !text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Refuses a message carrying a string that may not enter the suite, naming its field.
pub fn check_texts(message: &impl Texts) -> Result<(), Error> {
    match message.first_bad_text(&acceptable_text) {
        None => Ok(()),
        Some(field) => Err(Error::invalid(
            field,
            "TEXT",
            format!("text must have no control characters and at most {MAX_TEXT_CHARS} characters"),
        )),
    }
}

/// The caller and the message of one call.
#[derive(Debug, Clone)]
pub struct Call<M> {
    /// Who is calling, as the authentication layer verified it.
    pub principal: Principal,
    /// The request message (or, for a client stream, the stream of messages).
    pub message: M,
}

/// The id in resource name `name` of `collection` (`vacancies/01h…` → `01h…`), or
/// `INVALID_ARGUMENT` naming request field `field`.
pub fn id_of<'a>(name: &'a str, collection: &str, field: &str) -> Result<&'a str, Error> {
    qiancheng_api::convert::resource_id(name, collection).map_err(|e| Error::invalid_value(field, e))
}

impl<M> Call<M> {
    /// A call made by `principal` (tests and in-process callers).
    pub fn new(principal: Principal, message: M) -> Self {
        Self { principal, message }
    }
}

impl<M: Texts + Validate> TryFrom<Request<M>> for Call<M> {
    type Error = Error;

    /// The caller, and the message once its text is known to be acceptable and every field
    /// holds what its proto declares (`qiancheng.type.v1.field`).
    fn try_from(request: Request<M>) -> Result<Self, Error> {
        let principal = Principal::of(&request)?;
        let message = request.into_inner();
        check_texts(&message)?;
        let violations = message.violations();
        if !violations.is_empty() {
            return Err(Error::InvalidArgument(violations));
        }
        Ok(Self { principal, message })
    }
}
