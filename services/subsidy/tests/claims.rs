//! Claims over the subsidy service's API, on SQLite and PostgreSQL, with the real selection and
//! supervision services as its peers and the outcome service's answers recorded by the test: the
//! walkthrough's project (23 on the roster, 20 completed, 14 of them employed: 70%, a standard of
//! 3,000 yuan) is claimed at 200% capped at 5,000 yuan a trainee, its zero lines naming their
//! rules; a claim one day past the deadline is refused; the export replays to the same fen.

mod common;

use chrono::{Days, NaiveDate};
use common::*;
use qiancheng_api::subsidy::*;
use qiancheng_api::supervision::*;
use qiancheng_api::types::SkillLevel;
use qiancheng_domain::policy::facts::{ContractKind, EmployerMonth, EmploymentContract, OutcomeEvidence, YearMonth};
use qiancheng_subsidy::peer::OutcomeFacts;
use tonic::Code;

/// Person `n`, born 1990, a 咸宁 household-registered rural migrant worker.
fn person(n: u32) -> TraineeInput {
    TraineeInput {
        person_name: format!("学员{n}号"),
        id_number: qiancheng_testkit::fixtures::id_number(&format!("42120219900101{:03}", 100 + n)),
        phone: format!("138{n:08}"),
        target_group: qiancheng_api::types::TargetGroup::RuralMigrant as i32,
        local_basis: LocalBasis::HouseholdRegistration as i32,
        local_basis_evidence: "户口簿".into(),
        ..Default::default()
    }
}

/// Employed after the class: a labour contract in May 2027 and three months of insurance and
/// wages with the same employer (OUT-EMP-CONTRACT).
fn employed() -> OutcomeEvidence {
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
fn morning(d: NaiveDate) -> i64 {
    d.and_hms_opt(8, 0, 0).expect("time").and_utc().timestamp_micros() - 8 * 3_600_000_000
}

/// The walkthrough's class: 23 on the roster from 2027-03-01 to 04-30, 50 sessions of 100 hours;
/// 20 attend everything and pass, 3 attend nothing. Returns the trainees' names, the 20 first.
async fn run_class(suite: &Suite) -> Vec<String> {
    let provider = suite.provider_token();
    let mut supervision = suite.supervision_client().await;
    let class = Class {
        project: suite.project.clone(),
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
            CreateClassRequest { class: Some(class), roster: (0..23).map(person).collect(), request_id: String::new() },
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
                device: "gate-1".into(),
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
async fn standards(suite: &Suite) {
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

fn every_material() -> Vec<i32> {
    vec![ClaimMaterial::Annex4 as i32, ClaimMaterial::Ledger as i32, ClaimMaterial::EmploymentEvidence as i32]
}

async fn file(suite: &Suite, token: &str) -> Result<Claim, tonic::Status> {
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
            token,
        ))
        .await
        .map(|r| r.into_inner().claim.expect("claim"))
}

async fn the_walkthrough_project_is_claimed_at_200_percent_capped_at_5000_yuan_and_replays(suite: &Suite) {
    let trainees = run_class(suite).await;
    standards(suite).await;
    let evidence = trainees.iter().take(14).map(|t| (t.clone(), employed())).collect();
    suite.outcomes.record(
        &suite.project,
        OutcomeFacts { accepted_on: Some(day(2027, 9, 1)), evidence, ..OutcomeFacts::default() },
    );

    // SUBS-DEADLINE: six months after the last class's end (2027-10-30) is the last day.
    suite.clock.set(day(2027, 10, 31));
    let late = file(suite, &suite.provider_token()).await.expect_err("one day late");
    assert_eq!((late.code(), reason(&late)), (Code::FailedPrecondition, "SUBS-DEADLINE".to_owned()));
    // Another provider cannot claim for the project.
    suite.clock.set(day(2027, 10, 30));
    let other = file(suite, &suite.provider_of(&qiancheng_testkit::fixtures::uscc("52421221MJ0000009"))).await;
    assert_eq!(other.expect_err("not its project").code(), Code::PermissionDenied);

    let claim = file(suite, &suite.provider_token()).await.expect("filed on the last day");
    assert_eq!(claim.region_code, COUNTY);
    assert_eq!(claim.filed_on, Some(date(2027, 10, 30)));
    assert_eq!(claim.policy_version, "xianning-2025-5/v2");
    assert_eq!(claim.project_accepted_on, Some(date(2027, 9, 1)));
    assert_eq!(claim.lines.len(), 23);
    let rate = &claim.rates[0];
    assert_eq!((rate.positive, rate.completed, rate.tier_percent), (14, 20, 200));
    // 200% of 3,000 yuan is 6,000: capped at 5,000 a trainee, employed or not.
    let paid: Vec<&ClaimLine> = claim.lines.iter().filter(|l| l.amount_fen > 0).collect();
    assert_eq!(paid.len(), 20);
    assert!(paid.iter().all(|l| l.amount_fen == 500_000 && l.multiplier_percent == 200));
    assert!(paid.iter().all(|l| l.rules.iter().any(|r| r.code == "SUBS-CAP" && r.reason_en.contains("capped"))));
    assert_eq!(claim.total_fen, 20 * 500_000);
    // The zero lines name the rule that stopped them.
    let zero: Vec<&str> = claim.lines.iter().filter(|l| l.amount_fen == 0).map(|l| l.stopped_by.as_str()).collect();
    assert_eq!(zero, vec!["CLASS-ATTENDANCE"; 3]);
    // Names masked, ID numbers hidden, trainees named by their roster entry.
    for line in &claim.lines {
        let person = line.person.clone().expect("person");
        assert!(person.name.contains('*') && person.id_number.is_empty(), "{person:?}");
        assert!(line.trainee.starts_with("classes/"));
    }

    // One claim per project: filing again is refused, nothing stored.
    let again = file(suite, &suite.provider_token()).await.expect_err("claimed already");
    assert_eq!((again.code(), reason(&again)), (Code::AlreadyExists, "CLAIM_EXISTS".to_owned()));

    // What each role reads.
    let read = |token: String| {
        let name = claim.name.clone();
        async move { suite.client().await.get_claim(authed(GetClaimRequest { name }, &token)).await }
    };
    assert_eq!(
        read(suite.officer(COUNTY)).await.expect("the bureau reads it").into_inner().claim.expect("c").total_fen,
        20 * 500_000
    );
    read(suite.admin()).await.expect("the city reads every county's");
    read(suite.auditor()).await.expect("auditors read everything");
    read(suite.provider_token()).await.expect("the provider reads its own");
    assert_eq!(read(suite.officer(OTHER_COUNTY)).await.expect_err("another county").code(), Code::PermissionDenied);
    let listed = suite
        .client()
        .await
        .list_claims(authed(
            ListClaimsRequest::default(),
            &suite.provider_of(&qiancheng_testkit::fixtures::uscc("52421221MJ0000009")),
        ))
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.claims.is_empty(), "another provider sees none");
    let own = suite
        .client()
        .await
        .list_claims(authed(ListClaimsRequest::default(), &suite.provider_token()))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(own.claims.len(), 1, "the provider's own, once");

    // The export replays to the same fen without the services.
    let facts = suite
        .client()
        .await
        .get_claim_facts(authed(GetClaimFactsRequest { name: claim.name.clone() }, &suite.auditor()))
        .await
        .expect("exported")
        .into_inner();
    let replayed = qiancheng_domain::policy::replay::evaluate_claim_json(&facts.facts_json).expect("replays");
    assert_eq!(replayed.outcome.total_fen.fen(), facts.total_fen);
    assert_eq!(facts.total_fen, claim.total_fen);
    let amounts: Vec<i64> = replayed.outcome.lines.iter().map(|l| l.amount_fen.fen()).collect();
    assert_eq!(amounts, claim.lines.iter().map(|l| l.amount_fen).collect::<Vec<_>>());
    let denied = suite
        .client()
        .await
        .get_claim_facts(authed(GetClaimFactsRequest { name: claim.name.clone() }, &suite.provider_token()))
        .await
        .expect_err("ID numbers are not for the provider");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

qiancheng_testkit::backend_tests!(start_suite =>
    the_walkthrough_project_is_claimed_at_200_percent_capped_at_5000_yuan_and_replays,
);

/// The same walkthrough with the real outcome service beside supervision: outcome follows the
/// completed class from supervision's change feed, officers record the evidence of 14 of the 20
/// who completed, the project is accepted, and subsidy reads acceptance and verdicts over gRPC
/// with its own identity: outcome's 14/20 sets the 200% tier.
mod with_outcome {
    use super::*;
    use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
    use qiancheng_api::outcome::{
        Basis, ContractEvidence, ContractKind, EvidenceInput, EvidenceKind, GetProjectRatesRequest, InsuranceEvidence,
        ListTraineesRequest, PayerRelation, RecordAcceptanceRequest, RecordEvidenceRequest, WageEvidence,
    };
    use tonic::transport::Channel;

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
                    kind: ContractKind::Labour as i32,
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

    async fn outcome(suite: &Suite) -> OutcomeServiceClient<Channel> {
        OutcomeServiceClient::new(suite.outcome.as_ref().expect("outcome runs").channel().await)
    }

    /// Waits until outcome has followed the completed class (it is never told): 23 watched, the
    /// 3 who attended nothing left out.
    async fn followed(suite: &Suite) {
        let mut seen = Vec::new();
        for _ in 0..300 {
            let listed = outcome(suite)
                .await
                .list_trainees(authed(
                    ListTraineesRequest { project: suite.project.clone(), page_size: 100, ..Default::default() },
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

    async fn a_real_rate_from_outcome_sets_the_tier(suite: &Suite) {
        let trainees = run_class(suite).await;
        standards(suite).await;
        followed(suite).await;
        suite.outcome_clock.set(day(2027, 10, 30));
        let officer = suite.officer(COUNTY);
        // Outcome names supervision's roster entry `classes/{c}/trainees/{t}` as `trainees/{t}`.
        for name in trainees.iter().take(14) {
            let watched = format!("trainees/{}", name.rsplit('/').next().expect("an id"));
            for input in route_one(&watched) {
                outcome(suite)
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
        let rates = outcome(suite)
            .await
            .get_project_rates(authed(
                GetProjectRatesRequest { project: suite.project.clone(), as_of: Some(date(2027, 10, 30)) },
                &suite.admin(),
            ))
            .await
            .expect("rates")
            .into_inner();
        let employment = rates.rates.iter().find(|r| r.basis == Basis::Employment as i32).expect("employment rate");
        assert_eq!((employment.numerator, employment.denominator), (14, 20));
        outcome(suite)
            .await
            .record_acceptance(authed(
                RecordAcceptanceRequest {
                    project: suite.project.clone(),
                    accepted: true,
                    decided_on: Some(date(2027, 10, 30)),
                    ..Default::default()
                },
                &officer,
            ))
            .await
            .expect("accepted");

        // Nothing is recorded in the test's outcomes: everything comes from the outcome service.
        suite.clock.set(day(2027, 10, 30));
        let claim = file(suite, &suite.provider_token()).await.expect("filed");
        assert_eq!(claim.project_accepted_on, Some(date(2027, 10, 30)));
        let rate = &claim.rates[0];
        assert_eq!((rate.positive, rate.completed, rate.tier_percent), (14, 20, 200));
        assert_eq!(claim.total_fen, 20 * 500_000);
        let facts = suite
            .client()
            .await
            .get_claim_facts(authed(GetClaimFactsRequest { name: claim.name.clone() }, &suite.auditor()))
            .await
            .expect("exported")
            .into_inner();
        let replayed = qiancheng_domain::policy::replay::evaluate_claim_json(&facts.facts_json).expect("replays");
        assert_eq!(replayed.outcome.total_fen.fen(), claim.total_fen, "outcome's verdicts travel with the facts");
    }

    qiancheng_testkit::backend_tests!(start_suite_with_outcome => a_real_rate_from_outcome_sets_the_tier);
}
