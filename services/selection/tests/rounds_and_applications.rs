//! Selection rounds, applications, expert review and projects through the generated client, on
//! a real server on port 0, once on SQLite and once on PostgreSQL (when
//! `QIANCHENG_TEST_DATABASE_URL` is set). The service decides under policy set v2 (quota mode
//! FIT, 核减, brands advised, PROJ-INSERVICE); the scenarios of `under_policy_set_v1` show that a
//! v1 set still decides as v1 did.

mod common;

use common::{App, CITY, COUNTY, OTHER_COUNTY, bad_fields, reason};
use qiancheng_api::selection::*;
use qiancheng_api::types::{Date, Industry, SkillLevel};
use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::auth::Role;
use qiancheng_testkit::{Backend, authed, backend_tests, fixtures};
use tonic::Code;

async fn start(backend: Backend) -> Option<App> {
    with_quotas(common::start(backend).await?).await
}

/// PROJ-QUOTA: the city sets every region's yearly quota before rounds are decided; the rounds
/// of these tests close in 2099.
async fn with_quotas(app: App) -> Option<App> {
    for region in ["421200", "421202", "421221", "421222", "421223", "421224", "421281"] {
        app.set_quota(region, 2099, 1_000_000).await.expect("quota set");
    }
    Some(app)
}

/// The basis an item for in-service workers records (PROJ-INSERVICE).
const URGENT_LIST: &str = "咸宁市急需紧缺职业(工种)目录(2025年版)";

fn far_deadline() -> Date {
    Date { year: 2099, month: 12, day: 31 }
}

/// A complete plan (PROJ-PLAN): every part there, safety included.
fn complete_plan() -> Plan {
    Plan {
        application_summary: "面向装备制造企业的焊工培训".into(),
        teaching_plan: "理论40学时,实操80学时".into(),
        safety_content: "焊接安全操作规程与防护".into(),
        training_mode: TrainingMode::Offline as i32,
        assessment_method: "理论考试与实操考核".into(),
        employment_measures: "与合作企业签订用工协议".into(),
    }
}

fn filing() -> Filing {
    Filing {
        project_title: "嘉鱼焊工培训".into(),
        planned_start: Some(Date { year: 2099, month: 3, day: 1 }),
        planned_end: Some(Date { year: 2099, month: 4, day: 30 }),
        venue: "嘉鱼县实训基地".into(),
        contact: "李老师".into(),
    }
}

fn rubric(points: [&str; 5]) -> Vec<RubricScore> {
    ["PLAN", "CAPACITY", "TEACHERS", "EMPLOYMENT", "SAFETY"]
        .iter()
        .zip(points)
        .map(|(c, p)| RubricScore { criterion: (*c).into(), points: p.into() })
        .collect()
}

impl App {
    async fn set_quota(&self, region: &str, year: i32, trainees: i32) -> Result<Quota, tonic::Status> {
        self.client()
            .await
            .set_quota(authed(
                SetQuotaRequest {
                    quota: Some(Quota {
                        region_code: region.into(),
                        year,
                        trainees,
                        basis: "就业补助资金预算与省厅培训任务".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &self.admin(),
            ))
            .await
            .map(|r| r.into_inner().quota.expect("quota"))
    }

    /// Registers an eligible private training school of `county` and returns its credit code.
    async fn provider_in(&self, seed: &str, county: &str) -> String {
        let code = fixtures::uscc(&format!("52{county}MJ{seed}"));
        self.client()
            .await
            .register_provider(authed(
                RegisterProviderRequest {
                    provider: Some(Provider {
                        credit_code: code.clone(),
                        display_name: format!("咸宁{seed}职业培训学校"),
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
                            holder: format!("咸宁{seed}职业培训学校"),
                            bank: "咸宁农商银行".into(),
                            number: "6228480012345678".into(),
                        }),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &self.admin(),
            ))
            .await
            .expect("provider registered");
        code
    }

    /// A published welding catalog item of `region` for `headcount` trainees.
    async fn catalog_item(&self, region: &str, headcount: i32) -> String {
        self.catalog_item_with(region, headcount, "").await
    }

    /// A published welding catalog item of `region` for `headcount` trainees recording
    /// `urgent_occupation_reference` (PROJ-INSERVICE; empty: none).
    async fn catalog_item_with(&self, region: &str, headcount: i32, urgent_occupation_reference: &str) -> String {
        let draft = self
            .client()
            .await
            .create_catalog_item(authed(
                CreateCatalogItemRequest {
                    catalog_item: Some(CatalogItem {
                        region_code: region.into(),
                        industry: Industry::EquipmentManufacturing as i32,
                        occupation_code: "6-18-02-04".into(),
                        occupation_name: "焊工".into(),
                        skill_level: SkillLevel::SkillLevel4 as i32,
                        headcount,
                        skill_requirements: "达到焊工四级标准".into(),
                        content: "焊接工艺与安全".into(),
                        hours: 120,
                        mode: TrainingMode::Offline as i32,
                        answers: vec!["岗位需求汇总: 缺口100人".into()],
                        urgent_occupation_reference: urgent_occupation_reference.into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &self.admin(),
            ))
            .await
            .expect("catalog item drafted")
            .into_inner()
            .catalog_item
            .expect("item");
        self.client()
            .await
            .publish_catalog_item(authed(
                PublishCatalogItemRequest { name: draft.name.clone(), ..Default::default() },
                &self.admin(),
            ))
            .await
            .expect("catalog item published");
        draft.name
    }

    async fn create_round(
        &self,
        region: &str,
        method: SelectionMethod,
        quota: i32,
        token: &str,
    ) -> Result<Round, tonic::Status> {
        self.client()
            .await
            .create_round(authed(
                CreateRoundRequest {
                    round: Some(Round {
                        title: "2026年第一批项目遴选".into(),
                        region_code: region.into(),
                        method: method as i32,
                        quota,
                        deadline: Some(far_deadline()),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().round.expect("round"))
    }

    async fn round(&self, method: SelectionMethod, quota: i32) -> Round {
        self.create_round(COUNTY, method, quota, &self.officer(COUNTY)).await.expect("round opened")
    }

    /// A round of the county selecting with `quota` whose deadline is the last day of `year`.
    async fn round_closing_in(&self, year: i32, quota: i32) -> Round {
        self.client()
            .await
            .create_round(authed(
                CreateRoundRequest {
                    round: Some(Round {
                        title: format!("{year}年批次"),
                        region_code: COUNTY.into(),
                        method: SelectionMethod::Selection as i32,
                        quota,
                        deadline: Some(Date { year, month: 12, day: 31 }),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &self.officer(COUNTY),
            ))
            .await
            .expect("opened")
            .into_inner()
            .round
            .expect("round")
    }

    fn draft(round: &str, item: &str, headcount: i32, training_region: &str) -> Application {
        Application {
            round: round.into(),
            catalog_item: item.into(),
            headcount,
            training_region_code: training_region.into(),
            filing: Some(filing()),
            plan: Some(complete_plan()),
            ..Default::default()
        }
    }

    async fn create_application(&self, code: &str, application: Application) -> Result<Application, tonic::Status> {
        self.client()
            .await
            .create_application(authed(
                CreateApplicationRequest { application: Some(application), request_id: String::new() },
                &self.provider(code),
            ))
            .await
            .map(|r| r.into_inner().application.expect("application"))
    }

    async fn submit(&self, code: &str, name: &str) -> Result<Application, tonic::Status> {
        self.client()
            .await
            .submit_application(authed(
                SubmitApplicationRequest { name: name.into(), ..Default::default() },
                &self.provider(code),
            ))
            .await
            .map(|r| r.into_inner().application.expect("application"))
    }

    /// A submitted application of `code` in `round` for `item`.
    async fn submitted(
        &self,
        code: &str,
        round: &str,
        item: &str,
        headcount: i32,
        training_region: &str,
    ) -> Application {
        let draft =
            self.create_application(code, Self::draft(round, item, headcount, training_region)).await.expect("drafted");
        self.submit(code, &draft.name).await.expect("submitted")
    }

    async fn close(&self, round: &str) -> Round {
        self.client()
            .await
            .close_round(authed(CloseRoundRequest { name: round.into(), ..Default::default() }, &self.officer(COUNTY)))
            .await
            .expect("closed")
            .into_inner()
            .round
            .expect("round")
    }

    async fn assign(&self, application: &str, experts: &[(&str, &str)]) -> Result<Vec<Assignment>, tonic::Status> {
        self.client()
            .await
            .assign_experts(authed(
                AssignExpertsRequest {
                    application: application.into(),
                    experts: experts
                        .iter()
                        .map(|(e, o)| ExpertRef { expert: (*e).into(), organisation: (*o).into() })
                        .collect(),
                    request_id: String::new(),
                },
                &self.officer(COUNTY),
            ))
            .await
            .map(|r| r.into_inner().assignments)
    }

    async fn score(&self, expert: &str, application: &str, points: [&str; 5]) -> Result<Assignment, tonic::Status> {
        self.client()
            .await
            .submit_score(authed(
                SubmitScoreRequest {
                    application: application.into(),
                    rubric: rubric(points),
                    request_id: String::new(),
                },
                &self.expert(expert, None),
            ))
            .await
            .map(|r| r.into_inner().assignment.expect("assignment"))
    }

    async fn decide(&self, round: &str, scores: &[(&str, &str)]) -> Result<DecideRoundResponse, tonic::Status> {
        self.decide_reducing(round, scores, Vec::new()).await
    }

    /// Decides `round` with the officers' `scores` and `reductions` (核减).
    async fn decide_reducing(
        &self,
        round: &str,
        scores: &[(&str, &str)],
        reductions: Vec<QuotaReduction>,
    ) -> Result<DecideRoundResponse, tonic::Status> {
        self.client()
            .await
            .decide_round(authed(
                DecideRoundRequest {
                    name: round.into(),
                    officer_scores: scores
                        .iter()
                        .map(|(a, s)| OfficerScore { application: (*a).into(), score: (*s).into() })
                        .collect(),
                    request_id: String::new(),
                    reductions,
                },
                &self.officer(COUNTY),
            ))
            .await
            .map(|r| r.into_inner())
    }

    async fn application(&self, name: &str, token: &str) -> Result<Application, tonic::Status> {
        self.client()
            .await
            .get_application(authed(GetApplicationRequest { name: name.into() }, token))
            .await
            .map(|r| r.into_inner().application.expect("application"))
    }

    async fn get_round(&self, name: &str) -> Round {
        self.client()
            .await
            .get_round(authed(GetRoundRequest { name: name.into() }, &self.auditor()))
            .await
            .expect("read")
            .into_inner()
            .round
            .expect("round")
    }

    async fn register_brand(&self, display_name: &str, project: &Project) -> Result<Brand, tonic::Status> {
        self.client()
            .await
            .register_brand(authed(
                RegisterBrandRequest {
                    brand: Some(Brand {
                        display_name: display_name.into(),
                        occupation_name: project.occupation_name.clone(),
                        region_code: project.training_region_code.clone(),
                        projects: vec![project.name.clone()],
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &self.officer(COUNTY),
            ))
            .await
            .map(|r| r.into_inner().brand.expect("brand"))
    }

    /// The project of one application of `provider` for `headcount`, decided in a round of its own.
    async fn one_project(&self, provider: &str, item: &str, headcount: i32) -> Project {
        let round = self.round(SelectionMethod::Selection, 100).await;
        let application = self.submitted(provider, &round.name, item, headcount, COUNTY).await;
        self.close(&round.name).await;
        let decided = self.decide(&round.name, &[(&application.name, "80")]).await.expect("decided");
        decided.projects.into_iter().next().expect("approved")
    }
}

async fn expert_review_approves_in_rank_order_until_the_quota_is_used(app: &App) {
    let a = app.provider_in("0000001", COUNTY).await;
    let b = app.provider_in("0000002", COUNTY).await;
    let c = app.provider_in("0000003", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let round = app.round(SelectionMethod::ExpertReview, 50).await;
    let app_a = app.submitted(&a, &round.name, &item, 30, COUNTY).await;
    let app_b = app.submitted(&b, &round.name, &item, 20, COUNTY).await;
    let app_c = app.submitted(&c, &round.name, &item, 10, COUNTY).await;

    // PROJ-SELECTION: an expert of the applicant's own organisation is recused at once.
    let assigned = app
        .assign(&app_a.name, &[("expert-1", ""), ("expert-2", ""), ("expert-3", ""), ("expert-4", a.as_str())])
        .await
        .expect("assigned");
    assert_eq!(assigned.len(), 4);
    let own = assigned.iter().find(|x| x.expert == "expert-4").expect("expert-4");
    assert!(own.recused);
    assert_eq!(own.recusal_reason, "own organisation");
    // Assigning again leaves an assigned expert as they are.
    let again = app.assign(&app_a.name, &[("expert-4", "")]).await.expect("assigned again");
    assert_eq!(again.len(), 4);
    assert!(again.iter().find(|x| x.expert == "expert-4").expect("expert-4").recused);
    for application in [&app_b.name, &app_c.name] {
        app.assign(application, &[("expert-1", ""), ("expert-2", ""), ("expert-3", ""), ("expert-4", "")])
            .await
            .expect("assigned");
    }
    let bad_org = app.assign(&app_b.name, &[("expert-9", "not-a-code")]).await.expect_err("bad organisation");
    assert_eq!(bad_org.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&bad_org), ["experts[0].organisation"]);

    // A declared conflict recuses; the recused expert can no longer score.
    let declared = app
        .client()
        .await
        .declare_conflict(authed(
            DeclareConflictRequest {
                application: app_b.name.clone(),
                reason: "曾任该校兼职教师".into(),
                request_id: String::new(),
            },
            &app.expert("expert-4", None),
        ))
        .await
        .expect("declared")
        .into_inner()
        .assignment
        .expect("assignment");
    assert!(declared.recused);

    // Experts score once the round is closed.
    let early = app.score("expert-1", &app_a.name, ["25", "18", "18", "18", "9"]).await.expect_err("round still open");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert_eq!(reason(&early), "ROUND_STATE");
    app.close(&round.name).await;

    // Experts see only their assignments.
    let mine = app
        .client()
        .await
        .list_assignments(authed(ListAssignmentsRequest::default(), &app.expert("expert-4", None)))
        .await
        .expect("listed")
        .into_inner()
        .assignments;
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|x| x.expert == "expert-4"));
    let visible = app
        .client()
        .await
        .list_applications(authed(ListApplicationsRequest::default(), &app.expert("expert-4", None)))
        .await
        .expect("listed")
        .into_inner()
        .applications;
    assert_eq!(
        visible.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
        [app_c.name.as_str()],
        "only non-recused assignments"
    );
    let denied = app.application(&app_a.name, &app.expert("expert-4", None)).await.expect_err("recused");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let stranger = app.application(&app_a.name, &app.expert("expert-9", None)).await.expect_err("not assigned");
    assert_eq!(stranger.code(), Code::PermissionDenied);
    let none = app
        .client()
        .await
        .list_applications(authed(ListApplicationsRequest::default(), &app.expert("expert-9", None)))
        .await
        .expect("listed")
        .into_inner()
        .applications;
    assert!(none.is_empty());
    app.application(&app_a.name, &app.expert("expert-1", None)).await.expect("assigned expert reads");
    let not_for_providers = app
        .client()
        .await
        .list_assignments(authed(ListAssignmentsRequest::default(), &app.provider(&a)))
        .await
        .expect_err("experts only");
    assert_eq!(not_for_providers.code(), Code::PermissionDenied);

    // The rubric: five criteria, each within its maximum, at most two decimals.
    let over = app.score("expert-1", &app_a.name, ["31", "18", "18", "18", "9"]).await.expect_err("PLAN max 30");
    assert_eq!(over.code(), Code::InvalidArgument);
    assert_eq!(reason(&over), "PROJ-SELECTION");
    assert_eq!(bad_fields(&over), ["rubric[0].points"]);
    let fine = app.score("expert-1", &app_a.name, ["25.125", "18", "18", "18", "9"]).await.expect_err("three decimals");
    assert_eq!(reason(&fine), "PROJ-SELECTION");
    let short = app
        .client()
        .await
        .submit_score(authed(
            SubmitScoreRequest {
                application: app_a.name.clone(),
                rubric: rubric(["25", "18", "18", "18", "9"]).into_iter().take(4).collect(),
                request_id: String::new(),
            },
            &app.expert("expert-1", None),
        ))
        .await
        .expect_err("SAFETY missing");
    assert_eq!(reason(&short), "PROJ-SELECTION");
    assert_eq!(bad_fields(&short), ["rubric"]);
    let recused = app.score("expert-4", &app_a.name, ["25", "18", "18", "18", "9"]).await.expect_err("recused");
    assert_eq!(recused.code(), Code::FailedPrecondition);

    // A decision waits for every expert who is not recused.
    for expert in ["expert-1", "expert-2", "expert-3"] {
        app.score(expert, &app_a.name, ["28", "18", "18", "18", "9.5"]).await.expect("scored");
        app.score(expert, &app_b.name, ["25", "17", "17", "17", "9"]).await.expect("scored");
    }
    let waiting = app.decide(&round.name, &[]).await.expect_err("app C unscored");
    assert_eq!(waiting.code(), Code::FailedPrecondition);
    assert_eq!(reason(&waiting), "PROJ-SELECTION");
    for expert in ["expert-1", "expert-2", "expert-3", "expert-4"] {
        app.score(expert, &app_c.name, ["20", "15", "15", "15", "8"]).await.expect("scored");
    }
    // Scores may change until the decision.
    let rescored = app.score("expert-1", &app_a.name, ["29", "18", "18", "18", "9.5"]).await.expect("rescored");
    assert_eq!(rescored.score, "92.5");

    let decided = app.decide(&round.name, &[]).await.expect("decided");
    let round_after = decided.round.expect("round");
    assert_eq!(round_after.state, RoundState::Decided as i32);
    assert_eq!(round_after.approved_headcount, 50, "approved headcount never exceeds the quota");
    assert!(!round_after.policy_version.is_empty());
    let order: Vec<(&str, bool)> = round_after.ranking.iter().map(|r| (r.application.as_str(), r.approved)).collect();
    assert_eq!(order, [(app_a.name.as_str(), true), (app_b.name.as_str(), true), (app_c.name.as_str(), false)]);
    let third = &round_after.ranking[2];
    assert!(third.rules.iter().any(|r| r.code == "PROJ-QUOTA" && !r.passed));
    assert_eq!(round_after.ranking[0].rank, 1);
    assert_eq!(round_after.ranking[1].score, "85");
    assert_eq!(decided.projects.len(), 2);
    let project = decided.projects.iter().find(|p| p.application == app_a.name).expect("project of A");
    assert_eq!(project.approved_headcount, 30);
    assert_eq!(project.basis, EvaluationBasis::EmploymentRate as i32);
    assert_eq!(project.method, SelectionMethod::ExpertReview as i32);
    assert_eq!(project.occupation_code, "6-18-02-04");
    assert_eq!(project.training_region_code, COUNTY);

    let rejected = app.application(&app_c.name, &app.provider(&c)).await.expect("read");
    assert_eq!(rejected.state, ApplicationState::Rejected as i32);
    let last = rejected.history.last().expect("history");
    assert_eq!((last.action.as_str(), last.reason.as_str()), ("reject", "PROJ-QUOTA"));
    let approved = app.application(&app_a.name, &app.provider(&a)).await.expect("read");
    assert_eq!(approved.state, ApplicationState::Approved as i32);
    assert_eq!(approved.history.last().expect("history").action, "approve");

    // The stored ranking is what GetRound shows; the decision is not made twice.
    let stored = app
        .client()
        .await
        .get_round(authed(GetRoundRequest { name: round.name.clone() }, &app.provider(&c)))
        .await
        .expect("read")
        .into_inner()
        .round
        .expect("round");
    assert_eq!(stored.ranking, round_after.ranking);
    let twice = app.decide(&round.name, &[]).await.expect_err("decided already");
    assert_eq!(reason(&twice), "ROUND_STATE");
    let late = app.score("expert-1", &app_c.name, ["20", "15", "15", "15", "8"]).await.expect_err("decided");
    assert_eq!(late.code(), Code::FailedPrecondition);

    // Every change was audited in its transaction: the chain holds.
    let report = app
        .client()
        .await
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &app.admin()))
        .await
        .expect("verified")
        .into_inner()
        .report
        .expect("report");
    assert!(report.intact, "{report:?}");
    assert!(report.rows_checked > 20, "{report:?}");
}

async fn another_method_ranks_by_officer_scores(app: &App) {
    let a = app.provider_in("0000011", COUNTY).await;
    let b = app.provider_in("0000012", COUNTY).await;
    let city_item = app.catalog_item(CITY, 100).await;
    let round = app.round(SelectionMethod::ComprehensiveEvaluation, 40).await;
    // A county's round takes the city's catalog items too.
    let first = app.submitted(&a, &round.name, &city_item, 20, COUNTY).await;
    let second = app.submitted(&b, &round.name, &city_item, 20, COUNTY).await;
    let no_experts = app.assign(&first.name, &[("expert-1", "")]).await.expect_err("not expert review");
    assert_eq!(no_experts.code(), Code::FailedPrecondition);
    assert_eq!(reason(&no_experts), "ROUND_METHOD");
    let open = app.decide(&round.name, &[(&first.name, "80")]).await.expect_err("still open");
    assert_eq!(reason(&open), "ROUND_STATE");
    app.close(&round.name).await;

    let missing = app.decide(&round.name, &[(&first.name, "80")]).await.expect_err("second unscored");
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert_eq!(reason(&missing), "PROJ-SELECTION");
    assert_eq!(bad_fields(&missing), ["officer_scores"]);
    let out_of_range =
        app.decide(&round.name, &[(&first.name, "100.5"), (&second.name, "80")]).await.expect_err("over 100");
    assert_eq!(out_of_range.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&out_of_range), ["officer_scores[0].score"]);

    // Equal scores: the earlier submission ranks first.
    let decided = app.decide(&round.name, &[(&second.name, "88.50"), (&first.name, "88.5")]).await.expect("decided");
    let round_after = decided.round.expect("round");
    let order: Vec<&str> = round_after.ranking.iter().map(|r| r.application.as_str()).collect();
    assert_eq!(order, [first.name.as_str(), second.name.as_str()]);
    assert!(round_after.ranking.iter().all(|r| r.approved));
    assert_eq!(round_after.approved_headcount, 40);
    assert_eq!(decided.projects.len(), 2);
    assert!(decided.projects.iter().all(|p| p.method == SelectionMethod::ComprehensiveEvaluation as i32));
}

async fn a_returned_application_is_corrected_and_resubmitted_with_its_history(app: &App) {
    let code = app.provider_in("0000021", COUNTY).await;
    // The corrected application is for in-service workers: its item records the basis
    // (PROJ-INSERVICE).
    let item = app.catalog_item_with(COUNTY, 60, URGENT_LIST).await;
    let round = app.round(SelectionMethod::Selection, 100).await;
    let submitted = app.submitted(&code, &round.name, &item, 30, COUNTY).await;
    let editing = app
        .client()
        .await
        .update_application(authed(
            UpdateApplicationRequest { application: Some(submitted.clone()), ..Default::default() },
            &app.provider(&code),
        ))
        .await
        .expect_err("submitted applications are not edited");
    assert_eq!(reason(&editing), "APPLICATION_STATE");

    let no_reason = app
        .client()
        .await
        .return_application(authed(
            ReturnApplicationRequest { name: submitted.name.clone(), ..Default::default() },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("reason required");
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&no_reason), ["reason"]);
    let returned = app
        .client()
        .await
        .return_application(authed(
            ReturnApplicationRequest {
                name: submitted.name.clone(),
                reason: "补充考核方式".into(),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("returned")
        .into_inner()
        .application
        .expect("application");
    assert_eq!(returned.state, ApplicationState::Returned as i32);

    let mut corrected = returned.clone();
    corrected.headcount = 25;
    corrected.in_service_trainees = true;
    let updated = app
        .client()
        .await
        .update_application(authed(
            UpdateApplicationRequest { application: Some(corrected.clone()), ..Default::default() },
            &app.provider(&code),
        ))
        .await
        .expect("updated")
        .into_inner()
        .application
        .expect("application");
    assert_eq!(updated.headcount, 25);
    assert_ne!(updated.etag, returned.etag);
    let stale = app
        .client()
        .await
        .update_application(authed(
            UpdateApplicationRequest { application: Some(corrected), ..Default::default() },
            &app.provider(&code),
        ))
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);
    let other = app.provider_in("0000022", COUNTY).await;
    let foreign = app.submit(&other, &submitted.name).await.expect_err("not its own");
    assert_eq!(foreign.code(), Code::PermissionDenied);

    let resubmitted = app.submit(&code, &submitted.name).await.expect("resubmitted");
    assert_eq!(resubmitted.state, ApplicationState::Submitted as i32);
    let actions: Vec<&str> = resubmitted.history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "submit", "return", "update", "resubmit"]);
    assert_eq!(resubmitted.history[2].reason, "补充考核方式");
    assert!(resubmitted.history.windows(2).all(|w| w[0].time_micros <= w[1].time_micros), "oldest first");

    app.close(&round.name).await;
    let decided = app.decide(&round.name, &[(&submitted.name, "75")]).await.expect("decided");
    let project = decided.projects.first().expect("approved");
    assert_eq!(project.basis, EvaluationBasis::CertificateRate as i32, "PROJ-BASIS: in-service trainees");
    assert_eq!(project.approved_headcount, 25);

    // An officer rejects an undecided application with a reason; a decided one stays.
    let draft = app
        .create_application(&code, App::draft(&app.round(SelectionMethod::Selection, 10).await.name, &item, 5, COUNTY))
        .await
        .expect("drafted");
    let rejected = app
        .client()
        .await
        .reject_application(authed(
            RejectApplicationRequest {
                name: draft.name.clone(), reason: "重复申报".into(), request_id: String::new()
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("rejected")
        .into_inner()
        .application
        .expect("application");
    assert_eq!(rejected.state, ApplicationState::Rejected as i32);
    let again = app
        .client()
        .await
        .reject_application(authed(
            RejectApplicationRequest {
                name: submitted.name.clone(),
                reason: "重复申报".into(),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("approved already");
    assert_eq!(reason(&again), "APPLICATION_STATE");
}

async fn an_application_update_changes_only_the_fields_its_mask_names(app: &App) {
    let code = app.provider_in("0000023", COUNTY).await;
    let item = app.catalog_item(COUNTY, 60).await;
    let round = app.round(SelectionMethod::Selection, 100).await;
    let draft = app.create_application(&code, App::draft(&round.name, &item, 10, COUNTY)).await.expect("drafted");
    let update = |application: Application, paths: &[&str]| {
        let request = UpdateApplicationRequest {
            application: Some(application),
            update_mask: common::mask(paths),
            ..Default::default()
        };
        let token = app.provider(&code);
        async move { app.client().await.update_application(authed(request, &token)).await.map(|r| r.into_inner()) }
    };
    // Only the headcount is named: the filing and plan left out of the request are kept.
    let changed = update(
        Application { name: draft.name.clone(), etag: draft.etag.clone(), headcount: 12, ..Default::default() },
        &["headcount"],
    )
    .await
    .expect("updated")
    .application
    .expect("application");
    assert_eq!(changed.headcount, 12);
    assert_eq!((changed.filing, changed.plan), (draft.filing.clone(), draft.plan.clone()));
    assert_eq!(changed.training_region_code, COUNTY);
    // `*` replaces every editable field, as a request without a mask does: an empty plan then
    // stands in the draft (drafts may be incomplete).
    let replaced = update(
        Application {
            name: draft.name.clone(),
            headcount: 8,
            training_region_code: COUNTY.into(),
            filing: draft.filing.clone(),
            ..Default::default()
        },
        &["*"],
    )
    .await
    .expect("replaced")
    .application
    .expect("application");
    assert_eq!((replaced.headcount, replaced.plan.expect("plan").teaching_plan.as_str()), (8, ""));
    let stale = update(Application { name: draft.name.clone(), etag: draft.etag, ..Default::default() }, &["plan"])
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);
    let unknown = update(Application { name: draft.name, ..Default::default() }, &["state"]).await.expect_err("state");
    assert_eq!((unknown.code(), reason(&unknown)), (Code::InvalidArgument, "UPDATE-MASK".to_owned()));
}

async fn an_incomplete_plan_is_refused_with_proj_plan(app: &App) {
    let code = app.provider_in("0000031", COUNTY).await;
    let item = app.catalog_item(COUNTY, 60).await;
    let round = app.round(SelectionMethod::Selection, 100).await;
    let mut application = App::draft(&round.name, &item, 10, COUNTY);
    application.plan = Some(Plan { safety_content: String::new(), ..complete_plan() });
    let draft = app.create_application(&code, application).await.expect("drafts may be incomplete");
    let refused = app.submit(&code, &draft.name).await.expect_err("no safety content");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "PROJ-PLAN");
    let mut no_mode = App::draft(&round.name, &item, 10, COUNTY);
    no_mode.plan = Some(Plan { training_mode: TrainingMode::Unspecified as i32, ..complete_plan() });
    let draft = app.create_application(&code, no_mode).await.expect("drafted");
    assert_eq!(reason(&app.submit(&code, &draft.name).await.expect_err("no mode")), "PROJ-PLAN");
    let stored = app.application(&draft.name, &app.provider(&code)).await.expect("read");
    assert_eq!(stored.state, ApplicationState::Draft as i32);
}

async fn cross_region_training_needs_the_training_countys_consent(app: &App) {
    let code = app.provider_in("0000041", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let round = app.round(SelectionMethod::Selection, 30).await;
    let without = app.submitted(&code, &round.name, &item, 20, OTHER_COUNTY).await;
    let with = app.submitted(&code, &round.name, &item, 20, OTHER_COUNTY).await;
    let home = app.submitted(&code, &round.name, &item, 5, COUNTY).await;
    let consent = |name: &str, token: &str| {
        let request = RecordCrossRegionConsentRequest {
            application: name.into(),
            reference: "嘉人社函〔2026〕3号".into(),
            request_id: String::new(),
        };
        let token = token.to_owned();
        async move { app.client().await.record_cross_region_consent(authed(request, &token)).await.map(|r| r.into_inner()) }
    };
    let not_needed = consent(&home.name, &app.admin()).await.expect_err("same county");
    assert_eq!(not_needed.code(), Code::FailedPrecondition);
    assert_eq!(reason(&not_needed), "NO_CONSENT_NEEDED");
    let wrong_county = consent(&with.name, &app.officer(COUNTY)).await.expect_err("not the training county");
    assert_eq!(wrong_county.code(), Code::PermissionDenied);
    let recorded = consent(&with.name, &app.officer(OTHER_COUNTY)).await.expect("consent recorded");
    let recorded = recorded.application.expect("application");
    assert!(recorded.cross_region_consent);
    assert_eq!(recorded.history.last().expect("history").action, "consent");

    app.close(&round.name).await;
    // The one without consent ranks first but is left out, and takes nothing from the quota.
    let decided = app
        .decide(&round.name, &[(&without.name, "95"), (&with.name, "90"), (&home.name, "60")])
        .await
        .expect("decided");
    let round_after = decided.round.expect("round");
    let first = &round_after.ranking[0];
    assert_eq!(first.application, without.name);
    assert!(!first.approved);
    assert!(first.rules.iter().any(|r| r.code == "PROJ-CROSS-REGION" && !r.passed));
    assert!(!first.rules.iter().any(|r| r.code == "PROJ-QUOTA"));
    assert!(round_after.ranking[1].approved);
    assert!(round_after.ranking[2].approved);
    assert_eq!(round_after.approved_headcount, 25);
    let project = decided.projects.iter().find(|p| p.application == with.name).expect("approved with consent");
    assert_eq!(project.cross_region_consent, "嘉人社函〔2026〕3号");
    assert_eq!(project.training_region_code, OTHER_COUNTY);
    let refused = app.application(&without.name, &app.provider(&code)).await.expect("read");
    assert_eq!(refused.history.last().expect("history").reason, "PROJ-CROSS-REGION");
    let final_consent = consent(&without.name, &app.officer(OTHER_COUNTY)).await.expect_err("decided");
    assert_eq!(reason(&final_consent), "APPLICATION_STATE");
}

async fn a_disqualified_provider_cannot_apply(app: &App) {
    let code = app.provider_in("0000051", COUNTY).await;
    let item = app.catalog_item(COUNTY, 60).await;
    let round = app.round(SelectionMethod::Selection, 100).await;
    let draft = app.create_application(&code, App::draft(&round.name, &item, 10, COUNTY)).await.expect("drafted");
    app.client()
        .await
        .disqualify_provider(authed(
            DisqualifyProviderRequest {
                provider: format!("providers/{code}"),
                misconduct: MisconductKind::Fraud as i32,
                finding: "虚报培训人数".into(),
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect("disqualified");
    let open = app.application(&draft.name, &app.provider(&code)).await.expect("read");
    assert_eq!(open.state, ApplicationState::Rejected as i32);
    let refused =
        app.create_application(&code, App::draft(&round.name, &item, 10, COUNTY)).await.expect_err("disqualified");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "PROV-DISQUALIFIED");
    let unregistered = fixtures::uscc("52421221MJ0009999");
    let unknown =
        app.create_application(&unregistered, App::draft(&round.name, &item, 10, COUNTY)).await.expect_err("unknown");
    assert_eq!(reason(&unknown), "PROVIDER_NOT_REGISTERED");
}

async fn an_officer_of_another_county_sees_none_of_it(app: &App) {
    let code = app.provider_in("0000061", COUNTY).await;
    let item = app.catalog_item(COUNTY, 60).await;
    let round = app.round(SelectionMethod::Selection, 100).await;
    let submitted = app.submitted(&code, &round.name, &item, 10, COUNTY).await;
    let outsider = app.officer(OTHER_COUNTY);
    let denied = app.application(&submitted.name, &outsider).await.expect_err("another county");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let missing = app.application("applications/nope", &outsider).await.expect_err("permission before existence");
    assert_eq!(missing.code(), Code::PermissionDenied);
    let missing = app.application("applications/nope", &app.admin()).await.expect_err("the city learns it is missing");
    assert_eq!(missing.code(), Code::NotFound);
    let listed = app
        .client()
        .await
        .list_applications(authed(ListApplicationsRequest::default(), &outsider))
        .await
        .expect("listed")
        .into_inner()
        .applications;
    assert!(listed.is_empty());
    let own = app
        .client()
        .await
        .list_applications(authed(
            ListApplicationsRequest { round: round.name.clone(), ..Default::default() },
            &app.officer(COUNTY),
        ))
        .await
        .expect("listed")
        .into_inner()
        .applications;
    assert_eq!(own.len(), 1);
    let returned = app
        .client()
        .await
        .return_application(authed(
            ReturnApplicationRequest { name: submitted.name.clone(), reason: "x".into(), request_id: String::new() },
            &outsider,
        ))
        .await
        .expect_err("another county");
    assert_eq!(returned.code(), Code::PermissionDenied);
    let closed = app
        .client()
        .await
        .close_round(authed(CloseRoundRequest { name: round.name.clone(), ..Default::default() }, &outsider))
        .await
        .expect_err("another county");
    assert_eq!(closed.code(), Code::PermissionDenied);
    let created =
        app.create_round(COUNTY, SelectionMethod::Selection, 10, &outsider).await.expect_err("another county");
    assert_eq!(created.code(), Code::PermissionDenied);
    let city =
        app.create_round(CITY, SelectionMethod::Selection, 10, &app.officer(COUNTY)).await.expect_err("city rounds");
    assert_eq!(city.code(), Code::PermissionDenied);
    app.create_round(CITY, SelectionMethod::Selection, 10, &app.admin()).await.expect("the city opens city rounds");
    let by_provider =
        app.create_round(COUNTY, SelectionMethod::Selection, 10, &app.provider(&code)).await.expect_err("providers");
    assert_eq!(by_provider.code(), Code::PermissionDenied);

    // Providers see only their own applications.
    let other = app.provider_in("0000062", COUNTY).await;
    let theirs = app.application(&submitted.name, &app.provider(&other)).await.expect_err("another provider");
    assert_eq!(theirs.code(), Code::PermissionDenied);
    let listed = app
        .client()
        .await
        .list_applications(authed(ListApplicationsRequest::default(), &app.provider(&other)))
        .await
        .expect("listed")
        .into_inner()
        .applications;
    assert!(listed.is_empty());
    let for_other = app
        .create_application(
            &other,
            Application { provider_credit_code: code.clone(), ..App::draft(&round.name, &item, 5, COUNTY) },
        )
        .await
        .expect_err("applies only for itself");
    assert_eq!(for_other.code(), Code::PermissionDenied);
    let auditor = app.keys.token(Role::Auditor, None, None);
    app.application(&submitted.name, &auditor).await.expect("auditors read everything");
}

async fn a_repeated_request_id_creates_nothing_new(app: &App) {
    let code = app.provider_in("0000071", COUNTY).await;
    let item = app.catalog_item(COUNTY, 60).await;
    let request = CreateRoundRequest {
        round: Some(Round {
            title: "重试批次".into(),
            region_code: COUNTY.into(),
            method: SelectionMethod::OpenChallenge as i32,
            quota: 10,
            deadline: Some(far_deadline()),
            ..Default::default()
        }),
        request_id: "round-1".into(),
    };
    let first = app
        .client()
        .await
        .create_round(authed(request.clone(), &app.officer(COUNTY)))
        .await
        .expect("created")
        .into_inner();
    let second = app
        .client()
        .await
        .create_round(authed(request.clone(), &app.officer(COUNTY)))
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(first, second);
    let rounds = app
        .client()
        .await
        .list_rounds(authed(ListRoundsRequest::default(), &app.provider(&code)))
        .await
        .expect("listed")
        .into_inner()
        .rounds;
    assert_eq!(rounds.len(), 1);
    let mut changed = request;
    changed.round.as_mut().expect("round").quota = 20;
    let reused =
        app.client().await.create_round(authed(changed, &app.officer(COUNTY))).await.expect_err("different request");
    assert_eq!(reused.code(), Code::AlreadyExists);
    assert_eq!(reason(&reused), "REQUEST_ID_REUSED");

    let round = first.round.expect("round").name;
    let create = CreateApplicationRequest {
        application: Some(App::draft(&round, &item, 5, COUNTY)),
        request_id: "apply-1".into(),
    };
    let a = app
        .client()
        .await
        .create_application(authed(create.clone(), &app.provider(&code)))
        .await
        .expect("created")
        .into_inner();
    let b = app
        .client()
        .await
        .create_application(authed(create, &app.provider(&code)))
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(a.application.expect("a").name, b.application.expect("b").name);
    let mine = app
        .client()
        .await
        .list_applications(authed(ListApplicationsRequest::default(), &app.provider(&code)))
        .await
        .expect("listed")
        .into_inner()
        .applications;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].history.len(), 1);
}

async fn requests_are_validated_naming_field_and_rule(app: &App) {
    let bad = app
        .client()
        .await
        .create_round(authed(
            CreateRoundRequest {
                round: Some(Round {
                    title: " ".into(),
                    region_code: COUNTY.into(),
                    quota: 0,
                    deadline: Some(Date { year: 2020, month: 1, day: 1 }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("bad round");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&bad), ["round.title", "round.method", "round.quota", "round.deadline"]);
    let too_big =
        app.create_round(COUNTY, SelectionMethod::Selection, 1_000_001, &app.officer(COUNTY)).await.expect_err("quota");
    assert_eq!(reason(&too_big), "PROJ-QUOTA");

    let code = app.provider_in("0000081", COUNTY).await;
    let item = app.catalog_item(COUNTY, 60).await;
    let other_item = app.catalog_item(OTHER_COUNTY, 60).await;
    let round = app.round(SelectionMethod::Selection, 50).await;
    let over_item =
        app.create_application(&code, App::draft(&round.name, &item, 61, COUNTY)).await.expect_err("above the item");
    assert_eq!(over_item.code(), Code::InvalidArgument);
    assert_eq!(reason(&over_item), "PROJ-CATALOG");
    let over_quota =
        app.create_application(&code, App::draft(&round.name, &item, 51, COUNTY)).await.expect_err("above the quota");
    assert_eq!(reason(&over_quota), "PROJ-QUOTA");
    let foreign_item = app
        .create_application(&code, App::draft(&round.name, &other_item, 5, COUNTY))
        .await
        .expect_err("another county's item");
    assert_eq!(reason(&foreign_item), "PROJ-CATALOG");
    assert_eq!(bad_fields(&foreign_item), ["application.catalog_item"]);
    let mut long = App::draft(&round.name, &item, 0, CITY);
    long.filing.as_mut().expect("filing").venue = "场".repeat(201);
    let invalid = app.create_application(&code, long).await.expect_err("bad fields");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&invalid),
        ["application.headcount", "application.training_region_code", "application.filing.venue"]
    );
    let unknown_round =
        app.create_application(&code, App::draft("rounds/nope", &item, 5, COUNTY)).await.expect_err("no round");
    assert_eq!(unknown_round.code(), Code::NotFound);

    let draft = app.create_application(&code, App::draft(&round.name, &item, 5, COUNTY)).await.expect("drafted");
    app.close(&round.name).await;
    let closed = app.create_application(&code, App::draft(&round.name, &item, 5, COUNTY)).await.expect_err("closed");
    assert_eq!(closed.code(), Code::FailedPrecondition);
    assert_eq!(reason(&closed), "ROUND_NOT_OPEN");
    let late = app.submit(&code, &draft.name).await.expect_err("closed");
    assert_eq!(reason(&late), "ROUND_NOT_OPEN");
    let twice = app
        .client()
        .await
        .close_round(authed(CloseRoundRequest { name: round.name.clone(), ..Default::default() }, &app.officer(COUNTY)))
        .await
        .expect_err("closed already");
    assert_eq!(reason(&twice), "ROUND_STATE");
    let no_reason = app
        .client()
        .await
        .declare_conflict(authed(
            DeclareConflictRequest { application: draft.name.clone(), ..Default::default() },
            &app.expert("expert-1", None),
        ))
        .await
        .expect_err("reason required");
    assert_eq!(bad_fields(&no_reason), ["reason"]);
}

async fn rounds_and_projects_list_page_and_read(app: &App) {
    let code = app.provider_in("0000091", COUNTY).await;
    let item = app.catalog_item(COUNTY, 60).await;
    let decided = app.round(SelectionMethod::Selection, 50).await;
    app.round(SelectionMethod::OpenChallenge, 50).await;
    app.create_round(OTHER_COUNTY, SelectionMethod::Selection, 50, &app.officer(OTHER_COUNTY)).await.expect("opened");
    let submitted = app.submitted(&code, &decided.name, &item, 10, COUNTY).await;
    app.close(&decided.name).await;
    let projects = app.decide(&decided.name, &[(&submitted.name, "70")]).await.expect("decided").projects;

    let token = app.provider(&code);
    let first = app
        .client()
        .await
        .list_rounds(authed(
            ListRoundsRequest { page_size: 1, region_code: COUNTY.into(), ..Default::default() },
            &token,
        ))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(first.rounds.len(), 1);
    assert!(!first.next_page_token.is_empty());
    let second = app
        .client()
        .await
        .list_rounds(authed(
            ListRoundsRequest {
                page_size: 1,
                region_code: COUNTY.into(),
                page_token: first.next_page_token.clone(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(second.rounds.len(), 1);
    assert!(second.next_page_token.is_empty());
    let foreign = app
        .client()
        .await
        .list_rounds(authed(
            ListRoundsRequest { page_size: 1, page_token: first.next_page_token, ..Default::default() },
            &token,
        ))
        .await
        .expect_err("a token of other filters");
    assert_eq!(foreign.code(), Code::InvalidArgument);
    let decided_only = app
        .client()
        .await
        .list_rounds(authed(ListRoundsRequest { state: RoundState::Decided as i32, ..Default::default() }, &token))
        .await
        .expect("listed")
        .into_inner()
        .rounds;
    assert_eq!(decided_only.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), [decided.name.as_str()]);

    let project = projects.first().expect("a project");
    let read = app
        .client()
        .await
        .get_project(authed(
            GetProjectRequest { name: project.name.clone() },
            &app.keys.token(Role::Auditor, None, None),
        ))
        .await
        .expect("auditors, providers and services read projects")
        .into_inner()
        .project
        .expect("project");
    assert_eq!(&read, project);
    assert_eq!(read.provider_name, "咸宁0000091职业培训学校");
    assert_eq!(read.title, "嘉鱼焊工培训", "the project carries its application's title");
    let outsider = app
        .client()
        .await
        .get_project(authed(GetProjectRequest { name: project.name.clone() }, &app.officer(OTHER_COUNTY)))
        .await
        .expect_err("a county officer reads only the projects of their county");
    assert_eq!(outsider.code(), Code::PermissionDenied);
    let missing = app
        .client()
        .await
        .get_project(authed(GetProjectRequest { name: "projects/nope".into() }, &token))
        .await
        .expect_err("no such project");
    assert_eq!(missing.code(), Code::NotFound);
    let by_provider = app
        .client()
        .await
        .list_projects(authed(ListProjectsRequest { provider_credit_code: code.clone(), ..Default::default() }, &token))
        .await
        .expect("listed")
        .into_inner()
        .projects;
    assert_eq!(by_provider.len(), 1);
    let elsewhere = app
        .client()
        .await
        .list_projects(authed(ListProjectsRequest { region_code: OTHER_COUNTY.into(), ..Default::default() }, &token))
        .await
        .expect("listed")
        .into_inner()
        .projects;
    assert!(elsewhere.is_empty());
    let no_token = app.client().await.list_projects(ListProjectsRequest::default()).await.expect_err("no token");
    assert_eq!(no_token.code(), Code::Unauthenticated);
}

async fn brands_and_the_selection_report_count_approved_projects(app: &App) {
    let provider = app.provider_in("0000071", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let round = app.round(SelectionMethod::OpenChallenge, 30).await;
    let application = app.submitted(&provider, &round.name, &item, 25, COUNTY).await;
    app.close(&round.name).await;
    let decided = app.decide(&round.name, &[(&application.name, "90")]).await.expect("decided");
    let project = decided.projects.first().expect("approved").clone();
    let officer = app.officer(COUNTY);
    let mut client = app.client().await;

    // PROJ-BRAND: place (or enterprise) + occupation + 培训, standing for projects of the county.
    let brand = |display_name: &str, projects: Vec<String>, region: &str| Brand {
        display_name: display_name.into(),
        occupation_name: project.occupation_name.clone(),
        region_code: region.into(),
        projects,
        ..Default::default()
    };
    let no_project = client
        .register_brand(authed(
            RegisterBrandRequest {
                brand: Some(brand(&format!("嘉鱼{}培训", project.occupation_name), vec![], COUNTY)),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect_err("a brand stands for projects");
    assert_eq!(bad_fields(&no_project), ["brand.projects"]);
    let elsewhere = client
        .register_brand(authed(
            RegisterBrandRequest {
                brand: Some(brand(
                    &format!("通城{}培训", project.occupation_name),
                    vec![project.name.clone()],
                    OTHER_COUNTY,
                )),
                request_id: String::new(),
            },
            &app.officer(OTHER_COUNTY),
        ))
        .await
        .expect_err("another county's project");
    assert_eq!(reason(&elsewhere), "PROJ-BRAND");
    let registered = client
        .register_brand(authed(
            RegisterBrandRequest {
                brand: Some(brand(&format!("嘉鱼{}培训", project.occupation_name), vec![project.name.clone()], COUNTY)),
                request_id: "b-1".into(),
            },
            &officer,
        ))
        .await
        .expect("registered")
        .into_inner()
        .brand
        .expect("brand");
    assert_eq!(registered.note, "", "the name follows the pattern: no note");
    let again = client
        .register_brand(authed(
            RegisterBrandRequest {
                brand: Some(brand(&format!("嘉鱼{}培训", project.occupation_name), vec![project.name.clone()], COUNTY)),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect_err("a brand is registered once");
    assert_eq!(reason(&again), "BRAND_EXISTS");
    let listed = client
        .list_brands(authed(ListBrandsRequest::default(), &app.provider(&provider)))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.brands, std::slice::from_ref(&registered));
    let report = client
        .get_brand_report(authed(GetBrandReportRequest {}, &app.provider(&provider)))
        .await
        .expect("report")
        .into_inner();
    assert_eq!(report.counties.len(), 6);
    assert_eq!(
        report.counties.iter().find(|c| c.region_code == COUNTY).expect("county").brands,
        [registered.display_name]
    );
    assert_eq!(report.counties_without_brand.len(), 5);
    assert!(!report.counties_without_brand.contains(&COUNTY.to_owned()));

    // The selection report: projects and approved headcount, and the 5+4 industries covered.
    let selection_report = client
        .get_selection_report(authed(GetSelectionReportRequest::default(), &app.admin()))
        .await
        .expect("report")
        .into_inner();
    assert_eq!((selection_report.total_projects, selection_report.total_approved_headcount), (1, 25));
    assert_eq!(selection_report.statistics[0].method, SelectionMethod::OpenChallenge as i32);
    assert_eq!(selection_report.key_industries_covered, 1);
    assert_eq!(selection_report.key_industries_missing.len(), 8);
    let outsider = client
        .get_selection_report(authed(GetSelectionReportRequest::default(), &app.officer(OTHER_COUNTY)))
        .await
        .expect("their own county's report")
        .into_inner();
    assert_eq!(outsider.total_projects, 0, "another county's officer sees none of these projects");
    let denied = client
        .get_selection_report(authed(
            GetSelectionReportRequest { region_code: COUNTY.into() },
            &app.officer(OTHER_COUNTY),
        ))
        .await
        .expect_err("another county");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let providers_denied = client
        .get_selection_report(authed(GetSelectionReportRequest::default(), &app.provider(&provider)))
        .await
        .expect_err("reports are for officers and auditors");
    assert_eq!(providers_denied.code(), Code::PermissionDenied);
}

async fn later_changes_cannot_slip_past_the_rules(app: &App) {
    let code = app.provider_in("0000081", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let round = app.round(SelectionMethod::ExpertReview, 100).await;
    let token = app.provider(&code);

    // PROJ-CROSS-REGION: a consent is one county's; moving the training elsewhere clears it.
    let moved = app.submitted(&code, &round.name, &item, 10, OTHER_COUNTY).await;
    app.client()
        .await
        .record_cross_region_consent(authed(
            RecordCrossRegionConsentRequest {
                application: moved.name.clone(),
                reference: "通人社函〔2026〕9号".into(),
                request_id: String::new(),
            },
            &app.officer(OTHER_COUNTY),
        ))
        .await
        .expect("consent");
    app.client()
        .await
        .return_application(authed(
            ReturnApplicationRequest {
                name: moved.name.clone(),
                reason: "请补充师资".into(),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("returned");
    let current = app.application(&moved.name, &token).await.expect("read");
    assert!(current.cross_region_consent);
    let mut elsewhere = current.clone();
    elsewhere.training_region_code = "421223".into();
    let updated = app
        .client()
        .await
        .update_application(authed(
            UpdateApplicationRequest { application: Some(elsewhere), ..Default::default() },
            &token,
        ))
        .await
        .expect("updated")
        .into_inner()
        .application
        .expect("application");
    assert!(!updated.cross_region_consent, "崇阳's consent is not 通城's");

    // An application left returned or in draft is rejected when the round is decided.
    let draft = app.create_application(&code, App::draft(&round.name, &item, 5, COUNTY)).await.expect("drafted");
    let scored = app.submitted(&code, &round.name, &item, 20, COUNTY).await;

    // PROJ-SELECTION: an expert whose token names the applicant is recused at scoring, whatever
    // was typed at assignment.
    app.close(&round.name).await;
    app.assign(&scored.name, &[("expert-a", ""), ("expert-b", ""), ("expert-c", ""), ("expert-d", "")])
        .await
        .expect("assigned");
    let insider = app
        .client()
        .await
        .submit_score(authed(
            SubmitScoreRequest {
                application: scored.name.clone(),
                rubric: rubric(["30", "20", "20", "20", "10"]),
                request_id: String::new(),
            },
            &app.expert("expert-d", Some(&code)),
        ))
        .await
        .expect_err("own organisation");
    assert_eq!((insider.code(), reason(&insider)), (Code::FailedPrecondition, "PROJ-SELECTION".to_owned()));
    app.client()
        .await
        .declare_conflict(authed(
            DeclareConflictRequest {
                application: scored.name.clone(),
                reason: "同单位".into(),
                request_id: String::new(),
            },
            &app.expert("expert-d", None),
        ))
        .await
        .expect("declared");
    for expert in ["expert-a", "expert-b", "expert-c"] {
        app.score(expert, &scored.name, ["25", "15", "15", "15", "8"]).await.expect("scored");
    }
    let decided = app.decide(&round.name, &[]).await.expect("decided");
    assert_eq!(decided.projects.len(), 1);
    let left = app.application(&draft.name, &token).await.expect("read");
    assert_eq!(left.state, ApplicationState::Rejected as i32, "a draft left behind is rejected at the decision");
    let left_returned = app.application(&moved.name, &token).await.expect("read");
    assert_eq!(left_returned.state, ApplicationState::Rejected as i32);
    let late = app
        .client()
        .await
        .declare_conflict(authed(
            DeclareConflictRequest { application: scored.name.clone(), reason: "x".into(), request_id: String::new() },
            &app.expert("expert-a", None),
        ))
        .await
        .expect_err("the round is decided");
    assert_eq!(late.code(), Code::FailedPrecondition);

    // PROJ-CATALOG: an item superseded since the draft takes no more submissions.
    let next_round = app.round(SelectionMethod::Selection, 100).await;
    let draft = app.create_application(&code, App::draft(&next_round.name, &item, 5, COUNTY)).await.expect("drafted");
    let mut revision = app
        .client()
        .await
        .get_catalog_item(authed(GetCatalogItemRequest { name: item.clone() }, &app.officer(COUNTY)))
        .await
        .expect("item")
        .into_inner()
        .catalog_item
        .expect("item");
    revision.headcount = 20;
    let v2 = app
        .client()
        .await
        .revise_catalog_item(authed(
            ReviseCatalogItemRequest { catalog_item: Some(revision), request_id: String::new() },
            &app.officer(COUNTY),
        ))
        .await
        .expect("revised")
        .into_inner()
        .catalog_item
        .expect("item");
    app.client()
        .await
        .publish_catalog_item(authed(
            PublishCatalogItemRequest { name: v2.name, ..Default::default() },
            &app.officer(COUNTY),
        ))
        .await
        .expect("published");
    let stale = app.submit(&code, &draft.name).await.expect_err("v1 is superseded");
    assert_eq!((stale.code(), reason(&stale)), (Code::FailedPrecondition, "PROJ-CATALOG".to_owned()));
}

async fn the_yearly_quota_caps_every_round_of_the_county(app: &App) {
    let code = app.provider_in("0000091", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let lowered = app.set_quota(COUNTY, 2099, 30).await.expect("lowered before anything is approved");
    assert_eq!((lowered.trainees, lowered.approved, lowered.remaining), (30, 0, 30));

    // Round one asks 20 + 20 within its own quota of 50: only 20 fit the county's 30.
    let first = app.round(SelectionMethod::Selection, 50).await;
    let a = app.submitted(&code, &first.name, &item, 20, COUNTY).await;
    let b = app.submitted(&code, &first.name, &item, 20, COUNTY).await;
    app.close(&first.name).await;
    let decided = app.decide(&first.name, &[(&a.name, "90"), (&b.name, "80")]).await.expect("decided");
    let round = decided.round.expect("round");
    assert_eq!(round.approved_headcount, 20);
    assert!(round.ranking[1].rules.iter().any(|r| r.code == "PROJ-QUOTA" && !r.passed));

    // Round two, same county and year: only the 10 left can be approved.
    let second = app.round(SelectionMethod::Selection, 50).await;
    let c = app.submitted(&code, &second.name, &item, 10, COUNTY).await;
    let d = app.submitted(&code, &second.name, &item, 1, COUNTY).await;
    app.close(&second.name).await;
    let decided = app.decide(&second.name, &[(&c.name, "90"), (&d.name, "80")]).await.expect("decided");
    assert_eq!(decided.round.expect("round").approved_headcount, 10, "not one trainee beyond the county's 30");

    let quotas = app
        .client()
        .await
        .list_quotas(authed(ListQuotasRequest { year: 2099, ..Default::default() }, &app.officer(COUNTY)))
        .await
        .expect("listed")
        .into_inner()
        .quotas;
    let county = quotas.iter().find(|q| q.region_code == COUNTY).expect("the county's quota");
    assert_eq!((county.trainees, county.approved, county.remaining), (30, 30, 0));
    assert_eq!(quotas.len(), 2, "a county officer sees their county's quota and the city's");
    let below = app.set_quota(COUNTY, 2099, 29).await.expect_err("below what is approved");
    assert_eq!((below.code(), reason(&below)), (Code::FailedPrecondition, "PROJ-QUOTA".to_owned()));
    let by_county = app
        .client()
        .await
        .set_quota(authed(
            SetQuotaRequest {
                quota: Some(Quota {
                    region_code: COUNTY.into(),
                    year: 2099,
                    trainees: 500,
                    basis: "x".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("the city sets quotas");
    assert_eq!(by_county.code(), Code::PermissionDenied);

    // A round of a year with no quota set cannot be decided.
    let unfunded = app.round_closing_in(2098, 10).await;
    let e = app.submitted(&code, &unfunded.name, &item, 5, COUNTY).await;
    app.close(&unfunded.name).await;
    let refused = app.decide(&unfunded.name, &[(&e.name, "70")]).await.expect_err("no quota for 2098");
    assert_eq!((refused.code(), reason(&refused)), (Code::FailedPrecondition, "PROJ-QUOTA".to_owned()));
}

async fn an_expert_who_cannot_serve_is_withdrawn_so_the_round_can_be_decided(app: &App) {
    let code = app.provider_in("0000101", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let round = app.round(SelectionMethod::ExpertReview, 50).await;
    let application = app.submitted(&code, &round.name, &item, 10, COUNTY).await;
    app.close(&round.name).await;
    app.assign(&application.name, &[("expert-a", ""), ("expert-b", ""), ("expert-c", ""), ("expert-d", "")])
        .await
        .expect("assigned");
    for expert in ["expert-a", "expert-b", "expert-c"] {
        app.score(expert, &application.name, ["25", "15", "15", "15", "8"]).await.expect("scored");
    }
    let blocked = app.decide(&round.name, &[]).await.expect_err("expert-d has not scored");
    assert_eq!(reason(&blocked), "PROJ-SELECTION");

    let unassign = |expert: &str, token: String| {
        let request = UnassignExpertRequest {
            application: application.name.clone(),
            expert: expert.into(),
            reason: "因病无法参加评审".into(),
            request_id: String::new(),
        };
        async move { app.client().await.unassign_expert(authed(request, &token)).await.map(|r| r.into_inner()) }
    };
    let scored = unassign("expert-a", app.officer(COUNTY)).await.expect_err("a score stays");
    assert_eq!(reason(&scored), "ALREADY_SCORED");
    let outsider = unassign("expert-d", app.officer(OTHER_COUNTY)).await.expect_err("another county's round");
    assert_eq!(outsider.code(), Code::PermissionDenied);
    let remaining = unassign("expert-d", app.officer(COUNTY)).await.expect("withdrawn");
    assert_eq!(remaining.assignments.len(), 3);
    let gone = unassign("expert-d", app.officer(COUNTY)).await.expect_err("no longer assigned");
    assert_eq!(gone.code(), Code::NotFound);

    let decided = app.decide(&round.name, &[]).await.expect("decided with three scores");
    assert_eq!(decided.projects.len(), 1);
    let late = unassign("expert-b", app.officer(COUNTY)).await.expect_err("decided");
    assert_eq!(late.code(), Code::FailedPrecondition);
}

/// The rule `code` among a ranked application's rules: whether it passed.
fn rule(ranked: &RankedApplication, code: &str) -> Option<bool> {
    ranked.rules.iter().rev().find(|r| r.code == code).map(|r| r.passed)
}

async fn proj_quota_fit_approves_an_application_that_still_fits_after_a_larger_one_is_skipped(app: &App) {
    let code = app.provider_in("0000121", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let round = app.round(SelectionMethod::Selection, 50).await;
    let first = app.submitted(&code, &round.name, &item, 40, COUNTY).await;
    let larger = app.submitted(&code, &round.name, &item, 30, COUNTY).await;
    let smaller = app.submitted(&code, &round.name, &item, 5, COUNTY).await;
    app.close(&round.name).await;
    let decided = app
        .decide(&round.name, &[(&first.name, "90"), (&larger.name, "80"), (&smaller.name, "70")])
        .await
        .expect("decided");
    let round_after = decided.round.expect("round");
    // 40 fit; 30 do not fit the 10 left and are skipped; 5 still fit (quota mode FIT, v2).
    let approvals: Vec<(bool, i32)> = round_after.ranking.iter().map(|r| (r.approved, r.approved_headcount)).collect();
    assert_eq!(approvals, [(true, 40), (false, 0), (true, 5)]);
    assert_eq!(rule(&round_after.ranking[1], "PROJ-QUOTA"), Some(false));
    assert_eq!(round_after.approved_headcount, 45);
    assert_eq!(decided.projects.len(), 2);
    let skipped = app.application(&larger.name, &app.provider(&code)).await.expect("read");
    assert_eq!(skipped.history.last().map(|e| e.reason.as_str()), Some("PROJ-QUOTA"));

    // The round shows the mode, the version and the digest it was decided under.
    let v2 = PolicySet::xianning_2025_5_v2();
    assert_eq!(round_after.quota_mode, QuotaMode::Fit as i32);
    assert_eq!(round_after.policy_version, v2.version);
    assert_eq!(round_after.policy_digest, v2.digest());
    let stored = app.get_round(&round.name).await;
    assert_eq!((stored.quota_mode, stored.policy_digest.as_str()), (QuotaMode::Fit as i32, v2.digest().as_str()));
    assert_eq!(stored.ranking, round_after.ranking);
    let open = app.round(SelectionMethod::Selection, 10).await;
    assert_eq!((open.quota_mode, open.policy_digest.as_str()), (QuotaMode::Unspecified as i32, ""), "not decided");
}

async fn a_reduction_approves_the_marginal_application_for_fewer_with_its_reason(app: &App) {
    let code = app.provider_in("0000131", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let round = app.round(SelectionMethod::Selection, 50).await;
    let first = app.submitted(&code, &round.name, &item, 40, COUNTY).await;
    let marginal = app.submitted(&code, &round.name, &item, 30, COUNTY).await;
    app.close(&round.name).await;
    let scores = [(first.name.as_str(), "90"), (marginal.name.as_str(), "80")];
    let reduce = |headcount: i32, reason: &str| {
        vec![QuotaReduction {
            application: marginal.name.clone(),
            headcount,
            reason: reason.into(),
            ..Default::default()
        }]
    };

    let no_reason = app.decide_reducing(&round.name, &scores, reduce(10, " ")).await.expect_err("a reason");
    assert_eq!(
        (no_reason.code(), bad_fields(&no_reason)),
        (Code::InvalidArgument, vec!["reductions[0].reason".into()])
    );
    let not_fewer = app.decide_reducing(&round.name, &scores, reduce(30, "核减")).await.expect_err("not a reduction");
    assert_eq!((not_fewer.code(), reason(&not_fewer)), (Code::InvalidArgument, "PROJ-SELECTION".to_owned()));
    assert_eq!(bad_fields(&not_fewer), ["reductions"]);

    let why = "剩余名额10人,经集体研究核减";
    let decided = app.decide_reducing(&round.name, &scores, reduce(10, why)).await.expect("decided");
    let round_after = decided.round.expect("round");
    assert_eq!(round_after.approved_headcount, 50);
    let reduced = &round_after.ranking[1];
    assert_eq!((reduced.approved, reduced.headcount, reduced.approved_headcount), (true, 30, 10));
    let reduction = reduced.reduction.as_ref().expect("the reduction is shown");
    assert_eq!((reduction.headcount, reduction.reason.as_str()), (10, why));
    assert_eq!(reduction.officer, "test-county_officer");
    let quota_rule = reduced.rules.iter().rev().find(|r| r.code == "PROJ-QUOTA").expect("PROJ-QUOTA");
    assert!(quota_rule.passed && quota_rule.reason_zh.contains(why), "{quota_rule:?}");
    let project = decided.projects.iter().find(|p| p.application == marginal.name).expect("approved");
    assert_eq!(project.approved_headcount, 10);
    let history = app.application(&marginal.name, &app.provider(&code)).await.expect("read").history;
    let approved = history.last().expect("history");
    assert_eq!(approved.action, "approve");
    assert!(approved.reason.contains("reduced to 10") && approved.reason.contains(why), "{approved:?}");
    assert_eq!(app.get_round(&round.name).await.ranking, round_after.ranking, "GetRound shows it too");
}

async fn proj_inservice_an_in_service_project_needs_its_catalog_items_basis(app: &App) {
    let code = app.provider_in("0000141", COUNTY).await;
    let without = app.catalog_item(COUNTY, 100).await;
    let with = app.catalog_item_with(COUNTY, 100, URGENT_LIST).await;
    let item = app
        .client()
        .await
        .get_catalog_item(authed(GetCatalogItemRequest { name: with.clone() }, &app.provider(&code)))
        .await
        .expect("read")
        .into_inner()
        .catalog_item
        .expect("item");
    assert_eq!(item.urgent_occupation_reference, URGENT_LIST);
    let round = app.round(SelectionMethod::Selection, 100).await;
    let in_service =
        |item: &str| Application { in_service_trainees: true, ..App::draft(&round.name, item, 20, COUNTY) };

    let draft = app.create_application(&code, in_service(&without)).await.expect("drafted");
    let refused = app.submit(&code, &draft.name).await.expect_err("the item records no basis");
    assert_eq!((refused.code(), reason(&refused)), (Code::FailedPrecondition, "PROJ-INSERVICE".to_owned()));
    // Not in-service: the rule does not apply.
    app.submitted(&code, &round.name, &without, 10, COUNTY).await;

    let draft = app.create_application(&code, in_service(&with)).await.expect("drafted");
    let submitted = app.submit(&code, &draft.name).await.expect("the item records its basis");
    app.close(&round.name).await;
    let scores: Vec<(String, &str)> = app
        .client()
        .await
        .list_applications(authed(
            ListApplicationsRequest {
                round: round.name.clone(),
                state: ApplicationState::Submitted as i32,
                ..Default::default()
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("listed")
        .into_inner()
        .applications
        .into_iter()
        .map(|a| (a.name, "80"))
        .collect();
    let scores: Vec<(&str, &str)> = scores.iter().map(|(a, s)| (a.as_str(), *s)).collect();
    let decided = app.decide(&round.name, &scores).await.expect("decided");
    let ranked = decided.round.expect("round").ranking;
    let ranked = ranked.iter().find(|r| r.application == submitted.name).expect("ranked");
    assert_eq!(rule(ranked, "PROJ-INSERVICE"), Some(true));
    let project = decided.projects.iter().find(|p| p.application == submitted.name).expect("approved");
    assert_eq!(project.basis, EvaluationBasis::CertificateRate as i32, "PROJ-BASIS: in-service trainees");
}

async fn a_brand_outside_the_pattern_is_accepted_with_its_note(app: &App) {
    let code = app.provider_in("0000151", COUNTY).await;
    let item = app.catalog_item(COUNTY, 100).await;
    let project = app.one_project(&code, &item, 20).await;
    // PROJ-BRAND (v2): "可以" place + occupation + 培训 is advice; another name is accepted with a note.
    let brand = app.register_brand("焊工技能提升", &project).await.expect("accepted with a note");
    assert!(brand.note.contains("焊工技能提升") && brand.note.contains("备注"), "{}", brand.note);
    let listed = app
        .client()
        .await
        .list_brands(authed(ListBrandsRequest::default(), &app.provider(&code)))
        .await
        .expect("listed")
        .into_inner()
        .brands;
    assert_eq!(listed, [brand], "the note is stored and shown");
}

async fn concurrent_decisions_never_approve_beyond_the_county_quota(app: &App) {
    // Each round's applications are of a provider of its own: nothing but the quota is shared.
    let providers = [app.provider_in("0000161", COUNTY).await, app.provider_in("0000162", COUNTY).await];
    let item = app.catalog_item(COUNTY, 100).await;
    // PROJ-QUOTA: two rounds of one county and year, each asking 25 within its own quota of 50,
    // decided at the same moment against the county's 30; several years, so the race is tried
    // more than once.
    for year in [2095, 2096, 2097] {
        app.set_quota(COUNTY, year, 30).await.expect("quota set");
        let mut rounds = Vec::new();
        for code in &providers {
            let round = app.round_closing_in(year, 50).await;
            let a = app.submitted(code, &round.name, &item, 15, COUNTY).await;
            let b = app.submitted(code, &round.name, &item, 10, COUNTY).await;
            app.close(&round.name).await;
            rounds.push((round.name, a.name, b.name));
        }
        let decide = |(round, a, b): (String, String, String)| async move {
            app.decide(&round, &[(a.as_str(), "90"), (b.as_str(), "80")]).await
        };
        let mut rounds = rounds.into_iter();
        let (Some(one), Some(other)) = (rounds.next(), rounds.next()) else { unreachable!("two rounds") };
        let (first, second) = tokio::join!(decide(one), decide(other));
        let approved: Vec<i32> = [first, second]
            .into_iter()
            .map(|decided| decided.expect("both decided").round.expect("round").approved_headcount)
            .collect();
        // One round takes 25; the other finds 5 left, where neither 15 nor 10 fits.
        let mut sorted = approved.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 25], "{year}: approved {approved:?} against a quota of 30");
        let quotas = app
            .client()
            .await
            .list_quotas(authed(ListQuotasRequest { year, ..Default::default() }, &app.admin()))
            .await
            .expect("listed")
            .into_inner()
            .quotas;
        let county = quotas.iter().find(|q| q.region_code == COUNTY).expect("the county's quota");
        assert_eq!((county.trainees, county.approved, county.remaining), (30, 25, 5));
    }
}

async fn a_round_decided_before_modes_were_recorded_shows_strict(app: &App) {
    // A round as stored before quota modes, digests and approved headcounts per rank existed: the
    // columns added since take their defaults.
    let ranking = r#"[{"application_id":"01OLD","rank":1,"score":"90","headcount":20,"submitted_micros":1,
        "approved":true,"rules":[]},{"application_id":"01OLDER","rank":2,"score":"80","headcount":40,
        "submitted_micros":2,"approved":false,"rules":[]}]"#;
    sqlx::query(
        "INSERT INTO selection_round (id, title, region_code, method, quota, deadline, state, approved_headcount, \
         ranking, policy_version, revision, created_by, create_time_micros, update_time_micros) \
         VALUES ('01OLDROUND', '2025年批次', $1, 'SELECTION', 50, '2025-12-31', 'DECIDED', 20, $2, $3, 3, 'officer', 1, 2)",
    )
    .bind(COUNTY)
    .bind(ranking)
    .bind(PolicySet::XIANNING_2025_5_V1)
    .execute(app.db.pool())
    .await
    .expect("an old round");
    let round = app.get_round("rounds/01OLDROUND").await;
    assert_eq!(round.quota_mode, QuotaMode::Strict as i32, "decided before modes were recorded: strictly");
    assert_eq!((round.policy_version.as_str(), round.policy_digest.as_str()), (PolicySet::XIANNING_2025_5_V1, ""));
    let approved: Vec<(bool, i32)> = round.ranking.iter().map(|r| (r.approved, r.approved_headcount)).collect();
    assert_eq!(approved, [(true, 20), (false, 0)], "an approved rank got its headcount");
    assert!(round.ranking.iter().all(|r| r.reduction.is_none()));
}

/// Decisions under policy set v1: what v2 changed is still decided as v1 did for a service
/// configured with v1 (and for replaying v1 decisions).
mod under_policy_set_v1 {
    use super::*;

    async fn start(backend: Backend) -> Option<App> {
        with_quotas(common::start_under(backend, PolicySet::xianning_2025_5_v1()).await?).await
    }

    async fn proj_quota_strict_approves_none_after_one_that_does_not_fit(app: &App) {
        let code = app.provider_in("0000171", COUNTY).await;
        let item = app.catalog_item(COUNTY, 100).await;
        let round = app.round(SelectionMethod::Selection, 50).await;
        let first = app.submitted(&code, &round.name, &item, 40, COUNTY).await;
        let larger = app.submitted(&code, &round.name, &item, 30, COUNTY).await;
        let smaller = app.submitted(&code, &round.name, &item, 5, COUNTY).await;
        app.close(&round.name).await;
        let scores = [(first.name.as_str(), "90"), (larger.name.as_str(), "80"), (smaller.name.as_str(), "70")];
        let reduction = vec![QuotaReduction {
            application: larger.name.clone(),
            headcount: 10,
            reason: "核减".into(),
            ..Default::default()
        }];
        let no_reductions = app.decide_reducing(&round.name, &scores, reduction).await.expect_err("no 核减 in v1");
        assert_eq!(
            (no_reductions.code(), reason(&no_reductions)),
            (Code::InvalidArgument, "PROJ-SELECTION".to_owned())
        );

        let decided = app.decide(&round.name, &scores).await.expect("decided");
        let round_after = decided.round.expect("round");
        let approvals: Vec<bool> = round_after.ranking.iter().map(|r| r.approved).collect();
        assert_eq!(approvals, [true, false, false], "STRICT: the 5 that would fit are not approved past the 30");
        assert_eq!(rule(&round_after.ranking[2], "PROJ-QUOTA"), Some(false));
        assert_eq!(round_after.approved_headcount, 40);
        let v1 = PolicySet::xianning_2025_5_v1();
        assert_eq!(round_after.quota_mode, QuotaMode::Strict as i32);
        assert_eq!(
            (round_after.policy_version.as_str(), round_after.policy_digest),
            (v1.version.as_str(), v1.digest())
        );
    }

    async fn proj_brand_a_name_outside_the_pattern_is_refused(app: &App) {
        let code = app.provider_in("0000181", COUNTY).await;
        let item = app.catalog_item(COUNTY, 100).await;
        let project = app.one_project(&code, &item, 20).await;
        let refused = app.register_brand("焊工技能提升", &project).await.expect_err("not place + occupation + 培训");
        assert_eq!((refused.code(), reason(&refused)), (Code::InvalidArgument, "PROJ-BRAND".to_owned()));
        let brand = app.register_brand("嘉鱼焊工培训", &project).await.expect("registered");
        assert_eq!(brand.note, "");
    }

    backend_tests!(start =>
        proj_quota_strict_approves_none_after_one_that_does_not_fit,
        proj_brand_a_name_outside_the_pattern_is_refused,
    );
}

backend_tests!(start =>
    expert_review_approves_in_rank_order_until_the_quota_is_used,
    another_method_ranks_by_officer_scores,
    a_returned_application_is_corrected_and_resubmitted_with_its_history,
    an_application_update_changes_only_the_fields_its_mask_names,
    an_incomplete_plan_is_refused_with_proj_plan,
    cross_region_training_needs_the_training_countys_consent,
    a_disqualified_provider_cannot_apply,
    an_officer_of_another_county_sees_none_of_it,
    a_repeated_request_id_creates_nothing_new,
    requests_are_validated_naming_field_and_rule,
    rounds_and_projects_list_page_and_read,
    brands_and_the_selection_report_count_approved_projects,
    later_changes_cannot_slip_past_the_rules,
    the_yearly_quota_caps_every_round_of_the_county,
    an_expert_who_cannot_serve_is_withdrawn_so_the_round_can_be_decided,
    proj_quota_fit_approves_an_application_that_still_fits_after_a_larger_one_is_skipped,
    a_reduction_approves_the_marginal_application_for_fewer_with_its_reason,
    proj_inservice_an_in_service_project_needs_its_catalog_items_basis,
    a_brand_outside_the_pattern_is_accepted_with_its_note,
    concurrent_decisions_never_approve_beyond_the_county_quota,
    a_round_decided_before_modes_were_recorded_shows_strict,
);
