//! The codec of every generated client and server: prost's, except that a request that does not
//! decode (invalid UTF-8, a wrong wire type, a truncated field) is the caller's fault and is
//! answered `INVALID_ARGUMENT` with reason `MALFORMED_REQUEST`, not `INTERNAL`.

use prost::bytes::{Buf as _, BufMut as _, Bytes};
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};
use tonic_types::{ErrorDetails, StatusExt as _};

/// prost's codec with decode failures reported as the caller's.
#[derive(Debug, Clone)]
pub struct SuiteCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for SuiteCodec<T, U> {
    fn default() -> Self {
        Self(ProstCodec::default())
    }
}

impl<T, U> Codec for SuiteCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = SuiteDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        SuiteDecoder(self.0.decoder())
    }
}

/// prost's decoder with decode failures reported as the caller's.
#[derive(Debug)]
pub struct SuiteDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for SuiteDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|status| {
            // The decoder's text names the field and the problem, never the value.
            let details =
                ErrorDetails::with_error_info("MALFORMED_REQUEST", "qiancheng", std::collections::HashMap::new());
            Status::with_error_details(
                tonic::Code::InvalidArgument,
                format!("the message does not decode: {}", status.message()),
                details,
            )
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// A codec that sends messages as the bytes given and keeps answers as bytes: what a load
/// generator or a hostile client puts on the wire, well formed or not, for any RPC.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        Self
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
