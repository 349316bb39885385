//! What the subsidy service's test files share: the service on a real server over a fresh
//! database, with the real selection service as its peer (the same keys, its own database) and
//! an approved project seeded through selection's own API; a clock the tests move; clients,
//! tokens for each role, and what a client reads off a refusal.

// Each test file uses some of these helpers, never all of them.
#![allow(dead_code)]

pub mod story;

use chrono::NaiveDate;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{self as sel};
use qiancheng_api::subsidy::subsidy_service_client::SubsidyServiceClient;
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::types::Date;
use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_subsidy::peer::RecordedOutcomes;
use qiancheng_subsidy::{Clock, Ports, SpecWith};
use qiancheng_testkit::selection::{ProjectToApprove, approve_project};
#[allow(unused_imports)]
pub use qiancheng_testkit::{Backend, Keys, TestService, authed, bad_fields, reason};
use tonic::transport::Channel;

#[allow(unused_imports)]
pub use story::*;

/// The county the project trains in (嘉鱼县).
pub const COUNTY: &str = "421221";
/// Another county (通城县).
pub const OTHER_COUNTY: &str = "421222";
/// The city.
pub const CITY: &str = "421200";
/// The welder's occupation code of the approved project.
pub const WELDER: &str = "6-18-02-04";

/// A civil date.
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// A proto date.
pub fn date(y: i32, m: u32, d: u32) -> Date {
    Date { year: y, month: i32::try_from(m).expect("month"), day: i32::try_from(d).expect("day") }
}

/// Subsidy, selection, the clock, and one approved project of the county.
#[derive(Debug)]
pub struct App {
    /// The subsidy service.
    pub subsidy: TestService,
    /// The selection service, its peer.
    pub selection: TestService,
    /// Subsidy's clock.
    pub clock: Clock,
    /// The provider of the project.
    pub provider: String,
    /// The approved project, `projects/{id}`.
    pub project: String,
}

impl std::ops::Deref for App {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.subsidy
    }
}

/// Selection, supervision and subsidy, the clocks of supervision and subsidy, the outcomes
/// outcome would hold, and one approved project of the county.
#[derive(Debug)]
pub struct Suite {
    /// The subsidy service.
    pub subsidy: TestService,
    /// The selection service.
    pub selection: TestService,
    /// The supervision service.
    pub supervision: TestService,
    /// Subsidy's clock.
    pub clock: Clock,
    /// Supervision's clock.
    pub supervision_clock: qiancheng_supervision::Clock,
    /// What the outcome service holds, as a test records it (read by subsidy unless `outcome`
    /// runs).
    pub outcomes: RecordedOutcomes,
    /// The real outcome service, following supervision's change feed, where the suite runs it.
    pub outcome: Option<TestService>,
    /// Outcome's clock.
    pub outcome_clock: qiancheng_outcome::Clock,
    /// The provider of the project.
    pub provider: String,
    /// The approved project, `projects/{id}`.
    pub project: String,
}

impl std::ops::Deref for Suite {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.subsidy
    }
}

/// Starts selection, supervision (its clock on 2026-12-01) and subsidy on `backend`, subsidy
/// reading selection and supervision over gRPC with its own identity and outcome from what the
/// test records, and seeds an approved project of 30 welders (level 4, 100 hours).
pub async fn start_suite(backend: Backend) -> Option<Suite> {
    start_suite_on(backend, false).await
}

/// As [`start_suite`], with the real outcome service too (following supervision's change feed,
/// its clock on 2026-12-01), which subsidy reads over gRPC with its own identity.
pub async fn start_suite_with_outcome(backend: Backend) -> Option<Suite> {
    start_suite_on(backend, true).await
}

async fn start_suite_on(backend: Backend, with_outcome: bool) -> Option<Suite> {
    let mut keys = Keys::new();
    keys.policy = PolicySet::current();
    let selection =
        TestService::start_with(&qiancheng_selection::Spec, backend, keys.clone(), Peers::default()).await?;
    let supervision_clock = qiancheng_supervision::Clock::fixed(day(2026, 12, 1));
    let peers = Peers::new([keys.peer_for("supervision", "selection", selection.server.addr)]);
    let supervision = TestService::start_with(
        &qiancheng_supervision::SpecWithClock(supervision_clock.clone()),
        backend,
        keys.clone(),
        peers,
    )
    .await?;
    let outcome_clock = qiancheng_outcome::Clock::fixed(day(2026, 12, 1));
    let outcome = if with_outcome {
        let peers = Peers::new([
            keys.peer_for("outcome", "supervision", supervision.server.addr),
            keys.peer_for("outcome", "selection", selection.server.addr),
        ]);
        let feed: std::sync::Arc<dyn qiancheng_outcome::FeedPort> =
            std::sync::Arc::new(qiancheng_outcome::PeerFeed::new(peers.clone()));
        let spec = qiancheng_outcome::SpecWith {
            clock: outcome_clock.clone(),
            feed: Some((feed, std::time::Duration::from_millis(100))),
        };
        Some(TestService::start_with(&spec, backend, keys.clone(), peers).await?)
    } else {
        None
    };
    let clock = Clock::fixed(day(2026, 12, 1));
    let mut peers = vec![
        keys.peer_for("subsidy", "selection", selection.server.addr),
        keys.peer_for("subsidy", "supervision", supervision.server.addr),
    ];
    if let Some(outcome) = &outcome {
        peers.push(keys.peer_for("subsidy", "outcome", outcome.server.addr));
    }
    let peers = Peers::new(peers);
    let outcomes = RecordedOutcomes::default();
    let mut ports = Ports::grpc(&peers);
    if outcome.is_none() {
        ports.outcome = std::sync::Arc::new(outcomes.clone());
    }
    let spec = SpecWith {
        clock: clock.clone(),
        ports: Some(ports),
        calendar: Some(calendar_with_2027()),
        follow: Some(std::time::Duration::from_millis(50)),
    };
    let subsidy = TestService::start_with(&spec, backend, keys, peers).await?;
    let mut suite = Suite {
        subsidy,
        selection,
        supervision,
        clock,
        supervision_clock,
        outcomes,
        outcome,
        outcome_clock,
        provider: String::new(),
        project: String::new(),
    };
    set_quotas(&suite.selection).await;
    let officer = suite.keys.token(Role::CountyOfficer, Some(COUNTY), None);
    let project =
        ProjectToApprove { county: COUNTY, seed: "0000001", headcount: 30, hours: 100, deadline: date(2099, 12, 31) };
    let mut client = SelectionServiceClient::new(suite.selection.channel().await);
    let keys = suite.keys.clone();
    let (provider, project) =
        approve_project(&mut client, &officer, |code| keys.token(Role::Provider, None, Some(code)), project).await;
    suite.provider = provider;
    suite.project = project;
    Some(suite)
}

impl Suite {
    /// A client of subsidy.
    pub async fn client(&self) -> SubsidyServiceClient<Channel> {
        SubsidyServiceClient::new(self.subsidy.channel().await)
    }
    /// A client of supervision.
    pub async fn supervision_client(&self) -> SupervisionServiceClient<Channel> {
        SupervisionServiceClient::new(self.supervision.channel().await)
    }
    /// A city administrator's token.
    pub fn admin(&self) -> String {
        self.keys.token(Role::CityAdmin, Some(CITY), None)
    }
    /// A token of an officer of `county`.
    pub fn officer(&self, county: &str) -> String {
        self.keys.token(Role::CountyOfficer, Some(county), None)
    }
    /// The project's provider's token.
    pub fn provider_token(&self) -> String {
        self.keys.token(Role::Provider, None, Some(&self.provider))
    }
    /// A token of the provider `code`.
    pub fn provider_of(&self, code: &str) -> String {
        self.keys.token(Role::Provider, None, Some(code))
    }
    /// An auditor's token.
    pub fn auditor(&self) -> String {
        self.keys.token(Role::Auditor, None, None)
    }
}

/// The city sets 2099's quotas (the rounds close in 2099).
async fn set_quotas(selection: &TestService) {
    let admin = selection.keys.token(Role::CityAdmin, Some(CITY), None);
    for region in [CITY, COUNTY, OTHER_COUNTY] {
        SelectionServiceClient::new(selection.channel().await)
            .set_quota(authed(
                sel::SetQuotaRequest {
                    quota: Some(sel::Quota {
                        region_code: region.into(),
                        year: 2099,
                        trainees: 1_000_000,
                        basis: "就业补助资金预算与省厅培训任务".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &admin,
            ))
            .await
            .expect("quota set");
    }
}

/// Starts selection and subsidy on `backend` (policy set v2, the clock on 2026-12-01) and seeds
/// an approved project; `None` when the backend is not configured.
pub async fn start(backend: Backend) -> Option<App> {
    let mut keys = Keys::new();
    keys.policy = PolicySet::current();
    let selection =
        TestService::start_with(&qiancheng_selection::Spec, backend, keys.clone(), Peers::default()).await?;
    let clock = Clock::fixed(day(2026, 12, 1));
    let peers = Peers::new([keys.peer_for("subsidy", "selection", selection.server.addr)]);
    let spec = SpecWith { clock: clock.clone(), ports: None, calendar: None, follow: None };
    let subsidy = TestService::start_with(&spec, backend, keys, peers).await?;
    let mut app = App { subsidy, selection, clock, provider: String::new(), project: String::new() };
    set_quotas(&app.selection).await;
    let officer = app.officer(COUNTY);
    let project =
        ProjectToApprove { county: COUNTY, seed: "0000001", headcount: 30, hours: 100, deadline: date(2099, 12, 31) };
    let (provider, project) =
        approve_project(&mut app.selection_client().await, &officer, |code| app.provider_of(code), project).await;
    app.provider = provider;
    app.project = project;
    Some(app)
}

impl App {
    /// A client of subsidy.
    pub async fn client(&self) -> SubsidyServiceClient<Channel> {
        SubsidyServiceClient::new(self.subsidy.channel().await)
    }
    /// A client of selection.
    pub async fn selection_client(&self) -> SelectionServiceClient<Channel> {
        SelectionServiceClient::new(self.selection.channel().await)
    }
    /// A city administrator's token.
    pub fn admin(&self) -> String {
        self.keys.token(Role::CityAdmin, Some(CITY), None)
    }
    /// A token of an officer of `county`.
    pub fn officer(&self, county: &str) -> String {
        self.keys.token(Role::CountyOfficer, Some(county), None)
    }
    /// A token of another officer of `county`, by subject.
    pub fn officer_named(&self, subject: &str, county: &str) -> String {
        self.keys.minter.mint(subject, &[Role::CountyOfficer], Some(county), None, 3600).expect("mint a token")
    }
    /// A token of the provider `code`.
    pub fn provider_of(&self, code: &str) -> String {
        self.keys.token(Role::Provider, None, Some(code))
    }
    /// An auditor's token.
    pub fn auditor(&self) -> String {
        self.keys.token(Role::Auditor, None, None)
    }
}

/// The bundled holiday calendar (2025 and 2026) with 2027 covered for the tests' dates: test
/// data, not the State Council's arrangement for 2027 (only its New Year's Day is declared; every
/// other day of 2027 is a working day Monday to Friday).
pub fn calendar_with_2027() -> qiancheng_domain::policy::calendar::HolidayCalendar {
    let bundled = include_str!("../../../../shared/domain/data/cn-public-holidays.csv");
    qiancheng_domain::policy::calendar::HolidayCalendar::from_csv_str(&format!("{bundled}\n2027-01-01,holiday,元旦\n"))
        .expect("the test calendar is valid")
}

impl Suite {
    /// Another approved project of the county (30 welders, level 4, 100 hours), of a provider of
    /// its own made from `seed` (seven characters); returns the provider's credit code and the
    /// project's name.
    pub async fn approve_another(&self, seed: &str) -> (String, String) {
        let project =
            ProjectToApprove { county: COUNTY, seed, headcount: 30, hours: 100, deadline: date(2099, 12, 31) };
        let mut client = SelectionServiceClient::new(self.selection.channel().await);
        approve_project(&mut client, &self.officer(COUNTY), |code| self.provider_of(code), project).await
    }

    /// A token of officer `who` of `county`: two officers of one bureau are two subjects.
    pub fn officer_named(&self, who: &str, county: &str) -> String {
        self.keys.minter.mint(who, &[Role::CountyOfficer], Some(county), None, 3600).expect("mint a test token")
    }
}
