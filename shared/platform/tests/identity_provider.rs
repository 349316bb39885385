//! The people's identity provider as a province's would be: keys published as a JWKS (a file or
//! a URL), rotated; tokens with its own claim names mapped by configuration; and the trust rules
//! of the suite holding for it as for the suite's own issuer.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use qiancheng_platform::auth::{Authenticator, Role, TokenMinter};
use qiancheng_platform::config::Settings;
use qiancheng_platform::oidc::{ClaimMapping, IdentityProvider, JwksSource, ProviderConfig};
use qiancheng_testkit::fixtures;
use qiancheng_testkit::idp::{IdpKey, JwksServer, Route, jwks, now};
use serde_json::{Value, json};

const ISSUER: &str = "https://sso.hubei.gov.cn/realms/hrss";
const AUDIENCE: &str = "qiancheng";

fn config(jwks: JwksSource, mapping: ClaimMapping) -> ProviderConfig {
    ProviderConfig {
        issuer: ISSUER.to_owned(),
        audiences: vec![AUDIENCE.to_owned(), "qiancheng-admin".to_owned()],
        jwks,
        refresh_every: Duration::from_secs(300),
        min_refresh: Duration::ZERO,
        ca_file: None,
        mapping,
    }
}

/// An authenticator trusting the provider of `config` (and a suite key no test token uses).
async fn trusting(config: ProviderConfig) -> Authenticator {
    let provider = IdentityProvider::connect(config).await.expect("the provider's keys are read");
    TokenMinter::generate().expect("a key").authenticator().with_provider(Arc::new(provider))
}

/// A JWKS file of `keys` in `dir`.
fn jwks_file(dir: &Path, keys: &[&IdpKey]) -> JwksSource {
    let path = dir.join("jwks.json");
    std::fs::write(&path, jwks(keys)).expect("write the JWKS");
    JwksSource::File(path)
}

/// A county officer's claims as the provider issues them, with `extra` merged in.
fn officer(extra: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f3a9c2e1-officer",
        "iat": now(),
        "exp": now() + 300,
        "roles": ["COUNTY_OFFICER"],
        "region": "421221",
    });
    if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        claims.extend(extra);
    }
    claims
}

fn refusal(auth: &Authenticator, token: &str) -> String {
    auth.verify(token, now()).expect_err("the token is refused").to_string()
}

#[tokio::test]
async fn tokens_signed_rs256_es256_and_eddsa_by_keys_of_the_jwks_are_accepted_and_mapped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rsa, ec, ed) = (IdpKey::rs256("rsa-1", 0), IdpKey::es256("ec-1"), IdpKey::eddsa("ed-1"));
    let auth = trusting(config(jwks_file(dir.path(), &[&rsa, &ec, &ed]), ClaimMapping::default())).await;
    for key in [&rsa, &ec, &ed] {
        let principal = auth.verify(&key.sign(&officer(json!({}))), now()).expect("accepted");
        assert_eq!(principal.subject, "f3a9c2e1-officer", "{key:?}");
        assert_eq!(principal.roles, [Role::CountyOfficer], "{key:?}");
        assert_eq!(principal.region.map(|r| r.code()), Some("421221"), "{key:?}");
    }
    let unnamed = rsa.sign_without_kid(&officer(json!({"sub": "another"})));
    assert!(
        auth.verify(&unnamed, now()).is_ok(),
        "a token naming no key id is tried against the keys of its algorithm"
    );
}

#[tokio::test]
async fn a_token_of_another_issuer_or_for_another_audience_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = IdpKey::rs256("rsa-1", 0);
    let auth = trusting(config(jwks_file(dir.path(), &[&key]), ClaimMapping::default())).await;
    assert!(refusal(&auth, &key.sign(&officer(json!({"iss": "https://sso.example.com"})))).contains("issuer"));
    assert!(refusal(&auth, &key.sign(&officer(json!({"aud": "another-app"})))).contains("audience"));
    let mut without = officer(json!({}));
    without.as_object_mut().expect("object").remove("aud");
    assert!(refusal(&auth, &key.sign(&without)).contains("aud"), "a token naming no audience");
    let admin_app = officer(json!({"aud": ["portal", "qiancheng-admin"]}));
    assert!(auth.verify(&key.sign(&admin_app), now()).is_ok(), "one of several audiences is enough");
    // The suite's own issuer is not the provider's: its name with the provider's key is refused.
    assert!(refusal(&auth, &key.sign(&officer(json!({"iss": "qiancheng"})))).contains("EdDSA"));
}

#[tokio::test]
async fn expired_tokens_are_refused_and_the_leeway_covers_only_a_clock_running_ahead() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = IdpKey::es256("ec-1");
    let auth = trusting(config(jwks_file(dir.path(), &[&key]), ClaimMapping::default())).await;
    let at = |iat: i64, exp: i64| key.sign(&officer(json!({"iat": iat, "exp": exp})));
    assert!(refusal(&auth, &at(now() - 600, now() - 1)).contains("expired"));
    assert!(auth.verify(&at(now() + 30, now() + 300), now()).is_ok(), "30 s ahead: within the default 60 s");
    assert!(refusal(&auth, &at(now() + 120, now() + 300)).contains("future"));
    let not_yet = key.sign(&officer(json!({"nbf": now() + 120})));
    assert!(refusal(&auth, &not_yet).contains("not valid yet"));
    let lenient = auth.clone().with_leeway(180);
    assert!(lenient.verify(&at(now() + 120, now() + 300), now()).is_ok(), "within a leeway of 180 s");
    assert!(lenient.verify(&not_yet, now()).is_ok());
    assert!(lenient.verify(&at(now() - 600, now() - 1), now()).is_err(), "an expiry is never extended");
    let too_long = at(now(), now() + 40 * 3600);
    assert!(refusal(&auth, &too_long).contains("longer"), "the suite's longest lifetime holds for the provider too");
    let mut no_iat = officer(json!({}));
    no_iat.as_object_mut().expect("object").remove("iat");
    assert!(refusal(&auth, &key.sign(&no_iat)).contains("iat"));
}

#[tokio::test]
async fn forged_signatures_and_keys_of_another_algorithm_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (published, ec) = (IdpKey::rs256("rsa-1", 0), IdpKey::es256("ec-1"));
    let auth = trusting(config(jwks_file(dir.path(), &[&published, &ec]), ClaimMapping::default())).await;
    // The other test key signs under the published key's id.
    let impostor = IdpKey::rs256("rsa-1", 1);
    assert!(refusal(&auth, &impostor.sign(&officer(json!({})))).contains("signature does not verify"));
    let wrong_algorithm = IdpKey::es256("rsa-1");
    assert!(refusal(&auth, &wrong_algorithm.sign(&officer(json!({})))).contains("algorithm"));
    let token = published.sign(&officer(json!({})));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let raised = published.sign(&officer(json!({"roles": ["CITY_ADMIN"], "region": "421200"})));
    parts[1] = raised.split('.').nth(1).expect("payload").to_owned();
    assert!(refusal(&auth, &parts.join(".")).contains("signature"), "claims swapped under a signature");
}

#[tokio::test]
async fn an_unknown_key_id_reads_the_jwks_again_and_a_withdrawn_key_is_refused_though_cached() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, new) = (IdpKey::rs256("2024-rsa", 0), IdpKey::rs256("2025-rsa", 1));
    let source = jwks_file(dir.path(), &[&old]);
    let mut config = config(source.clone(), ClaimMapping::default());
    config.refresh_every = Duration::from_secs(1);
    let auth = trusting(config).await;
    let before = old.sign(&officer(json!({})));
    assert!(auth.verify(&before, now()).is_ok(), "verified and cached");
    let rotated_in = new.sign(&officer(json!({"sub": "after-rotation"})));
    assert!(refusal(&auth, &rotated_in).contains("key id"), "not published yet");

    // The provider publishes its new key: the next token naming it reads the JWKS again.
    jwks_file(dir.path(), &[&old, &new]);
    let principal = auth.verify_refreshing(&rotated_in, now()).await.expect("the rotated key is trusted");
    assert_eq!(principal.subject, "after-rotation");

    // The provider withdraws its old key: the scheduled reading drops it, and the cache with it.
    jwks_file(dir.path(), &[&new]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while auth.verify(&before, now()).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the withdrawn key is dropped on schedule");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(auth.verify(&rotated_in, now()).is_ok());
}

#[tokio::test]
async fn unknown_key_ids_do_not_read_the_jwks_more_often_than_allowed() {
    let server = JwksServer::start().await;
    let key = IdpKey::eddsa("ed-1");
    server.set("/jwks", Route::Body(jwks(&[&key])));
    let mut config = config(JwksSource::parse(&server.url("/jwks")).expect("url"), ClaimMapping::default());
    config.min_refresh = Duration::from_secs(3600);
    let auth = trusting(config).await;
    assert_eq!(server.hits("/jwks"), 1, "read once at start");
    for n in 0..5 {
        let made_up = IdpKey::eddsa(&format!("made-up-{n}")).sign(&officer(json!({})));
        assert!(auth.verify_refreshing(&made_up, now()).await.is_err());
    }
    assert_eq!(server.hits("/jwks"), 1, "made-up key ids within the least interval read nothing");
    assert!(auth.verify_refreshing(&key.sign(&officer(json!({}))), now()).await.is_ok());
}

#[tokio::test]
async fn the_claims_of_a_keycloak_token_map_through_the_configured_mapping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = IdpKey::rs256("kc-rsa", 0);
    let mapping = ClaimMapping {
        subject: "preferred_username".to_owned(),
        roles: "realm_access.roles".to_owned(),
        region: "region_code".to_owned(),
        role_values: BTreeMap::from([
            ("hrss-county-officer".to_owned(), Role::CountyOfficer),
            ("hrss-auditor".to_owned(), Role::Auditor),
        ]),
        ..ClaimMapping::default()
    };
    let auth = trusting(config(jwks_file(dir.path(), &[&key]), mapping)).await;
    let token = key.sign(&json!({
        "iss": ISSUER, "aud": ["account", AUDIENCE], "iat": now(), "exp": now() + 300,
        "sub": "0c1d2e3f", "preferred_username": "jiayu.wang",
        "realm_access": {"roles": ["offline_access", "uma_authorization", "hrss-county-officer", "COUNTY_OFFICER"]},
        "region_code": "421221",
        "roles": ["CITY_ADMIN"],
    }));
    let principal = auth.verify(&token, now()).expect("a Keycloak token");
    assert_eq!(principal.subject, "jiayu.wang");
    assert_eq!(principal.roles, [Role::CountyOfficer], "only mapped values count; the plain `roles` claim is not read");
    assert_eq!(principal.region.map(|r| r.code()), Some("421221"));
    let unmapped = key.sign(&json!({
        "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 300, "preferred_username": "guest",
        "realm_access": {"roles": ["offline_access"]},
    }));
    assert!(refusal(&auth, &unmapped).contains("no role"));
}

#[tokio::test]
async fn a_government_token_with_its_own_claim_names_maps_without_code() {
    // 政务统一身份认证: numeric user ids, role codes in one string, a 12-digit division code and
    // the organisation's unified social credit code under names of its own.
    let dir = tempfile::tempdir().expect("tempdir");
    let key = IdpKey::rs256("zwfw-2025", 0);
    let settings = Settings {
        oidc_subject_claim: "userInfo.userId".to_owned(),
        oidc_roles_claim: "roleCodes".to_owned(),
        oidc_region_claim: "userInfo.xzqhdm".to_owned(),
        oidc_org_claim: "userInfo.tyshxydm".to_owned(),
        oidc_role_map: BTreeMap::from([
            ("PXJG".to_owned(), Role::Provider),
            ("RSJ_SH".to_owned(), Role::CountyOfficer),
        ]),
        ..Settings::default()
    };
    let auth = trusting(config(jwks_file(dir.path(), &[&key]), ClaimMapping::from_settings(&settings))).await;
    let credit_code = fixtures::uscc("52421221MJ0000001");
    let token = key.sign(&json!({
        "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 300,
        "roleCodes": "PXJG,GR",
        "userInfo": {"userId": 100_234_877, "xzqhdm": "421221000000", "tyshxydm": credit_code},
    }));
    let principal = auth.verify(&token, now()).expect("a government token");
    assert_eq!(principal.subject, "100234877");
    assert_eq!(principal.roles, [Role::Provider]);
    assert_eq!(principal.org.as_deref(), Some(credit_code.as_str()));
    assert_eq!(principal.region.map(|r| r.code()), Some("421221"), "the 12-digit code names the county");
    let officer = key.sign(&json!({
        "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 300,
        "roleCodes": "RSJ_SH", "userInfo": {"userId": "u7", "xzqhdm": "421200000000"},
    }));
    assert!(refusal(&auth, &officer).contains("county"), "a county officer of the whole city is refused as ever");
}

#[tokio::test]
async fn the_identity_provider_cannot_assert_a_service_of_the_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = IdpKey::rs256("rsa-1", 0);
    let auth = trusting(config(jwks_file(dir.path(), &[&key]), ClaimMapping::default())).await;
    let service = key.sign(&officer(json!({"sub": "service:outcome", "roles": ["SERVICE"], "region": null})));
    assert!(refusal(&auth, &service).contains("SERVICE identity comes only from"));
    let beside = key.sign(&officer(json!({"roles": ["AUDITOR", "SERVICE"], "region": null})));
    assert!(refusal(&auth, &beside).contains("SERVICE"), "nor beside a person's role");
    let by_name = key.sign(&officer(json!({"sub": "service:outcome", "roles": ["AUDITOR"], "region": null})));
    assert!(refusal(&auth, &by_name).contains("belong to the services"), "nor by a service's name");
    let env: BTreeMap<String, String> =
        [("QIANCHENG_OIDC_ROLE_MAP".to_owned(), "svc-account=SERVICE".to_owned())].into_iter().collect();
    let refused = Settings::load_from(&env).expect_err("a role map onto SERVICE");
    assert!(refused.to_string().contains("SERVICE"), "{refused}");
}

#[tokio::test]
async fn the_jwks_is_fetched_over_http_following_redirects_on_the_same_host_only() {
    let (server, elsewhere) = (JwksServer::start().await, JwksServer::start().await);
    let key = IdpKey::es256("ec-1");
    server.set("/realms/hrss/certs", Route::Body(jwks(&[&key])));
    server.set("/moved", Route::Redirect("/realms/hrss/certs".to_owned()));
    server.set("/away", Route::Redirect(elsewhere.url("/realms/hrss/certs")));
    server.set("/broken", Route::Status(500));
    server.set("/loop", Route::Redirect("/loop".to_owned()));
    elsewhere.set("/realms/hrss/certs", Route::Body(jwks(&[&IdpKey::es256("planted")])));
    let connect = |path: &str| {
        IdentityProvider::connect(config(JwksSource::parse(&server.url(path)).expect("url"), ClaimMapping::default()))
    };
    let provider = connect("/moved").await.expect("a redirect on the same host is followed");
    let auth = TokenMinter::generate().expect("key").authenticator().with_provider(Arc::new(provider));
    assert!(auth.verify(&key.sign(&officer(json!({}))), now()).is_ok());
    let refused = connect("/away").await.expect_err("a redirect to another host");
    assert!(refused.to_string().contains("only redirects on"), "{refused}");
    assert_eq!(elsewhere.hits("/realms/hrss/certs"), 0, "the other host is never asked");
    assert!(connect("/broken").await.expect_err("HTTP 500").to_string().contains("500"));
    assert!(connect("/loop").await.expect_err("a redirect loop").to_string().contains("redirects more than"));
    assert!(connect("/missing").await.expect_err("HTTP 404").to_string().contains("404"));
}

#[tokio::test]
async fn keys_the_suite_cannot_use_are_skipped_and_a_jwks_of_none_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let usable = IdpKey::eddsa("ed-1");
    let mut weak = IdpKey::rs256("rsa-short", 0).jwk();
    // A 1024-bit modulus: too short to trust.
    weak["n"] = json!(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [0xc5u8; 128]));
    let sm2 = json!({"kty": "EC", "crv": "SM2", "kid": "sm2-1", "x": "AQ", "y": "AQ"});
    let encryption = {
        let mut key = IdpKey::rs256("rsa-enc", 1).jwk();
        key["use"] = json!("enc");
        key
    };
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, json!({"keys": [weak, sm2, encryption, usable.jwk()]}).to_string()).expect("write");
    let auth = trusting(config(JwksSource::File(path.clone()), ClaimMapping::default())).await;
    assert!(auth.verify(&usable.sign(&officer(json!({}))), now()).is_ok(), "the usable key is kept");
    std::fs::write(&path, json!({"keys": [sm2]}).to_string()).expect("write");
    let refused = IdentityProvider::connect(config(JwksSource::File(path.clone()), ClaimMapping::default()))
        .await
        .expect_err("no usable key");
    assert!(refused.to_string().contains("no usable signing key"), "{refused}");
    std::fs::write(&path, "not json").expect("write");
    assert!(IdentityProvider::connect(config(JwksSource::File(path), ClaimMapping::default())).await.is_err());
}

#[tokio::test]
async fn the_configured_provider_reads_its_settings_and_trusts_no_suite_key_unless_given() {
    let server = JwksServer::start().await;
    let key = IdpKey::rs256("rsa-1", 0);
    server.set("/jwks", Route::Body(jwks(&[&key])));
    let env: BTreeMap<String, String> = [
        ("QIANCHENG_OIDC_ISSUER", ISSUER.to_owned()),
        ("QIANCHENG_OIDC_AUDIENCE", format!("portal, {AUDIENCE}")),
        ("QIANCHENG_OIDC_JWKS", server.url("/jwks")),
        ("QIANCHENG_OIDC_ROLES_CLAIM", "groups".to_owned()),
        ("QIANCHENG_OIDC_ROLE_MAP", "auditors=AUDITOR".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = Settings::load_from(&env).expect("valid settings");
    let auth = Authenticator::configured(&settings).await.expect("no suite key is needed beside a provider");
    let token = key.sign(
        &json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "a1", "iat": now(), "exp": now() + 60, "groups": ["auditors"]}),
    );
    assert_eq!(auth.verify(&token, now()).expect("mapped").roles, [Role::Auditor]);
    let suite = TokenMinter::generate().expect("key").mint("x", &[Role::Auditor], None, None, 60).expect("mint");
    assert!(auth.verify(&suite, now()).is_err(), "no suite key is trusted");
    let mut missing = env.clone();
    missing.remove("QIANCHENG_OIDC_AUDIENCE");
    let refused = Settings::load_from(&missing).expect_err("an issuer without an audience");
    assert!(refused.to_string().contains("QIANCHENG_OIDC_AUDIENCE"), "{refused}");
}
