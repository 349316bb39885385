//! One HTTP/1.1 request to a server the platform itself calls (an OpenID provider's published
//! keys, an S3-compatible document store): a connection of its own, TLS when configured, and the
//! answer's body read up to a limit the caller sets by the answer's status. Each caller says what
//! a failure means to it.

use std::sync::Arc;

use http_body_util::{BodyExt as _, Full, Limited};
use prost::bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::ClientConfig;

/// What the server answered.
pub(crate) struct Reply {
    /// The status.
    pub(crate) status: http::StatusCode,
    /// The headers.
    pub(crate) headers: http::HeaderMap,
    /// The body as read (empty when the caller read none).
    pub(crate) body: Bytes,
}

/// Why no answer came.
pub(crate) enum Failure {
    /// The server could not be reached.
    Unreachable(std::io::Error),
    /// The host is not a name TLS can check.
    Name(String),
    /// The TLS handshake failed.
    Tls(std::io::Error),
    /// The HTTP exchange failed.
    Http(hyper::Error),
    /// The answer's body could not be read, or passed the limit.
    Body(String),
}

/// Sends `request` to `host:port` (over TLS with `tls`), reading at most `read_body(status)`
/// bytes of the answer's body (`None`: none).
pub(crate) async fn send(
    (host, port): (&str, u16),
    tls: Option<&Arc<ClientConfig>>,
    request: http::Request<Full<Bytes>>,
    read_body: impl FnOnce(http::StatusCode) -> Option<usize>,
) -> Result<Reply, Failure> {
    let tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(Failure::Unreachable)?;
    let Some(config) = tls else { return exchange(tcp, request, read_body).await };
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| Failure::Name(e.to_string()))?;
    let tls = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp).await.map_err(Failure::Tls)?;
    exchange(tls, request, read_body).await
}

async fn exchange<IO>(
    io: IO,
    request: http::Request<Full<Bytes>>,
    read_body: impl FnOnce(http::StatusCode) -> Option<usize>,
) -> Result<Reply, Failure>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io)).await.map_err(Failure::Http)?;
    let driver = tokio::spawn(connection);
    let answered = async {
        let (parts, body) = sender.send_request(request).await.map_err(Failure::Http)?.into_parts();
        let body = match read_body(parts.status) {
            None => Bytes::new(),
            Some(limit) => {
                Limited::new(body, limit).collect().await.map_err(|e| Failure::Body(e.to_string()))?.to_bytes()
            }
        };
        Ok(Reply { status: parts.status, headers: parts.headers, body })
    }
    .await;
    driver.abort();
    answered
}
