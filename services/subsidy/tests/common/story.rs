//! The walkthrough's story the claim and money tests and the benches share: its people, their
//! evidence, the class lived through from filing to results (for as many projects as a bench
//! needs), the standards table and the materials a claim lists, the evidence and acceptance the
//! real outcome service is told, and the claim filed, reviewed and approved.

use chrono::{Days, NaiveDate};
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::{
    ContractEvidence, ContractKind as OutcomeContractKind, EvidenceInput, EvidenceKind, InsuranceEvidence,
    ListTraineesRequest, PayerRelation, RecordAcceptanceRequest, RecordEvidenceRequest, WageEvidence,
};
use qiancheng_api::subsidy::{
    ApproveClaimRequest, Claim, ClaimMaterial, FileClaimRequest, ImportStandardsRequest, ReviewClaimRequest,
    ReviewDecision, StandardRow, StandardSource,
};
use qiancheng_api::supervision::*;
use qiancheng_api::types::{SkillLevel, TrainingMode};
use qiancheng_domain::policy::facts::{ContractKind, EmployerMonth, EmploymentContract, OutcomeEvidence, YearMonth};
use qiancheng_subsidy::peer::OutcomeFacts;

use super::*;

/// Person `n`, born in 1990 (900 people a day from 1 January), a 咸宁 household-registered rural
/// migrant worker.
pub fn person(n: u32) -> TraineeInput {
    let born = day(1990, 1, 1) + Days::new(u64::from(n / 900));
    TraineeInput {
        person_name: format!("学员{n}号"),
        id_number: qiancheng_testkit::fixtures::id_number(&format!(
            "421202{}{:03}",
            born.format("%Y%m%d"),
            100 + n % 900
        )),
        phone: format!("138{n:08}"),
        target_group: qiancheng_api::types::TargetGroup::RuralMigrant as i32,
        local_basis: LocalBasis::HouseholdRegistration as i32,
        local_basis_evidence: "户口簿".into(),
        ..Default::default()
    }
}

/// Employed after the class: a labour contract in May 2027 and three months of insurance and
/// wages with the same employer (OUT-EMP-CONTRACT).
pub fn employed() -> OutcomeEvidence {
    let months =
        (5..8).map(|month| EmployerMonth { employer: "嘉鱼重工".into(), month: YearMonth { year: 2027, month } });
    OutcomeEvidence {
        contracts: vec![EmploymentContract {
            employer: "嘉鱼重工".into(),
            kind: ContractKind::Labour,
            signed_on: day(2027, 5, 10),
            accident_insurance: false,
            ends_on: None,
        }],
        insurance_months: months.clone().collect(),
        wage_months: months.collect(),
        ..Default::default()
    }
}

/// Microseconds since the epoch of 08:00 China time on `d`.
pub fn morning(d: NaiveDate) -> i64 {
    qiancheng_domain::china_micros(d.and_hms_opt(8, 0, 0).expect("time"))
}

/// The walkthrough's class: 23 on the roster from 2027-03-01 to 04-30, 50 sessions of 100 hours;
/// 20 attend everything and pass, 3 attend nothing. Returns the trainees' names, the 20 first.
pub async fn run_class(suite: &Suite) -> Vec<String> {
    run_class_of(suite, &suite.project, &suite.provider_token(), 0).await
}

/// The walkthrough's class of `project`, filed by its provider (`provider`), its roster persons
/// `first` to `first + 22` ([`person`]): a suite runs one for each of its projects, each of other
/// people.
pub async fn run_class_of(suite: &Suite, project: &str, provider: &str, first: u32) -> Vec<String> {
    let provider = provider.to_owned();
    // Filed before the class starts, whatever class the suite lived through before.
    suite.supervision_clock.set(day(2026, 12, 1));
    let mut supervision = suite.supervision_client().await;
    let class = Class {
        project: project.to_owned(),
        title: "嘉鱼焊工培训第一期".into(),
        first_day: Some(date(2027, 3, 1)),
        last_day: Some(date(2027, 4, 30)),
        theory_hours: 40,
        practice_hours: 60,
        mode: TrainingMode::Offline as i32,
        venue: "嘉鱼县实训基地".into(),
        teachers: vec![Teacher { name: "王师傅".into(), qualification: "焊工一级/高级技师".into() }],
        ..Default::default()
    };
    let filed = supervision
        .create_class(authed(
            CreateClassRequest {
                class: Some(class),
                roster: (first..first + 23).map(person).collect(),
                request_id: String::new(),
            },
            &provider,
        ))
        .await
        .expect("filed")
        .into_inner();
    assert!(filed.refused.is_empty(), "{:?}", filed.refused);
    let class = filed.class.expect("class");
    let mut trainees = filed.trainees;
    trainees.sort_by_key(|t| t.person.clone().map(|p| p.phone).unwrap_or_default());
    supervision
        .acknowledge_class(authed(
            AcknowledgeClassRequest { name: class.name.clone(), ..Default::default() },
            &suite.officer(COUNTY),
        ))
        .await
        .expect("acknowledged");
    // The filed hours exactly: twenty theory sessions of 2 hours, then thirty practice ones.
    let sessions: Vec<Session> = (0..50u64)
        .map(|i| Session {
            held_on: Some(qiancheng_api::convert::date_to_proto(day(2027, 3, 1) + Days::new(i))),
            hours: 2,
            kind: if i < 20 { SessionKind::Theory } else { SessionKind::Practice } as i32,
            topic: "焊接工艺与实操".into(),
            ..Default::default()
        })
        .collect();
    let sessions = supervision
        .create_sessions(authed(
            CreateSessionsRequest { class: class.name.clone(), sessions, request_id: String::new() },
            &provider,
        ))
        .await
        .expect("sessions")
        .into_inner()
        .sessions;
    // The class is lived through: the check-ins arrive on its last day, after every session.
    suite.supervision_clock.set(day(2027, 4, 30));
    let mut events = Vec::new();
    // Each class its own sign-in device: one device checking in trainees of other classes at the
    // same moments is what DEVICE-SHARED looks for.
    let device = format!("gate-{}", first / 23 + 1);
    for (n, trainee) in trainees.iter().enumerate().take(20) {
        for (i, session) in sessions.iter().enumerate() {
            let held = session.held_on.expect("a day");
            let held = NaiveDate::from_ymd_opt(
                held.year,
                u32::try_from(held.month).expect("m"),
                u32::try_from(held.day).expect("d"),
            )
            .expect("date");
            events.push(CheckIn {
                event_id: format!("{n}-{i}"),
                session: session.name.clone(),
                trainee: trainee.name.clone(),
                checked_in_micros: morning(held),
                device: device.clone(),
                ..Default::default()
            });
        }
    }
    let chunks: Vec<StreamAttendanceRequest> =
        events.chunks(500).map(|c| StreamAttendanceRequest { class: class.name.clone(), events: c.to_vec() }).collect();
    let mut acks = supervision
        .stream_attendance(authed(tokio_stream::iter(chunks), &provider))
        .await
        .expect("stream")
        .into_inner();
    while acks.message().await.expect("acknowledged").is_some() {}
    supervision
        .record_assessments(authed(
            RecordAssessmentsRequest {
                class: class.name.clone(),
                results: trainees
                    .iter()
                    .map(|t| TraineeAssessment { trainee: t.name.clone(), result: AssessmentResult::Passed as i32 })
                    .collect(),
                request_id: String::new(),
            },
            &provider,
        ))
        .await
        .expect("assessed");
    let done = supervision
        .complete_class(authed(CompleteClassRequest { name: class.name.clone(), ..Default::default() }, &provider))
        .await
        .expect("completed")
        .into_inner();
    assert_eq!(done.trainees.iter().filter(|t| t.state == TraineeState::Completed as i32).count(), 20);
    trainees.into_iter().map(|t| t.name).collect()
}

/// The standards table: 3,000 yuan for every level of the welder from 2025.
pub async fn standards(suite: &Suite) {
    let rows = [SkillLevel::SkillLevel5, SkillLevel::SkillLevel4, SkillLevel::SkillLevel3]
        .into_iter()
        .map(|level| StandardRow {
            occupation_code: WELDER.into(),
            occupation_name: "焊工".into(),
            skill_level: level as i32,
            standard_fen: 300_000,
            source: StandardSource::Provincial as i32,
            document_number: String::new(),
            effective_from: Some(date(2025, 1, 1)),
        })
        .collect();
    let imported = suite
        .client()
        .await
        .import_standards(authed(ImportStandardsRequest { rows, request_id: String::new() }, &suite.admin()))
        .await
        .expect("imported")
        .into_inner();
    assert_eq!(imported.stored, 3);
}

pub fn every_material() -> Vec<i32> {
    vec![ClaimMaterial::Annex4 as i32, ClaimMaterial::Ledger as i32, ClaimMaterial::EmploymentEvidence as i32]
}

/// The employer of the employed trainees, where the real outcome service judges them.
const EMPLOYER: &str = "91421221MA4K7Y003";

fn item(trainee: &str, kind: EvidenceKind) -> EvidenceInput {
    EvidenceInput {
        trainee: trainee.into(),
        kind: kind as i32,
        media_type: "application/pdf".into(),
        document_content: format!("scan of {kind:?} for {trainee}").into_bytes(),
        ..Default::default()
    }
}

/// ① a labour contract of May 2027 and three months of insurance and wages from its employer.
fn route_one(trainee: &str) -> [EvidenceInput; 3] {
    let employer = qiancheng_testkit::fixtures::uscc(EMPLOYER);
    let months: Vec<String> = (5..8).map(|m| format!("2027-{m:02}")).collect();
    [
        EvidenceInput {
            contract: Some(ContractEvidence {
                employer_credit_code: employer.clone(),
                kind: OutcomeContractKind::Labour as i32,
                signed_on: Some(date(2027, 5, 1)),
                ..Default::default()
            }),
            ..item(trainee, EvidenceKind::Contract)
        },
        EvidenceInput {
            insurance: Some(InsuranceEvidence {
                employer_credit_code: employer.clone(),
                months: months.clone(),
                region_code: COUNTY.into(),
                ..Default::default()
            }),
            ..item(trainee, EvidenceKind::Insurance)
        },
        EvidenceInput {
            wages: Some(WageEvidence {
                employer_credit_code: employer,
                payer_relation: PayerRelation::EmployerAccount as i32,
                months,
                amount_fen: 900_000,
            }),
            ..item(trainee, EvidenceKind::Wages)
        },
    ]
}

/// A client of the real outcome service, where the suite runs it.
pub async fn outcome_client(suite: &Suite) -> OutcomeServiceClient<Channel> {
    OutcomeServiceClient::new(suite.outcome.as_ref().expect("outcome runs").channel().await)
}

/// Waits until outcome has followed `project`'s completed class (it is never told): 23 watched,
/// the 3 who attended nothing left out.
pub async fn followed(suite: &Suite, project: &str) {
    let mut seen = Vec::new();
    for _ in 0..300 {
        let listed = outcome_client(suite)
            .await
            .list_trainees(authed(
                ListTraineesRequest { project: project.to_owned(), page_size: 100, ..Default::default() },
                &suite.admin(),
            ))
            .await
            .expect("trainees")
            .into_inner()
            .trainees;
        seen = listed.iter().map(|t| t.excluded_by.clone()).collect();
        if listed.len() == 23 && listed.iter().filter(|t| t.excluded_by == "CLASS-ATTENDANCE").count() == 3 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("outcome did not follow supervision's change feed: {seen:?}");
}

/// The county's officer records in outcome, on 2027-10-30, the employment by route ① of each
/// of `trainees` (supervision's roster entries).
pub async fn record_employment(suite: &Suite, trainees: &[String]) {
    suite.outcome_clock.set(day(2027, 10, 30));
    let officer = suite.officer(COUNTY);
    // Outcome names supervision's roster entry `classes/{c}/trainees/{t}` as `trainees/{t}`.
    for name in trainees {
        let watched = format!("trainees/{}", name.rsplit('/').next().expect("an id"));
        for input in route_one(&watched) {
            outcome_client(suite)
                .await
                .record_evidence(authed(
                    RecordEvidenceRequest {
                        evidence: Some(input),
                        note: "社保系统查询".into(),
                        request_id: String::new(),
                    },
                    &officer,
                ))
                .await
                .expect("recorded");
        }
    }
}

/// The county's officer records in outcome that `project` was evaluated and accepted
/// (综合评估和验收) on 2027-10-30.
pub async fn accept(suite: &Suite, project: &str) {
    outcome_client(suite)
        .await
        .record_acceptance(authed(
            RecordAcceptanceRequest {
                project: project.to_owned(),
                accepted: true,
                decided_on: Some(date(2027, 10, 30)),
                ..Default::default()
            },
            &suite.officer(COUNTY),
        ))
        .await
        .expect("accepted");
}

/// The project's claim filed by its provider with every material on `on`.
pub async fn file_with_every_material(suite: &Suite, on: NaiveDate) -> Claim {
    suite.clock.set(on);
    suite
        .client()
        .await
        .file_claim(authed(
            FileClaimRequest {
                claim: Some(Claim {
                    project: suite.project.clone(),
                    materials: every_material(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &suite.provider_token(),
        ))
        .await
        .expect("filed")
        .into_inner()
        .claim
        .expect("claim")
}

/// The project's claim filed by its provider with every material on `on`, and accepted by the
/// county's officer the same day: the claim as it stands on notice.
pub async fn file_and_put_on_notice(suite: &Suite, on: NaiveDate) -> Claim {
    let filed = file_with_every_material(suite, on).await;
    suite
        .client()
        .await
        .review_claim(authed(
            ReviewClaimRequest {
                name: filed.name.clone(),
                decision: ReviewDecision::Accept as i32,
                ..Default::default()
            },
            &suite.officer(COUNTY),
        ))
        .await
        .expect("accepted and put on notice")
        .into_inner()
        .claim
        .expect("claim")
}

/// The walkthrough's class run and completed, the standards set, and the project accepted with 14
/// trainees employed (outcome's facts as of 2027-09-01): what a claim is filed on. Returns the
/// roster's trainees (the 20 who completed first).
pub async fn claimable(suite: &Suite) -> Vec<String> {
    let trainees = run_class(suite).await;
    standards(suite).await;
    let evidence = trainees.iter().take(14).map(|t| (t.clone(), employed())).collect();
    suite.outcomes.record(
        &suite.project,
        OutcomeFacts { accepted_on: Some(day(2027, 9, 1)), evidence, ..OutcomeFacts::default() },
    );
    trainees
}

/// The walkthrough's claim, filed on Friday 2027-10-29, reviewed the same day by the county's
/// officer and on notice; returns its name and the roster's trainees (the 20 who completed first).
pub async fn claim_on_notice(suite: &Suite) -> (String, Vec<String>) {
    let trainees = claimable(suite).await;
    let on_notice = file_and_put_on_notice(suite, day(2027, 10, 29)).await;
    assert_eq!(on_notice.total_fen, 20 * 500_000);
    (on_notice.name, trainees)
}

/// Approved by another officer of the county after the notice.
pub async fn approve(suite: &Suite, name: &str) {
    suite.clock.set(day(2027, 11, 15));
    suite
        .client()
        .await
        .approve_claim(authed(
            ApproveClaimRequest { name: name.to_owned(), ..Default::default() },
            &suite.officer_named("officer-b", COUNTY),
        ))
        .await
        .expect("approved");
}
