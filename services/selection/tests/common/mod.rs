//! What the selection service's test files share: the service on a real server over a fresh
//! database, its client, tokens for each role, and what a client reads off a refusal.

// Each test file uses some of these helpers, never all of them.
#![allow(dead_code)]

use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_testkit::{Backend, Keys, TestService};
pub use qiancheng_testkit::{bad_fields, reason};
use tonic::transport::Channel;

/// A county of 咸宁 (嘉鱼县).
pub const COUNTY: &str = "421221";
/// Another county (通城县).
pub const OTHER_COUNTY: &str = "421222";
/// The city (咸宁市).
pub const CITY: &str = "421200";

/// The selection service on a real server, with no peers.
#[derive(Debug)]
pub struct App(pub TestService);

impl std::ops::Deref for App {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.0
    }
}

/// Starts the selection service on `backend`, deciding under policy set v2 (the set for new
/// decisions); `None` when the backend is not configured.
pub async fn start(backend: Backend) -> Option<App> {
    start_under(backend, PolicySet::xianning_2025_5_v2()).await
}

/// Starts the selection service on `backend`, deciding under `policy`.
pub async fn start_under(backend: Backend, policy: PolicySet) -> Option<App> {
    let keys = Keys { policy, ..Keys::new() };
    TestService::start_with(&qiancheng_selection::Spec, backend, keys, Peers::default()).await.map(App)
}

impl App {
    /// A client of the service.
    pub async fn client(&self) -> SelectionServiceClient<Channel> {
        SelectionServiceClient::new(self.channel().await)
    }
    /// A city administrator's token.
    pub fn admin(&self) -> String {
        self.keys.token(Role::CityAdmin, Some(CITY), None)
    }
    /// A token of an officer of `county`.
    pub fn officer(&self, county: &str) -> String {
        self.keys.token(Role::CountyOfficer, Some(county), None)
    }
    /// A token of the provider with `credit_code`.
    pub fn provider(&self, credit_code: &str) -> String {
        self.keys.token(Role::Provider, None, Some(credit_code))
    }
    /// A token of the expert `subject`, of organisation `org` if any.
    pub fn expert(&self, subject: &str, org: Option<&str>) -> String {
        self.keys.minter.mint(subject, &[Role::Expert], None, org, 3600).expect("mint an expert token")
    }
    /// An auditor's token.
    pub fn auditor(&self) -> String {
        self.keys.token(Role::Auditor, None, None)
    }
}

/// An update mask naming `paths`.
pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}
