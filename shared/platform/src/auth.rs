//! Authentication (README.md, "Who may do what"; docs/OPERATIONS.md, "Identity and TLS"): bearer tokens (JWT) verified by `jsonwebtoken` into a
//! [`Principal`] with roles, region and organisation, and the checks handlers make with it.
//!
//! People's tokens come from the suite's own issuer keys (`QIANCHENG_AUTH_PUBLIC_KEYS`, Ed25519,
//! several for rotation) or from the people's identity provider ([`crate::oidc`]: OIDC, RS256,
//! ES256 or EdDSA keys from a JWKS, claims mapped by configuration). A service of the suite calls
//! with a token signed by its own key, or, where configured, with its client certificate
//! ([`crate::tls`]); nothing else may assert `SERVICE`. Development makes a key pair once, keeps
//! the private half in the data folder, and `qiancheng token` mints people's tokens with it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use qiancheng_domain::{RegionCode, Uscc};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tonic::Request;

use crate::config::Settings;
use crate::error::Error;
use crate::oidc::{IdentityProvider, ProviderConfig};
pub use crate::token::{ACCEPTED_ALGORITHMS, Claims, ISSUED_AT_LEEWAY_SECS, ISSUER, Role};
pub(crate) use crate::token::{Asserted, Refusal, claims_refused, validation};

/// The subject of the anonymous caller of a public RPC.
pub const PUBLIC_SUBJECT: &str = "public";

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who.
    pub subject: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// The region the caller works in, if any.
    pub region: Option<RegionCode>,
    /// The caller's organisation (credit code), if any.
    pub org: Option<String>,
}

impl Principal {
    /// Whether the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller holds any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// Refuses the call unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), Error> {
        if self.has_any(roles) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "this call needs one of the roles {}",
                roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    }

    /// Whether a county officer's region covers `region` (a city-level officer covers all).
    pub fn covers_region(&self, region: RegionCode) -> bool {
        self.region.is_some_and(|own| own.contains(region))
    }

    /// Whether the caller's organisation is `credit_code`.
    pub fn is_org(&self, credit_code: &str) -> bool {
        self.org.as_deref() == Some(credit_code)
    }

    /// The organisation (credit code) a caller holding `role` (a provider, an enterprise) acts
    /// for: the one rule for every call a provider or an enterprise makes on its own records. A
    /// caller without the role, or whose token names no organisation (or an empty one), acts for
    /// none and is refused (`PERMISSION_DENIED`), never taken to act for "no organisation".
    pub fn own_org(&self, role: Role) -> Result<&str, Error> {
        match self.org.as_deref() {
            Some(org) if self.has(role) && !org.is_empty() => Ok(org),
            _ => Err(Error::PermissionDenied(format!(
                "this call is for a {} acting for its own organisation",
                role.as_str()
            ))),
        }
    }

    /// Whether the caller holds one of the roles an RPC declares (`allowed_roles`).
    pub fn holds_any_of(&self, declared: &[qiancheng_api::types::Role]) -> bool {
        declared.iter().filter_map(|r| Role::from_proto(*r)).any(|r| self.has(r))
    }

    /// The anonymous caller of a public RPC (`qiancheng.type.v1.public_limit`): no roles, no
    /// region, no organisation.
    pub fn public() -> Self {
        Self { subject: PUBLIC_SUBJECT.to_owned(), roles: Vec::new(), region: None, org: None }
    }

    /// Whether the caller is the anonymous public.
    pub fn is_public(&self) -> bool {
        self.subject == PUBLIC_SUBJECT && self.roles.is_empty()
    }

    /// Reads the principal that the authentication layer put on the request.
    pub fn of<T>(request: &Request<T>) -> Result<Principal, Error> {
        request
            .extensions()
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| Error::Unauthenticated("no bearer token".to_owned()))
    }
}

/// The rows a caller may see or change: everything, one county's, or one organisation's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every row.
    All,
    /// Rows of one county.
    Region(RegionCode),
    /// Rows of one organisation (credit code).
    Org(String),
}

impl Scope {
    /// The scope of `principal` under the suite's one rule of reach: a holder of one of
    /// `everything` sees every row, a county officer their county, a holder of `own` (a provider
    /// or an enterprise) its own organisation ([`Principal::own_org`]); `None` when the caller
    /// holds none of these, or holds `own` without an organisation. County-officer tokens always
    /// name a county (the authenticator refuses others), so the fallback, an organisation scope
    /// matching nothing, is for a token never accepted.
    pub fn of(principal: &Principal, everything: &[Role], own: Option<Role>) -> Option<Scope> {
        if principal.has_any(everything) {
            Some(Scope::All)
        } else if principal.has(Role::CountyOfficer) {
            Some(match principal.region {
                Some(region) if !region.is_city() => Scope::Region(region),
                _ => Scope::Org(String::new()),
            })
        } else if let Some(role) = own.filter(|role| principal.has(*role)) {
            principal.own_org(role).ok().map(|org| Scope::Org(org.to_owned()))
        } else {
            None
        }
    }

    /// The scope as two SQL parameters, kind and value, for
    /// `($k = 'ALL' OR ($k = 'REGION' AND region = $v) OR ($k = 'ORG' AND org = $v))`: an
    /// organisation scope with no organisation matches nothing.
    pub fn sql(&self) -> (&'static str, &str) {
        match self {
            Scope::All => ("ALL", ""),
            Scope::Region(r) => ("REGION", r.code()),
            Scope::Org(o) => ("ORG", o.as_str()),
        }
    }

    /// Refuses a row of `region` and organisation `org` outside the scope.
    pub fn check(&self, region: RegionCode, org: &str) -> Result<(), Error> {
        if self.admits(region, org) {
            Ok(())
        } else {
            Err(Error::denied("the resource is outside the caller's county or organisation"))
        }
    }

    /// What a caller learns of a resource `name` that does not exist: callers who see
    /// everything learn that it is missing; scoped callers are refused as for any resource
    /// outside their scope, so that they cannot probe for what exists elsewhere (permission
    /// before existence).
    pub fn missing(&self, name: &str) -> Error {
        match self {
            Scope::All => Error::NotFound(name.to_owned()),
            Scope::Region(_) | Scope::Org(_) => {
                Error::denied("the resource is outside the caller's county or organisation")
            }
        }
    }

    /// Whether a row of `region` and organisation `org` is inside the scope; an organisation
    /// scope with no organisation admits nothing, as in SQL (`record::Filter::within`).
    pub fn admits(&self, region: RegionCode, org: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Region(own) => own.contains(region),
            Scope::Org(own) => !own.is_empty() && own == org,
        }
    }
}

/// Verifies bearer tokens, and the client certificates that may stand in for a service's token.
///
/// Three kinds of key are trusted, each only for what it may assert (README.md, "Who may do what"; docs/OPERATIONS.md, "Identity and TLS"):
/// - the suite's own issuer keys (`QIANCHENG_AUTH_PUBLIC_KEYS`, the development key): people's
///   roles, in tokens whose issuer is [`ISSUER`];
/// - the people's identity provider ([`IdentityProvider`]: OIDC, keys from a JWKS): people's
///   roles, read through the configured claim mapping;
/// - each calling service's own key (`QIANCHENG_SERVICE_PUBLIC_KEYS`), or its client
///   certificate where configured (`QIANCHENG_TLS_CLIENT_SERVICES`): that service's `SERVICE`
///   identity and nothing else.
///
/// Neither issuer of people's tokens may assert `SERVICE`: whoever holds the people's identity
/// provider cannot speak for a service of the suite.
#[derive(Clone)]
pub struct Authenticator {
    /// The suite's own issuer keys: they may assert any person's role.
    issuers: Vec<DecodingKey>,
    /// Each calling service's own key, by service name: it may assert only that service.
    services: Vec<(String, DecodingKey)>,
    /// The people's identity provider, if one is configured.
    provider: Option<Arc<IdentityProvider>>,
    /// Services whose verified client certificate stands in for their token.
    certificate_services: Arc<BTreeSet<String>>,
    /// The longest lifetime (`exp - iat`) a token may have.
    max_lifetime_secs: i64,
    /// How far ahead of this server's clock an issue time (`iat`) or start (`nbf`) may lie.
    leeway_secs: i64,
    /// Tokens verified before, by the SHA-256 of the token, until they expire.
    cache: Arc<RwLock<HashMap<[u8; 32], Verified>>>,
    /// Revoked subjects: their tokens issued before the instant are refused, cached or not.
    revoked: Arc<RwLock<HashMap<String, i64>>>,
}

/// A verified token as the cache keeps it.
#[derive(Debug, Clone)]
struct Verified {
    principal: Principal,
    issued_at: i64,
    expires_at: i64,
}

/// Whose key signed a token, which decides what the token may assert.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signer {
    /// One of the suite's own issuer keys.
    Suite,
    /// The people's identity provider.
    Provider,
    /// The named service's own key.
    Service(String),
}

/// Most verified tokens kept; past it, expired entries go, then the whole cache if need be.
pub const TOKEN_CACHE_ENTRIES: usize = 50_000;

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuers", &self.issuers.len())
            .field("services", &self.services.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
            .field("provider", &self.provider)
            .field("certificate_services", &self.certificate_services)
            .field("max_lifetime_secs", &self.max_lifetime_secs)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

pub use crate::config::DEFAULT_MAX_TOKEN_LIFETIME_SECS;
/// The subject prefix of a service of the suite (`service:selection`): only a service's own key
/// or certificate asserts it.
pub const SERVICE_SUBJECT_PREFIX: &str = "service:";

/// The longest token the suite reads; the suite's own are a few hundred bytes, an identity
/// provider's RS256 tokens with their claims one or two kilobytes.
pub const MAX_TOKEN_BYTES: usize = 8192;

/// The most header bytes a call may carry (tokens past [`MAX_TOKEN_BYTES`] still reach the gate).
pub const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// The longest subject a token may name.
pub const MAX_SUBJECT_CHARS: usize = 128;

/// The issuer of a token, read before its signature is checked only to choose the keys to try.
#[derive(Deserialize)]
struct IssuerOnly {
    iss: Option<String>,
}

fn unauthenticated(why: impl Into<String>) -> Error {
    Error::Unauthenticated(why.into())
}

/// The error a client is told for a verification that did not succeed.
fn refused(result: Result<Principal, Refusal>) -> Result<Principal, Error> {
    result.map_err(|refusal| match refusal {
        Refusal::Refused(error) => error,
        Refusal::UnknownKey => unauthenticated("token key id is not among the identity provider's keys"),
    })
}

impl Authenticator {
    /// Trusts tokens signed by any of the issuer `keys`, for any person's role.
    pub fn new(keys: Vec<VerifyingKey>) -> Self {
        Self {
            issuers: keys.iter().map(|k| DecodingKey::from_ed_der(k.as_bytes())).collect(),
            services: Vec::new(),
            provider: None,
            certificate_services: Arc::default(),
            max_lifetime_secs: DEFAULT_MAX_TOKEN_LIFETIME_SECS,
            leeway_secs: ISSUED_AT_LEEWAY_SECS,
            cache: Arc::default(),
            revoked: Arc::default(),
        }
    }

    /// Refuses every token of `subject` issued before `issued_before` (seconds since the
    /// epoch), including tokens verified and cached before.
    pub fn revoke(&self, subject: &str, issued_before: i64) {
        let mut revoked = self.revoked.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = revoked.entry(subject.to_owned()).or_insert(issued_before);
        *entry = (*entry).max(issued_before);
    }

    /// Replaces the revocations with those of `text`: one `subject issued_before_secs` a line,
    /// `#` comments allowed (the file `QIANCHENG_AUTH_REVOCATIONS`).
    pub fn load_revocations(&self, text: &str) -> Result<usize, Error> {
        let mut loaded = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let (subject, before) = line
                .rsplit_once(char::is_whitespace)
                .and_then(|(s, b)| b.parse::<i64>().ok().map(|b| (s.trim().to_owned(), b)))
                .ok_or_else(|| {
                    Error::Config(format!("revocations line {}: expected `subject issued_before_secs`", n + 1))
                })?;
            loaded.insert(subject, before);
        }
        let count = loaded.len();
        *self.revoked.write().unwrap_or_else(std::sync::PoisonError::into_inner) = loaded;
        Ok(count)
    }

    fn is_revoked(&self, subject: &str, issued_at: i64) -> bool {
        self.revoked
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(subject)
            .is_some_and(|before| issued_at < *before)
    }

    /// Verifies a compact JWT, answering from the cache for a token verified before and not yet
    /// expired (a signature check is the dearest step of a call); revocation is checked either
    /// way. A token under a key id the identity provider has not published (yet) is refused:
    /// [`Authenticator::verify_refreshing`] first fetches the provider's keys again.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Principal, Error> {
        refused(self.try_verify(token, now_secs))
    }

    /// [`Authenticator::verify`], refreshing the identity provider's keys once (no more often
    /// than the provider allows) when the token names a key id they do not hold: a key rotated
    /// in at the provider is trusted without a restart.
    pub async fn verify_refreshing(&self, token: &str, now_secs: i64) -> Result<Principal, Error> {
        match self.try_verify(token, now_secs) {
            Err(Refusal::UnknownKey) => {
                if let Some(provider) = &self.provider
                    && provider.refresh_for_unknown_key().await
                {
                    self.forget_verified();
                }
                self.verify(token, now_secs)
            }
            other => refused(other),
        }
    }

    /// Verifies `token` as [`Authenticator::verify`] does, telling an unknown key id apart.
    pub(crate) fn try_verify(&self, token: &str, now_secs: i64) -> Result<Principal, Refusal> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(unauthenticated(format!("token is longer than {MAX_TOKEN_BYTES} bytes")).into());
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cached = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&digest).cloned();
        let verified = match cached {
            Some(hit) if hit.expires_at > now_secs => hit,
            _ => {
                let verified = self.verify_uncached(token, now_secs)?;
                let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                if cache.len() >= TOKEN_CACHE_ENTRIES {
                    cache.retain(|_, v| v.expires_at > now_secs);
                    if cache.len() >= TOKEN_CACHE_ENTRIES {
                        cache.clear();
                    }
                }
                cache.insert(digest, verified.clone());
                verified
            }
        };
        if self.is_revoked(&verified.principal.subject, verified.issued_at) {
            return Err(unauthenticated("token has been revoked").into());
        }
        Ok(verified.principal)
    }

    /// Drops every cached verification: the keys changed, and a token of a key withdrawn must
    /// not outlive it in the cache.
    fn forget_verified(&self) {
        self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// Also trusts `key` for calls made as the suite's service `name`, and for nothing else.
    pub fn with_service_key(mut self, name: &str, key: VerifyingKey) -> Self {
        self.services.push((name.to_owned(), DecodingKey::from_ed_der(key.as_bytes())));
        self
    }

    /// Trusts tokens living at most `secs`.
    pub fn with_max_lifetime(mut self, secs: i64) -> Self {
        self.max_lifetime_secs = secs;
        self
    }

    /// Tolerates issue and start times up to `secs` ahead of this server's clock.
    pub fn with_leeway(mut self, secs: i64) -> Self {
        self.leeway_secs = secs;
        self
    }

    /// Also trusts people's tokens of `provider`, mapped by its claim mapping, and reads the
    /// provider's keys again on its schedule from now on (in the tokio runtime this is called
    /// in, as [`IdentityProvider::connect`] is).
    pub fn with_provider(mut self, provider: Arc<IdentityProvider>) -> Self {
        self.provider = Some(provider);
        self.spawn_key_refresh();
        self
    }

    /// Lets a verified client certificate naming one of `services` stand in for that service's
    /// token (`QIANCHENG_TLS_CLIENT_SERVICES`).
    pub fn with_certificate_services(mut self, services: impl IntoIterator<Item = String>) -> Self {
        self.certificate_services = Arc::new(services.into_iter().map(|s| s.to_lowercase()).collect());
        self
    }

    /// Whether some client certificate may stand in for a token here.
    pub fn accepts_certificates(&self) -> bool {
        !self.certificate_services.is_empty()
    }

    /// The caller a verified client certificate stands for: the `SERVICE` identity of the
    /// service it names (`spiffe://qiancheng/service/<name>`, [`crate::tls`]), when that
    /// service's certificate may stand in for its token here. A revocation of the service's
    /// subject refuses certificates issued (`notBefore`) before it.
    pub fn certificate_principal(&self, certificate: &[u8]) -> Result<Principal, Error> {
        let named = crate::tls::CertificateIdentity::read(certificate)?;
        if !self.certificate_services.contains(&named.service) {
            return Err(unauthenticated(format!(
                "the client certificate of service {} does not stand in for a token here; send a bearer token",
                named.service
            )));
        }
        let subject = format!("{SERVICE_SUBJECT_PREFIX}{}", named.service);
        if self.is_revoked(&subject, named.not_before) {
            return Err(unauthenticated("the client certificate has been revoked"));
        }
        Ok(Principal { subject, roles: vec![Role::Service], region: None, org: None })
    }

    /// Trusts the base64 Ed25519 public keys of the configuration.
    pub fn from_base64_keys(keys: &[String]) -> Result<Self, Error> {
        if keys.is_empty() {
            return Err(Error::Config("QIANCHENG_AUTH_PUBLIC_KEYS is empty: no token could be verified".to_owned()));
        }
        keys.iter().map(|k| decode_public_key(k)).collect::<Result<_, _>>().map(Self::new)
    }

    /// The authenticator the configuration describes, without the identity provider (see
    /// [`Authenticator::configured`]): issuer keys, each service's own key
    /// (`QIANCHENG_SERVICE_PUBLIC_KEYS`), the services whose certificates stand in for their
    /// tokens, the longest token lifetime and the leeway.
    pub fn from_settings(settings: &Settings) -> Result<Self, Error> {
        let issuers = if settings.auth_public_keys.is_empty() && settings.oidc_issuer.is_some() {
            // Every person's token comes from the identity provider.
            Self::new(Vec::new())
        } else {
            Self::from_base64_keys(&settings.auth_public_keys).map_err(|e| match e {
                Error::Config(why) => Error::Config(format!("{why} (set it, or QIANCHENG_OIDC_ISSUER)")),
                other => other,
            })?
        };
        let mut auth = issuers
            .with_max_lifetime(settings.auth_max_token_lifetime_secs)
            .with_leeway(settings.auth_leeway_secs)
            .with_certificate_services(settings.tls_client_services.iter().cloned());
        for (name, key) in &settings.service_public_keys {
            auth = auth.with_service_key(name, decode_public_key(key)?);
        }
        Ok(auth)
    }

    /// [`Authenticator::from_settings`] with the identity provider the configuration names, its
    /// keys fetched now (a provider that cannot be reached stops the start, saying why) and
    /// refreshed every `QIANCHENG_OIDC_JWKS_REFRESH_SECS` in the background.
    pub async fn configured(settings: &Settings) -> Result<Self, Error> {
        let auth = Self::from_settings(settings)?;
        let Some(config) = ProviderConfig::from_settings(settings)? else { return Ok(auth) };
        let provider = Arc::new(IdentityProvider::connect(config).await?);
        Ok(auth.with_provider(provider))
    }

    /// Reads the identity provider's keys on its schedule, for as long as the runtime runs; a
    /// change of keys empties the token cache.
    fn spawn_key_refresh(&self) {
        let Some(provider) = self.provider.clone() else { return };
        let auth = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(provider.refresh_interval()).await;
                if provider.refresh().await {
                    auth.forget_verified();
                }
            }
        });
    }

    /// Verifies a compact JWT and returns its principal with its issue and expiry times.
    fn verify_uncached(&self, token: &str, now_secs: i64) -> Result<Verified, Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("token is not a compact JWT"))?;
        if !ACCEPTED_ALGORITHMS.contains(&header.alg) {
            return Err(unauthenticated(format!(
                "token algorithm {:?} is not accepted; one of EdDSA, RS256, ES256",
                header.alg
            ))
            .into());
        }
        // The issuer only chooses which keys to try: nothing read here is trusted until a
        // signature verifies.
        let issuer = jsonwebtoken::dangerous::insecure_decode::<IssuerOnly>(token)
            .ok()
            .and_then(|data| data.claims.iss)
            .ok_or_else(|| unauthenticated("token names no issuer"))?;
        let (signer, asserted) = if issuer == ISSUER {
            self.verify_own(token, header.alg)?
        } else if let Some(provider) = self.provider.as_ref().filter(|p| p.issuer() == issuer) {
            (Signer::Provider, provider.verify(token, &header)?)
        } else {
            return Err(unauthenticated("token issuer is not trusted").into());
        };
        Ok(self.admit(signer, asserted, now_secs)?)
    }

    /// Verifies a token of the suite's own issuer against its issuer keys, then the services'
    /// own keys.
    fn verify_own(&self, token: &str, algorithm: Algorithm) -> Result<(Signer, Asserted), Error> {
        if algorithm != Algorithm::EdDSA {
            return Err(unauthenticated("the suite's own tokens are signed with EdDSA"));
        }
        let mut validation = validation(Algorithm::EdDSA, ISSUER);
        // The suite's own tokens name no audience: every service of the suite reads them.
        validation.validate_aud = false;
        let keys =
            self.issuers.iter().map(|key| (None, key)).chain(self.services.iter().map(|(name, key)| (Some(name), key)));
        for (service, key) in keys {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let signer = service.map_or(Signer::Suite, |name| Signer::Service(name.clone()));
                    return Ok((signer, data.claims.into()));
                }
                Err(error) if matches!(error.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {}
                Err(error) => return Err(claims_refused(&error)),
            }
        }
        Err(unauthenticated("token signature does not verify"))
    }

    /// Applies the suite's trust rules to what a verified token asserts.
    fn admit(&self, signer: Signer, claims: Asserted, now_secs: i64) -> Result<Verified, Error> {
        if claims.expires_at <= now_secs {
            return Err(unauthenticated("token has expired"));
        }
        let Some(issued_at) = claims.issued_at else {
            return Err(unauthenticated("token has no issue time (iat)"));
        };
        // Clocks drift: an issuer's clock a little ahead of this server's is tolerated. An
        // expiry is never extended: the issuer chose the lifetime.
        if issued_at > now_secs + self.leeway_secs {
            return Err(unauthenticated("token is issued in the future"));
        }
        if claims.not_before.is_some_and(|nbf| nbf > now_secs + self.leeway_secs) {
            return Err(unauthenticated("token is not valid yet (nbf)"));
        }
        if claims.expires_at.saturating_sub(issued_at) > self.max_lifetime_secs {
            return Err(unauthenticated("token lives longer than the suite trusts"));
        }
        match &signer {
            // A service's own key asserts that service and nothing else.
            Signer::Service(service) => {
                if claims.roles != [Role::Service]
                    || claims.subject != format!("{SERVICE_SUBJECT_PREFIX}{service}")
                    || claims.region.is_some()
                    || claims.org.is_some()
                {
                    return Err(unauthenticated("a service's key signs only that service's own calls"));
                }
            }
            // An issuer of people's tokens never speaks for a service of the suite.
            Signer::Suite | Signer::Provider => {
                if claims.roles.contains(&Role::Service) {
                    return Err(unauthenticated(
                        "a SERVICE identity comes only from that service's own key or client certificate, \
                         never from an issuer of people's tokens",
                    ));
                }
                if claims.subject.starts_with(SERVICE_SUBJECT_PREFIX) {
                    return Err(unauthenticated(format!(
                        "subjects starting {SERVICE_SUBJECT_PREFIX} belong to the services of the suite"
                    )));
                }
            }
        }
        if claims.roles.is_empty() {
            return Err(unauthenticated("token holds no role"));
        }
        // The subject goes into audit entries and access lines: a short printable name.
        if claims.subject.is_empty()
            || claims.subject.chars().count() > MAX_SUBJECT_CHARS
            || claims.subject.chars().any(char::is_control)
        {
            return Err(Error::Unauthenticated(format!(
                "token subject must be 1 to {MAX_SUBJECT_CHARS} characters with no control character"
            )));
        }
        let region = claims
            .region
            .as_deref()
            .map(RegionCode::parse)
            .transpose()
            .map_err(|_| unauthenticated("token region is not a Xianning region code"))?;
        // A county officer works in one county; only city administrators see the whole city.
        if claims.roles.contains(&Role::CountyOfficer) && region.is_none_or(|r| r.is_city()) {
            return Err(unauthenticated("a county officer's token must name a county, not the city"));
        }
        let org = claims
            .org
            .as_deref()
            .map(|o| Uscc::parse_pilot(o).map(|code| code.as_str().to_owned()))
            .transpose()
            .map_err(|_| unauthenticated("token organisation is not a credit code"))?;
        if claims.roles.iter().any(|r| matches!(r, Role::Provider | Role::Enterprise)) && org.is_none() {
            return Err(unauthenticated("a provider's or enterprise's token must name its organisation"));
        }
        Ok(Verified {
            principal: Principal { subject: claims.subject, roles: claims.roles, region, org },
            issued_at,
            expires_at: claims.expires_at,
        })
    }
}

/// Mints tokens with a private key (development, tests, and service-to-service calls).
#[derive(Clone)]
pub struct TokenMinter {
    key: SigningKey,
    encoding: EncodingKey,
}

impl fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMinter").field("public_key", &self.public_key_base64()).finish()
    }
}

impl TokenMinter {
    fn from_key(key: SigningKey) -> Result<Self, Error> {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let der = key.to_pkcs8_der().map_err(|e| Error::Config(format!("cannot encode a signing key: {e}")))?;
        Ok(Self { encoding: EncodingKey::from_ed_der(der.as_bytes()), key })
    }

    /// A new random key.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        Self::from_key(SigningKey::from_bytes(&seed))
    }

    /// Loads the key kept at `path`, or makes one and keeps it there (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        if path.exists() {
            return Self::load(path);
        }
        let minter = Self::generate()?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Config(format!("cannot create {}: {e}", parent.display())))?;
        }
        write_secret(path, &STANDARD.encode(minter.key.to_bytes()))?;
        Ok(minter)
    }

    /// Loads the base64 key kept at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read signing key {}: {e}", path.display())))?;
        let bytes: [u8; 32] = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::Config(format!("{} is not a base64 Ed25519 key", path.display())))?;
        Self::from_key(SigningKey::from_bytes(&bytes))
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public half, base64, as `QIANCHENG_AUTH_PUBLIC_KEYS` takes it.
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    /// An authenticator that trusts this key as an issuer of people's tokens.
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(vec![self.key.verifying_key()])
    }

    /// Mints a token of the suite's own issuer valid for `ttl_secs`.
    pub fn mint(
        &self,
        subject: &str,
        roles: &[Role],
        region: Option<&str>,
        org: Option<&str>,
        ttl_secs: i64,
    ) -> Result<String, Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            roles: roles.to_vec(),
            region: region.map(str::to_owned),
            org: org.map(str::to_owned),
            iat: now,
            exp: now + ttl_secs,
            iss: ISSUER.to_owned(),
        };
        jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::EdDSA), &claims, &self.encoding)
            .map_err(|e| Error::Config(format!("cannot sign a token: {e}")))
    }
}

fn decode_public_key(text: &str) -> Result<VerifyingKey, Error> {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| Error::Config(format!("auth public key {text} is not a base64 Ed25519 key")))
}

/// Writes a secret file readable only by its owner.
pub fn write_secret(path: &Path, content: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| Error::Config(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(content.as_bytes()).map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::Signer as _;

    fn minter() -> TokenMinter {
        TokenMinter::generate().expect("random")
    }

    #[test]
    fn a_minted_token_verifies_into_its_principal() {
        let m = minter();
        let token = m.mint("officer-1", &[Role::CountyOfficer], Some("421221"), None, 60).expect("mint");
        let p = m.authenticator().verify(&token, chrono::Utc::now().timestamp()).expect("valid");
        assert_eq!(p.subject, "officer-1");
        assert!(p.has(Role::CountyOfficer));
        assert_eq!(p.region.map(|r| r.code()), Some("421221"));
    }

    #[test]
    fn tampered_expired_and_foreign_tokens_are_refused() {
        let m = minter();
        let now = chrono::Utc::now().timestamp();
        let token = m.mint("a", &[Role::CityAdmin], Some("421200"), None, 60).expect("mint");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD
            .encode(br#"{"sub":"a","roles":["CITY_ADMIN"],"iat":0,"exp":99999999999,"iss":"qiancheng"}"#);
        parts[1] = &forged;
        assert!(m.authenticator().verify(&parts.join("."), now).is_err());
        assert!(m.authenticator().verify(&token, now + 61).is_err());
        assert!(minter().authenticator().verify(&token, now).is_err());
        assert!(m.authenticator().verify("not.a.token", now).is_err());
    }

    #[test]
    fn scoped_roles_need_their_scope() {
        let m = minter();
        let now = chrono::Utc::now().timestamp();
        let officer = m.mint("o", &[Role::CountyOfficer], None, None, 60).expect("mint");
        assert!(m.authenticator().verify(&officer, now).is_err());
        let city_officer = m.mint("o", &[Role::CountyOfficer], Some("421200"), None, 60).expect("mint");
        assert!(m.authenticator().verify(&city_officer, now).is_err(), "a county officer of the whole city is refused");
        let odd_org = m.mint("e", &[Role::Enterprise], None, Some("not-a-code"), 60).expect("mint");
        assert!(m.authenticator().verify(&odd_org, now).is_err());
        let enterprise = m.mint("e", &[Role::Enterprise], None, None, 60).expect("mint");
        assert!(m.authenticator().verify(&enterprise, now).is_err());
    }

    /// A city administrator's claims issued at `iat`, expiring at `exp`.
    fn city_admin(iat: i64, exp: i64) -> Claims {
        Claims {
            sub: "a".into(),
            roles: vec![Role::CityAdmin],
            region: Some("421200".into()),
            org: None,
            iat,
            exp,
            iss: ISSUER.into(),
        }
    }

    fn signed(m: &TokenMinter, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("json")));
        let signature = m.key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    #[test]
    fn lifetimes_are_bounded_and_issue_times_are_not_in_the_future() {
        let m = minter();
        let now = chrono::Utc::now().timestamp();
        let claims = city_admin;
        let auth = m.authenticator();
        assert!(auth.verify(&signed(&m, &claims(now, now + 3600)), now).is_ok());
        let year_9999 = signed(&m, &claims(now, 253_402_300_799));
        assert!(auth.verify(&year_9999, now).is_err(), "an expiry in year 9999 is refused");
        let ahead = signed(&m, &claims(now + 365 * 86400, now + 365 * 86400 + 60));
        assert!(auth.verify(&ahead, now).is_err(), "an issue time a year ahead is refused");
        let leeway = signed(&m, &claims(now + 30, now + 3600));
        assert!(auth.verify(&leeway, now).is_ok(), "a clock a little ahead is tolerated");
    }

    #[test]
    fn a_scope_is_everything_a_county_or_an_organisation_by_role() {
        let principal = |roles: &[Role], region: Option<&str>, org: Option<&str>| Principal {
            subject: "t".into(),
            roles: roles.to_vec(),
            region: region.map(|r| RegionCode::parse(r).expect("region")),
            org: org.map(str::to_owned),
        };
        let all = [Role::CityAdmin, Role::Auditor];
        let county = RegionCode::parse("421221").expect("county");
        assert_eq!(Scope::of(&principal(&[Role::Auditor], None, None), &all, None), Some(Scope::All));
        assert_eq!(Scope::of(&principal(&[Role::Auditor], None, None), &[Role::CityAdmin], None), None);
        let officer = principal(&[Role::CountyOfficer], Some("421221"), None);
        assert_eq!(Scope::of(&officer, &all, Some(Role::Provider)), Some(Scope::Region(county)));
        let city_officer = principal(&[Role::CountyOfficer], Some("421200"), None);
        assert_eq!(Scope::of(&city_officer, &all, None), Some(Scope::Org(String::new())), "matches nothing");
        assert!(!Scope::Org(String::new()).admits(county, ""), "not even a row of no organisation");
        let provider = principal(&[Role::Provider], None, Some("P1"));
        assert_eq!(Scope::of(&provider, &all, Some(Role::Provider)), Some(Scope::Org("P1".into())));
        assert_eq!(Scope::of(&provider, &all, Some(Role::Enterprise)), None);
        assert_eq!(Scope::of(&provider, &all, None), None);
        for org in [None, Some("")] {
            let nameless = principal(&[Role::Provider], None, org);
            assert_eq!(Scope::of(&nameless, &all, Some(Role::Provider)), None, "{org:?}: acts for no organisation");
        }
    }

    #[test]
    fn a_provider_acts_only_for_the_organisation_its_token_names() {
        let principal = |roles: &[Role], _: Option<&str>, org: Option<&str>| Principal {
            subject: "t".into(),
            roles: roles.to_vec(),
            region: None,
            org: org.map(str::to_owned),
        };
        let provider = principal(&[Role::Provider], None, Some("P1"));
        assert_eq!(provider.own_org(Role::Provider).expect("its own"), "P1");
        assert!(matches!(provider.own_org(Role::Enterprise), Err(Error::PermissionDenied(_))), "not its role");
        for org in [None, Some("")] {
            let nameless = principal(&[Role::Provider], None, org);
            assert!(matches!(nameless.own_org(Role::Provider), Err(Error::PermissionDenied(_))), "{org:?}");
        }
    }

    #[test]
    fn subjects_are_short_and_printable_and_tokens_are_bounded() {
        let m = minter();
        let now = chrono::Utc::now().timestamp();
        let auth = m.authenticator();
        let with_subject = |sub: &str| {
            signed(
                &m,
                &Claims {
                    sub: sub.into(),
                    roles: vec![Role::Auditor],
                    region: None,
                    org: None,
                    iat: now,
                    exp: now + 60,
                    iss: ISSUER.into(),
                },
            )
        };
        assert!(auth.verify(&with_subject(&"审".repeat(MAX_SUBJECT_CHARS)), now).is_ok());
        assert!(auth.verify(&with_subject(&"a".repeat(MAX_SUBJECT_CHARS + 1)), now).is_err());
        assert!(auth.verify(&with_subject("a\u{0}b"), now).is_err(), "a NUL in the subject");
        assert!(auth.verify(&with_subject("a\nb"), now).is_err(), "a line break in the subject");
        assert!(auth.verify(&with_subject(""), now).is_err());
        let long = format!("{}.{}", with_subject("a"), "x".repeat(MAX_TOKEN_BYTES));
        let refused = auth.verify(&long, now).expect_err("an oversized token");
        assert!(refused.to_string().contains("longer than"), "{refused}");
    }

    #[test]
    fn a_service_key_asserts_only_its_own_service() {
        let issuer = minter();
        let selection = minter();
        let auth = issuer.authenticator().with_service_key("selection", selection.key.verifying_key());
        let now = chrono::Utc::now().timestamp();
        let own = ServiceCredentialsToken::mint(&selection, "selection");
        assert!(auth.verify(&own, now).is_ok());
        let admin = selection.mint("x", &[Role::CityAdmin], Some("421200"), None, 60).expect("mint");
        assert!(auth.verify(&admin, now).is_err(), "a service key cannot mint a city administrator");
        let other = ServiceCredentialsToken::mint(&selection, "subsidy");
        assert!(auth.verify(&other, now).is_err(), "nor another service");
        let by_issuer = issuer.mint("x", &[Role::CityAdmin], Some("421200"), None, 60).expect("mint");
        assert!(auth.verify(&by_issuer, now).is_ok());
    }

    #[test]
    fn a_cached_token_is_still_refused_once_expired_or_revoked() {
        let m = minter();
        let auth = m.authenticator();
        let now = chrono::Utc::now().timestamp();
        let token = m.mint("officer-9", &[Role::CityAdmin], Some("421200"), None, 60).expect("mint");
        assert!(auth.verify(&token, now).is_ok(), "verified and cached");
        assert!(auth.verify(&token, now).is_ok(), "answered from the cache");
        assert!(auth.verify(&token, now + 61).is_err(), "expired, though cached");
        auth.revoke("officer-9", now + 1);
        assert!(auth.verify(&token, now).is_err(), "revoked, though cached");
        let later = m.mint("officer-10", &[Role::CityAdmin], Some("421200"), None, 60).expect("mint");
        assert_eq!(auth.load_revocations("# none\nofficer-10 0\n").expect("file"), 1);
        assert!(auth.verify(&later, now).is_ok(), "revoked only before the epoch");
        assert!(auth.verify(&token, now).is_ok(), "a reloaded file replaces the revocations");
    }

    struct ServiceCredentialsToken;

    impl ServiceCredentialsToken {
        fn mint(m: &TokenMinter, service: &str) -> String {
            m.mint(&format!("service:{service}"), &[Role::Service], None, None, 60).expect("mint")
        }
    }

    #[test]
    fn keys_round_trip_through_files_and_base64() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        let first = TokenMinter::load_or_create(&path).expect("create");
        let again = TokenMinter::load_or_create(&path).expect("load");
        assert_eq!(first.public_key_base64(), again.public_key_base64());
        let auth = Authenticator::from_base64_keys(&[first.public_key_base64()]).expect("key");
        let token = again.mint("s", &[Role::Auditor], None, None, 60).expect("mint");
        assert!(auth.verify(&token, chrono::Utc::now().timestamp()).is_ok());
    }

    #[test]
    fn an_issuer_key_cannot_assert_a_service_of_the_suite() {
        // Tried as a new user would: the development key mints `service:demand` with SERVICE.
        let issuer = minter();
        let demand = minter();
        let auth = issuer.authenticator().with_service_key("demand", demand.verifying_key());
        let now = chrono::Utc::now().timestamp();
        let forged = issuer.mint("service:demand", &[Role::Service], None, None, 60).expect("mint");
        let refused = auth.verify(&forged, now).expect_err("the issuer's key speaks for no service");
        assert!(refused.to_string().contains("SERVICE identity comes only from"), "{refused}");
        let mixed = issuer.mint("officer", &[Role::CityAdmin, Role::Service], Some("421200"), None, 60).expect("mint");
        assert!(auth.verify(&mixed, now).is_err(), "nor beside a person's role");
        let posing = issuer.mint("service:demand", &[Role::Auditor], None, None, 60).expect("mint");
        let refused = auth.verify(&posing, now).expect_err("a person posing as a service by name");
        assert!(refused.to_string().contains("belong to the services"), "{refused}");
        let own = demand.mint("service:demand", &[Role::Service], None, None, 60).expect("mint");
        assert_eq!(auth.verify(&own, now).expect("the service's own key").roles, [Role::Service]);
    }

    #[test]
    fn the_leeway_tolerates_an_issuer_clock_ahead_but_never_extends_an_expiry() {
        let m = minter();
        let now = chrono::Utc::now().timestamp();
        let claims = city_admin;
        let ahead = signed(&m, &claims(now + 100, now + 600));
        assert!(m.authenticator().verify(&ahead, now).is_err(), "100 s ahead is past the default 60 s");
        let lenient = m.authenticator().with_leeway(120);
        assert!(lenient.verify(&ahead, now).is_ok(), "and within a leeway of 120 s");
        let strict = m.authenticator().with_leeway(0);
        assert!(strict.verify(&signed(&m, &claims(now + 1, now + 600)), now).is_err(), "no leeway at all");
        let expired = signed(&m, &claims(now - 600, now - 1));
        assert!(lenient.verify(&expired, now).is_err(), "an expiry is not extended by the leeway");
    }

    #[test]
    fn tokens_of_unknown_issuers_and_algorithms_are_refused() {
        let m = minter();
        let now = chrono::Utc::now().timestamp();
        let auth = m.authenticator();
        let foreign = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::EdDSA),
            &serde_json::json!({"sub": "a", "roles": ["AUDITOR"], "iat": now, "exp": now + 60, "iss": "elsewhere"}),
            &m.encoding,
        )
        .expect("sign");
        assert!(auth.verify(&foreign, now).expect_err("another issuer").to_string().contains("issuer"));
        let hmac = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "a", "roles": ["AUDITOR"], "iat": now, "exp": now + 60, "iss": ISSUER}),
            &EncodingKey::from_secret(m.public_key_base64().as_bytes()),
        )
        .expect("sign");
        let refused = auth.verify(&hmac, now).expect_err("a shared-secret token keyed with the public key");
        assert!(refused.to_string().contains("not accepted"), "{refused}");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD
            .encode(format!(r#"{{"sub":"a","roles":["AUDITOR"],"iat":{now},"exp":{},"iss":"qiancheng"}}"#, now + 60));
        assert!(auth.verify(&format!("{header}.{body}."), now).is_err(), "an unsigned token");
        let no_iat = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::EdDSA),
            &serde_json::json!({"sub": "a", "roles": ["AUDITOR"], "exp": now + 60, "iss": ISSUER}),
            &m.encoding,
        )
        .expect("sign");
        assert!(auth.verify(&no_iat, now).is_err(), "a token without an issue time has no bounded lifetime");
    }
}
