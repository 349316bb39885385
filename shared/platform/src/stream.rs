//! Client streams (bulk intake) on the suite's terms: a stream has no total deadline, only an
//! idle one (a client that sends nothing for `QIANCHENG_STREAM_IDLE_TIMEOUT_MS` is ended), and a
//! caller runs at most `QIANCHENG_STREAMS_PER_CALLER` streams at once, so that no token can tie
//! up the service by opening many and pausing them. Handlers read a stream in chunks with no
//! transaction open, then store each chunk in one transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_stream::StreamExt as _;
use tonic::Streaming;

use crate::auth::Principal;
use crate::call::Call;
use crate::config::Settings;
use crate::error::Error;

/// The limits on client streams, shared by a service's handlers.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    idle: Duration,
    per_caller: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl StreamLimits {
    /// The limits of the configuration.
    pub fn new(settings: &Settings) -> Self {
        Self {
            idle: Duration::from_millis(settings.stream_idle_timeout_ms),
            per_caller: settings.streams_per_caller,
            open: Arc::default(),
        }
    }

    /// Admits one more stream of `caller`, or refuses it with `RESOURCE_EXHAUSTED`.
    pub fn admit(&self, caller: &str) -> Result<StreamPermit, Error> {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(caller.to_owned()).or_default();
        if *count >= self.per_caller {
            return Err(Error::ResourceExhausted {
                reason: "STREAM_LIMIT".into(),
                message: format!("a caller runs at most {} streams at once; wait for one to finish", self.per_caller),
            });
        }
        *count += 1;
        Ok(StreamPermit { caller: caller.to_owned(), open: self.open.clone() })
    }

    /// Reads up to `max` messages, stopping early at the end of the stream. The outcome says
    /// how the read ended; the messages read are returned whatever happened.
    pub async fn read_chunk<T>(&self, stream: &mut Streaming<T>, max: usize) -> (Vec<T>, ChunkEnd) {
        let mut items = Vec::with_capacity(max.min(1024));
        while items.len() < max {
            match tokio::time::timeout(self.idle, stream.next()).await {
                Err(_) => {
                    let seconds = self.idle.as_secs_f64();
                    return (items, ChunkEnd::Broken(format!("no message for {seconds} s: the stream is ended")));
                }
                Ok(None) => return (items, ChunkEnd::Finished),
                // The suite's codec answers an undecodable message `INVALID_ARGUMENT`: the client's fault.
                Ok(Some(Err(status))) if status.code() == tonic::Code::InvalidArgument => {
                    return (items, ChunkEnd::Malformed(status.message().to_owned()));
                }
                Ok(Some(Err(status))) => return (items, ChunkEnd::Broken(status.message().to_owned())),
                Ok(Some(Ok(item))) => items.push(item),
            }
        }
        (items, ChunkEnd::More)
    }
}

/// The acknowledgements of a bidirectional intake, sent to the client as they are made.
#[derive(Debug)]
pub struct Acks<T>(tokio::sync::mpsc::Sender<Result<T, tonic::Status>>);

impl<T> Acks<T> {
    /// Sends one acknowledgement; `false` when the client stopped listening (what is committed
    /// stays committed).
    pub async fn send(&self, ack: T) -> bool {
        self.0.send(Ok(ack)).await.is_ok()
    }
}

impl StreamLimits {
    /// Runs the intake of a bidirectional `call` of RPC `M` in the background, once its caller is
    /// admitted (at most `QIANCHENG_STREAMS_PER_CALLER` streams at once), and answers with the
    /// stream of what it acknowledges through [`Acks`]; an error it returns ends the stream with
    /// its status. The intake is handed the caller and the stream of messages.
    pub fn acknowledging<M, T, F, Fut>(
        &self,
        call: Call<Streaming<M>>,
        intake: F,
    ) -> Result<qiancheng_api::ResponseStream<T>, Error>
    where
        M: qiancheng_api::Rpc,
        T: Send + 'static,
        F: FnOnce(Principal, Streaming<M>, Acks<T>) -> Fut,
        Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
    {
        let permit = self.admit(&call.principal.subject)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        let work = intake(call.principal, call.message, Acks(sender.clone()));
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(error) = work.await {
                let _ = sender.send(Err(error.to_status(M::PACKAGE, M::METHOD))).await;
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver)))
    }
}

/// How reading a chunk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkEnd {
    /// The chunk is full; more may follow.
    More,
    /// The client closed the stream.
    Finished,
    /// A message did not decode, with the decoder's words (field and problem, never the value).
    Malformed(String),
    /// The stream broke or went idle, with why.
    Broken(String),
}

impl ChunkEnd {
    /// The status an intake ends with when its stream ended early, saying what is `kept` and
    /// how to resume: `INVALID_ARGUMENT MALFORMED_REQUEST` for a message that does not decode
    /// (as a unary call would be answered), `ABORTED STREAM_ENDED` for a broken or idle stream.
    pub fn into_error(self, kept: &str) -> Option<Error> {
        match self {
            Self::More | Self::Finished => None,
            Self::Malformed(why) => Some(Error::invalid("stream", "MALFORMED_REQUEST", format!("{why}; {kept}"))),
            Self::Broken(why) => Some(Error::StreamEnded(format!("the stream ended early ({why}); {kept}"))),
        }
    }
}

/// One admitted stream; dropping it frees its place.
#[derive(Debug)]
pub struct StreamPermit {
    caller: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.caller) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_runs_a_bounded_number_of_streams() {
        let settings = Settings { streams_per_caller: 2, ..Settings::default() };
        let limits = StreamLimits::new(&settings);
        let first = limits.admit("a").expect("first");
        let _second = limits.admit("a").expect("second");
        assert!(matches!(limits.admit("a"), Err(Error::ResourceExhausted { .. })));
        assert!(limits.admit("b").is_ok(), "another caller has places of its own");
        drop(first);
        assert!(limits.admit("a").is_ok(), "a finished stream frees its place");
    }
}
