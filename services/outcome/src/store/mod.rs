//! The outcome service's storage: one module per resource, each with its record type and the
//! queries the platform's `record` functions do not already give. Nothing here decides a rule or
//! checks access.

pub mod acceptance;
pub mod evidence;
pub mod exchange;
pub mod rate;
pub mod trainee;
pub mod verdict;
pub mod wage;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use qiancheng_platform::Error;

/// A protobuf message as stored in a text column (base64 of its encoding).
pub fn encode_message(message: &impl prost::Message) -> String {
    STANDARD.encode(message.encode_to_vec())
}

/// A protobuf message read back from [`encode_message`]'s text; anything else is corrupt.
pub fn decode_message<M: prost::Message + Default>(text: &str, what: &str) -> Result<M, Error> {
    let bytes = STANDARD.decode(text).map_err(|_| Error::corrupt(what.to_owned()))?;
    M::decode(bytes.as_slice()).map_err(|_| Error::corrupt(what.to_owned()))
}
