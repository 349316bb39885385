//! The selection service calling the demand service (二(二) "用什么、学什么"): the catalog is
//! drafted from the training-need summary of a real demand service, a refusal of the demand
//! service reaches the selection client with its own code, and a demand service out of reach is
//! `UNAVAILABLE`. Both services run on real servers on port 0 with the same keys, once on SQLite
//! and once on PostgreSQL (when configured).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::*;
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_testkit::{Backend, Keys, RunningServer, TestService, authed, backend_tests, fixtures, reason};
use tonic::Code;
use tonic::codegen::{Service, http};
use tonic::server::NamedService;
use tonic::transport::Channel;

const COUNTY: &str = "421221";
const OTHER_COUNTY: &str = "421222";

/// A demand service, and a selection service that calls it, signed with the same keys.
struct App {
    demand: TestService,
    selection: TestService,
    backend: Backend,
}

async fn start(backend: Backend) -> Option<App> {
    let demand = TestService::start(&qiancheng_demand::Spec, backend).await?;
    let selection = selection_calling(backend, &demand.keys, demand.server.addr).await?;
    Some(App { demand, selection, backend })
}

/// A selection service whose demand peer is at `addr`, trusting and signing with `keys`.
async fn selection_calling(backend: Backend, keys: &Keys, addr: SocketAddr) -> Option<TestService> {
    let peers = Peers::new([keys.peer("demand", addr)]);
    TestService::start_with(&qiancheng_selection::Spec, backend, keys.clone(), peers).await
}

fn officer(service: &TestService, county: &str) -> String {
    service.keys.token(Role::CountyOfficer, Some(county), None)
}

/// What an officer sends to draft the catalog from the demand of `region_code` (empty: their own).
fn welding_drafts(region_code: &str) -> DraftCatalogFromDemandRequest {
    DraftCatalogFromDemandRequest {
        region_code: region_code.into(),
        content: "焊接安全与实操".into(),
        hours: 120,
        mode: TrainingMode::Offline as i32,
        ..Default::default()
    }
}

async fn draft(
    selection: &TestService,
    request: DraftCatalogFromDemandRequest,
    token: &str,
) -> Result<DraftCatalogFromDemandResponse, tonic::Status> {
    let mut client: SelectionServiceClient<Channel> = SelectionServiceClient::new(selection.channel().await);
    client.draft_catalog_from_demand(authed(request, token)).await.map(tonic::Response::into_inner)
}

async fn the_catalog_is_drafted_from_real_demand(app: &App) {
    // An enterprise files and publishes demand in the demand service.
    let county_officer = officer(&app.selection, COUNTY);
    fixtures::publish_welding_demand(app.demand.channel().await, &county_officer, "91421221MA4K7Y2G3", COUNTY, 12)
        .await;

    let drafts =
        draft(&app.selection, welding_drafts(""), &county_officer).await.expect("drafted from the demand service");
    assert_eq!(drafts.catalog_items.len(), 1);
    let item = &drafts.catalog_items[0];
    assert_eq!((item.region_code.as_str(), item.occupation_code.as_str(), item.headcount), (COUNTY, "6-18-02-04", 12));
    assert_eq!(item.state, CatalogItemState::Draft as i32);
    assert!(item.answers[0].contains("缺口12人"), "{:?}", item.answers);
    let mut client = SelectionServiceClient::new(app.selection.channel().await);
    client
        .publish_catalog_item(authed(
            PublishCatalogItemRequest { name: item.name.clone(), ..Default::default() },
            &county_officer,
        ))
        .await
        .expect("a drafted item with content, hours and mode publishes");
    let incomplete = draft(&app.selection, DraftCatalogFromDemandRequest::default(), &county_officer)
        .await
        .expect_err("drafts state content, hours and mode");
    assert_eq!((incomplete.code(), reason(&incomplete)), (Code::InvalidArgument, "PROJ-CATALOG".to_owned()));
    let again = draft(&app.selection, welding_drafts(""), &county_officer).await.expect("drafted");
    assert!(again.catalog_items.is_empty(), "demand the catalog already answers is not drafted twice");
    let outsider = draft(&app.selection, welding_drafts(COUNTY), &officer(&app.selection, OTHER_COUNTY))
        .await
        .expect_err("another county's demand");
    assert_eq!(outsider.code(), Code::PermissionDenied);

    // A retry with the same request id is answered as the first time.
    let retry = DraftCatalogFromDemandRequest { request_id: "draft-1".into(), ..welding_drafts("") };
    let first = draft(&app.selection, retry.clone(), &county_officer).await.expect("drafted");
    assert_eq!(draft(&app.selection, retry, &county_officer).await.expect("replayed"), first);
}

/// A stand-in for the demand service that refuses every call with one status, as the demand
/// service would refuse a call it may not serve.
#[derive(Debug, Clone)]
struct RefusingDemand {
    code: Code,
    reason: &'static str,
}

impl NamedService for RefusingDemand {
    const NAME: &'static str = "qiancheng.demand.v1.DemandService";
}

impl Service<http::Request<tonic::body::Body>> for RefusingDemand {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
        let refusal = qiancheng_platform::error::status(self.code, self.reason, "qiancheng.demand.v1", "refused");
        std::future::ready(Ok(refusal.into_http()))
    }
}

async fn a_refusal_of_the_demand_service_keeps_its_code(app: &App) {
    let keys = &app.selection.keys;
    for (code, why, seen) in [
        (Code::PermissionDenied, "PERMISSION_DENIED", Code::PermissionDenied),
        (Code::InvalidArgument, "REGION-CODE", Code::InvalidArgument),
        (Code::NotFound, "NOT_FOUND", Code::NotFound),
        (Code::FailedPrecondition, "DEMAND-STATE", Code::FailedPrecondition),
        // A peer refusing our own credentials is our fault, not the caller's.
        (Code::Unauthenticated, "UNAUTHENTICATED", Code::Internal),
    ] {
        let routes = tonic::service::Routes::new(RefusingDemand { code, reason: why });
        let demand =
            RunningServer::start(RefusingDemand::NAME, routes, &keys.settings, keys.authenticator(), None).await;
        let selection = selection_calling(app.backend, keys, demand.addr).await.expect("the backend of the test");
        let refused =
            draft(&selection, welding_drafts(""), &officer(&selection, COUNTY)).await.expect_err("demand refuses");
        assert_eq!(refused.code(), seen, "{code:?}");
        if seen != Code::Internal {
            assert_eq!(reason(&refused), why, "the demand service's reason is kept");
        }
    }
}

async fn an_unreachable_demand_service_is_unavailable(app: &App) {
    // A port that was free a moment ago and that nothing listens on now.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("address");
    let selection = selection_calling(app.backend, &app.selection.keys, addr).await.expect("the backend of the test");
    let refused = draft(&selection, welding_drafts(""), &officer(&selection, COUNTY)).await.expect_err("no demand");
    assert_eq!((refused.code(), reason(&refused)), (Code::Unavailable, "PEER_UNAVAILABLE".to_owned()));
}

backend_tests!(start =>
    the_catalog_is_drafted_from_real_demand,
    a_refusal_of_the_demand_service_keeps_its_code,
    an_unreachable_demand_service_is_unavailable,
);
