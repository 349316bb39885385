//! TLS for the suite's gRPC ports and the calls between services (docs/OPERATIONS.md, "Identity and TLS"): rustls
//! with ring, certificates and keys from PEM files that are read again when they change, so a
//! renewed certificate is served and presented without a restart.
//!
//! A server with `QIANCHENG_TLS_CERT_FILE` and `QIANCHENG_TLS_KEY_FILE` serves TLS only; with
//! `QIANCHENG_TLS_CLIENT_AUTH=required` every client presents a certificate chaining to
//! `QIANCHENG_TLS_CA_FILE` (mutual TLS), and a client without one, or with one of another CA, is
//! refused in the handshake. A peer URL `https://…` is called over TLS, verifying the peer
//! against the same CA file (or the system's trust store) and presenting this service's own
//! certificate. `dev` is always plaintext.
//!
//! A service's certificate names it with a SAN URI `spiffe://qiancheng/service/<name>` (the
//! SPIFFE form; the subject CN is not read). Where `QIANCHENG_TLS_CLIENT_SERVICES` lists the
//! service, a call without a bearer token over such a verified certificate is that service's
//! `SERVICE` identity ([`crate::auth::Authenticator::certificate_principal`]).
//!
//! The files are checked at most once a second, when a connection is accepted or opened:
//! connections opened after a change use the new certificate; connections already open keep the
//! identity they were opened with until they close (TLS authenticates a connection once).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_stream::wrappers::ReceiverStream;

use crate::config::{Settings, TlsClientAuth};
use crate::error::Error;

/// The SAN URI prefix that names a service of the suite in its certificate.
pub const SERVICE_URI_PREFIX: &str = "spiffe://qiancheng/service/";

/// How often, at most, the files are checked for a change.
const RECHECK: Duration = Duration::from_secs(1);

/// How long a client may take over its handshake before the connection is closed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// rustls's ring provider. ring builds with a C compiler alone where aws-lc also wants cmake;
/// rustls marks it deprecated because it offers no post-quantum key exchange, which the suite's
/// service-to-service traffic does without for now (docs/OPERATIONS.md).
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The service a certificate names, and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// The service's short name (`outcome` of `spiffe://qiancheng/service/outcome`).
    pub service: String,
    /// The certificate's `notBefore`, seconds since the epoch (revocations compare with it).
    pub not_before: i64,
}

impl CertificateIdentity {
    /// Reads the one service a DER certificate names by its SAN URI. The certificate's chain
    /// is not checked here: the TLS handshake verified it before any call arrived.
    pub fn read(der: &[u8]) -> Result<Self, Error> {
        use x509_cert::der::Decode as _;
        use x509_cert::der::oid::AssociatedOid as _;
        use x509_cert::ext::pkix::SubjectAltName;
        use x509_cert::ext::pkix::name::GeneralName;
        let refuse = |why: &str| Error::Unauthenticated(why.to_owned());
        let certificate =
            x509_cert::Certificate::from_der(der).map_err(|_| refuse("the client certificate is not X.509"))?;
        let tbs = &certificate.tbs_certificate;
        let mut services = Vec::new();
        for extension in tbs.extensions.iter().flatten().filter(|e| e.extn_id == SubjectAltName::OID) {
            let names = SubjectAltName::from_der(extension.extn_value.as_bytes())
                .map_err(|_| refuse("the client certificate's subject alternative names do not decode"))?;
            for name in names.0 {
                if let GeneralName::UniformResourceIdentifier(uri) = name
                    && let Some(service) = uri.as_str().strip_prefix(SERVICE_URI_PREFIX)
                {
                    services.push(service.to_owned());
                }
            }
        }
        let [service] = services.as_slice() else {
            return Err(refuse(
                "the client certificate names no one service of the suite (SAN URI spiffe://qiancheng/service/NAME)",
            ));
        };
        let well_formed = !service.is_empty()
            && service.len() <= 63
            && service.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !well_formed {
            return Err(refuse("the service named by the client certificate is not a service name"));
        }
        let not_before = i64::try_from(tbs.validity.not_before.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        Ok(Self { service: service.clone(), not_before })
    }
}

/// The certificates of a PEM file.
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Config(format!("{what}: {e}")))?;
    if certificates.is_empty() {
        return Err(Error::Config(format!("{what} holds no PEM certificate")));
    }
    Ok(certificates)
}

fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| Error::Config(format!("QIANCHENG_TLS_KEY_FILE: {e}")))
}

/// The CA certificates of `pem`, or the system's trust store.
fn roots(pem: Option<&[u8]>, what: &str) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    match pem {
        Some(pem) => {
            for certificate in certificates(pem, what)? {
                roots.add(certificate).map_err(|e| Error::Config(format!("{what}: {e}")))?;
            }
        }
        None => {
            // Certificates of the store that rustls cannot use are left out, as a browser would.
            for certificate in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(certificate);
            }
            if roots.is_empty() {
                return Err(Error::Config(format!("the system's trust store holds no CA certificate; set {what}")));
            }
        }
    }
    Ok(roots)
}

/// The server configuration of a certificate, key and client policy.
fn server_config(
    cert: &[u8],
    key: &[u8],
    ca: Option<&[u8]>,
    client_auth: TlsClientAuth,
) -> Result<ServerConfig, Error> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?;
    let builder = match (client_auth, ca) {
        (TlsClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => return Err(Error::Config("QIANCHENG_TLS_CLIENT_AUTH needs QIANCHENG_TLS_CA_FILE".to_owned())),
        (policy, Some(ca)) => {
            let roots = Arc::new(roots(Some(ca), "QIANCHENG_TLS_CA_FILE")?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
            let verifier = if policy == TlsClientAuth::Optional { verifier.allow_unauthenticated() } else { verifier };
            builder.with_client_cert_verifier(
                verifier.build().map_err(|e| Error::Config(format!("QIANCHENG_TLS_CA_FILE: {e}")))?,
            )
        }
    };
    let mut config = builder
        .with_single_cert(certificates(cert, "QIANCHENG_TLS_CERT_FILE")?, private_key(key)?)
        .map_err(|e| Error::Config(format!("QIANCHENG_TLS_CERT_FILE and QIANCHENG_TLS_KEY_FILE: {e}")))?;
    // gRPC clients (grpc-go among them) require the server to agree on HTTP/2.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// A client configuration trusting `ca` (or the system's store), presenting `identity` if any.
fn client_config(
    ca: Option<&[u8]>,
    identity: Option<(&[u8], &[u8])>,
    what: &str,
    alpn: &[u8],
) -> Result<ClientConfig, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots(ca, what)?);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(certificates(cert, "QIANCHENG_TLS_CERT_FILE")?, private_key(key)?)
            .map_err(|e| Error::Config(format!("QIANCHENG_TLS_CERT_FILE and QIANCHENG_TLS_KEY_FILE: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}

/// The client configuration of an https JWKS URL (HTTP/1.1), trusting `ca_file` or the
/// system's store.
pub(crate) fn https_client(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let ca = ca_file
        .map(|path| std::fs::read(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display()))))
        .transpose()?;
    Ok(Arc::new(client_config(ca.as_deref(), None, "QIANCHENG_OIDC_CA_FILE", b"http/1.1")?))
}

/// Builds a configuration from the files' contents, in the order they were named.
type Build<C> = Box<dyn Fn(&[Vec<u8>]) -> Result<C, Error> + Send + Sync>;

/// A configuration built from files, built again when their contents change.
struct Reloading<C> {
    what: &'static str,
    files: Vec<PathBuf>,
    build: Build<C>,
    state: tokio::sync::Mutex<Loaded<C>>,
}

struct Loaded<C> {
    config: Arc<C>,
    digest: [u8; 32],
    checked: Instant,
}

fn digest(contents: &[Vec<u8>]) -> [u8; 32] {
    let mut digest = Sha256::new();
    for content in contents {
        digest.update((content.len() as u64).to_be_bytes());
        digest.update(content);
    }
    digest.finalize().into()
}

impl<C> Reloading<C> {
    /// Reads and builds now: files that cannot be read or used stop the start.
    fn load(what: &'static str, files: Vec<PathBuf>, build: Build<C>) -> Result<Self, Error> {
        let contents = files
            .iter()
            .map(|path| std::fs::read(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display()))))
            .collect::<Result<Vec<_>, _>>()?;
        let config = Arc::new(build(&contents)?);
        let state = Loaded { config, digest: digest(&contents), checked: Instant::now() };
        Ok(Self { what, files, build, state: tokio::sync::Mutex::new(state) })
    }

    /// The configuration of the files as they are now (checked at most once a [`RECHECK`]); a
    /// change that cannot be used keeps the last configuration, and says why in the log.
    async fn current(&self) -> Arc<C> {
        let mut state = self.state.lock().await;
        if state.checked.elapsed() >= RECHECK {
            state.checked = Instant::now();
            let mut contents = Vec::with_capacity(self.files.len());
            for path in &self.files {
                match tokio::fs::read(path).await {
                    Ok(content) => contents.push(content),
                    Err(error) => {
                        tracing::warn!(what = self.what, file = %path.display(), %error, "TLS file unreadable; the last certificate stays");
                        return state.config.clone();
                    }
                }
            }
            let now = digest(&contents);
            if now != state.digest {
                state.digest = now;
                match (self.build)(&contents) {
                    Ok(config) => {
                        state.config = Arc::new(config);
                        tracing::info!(what = self.what, files = ?self.files, "TLS files changed: new connections use them");
                    }
                    Err(error) => {
                        tracing::error!(what = self.what, error = %error.report(), "changed TLS files cannot be used; the last certificate stays");
                    }
                }
            }
        }
        state.config.clone()
    }
}

/// The TLS side of a server: its certificate, key and client policy, read again on change.
pub struct ServerTls {
    files: Reloading<ServerConfig>,
    client_auth: TlsClientAuth,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("files", &self.files.files).field("client_auth", &self.client_auth).finish()
    }
}

impl ServerTls {
    /// The server TLS the configuration describes; `None` when it names no certificate.
    pub fn from_settings(settings: &Settings) -> Result<Option<Arc<Self>>, Error> {
        let (Some(cert), Some(key)) = (&settings.tls_cert_file, &settings.tls_key_file) else { return Ok(None) };
        let client_auth = settings.tls_client_auth;
        let mut files = vec![cert.clone(), key.clone()];
        if client_auth != TlsClientAuth::None {
            files.extend(settings.tls_ca_file.clone());
        }
        let build: Build<ServerConfig> = Box::new(move |contents: &[Vec<u8>]| {
            server_config(&contents[0], &contents[1], contents.get(2).map(Vec::as_slice), client_auth)
        });
        Ok(Some(Arc::new(Self { files: Reloading::load("server", files, build)?, client_auth })))
    }

    /// The configuration new connections are accepted with.
    pub async fn config(&self) -> Arc<ServerConfig> {
        self.files.current().await
    }
}

/// Accepts TCP connections on `listener` and completes their handshakes with the current
/// configuration, each in its own task within [`HANDSHAKE_TIMEOUT`]; the stream yields the
/// connections whose handshake succeeded. A refused handshake (no certificate, one of another CA)
/// is logged at `info`, with the client's address and rustls's reason. Accepting stops when the
/// stream is dropped.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ServerTls>,
) -> ReceiverStream<Result<tokio_rustls::server::TlsStream<TcpStream>, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = sender.closed() => return,
            };
            let (tcp, remote) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // As on the plaintext port: replies are written whole, and dead peers are noticed.
            let _ = tcp.set_nodelay(true);
            let _ = socket2::SockRef::from(&tcp)
                .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(Duration::from_secs(60)));
            let (tls, sender) = (tls.clone(), sender.clone());
            tokio::spawn(async move {
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.config().await);
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = sender.send(Ok(stream)).await;
                    }
                    Ok(Err(error)) => tracing::info!(%remote, %error, "TLS handshake refused"),
                    Err(_) => tracing::info!(%remote, "TLS handshake not finished in time"),
                }
            });
        }
    });
    ReceiverStream::new(receiver)
}

/// The TLS side of calls to peers: the CA their certificates must chain to (or the system's
/// store), and this service's own certificate when it has one, read again on change.
pub struct ClientTls {
    files: Reloading<ClientConfig>,
    presents_certificate: bool,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("files", &self.files.files)
            .field("presents_certificate", &self.presents_certificate)
            .finish()
    }
}

impl ClientTls {
    /// Calls to https peers as the configuration describes: verified against
    /// `QIANCHENG_TLS_CA_FILE` (or the system's store), presenting `QIANCHENG_TLS_CERT_FILE`
    /// when set.
    pub fn from_settings(settings: &Settings) -> Result<Arc<Self>, Error> {
        let identity = settings.tls_cert_file.clone().zip(settings.tls_key_file.clone());
        let mut files = Vec::new();
        files.extend(settings.tls_ca_file.clone());
        let has_ca = !files.is_empty();
        if let Some((cert, key)) = &identity {
            files.push(cert.clone());
            files.push(key.clone());
        }
        let presents_certificate = identity.is_some();
        let build: Build<ClientConfig> = Box::new(move |contents: &[Vec<u8>]| {
            let (ca, rest) = if has_ca { (Some(contents[0].as_slice()), &contents[1..]) } else { (None, contents) };
            let identity = match rest {
                [cert, key] => Some((cert.as_slice(), key.as_slice())),
                _ => None,
            };
            client_config(ca, identity, "QIANCHENG_TLS_CA_FILE", b"h2")
        });
        Ok(Arc::new(Self { files: Reloading::load("client", files, build)?, presents_certificate }))
    }

    /// Whether calls present this service's certificate.
    pub fn presents_certificate(&self) -> bool {
        self.presents_certificate
    }

    /// The configuration new connections are opened with.
    pub async fn config(&self) -> Arc<ClientConfig> {
        self.files.current().await
    }
}

/// Opens TLS connections to one peer for a tonic channel, with the client configuration current
/// at each (re)connection.
#[derive(Debug, Clone)]
pub struct TlsConnect {
    tls: Arc<ClientTls>,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
}

impl TlsConnect {
    /// Connections to `host:port`, whose certificate must name `host`.
    pub fn new(tls: Arc<ClientTls>, host: &str, port: u16) -> Result<Self, Error> {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|e| Error::Config(format!("{host} is not a TLS server name: {e}")))?;
        Ok(Self { tls, host, port, server_name })
    }

    /// The same connections, checking the peer's certificate for `name` instead of the host
    /// connected to (`qiancheng health` reaching `127.0.0.1` of a certificate for a DNS name).
    pub fn checking_name(mut self, name: &str) -> Result<Self, Error> {
        self.server_name = ServerName::try_from(name.to_owned())
            .map_err(|e| Error::Config(format!("{name} is not a TLS server name: {e}")))?;
        Ok(self)
    }
}

impl tower::Service<http::Uri> for TlsConnect {
    type Response = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let tcp = TcpStream::connect((this.host.as_str(), this.port)).await?;
            tcp.set_nodelay(true)?;
            let connector = tokio_rustls::TlsConnector::from(this.tls.config().await);
            let stream = connector.connect(this.server_name.clone(), tcp).await?;
            Ok(hyper_util::rt::TokioIo::new(stream))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Authenticator, Role};

    /// A self-signed certificate with these SAN URIs, DER.
    fn certificate(uris: &[&str]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("names");
        for uri in uris {
            params.subject_alt_names.push(rcgen::SanType::URI((*uri).try_into().expect("an IA5 string")));
        }
        let key = rcgen::KeyPair::generate().expect("a key");
        params.self_signed(&key).expect("a certificate").der().to_vec()
    }

    #[test]
    fn a_certificate_names_its_service_by_one_spiffe_uri() {
        let named = CertificateIdentity::read(&certificate(&["spiffe://qiancheng/service/outcome"])).expect("named");
        assert_eq!(named.service, "outcome");
        assert!(named.not_before > 0);
        let beside = certificate(&["https://example.org/x", "spiffe://qiancheng/service/outcome"]);
        assert_eq!(CertificateIdentity::read(&beside).expect("named").service, "outcome", "other URIs are ignored");
        for (what, uris) in [
            ("no URI", vec![]),
            ("another trust domain", vec!["spiffe://elsewhere/service/outcome"]),
            ("two services", vec!["spiffe://qiancheng/service/outcome", "spiffe://qiancheng/service/subsidy"]),
            ("a path, not a name", vec!["spiffe://qiancheng/service/outcome/admin"]),
            ("capitals", vec!["spiffe://qiancheng/service/Outcome"]),
        ] {
            assert!(CertificateIdentity::read(&certificate(&uris)).is_err(), "{what}");
        }
        assert!(CertificateIdentity::read(b"not a certificate").is_err());
    }

    #[test]
    fn only_listed_services_and_unrevoked_certificates_stand_in_for_a_token() {
        let auth = Authenticator::new(Vec::new()).with_certificate_services(["Outcome".to_owned()]);
        assert!(auth.accepts_certificates());
        let outcome = certificate(&["spiffe://qiancheng/service/outcome"]);
        let principal = auth.certificate_principal(&outcome).expect("a listed service");
        assert_eq!((principal.subject.as_str(), principal.roles.as_slice()), ("service:outcome", &[Role::Service][..]));
        let subsidy = certificate(&["spiffe://qiancheng/service/subsidy"]);
        let refused = auth.certificate_principal(&subsidy).expect_err("a service not listed");
        assert!(refused.to_string().contains("does not stand in"), "{refused}");
        auth.revoke("service:outcome", i64::MAX);
        assert!(auth.certificate_principal(&outcome).is_err(), "certificates issued before a revocation");
        assert!(!Authenticator::new(Vec::new()).accepts_certificates());
    }

    #[tokio::test]
    async fn changed_files_are_used_and_unusable_ones_keep_the_last_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = (dir.path().join("s.crt"), dir.path().join("s.key"));
        let write = |names: &[&str]| {
            let pair = rcgen::KeyPair::generate().expect("a key");
            let params = rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("names");
            std::fs::write(&cert, params.self_signed(&pair).expect("certificate").pem()).expect("write");
            std::fs::write(&key, pair.serialize_pem()).expect("write");
        };
        write(&["first.internal"]);
        let settings =
            Settings { tls_cert_file: Some(cert.clone()), tls_key_file: Some(key.clone()), ..Settings::default() };
        let tls = ServerTls::from_settings(&settings).expect("files").expect("configured");
        let first = tls.config().await;
        assert!(Arc::ptr_eq(&first, &tls.config().await), "unchanged files are not read again within a second");
        std::fs::write(&cert, "not a certificate").expect("write");
        tokio::time::sleep(RECHECK + Duration::from_millis(100)).await;
        assert!(Arc::ptr_eq(&first, &tls.config().await), "an unusable change keeps the last certificate");
        write(&["second.internal"]);
        tokio::time::sleep(RECHECK + Duration::from_millis(100)).await;
        assert!(!Arc::ptr_eq(&first, &tls.config().await), "a usable change is taken");
        std::fs::write(&key, "gone").expect("write");
        let missing = Settings { tls_cert_file: Some(dir.path().join("none.crt")), ..settings.clone() };
        assert!(ServerTls::from_settings(&missing).is_err(), "files that cannot be read stop the start");
        assert!(ServerTls::from_settings(&Settings::default()).expect("no TLS").is_none());
    }
}
