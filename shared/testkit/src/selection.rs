//! A project approved through selection's own API, as a county's officer and a provider do it:
//! the provider is registered, a welding catalog item is drafted and published, a comprehensive
//! evaluation round is opened, the provider applies and submits, and the officer closes the round
//! and decides it. Tests of the services that build on approved projects start here.

use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{self as sel};
use qiancheng_api::types::{Date, Industry, SkillLevel};
use tonic::transport::Channel;

use crate::{authed, fixtures};

/// What to approve.
#[derive(Debug, Clone)]
pub struct ProjectToApprove<'a> {
    /// The county the provider is registered in and the project trains in.
    pub county: &'a str,
    /// Seven characters that make the provider's credit code and names distinct.
    pub seed: &'a str,
    /// Trainees in the catalog item, the round's quota and the application.
    pub headcount: i32,
    /// Training hours of the catalog item.
    pub hours: i32,
    /// The round's deadline; the county needs a quota for its year.
    pub deadline: Date,
}

/// Approves `project` through `selection` with the county officer's token `officer`, applying
/// with the token `provider_token` gives the new provider's credit code. Returns the provider's
/// credit code and the approved project's name.
pub async fn approve_project(
    selection: &mut SelectionServiceClient<Channel>,
    officer: &str,
    provider_token: impl Fn(&str) -> String,
    project: ProjectToApprove<'_>,
) -> (String, String) {
    let ProjectToApprove { county, seed, headcount, hours, deadline } = project;
    let code = fixtures::uscc(&format!("52{county}MJ{seed}"));
    selection
        .register_provider(authed(
            sel::RegisterProviderRequest {
                provider: Some(sel::Provider {
                    credit_code: code.clone(),
                    display_name: format!("职业培训学校{seed}"),
                    region_code: county.into(),
                    pays_tax_locally: true,
                    independent_legal_person: true,
                    kind: sel::ProviderKind::PrivateTrainingSchool as i32,
                    conditions: Some(sel::KindConditions {
                        passed_all_annual_inspections: true,
                        subsidised_training_years: vec![2023, 2024, 2025, 2026],
                        ..Default::default()
                    }),
                    bank_account: Some(sel::BankAccount {
                        holder: format!("职业培训学校{seed}"),
                        bank: "咸宁农商银行".into(),
                        number: "6228480012345678".into(),
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            officer,
        ))
        .await
        .expect("provider registered");
    let item = selection
        .create_catalog_item(authed(
            sel::CreateCatalogItemRequest {
                catalog_item: Some(sel::CatalogItem {
                    region_code: county.into(),
                    industry: Industry::EquipmentManufacturing as i32,
                    occupation_code: "6-18-02-04".into(),
                    occupation_name: "焊工".into(),
                    skill_level: SkillLevel::SkillLevel4 as i32,
                    headcount,
                    skill_requirements: "达到焊工四级标准".into(),
                    content: "焊接工艺与安全".into(),
                    hours,
                    mode: sel::TrainingMode::Offline as i32,
                    answers: vec![format!("岗位需求汇总: 焊工缺口{headcount}人")],
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            officer,
        ))
        .await
        .expect("catalog item drafted")
        .into_inner()
        .catalog_item
        .expect("item");
    selection
        .publish_catalog_item(authed(
            sel::PublishCatalogItemRequest { name: item.name.clone(), ..Default::default() },
            officer,
        ))
        .await
        .expect("catalog item published");
    let round = selection
        .create_round(authed(
            sel::CreateRoundRequest {
                round: Some(sel::Round {
                    title: format!("焊工项目综合评议{seed}批"),
                    region_code: county.into(),
                    method: sel::SelectionMethod::ComprehensiveEvaluation as i32,
                    quota: headcount,
                    deadline: Some(deadline),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            officer,
        ))
        .await
        .expect("round opened")
        .into_inner()
        .round
        .expect("round");
    let provider = provider_token(&code);
    let application = selection
        .create_application(authed(
            sel::CreateApplicationRequest {
                application: Some(sel::Application {
                    round: round.name.clone(),
                    catalog_item: item.name.clone(),
                    provider_credit_code: code.clone(),
                    headcount,
                    training_region_code: county.into(),
                    filing: Some(sel::Filing {
                        project_title: "焊工项目化培训".into(),
                        planned_start: Some(Date { year: 2027, month: 3, day: 1 }),
                        planned_end: Some(Date { year: 2027, month: 4, day: 30 }),
                        venue: "县实训基地".into(),
                        contact: "王老师".into(),
                    }),
                    plan: Some(sel::Plan {
                        application_summary: "面向装备制造企业的焊工培训".into(),
                        teaching_plan: "理论40学时,实操60学时".into(),
                        safety_content: "焊接安全、防火防爆、个人防护".into(),
                        training_mode: sel::TrainingMode::Offline as i32,
                        assessment_method: "结业考核并组织职业技能等级认定".into(),
                        employment_measures: "与合作企业签订定向就业协议".into(),
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &provider,
        ))
        .await
        .expect("applied")
        .into_inner()
        .application
        .expect("application");
    selection
        .submit_application(authed(
            sel::SubmitApplicationRequest { name: application.name.clone(), ..Default::default() },
            &provider,
        ))
        .await
        .expect("submitted");
    selection
        .close_round(authed(sel::CloseRoundRequest { name: round.name.clone(), ..Default::default() }, officer))
        .await
        .expect("round closed");
    let decided = selection
        .decide_round(authed(
            sel::DecideRoundRequest {
                name: round.name.clone(),
                officer_scores: vec![sel::OfficerScore { application: application.name, score: "85".into() }],
                ..Default::default()
            },
            officer,
        ))
        .await
        .expect("round decided")
        .into_inner();
    let approved = decided.projects.first().expect("the project is approved");
    assert_eq!(approved.approved_headcount, headcount);
    (code, approved.name.clone())
}

/// Gives each of `regions` a yearly quota of `trainees` for `year`, as the city administrator
/// `admin` does before a round whose deadline falls in that year.
pub async fn set_quotas(
    selection: &mut SelectionServiceClient<Channel>,
    admin: &str,
    regions: &[&str],
    year: i32,
    trainees: i32,
) {
    for region in regions {
        let quota = sel::Quota {
            region_code: (*region).into(),
            year,
            trainees,
            basis: "年度培训任务".into(),
            ..Default::default()
        };
        selection
            .set_quota(authed(sel::SetQuotaRequest { quota: Some(quota), request_id: String::new() }, admin))
            .await
            .expect("quota set");
    }
}

/// What a county officer asks of DraftCatalogFromDemand for its welders: an 80-hour offline
/// course in welding safety and practice (the call reads demand's training-need summary).
pub fn welding_draft() -> sel::DraftCatalogFromDemandRequest {
    sel::DraftCatalogFromDemandRequest {
        content: "焊接安全与实操".into(),
        hours: 80,
        mode: sel::TrainingMode::Offline as i32,
        ..Default::default()
    }
}
