//! A stand-in for the province's identity provider: signing keys of each algorithm the suite
//! accepts with their JWKS entries, tokens with whatever claims a test names, and a small HTTP
//! server that publishes a JWKS (or redirects, or fails) at the paths a test sets, counting the
//! requests. The two RSA keys under `fixtures/` are test keys made with `openssl genpkey`,
//! trusted nowhere; the ES256 and EdDSA keys are made fresh for each test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The test RSA keys (PKCS#8 PEM, 2048 bits).
const RSA_KEYS: [&str; 2] = [include_str!("../fixtures/idp-rsa-1.pem"), include_str!("../fixtures/idp-rsa-2.pem")];

/// A signing key of the identity provider, with its key id.
#[derive(Clone)]
pub struct IdpKey {
    /// The key id (`kid`) its tokens and JWKS entry carry.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl std::fmt::Debug for IdpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpKey").field("kid", &self.kid).field("algorithm", &self.algorithm).finish()
    }
}

impl IdpKey {
    fn with_jwk(kid: &str, algorithm: Algorithm, encoding: EncodingKey, mut jwk: Value) -> Self {
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(format!("{algorithm:?}"));
        Self { kid: kid.to_owned(), algorithm, encoding, jwk }
    }

    /// The RS256 test key number `which` (0 or 1), under `kid`.
    pub fn rs256(kid: &str, which: usize) -> Self {
        let encoding = EncodingKey::from_rsa_pem(RSA_KEYS[which].as_bytes()).expect("the test RSA key");
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).expect("an RSA JWK");
        Self::with_jwk(kid, Algorithm::RS256, encoding, serde_json::to_value(jwk).expect("json"))
    }

    /// A fresh ES256 (P-256) key under `kid`.
    pub fn es256(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a P-256 key");
        let encoding = EncodingKey::from_ec_der(&pair.serialize_der());
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("an EC JWK");
        Self::with_jwk(kid, Algorithm::ES256, encoding, serde_json::to_value(jwk).expect("json"))
    }

    /// A fresh EdDSA (Ed25519) key under `kid`.
    pub fn eddsa(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("an Ed25519 key");
        let encoding = EncodingKey::from_ed_der(&pair.serialize_der());
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw())});
        Self::with_jwk(kid, Algorithm::EdDSA, encoding, jwk)
    }

    /// Its JWKS entry.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// A token of `claims` signed with this key, its header naming the key id.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign a test token")
    }

    /// A token of `claims` signed with this key, naming no key id.
    pub fn sign_without_kid(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, &self.encoding).expect("sign a test token")
    }
}

/// A JWKS document publishing `keys`.
pub fn jwks(keys: &[&IdpKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }).to_string()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// What the JWKS server answers at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `200 OK` with this JSON body.
    Body(String),
    /// `302 Found` to this location.
    Redirect(String),
    /// This status, with an empty body.
    Status(u16),
}

/// A small HTTP/1.1 server on `127.0.0.1:0` answering GETs from its routes; stopped when dropped.
#[derive(Debug)]
pub struct JwksServer {
    /// Where it listens.
    pub addr: SocketAddr,
    routes: Arc<Mutex<BTreeMap<String, Route>>>,
    hits: Arc<Mutex<BTreeMap<String, usize>>>,
    task: JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl JwksServer {
    /// Starts the server with no routes (every path answers 404).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let routes: Arc<Mutex<BTreeMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        let (served_routes, served_hits) = (routes.clone(), hits.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { continue };
                let (routes, hits) = (served_routes.clone(), served_hits.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    *hits.lock().expect("hits").entry(path.clone()).or_default() += 1;
                    let route = routes.lock().expect("routes").get(&path).cloned();
                    let response = match route {
                        Some(Route::Body(body)) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        ),
                        Some(Route::Redirect(location)) => format!(
                            "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        ),
                        Some(Route::Status(code)) => {
                            format!("HTTP/1.1 {code} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        }
                        None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                    };
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { addr, routes, hits, task }
    }

    /// The URL of `path` (`/jwks`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers `route` at `path` from now on.
    pub fn set(&self, path: &str, route: Route) {
        self.routes.lock().expect("routes").insert(path.to_owned(), route);
    }

    /// How many requests `path` has had.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().expect("hits").get(path).copied().unwrap_or_default()
    }
}
