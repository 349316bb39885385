//! The walkthrough's story the claim and money tests share: its people, their evidence, the
//! class lived through from filing to results, the standards table and the materials a claim lists.

use chrono::{Days, NaiveDate};
use qiancheng_api::subsidy::{ClaimMaterial, ImportStandardsRequest, StandardRow, StandardSource};
use qiancheng_api::supervision::*;
use qiancheng_api::types::SkillLevel;
use qiancheng_domain::policy::facts::{ContractKind, EmployerMonth, EmploymentContract, OutcomeEvidence, YearMonth};

use super::*;

/// Person `n`, born 1990, a 咸宁 household-registered rural migrant worker.
pub fn person(n: u32) -> TraineeInput {
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
    d.and_hms_opt(8, 0, 0).expect("time").and_utc().timestamp_micros() - 8 * 3_600_000_000
}

/// The walkthrough's class: 23 on the roster from 2027-03-01 to 04-30, 50 sessions of 100 hours;
/// 20 attend everything and pass, 3 attend nothing. Returns the trainees' names, the 20 first.
pub async fn run_class(suite: &Suite) -> Vec<String> {
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
