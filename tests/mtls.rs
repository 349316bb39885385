//! Two services of the suite over mutual TLS, as a government network runs them: demand serves
//! TLS only and asks every client for a certificate of the suite's CA; selection serves TLS too
//! and calls demand over TLS with its own certificate, which demand lets stand in for
//! selection's service token. A client without a certificate, or with one of another CA, is
//! refused in the handshake; a certificate renewed on disk is used without a restart. Both
//! services run on real servers on port 0, once on SQLite and once on PostgreSQL (when
//! configured).

use std::sync::Arc;
use std::time::Duration;

use qiancheng_api::demand::SummarizeTrainingNeedsRequest;
use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_platform::auth::Role;
use qiancheng_platform::client::ServiceCredentials;
use qiancheng_platform::config::{Settings, TlsClientAuth};
use qiancheng_platform::service::{Peer, Peers};
use qiancheng_platform::tls::ClientTls;
use qiancheng_testkit::pki::{Issued, TestCa, TlsFiles};
use qiancheng_testkit::{Backend, Keys, TestService, authed, backend_tests, fixtures, reason};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

const COUNTY: &str = "421221";

/// Demand and selection over mutual TLS, with the files and CA they were started with.
struct App {
    _dir: tempfile::TempDir,
    ca: TestCa,
    demand: TestService,
    demand_files: TlsFiles,
    selection: TestService,
    selection_files: TlsFiles,
    /// Selection's TLS towards its peers, as its peer channel uses it.
    selection_tls: Arc<ClientTls>,
    /// A certificate of the suite's CA that names no service (a gateway's, say).
    gateway: Issued,
}

async fn start(backend: Backend) -> Option<App> {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("qiancheng test CA");
    let demand_files = TlsFiles::write(dir.path(), "demand", &ca.issue(Some("demand"), "demand.internal"), &ca);
    let selection_files =
        TlsFiles::write(dir.path(), "selection", &ca.issue(Some("selection"), "selection.internal"), &ca);
    let gateway = ca.issue(None, "gateway.internal");

    // Demand: mutual TLS required; selection's certificate stands in for its token.
    let mut keys = Keys::new();
    keys.settings = demand_files.settings(Settings::default(), TlsClientAuth::Required, &["selection"]);
    let demand = TestService::start_with(&qiancheng_demand::Spec, backend, keys.clone(), Peers::default()).await?;

    // Selection: TLS, certificates optional for its own clients (people come with tokens), and
    // calls to demand over TLS with its certificate alone: it has no signing key.
    keys.settings = selection_files.settings(Settings::default(), TlsClientAuth::Optional, &[]);
    let selection_tls = ClientTls::from_settings(&keys.settings).expect("selection's TLS files");
    let peer = Peer::connect(
        "demand",
        &format!("https://127.0.0.1:{}", demand.server.addr.port()),
        ServiceCredentials::certificate_only("selection", selection_tls.clone()),
        keys.settings.peer_timeout(),
    )
    .expect("an https peer");
    let selection = TestService::start_with(&qiancheng_selection::Spec, backend, keys, Peers::new([peer])).await?;
    Some(App { _dir: dir, ca, demand, demand_files, selection, selection_files, selection_tls, gateway })
}

/// A channel to `server` over TLS trusting `ca`, presenting `identity` when given; an error when
/// the connection or its handshake fails.
async fn tls_channel(port: u16, ca: &TestCa, identity: Option<&Issued>) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem())).domain_name("localhost");
    if let Some(issued) = identity {
        tls = tls.identity(Identity::from_pem(&issued.cert_pem, &issued.key_pem));
    }
    Endpoint::from_shared(format!("https://localhost:{port}"))?
        .tls_config(tls)?
        .timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// Asks demand for its training-need summary with `token` (none: the certificate alone) over a
/// connection presenting `identity` and trusting `ca`.
async fn summary(app: &App, ca: &TestCa, identity: Option<&Issued>, token: Option<&str>) -> Result<(), tonic::Status> {
    let channel = tls_channel(app.demand.server.addr.port(), ca, identity)
        .await
        .map_err(|e| tonic::Status::unavailable(format!("no connection: {e}")))?;
    let request = match token {
        Some(token) => authed(SummarizeTrainingNeedsRequest::default(), token),
        None => tonic::Request::new(SummarizeTrainingNeedsRequest::default()),
    };
    DemandServiceClient::new(channel).summarize_training_needs(request).await.map(drop)
}

async fn two_services_talk_over_mutual_tls_with_the_certificate_standing_in_for_the_token(app: &App) {
    let officer = app.demand.keys.token(Role::CountyOfficer, Some(COUNTY), None);
    let to_demand = tls_channel(app.demand.server.addr.port(), &app.ca, Some(&app.gateway)).await.expect("mTLS");
    fixtures::publish_welding_demand(to_demand, &officer, "91421221MA4K7Y2G3", COUNTY, 12).await;

    // A person reaches selection over TLS without a certificate; selection reaches demand with
    // its certificate alone.
    let to_selection =
        tls_channel(app.selection.server.addr.port(), &app.ca, None).await.expect("TLS, no certificate needed");
    let drafts = SelectionServiceClient::new(to_selection)
        .draft_catalog_from_demand(authed(qiancheng_testkit::selection::welding_draft(), &officer))
        .await
        .expect("selection reads demand's summary over mutual TLS")
        .into_inner();
    assert_eq!(drafts.catalog_items.iter().map(|i| i.headcount).collect::<Vec<_>>(), [12]);

    // Only a service's certificate, and only one demand lists, stands in for a token.
    let selection = app.ca.issue(Some("selection"), "selection.internal");
    summary(app, &app.ca, Some(&selection), None).await.expect("selection's certificate is its SERVICE identity");
    for (what, issued) in
        [("a gateway's", app.gateway.clone()), ("another service's", app.ca.issue(Some("supervision"), "sv.internal"))]
    {
        let refused = summary(app, &app.ca, Some(&issued), None).await.expect_err(what);
        assert_eq!((refused.code(), reason(&refused).as_str()), (Code::Unauthenticated, "UNAUTHENTICATED"), "{what}");
    }
    // A token still decides when one is sent, certificate or not.
    let auditor = app.demand.keys.token(Role::Auditor, None, None);
    summary(app, &app.ca, Some(&app.gateway), Some(&auditor)).await.expect("a person's token over mTLS");
    let enterprise = app.demand.keys.token(Role::Enterprise, None, Some(&fixtures::uscc("91421221MA4K7Y2G3")));
    let refused = summary(app, &app.ca, Some(&selection), Some(&enterprise)).await.expect_err("the token's role");
    assert_eq!(refused.code(), Code::PermissionDenied);
}

async fn a_client_without_a_certificate_or_with_one_of_another_ca_is_refused(app: &App) {
    let auditor = app.demand.keys.token(Role::Auditor, None, None);
    let elsewhere = TestCa::new("another CA");
    let foreign = elsewhere.issue(Some("selection"), "selection.internal");
    for (what, identity, alert) in
        [("no certificate", None, "CertificateRequired"), ("a certificate of another CA", Some(&foreign), "UnknownCA")]
    {
        let refused = summary(app, &app.ca, identity, Some(&auditor)).await.expect_err(what);
        // Refused in the handshake (under TLS 1.3 the client learns it at its first call, from
        // the server's alert): the call never reached the gate, so no reason of the suite.
        assert!(matches!(refused.code(), Code::Unavailable | Code::Unknown), "{what}: {refused:?}");
        assert_eq!(reason(&refused), "", "{what}: refused by TLS, not by the gate");
        assert!(format!("{refused:?}").contains(alert), "{what}: the server's alert is {alert}: {refused:?}");
    }
    let plaintext = Endpoint::from_shared(format!("http://{}", app.demand.server.addr)).expect("uri").connect().await;
    if let Ok(channel) = plaintext {
        let refused = DemandServiceClient::new(channel)
            .summarize_training_needs(authed(SummarizeTrainingNeedsRequest::default(), &auditor))
            .await
            .expect_err("plaintext to a TLS port");
        assert_eq!(reason(&refused), "");
    }
    // The server refuses a client that does not trust it either way round: a client trusting
    // another CA refuses demand's certificate.
    assert!(tls_channel(app.demand.server.addr.port(), &elsewhere, Some(&app.gateway)).await.is_err());
}

/// The leaf certificate demand presents to a new connection.
async fn served_certificate(app: &App) -> Vec<u8> {
    use tokio_rustls::rustls::pki_types::ServerName;
    let tls = ClientTls::from_settings(&app.selection.keys.settings).expect("selection's TLS files");
    let tcp = tokio::net::TcpStream::connect(app.demand.server.addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("a name");
    let stream = tokio_rustls::TlsConnector::from(tls.config().await).connect(name, tcp).await.expect("handshake");
    stream.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec()
}

fn der_of(pem: &str) -> Vec<u8> {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate").to_vec()
}

async fn renewed_certificates_are_used_without_a_restart(app: &App) {
    let first = served_certificate(app).await;
    assert_eq!(first, der_of(&std::fs::read_to_string(&app.demand_files.cert).expect("read")));

    // Demand's certificate is renewed on disk: new connections get the new one.
    let renewed = app.ca.issue(Some("demand"), "demand-renewed.internal");
    app.demand_files.replace(&renewed);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while served_certificate(app).await != der_of(&renewed.cert_pem) {
        assert!(std::time::Instant::now() < deadline, "the renewed certificate is served without a restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Selection's certificate changes on disk: its next connection presents the new one (here
    // one naming supervision, which demand does not let stand in for a token).
    let url = format!("https://127.0.0.1:{}", app.demand.server.addr.port());
    let ask = || async {
        let channel = qiancheng_platform::client::connect(&url, Duration::from_secs(5), Some(&app.selection_tls))
            .expect("a channel");
        DemandServiceClient::new(channel).summarize_training_needs(SummarizeTrainingNeedsRequest::default()).await
    };
    ask().await.expect("selection's certificate stands in for its token");
    app.selection_files.replace(&app.ca.issue(Some("supervision"), "moved.internal"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match ask().await {
            Ok(_) => {
                assert!(std::time::Instant::now() < deadline, "the new client certificate is presented");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(refused) => {
                assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
                assert!(refused.message().contains("supervision"), "{refused:?}");
                break;
            }
        }
    }
}

backend_tests!(start =>
    two_services_talk_over_mutual_tls_with_the_certificate_standing_in_for_the_token,
    a_client_without_a_certificate_or_with_one_of_another_ca_is_refused,
    renewed_certificates_are_used_without_a_restart,
);
