//! What a bearer token says, below the checks that decide whom to believe ([`crate::auth`]):
//! the roles, the claims, what a verified signature asserts, the algorithms and issuer the suite
//! accepts, and how the token library's refusals read to a client. [`crate::config`] and
//! [`crate::oidc`] build on it without reaching into the authenticator.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Who may call what (README.md, "Who may do what"; docs/OPERATIONS.md, "Identity and TLS").
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

/// What a token whose signature verified asserts, before the suite's trust rules are applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Asserted {
    /// Who is calling.
    pub subject: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Region code, if any.
    pub region: Option<String>,
    /// Organisation credit code, if any.
    pub org: Option<String>,
    /// `iat`, seconds since the epoch.
    pub issued_at: Option<i64>,
    /// `nbf`, seconds since the epoch.
    pub not_before: Option<i64>,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
}

impl From<Claims> for Asserted {
    fn from(claims: Claims) -> Self {
        Self {
            subject: claims.sub,
            roles: claims.roles,
            region: claims.region,
            org: claims.org,
            issued_at: Some(claims.iat),
            not_before: None,
            expires_at: claims.exp,
        }
    }
}

/// Why a token was not verified.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Refused, with the reason a client is told.
    Refused(Error),
    /// Signed under a key id the identity provider's key set does not hold (yet): worth one
    /// refresh of the key set before refusing.
    UnknownKey,
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Refusal::Refused(error)
    }
}

/// How far in the future an issue time may lie unless configured otherwise (clocks drift).
pub const ISSUED_AT_LEEWAY_SECS: i64 = 60;

/// The issuer written into and required of the suite's own tokens.
pub const ISSUER: &str = "qiancheng";

/// The signature algorithms accepted: EdDSA (the suite's own keys), RS256 and ES256 (identity
/// providers). SM2 is not among them: no maintained Rust JWT library supports it (docs/OPERATIONS.md).
pub const ACCEPTED_ALGORITHMS: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::RS256, Algorithm::ES256];

/// What a client is told when the library refuses a signed token's claims.
pub(crate) fn claims_refused(error: &jsonwebtoken::errors::Error) -> Error {
    use jsonwebtoken::errors::ErrorKind as Kind;
    Error::Unauthenticated(match error.kind() {
        Kind::InvalidIssuer => "token issuer is not trusted".to_owned(),
        Kind::InvalidAudience => "token audience is not one this suite accepts".to_owned(),
        Kind::MissingRequiredClaim(claim) => format!("token has no {claim} claim"),
        Kind::InvalidSignature => "token signature does not verify".to_owned(),
        Kind::InvalidAlgorithm => "token algorithm does not match its key".to_owned(),
        _ => "token claims are not valid".to_owned(),
    })
}

/// A validation for `algorithm` that checks the signature, the issuer and the claims the library
/// knows, and leaves times to [`Authenticator`], which checks them against the clock it is given
/// (so that one rule, with one leeway, holds for every issuer and the cache).
pub(crate) fn validation(algorithm: Algorithm, issuer: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    validation
}
