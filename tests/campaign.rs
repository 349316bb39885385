//! The campaign: every RPC of every service of the suite, found in the descriptor set rather than
//! listed by hand, is called with thousands of generated requests by callers of every role, and
//! every answer is held to one oracle:
//!
//! - no answer is `INTERNAL`, `UNKNOWN`, `DATA_LOSS` or `UNIMPLEMENTED`, and every answer is a
//!   status the server sent, within 30 s (not a broken connection, not a call that never ends),
//!   small enough for any client's metadata limit;
//! - a refused request changes nothing: the rows of `audit_log` and `idempotency` are counted
//!   before and after it;
//! - a caller holding none of the RPC's declared roles (`qiancheng.type.v1.allowed_roles`) is
//!   `PERMISSION_DENIED`, a declared one is never refused by the gate, and a bad token is
//!   `UNAUTHENTICATED`, whatever the request holds;
//! - every answer decodes as the RPC's response message;
//! - no server task panics, and each service still answers its health check at the end.
//!
//! Requests are `prost_reflect::DynamicMessage`s built from each RPC's request descriptor:
//! plausible values (resource names, etags and page tokens seen in earlier answers, valid codes
//! and dates, the next page of an earlier list), the same with one field made hostile (boundary
//! and absurd numbers, long and control-character strings, impossible dates, unknown enum
//! numbers, malformed resource names, forged and foreign page tokens, odd update masks),
//! messages hostile throughout, empty messages, and raw byte mutations of their encoding
//! (truncated, bit-flipped, wrong wire types, invalid UTF-8, huge length prefixes, messages over
//! the size limit). Client-streaming and bidirectional RPCs get streams of them. Each service
//! first files a few real resources through its own API, so that requests naming them reach past
//! the lookups; a service that calls others runs with them.
//!
//! The role × RPC matrix calls every RPC with a well-formed empty request as each of the nine
//! roles and prints what each got: a role outside the declaration is `PERMISSION_DENIED` and
//! changes nothing, a role inside is never refused by the gate, and an RPC that declares no roles
//! fails.
//!
//! Everything runs on SQLite: by default 3,000 requests per service, some seconds each. The long
//! setting runs as many as `QIANCHENG_CAMPAIGN_REQUESTS` says per service and prints the same
//! table of counts:
//!
//! ```text
//! QIANCHENG_CAMPAIGN_REQUESTS=100000 cargo test -p qiancheng-e2e --test campaign -- --nocapture
//! ```
//!
//! `QIANCHENG_CAMPAIGN_BACKEND=postgres` runs it on PostgreSQL instead, on fresh databases of
//! the server `QIANCHENG_TEST_DATABASE_URL` names.
//!
//! `QIANCHENG_CAMPAIGN_SEED` (decimal, or hex with `0x`) changes the seed. Each RPC's generator
//! is seeded from the seed and the RPC's path, each case from that and its number; a defect is
//! printed with both, and a run with the same seed and count generates the same requests, apart
//! from the identifiers the services assign.
//!
//! A service with RPCs in the descriptor set that the campaign does not start fails
//! `every_service_of_the_descriptor_set_is_in_the_campaign`: add it to [`TARGETS`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message as _;
use prost::bytes::Bytes;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage as _, Value,
};
use qiancheng_api::codec::RawCodec;
use qiancheng_api::{RPCS, RpcInfo};
use qiancheng_platform::ServiceSpec;
use qiancheng_platform::audit::fnv1a;
use qiancheng_platform::auth::Role;
use qiancheng_platform::db::Db;
use qiancheng_platform::service::Peers;
use qiancheng_testkit::{Backend, Keys, POSTGRES_URL_VAR, TestService, authed, fixtures};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

// ---------------------------------------------------------------------------------------------
// The services under the campaign
// ---------------------------------------------------------------------------------------------

/// Every service the campaign starts, each with what it files before the campaign begins. A new
/// service is one more line here; its peers (`ServiceSpec::peers`) are started from this list
/// too.
static TARGETS: &[Target] = &[
    Target { spec: &qiancheng_demand::Spec, seed: seed_demand },
    Target { spec: &qiancheng_selection::Spec, seed: seed_selection },
    Target { spec: &qiancheng_supervision::Spec, seed: seed_supervision },
    Target { spec: &qiancheng_outcome::Spec, seed: seed_outcome },
    Target { spec: &qiancheng_subsidy::Spec, seed: seed_subsidy },
];

/// A service under the campaign.
struct Target {
    spec: &'static dyn ServiceSpec,
    /// Files a few real resources through the service's API and returns them, each as the full
    /// name of its message type and its encoding, for generated requests to name.
    seed: Seeder,
}

type Seeded = Vec<(&'static str, Vec<u8>)>;
/// Files resources in a service, given the names of those its peers filed before.
type Seeder = for<'a> fn(&'a TestService, &'a [String]) -> Pin<Box<dyn Future<Output = Seeded> + 'a>>;

/// The city, the county most callers work in, and another county.
const CITY: &str = "421200";
const COUNTY: &str = "421221";
const OTHER_COUNTY: &str = "421222";

/// The organisation of the provider and enterprise callers, and another enterprise.
fn own_org() -> String {
    fixtures::uscc("91421221MA4K7Y2G3")
}

fn other_org() -> String {
    fixtures::uscc("91421222MA4K7Y2H5")
}

/// Two enterprises (the enterprise caller's own and one in another county), each with a draft,
/// a published, a filled and a withdrawn vacancy, and three workers' needs.
fn seed_demand<'a>(service: &'a TestService, _: &'a [String]) -> Pin<Box<dyn Future<Output = Seeded> + 'a>> {
    Box::pin(async move {
        use qiancheng_api::demand::demand_service_client::DemandServiceClient;
        use qiancheng_api::demand::*;
        use qiancheng_api::types::{Date, Industry, SkillLevel, TargetGroup};

        let admin = service.token(Role::CityAdmin, Some(CITY), None);
        let mut demand = DemandServiceClient::new(service.channel().await);
        let mut seeded: Seeded = Vec::new();
        for (credit_code, county) in [(own_org(), COUNTY), (other_org(), OTHER_COUNTY)] {
            let enterprise = Enterprise {
                credit_code: credit_code.clone(),
                display_name: "嘉鱼重工装备有限公司".into(),
                region_code: county.into(),
                industry: Industry::EquipmentManufacturing as i32,
                key_project: true,
                key_project_name: "嘉鱼重型装备产业园".into(),
                expected_production_date: Some(Date { year: 2027, month: 6, day: 1 }),
                ..Default::default()
            };
            let enterprise = demand
                .create_enterprise(authed(
                    CreateEnterpriseRequest { enterprise: Some(enterprise), request_id: String::new() },
                    &admin,
                ))
                .await
                .expect("the seed enterprise is registered")
                .into_inner()
                .enterprise
                .expect("an enterprise");
            seeded.push(("qiancheng.demand.v1.Enterprise", enterprise.encode_to_vec()));
            for end in [VacancyState::Draft, VacancyState::Published, VacancyState::Filled, VacancyState::Withdrawn] {
                let vacancy = Vacancy {
                    enterprise_credit_code: credit_code.clone(),
                    post: "焊接操作工".into(),
                    occupation_code: "6-18-02-04".into(),
                    occupation_name: "焊工".into(),
                    skill_level: SkillLevel::SkillLevel4 as i32,
                    headcount: 12,
                    pay_min_fen: 450_000,
                    pay_max_fen: 650_000,
                    requirements: "持证优先".into(),
                    work_region_code: county.into(),
                    needed_by: Some(Date { year: 2030, month: 3, day: 1 }),
                    survey_method: SurveyMethod::DoorToDoor as i32,
                    ..Default::default()
                };
                let mut vacancy = demand
                    .create_vacancy(authed(
                        CreateVacancyRequest { vacancy: Some(vacancy), request_id: String::new() },
                        &admin,
                    ))
                    .await
                    .expect("the seed vacancy is filed")
                    .into_inner()
                    .vacancy
                    .expect("a vacancy");
                if end != VacancyState::Draft {
                    let publish = PublishVacancyRequest { name: vacancy.name.clone(), ..Default::default() };
                    vacancy = demand
                        .publish_vacancy(authed(publish, &admin))
                        .await
                        .expect("the seed vacancy is published")
                        .into_inner()
                        .vacancy
                        .expect("a vacancy");
                }
                if end == VacancyState::Filled {
                    let fill = FillVacancyRequest { name: vacancy.name.clone(), ..Default::default() };
                    vacancy = demand
                        .fill_vacancy(authed(fill, &admin))
                        .await
                        .expect("the seed vacancy is filled")
                        .into_inner()
                        .vacancy
                        .expect("a vacancy");
                }
                if end == VacancyState::Withdrawn {
                    let withdraw = WithdrawVacancyRequest {
                        name: vacancy.name.clone(),
                        reason: "岗位取消".into(),
                        ..Default::default()
                    };
                    vacancy = demand
                        .withdraw_vacancy(authed(withdraw, &admin))
                        .await
                        .expect("the seed vacancy is withdrawn")
                        .into_inner()
                        .vacancy
                        .expect("a vacancy");
                }
                seeded.push(("qiancheng.demand.v1.Vacancy", vacancy.encode_to_vec()));
            }
        }
        for (county, serial) in [(COUNTY, "001"), (COUNTY, "002"), (OTHER_COUNTY, "003")] {
            let worker = WorkerNeedInput {
                person_name: "张三丰".into(),
                id_number: fixtures::id_number(&format!("{county}19900101{serial}")),
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
            };
            let need = demand
                .create_worker_need(authed(
                    CreateWorkerNeedRequest { worker_need: Some(worker), request_id: String::new() },
                    &admin,
                ))
                .await
                .expect("the seed worker's need is recorded")
                .into_inner()
                .worker_need
                .expect("a worker's need");
            seeded.push(("qiancheng.demand.v1.WorkerNeed", need.encode_to_vec()));
        }
        seeded
    })
}

/// Quotas for 2099, the provider caller's own provider (eligible) and another, a published and
/// a draft catalog item, an open round of the county with a draft and a submitted application.
fn seed_selection<'a>(service: &'a TestService, _: &'a [String]) -> Pin<Box<dyn Future<Output = Seeded> + 'a>> {
    Box::pin(async move {
        use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
        use qiancheng_api::selection::*;
        use qiancheng_api::types::{Date, Industry, SkillLevel};

        let admin = service.token(Role::CityAdmin, Some(CITY), None);
        let mut selection = SelectionServiceClient::new(service.channel().await);
        let mut seeded: Seeded = Vec::new();
        for region in [CITY, COUNTY, OTHER_COUNTY] {
            let quota = Quota {
                region_code: region.into(),
                year: 2099,
                trainees: 1_000,
                basis: "就业补助资金预算与省厅培训任务".into(),
                ..Default::default()
            };
            let quota = selection
                .set_quota(authed(SetQuotaRequest { quota: Some(quota), request_id: String::new() }, &admin))
                .await
                .expect("the seed quota is set")
                .into_inner()
                .quota
                .expect("a quota");
            seeded.push(("qiancheng.selection.v1.Quota", quota.encode_to_vec()));
        }
        for (credit_code, county) in [(own_org(), COUNTY), (fixtures::uscc("52421222MJ0000001"), OTHER_COUNTY)] {
            let provider = Provider {
                credit_code,
                display_name: "咸宁职业培训学校".into(),
                region_code: county.into(),
                pays_tax_locally: true,
                independent_legal_person: true,
                kind: ProviderKind::PrivateTrainingSchool as i32,
                conditions: Some(KindConditions {
                    passed_all_annual_inspections: true,
                    subsidised_training_years: vec![2023, 2024, 2025, 2026],
                    ..Default::default()
                }),
                bank_account: Some(BankAccount {
                    holder: "咸宁职业培训学校".into(),
                    bank: "咸宁农商银行".into(),
                    number: "6228480012345678".into(),
                }),
                ..Default::default()
            };
            let provider = selection
                .register_provider(authed(
                    RegisterProviderRequest { provider: Some(provider), request_id: String::new() },
                    &admin,
                ))
                .await
                .expect("the seed provider is registered")
                .into_inner()
                .provider
                .expect("a provider");
            seeded.push(("qiancheng.selection.v1.Provider", provider.encode_to_vec()));
        }
        let mut items = Vec::new();
        for publish in [true, false] {
            let item = CatalogItem {
                region_code: COUNTY.into(),
                industry: Industry::EquipmentManufacturing as i32,
                occupation_code: "6-18-02-04".into(),
                occupation_name: "焊工".into(),
                skill_level: SkillLevel::SkillLevel4 as i32,
                headcount: 100,
                skill_requirements: "达到焊工四级标准".into(),
                content: "焊接工艺与安全".into(),
                hours: 120,
                mode: TrainingMode::Offline as i32,
                answers: vec!["岗位需求汇总: 缺口100人".into()],
                ..Default::default()
            };
            let mut item = selection
                .create_catalog_item(authed(
                    CreateCatalogItemRequest { catalog_item: Some(item), request_id: String::new() },
                    &admin,
                ))
                .await
                .expect("the seed catalog item is drafted")
                .into_inner()
                .catalog_item
                .expect("a catalog item");
            if publish {
                let request = PublishCatalogItemRequest { name: item.name.clone(), ..Default::default() };
                item = selection
                    .publish_catalog_item(authed(request, &admin))
                    .await
                    .expect("the seed catalog item is published")
                    .into_inner()
                    .catalog_item
                    .expect("a catalog item");
            }
            items.push(item.name.clone());
            seeded.push(("qiancheng.selection.v1.CatalogItem", item.encode_to_vec()));
        }
        let round = Round {
            title: "第一批项目遴选".into(),
            region_code: COUNTY.into(),
            method: SelectionMethod::ExpertReview as i32,
            quota: 100,
            deadline: Some(Date { year: 2099, month: 12, day: 31 }),
            ..Default::default()
        };
        let round = selection
            .create_round(authed(CreateRoundRequest { round: Some(round), request_id: String::new() }, &admin))
            .await
            .expect("the seed round is opened")
            .into_inner()
            .round
            .expect("a round");
        seeded.push(("qiancheng.selection.v1.Round", round.encode_to_vec()));
        let provider = service.token(Role::Provider, None, Some(&own_org()));
        for submit in [false, true] {
            let application = Application {
                round: round.name.clone(),
                catalog_item: items[0].clone(),
                headcount: 30,
                training_region_code: COUNTY.into(),
                filing: Some(Filing {
                    project_title: "嘉鱼焊工培训".into(),
                    planned_start: Some(Date { year: 2099, month: 3, day: 1 }),
                    planned_end: Some(Date { year: 2099, month: 4, day: 30 }),
                    venue: "嘉鱼县实训基地".into(),
                    contact: "李老师".into(),
                }),
                plan: Some(Plan {
                    application_summary: "面向装备制造企业的焊工培训".into(),
                    teaching_plan: "理论40学时,实操80学时".into(),
                    safety_content: "焊接安全操作规程与防护".into(),
                    training_mode: TrainingMode::Offline as i32,
                    assessment_method: "理论考试与实操考核".into(),
                    employment_measures: "与合作企业签订用工协议".into(),
                }),
                ..Default::default()
            };
            let mut application = selection
                .create_application(authed(
                    CreateApplicationRequest { application: Some(application), request_id: String::new() },
                    &provider,
                ))
                .await
                .expect("the seed application is drafted")
                .into_inner()
                .application
                .expect("an application");
            if submit {
                let request = SubmitApplicationRequest { name: application.name.clone(), ..Default::default() };
                application = selection
                    .submit_application(authed(request, &provider))
                    .await
                    .expect("the seed application is submitted")
                    .into_inner()
                    .application
                    .expect("an application");
            }
            seeded.push(("qiancheng.selection.v1.Application", application.encode_to_vec()));
        }

        // A round decided by comprehensive evaluation, which approves the provider's project.
        let round = Round {
            title: "第二批项目遴选".into(),
            region_code: COUNTY.into(),
            method: SelectionMethod::ComprehensiveEvaluation as i32,
            quota: 60,
            deadline: Some(Date { year: 2099, month: 12, day: 31 }),
            ..Default::default()
        };
        let round = selection
            .create_round(authed(CreateRoundRequest { round: Some(round), request_id: String::new() }, &admin))
            .await
            .expect("the seed round to decide is opened")
            .into_inner()
            .round
            .expect("a round");
        let application = Application {
            round: round.name.clone(),
            catalog_item: items[0].clone(),
            headcount: 60,
            training_region_code: COUNTY.into(),
            filing: Some(Filing {
                project_title: "嘉鱼焊工培训".into(),
                planned_start: Some(Date { year: 2027, month: 3, day: 1 }),
                planned_end: Some(Date { year: 2027, month: 4, day: 30 }),
                venue: "嘉鱼县实训基地".into(),
                contact: "李老师".into(),
            }),
            plan: Some(Plan {
                application_summary: "面向装备制造企业的焊工培训".into(),
                teaching_plan: "理论40学时,实操60学时".into(),
                safety_content: "焊接安全操作规程与防护".into(),
                training_mode: TrainingMode::Offline as i32,
                assessment_method: "理论考试与实操考核".into(),
                employment_measures: "与合作企业签订用工协议".into(),
            }),
            ..Default::default()
        };
        let application = selection
            .create_application(authed(
                CreateApplicationRequest { application: Some(application), request_id: String::new() },
                &provider,
            ))
            .await
            .expect("the seed application to approve is drafted")
            .into_inner()
            .application
            .expect("an application");
        let submit = SubmitApplicationRequest { name: application.name.clone(), ..Default::default() };
        selection.submit_application(authed(submit, &provider)).await.expect("the seed application is submitted");
        let close = CloseRoundRequest { name: round.name.clone(), ..Default::default() };
        selection.close_round(authed(close, &admin)).await.expect("the seed round is closed");
        let decide = DecideRoundRequest {
            name: round.name.clone(),
            officer_scores: vec![OfficerScore { application: application.name, score: "85".into() }],
            ..Default::default()
        };
        let decided =
            selection.decide_round(authed(decide, &admin)).await.expect("the seed round is decided").into_inner();
        seeded.push(("qiancheng.selection.v1.Round", decided.round.expect("a round").encode_to_vec()));
        for project in decided.projects {
            seeded.push(("qiancheng.selection.v1.Project", project.encode_to_vec()));
        }
        seeded
    })
}

/// A class of the project selection approved (filed by its provider, the provider caller), with
/// a roster of three and two sessions, acknowledged by the county; and one left unacknowledged.
/// Two rows of the standards table, an uplift policy in two versions, an uplift recorded for a
/// trainee of selection's approved project, and (where the peers hold a roster) a claim of the
/// project, returned to its provider.
fn seed_subsidy<'a>(service: &'a TestService, filed: &'a [String]) -> Pin<Box<dyn Future<Output = Seeded> + 'a>> {
    Box::pin(async move {
        use qiancheng_api::subsidy::subsidy_service_client::SubsidyServiceClient;
        use qiancheng_api::subsidy::*;
        use qiancheng_api::types::{Date, SkillLevel};

        let project = filed.iter().find(|n| n.starts_with("projects/")).expect("selection approved a project");
        let admin = service.token(Role::CityAdmin, Some(CITY), None);
        let officer = service.token(Role::CountyOfficer, Some(COUNTY), None);
        let mut subsidy = SubsidyServiceClient::new(service.channel().await);
        let mut seeded: Seeded = Vec::new();
        for (year, fen, source, document) in [
            (2025, 300_000, StandardSource::Provincial, ""),
            (2026, 320_000, StandardSource::CityReference, "咸人社发〔2026〕12号"),
        ] {
            let standard = Standard {
                occupation_code: "6-18-02-04".into(),
                occupation_name: "焊工".into(),
                skill_level: SkillLevel::SkillLevel5 as i32,
                standard_fen: fen,
                source: source as i32,
                document_number: document.into(),
                effective_from: Some(Date { year, month: 1, day: 1 }),
                ..Default::default()
            };
            let standard = subsidy
                .create_standard(authed(
                    CreateStandardRequest { standard: Some(standard), request_id: String::new() },
                    &admin,
                ))
                .await
                .expect("the seed standard is stored")
                .into_inner()
                .standard
                .expect("a standard");
            seeded.push(("qiancheng.subsidy.v1.Standard", standard.encode_to_vec()));
        }
        for (year, percent) in [(2025, 250), (2026, 300)] {
            let policy = UpliftPolicy {
                code: "KEY-INDUSTRY".into(),
                display_name: "重点产业紧缺工种上浮".into(),
                document_number: "鄂人社发〔2025〕8号".into(),
                qualifies: "重点产业链企业紧缺工种学员".into(),
                percent,
                effective_from: Some(Date { year, month: 1, day: 1 }),
                ..Default::default()
            };
            let policy = subsidy
                .create_uplift_policy(authed(
                    CreateUpliftPolicyRequest { uplift_policy: Some(policy), request_id: String::new() },
                    &admin,
                ))
                .await
                .expect("the seed uplift policy is stored")
                .into_inner()
                .uplift_policy
                .expect("a policy");
            seeded.push(("qiancheng.subsidy.v1.UpliftPolicy", policy.encode_to_vec()));
        }
        let uplift = TraineeUplift {
            project: project.clone(),
            trainee: "classes/C1/trainees/T1".into(),
            policy_code: "KEY-INDUSTRY".into(),
            basis: "企业紧缺工种认定函".into(),
            ..Default::default()
        };
        let uplift = subsidy
            .record_trainee_uplift(authed(
                RecordTraineeUpliftRequest { trainee_uplift: Some(uplift), request_id: String::new() },
                &officer,
            ))
            .await
            .expect("the seed uplift is recorded")
            .into_inner()
            .trainee_uplift
            .expect("an uplift");
        seeded.push(("qiancheng.subsidy.v1.TraineeUplift", uplift.encode_to_vec()));
        // The county's finance budgets the employment subsidy fund, so that budgets and their
        // names reach the money RPCs.
        let finance = service.token(Role::FinanceOfficer, Some(COUNTY), None);
        let budget = FundBudget {
            year: 2026,
            fund: FundChannel::EmploymentSubsidyFund as i32,
            budget_fen: 100_000_000,
            ..Default::default()
        };
        let budget = subsidy
            .set_fund_budget(authed(SetFundBudgetRequest { budget: Some(budget), request_id: String::new() }, &finance))
            .await
            .expect("the seed budget is recorded")
            .into_inner()
            .budget
            .expect("a budget");
        seeded.push(("qiancheng.subsidy.v1.FundBudget", budget.encode_to_vec()));
        // A claim of the project, filed by its provider, and returned with a reason, so that
        // review, refiling, re-examination and objections name a real claim.
        let provider = service.token(Role::Provider, None, Some(&own_org()));
        let filed_claim = subsidy
            .file_claim(authed(
                FileClaimRequest {
                    claim: Some(Claim {
                        project: project.clone(),
                        materials: vec![ClaimMaterial::Annex4 as i32],
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &provider,
            ))
            .await;
        if let Some(claim) = filed_claim.ok().and_then(|r| r.into_inner().claim) {
            let returned = subsidy
                .review_claim(authed(
                    ReviewClaimRequest {
                        name: claim.name.clone(),
                        decision: ReviewDecision::Return as i32,
                        return_reasons: vec!["缺少培训台账".into()],
                        ..Default::default()
                    },
                    &officer,
                ))
                .await
                .ok()
                .and_then(|r| r.into_inner().claim);
            seeded.push(("qiancheng.subsidy.v1.Claim", returned.unwrap_or(claim).encode_to_vec()));
        }
        seeded
    })
}

fn seed_supervision<'a>(service: &'a TestService, filed: &'a [String]) -> Pin<Box<dyn Future<Output = Seeded> + 'a>> {
    Box::pin(async move {
        use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
        use qiancheng_api::supervision::*;
        use qiancheng_api::types::{Date, TargetGroup, TrainingMode};

        let project = filed.iter().find(|n| n.starts_with("projects/")).expect("selection approved a project");
        let provider = service.token(Role::Provider, None, Some(&own_org()));
        let officer = service.token(Role::CountyOfficer, Some(COUNTY), None);
        let mut supervision = SupervisionServiceClient::new(service.channel().await);
        let mut seeded: Seeded = Vec::new();
        for (first, acknowledge) in [(0, true), (3, false)] {
            let class = Class {
                project: project.clone(),
                title: "嘉鱼焊工培训第一期".into(),
                first_day: Some(Date { year: 2027, month: 3, day: 1 }),
                last_day: Some(Date { year: 2027, month: 4, day: 30 }),
                theory_hours: 40,
                practice_hours: 80,
                mode: TrainingMode::Offline as i32,
                venue: "嘉鱼县实训基地".into(),
                teachers: vec![Teacher { name: "王师傅".into(), qualification: "焊工一级/高级技师".into() }],
                ..Default::default()
            };
            let roster = (first..first + 3)
                .map(|n| TraineeInput {
                    person_name: format!("学员{n}号"),
                    id_number: fixtures::id_number(&format!("42120219900101{:03}", 100 + n)),
                    phone: format!("138{n:08}"),
                    target_group: TargetGroup::RuralMigrant as i32,
                    local_basis: LocalBasis::HouseholdRegistration as i32,
                    local_basis_evidence: "户口簿".into(),
                    ..Default::default()
                })
                .collect();
            let filing = supervision
                .create_class(authed(
                    CreateClassRequest { class: Some(class), roster, request_id: String::new() },
                    &provider,
                ))
                .await
                .expect("the seed class is filed")
                .into_inner();
            let mut class = filing.class.expect("a class");
            for trainee in filing.trainees {
                seeded.push(("qiancheng.supervision.v1.Trainee", trainee.encode_to_vec()));
            }
            if acknowledge {
                let request = AcknowledgeClassRequest { name: class.name.clone(), ..Default::default() };
                class = supervision
                    .acknowledge_class(authed(request, &officer))
                    .await
                    .expect("the seed class is acknowledged")
                    .into_inner()
                    .class
                    .expect("a class");
                let sessions = [(3, 2), (3, 3)]
                    .map(|(month, day)| Session {
                        held_on: Some(Date { year: 2027, month, day }),
                        hours: 8,
                        kind: SessionKind::Practice as i32,
                        topic: "焊接实操".into(),
                        ..Default::default()
                    })
                    .into();
                let request = CreateSessionsRequest { class: class.name.clone(), sessions, request_id: String::new() };
                let sessions = supervision
                    .create_sessions(authed(request, &provider))
                    .await
                    .expect("the seed sessions are added")
                    .into_inner()
                    .sessions;
                for session in sessions {
                    seeded.push(("qiancheng.supervision.v1.Session", session.encode_to_vec()));
                }
            }
            seeded.push(("qiancheng.supervision.v1.Class", class.encode_to_vec()));
        }
        seeded
    })
}

/// Minimum wages: the city's, a county's and one of a region outside 咸宁 (the roster reaches
/// outcome through supervision's change feed, which the campaign does not drive).
fn seed_outcome<'a>(service: &'a TestService, _: &'a [String]) -> Pin<Box<dyn Future<Output = Seeded> + 'a>> {
    Box::pin(async move {
        use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
        use qiancheng_api::outcome::*;
        use qiancheng_api::types::Date;

        let admin = service.token(Role::CityAdmin, Some(CITY), None);
        let mut outcome = OutcomeServiceClient::new(service.channel().await);
        let mut seeded: Seeded = Vec::new();
        for (region, fen) in [(CITY, 221_000), (COUNTY, 213_000), ("420106", 250_000)] {
            let request = SetMinimumWageRequest {
                region_code: region.into(),
                effective_date: Some(Date { year: 2025, month: 1, day: 1 }),
                monthly_fen: fen,
                source: "SAMPLE notice".into(),
                request_id: String::new(),
            };
            let wage = outcome
                .set_minimum_wage(authed(request, &admin))
                .await
                .expect("the seed minimum wage is set")
                .into_inner()
                .minimum_wage
                .expect("a minimum wage");
            seeded.push(("qiancheng.outcome.v1.MinimumWage", wage.encode_to_vec()));
        }
        seeded
    })
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_service_of_the_descriptor_set_is_in_the_campaign() {
    let served: BTreeSet<&str> = TARGETS.iter().map(|t| t.spec.grpc_name()).collect();
    let named: BTreeSet<&str> = RPCS.iter().map(|r| r.service).collect();
    let missing: Vec<&&str> = named.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "RPCS names services that no spec of TARGETS serves, so the campaign never calls them: {missing:?}; \
         add each to TARGETS in tests/campaign.rs"
    );
    let pool = descriptor_pool();
    for service in pool.services().filter(|s| s.package_name().starts_with("qiancheng.")) {
        for method in service.methods() {
            let path = format!("/{}/{}", service.full_name(), method.name());
            let rpc =
                RpcInfo::by_path(&path).unwrap_or_else(|| panic!("{path} is in the descriptor set but not in RPCS"));
            assert_eq!(rpc.request, method.input().full_name(), "{path}: RPCS names its request type");
            assert_eq!(rpc.client_streaming, method.is_client_streaming(), "{path}: client streaming");
            assert_eq!(rpc.server_streaming, method.is_server_streaming(), "{path}: server streaming");
        }
    }
}

#[test]
fn every_rpc_declares_the_roles_that_may_call_it() {
    let undeclared: Vec<&str> =
        RPCS.iter().filter(|r| r.roles.is_empty() && r.public.is_none()).map(|r| r.path).collect();
    assert!(
        undeclared.is_empty(),
        "{} RPCs declare no qiancheng.type.v1.allowed_roles, so the gate lets every role call them:\n  {}",
        undeclared.len(),
        undeclared.join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_calling_every_rpc_gets_what_the_declaration_says() {
    count_server_panics();
    let mut defects = Vec::new();
    for target in TARGETS {
        let running = Running::start(target).await;
        let rpcs = rpcs_of(target);
        let undeclared: Vec<&str> =
            rpcs.iter().filter(|r| r.roles.is_empty() && r.public.is_none()).map(|r| r.method).collect();
        if !undeclared.is_empty() {
            defects.push(Defect::about(
                target.spec.grpc_name(),
                format!(
                    "{} RPCs declare no roles, so every authenticated caller passes the gate: {}",
                    undeclared.len(),
                    undeclared.join(", ")
                ),
            ));
        }
        let mut table = Vec::new();
        for rpc in &rpcs {
            let mut row = vec![rpc.method.to_owned()];
            for role in Role::ALL {
                let caller = running.callers.iter().find(|c| c.role == Some(role)).expect("a caller of every role");
                let messages = if rpc.client_streaming { Vec::new() } else { vec![Vec::new()] };
                let before = rows(&running.service.db).await;
                let outcome = send(&running.channel, rpc, caller.token.as_deref(), messages).await;
                let after = rows(&running.service.db).await;
                let allowed = declares(rpc, role);
                for problem in oracle(rpc, caller, &outcome, before, after) {
                    defects.push(Defect {
                        rpc: rpc.path,
                        problem,
                        seed: 0,
                        case: 0,
                        caller: caller.label,
                        request: "a well-formed empty request".into(),
                        code: outcome.code,
                        message: bounded(&outcome.message, 200),
                    });
                }
                let mark = if allowed { "" } else { "·" };
                row.push(format!("{mark}{}", short_code(outcome.code)));
            }
            table.push(row);
        }
        defects.extend(running.finish().await);
        let mut headers = vec![target.spec.grpc_name().to_owned()];
        headers.extend(Role::ALL.iter().map(|r| r.as_str().to_owned()));
        println!("\nRole × RPC matrix (· marks a role outside the declaration):");
        print_table(&headers, &table);
    }
    report_defects(&defects, "each call is printed with its caller and its answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_never_fault_never_panic_and_change_nothing_when_refused() {
    count_server_panics();
    let requests = env_number("QIANCHENG_CAMPAIGN_REQUESTS").unwrap_or(DEFAULT_REQUESTS);
    let seed = env_number("QIANCHENG_CAMPAIGN_SEED").unwrap_or(DEFAULT_SEED);
    let on = if backend() == Backend::Sqlite { "SQLite" } else { "PostgreSQL" };
    println!("\nCampaign on {on}, seed {seed:#x}, {requests} requests per service");
    let mut reports = Vec::new();
    for target in TARGETS {
        reports.push(campaign(target, usize::try_from(requests).expect("a request count"), seed).await);
    }
    print_summary(&reports);
    let defects: Vec<Defect> = reports.into_iter().flat_map(|r| r.defects).collect();
    report_defects(
        &defects,
        &format!(
            "QIANCHENG_CAMPAIGN_SEED={seed:#x} QIANCHENG_CAMPAIGN_REQUESTS={requests} sends the same requests again"
        ),
    );
}

/// The backend the campaign runs on: SQLite unless `QIANCHENG_CAMPAIGN_BACKEND=postgres`.
fn backend() -> Backend {
    match std::env::var("QIANCHENG_CAMPAIGN_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("QIANCHENG_CAMPAIGN_BACKEND={other}: sqlite or postgres"),
    }
}

/// Requests per service when `QIANCHENG_CAMPAIGN_REQUESTS` is not set.
const DEFAULT_REQUESTS: u64 = 3_000;
/// The seed when `QIANCHENG_CAMPAIGN_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5EED_0008;
/// Longest wait for any answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim().replace('_', "");
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

// ---------------------------------------------------------------------------------------------
// A running service and its callers
// ---------------------------------------------------------------------------------------------

/// A service under test, the services it calls (and those they call, each before its
/// callers), and a caller of every kind.
struct Running {
    service: TestService,
    peers: Started,
    channel: Channel,
    callers: Vec<Caller>,
}

/// Someone calling: a role with its scope, or a bad token (`role` is `None`).
struct Caller {
    label: &'static str,
    role: Option<Role>,
    /// The bearer token; `None` sends none.
    token: Option<String>,
}

impl Running {
    /// Starts `target` after the services it calls (from [`TARGETS`]), all trusting
    /// one key.
    async fn start(target: &'static Target) -> Self {
        let keys = Keys::new();
        let mut peers = with_peers(target, &keys).await;
        let (_, service) = peers.pop().expect("the service itself");
        let channel = service.channel().await;
        let callers = callers(&service.keys);
        Self { service, peers, channel, callers }
    }

    /// The checks made once the calls are over: every service still answers its health check,
    /// and no server task panicked.
    async fn finish(self) -> Vec<Defect> {
        use tonic_health::pb::health_client::HealthClient;
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
        let mut defects = Vec::new();
        for service in std::iter::once(&self.service).chain(self.peers.iter().map(|(_, s)| s)) {
            let mut health = HealthClient::new(service.channel().await);
            let answer =
                tokio::time::timeout(ANSWER_WITHIN, health.check(HealthCheckRequest { service: String::new() }))
                    .await
                    .map_err(|_| Status::deadline_exceeded("no answer"))
                    .and_then(|answer| answer);
            match answer {
                Ok(answer) if answer.get_ref().status == ServingStatus::Serving as i32 => {}
                other => defects.push(Defect::about(
                    "/grpc.health.v1.Health/Check",
                    format!("the service no longer answers its health check: {other:?}"),
                )),
            }
        }
        let panics = std::mem::take(&mut *SERVER_PANICS.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for panic in panics {
            defects.push(Defect::about("(a server task)", format!("a server task panicked: {panic}")));
        }
        defects
    }
}

/// Services started, each with its target.
type Started = Vec<(&'static Target, TestService)>;

/// `target` started after the services it calls, each after those it calls: every service
/// started, `target` last. A service two others call (supervision, called by subsidy, calls
/// selection, which subsidy calls too) is started once, so that what one peer filed the other
/// can name.
fn with_peers<'a>(target: &'static Target, keys: &'a Keys) -> Pin<Box<dyn Future<Output = Started> + 'a>> {
    Box::pin(async move {
        let mut started = Vec::new();
        start_into(target, keys, &mut started).await;
        started
    })
}

/// Starts `target` into `started` after those of its peers not started yet.
fn start_into<'a>(
    target: &'static Target,
    keys: &'a Keys,
    started: &'a mut Started,
) -> Pin<Box<dyn Future<Output = ()> + 'a>> {
    Box::pin(async move {
        let mut links = Vec::new();
        for name in target.spec.peers() {
            let peer = TARGETS
                .iter()
                .find(|t| t.spec.name() == *name)
                .unwrap_or_else(|| panic!("{} calls {name}, which is not in TARGETS", target.spec.name()));
            if !started.iter().any(|(t, _)| t.spec.name() == *name) {
                start_into(peer, keys, started).await;
            }
            let (_, service) = started.iter().find(|(t, _)| t.spec.name() == *name).expect("the peer, started");
            // Each service calls its peers with its own identity, as in production (supervision
            // gives a project's whole roster only to the services configured to read it).
            links.push(keys.peer_for(target.spec.name(), peer.spec.name(), service.server.addr));
        }
        let service = TestService::start_with(target.spec, backend(), keys.clone(), Peers::new(links))
            .await
            .unwrap_or_else(|| panic!("QIANCHENG_CAMPAIGN_BACKEND=postgres needs {POSTGRES_URL_VAR}"));
        started.push((target, service));
    })
}

fn callers(keys: &Keys) -> Vec<Caller> {
    let (own, other) = (own_org(), other_org());
    let caller = |label, role, region: Option<&str>, org: Option<&str>| Caller {
        label,
        role: Some(role),
        token: Some(keys.token(role, region, org)),
    };
    let admin = keys.token(Role::CityAdmin, Some(CITY), None);
    let admin_for = |seconds| {
        keys.minter.mint("test-city_admin", &[Role::CityAdmin], Some(CITY), None, seconds).expect("mint a token")
    };
    vec![
        caller("CITY_ADMIN", Role::CityAdmin, Some(CITY), None),
        caller("COUNTY_OFFICER of 421221", Role::CountyOfficer, Some(COUNTY), None),
        caller("COUNTY_OFFICER of 421222", Role::CountyOfficer, Some(OTHER_COUNTY), None),
        caller("FINANCE_OFFICER", Role::FinanceOfficer, Some(CITY), None),
        caller("PROVIDER", Role::Provider, None, Some(&own)),
        caller("ENTERPRISE", Role::Enterprise, None, Some(&own)),
        caller("ENTERPRISE of another county", Role::Enterprise, None, Some(&other)),
        caller("EXPERT", Role::Expert, None, None),
        caller("AUDITOR", Role::Auditor, None, None),
        caller("DATA_EXCHANGE", Role::DataExchange, None, None),
        caller("SERVICE", Role::Service, None, None),
        Caller { label: "no token", role: None, token: None },
        Caller { label: "a token with a broken signature", role: None, token: Some(format!("{admin}x")) },
        Caller {
            label: "a token of an unknown key",
            role: None,
            token: Some(Keys::new().token(Role::CityAdmin, Some(CITY), None)),
        },
        Caller { label: "a token that is not a JWT", role: None, token: Some("not.a.token".into()) },
        Caller { label: "an expired token", role: None, token: Some(admin_for(-60)) },
        Caller { label: "a token living ten years", role: None, token: Some(admin_for(10 * 365 * 86_400)) },
    ]
}

/// Whether `rpc` declares `role`; an RPC that declares none is open to every role at the gate
/// (the matrix reports it).
fn declares(rpc: &RpcInfo, role: Role) -> bool {
    rpc.public.is_some() || rpc.roles.is_empty() || rpc.roles.iter().any(|r| Role::from_proto(*r) == Some(role))
}

fn rpcs_of(target: &Target) -> Vec<&'static RpcInfo> {
    let rpcs: Vec<&RpcInfo> = RPCS.iter().filter(|r| r.service == target.spec.grpc_name()).collect();
    assert!(!rpcs.is_empty(), "RPCS has no RPC of {}", target.spec.grpc_name());
    rpcs
}

fn descriptor_pool() -> DescriptorPool {
    DescriptorPool::decode(qiancheng_api::FILE_DESCRIPTOR_SET).expect("the descriptor set decodes")
}

/// The rows of `audit_log` and of `idempotency`. The audit rows of a refusal the suite records
/// on purpose (an action ending in `_refused`, such as `worker_need.duplicate_refused`: an
/// officer learnt that a person is recorded, and that lookup leaves a trace) are not counted:
/// they are the one thing a refused request may add, and nothing else.
async fn rows(db: &Db) -> (i64, i64) {
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT (SELECT COUNT(*) FROM audit_log WHERE action NOT LIKE '%\\_refused' ESCAPE '\\'), \
         (SELECT COUNT(*) FROM idempotency)",
    )
    .fetch_one(db.pool())
    .await
    .expect("count the audit and idempotency rows")
}

// ---------------------------------------------------------------------------------------------
// Raw calls
// ---------------------------------------------------------------------------------------------

/// How a call ended.
#[derive(Debug)]
struct Outcome {
    code: Code,
    message: String,
    /// Set when the call did not end in a status the server sent: why.
    broken: Option<String>,
    /// The answers received (one for a unary call; any number from a stream, errors or not).
    answers: Vec<Vec<u8>>,
    /// Bytes of metadata the status takes: `grpc-message` percent-encoded and
    /// `grpc-status-details-bin` in base64.
    status_bytes: usize,
}

/// The most metadata a client is sure to take (grpcio's default limit is 16 KiB, for every
/// header of the answer together).
const STATUS_BYTES: usize = 8 * 1024;

/// Codes no request may provoke: each is the server's fault, never the caller's.
const FAULT_CODES: &[Code] = &[Code::Internal, Code::Unknown, Code::DataLoss, Code::Unimplemented];

impl Outcome {
    fn from_status(status: &Status, answers: Vec<Vec<u8>>) -> Self {
        let broken = std::error::Error::source(status).map(|source| format!("transport error: {source}"));
        let message: usize =
            status.message().bytes().map(|b| if (0x20..0x7f).contains(&b) && b != b'%' { 1 } else { 3 }).sum();
        let status_bytes = message + status.details().len().div_ceil(3) * 4;
        Self { code: status.code(), message: status.message().to_owned(), broken, answers, status_bytes }
    }

    /// Refused: an error, and (for a stream) no answer before it that could acknowledge a change.
    fn refused(&self) -> bool {
        self.code != Code::Ok && self.answers.is_empty()
    }

    /// The gate's refusal of a caller's roles: `<Method> is for <roles>`.
    fn is_gate_refusal(&self, rpc: &RpcInfo) -> bool {
        self.code == Code::PermissionDenied && self.message.starts_with(&format!("{} is for", rpc.method))
    }

    /// What is wrong with the answer, whatever the request.
    fn faults(&self) -> Vec<String> {
        let mut faults = Vec::new();
        if let Some(broken) = &self.broken {
            faults.push(format!("the call did not end in a clean status: {broken}"));
        }
        if FAULT_CODES.contains(&self.code) {
            faults.push(format!("answered {}", code_name(self.code)));
        }
        if self.status_bytes > STATUS_BYTES {
            faults.push(format!(
                "the status takes {} bytes of metadata (message and details), over {STATUS_BYTES}",
                self.status_bytes
            ));
        }
        faults
    }
}

/// What is wrong with `outcome`, the answer of `rpc` to `caller`, given the rows of `audit_log`
/// and `idempotency` before and after the call; nothing when it is right.
fn oracle(rpc: &RpcInfo, caller: &Caller, outcome: &Outcome, before: (i64, i64), after: (i64, i64)) -> Vec<String> {
    let mut problems = outcome.faults();
    let code = code_name(outcome.code);
    match caller.role {
        // A public RPC (`qiancheng.type.v1.public_limit`) takes a call without a token; a token
        // given must still be valid.
        None if rpc.public.is_some() && caller.token.is_none() && outcome.code == Code::Unauthenticated => {
            problems.push(format!("{} was refused UNAUTHENTICATED by a public RPC", caller.label));
        }
        None if rpc.public.is_some() && caller.token.is_none() => {}
        None if outcome.code != Code::Unauthenticated => {
            problems.push(format!("{} was answered {code}, not UNAUTHENTICATED", caller.label));
        }
        Some(role) if !declares(rpc, role) && outcome.code != Code::PermissionDenied => {
            problems.push(format!("{} is not a declared role, yet the answer was {code}", role.as_str()));
        }
        Some(role) if declares(rpc, role) && outcome.is_gate_refusal(rpc) => {
            problems.push(format!("the gate refused {}, a declared role", role.as_str()));
        }
        _ => {}
    }
    if outcome.refused() && before != after {
        problems.push(format!("refused with {code}, yet audit and idempotency rows went from {before:?} to {after:?}"));
    }
    problems
}

/// Sends `messages` to `rpc` (a unary RPC sends the first only) with `token`, and waits for the
/// whole answer.
async fn send(channel: &Channel, rpc: &RpcInfo, token: Option<&str>, messages: Vec<Vec<u8>>) -> Outcome {
    let call = async {
        let mut grpc = tonic::client::Grpc::new(channel.clone()).max_decoding_message_size(usize::MAX);
        if let Err(error) = grpc.ready().await {
            return Outcome {
                code: Code::Unavailable,
                message: String::new(),
                broken: Some(format!("the channel is not ready: {error}")),
                answers: Vec::new(),
                status_bytes: 0,
            };
        }
        let path = PathAndQuery::from_static(rpc.path);
        let authorize = |metadata: &mut tonic::metadata::MetadataMap| {
            if let Some(token) = token {
                metadata.insert("authorization", format!("Bearer {token}").parse().expect("a token is valid metadata"));
            }
        };
        if !rpc.client_streaming && !rpc.server_streaming {
            let mut request = tonic::Request::new(Bytes::from(messages.into_iter().next().unwrap_or_default()));
            authorize(request.metadata_mut());
            return match grpc.unary(request, path, RawCodec).await {
                Ok(answer) => Outcome::ok(vec![answer.into_inner().to_vec()]),
                Err(status) => Outcome::from_status(&status, Vec::new()),
            };
        }
        let mut request = tonic::Request::new(tokio_stream::iter(messages.into_iter().map(Bytes::from)));
        authorize(request.metadata_mut());
        if !rpc.server_streaming {
            return match grpc.client_streaming(request, path, RawCodec).await {
                Ok(answer) => Outcome::ok(vec![answer.into_inner().to_vec()]),
                Err(status) => Outcome::from_status(&status, Vec::new()),
            };
        }
        let mut stream = match grpc.streaming(request, path, RawCodec).await {
            Ok(answer) => answer.into_inner(),
            Err(status) => return Outcome::from_status(&status, Vec::new()),
        };
        let mut answers = Vec::new();
        loop {
            match stream.message().await {
                Ok(Some(answer)) => answers.push(answer.to_vec()),
                Ok(None) => return Outcome::ok(answers),
                Err(status) => return Outcome::from_status(&status, answers),
            }
        }
    };
    tokio::time::timeout(ANSWER_WITHIN, call).await.unwrap_or_else(|_| Outcome {
        code: Code::DeadlineExceeded,
        message: String::new(),
        broken: Some(format!("no answer within {} s", ANSWER_WITHIN.as_secs())),
        answers: Vec::new(),
        status_bytes: 0,
    })
}

impl Outcome {
    fn ok(answers: Vec<Vec<u8>>) -> Self {
        Self { code: Code::Ok, message: String::new(), broken: None, answers, status_bytes: 0 }
    }
}

// ---------------------------------------------------------------------------------------------
// The campaign
// ---------------------------------------------------------------------------------------------

/// What the campaign did to one service and what it found.
struct Report {
    service: &'static str,
    total: Tally,
    by_rpc: Vec<(&'static str, Tally)>,
    seconds: f64,
    defects: Vec<Defect>,
}

#[derive(Debug, Default, Clone)]
struct Tally {
    requests: usize,
    /// Messages sent on client streams.
    streamed: usize,
    /// Answers by code.
    codes: BTreeMap<i32, usize>,
    refused: usize,
    refused_unchanged: usize,
}

impl Tally {
    fn add(&mut self, streamed: usize, code: Code, refused: bool, unchanged: bool) {
        self.requests += 1;
        self.streamed += streamed;
        *self.codes.entry(code as i32).or_default() += 1;
        if refused {
            self.refused += 1;
            if unchanged {
                self.refused_unchanged += 1;
            }
        }
    }
}

/// One thing the oracle refused.
#[derive(Debug)]
struct Defect {
    rpc: &'static str,
    problem: String,
    seed: u64,
    case: usize,
    caller: &'static str,
    request: String,
    code: Code,
    message: String,
}

impl Defect {
    /// A defect of `what` as a whole rather than of one request.
    fn about(what: &'static str, problem: String) -> Self {
        Self {
            rpc: what,
            problem,
            seed: 0,
            case: 0,
            caller: "",
            request: String::new(),
            code: Code::Ok,
            message: String::new(),
        }
    }
}

/// Runs `requests` generated requests against `target`, round after round over its RPCs.
async fn campaign(target: &'static Target, requests: usize, seed: u64) -> Report {
    let started = Instant::now();
    let pool = descriptor_pool();
    let running = Running::start(target).await;
    let limit = running.service.keys.settings.max_message_bytes;
    let rpcs = rpcs_of(target);
    let mut seen = Seen::default();
    let mut filed: Vec<String> = Vec::new();
    for (seed, service) in running.peers.iter().map(|(t, s)| (t.seed, s)).chain([(target.seed, &running.service)]) {
        for (type_name, bytes) in seed(service, &filed).await {
            let descriptor = pool.get_message_by_name(type_name).unwrap_or_else(|| panic!("{type_name} is a message"));
            let resource = DynamicMessage::decode(descriptor, bytes.as_slice()).expect("a seeded resource decodes");
            if let Some(name) = resource.get_field_by_name("name").and_then(|n| n.as_str().map(str::to_owned)) {
                filed.push(name);
            }
            seen.learn(&resource);
        }
    }

    let mut total = Tally::default();
    let mut by_rpc: Vec<(&'static str, Tally)> = rpcs.iter().map(|r| (r.method, Tally::default())).collect();
    let mut defects = Vec::new();
    let rounds = requests.div_ceil(rpcs.len());
    'rounds: for case in 0..rounds {
        for (index, rpc) in rpcs.iter().enumerate() {
            if total.requests == requests {
                break 'rounds;
            }
            let rpc_seed = splitmix(seed ^ fnv1a(rpc.path));
            let input = pool.get_message_by_name(rpc.request).expect("the request type is in the descriptor set");
            let output = pool
                .get_service_by_name(rpc.service)
                .and_then(|s| s.methods().find(|m| m.name() == rpc.method))
                .expect("the RPC is in the descriptor set")
                .output();
            let mut generator = Generator::new(splitmix(rpc_seed ^ case as u64), rpc.method, &seen, limit);
            let caller = generator.caller(rpc, &running.callers);
            let (messages, request) = if rpc.client_streaming {
                generator.stream(&input)
            } else {
                let (message, request) = generator.request(&input);
                (vec![message], request)
            };
            let streamed = if rpc.client_streaming { messages.len() } else { 0 };
            let request_ids = generator.request_ids;
            seen.remember_request_ids(request_ids);

            // A list's request, kept to ask for its next page.
            let asked = if rpc.client_streaming { None } else { messages.first().cloned() };
            let before = rows(&running.service.db).await;
            let outcome = send(&running.channel, rpc, caller.token.as_deref(), messages).await;
            let after = rows(&running.service.db).await;

            let unchanged = before == after;
            for problem in oracle(rpc, caller, &outcome, before, after) {
                defects.push(Defect {
                    rpc: rpc.path,
                    problem,
                    seed: rpc_seed,
                    case,
                    caller: caller.label,
                    request: request.clone(),
                    code: outcome.code,
                    message: bounded(&outcome.message, 200),
                });
            }
            total.add(streamed, outcome.code, outcome.refused(), unchanged);
            by_rpc[index].1.add(streamed, outcome.code, outcome.refused(), unchanged);
            for answer in &outcome.answers {
                match DynamicMessage::decode(output.clone(), answer.as_slice()) {
                    Ok(message) => {
                        seen.learn(&message);
                        let asked = asked.as_deref().and_then(|m| DynamicMessage::decode(input.clone(), m).ok());
                        seen.learn_page_token(rpc.method, asked, &message);
                    }
                    Err(error) => defects.push(Defect {
                        rpc: rpc.path,
                        problem: format!("an answer does not decode as {}: {error}", output.full_name()),
                        seed: rpc_seed,
                        case,
                        caller: caller.label,
                        request: request.clone(),
                        code: outcome.code,
                        message: String::new(),
                    }),
                }
            }
        }
    }
    let mut defects_after = running.finish().await;
    defects.append(&mut defects_after);
    Report { service: target.spec.grpc_name(), total, by_rpc, seconds: started.elapsed().as_secs_f64(), defects }
}

// ---------------------------------------------------------------------------------------------
// What earlier answers taught
// ---------------------------------------------------------------------------------------------

/// Values seen in answers, for plausible requests: resource names, their etags, page tokens,
/// and every other string by the name of its field.
#[derive(Debug, Default)]
struct Seen {
    by_field: HashMap<String, Vec<String>>,
    /// Resource names by collection (`vacancies`).
    names: BTreeMap<String, Vec<String>>,
    /// Requests of a list RPC (by method) that ask for the page after one it answered.
    next_pages: HashMap<&'static str, Vec<Vec<u8>>>,
    etags: HashMap<String, String>,
}

/// Values kept per field.
const KEEP: usize = 256;

impl Seen {
    fn add(&mut self, field: &str, value: &str) {
        // Masked personal data (`421221********1234`) is no plausible input.
        if value.is_empty() || value.len() > 512 || value.contains('*') {
            return;
        }
        keep(self.by_field.entry(field.to_owned()).or_default(), value);
        if is_resource_name(value) {
            keep(self.names.entry(collection(value).to_owned()).or_default(), value);
        }
    }

    /// Learns every string of `message`, nested messages included; a message with a resource
    /// `name` and an `etag` gives that resource's latest etag.
    fn learn(&mut self, message: &DynamicMessage) {
        let (mut name, mut etag) = (None, None);
        for (field, value) in message.fields() {
            let key = if field.name().ends_with("page_token") { "page_token" } else { field.name() };
            match value {
                Value::String(s) => {
                    self.add(key, s);
                    match field.name() {
                        "name" if is_resource_name(s) => name = Some(s.clone()),
                        "etag" => etag = Some(s.clone()),
                        _ => {}
                    }
                }
                Value::Message(inner) => self.learn(inner),
                Value::List(items) => {
                    for item in items {
                        match item {
                            Value::Message(inner) => self.learn(inner),
                            Value::String(s) => self.add(key, s),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if let (Some(name), Some(etag)) = (name, etag) {
            self.etags.insert(name, etag);
        }
    }

    /// Learns the page token of an answer to `method`, as one that method takes back, and
    /// `request` asking for the next page.
    fn learn_page_token(&mut self, method: &'static str, request: Option<DynamicMessage>, answer: &DynamicMessage) {
        let Some(token) = answer.get_field_by_name("next_page_token").and_then(|t| t.as_str().map(str::to_owned))
        else {
            return;
        };
        if token.is_empty() {
            return;
        }
        keep(self.by_field.entry(format!("page_token {method}")).or_default(), &token);
        if let Some(mut request) = request
            && let Some(field) = request.descriptor().get_field_by_name("page_token")
        {
            request.set_field(&field, Value::String(token));
            let pages = self.next_pages.entry(method).or_default();
            if pages.len() < 16 {
                pages.push(request.encode_to_vec());
            } else {
                pages[usize::try_from(fnv1a(&show_message(&request)) % 16).expect("an index")] =
                    request.encode_to_vec();
            }
        }
    }

    fn remember_request_ids(&mut self, ids: Vec<String>) {
        for id in ids {
            keep(self.by_field.entry("request_id".to_owned()).or_default(), &id);
        }
    }
}

fn keep(values: &mut Vec<String>, value: &str) {
    if values.iter().any(|v| v == value) {
        return;
    }
    if values.len() < KEEP {
        values.push(value.to_owned());
    } else {
        values[usize::try_from(fnv1a(value) % KEEP as u64).expect("an index")] = value.to_owned();
    }
}

/// `collection/id` (or deeper), as the suite names resources.
fn is_resource_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() >= 2
        && parts.len().is_multiple_of(2)
        && parts[0].starts_with(|c: char| c.is_ascii_lowercase())
        && parts.iter().all(|p| {
            !p.is_empty() && p.len() <= 128 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The innermost collection of a resource name: `classes/…/trainees/…` → `trainees`.
fn collection(name: &str) -> &str {
    name.rsplit('/').nth(1).unwrap_or_default()
}

/// The singular a collection is called after: `vacancies` → `vacancy`, `workerNeeds` →
/// `workerneed`, `classes` → `class`.
fn singular_collection(collection: &str) -> String {
    let collection = collection.to_lowercase();
    if let Some(stem) = collection.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = collection.strip_suffix("sses").or_else(|| collection.strip_suffix("xes")) {
        format!("{stem}{}", if collection.ends_with("sses") { "ss" } else { "x" })
    } else {
        collection.strip_suffix('s').unwrap_or(&collection).to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Generated requests
// ---------------------------------------------------------------------------------------------

/// A tiny deterministic generator (xorshift64*), seeded per RPC and case.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(splitmix(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low).expect("low ≤ high") + 1;
        low + i64::try_from(self.next() % span).expect("within the span")
    }

    /// True `k` times in `n`.
    fn chance(&mut self, k: usize, n: usize) -> bool {
        self.below(n) < k
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_copy<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const REGIONS: &[&str] = &["421200", "421202", "421221", "421222", "421223", "421224", "421281"];
const OCCUPATIONS: &[&str] = &["6-18-02-04", "4-10-01-05", "6-31-01-03"];
const WORDS: &[&str] = &["焊接操作工", "嘉鱼重工装备有限公司", "持证优先", "扩产", "电工", "岗位取消", "咸宁", "ok"];
/// Dates no calendar has, and the edges of the years the suite takes (1..9999).
const DATES: &[(i32, i32, i32)] = &[
    (0, 1, 1),
    (10000, 1, 1),
    (2026, 13, 1),
    (2026, 2, 31),
    (2027, 2, 29),
    (2026, 4, 31),
    (2026, 0, 0),
    (2026, 12, 32),
    (2026, 1, 0),
    (-1, -1, -1),
    (i32::MAX, i32::MAX, i32::MAX),
    (i32::MIN, 1, 1),
    (9999, 12, 31),
    (1, 1, 1),
    (2028, 2, 29),
    (1900, 1, 1),
];
const NUMBERS_32: &[i32] =
    &[0, -1, 1, i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1, 13, 31, 32, 9999, 10_000, 100_000, -1000];
const NUMBERS_64: &[i64] = &[
    0,
    -1,
    1,
    i64::MIN,
    i64::MAX,
    i64::MIN + 1,
    i64::MAX - 1,
    i32::MAX as i64 + 1,
    i32::MIN as i64 - 1,
    10_000_001,
    253_402_300_800_000_000,
    -62_135_596_800_000_001,
    1 << 53,
];
/// Values a page token's position may be forged with.
const TOKEN_POSITIONS: &[&str] = &["", "zzzz", "' OR '1'='1", "\0", "-1", "99999999999999999999", "\u{202e}"];

/// Generates the requests of one case.
struct Generator<'a> {
    rng: Rng,
    /// The RPC's method, whose own page tokens are the plausible ones.
    method: &'static str,
    seen: &'a Seen,
    /// The largest message a service takes.
    limit: usize,
    /// Request ids this case made up, remembered so that later cases reuse some.
    request_ids: Vec<String>,
}

/// How deep generated messages nest.
const DEPTH: usize = 3;

impl<'a> Generator<'a> {
    fn new(seed: u64, method: &'static str, seen: &'a Seen, limit: usize) -> Self {
        Self { rng: Rng::new(seed), method, seen, limit, request_ids: Vec::new() }
    }

    /// Mostly a caller the RPC declares (the city admin half the time, when declared), sometimes
    /// one it does not, sometimes a bad token.
    fn caller<'c>(&mut self, rpc: &RpcInfo, callers: &'c [Caller]) -> &'c Caller {
        let bad: Vec<&Caller> = callers.iter().filter(|c| c.role.is_none()).collect();
        let outside: Vec<&Caller> = callers.iter().filter(|c| c.role.is_some_and(|r| !declares(rpc, r))).collect();
        let inside: Vec<&Caller> = callers.iter().filter(|c| c.role.is_some_and(|r| declares(rpc, r))).collect();
        let roll = self.rng.below(100);
        if roll < 4 || inside.is_empty() {
            return self.rng.pick_copy(&bad);
        }
        if roll < 14 && !outside.is_empty() {
            return self.rng.pick_copy(&outside);
        }
        if self.rng.chance(1, 2)
            && let Some(admin) = inside.iter().find(|c| c.role == Some(Role::CityAdmin))
        {
            return admin;
        }
        self.rng.pick_copy(&inside)
    }

    /// One request: its encoding and what it is, for a reader.
    fn request(&mut self, input: &MessageDescriptor) -> (Vec<u8>, String) {
        if let Some(pages) = self.seen.next_pages.get(self.method).filter(|p| !p.is_empty())
            && self.rng.chance(1, 8)
        {
            return (self.rng.pick(pages).clone(), "the next page of an earlier list".to_owned());
        }
        match self.rng.below(100) {
            0..20 => (self.plausible(input, 0).encode_to_vec(), "plausible".to_owned()),
            20..64 => {
                let mut message = self.plausible(input, 0);
                let change = self.make_one_hostile(&mut message, 0);
                self.bounded_request(input, message, format!("one hostile field: {change}"))
            }
            64..72 => {
                let message = self.hostile_message(input, 0);
                let shown = show_message(&message);
                self.bounded_request(input, message, format!("hostile throughout: {shown}"))
            }
            72..74 => (Vec::new(), "an empty message".to_owned()),
            74..99 => {
                let (base, what) = if self.rng.chance(1, 2) {
                    (self.plausible(input, 0), "plausible".to_owned())
                } else {
                    let mut message = self.plausible(input, 0);
                    let change = self.make_one_hostile(&mut message, 0);
                    (message, format!("one hostile field ({change})"))
                };
                let (bytes, mutation) = self.mutate_bytes(input, base.encode_to_vec());
                (bytes, format!("{mutation}, of a {what} message"))
            }
            _ => self.oversize(input),
        }
    }

    /// A message of a hostile case, or a plausible one if it grew past a megabyte (the size
    /// limit has cases of its own).
    fn bounded_request(
        &mut self,
        input: &MessageDescriptor,
        message: DynamicMessage,
        what: String,
    ) -> (Vec<u8>, String) {
        let bytes = message.encode_to_vec();
        if bytes.len() > 1 << 20 {
            return (self.plausible(input, 0).encode_to_vec(), "plausible".to_owned());
        }
        (bytes, what)
    }

    /// A stream of requests: none, a few or a few dozen, sometimes ending in one over the size
    /// limit after good ones.
    fn stream(&mut self, input: &MessageDescriptor) -> (Vec<Vec<u8>>, String) {
        let count = match self.rng.below(10) {
            0 => 0,
            1..=7 => 1 + self.rng.below(6),
            _ => 7 + self.rng.below(30),
        };
        let mut messages = Vec::with_capacity(count + 1);
        let mut notes = Vec::new();
        for i in 0..count {
            let (bytes, what) = if self.rng.chance(3, 5) {
                (self.plausible(input, 0).encode_to_vec(), "plausible".to_owned())
            } else {
                loop {
                    let (bytes, what) = self.request(input);
                    if bytes.len() <= self.limit {
                        break (bytes, what);
                    }
                }
            };
            if what != "plausible" && notes.len() < 4 {
                notes.push(format!("#{}: {what}", i + 1));
            }
            messages.push(bytes);
        }
        if self.rng.chance(1, 25) {
            let (bytes, what) = self.oversize(input);
            notes.push(format!("#{}: {what}", messages.len() + 1));
            messages.push(bytes);
        }
        let what = if notes.is_empty() {
            format!("a stream of {} plausible messages", messages.len())
        } else {
            format!("a stream of {} messages, plausible but {}", messages.len(), notes.join("; "))
        };
        (messages, what)
    }

    /// A plausible message with a field past the size limit.
    fn oversize(&mut self, input: &MessageDescriptor) -> (Vec<u8>, String) {
        let mut bytes = self.plausible(input, 0).encode_to_vec();
        let size = self.limit + 1;
        key(9_999, 2, &mut bytes);
        varint(size as u64, &mut bytes);
        bytes.resize(bytes.len() + size, b'a');
        (bytes, format!("a message over the {} MiB limit", self.limit >> 20))
    }

    // --- plausible values ---

    /// A message a careful client might send: every field (but one now and then) with a value
    /// that fits its name, names and etags seen in earlier answers first.
    fn plausible(&mut self, descriptor: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut message = DynamicMessage::new(descriptor.clone());
        for field in descriptor.fields() {
            if self.rng.chance(1, 30) {
                continue;
            }
            if let Some(value) = self.plausible_value(&field, descriptor, depth) {
                message.set_field(&field, value);
            }
        }
        // An etag that matches the named resource, so that updates can succeed.
        let etag = message
            .get_field_by_name("name")
            .and_then(|name| name.as_str().and_then(|name| self.seen.etags.get(name)).cloned());
        if let (Some(etag), Some(field)) = (etag, descriptor.get_field_by_name("etag"))
            && self.rng.chance(4, 5)
        {
            message.set_field(&field, Value::String(etag));
        }
        message
    }

    /// A plausible value of `field` of `parent`: a few items for a list, one entry for a map.
    fn plausible_value(&mut self, field: &FieldDescriptor, parent: &MessageDescriptor, depth: usize) -> Option<Value> {
        if field.is_map() {
            let entry = match field.kind() {
                Kind::Message(entry) => entry,
                _ => return None,
            };
            let key = map_key(self.plausible_single(&entry.map_entry_key_field(), &entry, depth)?)?;
            let value = self.plausible_single(&entry.map_entry_value_field(), &entry, depth)?;
            return Some(Value::Map(HashMap::from([(key, value)])));
        }
        if field.is_list() {
            let count = self.rng.below(4);
            let items: Vec<Value> = (0..count).filter_map(|_| self.plausible_single(field, parent, depth)).collect();
            return Some(Value::List(items));
        }
        self.plausible_single(field, parent, depth)
    }

    /// One plausible value of `field`'s kind; `None` for a message nested too deep.
    fn plausible_single(&mut self, field: &FieldDescriptor, parent: &MessageDescriptor, depth: usize) -> Option<Value> {
        let value = self.plausible_unbounded(field, parent, depth)?;
        // Inside what the proto declares, so that a plausible request can pass its field rules.
        Some(match (Declared::of(field), value) {
            (Some(rules), Value::String(text)) if rules.max_length > 0 && text.chars().count() > rules.max_length => {
                Value::String(text.chars().take(rules.max_length).collect())
            }
            (Some(rules), Value::I32(n)) => Value::I32(i32::try_from(rules.clamp(i64::from(n))).unwrap_or(n)),
            (Some(rules), Value::I64(n)) => Value::I64(rules.clamp(n)),
            (_, value) => value,
        })
    }

    fn plausible_unbounded(
        &mut self,
        field: &FieldDescriptor,
        parent: &MessageDescriptor,
        depth: usize,
    ) -> Option<Value> {
        let name = field.name();
        Some(match field.kind() {
            Kind::String => Value::String(self.plausible_string(field, parent)),
            Kind::Bytes => Value::Bytes(Bytes::from(self.random_bytes(16))),
            Kind::Bool => Value::Bool(self.rng.chance(1, 2)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                Value::I32(i32::try_from(self.plausible_number(name)).unwrap_or_default())
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(self.plausible_number(name)),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(u32::try_from(self.plausible_number(name)).unwrap_or_default()),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(u64::try_from(self.plausible_number(name)).unwrap_or_default()),
            Kind::Float => Value::F32(1.5),
            Kind::Double => Value::F64(1.5),
            Kind::Enum(e) => {
                let numbers: Vec<i32> = e.values().map(|v| v.number()).filter(|n| *n != 0).collect();
                Value::EnumNumber(if numbers.is_empty() { 0 } else { *self.rng.pick(&numbers) })
            }
            Kind::Message(m) if m.full_name() == "google.protobuf.FieldMask" => {
                let paths = self.plausible_mask_paths(parent);
                let count = if paths.is_empty() { 0 } else { 1 + self.rng.below(2) };
                let chosen: Vec<Value> = (0..count).map(|_| self.rng.pick(&paths).clone()).collect();
                mask(&m, chosen)
            }
            Kind::Message(m) => {
                if depth >= DEPTH {
                    return None;
                }
                Value::Message(self.plausible(&m, depth + 1))
            }
        })
    }

    /// A number that fits a field of this name.
    fn plausible_number(&mut self, field: &str) -> i64 {
        match field {
            "page_size" => *self.rng.pick(&[0, 1, 2, 10, 50, 500, 501]),
            "headcount" => self.rng.between(1, 30),
            // Some dates lie behind (violations, findings), most ahead (deadlines, plans).
            "year" => self.rng.between(this_year() - 2, this_year() + 4),
            "month" => self.rng.between(1, 12),
            "day" => self.rng.between(1, 28),
            "pay_min_fen" | "wanted_pay_min_fen" => self.rng.between(3, 5) * 100_000,
            "pay_max_fen" => self.rng.between(5, 9) * 100_000,
            f if f.ends_with("_fen") => self.rng.between(1, 20) * 100_000,
            f if f.ends_with("_micros") => 0,
            f if f.ends_with("revision") => self.rng.between(1, 4),
            _ => self.rng.between(0, 10),
        }
    }

    /// Text that fits a field of this name: a resource name, a value seen in an answer under the
    /// same field name, a valid code, or a few words.
    fn plausible_string(&mut self, field: &FieldDescriptor, parent: &MessageDescriptor) -> String {
        let name = field.name();
        if let Some(resource) = self.resource_for(name, parent) {
            return resource;
        }
        if name != "name"
            && let Some(seen) = self.seen.by_field.get(name).filter(|v| !v.is_empty())
            && self.rng.chance(2, 3)
        {
            return self.rng.pick(seen).clone();
        }
        match name {
            n if n.ends_with("credit_code") || n == "organisation" || n == "org" => {
                if self.rng.chance(1, 2) {
                    own_org()
                } else {
                    let serial: String = (0..9).map(|_| char::from(*self.rng.pick(USCC_CHARS))).collect();
                    fixtures::uscc(&format!("91{}{serial}", self.rng.pick(REGIONS)))
                }
            }
            n if n.ends_with("region_code") => (*self.rng.pick(REGIONS)).to_owned(),
            n if n.ends_with("occupation_code") => (*self.rng.pick(OCCUPATIONS)).to_owned(),
            // Few people, so that the same person is filed twice now and then.
            "id_number" => fixtures::id_number(&format!("42122119900101{:03}", self.rng.below(24))),
            "phone" => format!("138{:08}", self.rng.below(100_000_000)),
            "score" | "points" => format!("{}.{:02}", self.rng.below(101), self.rng.below(100)),
            "etag" => format!("{:016x}", self.rng.next()),
            "page_token" => {
                let own = self.seen.by_field.get(&format!("page_token {}", self.method)).filter(|t| !t.is_empty());
                match own {
                    Some(tokens) if self.rng.chance(1, 2) => self.rng.pick(tokens).clone(),
                    _ => String::new(),
                }
            }
            "request_id" => {
                if let Some(used) = self.seen.by_field.get("request_id").filter(|v| !v.is_empty())
                    && self.rng.chance(1, 6)
                {
                    return self.rng.pick(used).clone();
                }
                if self.rng.chance(1, 4) {
                    return String::new();
                }
                let id = format!("campaign-{:016x}", self.rng.next());
                self.request_ids.push(id.clone());
                id
            }
            _ => (*self.rng.pick(WORDS)).to_owned(),
        }
    }

    /// A resource name seen before, for a field that names one: `name` (a resource of the kind
    /// its message is about) or a field called after a collection (`vacancy`, `worker_need`).
    fn resource_for(&mut self, field: &str, parent: &MessageDescriptor) -> Option<String> {
        let about = parent.name().to_lowercase();
        let wanted = field.replace('_', "");
        let fits: Vec<&Vec<String>> = self
            .seen
            .names
            .iter()
            .filter(|(collection, _)| {
                let singular = singular_collection(collection);
                if field == "name" { about.contains(&singular) } else { wanted == singular }
            })
            .map(|(_, names)| names)
            .collect();
        if !fits.is_empty() {
            let names = *self.rng.pick(&fits);
            return Some(self.rng.pick(names).clone());
        }
        if field == "name" { self.any_name() } else { None }
    }

    /// Any resource name seen, of any collection.
    fn any_name(&mut self) -> Option<String> {
        let collections: Vec<&Vec<String>> = self.seen.names.values().collect();
        if collections.is_empty() {
            return None;
        }
        let names = *self.rng.pick(&collections);
        Some(self.rng.pick(names).clone())
    }

    /// The paths an update mask of `parent` would plausibly name: the fields of its resource
    /// message but those the service keeps (name, etag, state, revision, instants).
    fn plausible_mask_paths(&self, parent: &MessageDescriptor) -> Vec<Value> {
        let kept = |path: &str| matches!(path, "name" | "etag" | "state" | "revision") || path.ends_with("_micros");
        self.mask_paths(parent).into_iter().filter(|p| !p.as_str().is_some_and(kept)).collect()
    }

    /// Every path an update mask of `parent` may name: the fields of its resource message.
    fn mask_paths(&self, parent: &MessageDescriptor) -> Vec<Value> {
        parent
            .fields()
            .filter_map(|f| match f.kind() {
                Kind::Message(m) if !f.is_list() && m.package_name().starts_with("qiancheng.") => Some(m),
                _ => None,
            })
            .flat_map(|m| m.fields().map(|f| Value::String(f.name().to_owned())).collect::<Vec<_>>())
            .collect()
    }

    fn random_bytes(&mut self, max: usize) -> Vec<u8> {
        let count = self.rng.below(max + 1);
        (0..count).map(|_| self.rng.next().to_le_bytes()[0]).collect()
    }

    // --- hostile values ---

    /// Makes one field of `message` (perhaps nested) hostile, and says which and how.
    fn make_one_hostile(&mut self, message: &mut DynamicMessage, depth: usize) -> String {
        let descriptor = message.descriptor();
        let fields: Vec<FieldDescriptor> = descriptor.fields().collect();
        if fields.is_empty() {
            return "(the message has no fields)".to_owned();
        }
        let field = self.rng.pick(&fields).clone();
        if let Kind::Message(inner) = field.kind()
            && !field.is_list()
            && !field.is_map()
            && inner.full_name() != "google.protobuf.FieldMask"
            && depth < DEPTH
            && self.rng.chance(if inner.full_name() == DATE { 1 } else { 2 }, 3)
        {
            let mut nested = match message.get_field(&field).as_ref() {
                Value::Message(nested) => nested.clone(),
                _ => self.plausible(&inner, depth + 1),
            };
            let change = self.make_one_hostile(&mut nested, depth + 1);
            message.set_field(&field, Value::Message(nested));
            return format!("{}.{change}", field.name());
        }
        let value = self.hostile_value(&field, &descriptor, depth);
        let change = format!("{} = {}", field.name(), show(&value));
        message.set_field(&field, value);
        change
    }

    /// A message with about half its fields hostile, all the way down.
    fn hostile_message(&mut self, descriptor: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut message = DynamicMessage::new(descriptor.clone());
        for field in descriptor.fields() {
            let value = if self.rng.chance(1, 2) {
                Some(self.hostile_value(&field, descriptor, depth))
            } else {
                self.plausible_value(&field, descriptor, depth)
            };
            if let Some(value) = value {
                message.set_field(&field, value);
            }
        }
        message
    }

    /// A hostile value of `field`: half the time, when the field declares rules in its proto
    /// (`qiancheng.type.v1.field`), a value exactly at one of its boundaries or one past it;
    /// otherwise an empty, a huge or a hostile list, or one hostile value.
    fn hostile_value(&mut self, field: &FieldDescriptor, parent: &MessageDescriptor, depth: usize) -> Value {
        if let Some(rules) = Declared::of(field)
            && self.rng.chance(1, 2)
            && let Some(value) = self.at_boundary(field, &rules, parent, depth)
        {
            return value;
        }
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else { return Value::Map(HashMap::new()) };
            let key = map_key(self.hostile_single(&entry.map_entry_key_field(), &entry, depth));
            let value = self.hostile_single(&entry.map_entry_value_field(), &entry, depth);
            return Value::Map(key.map(|k| HashMap::from([(k, value)])).unwrap_or_default());
        }
        if field.is_list() {
            return match self.rng.below(3) {
                0 => Value::List(Vec::new()),
                1 => {
                    let count = if matches!(field.kind(), Kind::Message(_)) { 200 } else { 1_000 };
                    match self.plausible_single(field, parent, depth) {
                        Some(one) => Value::List(vec![one; count]),
                        None => Value::List(Vec::new()),
                    }
                }
                _ => {
                    let count = 1 + self.rng.below(4);
                    Value::List((0..count).map(|_| self.hostile_single(field, parent, depth)).collect())
                }
            };
        }
        self.hostile_single(field, parent, depth)
    }

    /// A value of `field` at a boundary its proto declares, or one past it: a text of exactly
    /// `max_length` characters or one more, a number at `min` or `max` or one beyond, a list of
    /// `max_items` items or one more, an empty required value.
    fn at_boundary(
        &mut self,
        field: &FieldDescriptor,
        rules: &Declared,
        parent: &MessageDescriptor,
        depth: usize,
    ) -> Option<Value> {
        let past = self.rng.chance(1, 2);
        if field.is_list() {
            let count = if rules.max_items > 0 {
                rules.max_items + usize::from(past)
            } else if rules.required {
                0
            } else {
                return None;
            };
            let one = self.plausible_single(field, parent, depth)?;
            return Some(Value::List(vec![one; count]));
        }
        let number = |bound: Option<i64>, step: i64| bound.map(|b| if past { b.saturating_add(step) } else { b });
        match field.kind() {
            Kind::String if rules.max_length > 0 => {
                let length = rules.max_length + usize::from(past);
                Some(Value::String("焊".repeat(length)))
            }
            Kind::String if rules.required => Some(Value::String(if past { " ".into() } else { String::new() })),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                let at = if self.rng.chance(1, 2) { number(rules.min, -1) } else { number(rules.max, 1) };
                let at = at.or(if rules.required { Some(0) } else { None })?;
                Some(match field.kind() {
                    Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(at),
                    _ => Value::I32(i32::try_from(at).unwrap_or(if at < 0 { i32::MIN } else { i32::MAX })),
                })
            }
            Kind::Enum(_) if rules.required => Some(Value::EnumNumber(0)),
            _ => None,
        }
    }

    /// One hostile value of `field`'s kind: edge and absurd numbers, unknown enum numbers,
    /// impossible dates, odd update masks, empty or hostile messages, hostile text.
    fn hostile_single(&mut self, field: &FieldDescriptor, parent: &MessageDescriptor, depth: usize) -> Value {
        let name = field.name();
        match field.kind() {
            Kind::String => Value::String(self.hostile_string(field, parent)),
            Kind::Bytes => {
                let size = *self.rng.pick(&[0, 1, 4096, 100_000]);
                Value::Bytes(Bytes::from(vec![0xff; size]))
            }
            Kind::Bool => Value::Bool(true),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(if self.rng.chance(1, 4) {
                let near = i32::try_from(self.plausible_number(name)).unwrap_or_default();
                *self.rng.pick(&[near.wrapping_add(1), near.wrapping_neg(), near.saturating_mul(1000)])
            } else {
                *self.rng.pick(NUMBERS_32)
            }),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(if self.rng.chance(1, 4) {
                let near = self.plausible_number(name);
                *self.rng.pick(&[near.wrapping_add(1), near.wrapping_neg(), near.saturating_mul(1000)])
            } else {
                *self.rng.pick(NUMBERS_64)
            }),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(*self.rng.pick(&[0, 1, u32::MAX, u32::MAX - 1, 1 << 31])),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(*self.rng.pick(&[0, 1, u64::MAX, u64::MAX - 1, 1 << 63])),
            Kind::Float => Value::F32(*self.rng.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::MAX])),
            Kind::Double => Value::F64(*self.rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MAX])),
            Kind::Enum(e) => {
                let highest = e.values().map(|v| v.number()).max().unwrap_or_default();
                Value::EnumNumber(*self.rng.pick(&[0, -1, highest.saturating_add(1), 99, i32::MAX, i32::MIN]))
            }
            Kind::Message(m) if m.full_name() == DATE => {
                let (year, month, day) = *self.rng.pick(DATES);
                let mut date = DynamicMessage::new(m.clone());
                for (field, value) in [("year", year), ("month", month), ("day", day)] {
                    if let Some(field) = m.get_field_by_name(field) {
                        date.set_field(&field, Value::I32(value));
                    }
                }
                Value::Message(date)
            }
            Kind::Message(m) if m.full_name() == "google.protobuf.FieldMask" => {
                let paths = self.mask_paths(parent);
                let some = if paths.is_empty() { Value::String("name".into()) } else { self.rng.pick(&paths).clone() };
                let chosen = match self.rng.below(8) {
                    0 => vec![Value::String("*".into())],
                    1 => Vec::new(),
                    2 => vec![Value::String(String::new())],
                    3 => vec![Value::String("no_such_field".into())],
                    4 => vec![some.clone(), some],
                    5 => vec![some; 1_000],
                    6 => {
                        let resource = parent
                            .fields()
                            .find(|f| !f.is_list() && matches!(f.kind(), Kind::Message(m) if m.package_name().starts_with("qiancheng.")))
                            .map_or_else(|| "resource".to_owned(), |f| f.name().to_owned());
                        vec![Value::String(format!("{resource}.{}", some.as_str().unwrap_or("name")))]
                    }
                    _ => vec![Value::String(self.hostile_string(field, parent))],
                };
                mask(&m, chosen)
            }
            Kind::Message(m) => match self.rng.below(3) {
                0 => Value::Message(DynamicMessage::new(m)),
                1 if depth < DEPTH => Value::Message(self.hostile_message(&m, depth + 1)),
                _ => {
                    let mut message = self.plausible(&m, (depth + 1).min(DEPTH));
                    if depth < DEPTH {
                        self.make_one_hostile(&mut message, depth + 1);
                    }
                    Value::Message(message)
                }
            },
        }
    }

    /// Hostile text: empty, at and past the length limit, control characters, bidirectional
    /// overrides, malformed and foreign resource names and page tokens, codes almost right.
    fn hostile_string(&mut self, field: &FieldDescriptor, parent: &MessageDescriptor) -> String {
        let plausible = self.plausible_string(field, parent);
        let some_name = self.any_name().unwrap_or_else(|| "vacancies/01J00000000000000000000000".to_owned());
        let collection = some_name.split('/').next().unwrap_or("vacancies").to_owned();
        match self.rng.below(32) {
            0 => String::new(),
            1 => " ".to_owned(),
            2 => "a".repeat(10_000),
            3 => "a".repeat(10_001),
            4 => "咸".repeat(10_001),
            5 => "x".repeat(100_000),
            6 => "宁".repeat(100_000),
            7 => format!("{plausible}\0"),
            8 => "a\0b".to_owned(),
            9 => format!("\u{1b}[31m{plausible}\u{1b}[0m"),
            10 => format!("\u{202e}{plausible}"),
            11 => format!("{collection}/../x"),
            12 => format!("{collection}/"),
            13 => format!("{collection}/{}", "A".repeat(1_024)),
            14 => format!("{some_name}/extra"),
            15 => format!(" {plausible} "),
            16 if self.rng.chance(1, 2) => plausible.to_lowercase(),
            16 => plausible.to_uppercase(),
            17 => plausible
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c) } else { c })
                .collect(),
            18 => "'; DROP TABLE audit_log; --".to_owned(),
            19 => "%s%n{}{0}\\x00\\u0000".to_owned(),
            20 => "😀👩‍🔧 e\u{301} \u{10ffff}\u{fffe}".to_owned(),
            21 => format!("\u{feff}{plausible}"),
            22 => URL_SAFE_NO_PAD.encode(self.random_bytes(64)),
            23 => self.forged_page_token(),
            24 => {
                self.seen.by_field.get("page_token").filter(|t| !t.is_empty()).map_or_else(
                    || URL_SAFE_NO_PAD.encode("0000000000000000:x"),
                    |tokens| self.rng.pick(tokens).clone(),
                )
            }
            25 => "\n\t\r".to_owned(),
            26 => (*self.rng.pick(&["/", "//", "vacancies//x", "workerNeeds/%2e%2e", "enterprises/*", "vacancies/-1"]))
                .to_owned(),
            27 => fixtures::with_wrong_check(&own_org()),
            28 => fixtures::id_number("42122119900101123"),
            29 => (0..1 + self.rng.below(64)).map(|_| char::from(32 + (self.rng.next() % 95) as u8)).collect(),
            30 => "\u{7f}\u{85}\u{2028}".to_owned(),
            _ => format!("{plausible}{}", "9".repeat(1 + self.rng.below(40))),
        }
    }

    /// A page token seen before with its position replaced, or random text.
    fn forged_page_token(&mut self) -> String {
        let Some(tokens) = self.seen.by_field.get("page_token").filter(|t| !t.is_empty()) else {
            return URL_SAFE_NO_PAD.encode(format!("{:016x}:x", self.rng.next()));
        };
        let token = self.rng.pick(tokens).clone();
        let decoded = URL_SAFE_NO_PAD.decode(&token).ok().and_then(|b| String::from_utf8(b).ok());
        let Some((fingerprint, _)) = decoded.as_deref().and_then(|t| t.split_once(':')) else {
            return format!("{token}x");
        };
        let position =
            if self.rng.chance(1, 8) { "A".repeat(1_000) } else { (*self.rng.pick(TOKEN_POSITIONS)).to_owned() };
        URL_SAFE_NO_PAD.encode(format!("{fingerprint}:{position}"))
    }

    // --- raw bytes ---

    /// A mutation of an encoded message, and what it is.
    fn mutate_bytes(&mut self, descriptor: &MessageDescriptor, mut bytes: Vec<u8>) -> (Vec<u8>, String) {
        let any_field = |_: &FieldDescriptor| true;
        let what = match self.rng.below(14) {
            0 if !bytes.is_empty() => {
                let (before, cut) = (bytes.len(), self.rng.below(bytes.len()));
                bytes.truncate(cut);
                format!("truncated to {cut} of {before} bytes")
            }
            1 if !bytes.is_empty() => {
                let flips = 1 + self.rng.below(4);
                for _ in 0..flips {
                    let at = self.rng.below(bytes.len());
                    bytes[at] ^= 1 << self.rng.below(8);
                }
                format!("{flips} bits flipped")
            }
            2 => {
                let Some(path) = self.field_path(descriptor, &any_field) else { return (bytes, "unchanged".into()) };
                let leaf = path.last().expect("a path has a field");
                let right = wire_type(leaf);
                let packable = leaf.is_list() && right != 2;
                let wrong: Vec<u8> =
                    [0u8, 1, 2, 5, 3].into_iter().filter(|w| *w != right && !(packable && *w == 2)).collect();
                let wire = *self.rng.pick(&wrong);
                let mut field = Vec::new();
                key(leaf.number(), wire, &mut field);
                match wire {
                    0 => varint(150, &mut field),
                    1 => field.extend([0xab; 8]),
                    2 => field.extend([3, b'a', b'b', b'c']),
                    5 => field.extend([0xab; 4]),
                    _ => key(leaf.number(), 4, &mut field),
                }
                bytes.extend(wrap(&path, field));
                format!("{} sent with wire type {wire} (it is {right})", dotted(&path))
            }
            3 => {
                let is_text = |f: &FieldDescriptor| matches!(f.kind(), Kind::String);
                let Some(path) = self.field_path(descriptor, &is_text) else {
                    return (bytes, "unchanged (no text field)".into());
                };
                let invalid: &[u8] = self.rng.pick_copy(&[
                    &[0xff][..],
                    &[0xc3, 0x28],
                    &[0xe2, 0x28, 0xa1],
                    &[0xed, 0xa0, 0x80],
                    b"ab\xc0\xafcd",
                    &[0xf8, 0x88, 0x80, 0x80, 0x80],
                ]);
                let mut field = Vec::new();
                key(path.last().expect("a field").number(), 2, &mut field);
                varint(invalid.len() as u64, &mut field);
                field.extend(invalid);
                bytes.extend(wrap(&path, field));
                format!("invalid UTF-8 in {}", dotted(&path))
            }
            4 => {
                let Some(path) = self.field_path(descriptor, &any_field) else { return (bytes, "unchanged".into()) };
                let length = *self.rng.pick(&[u64::from(u32::MAX), u64::MAX >> 1, 1 << 31, (self.limit + 1) as u64]);
                let mut field = Vec::new();
                key(path.last().expect("a field").number(), 2, &mut field);
                varint(length, &mut field);
                field.extend(b"abc");
                bytes.extend(wrap(&path, field));
                format!("{} with a length prefix of {length}", dotted(&path))
            }
            5 => {
                key(1, 0, &mut bytes);
                bytes.extend([0xff; 10]);
                bytes.push(0x01);
                "an 11-byte varint in field 1".to_owned()
            }
            6 => {
                bytes.extend([0x00, 0x01]);
                "a field numbered 0".to_owned()
            }
            7 => {
                let number = u32::try_from(self.rng.between(10_000, 536_870_911)).expect("a field number");
                key(number, 2, &mut bytes);
                bytes.extend([2, b'o', b'k']);
                format!("an unknown field {number}")
            }
            8 => {
                key(9_999, 3, &mut bytes);
                "a group that never ends".to_owned()
            }
            9 => {
                key(9_999, 4, &mut bytes);
                "the end of a group that never began".to_owned()
            }
            10 => {
                bytes = self.random_bytes(256);
                format!("{} random bytes", bytes.len())
            }
            11 => {
                let Some(path) = self.field_path(descriptor, &any_field) else { return (bytes, "unchanged".into()) };
                let mut field = Vec::new();
                key(path.last().expect("a field").number(), 2, &mut field);
                field.extend([100, b'a', b'b', b'c']);
                bytes.extend(wrap(&path, field));
                format!("{} with a length past the end", dotted(&path))
            }
            12 => {
                let copy = bytes.clone();
                bytes.extend(copy);
                "the message twice over".to_owned()
            }
            _ => {
                for _ in 0..200 {
                    key(9_999, 3, &mut bytes);
                }
                for _ in 0..200 {
                    key(9_999, 4, &mut bytes);
                }
                "200 nested groups".to_owned()
            }
        };
        (bytes, what)
    }

    /// A field of `descriptor` that `fits`, perhaps inside singular message fields, as the path
    /// of fields down to it.
    fn field_path(
        &mut self,
        descriptor: &MessageDescriptor,
        fits: &dyn Fn(&FieldDescriptor) -> bool,
    ) -> Option<Vec<FieldDescriptor>> {
        let mut paths = Vec::new();
        field_paths(descriptor, fits, DEPTH, &mut Vec::new(), &mut paths);
        (!paths.is_empty()).then(|| self.rng.pick(&paths).clone())
    }
}

const DATE: &str = "qiancheng.type.v1.Date";

/// The rules a field declares with `qiancheng.type.v1.field`, as the build reads them to
/// generate each request's checks: the campaign sends values at each boundary and one past it.
#[derive(Debug, Clone, Default)]
struct Declared {
    required: bool,
    max_length: usize,
    min: Option<i64>,
    max: Option<i64>,
    max_items: usize,
}

impl Declared {
    fn of(field: &FieldDescriptor) -> Option<Self> {
        let extension = field.parent_pool().get_extension_by_name("qiancheng.type.v1.field")?;
        let options = field.options();
        if !options.has_extension(&extension) {
            return None;
        }
        let value = options.get_extension(&extension);
        let rules = value.as_message()?;
        let get = |name: &str| rules.get_field_by_name(name);
        let has = |name: &str| rules.has_field_by_name(name);
        Some(Self {
            required: get("required").and_then(|v| v.as_bool()).unwrap_or(false),
            max_length: get("max_length").and_then(|v| v.as_u32()).map_or(0, |n| n as usize),
            min: if has("min") { get("min").and_then(|v| v.as_i64()) } else { None },
            max: if has("max") { get("max").and_then(|v| v.as_i64()) } else { None },
            max_items: get("max_items").and_then(|v| v.as_u32()).map_or(0, |n| n as usize),
        })
    }

    /// `n` inside the declared range.
    fn clamp(&self, n: i64) -> i64 {
        n.max(self.min.unwrap_or(i64::MIN)).min(self.max.unwrap_or(i64::MAX))
    }
}

#[test]
fn the_campaign_reads_the_rules_fields_declare() {
    let pool = descriptor_pool();
    let vacancy = pool.get_message_by_name("qiancheng.demand.v1.Vacancy").expect("the vacancy message");
    let headcount = Declared::of(&vacancy.get_field_by_name("headcount").expect("headcount")).expect("declared");
    assert_eq!((headcount.min, headcount.max), (Some(1), Some(10_000)));
    let post = Declared::of(&vacancy.get_field_by_name("post").expect("post")).expect("declared");
    assert!(post.required && post.max_length == 100);
    assert!(Declared::of(&vacancy.get_field_by_name("name").expect("name")).is_none());
}

/// The current year, near enough for dates that lie ahead.
fn this_year() -> i64 {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    1970 + i64::try_from(seconds / 31_556_952).unwrap_or_default()
}
const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn field_paths(
    descriptor: &MessageDescriptor,
    fits: &dyn Fn(&FieldDescriptor) -> bool,
    depth: usize,
    prefix: &mut Vec<FieldDescriptor>,
    out: &mut Vec<Vec<FieldDescriptor>>,
) {
    for field in descriptor.fields() {
        if fits(&field) {
            let mut path = prefix.clone();
            path.push(field.clone());
            out.push(path);
        }
        if depth > 0
            && !field.is_list()
            && !field.is_map()
            && let Kind::Message(inner) = field.kind()
        {
            prefix.push(field.clone());
            field_paths(&inner, fits, depth - 1, prefix, out);
            prefix.pop();
        }
    }
}

/// `field`, encoded with its key, inside the messages of the path above it.
fn wrap(path: &[FieldDescriptor], field: Vec<u8>) -> Vec<u8> {
    let mut bytes = field;
    for outer in path[..path.len() - 1].iter().rev() {
        let mut wrapped = Vec::with_capacity(bytes.len() + 6);
        key(outer.number(), 2, &mut wrapped);
        varint(bytes.len() as u64, &mut wrapped);
        wrapped.extend(bytes);
        bytes = wrapped;
    }
    bytes
}

fn dotted(path: &[FieldDescriptor]) -> String {
    path.iter().map(FieldDescriptor::name).collect::<Vec<_>>().join(".")
}

fn wire_type(field: &FieldDescriptor) -> u8 {
    match field.kind() {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        _ if field.is_map() => 2,
        _ => 0,
    }
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
    varint((u64::from(field) << 3) | u64::from(wire), out);
}

fn mask(descriptor: &MessageDescriptor, paths: Vec<Value>) -> Value {
    let mut mask = DynamicMessage::new(descriptor.clone());
    if let Some(field) = descriptor.get_field_by_name("paths") {
        mask.set_field(&field, Value::List(paths));
    }
    Value::Message(mask)
}

fn map_key(value: Value) -> Option<MapKey> {
    Some(match value {
        Value::Bool(v) => MapKey::Bool(v),
        Value::I32(v) => MapKey::I32(v),
        Value::I64(v) => MapKey::I64(v),
        Value::U32(v) => MapKey::U32(v),
        Value::U64(v) => MapKey::U64(v),
        Value::String(v) => MapKey::String(v),
        _ => return None,
    })
}

/// A value as a reader of a defect wants it: long text cut, with its length.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => show_text(s),
        Value::Bytes(b) => format!("{} bytes", b.len()),
        Value::List(items) => match items.first() {
            None => "[]".to_owned(),
            Some(first) => format!("[{} items, first {}]", items.len(), show(first)),
        },
        Value::Map(entries) => format!("{{{} entries}}", entries.len()),
        Value::Message(message) => show_message(message),
        Value::EnumNumber(n) => format!("enum number {n}"),
        other => format!("{other:?}"),
    }
}

fn show_message(message: &DynamicMessage) -> String {
    let fields: Vec<String> = message.fields().map(|(f, v)| format!("{}: {}", f.name(), show(v))).collect();
    bounded(&format!("{{{}}}", fields.join(", ")), 400)
}

fn show_text(text: &str) -> String {
    let count = text.chars().count();
    if count <= 48 {
        format!("{text:?}")
    } else {
        format!("{:?}… ({count} chars)", text.chars().take(24).collect::<String>())
    }
}

fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max).chain(['…']).collect() }
}

// ---------------------------------------------------------------------------------------------
// Panics of server tasks
// ---------------------------------------------------------------------------------------------

/// Panics on the runtime's worker threads, where the servers run (the tests' own assertions
/// run on the test's thread).
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn count_server_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tokio-runtime-worker") {
                SERVER_PANICS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(bounded(&info.to_string(), 400));
            }
            previous(info);
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// What is printed
// ---------------------------------------------------------------------------------------------

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A code in a matrix cell.
fn short_code(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::InvalidArgument => "INVALID",
        Code::NotFound => "NOT_FOUND",
        Code::PermissionDenied => "DENIED",
        Code::FailedPrecondition => "PRECOND",
        Code::ResourceExhausted => "EXHAUSTED",
        Code::Unauthenticated => "UNAUTH",
        other => code_name(other),
    }
}

fn print_summary(reports: &[Report]) {
    let codes: BTreeSet<i32> = reports.iter().flat_map(|r| r.total.codes.keys().copied()).collect();
    let mut headers: Vec<String> =
        ["service / RPC", "requests", "stream messages", "refused", "refused-and-unchanged", "seconds"]
            .map(String::from)
            .into();
    headers.extend(codes.iter().map(|c| code_name(Code::from_i32(*c)).to_owned()));
    let row = |name: String, tally: &Tally, seconds: String| {
        let mut row = vec![
            name,
            tally.requests.to_string(),
            tally.streamed.to_string(),
            tally.refused.to_string(),
            tally.refused_unchanged.to_string(),
            seconds,
        ];
        row.extend(codes.iter().map(|c| tally.codes.get(c).map_or_else(String::new, ToString::to_string)));
        row
    };
    let mut rows = Vec::new();
    for report in reports {
        rows.push(row(report.service.to_owned(), &report.total, format!("{:.1}", report.seconds)));
        for (method, tally) in &report.by_rpc {
            rows.push(row(format!("  {method}"), tally, String::new()));
        }
    }
    print_table(&headers, &rows);
}

fn print_table(headers: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .chain([&headers[i]])
                .map(|c| c.chars().count())
                .max()
                .unwrap_or_default()
        })
        .collect();
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
            if i == 0 {
                out.push_str(&format!("{cell}{pad}"));
            } else {
                out.push_str(&format!("  {pad}{cell}"));
            }
        }
        out
    };
    println!("{}", line(headers));
    for row in rows {
        println!("{}", line(row));
    }
}

/// Prints every defect, grouped by RPC and problem with the first few examples of each, and
/// fails if there is any.
fn report_defects(defects: &[Defect], rerun: &str) {
    if defects.is_empty() {
        return;
    }
    let mut groups: BTreeMap<(&str, String), Vec<&Defect>> = BTreeMap::new();
    for defect in defects {
        let problem: String = defect.problem.chars().take_while(|c| *c != '(' && *c != ':').collect();
        groups.entry((defect.rpc, problem)).or_default().push(defect);
    }
    println!("\n{} defects in {} groups:", defects.len(), groups.len());
    for ((rpc, _), examples) in &groups {
        println!("\n{rpc}: {} × {}", examples.len(), examples[0].problem);
        for defect in examples.iter().take(3).filter(|d| !d.request.is_empty()) {
            let case = if defect.seed == 0 {
                String::new()
            } else {
                format!("RPC seed {:#x}, case {}, ", defect.seed, defect.case)
            };
            println!(
                "  {case}as {}: {}\n    → {} {:?}",
                defect.caller,
                defect.request,
                code_name(defect.code),
                defect.message
            );
        }
    }
    panic!("{} defects in {} groups (listed above); {rerun}", defects.len(), groups.len());
}
