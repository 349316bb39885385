//! `cargo bench -p qiancheng-platform --bench tokens`: what verifying a caller costs the gate,
//! per kind of credential: a token seen for the first time (signature checked by
//! `jsonwebtoken`, claims mapped, trust rules applied) for each accepted algorithm, a token
//! answered from the cache, and a client certificate standing in for a service's token. Printed
//! as a table of microseconds per call; nothing is asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use qiancheng_platform::auth::{Authenticator, Role, TokenMinter};
use qiancheng_platform::oidc::{ClaimMapping, IdentityProvider, JwksSource, ProviderConfig};
use qiancheng_testkit::idp::{IdpKey, jwks, now};
use serde_json::json;

const ISSUER: &str = "https://sso.example.gov.cn/realms/hrss";
const CALLS: usize = 2_000;

fn per_call(elapsed: Duration, calls: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / calls as f64
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = [IdpKey::rs256("rsa", 0), IdpKey::es256("ec"), IdpKey::eddsa("ed")];
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&keys.iter().collect::<Vec<_>>())).expect("write the JWKS");
    let provider = IdentityProvider::connect(ProviderConfig {
        issuer: ISSUER.to_owned(),
        audiences: vec!["qiancheng".to_owned()],
        jwks: JwksSource::File(path),
        refresh_every: Duration::from_secs(3600),
        min_refresh: Duration::from_secs(3600),
        ca_file: None,
        mapping: ClaimMapping::default(),
    })
    .await
    .expect("the provider");
    let suite = TokenMinter::generate().expect("a key");
    let auth = suite.authenticator().with_provider(Arc::new(provider));

    println!("{:<44} {:>12}", "credential", "µs per call");
    let mut rows = Vec::new();
    for key in &keys {
        // Distinct subjects: every token is seen for the first time.
        let tokens: Vec<String> = (0..CALLS)
            .map(|n| {
                key.sign(&json!({
                    "iss": ISSUER, "aud": "qiancheng", "sub": format!("u{n}"), "iat": now(), "exp": now() + 600,
                    "roles": ["AUDITOR"],
                }))
            })
            .collect();
        let started = Instant::now();
        for token in &tokens {
            auth.verify(token, now()).expect("accepted");
        }
        rows.push((format!("provider token, {:?}, first time", key.algorithm), per_call(started.elapsed(), CALLS)));
    }
    let own: Vec<String> =
        (0..CALLS).map(|n| suite.mint(&format!("u{n}"), &[Role::Auditor], None, None, 600).expect("mint")).collect();
    let started = Instant::now();
    for token in &own {
        auth.verify(token, now()).expect("accepted");
    }
    rows.push(("suite token, EdDSA, first time".to_owned(), per_call(started.elapsed(), CALLS)));
    let started = Instant::now();
    for _ in 0..CALLS {
        auth.verify(&own[0], now()).expect("accepted");
    }
    rows.push(("any token, answered from the cache".to_owned(), per_call(started.elapsed(), CALLS)));

    let pair = rcgen::KeyPair::generate().expect("a key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("names");
    params
        .subject_alt_names
        .push(rcgen::SanType::URI("spiffe://qiancheng/service/selection".try_into().expect("an IA5 string")));
    let certificate = params.self_signed(&pair).expect("a certificate").der().to_vec();
    let by_certificate = Authenticator::new(Vec::new()).with_certificate_services(["selection".to_owned()]);
    let started = Instant::now();
    for _ in 0..CALLS {
        by_certificate.certificate_principal(&certificate).expect("the service");
    }
    rows.push(("client certificate of a service".to_owned(), per_call(started.elapsed(), CALLS)));

    for (what, micros) in rows {
        println!("{what:<44} {micros:>12.1}");
    }
}
