//! What the demand service's test files share: the service on a real server over a fresh
//! database, tokens of the roles that call it, an enterprise registered through the API, and the
//! vacancy and worker's need most tests file.

// Each test file uses some of these helpers, never all of them.
#![allow(dead_code)]

use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::*;
use qiancheng_api::types::{Date, Industry, SkillLevel, TargetGroup};
use qiancheng_demand::Spec;
use qiancheng_platform::auth::Role;
use qiancheng_platform::config::Settings;
use qiancheng_platform::service::Peers;
use qiancheng_testkit::{Backend, Keys, TestService, authed, fixtures};
use tonic::transport::Channel;

/// The demand service of one test.
pub struct App(pub TestService);

impl std::ops::Deref for App {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.0
    }
}

/// Starts the service on `backend`; `None` when the backend is not configured.
pub async fn start(backend: Backend) -> Option<App> {
    TestService::start(&Spec, backend).await.map(App)
}

/// Starts the service with settings changed by `change`.
pub async fn start_with(backend: Backend, change: impl FnOnce(&mut Settings)) -> Option<App> {
    let mut keys = Keys::new();
    change(&mut keys.settings);
    TestService::start_with(&Spec, backend, keys, Peers::default()).await.map(App)
}

/// The service's full name.
pub const SERVICE_NAME: &str = "qiancheng.demand.v1.DemandService";
/// The city.
pub const CITY: &str = "421200";
/// The county most tests work in (嘉鱼县).
pub const COUNTY: &str = "421221";
/// Another county (通城县).
pub const OTHER_COUNTY: &str = "421222";

impl App {
    /// A client of the service.
    pub async fn client(&self) -> DemandServiceClient<Channel> {
        DemandServiceClient::new(self.server.channel().await)
    }

    /// A city administrator's token.
    pub fn admin(&self) -> String {
        self.keys.token(Role::CityAdmin, Some(CITY), None)
    }

    /// A token of an officer of `county`.
    pub fn officer(&self, county: &str) -> String {
        self.keys.token(Role::CountyOfficer, Some(county), None)
    }

    /// A token of the enterprise `credit_code`.
    pub fn enterprise(&self, credit_code: &str) -> String {
        self.keys.token(Role::Enterprise, None, Some(credit_code))
    }

    /// Registers an enterprise in `county` and returns its credit code.
    pub async fn enterprise_in(&self, seed: &str, county: &str) -> String {
        let code = fixtures::uscc(&format!("91{county}MA4{seed}"));
        self.client()
            .await
            .create_enterprise(authed(
                CreateEnterpriseRequest {
                    enterprise: Some(Enterprise {
                        credit_code: code.clone(),
                        display_name: format!("咸宁{seed}制造有限公司"),
                        region_code: county.into(),
                        industry: Industry::EquipmentManufacturing as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &self.admin(),
            ))
            .await
            .expect("enterprise registered");
        code
    }

    /// Files `vacancy` as `token`.
    pub async fn file(&self, vacancy: Vacancy, token: &str) -> Result<Vacancy, tonic::Status> {
        self.client()
            .await
            .create_vacancy(authed(CreateVacancyRequest { vacancy: Some(vacancy), request_id: String::new() }, token))
            .await
            .map(|r| r.into_inner().vacancy.expect("vacancy"))
    }

    /// Files and publishes a welding vacancy of `credit_code` as the city.
    pub async fn published(&self, credit_code: &str) -> Vacancy {
        let draft = self.file(welder(credit_code), &self.admin()).await.expect("created");
        self.client()
            .await
            .publish_vacancy(authed(PublishVacancyRequest { name: draft.name, ..Default::default() }, &self.admin()))
            .await
            .expect("published")
            .into_inner()
            .vacancy
            .expect("vacancy")
    }
}

/// A welding vacancy of the enterprise `credit_code` in the county.
pub fn welder(credit_code: &str) -> Vacancy {
    Vacancy {
        enterprise_credit_code: credit_code.into(),
        post: "焊接操作工".into(),
        occupation_code: "6-18-02-04".into(),
        occupation_name: "焊工".into(),
        skill_level: SkillLevel::SkillLevel4 as i32,
        headcount: 12,
        pay_min_fen: 450_000,
        pay_max_fen: 650_000,
        requirements: "持证优先".into(),
        work_region_code: COUNTY.into(),
        needed_by: Some(Date { year: 2030, month: 3, day: 1 }),
        survey_method: SurveyMethod::DoorToDoor as i32,
        ..Default::default()
    }
}

/// A rural migrant worker of `county` who wants welding training.
pub fn worker(id_number: &str, county: &str) -> WorkerNeedInput {
    WorkerNeedInput {
        person_name: "张三丰".into(),
        id_number: id_number.into(),
        phone: "13807151234".into(),
        region_code: county.into(),
        target_group: TargetGroup::RuralMigrant as i32,
        wanted_industry: Industry::EquipmentManufacturing as i32,
        wanted_occupation_code: "6-18-02-04".into(),
        wanted_occupation_name: "焊工".into(),
        wanted_pay_min_fen: 500_000,
        held_occupation_code: "6-18-02-04".into(),
        held_skill_level: SkillLevel::SkillLevel5 as i32,
        wants_training: true,
        training_occupation_code: "6-18-02-04".into(),
        training_skill_level: SkillLevel::SkillLevel4 as i32,
    }
}
