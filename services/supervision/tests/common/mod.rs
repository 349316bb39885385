//! What the supervision service's test files share: the service on a real server over a fresh
//! database, with the real selection service as its peer (the same keys, its own database) and
//! an approved project seeded through selection's own API; a clock the tests move; clients,
//! tokens for each role, people for rosters, and what a client reads off a refusal.

// Each test file uses some of these helpers, never all of them.
#![allow(dead_code)]

use chrono::NaiveDate;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{self as sel};
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::*;
pub use qiancheng_api::types::TrainingMode;
use qiancheng_api::types::{Date, TargetGroup};
use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_supervision::{Clock, SpecWithClock};
use qiancheng_testkit::selection::{ProjectToApprove, approve_project};
use qiancheng_testkit::{Backend, Keys, TestService, authed, fixtures};
use tonic::transport::Channel;

/// The county the project trains in (嘉鱼县).
pub const COUNTY: &str = "421221";
/// Another county (通城县).
pub const OTHER_COUNTY: &str = "421222";
/// The city.
pub const CITY: &str = "421200";
/// The day the tests start on.
pub const TODAY: (i32, u32, u32) = (2026, 12, 1);

/// A civil date.
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// A proto date.
pub fn date(y: i32, m: u32, d: u32) -> Date {
    Date { year: y, month: i32::try_from(m).expect("month"), day: i32::try_from(d).expect("day") }
}

/// Microseconds since the epoch of `hour`:00 China time on a day.
pub fn at(y: i32, m: u32, d: u32, hour: u32) -> i64 {
    qiancheng_domain::china_micros(day(y, m, d).and_hms_opt(hour, 0, 0).expect("time"))
}

/// Supervision, selection, the clock, and one approved project of 60 trainees and 100 hours.
#[derive(Debug)]
pub struct App {
    /// The supervision service.
    pub supervision: TestService,
    /// The selection service, its peer.
    pub selection: TestService,
    /// Supervision's clock.
    pub clock: Clock,
    /// The provider of the project.
    pub provider: String,
    /// The approved project, `projects/{id}`.
    pub project: String,
}

impl std::ops::Deref for App {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.supervision
    }
}

/// Starts selection and supervision on `backend` (policy set v2, the clock on 2026-12-01) and
/// seeds an approved project; `None` when the backend is not configured.
pub async fn start(backend: Backend) -> Option<App> {
    start_configured(backend, |_| {}).await
}

/// As [`start`], with the services' keys and settings as `configure` leaves them.
pub async fn start_configured(backend: Backend, configure: impl FnOnce(&mut Keys)) -> Option<App> {
    let mut keys = Keys::new();
    keys.policy = PolicySet::current();
    configure(&mut keys);
    let selection =
        TestService::start_with(&qiancheng_selection::Spec, backend, keys.clone(), Peers::default()).await?;
    let clock = Clock::fixed(day(TODAY.0, TODAY.1, TODAY.2));
    let peers = Peers::new([keys.peer_for("supervision", "selection", selection.server.addr)]);
    let supervision = TestService::start_with(&SpecWithClock(clock.clone()), backend, keys, peers).await?;
    let mut app = App { supervision, selection, clock, provider: String::new(), project: String::new() };
    app.set_quotas().await;
    let (provider, project) = app.approved_project("0000001", 60, 100).await;
    app.provider = provider;
    app.project = project;
    Some(app)
}

impl App {
    /// A client of supervision.
    pub async fn client(&self) -> SupervisionServiceClient<Channel> {
        SupervisionServiceClient::new(self.supervision.channel().await)
    }
    /// A client of selection.
    pub async fn selection_client(&self) -> SelectionServiceClient<Channel> {
        SelectionServiceClient::new(self.selection.channel().await)
    }
    /// Moves supervision's clock.
    pub fn set_today(&self, y: i32, m: u32, d: u32) {
        self.clock.set(day(y, m, d));
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
    /// Another service's token (`service:test`, not a reader of rosters).
    pub fn service(&self) -> String {
        self.keys.token(Role::Service, None, None)
    }
    /// The token of the suite's service `name` (`service:outcome`), signed with its own key.
    pub fn service_named(&self, name: &str) -> String {
        self.keys
            .service_key(name)
            .mint(&format!("service:{name}"), &[Role::Service], None, None, 3600)
            .expect("mint a service token")
    }
    /// A token of `role`, scoped to the county and the project's provider where it has a scope.
    pub fn token(&self, role: Role) -> String {
        self.keys.token(role, Some(COUNTY), Some(&self.provider))
    }

    /// The city sets 2099's quotas of the county (the rounds close in 2099).
    async fn set_quotas(&self) {
        let admin = self.admin();
        for region in [CITY, COUNTY, OTHER_COUNTY] {
            self.selection_client()
                .await
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

    /// Registers an eligible provider (`seed`, seven characters) of the county and has a project
    /// of `headcount` welders of `hours` hours approved for it by a comprehensive evaluation,
    /// all through selection's API. Returns the provider's credit code and the project's name.
    pub async fn approved_project(&self, seed: &str, headcount: i32, hours: i32) -> (String, String) {
        let officer = self.officer(COUNTY);
        let project = ProjectToApprove { county: COUNTY, seed, headcount, hours, deadline: date(2099, 12, 31) };
        approve_project(&mut self.selection_client().await, &officer, |code| self.provider_of(code), project).await
    }

    /// Files `class` with `roster` as the project's provider.
    pub async fn file(&self, class: Class, roster: Vec<TraineeInput>) -> Result<CreateClassResponse, tonic::Status> {
        self.file_as(&self.provider_token(), class, roster).await
    }

    /// Files `class` with `roster` as `token`.
    pub async fn file_as(
        &self,
        token: &str,
        class: Class,
        roster: Vec<TraineeInput>,
    ) -> Result<CreateClassResponse, tonic::Status> {
        self.client()
            .await
            .create_class(authed(CreateClassRequest { class: Some(class), roster, request_id: String::new() }, token))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Files a class of the project from `first` to `last` with `roster`, and returns it.
    pub async fn filed(&self, first: (i32, u32, u32), last: (i32, u32, u32), roster: Vec<TraineeInput>) -> Class {
        let response = self.file(class_of(&self.project, first, last), roster).await.expect("the class is filed");
        assert!(response.refused.is_empty(), "{:?}", response.refused);
        response.class.expect("class")
    }

    /// Reads a class as the city.
    pub async fn class(&self, name: &str) -> Class {
        self.client()
            .await
            .get_class(authed(GetClassRequest { name: name.into() }, &self.admin()))
            .await
            .expect("the class is read")
            .into_inner()
            .class
            .expect("class")
    }

    /// The class's current roster, as the city reads it.
    pub async fn trainees(&self, class: &str) -> Vec<Trainee> {
        self.client()
            .await
            .list_trainees(authed(
                ListTraineesRequest { class: class.into(), page_size: 500, ..Default::default() },
                &self.admin(),
            ))
            .await
            .expect("the roster is read")
            .into_inner()
            .trainees
    }

    /// An officer of the county acknowledges the class.
    pub async fn acknowledge(&self, name: &str) -> Class {
        self.client()
            .await
            .acknowledge_class(authed(
                AcknowledgeClassRequest { name: name.into(), ..Default::default() },
                &self.officer(COUNTY),
            ))
            .await
            .expect("acknowledged")
            .into_inner()
            .class
            .expect("class")
    }

    /// Adds practice sessions of `hours` hours on `days` to a class.
    pub async fn sessions(&self, class: &str, days: &[(NaiveDate, i32)]) -> Vec<Session> {
        let days: Vec<_> = days.iter().map(|(d, h)| (*d, *h, SessionKind::Practice)).collect();
        self.schedule(class, &days).await
    }

    /// Adds sessions of `hours` hours of `kind` on `days` to a class.
    pub async fn schedule(&self, class: &str, days: &[(NaiveDate, i32, SessionKind)]) -> Vec<Session> {
        let sessions = days
            .iter()
            .map(|(d, hours, kind)| Session {
                held_on: Some(qiancheng_api::convert::date_to_proto(*d)),
                hours: *hours,
                kind: *kind as i32,
                topic: if *kind == SessionKind::Theory { "焊接理论" } else { "焊接实操" }.into(),
                ..Default::default()
            })
            .collect();
        self.client()
            .await
            .create_sessions(authed(
                CreateSessionsRequest { class: class.into(), sessions, request_id: String::new() },
                &self.provider_token(),
            ))
            .await
            .expect("sessions added")
            .into_inner()
            .sessions
    }

    /// Streams `chunks` of check-ins for `class` as `token` and returns every acknowledgement.
    pub async fn stream_as(
        &self,
        token: &str,
        chunks: Vec<StreamAttendanceRequest>,
    ) -> Result<Vec<StreamAttendanceResponse>, tonic::Status> {
        let request = authed(tokio_stream::iter(chunks), token);
        let mut acks = self.client().await.stream_attendance(request).await?.into_inner();
        let mut all = Vec::new();
        while let Some(ack) = acks.message().await? {
            all.push(ack);
        }
        Ok(all)
    }

    /// Streams `chunks` as the provider.
    pub async fn stream(&self, chunks: Vec<StreamAttendanceRequest>) -> Vec<StreamAttendanceResponse> {
        self.stream_as(&self.provider_token(), chunks).await.expect("the stream is answered")
    }

    /// The whole ledger of a class as `token` reads it.
    pub async fn ledger(&self, class: &str, token: &str) -> Result<Vec<GetLedgerResponse>, tonic::Status> {
        let mut parts =
            self.client().await.get_ledger(authed(GetLedgerRequest { class: class.into() }, token)).await?.into_inner();
        let mut all = Vec::new();
        while let Some(part) = parts.message().await? {
            all.push(part);
        }
        Ok(all)
    }
}

/// A class of `project` from `first` to `last`: 40 theory and 60 practice hours, offline, a
/// venue and a teacher.
pub fn class_of(project: &str, first: (i32, u32, u32), last: (i32, u32, u32)) -> Class {
    Class {
        project: project.into(),
        title: "嘉鱼焊工培训第一期".into(),
        first_day: Some(date(first.0, first.1, first.2)),
        last_day: Some(date(last.0, last.1, last.2)),
        theory_hours: 40,
        practice_hours: 60,
        mode: TrainingMode::Offline as i32,
        venue: "嘉鱼县实训基地".into(),
        teachers: vec![Teacher { name: "王师傅".into(), qualification: "焊工一级/高级技师".into() }],
        ..Default::default()
    }
}

/// The whole filing of a class of [`class_of`], 100 hours: theory 8 hours a day on 1 to 5 March
/// 2027 (40), practice 8 hours a day on 8 to 14 March and 4 hours on 15 March (60).
pub fn hundred_hours() -> Vec<(NaiveDate, i32, SessionKind)> {
    let theory = (1..=5).map(|d| (day(2027, 3, d), 8, SessionKind::Theory));
    let practice = (8..=14).map(|d| (day(2027, 3, d), 8, SessionKind::Practice));
    theory.chain(practice).chain([(day(2027, 3, 15), 4, SessionKind::Practice)]).collect()
}

/// A valid resident ID number of someone born on `birth` (`YYYYMMDD`), number `n` (0–899).
pub fn id_born(birth: &str, n: u32) -> String {
    fixtures::id_number(&format!("421202{birth}{:03}", 100 + n % 900))
}

/// Person `n` of the tests, born 1990, a 咸宁 household-registered rural migrant worker.
pub fn person(n: u32) -> TraineeInput {
    person_born("19900101", n)
}

/// Person `n`, born on `birth`.
pub fn person_born(birth: &str, n: u32) -> TraineeInput {
    TraineeInput {
        person_name: format!("学员{n}号"),
        id_number: id_born(birth, n),
        phone: format!("138{:08}", n),
        target_group: TargetGroup::RuralMigrant as i32,
        local_basis: LocalBasis::HouseholdRegistration as i32,
        local_basis_evidence: "户口簿".into(),
        ..Default::default()
    }
}

/// People `from..from + count`.
pub fn people(from: u32, count: u32) -> Vec<TraineeInput> {
    (from..from + count).map(person).collect()
}

/// One check-in of `trainee` at `session` on `when`.
pub fn check_in(event_id: &str, session: &str, trainee: &str, when: i64) -> CheckIn {
    CheckIn {
        event_id: event_id.into(),
        session: session.into(),
        trainee: trainee.into(),
        checked_in_micros: when,
        device: "gate-1".into(),
        ..Default::default()
    }
}

// The bench uses none of these, each test file some.
#[allow(unused_imports)]
pub use qiancheng_testkit::{bad_fields, reason, refusal};
