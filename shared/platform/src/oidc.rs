//! The people's identity provider (docs/OPERATIONS.md, "Identity and TLS"): a province's 政务统一身份认证, a
//! Keycloak realm, any OIDC issuer. Its tokens are verified by `jsonwebtoken` against the keys it
//! publishes as a JWKS (a file, or an http(s) URL read with a small GET that follows redirects on
//! the same host only), read again on a schedule and at once when a token names a key id not seen
//! yet, so a rotated key is trusted without a restart. Its issuer and one of the suite's
//! audiences are required. Its claims become the suite's roles, region and organisation through
//! a [`ClaimMapping`] read from configuration, so a provider with claim names of its own needs no
//! code. It speaks for people only: a token of it asserting `SERVICE` is refused
//! ([`crate::auth::Authenticator`]).
//!
//! SM2 keys are not supported: `jsonwebtoken` (and no other maintained Rust JWT library) verifies
//! SM2 signatures; a JWKS key of another kind is skipped, with a warning.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http::Uri;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use tokio_rustls::rustls::ClientConfig;

use crate::config::Settings;
use crate::error::Error;
use crate::http_call::{self, Failure};
use crate::token::{ACCEPTED_ALGORITHMS, Asserted, Refusal, Role, claims_refused, validation};

/// Where the provider's JWKS is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A file, read again on schedule (a mounted secret or config map).
    File(PathBuf),
    /// An `http://` or `https://` URL.
    Url(Uri),
}

impl JwksSource {
    /// A URL when `text` starts with `http://` or `https://`, else a file path.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.starts_with("http://") || text.starts_with("https://") {
            let url: Uri = text.parse().map_err(|e| Error::Config(format!("QIANCHENG_OIDC_JWKS {text}: {e}")))?;
            Origin::of(&url)?;
            Ok(JwksSource::Url(url))
        } else {
            Ok(JwksSource::File(PathBuf::from(text)))
        }
    }
}

impl fmt::Display for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "{}", path.display()),
            JwksSource::Url(url) => write!(f, "{url}"),
        }
    }
}

/// How a provider's claims become the suite's roles, region and organisation
/// (`QIANCHENG_OIDC_*_CLAIM`, `QIANCHENG_OIDC_ROLE_MAP`).
///
/// A claim name is looked up as it is, then as a dotted path into objects
/// (`realm_access.roles`). Roles may be a list of strings or one string separated by spaces or
/// commas; each value is mapped through the role map, or, with no role map, read as a role name
/// of the suite (`COUNTY_OFFICER`, any case). Values that map to nothing are ignored (a Keycloak
/// token also carries `offline_access` and the like).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// Claim naming the caller.
    pub subject: String,
    /// Claim holding the roles.
    pub roles: String,
    /// Claim holding the region code.
    pub region: String,
    /// Claim holding the organisation's credit code.
    pub org: String,
    /// The provider's role values mapped to the suite's roles; empty: values are role names.
    pub role_values: BTreeMap<String, Role>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            subject: "sub".to_owned(),
            roles: "roles".to_owned(),
            region: "region".to_owned(),
            org: "org".to_owned(),
            role_values: BTreeMap::new(),
        }
    }
}

impl ClaimMapping {
    /// The mapping the configuration describes.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            subject: settings.oidc_subject_claim.clone(),
            roles: settings.oidc_roles_claim.clone(),
            region: settings.oidc_region_claim.clone(),
            org: settings.oidc_org_claim.clone(),
            role_values: settings.oidc_role_map.clone(),
        }
    }

    /// What the verified `claims` assert, in the suite's terms.
    pub(crate) fn map(&self, claims: &Map<String, Value>) -> Result<Asserted, Error> {
        let refuse = |why: String| Error::Unauthenticated(why);
        let subject = claim(claims, &self.subject)
            .and_then(text)
            .ok_or_else(|| refuse(format!("token has no subject claim {}", self.subject)))?;
        let time = |name: &str| -> Result<Option<i64>, Error> {
            claims
                .get(name)
                .map(|v| {
                    v.as_i64()
                        .or_else(|| v.as_f64().map(|f| f as i64))
                        .ok_or_else(|| refuse(format!("token claim {name} is not a time")))
                })
                .transpose()
        };
        Ok(Asserted {
            subject,
            roles: claim(claims, &self.roles).map(|v| self.roles_of(v)).unwrap_or_default(),
            region: claim(claims, &self.region).and_then(text).map(|r| region_code(&r)),
            org: claim(claims, &self.org).and_then(text),
            issued_at: time("iat")?,
            not_before: time("nbf")?,
            expires_at: time("exp")?.ok_or_else(|| refuse("token has no exp claim".to_owned()))?,
        })
    }

    /// The suite's roles among the provider's role values, each once, in order.
    fn roles_of(&self, value: &Value) -> Vec<Role> {
        let values: Vec<&str> = match value {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            Value::String(joined) => joined.split([' ', ',']).filter(|v| !v.is_empty()).collect(),
            _ => Vec::new(),
        };
        let mut roles = Vec::new();
        for value in values {
            let role = if self.role_values.is_empty() {
                value.parse::<Role>().ok()
            } else {
                self.role_values.get(value).copied()
            };
            if let Some(role) = role.filter(|r| !roles.contains(r)) {
                roles.push(role);
            }
        }
        roles
    }
}

/// The claim `name` of `claims`: the key itself, or a dotted path into objects.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    claims.get(name).or_else(|| {
        let mut path = name.split('.');
        let first = claims.get(path.next()?)?;
        path.try_fold(first, |value, key| value.get(key))
    })
}

/// A claim as text: a string, or a number (some providers number their users).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A 9- or 12-digit division code (统计用区划代码) whose digits past the sixth are all zeros
/// names the same region as its first six digits (GB/T 2260); anything else is kept as it came.
fn region_code(raw: &str) -> String {
    let code = raw.trim();
    let digits = code.bytes().all(|b| b.is_ascii_digit());
    if digits && (code.len() == 9 || code.len() == 12) && code[6..].bytes().all(|b| b == b'0') {
        code[..6].to_owned()
    } else {
        code.to_owned()
    }
}

/// What the configuration says of the identity provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer its tokens name.
    pub issuer: String,
    /// Audiences a token must name one of.
    pub audiences: Vec<String>,
    /// Where its keys are read.
    pub jwks: JwksSource,
    /// How often the keys are read again.
    pub refresh_every: Duration,
    /// Least time between reads caused by unknown key ids.
    pub min_refresh: Duration,
    /// CA certificates of an https JWKS URL; `None`: the system's trust store.
    pub ca_file: Option<PathBuf>,
    /// How claims map to the suite's roles, region and organisation.
    pub mapping: ClaimMapping,
}

impl ProviderConfig {
    /// The provider the configuration names, if any.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>, Error> {
        let Some(issuer) = settings.oidc_issuer.clone() else { return Ok(None) };
        let jwks = settings
            .oidc_jwks
            .as_deref()
            .ok_or_else(|| Error::Config("QIANCHENG_OIDC_ISSUER needs QIANCHENG_OIDC_JWKS".to_owned()))?;
        Ok(Some(Self {
            issuer,
            audiences: settings.oidc_audience.clone(),
            jwks: JwksSource::parse(jwks)?,
            refresh_every: Duration::from_secs(settings.oidc_jwks_refresh_secs),
            min_refresh: Duration::from_secs(settings.oidc_jwks_min_refresh_secs),
            ca_file: settings.oidc_ca_file.clone(),
            mapping: ClaimMapping::from_settings(settings),
        }))
    }
}

/// One key of the provider's JWKS the suite can use.
#[derive(Clone)]
struct PublishedKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The usable keys of one reading of the JWKS, and a digest that tells a change.
#[derive(Clone, Default)]
struct KeySet {
    keys: Vec<PublishedKey>,
    digest: [u8; 32],
}

/// The shortest RSA modulus trusted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

impl KeySet {
    /// The usable keys of a JWKS document; keys of other kinds or algorithms are skipped with a
    /// warning (a provider may publish an encryption key or an SM2 key beside its signing keys).
    fn parse(bytes: &[u8]) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }
        let document: Document = serde_json::from_slice(bytes)
            .map_err(|e| Error::Config(format!("the JWKS is not a JSON Web Key Set: {e}")))?;
        let mut keys = Vec::new();
        let mut digest = Sha256::new();
        for value in document.keys {
            let kid = value.get("kid").and_then(Value::as_str).unwrap_or("(none)").to_owned();
            match usable_key(&value) {
                Ok(key) => {
                    digest.update(value.to_string().as_bytes());
                    keys.push(key);
                }
                Err(why) => tracing::warn!(kid = %kid, why, "a key of the JWKS is skipped"),
            }
        }
        if keys.is_empty() {
            return Err(Error::Config("the JWKS holds no usable signing key (EdDSA, RS256 or ES256)".to_owned()));
        }
        Ok(Self { keys, digest: digest.finalize().into() })
    }

    fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_deref().unwrap_or("-")).collect()
    }
}

/// A JWK the suite verifies with, or why not.
fn usable_key(value: &Value) -> Result<PublishedKey, &'static str> {
    let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|_| "not a key jsonwebtoken reads")?;
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return Err("an encryption key");
    }
    let natural = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &rsa.n)
                .map_err(|_| "an RSA modulus that is not base64url")?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES {
                return Err("an RSA key shorter than 2048 bits");
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        _ => return Err("a key type or curve other than RSA, P-256 or Ed25519"),
    };
    let algorithm = match jwk.common.key_algorithm {
        None => natural,
        Some(declared) => Algorithm::from_str(&declared.to_string()).map_err(|_| "an unknown algorithm")?,
    };
    if algorithm != natural || !ACCEPTED_ALGORITHMS.contains(&algorithm) {
        return Err("an algorithm other than EdDSA, RS256 or ES256 for its key type");
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "a key whose parameters do not decode")?;
    Ok(PublishedKey { kid: jwk.common.key_id.clone(), algorithm, key })
}

/// The people's identity provider: its issuer, audiences, claim mapping and current keys.
pub struct IdentityProvider {
    config: ProviderConfig,
    /// TLS of an https JWKS URL.
    https: Option<Arc<ClientConfig>>,
    keys: RwLock<Arc<KeySet>>,
    /// When the keys were last read; held while reading, so concurrent refreshes wait for one.
    last_read: tokio::sync::Mutex<Instant>,
}

impl fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("issuer", &self.config.issuer)
            .field("audiences", &self.config.audiences)
            .field("jwks", &self.config.jwks.to_string())
            .field("keys", &self.current().ids())
            .finish()
    }
}

impl IdentityProvider {
    /// The provider of `config`, its keys read now: a provider whose keys cannot be read does not
    /// start, and the error says why.
    pub async fn connect(config: ProviderConfig) -> Result<Self, Error> {
        let https = match &config.jwks {
            JwksSource::Url(url) if url.scheme_str() == Some("https") => {
                Some(crate::tls::https_client(config.ca_file.as_deref())?)
            }
            _ => None,
        };
        let provider =
            Self { config, https, keys: RwLock::default(), last_read: tokio::sync::Mutex::new(Instant::now()) };
        let keys = provider.read().await.map_err(|e| {
            Error::Config(format!(
                "cannot read the identity provider's keys from {}: {}",
                provider.config.jwks,
                e.report()
            ))
        })?;
        tracing::info!(issuer = %provider.config.issuer, jwks = %provider.config.jwks, keys = ?keys.ids(), "identity provider keys read");
        if let JwksSource::Url(url) = &provider.config.jwks
            && url.scheme_str() == Some("http")
            && !url
                .host()
                .is_some_and(|h| h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()))
        {
            // Whoever can change the keys in transit can sign any person's token.
            tracing::warn!(jwks = %url, "the identity provider's keys are read over plain http; use https");
        }
        *provider.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
        Ok(provider)
    }

    /// The issuer its tokens name.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// How often its keys are read again.
    pub fn refresh_interval(&self) -> Duration {
        self.config.refresh_every
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Verifies a token of this provider (its header already read) and maps its claims.
    pub(crate) fn verify(&self, token: &str, header: &Header) -> Result<Asserted, Refusal> {
        let keys = self.current();
        let candidates: Vec<&PublishedKey> = match &header.kid {
            Some(kid) => {
                let named: Vec<&PublishedKey> =
                    keys.keys.iter().filter(|k| k.kid.as_deref() == Some(kid.as_str())).collect();
                if named.is_empty() {
                    return Err(Refusal::UnknownKey);
                }
                named
            }
            None => keys.keys.iter().collect(),
        };
        let mut validation = validation(header.alg, &self.config.issuer);
        validation.set_audience(&self.config.audiences);
        validation.required_spec_claims.insert("aud".to_owned());
        let mut matched = false;
        for key in candidates.into_iter().filter(|k| k.algorithm == header.alg) {
            matched = true;
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => return Ok(self.config.mapping.map(&data.claims)?),
                Err(error) if matches!(error.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {}
                Err(error) => return Err(claims_refused(&error).into()),
            }
        }
        let why = if matched { "token signature does not verify" } else { "token algorithm does not match its key" };
        Err(Error::Unauthenticated(why.to_owned()).into())
    }

    /// Reads the keys again now; whether they changed. A failed read keeps the keys there are,
    /// and says why in the log.
    pub async fn refresh(&self) -> bool {
        let mut last_read = self.last_read.lock().await;
        *last_read = Instant::now();
        self.replace(self.read().await)
    }

    /// Reads the keys again for a token naming an unknown key id, unless they were read less
    /// than `QIANCHENG_OIDC_JWKS_MIN_REFRESH_SECS` ago (a stream of made-up key ids must not
    /// become a stream of requests to the provider); whether they changed. Concurrent callers
    /// wait for one read.
    pub(crate) async fn refresh_for_unknown_key(&self) -> bool {
        let mut last_read = self.last_read.lock().await;
        if last_read.elapsed() < self.config.min_refresh {
            return false;
        }
        *last_read = Instant::now();
        self.replace(self.read().await)
    }

    fn replace(&self, read: Result<KeySet, Error>) -> bool {
        match read {
            Ok(keys) => {
                let mut current = self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                if keys.digest == current.digest {
                    return false;
                }
                tracing::info!(issuer = %self.config.issuer, keys = ?keys.ids(), "identity provider keys changed");
                *current = Arc::new(keys);
                true
            }
            Err(error) => {
                tracing::warn!(issuer = %self.config.issuer, jwks = %self.config.jwks, error = %error.report(), "identity provider keys not read again; the last ones stay");
                false
            }
        }
    }

    async fn read(&self) -> Result<KeySet, Error> {
        let bytes = match &self.config.jwks {
            JwksSource::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?,
            JwksSource::Url(url) => fetch(url, self.https.as_ref()).await?,
        };
        KeySet::parse(&bytes)
    }
}

/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// How long one fetch of the JWKS may take, redirects included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed (on the same host) before giving up.
const MAX_REDIRECTS: usize = 3;

/// Scheme, host and port of a URL: a redirect is followed only when they stay the same.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &Uri) -> Result<Self, Error> {
        let https = match url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(Error::Config(format!("{url} is not an http:// or https:// URL"))),
        };
        let host = url.host().ok_or_else(|| Error::Config(format!("{url} names no host")))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        Ok(Self { https, host, port: url.port_u16().unwrap_or(if https { 443 } else { 80 }) })
    }

    /// The `Host` header: the port only when it is not the scheme's own.
    fn host_header(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == default { host } else { format!("{host}:{}", self.port) }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", if self.https { "https" } else { "http" }, self.host_header())
    }
}

/// What one GET answered.
enum Answer {
    Body(Vec<u8>),
    Redirect(String),
}

/// GETs `url`: the body of a 200, following redirects on the same scheme, host and port only,
/// within [`FETCH_TIMEOUT`] and [`MAX_JWKS_BYTES`].
pub(crate) async fn fetch(url: &Uri, https: Option<&Arc<ClientConfig>>) -> Result<Vec<u8>, Error> {
    tokio::time::timeout(FETCH_TIMEOUT, follow(url, https))
        .await
        .map_err(|_| Error::Config(format!("{url} did not answer within {} s", FETCH_TIMEOUT.as_secs())))?
}

async fn follow(url: &Uri, https: Option<&Arc<ClientConfig>>) -> Result<Vec<u8>, Error> {
    let home = Origin::of(url)?;
    let mut current = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        match get(&current, &home, https).await? {
            Answer::Body(body) => return Ok(body),
            Answer::Redirect(location) => {
                let next = resolve(&current, &location)?;
                let there = Origin::of(&next)?;
                if there != home {
                    return Err(Error::Config(format!(
                        "{url} redirects to {there}; only redirects on {home} are followed"
                    )));
                }
                current = next;
            }
        }
    }
    Err(Error::Config(format!("{url} redirects more than {MAX_REDIRECTS} times")))
}

/// `location` of a redirect from `base`: absolute, or a path on the same origin.
fn resolve(base: &Uri, location: &str) -> Result<Uri, Error> {
    let bad = || Error::Config(format!("a redirect to {location:?} is not a URL"));
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.parse().map_err(|_| bad());
    }
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/{location}")
    };
    let scheme = base.scheme_str().ok_or_else(bad)?;
    let authority = base.authority().ok_or_else(bad)?;
    format!("{scheme}://{authority}{path}").parse().map_err(|_| bad())
}

async fn get(url: &Uri, origin: &Origin, https: Option<&Arc<ClientConfig>>) -> Result<Answer, Error> {
    let tls = match origin.https {
        true => Some(https.ok_or_else(|| Error::Config(format!("{origin}: https needs TLS settings")))?),
        false => None,
    };
    let request = http::Request::get(url.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, origin.host_header())
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "qiancheng")
        .body(http_body_util::Full::new(prost::bytes::Bytes::new()))
        .map_err(|e| Error::Config(format!("GET {url}: {e}")))?;
    let read = |status| (status == http::StatusCode::OK).then_some(MAX_JWKS_BYTES);
    let reply =
        http_call::send((&origin.host, origin.port), tls, request, read).await.map_err(|failure| match failure {
            Failure::Unreachable(e) => Error::Config(format!("cannot reach {origin}: {e}")),
            Failure::Name(e) => Error::Config(format!("{origin}: {e}")),
            Failure::Tls(e) => Error::Config(format!("TLS with {origin}: {e}")),
            Failure::Http(e) => Error::Config(format!("GET {url}: {e}")),
            Failure::Body(e) => Error::Config(format!("GET {url}: {e} (at most {MAX_JWKS_BYTES} bytes are read)")),
        })?;
    let status = reply.status;
    if status.is_redirection() {
        let location = (reply.headers.get(http::header::LOCATION))
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Config(format!("GET {url}: HTTP {status} without a location")))?;
        return Ok(Answer::Redirect(location.to_owned()));
    }
    if status != http::StatusCode::OK {
        return Err(Error::Config(format!("GET {url}: HTTP {status}")));
    }
    Ok(Answer::Body(reply.body.to_vec()))
}
