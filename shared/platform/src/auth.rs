//! Authentication: bearer tokens (JWT, EdDSA over Ed25519) verified into a [`Principal`] with
//! roles, region and organisation, and the checks handlers make with it.
//!
//! Production verifies against configured public keys (`QIANCHENG_AUTH_PUBLIC_KEYS`, several for
//! rotation). Development makes a key pair once, keeps the private half in the data folder, and
//! `qiancheng token` mints tokens for any role with it.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use qiancheng_domain::{RegionCode, Uscc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tonic::Request;

use crate::error::Error;

/// Who may call what (DESIGN.md, Security).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// City HRSS bureau (市人社局): everything.
    CityAdmin,
    /// County HRSS bureau (县市区人社局): their county only.
    CountyOfficer,
    /// Finance bureau (财政局): payments and recoveries.
    FinanceOfficer,
    /// Training provider (承训机构): its own data.
    Provider,
    /// Enterprise (用人单位): its own demand.
    Enterprise,
    /// Reviewing expert (评审专家): assigned applications.
    Expert,
    /// Auditor or third-party evaluator: reads everything.
    Auditor,
    /// Another department's system (民政, 税务, 市场监管, 社保).
    DataExchange,
    /// Another service of the suite.
    Service,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 9] = [
        Role::CityAdmin,
        Role::CountyOfficer,
        Role::FinanceOfficer,
        Role::Provider,
        Role::Enterprise,
        Role::Expert,
        Role::Auditor,
        Role::DataExchange,
        Role::Service,
    ];

    /// The role's name in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::CityAdmin => "CITY_ADMIN",
            Role::CountyOfficer => "COUNTY_OFFICER",
            Role::FinanceOfficer => "FINANCE_OFFICER",
            Role::Provider => "PROVIDER",
            Role::Enterprise => "ENTERPRISE",
            Role::Expert => "EXPERT",
            Role::Auditor => "AUDITOR",
            Role::DataExchange => "DATA_EXCHANGE",
            Role::Service => "SERVICE",
        }
    }
}

impl Role {
    /// The role a proto `qiancheng.type.v1.Role` names.
    pub fn from_proto(role: qiancheng_api::types::Role) -> Option<Role> {
        use qiancheng_api::types::Role as P;
        Some(match role {
            P::Unspecified => return None,
            P::CityAdmin => Role::CityAdmin,
            P::CountyOfficer => Role::CountyOfficer,
            P::FinanceOfficer => Role::FinanceOfficer,
            P::Provider => Role::Provider,
            P::Enterprise => Role::Enterprise,
            P::Expert => Role::Expert,
            P::Auditor => Role::Auditor,
            P::DataExchange => Role::DataExchange,
            P::Service => Role::Service,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown role {s}; one of {}", Role::ALL.map(Role::as_str).join(", ")))
    }
}

/// The claims of a bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: who is calling.
    pub sub: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// City or county region code, for officers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Organisation's unified social credit code, for providers and enterprises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Issuer.
    pub iss: String,
}

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

    /// Whether the caller holds one of the roles an RPC declares (`allowed_roles`).
    pub fn holds_any_of(&self, declared: &[qiancheng_api::types::Role]) -> bool {
        declared.iter().filter_map(|r| Role::from_proto(*r)).any(|r| self.has(r))
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
    /// or an enterprise) its own organisation; `None` when the caller holds none of these.
    /// County-officer tokens always name a county (the authenticator refuses others), so the
    /// fallback, an organisation scope matching nothing, is for a token never accepted.
    pub fn of(principal: &Principal, everything: &[Role], own: Option<Role>) -> Option<Scope> {
        if principal.has_any(everything) {
            Some(Scope::All)
        } else if principal.has(Role::CountyOfficer) {
            Some(match principal.region {
                Some(region) if !region.is_city() => Scope::Region(region),
                _ => Scope::Org(String::new()),
            })
        } else if own.is_some_and(|role| principal.has(role)) {
            Some(Scope::Org(principal.org.clone().unwrap_or_default()))
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

    /// Whether a row of `region` and organisation `org` is inside the scope.
    pub fn admits(&self, region: RegionCode, org: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Region(own) => own.contains(region),
            Scope::Org(own) => own == org,
        }
    }
}

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct Authenticator {
    /// The token issuer's keys: they may assert any role.
    issuers: Vec<VerifyingKey>,
    /// Each calling service's own key, by service name: it may assert only that service.
    services: Vec<(String, VerifyingKey)>,
    /// The longest lifetime (`exp - iat`) a token may have.
    max_lifetime_secs: i64,
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

/// Most verified tokens kept; past it, expired entries go, then the whole cache if need be.
pub const TOKEN_CACHE_ENTRIES: usize = 50_000;

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuers", &self.issuers.len())
            .field("services", &self.services.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
            .field("max_lifetime_secs", &self.max_lifetime_secs)
            .finish()
    }
}

pub use crate::config::DEFAULT_MAX_TOKEN_LIFETIME_SECS;
/// How far in the future an issue time may lie (clocks drift).
pub const ISSUED_AT_LEEWAY_SECS: i64 = 60;

/// The issuer written into and required of every token.
pub const ISSUER: &str = "qiancheng";

/// The longest token the suite reads; the suite's own are a few hundred bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The most header bytes a call may carry (tokens past [`MAX_TOKEN_BYTES`] still reach the gate).
pub const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// The longest subject a token may name.
pub const MAX_SUBJECT_CHARS: usize = 128;

#[derive(Deserialize)]
struct Header {
    alg: String,
}

impl Authenticator {
    /// Trusts tokens signed by any of the issuer `keys`, for any role.
    pub fn new(keys: Vec<VerifyingKey>) -> Self {
        Self {
            issuers: keys,
            services: Vec::new(),
            max_lifetime_secs: DEFAULT_MAX_TOKEN_LIFETIME_SECS,
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
    /// way.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Principal, Error> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::Unauthenticated(format!("token is longer than {MAX_TOKEN_BYTES} bytes")));
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
            return Err(Error::Unauthenticated("token has been revoked".to_owned()));
        }
        Ok(verified.principal)
    }

    /// Also trusts `key` for calls made as the suite's service `name`, and for nothing else.
    pub fn with_service_key(mut self, name: &str, key: VerifyingKey) -> Self {
        self.services.push((name.to_owned(), key));
        self
    }

    /// Trusts tokens living at most `secs`.
    pub fn with_max_lifetime(mut self, secs: i64) -> Self {
        self.max_lifetime_secs = secs;
        self
    }

    /// Trusts the base64 Ed25519 public keys of the configuration.
    pub fn from_base64_keys(keys: &[String]) -> Result<Self, Error> {
        if keys.is_empty() {
            return Err(Error::Config("QIANCHENG_AUTH_PUBLIC_KEYS is empty: no token could be verified".to_owned()));
        }
        keys.iter().map(|k| decode_public_key(k)).collect::<Result<_, _>>().map(Self::new)
    }

    /// The authenticator the configuration describes: issuer keys, each service's own key
    /// (`QIANCHENG_SERVICE_PUBLIC_KEYS`), and the longest token lifetime.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, Error> {
        let mut auth = Self::from_base64_keys(&settings.auth_public_keys)?
            .with_max_lifetime(settings.auth_max_token_lifetime_secs);
        for (name, key) in &settings.service_public_keys {
            auth = auth.with_service_key(name, decode_public_key(key)?);
        }
        Ok(auth)
    }

    /// Verifies a compact JWT and returns its principal with its issue and expiry times.
    fn verify_uncached(&self, token: &str, now_secs: i64) -> Result<Verified, Error> {
        let unauthenticated = |why: &str| Error::Unauthenticated(why.to_owned());
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(unauthenticated("token is not a compact JWT"));
        };
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| unauthenticated("token header is not valid"))?;
        if header.alg != "EdDSA" {
            return Err(unauthenticated("token algorithm must be EdDSA"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| unauthenticated("token signature is not valid"))?;
        let signed = &token[..token.len() - token.rsplit('.').next().map_or(0, str::len) - 1];
        // An issuer's key may assert anything; a service's own key only that service.
        let signer = if self.issuers.iter().any(|k| k.verify(signed.as_bytes(), &signature).is_ok()) {
            None
        } else if let Some((name, _)) =
            self.services.iter().find(|(_, k)| k.verify(signed.as_bytes(), &signature).is_ok())
        {
            Some(name.as_str())
        } else {
            return Err(unauthenticated("token signature does not verify"));
        };
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| unauthenticated("token claims are not valid"))?;
        if claims.iss != ISSUER {
            return Err(unauthenticated("token issuer is not qiancheng"));
        }
        if claims.exp <= now_secs {
            return Err(unauthenticated("token has expired"));
        }
        if claims.iat > now_secs + ISSUED_AT_LEEWAY_SECS {
            return Err(unauthenticated("token is issued in the future"));
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime_secs {
            return Err(unauthenticated("token lives longer than the suite trusts"));
        }
        if let Some(service) = signer
            && (claims.roles != [Role::Service]
                || claims.sub != format!("service:{service}")
                || claims.region.is_some()
                || claims.org.is_some())
        {
            return Err(unauthenticated("a service's key signs only that service's own calls"));
        }
        if claims.roles.is_empty() {
            return Err(unauthenticated("token holds no role"));
        }
        // The subject goes into audit entries and access lines: a short printable name.
        if claims.sub.is_empty()
            || claims.sub.chars().count() > MAX_SUBJECT_CHARS
            || claims.sub.chars().any(char::is_control)
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
            principal: Principal { subject: claims.sub, roles: claims.roles, region, org },
            issued_at: claims.iat,
            expires_at: claims.exp,
        })
    }
}

/// Mints tokens with a private key (development, tests, and service-to-service calls).
#[derive(Clone)]
pub struct TokenMinter {
    key: SigningKey,
}

impl fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenMinter").field("public_key", &self.public_key_base64()).finish()
    }
}

impl TokenMinter {
    /// A new random key.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        Ok(Self { key: SigningKey::from_bytes(&seed) })
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
        Ok(Self { key: SigningKey::from_bytes(&bytes) })
    }

    /// The public half, base64, as `QIANCHENG_AUTH_PUBLIC_KEYS` takes it.
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    /// An authenticator that trusts this key.
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(vec![self.key.verifying_key()])
    }

    /// Mints a token valid for `ttl_secs`.
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
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let payload = serde_json::to_vec(&claims).map_err(|e| Error::Config(e.to_string()))?;
        let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = self.key.sign(signed.as_bytes());
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes())))
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
        let claims = |iat: i64, exp: i64| Claims {
            sub: "a".into(),
            roles: vec![Role::CityAdmin],
            region: Some("421200".into()),
            org: None,
            iat,
            exp,
            iss: ISSUER.into(),
        };
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
        let provider = principal(&[Role::Provider], None, Some("P1"));
        assert_eq!(Scope::of(&provider, &all, Some(Role::Provider)), Some(Scope::Org("P1".into())));
        assert_eq!(Scope::of(&provider, &all, Some(Role::Enterprise)), None);
        assert_eq!(Scope::of(&provider, &all, None), None);
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
        let token = again.mint("s", &[Role::Service], None, None, 60).expect("mint");
        assert!(auth.verify(&token, chrono::Utc::now().timestamp()).is_ok());
    }
}
