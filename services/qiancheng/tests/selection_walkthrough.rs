//! The selection service tried as a new user would, against `qiancheng dev` running as its own
//! process: demand filed in the demand service becomes a catalog item in the selection service,
//! providers apply, experts score (one recused), the ranking approves within the quota and not
//! one trainee beyond, a disqualified provider is refused, and another county sees none of it.

mod common;

use common::Dev;

use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::*;
use qiancheng_api::types::Date;
use qiancheng_testkit::{authed, fixtures, reason};
use tonic::Code;

const COUNTY: &str = "421221";

fn school(first17: &str, years: Vec<i32>) -> Provider {
    Provider {
        credit_code: fixtures::uscc(first17),
        display_name: format!("嘉鱼职业培训学校{first17}"),
        region_code: COUNTY.into(),
        pays_tax_locally: true,
        independent_legal_person: true,
        kind: ProviderKind::PrivateTrainingSchool as i32,
        conditions: Some(KindConditions {
            passed_all_annual_inspections: true,
            subsidised_training_years: years,
            ..Default::default()
        }),
        bank_account: Some(BankAccount {
            holder: "学校".into(),
            bank: "农业银行嘉鱼支行".into(),
            number: "6228480012345678".into(),
        }),
        ..Default::default()
    }
}

fn application(round: &str, item: &str, provider: &str, headcount: i32) -> Application {
    Application {
        round: round.into(),
        catalog_item: item.into(),
        provider_credit_code: provider.into(),
        headcount,
        training_region_code: COUNTY.into(),
        in_service_trainees: false,
        filing: Some(Filing {
            project_title: "嘉鱼焊工项目化培训".into(),
            planned_start: Some(Date { year: 2027, month: 3, day: 1 }),
            planned_end: Some(Date { year: 2027, month: 4, day: 30 }),
            venue: "嘉鱼县实训基地".into(),
            contact: "王老师".into(),
        }),
        plan: Some(Plan {
            application_summary: "面向重点项目企业的焊工培训".into(),
            teaching_plan: "理论40课时,实操80课时".into(),
            safety_content: "焊接安全、防火防爆、个人防护".into(),
            training_mode: TrainingMode::Offline as i32,
            assessment_method: "结业考核并组织职业技能等级认定".into(),
            employment_measures: "与嘉鱼重工签订定向就业协议".into(),
        }),
        ..Default::default()
    }
}

fn rubric(points: [&str; 5]) -> Vec<RubricScore> {
    ["PLAN", "CAPACITY", "TEACHERS", "EMPLOYMENT", "SAFETY"]
        .iter()
        .zip(points)
        .map(|(criterion, points)| RubricScore { criterion: (*criterion).into(), points: points.into() })
        .collect()
}

#[tokio::test]
async fn a_county_runs_expert_review_selection_end_to_end() {
    let dev = Dev::start();
    let officer = dev.token(&["--role", "COUNTY_OFFICER", "--region", COUNTY, "--subject", "officer-jiayu"]);
    let mut selection = SelectionServiceClient::new(dev.channel("selection").await);

    // Real demand: an enterprise's published vacancy for 30 welders.
    fixtures::publish_welding_demand(dev.channel("demand").await, &officer, "91421221MA4K7Y2G3", COUNTY, 30).await;

    // Three providers, one of them ineligible with the reason.
    let mut providers = Vec::new();
    for (seed, years) in [
        ("52421221MJ0000A01", vec![2023, 2024, 2025, 2026]),
        ("52421221MJ0000A02", vec![2023, 2024, 2025, 2026]),
        ("52421221MJ0000A03", vec![2026]),
    ] {
        let provider = selection
            .register_provider(authed(
                RegisterProviderRequest { provider: Some(school(seed, years)), request_id: String::new() },
                &officer,
            ))
            .await
            .expect("registered")
            .into_inner()
            .provider
            .expect("provider");
        providers.push(provider);
    }
    let ineligible = &providers[2].eligibility.as_ref().expect("eligibility");
    assert!(!ineligible.outcome);
    assert!(ineligible.rules.iter().any(|r| r.code == "PROV-KIND" && !r.passed && !r.reason_zh.is_empty()));

    // A catalog item from the demand service's summary, published.
    let drafts = selection
        .draft_catalog_from_demand(authed(
            DraftCatalogFromDemandRequest {
                content: "焊接安全与实操".into(),
                hours: 120,
                mode: TrainingMode::Offline as i32,
                ..Default::default()
            },
            &officer,
        ))
        .await
        .expect("drafted")
        .into_inner();
    let item = drafts.catalog_items.first().expect("one draft per gap").clone();
    assert_eq!(item.headcount, 30);
    selection
        .publish_catalog_item(authed(
            PublishCatalogItemRequest { name: item.name.clone(), ..Default::default() },
            &officer,
        ))
        .await
        .expect("published");

    // An expert-review round with a quota of 20 trainees.
    let round = selection
        .create_round(authed(
            CreateRoundRequest {
                round: Some(Round {
                    title: "2027年嘉鱼县第一批".into(),
                    region_code: COUNTY.into(),
                    method: SelectionMethod::ExpertReview as i32,
                    quota: 20,
                    deadline: Some(Date { year: 2030, month: 1, day: 1 }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect("round")
        .into_inner()
        .round
        .expect("round");

    // Providers apply: 12 and 10 trainees (22 in all, two beyond the quota).
    let mut applications = Vec::new();
    for (provider, headcount) in [(&providers[0], 12), (&providers[1], 10)] {
        let token = dev.token(&["--role", "PROVIDER", "--org", &provider.credit_code]);
        let draft = selection
            .create_application(authed(
                CreateApplicationRequest {
                    application: Some(application(&round.name, &item.name, &provider.credit_code, headcount)),
                    request_id: String::new(),
                },
                &token,
            ))
            .await
            .expect("applied")
            .into_inner()
            .application
            .expect("application");
        selection
            .submit_application(authed(
                SubmitApplicationRequest { name: draft.name.clone(), ..Default::default() },
                &token,
            ))
            .await
            .expect("submitted");
        applications.push(draft.name);
    }
    let ineligible_token = dev.token(&["--role", "PROVIDER", "--org", &providers[2].credit_code]);
    let draft = selection
        .create_application(authed(
            CreateApplicationRequest {
                application: Some(application(&round.name, &item.name, &providers[2].credit_code, 5)),
                request_id: String::new(),
            },
            &ineligible_token,
        ))
        .await
        .expect("a draft may be made")
        .into_inner()
        .application
        .expect("application");
    let refused = selection
        .submit_application(authed(
            SubmitApplicationRequest { name: draft.name, ..Default::default() },
            &ineligible_token,
        ))
        .await
        .expect_err("an ineligible provider cannot submit");
    assert_eq!((refused.code(), reason(&refused)), (Code::FailedPrecondition, "PROV-KIND".to_owned()));

    // Four experts each; one is of the first applicant's organisation, one declares a conflict.
    selection
        .close_round(authed(CloseRoundRequest { name: round.name.clone(), request_id: String::new() }, &officer))
        .await
        .expect("closed");
    let experts = ["expert-1", "expert-2", "expert-3", "expert-4"];
    for (n, app_name) in applications.iter().enumerate() {
        let refs: Vec<ExpertRef> = experts
            .iter()
            .map(|e| ExpertRef {
                expert: (*e).into(),
                organisation: if *e == "expert-4" && n == 0 { providers[0].credit_code.clone() } else { String::new() },
            })
            .collect();
        let assigned = selection
            .assign_experts(authed(
                AssignExpertsRequest { application: app_name.clone(), experts: refs, request_id: String::new() },
                &officer,
            ))
            .await
            .expect("assigned")
            .into_inner()
            .assignments;
        assert_eq!(assigned.iter().filter(|a| a.recused).count(), if n == 0 { 1 } else { 0 });
    }
    let expert4 = dev.token(&["--role", "EXPERT", "--subject", "expert-4"]);
    selection
        .declare_conflict(authed(
            DeclareConflictRequest {
                application: applications[1].clone(),
                reason: "曾在该校兼职授课".into(),
                request_id: String::new(),
            },
            &expert4,
        ))
        .await
        .expect("declared");
    let recused = selection
        .submit_score(authed(
            SubmitScoreRequest {
                application: applications[1].clone(),
                rubric: rubric(["20", "15", "15", "15", "8"]),
                request_id: String::new(),
            },
            &expert4,
        ))
        .await
        .expect_err("a recused expert does not score");
    assert_eq!(recused.code(), Code::FailedPrecondition);
    for expert in &experts[..3] {
        let token = dev.token(&["--role", "EXPERT", "--subject", expert]);
        let mine = selection
            .list_assignments(authed(ListAssignmentsRequest::default(), &token))
            .await
            .expect("assignments")
            .into_inner();
        assert_eq!(mine.assignments.len(), 2, "an expert sees only their assignments");
        for (app_name, points) in
            [(&applications[0], ["28", "18", "18", "18", "9"]), (&applications[1], ["24", "16", "16", "16", "8"])]
        {
            selection
                .submit_score(authed(
                    SubmitScoreRequest {
                        application: app_name.clone(),
                        rubric: rubric(points),
                        request_id: String::new(),
                    },
                    &token,
                ))
                .await
                .expect("scored");
        }
    }

    // The city has set the county's yearly quota (PROJ-QUOTA); the round's own quota is smaller.
    let admin = dev.token(&["--role", "CITY_ADMIN", "--region", "421200"]);
    selection
        .set_quota(authed(
            SetQuotaRequest {
                quota: Some(Quota {
                    region_code: COUNTY.into(),
                    year: 2030,
                    trainees: 300,
                    basis: "2030年就业补助资金".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &admin,
        ))
        .await
        .expect("quota set");

    // The ranking approves within the quota and not one trainee beyond it.
    let decided = selection
        .decide_round(authed(DecideRoundRequest { name: round.name.clone(), ..Default::default() }, &officer))
        .await
        .expect("decided")
        .into_inner();
    let round_now = decided.round.expect("round");
    assert_eq!(round_now.state, RoundState::Decided as i32);
    assert_eq!(round_now.approved_headcount, 12);
    assert!(round_now.approved_headcount <= round_now.quota);
    assert_eq!(decided.projects.len(), 1);
    assert_eq!(decided.projects[0].provider_credit_code, providers[0].credit_code);
    // The ranking is reproducible from what the round shows: each score is the mean of the
    // non-recused experts' scores (PROJ-SELECTION; fewer than five, so nothing is trimmed).
    for ranked in &round_now.ranking {
        let kept: Vec<f64> =
            ranked.expert_scores.iter().filter(|e| !e.recused).map(|e| e.score.parse().expect("a decimal")).collect();
        assert_eq!(kept.len(), 3);
        let mean = kept.iter().sum::<f64>() / 3.0;
        assert!((mean - ranked.score.parse::<f64>().expect("a decimal")).abs() < 1e-9, "{ranked:?}");
    }
    assert_eq!(
        round_now.ranking[0].expert_scores.iter().filter(|e| e.recused).count(),
        1,
        "the own-organisation expert"
    );
    let second = round_now.ranking.iter().find(|r| r.application == applications[1]).expect("ranked");
    assert!(!second.approved);
    assert!(second.rules.iter().any(|r| r.code == "PROJ-QUOTA" && !r.passed));

    // A disqualified provider's next application is refused with PROV-DISQUALIFIED.
    selection
        .disqualify_provider(authed(
            DisqualifyProviderRequest {
                provider: providers[1].name.clone(),
                misconduct: MisconductKind::Fraud as i32,
                finding: "虚报学员出勤".into(),
                ..Default::default()
            },
            &officer,
        ))
        .await
        .expect("disqualified");
    let next_round = selection
        .create_round(authed(
            CreateRoundRequest {
                round: Some(Round {
                    title: "2027年嘉鱼县第二批".into(),
                    region_code: COUNTY.into(),
                    method: SelectionMethod::ComprehensiveEvaluation as i32,
                    quota: 50,
                    deadline: Some(Date { year: 2030, month: 1, day: 1 }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect("round")
        .into_inner()
        .round
        .expect("round");
    let token = dev.token(&["--role", "PROVIDER", "--org", &providers[1].credit_code]);
    let refused = selection
        .create_application(authed(
            CreateApplicationRequest {
                application: Some(application(&next_round.name, &item.name, &providers[1].credit_code, 5)),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect_err("disqualified");
    assert_eq!((refused.code(), reason(&refused)), (Code::FailedPrecondition, "PROV-DISQUALIFIED".to_owned()));

    // A county officer of another county sees none of it.
    let outsider = dev.token(&["--role", "COUNTY_OFFICER", "--region", "421222"]);
    let providers_seen =
        selection.list_providers(authed(ListProvidersRequest::default(), &outsider)).await.expect("list").into_inner();
    assert!(providers_seen.providers.is_empty());
    let applications_seen = selection
        .list_applications(authed(ListApplicationsRequest::default(), &outsider))
        .await
        .expect("list")
        .into_inner();
    assert!(applications_seen.applications.is_empty());
    let rounds_seen =
        selection.list_rounds(authed(ListRoundsRequest::default(), &outsider)).await.expect("list").into_inner();
    assert!(rounds_seen.rounds.is_empty());
    let projects_seen =
        selection.list_projects(authed(ListProjectsRequest::default(), &outsider)).await.expect("list").into_inner();
    assert!(projects_seen.projects.is_empty());
    let denied = selection
        .get_application(authed(GetApplicationRequest { name: applications[0].clone() }, &outsider))
        .await
        .expect_err("denied");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied =
        selection.get_round(authed(GetRoundRequest { name: round.name.clone() }, &outsider)).await.expect_err("denied");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let drafts_seen = selection
        .list_catalog_items(authed(
            ListCatalogItemsRequest { state: CatalogItemState::Draft as i32, ..Default::default() },
            &outsider,
        ))
        .await
        .expect("list")
        .into_inner();
    assert!(drafts_seen.catalog_items.is_empty());
}
