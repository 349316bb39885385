//! What a county officer and the services that pay on supervision rely on: the change feed the
//! outcome and subsidy services follow, and who reads a project's roster whole. Through the
//! generated client on real servers on port 0 (supervision, and selection as its peer), once on
//! SQLite and once on PostgreSQL (when `QIANCHENG_TEST_DATABASE_URL` is set).

mod common;

use common::*;
use qiancheng_api::supervision::*;
use qiancheng_api::types::SkillLevel;
use qiancheng_testkit::{Backend, authed, backend_tests};
use tonic::Code;

async fn start(backend: Backend) -> Option<App> {
    common::start(backend).await
}

fn certificate(number: &str, y: i32, m: u32, d: u32) -> SkillEvaluation {
    SkillEvaluation {
        certificate_number: number.into(),
        kind: CertificateKind::SkillLevel as i32,
        occupation_code: "6-18-02-04".into(),
        skill_level: SkillLevel::SkillLevel4 as i32,
        issuer: "咸宁市职业技能鉴定中心".into(),
        issued_on: Some(date(y, m, d)),
        ..Default::default()
    }
}

/// The feed after `after` as `token` reads it, `page_size` at a time.
async fn feed(app: &App, token: &str, after: i64, page_size: i32) -> Result<ListClassChangesResponse, tonic::Status> {
    app.client()
        .await
        .list_class_changes(authed(ListClassChangesRequest { after, page_size }, token))
        .await
        .map(tonic::Response::into_inner)
}

/// The trainees of a class in the order they were filed (person 0 first).
async fn in_filing_order(app: &App, class: &str) -> Vec<Trainee> {
    let mut trainees = app.trainees(class).await;
    trainees.sort_by_key(|t| t.person.clone().map(|p| p.phone).unwrap_or_default());
    trainees
}

async fn changes_that_matter_to_outcome_are_fed_in_commit_order(app: &App) {
    let outcome = app.service_named("outcome");
    assert_eq!(feed(app, &outcome, 0, 0).await.expect("read").next_after, 0, "an empty feed");
    let class = app.filed((2027, 3, 1), (2027, 3, 31), people(0, 3)).await;
    app.acknowledge(&class.name).await;
    let trainees = in_filing_order(app, &class.name).await;
    app.set_today(2027, 3, 1);
    let sessions = app.sessions(&class.name, &[(day(2027, 3, 1), 8)]).await;
    let events = vec![check_in("e0", &sessions[0].name, &trainees[0].name, at(2027, 3, 1, 8))];
    app.stream(vec![StreamAttendanceRequest { class: class.name.clone(), events }]).await;
    assert!(feed(app, &outcome, 0, 0).await.expect("read").changes.is_empty(), "a check-in is not a change");

    app.set_today(2027, 3, 2);
    app.client()
        .await
        .correct_attendance(authed(
            CorrectAttendanceRequest {
                session: sessions[0].name.clone(),
                trainee: trainees[1].name.clone(),
                hours: 8,
                reason: "签到机故障，现场核实".into(),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("corrected");
    let terminate = |on: qiancheng_api::types::Date| TerminateTraineeRequest {
        name: trainees[2].name.clone(),
        reason: "外出务工".into(),
        terminated_on: Some(on),
        ..Default::default()
    };
    // A refused change leaves nothing in the feed.
    let refused =
        app.client().await.terminate_trainee(authed(terminate(date(2027, 4, 2)), &app.provider_token())).await;
    assert_eq!(refusal(refused), (Code::InvalidArgument, "TERMINATION_DATE".to_owned()));
    assert_eq!(feed(app, &outcome, 0, 0).await.expect("read").changes.len(), 1);
    app.client()
        .await
        .terminate_trainee(authed(terminate(date(2027, 3, 2)), &app.provider_token()))
        .await
        .expect("terminated");

    app.set_today(2027, 3, 31);
    app.client()
        .await
        .complete_class(authed(
            CompleteClassRequest { name: class.name.clone(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("completed");
    app.client()
        .await
        .record_skill_evaluation(authed(
            RecordSkillEvaluationRequest {
                trainee: trainees[0].name.clone(),
                evaluation: Some(certificate("F1", 2027, 3, 31)),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("recorded");
    let second = app.filed((2027, 6, 1), (2027, 6, 30), people(10, 1)).await;
    app.client()
        .await
        .stop_class(authed(
            StopClassRequest { name: second.name.clone(), reason: "生源不足".into(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("stopped");

    let all = feed(app, &outcome, 0, 0).await.expect("read");
    let seen: Vec<(i64, i32, &str, &str)> =
        all.changes.iter().map(|c| (c.position, c.kind, c.class.as_str(), c.trainee.as_str())).collect();
    assert_eq!(
        seen,
        [
            (1, ClassChangeKind::AttendanceCorrected as i32, class.name.as_str(), trainees[1].name.as_str()),
            (2, ClassChangeKind::TraineeTerminated as i32, class.name.as_str(), trainees[2].name.as_str()),
            (3, ClassChangeKind::ClassCompleted as i32, class.name.as_str(), ""),
            (4, ClassChangeKind::SkillEvaluationRecorded as i32, class.name.as_str(), trainees[0].name.as_str()),
            (5, ClassChangeKind::ClassStopped as i32, second.name.as_str(), ""),
        ]
    );
    assert!(all.changes.iter().all(|c| c.project == app.project && c.region_code == COUNTY));
    assert_eq!(all.changes[1].occurred_on, Some(date(2027, 3, 2)));
    assert!(all.changes[4].change_time_micros >= all.changes[0].change_time_micros);
    assert_eq!((all.next_after, all.more), (5, false));

    // Paged: two at a time, each page says where the next starts.
    let first = feed(app, &outcome, 0, 2).await.expect("read");
    assert_eq!((first.changes.len(), first.next_after, first.more), (2, 2, true));
    let second_page = feed(app, &outcome, first.next_after, 2).await.expect("read");
    assert_eq!(second_page.changes[0].position, 3);
    let last = feed(app, &outcome, 4, 2).await.expect("read");
    assert_eq!((last.changes.len(), last.next_after, last.more), (1, 5, false));
    let nothing_new = feed(app, &outcome, 5, 2).await.expect("read");
    assert_eq!((nothing_new.changes.len(), nothing_new.next_after), (0, 5));

    // Any service, the city and auditors read every county; an officer their county, and the
    // position still moves past the others; providers read nothing.
    for token in [app.service(), app.service_named("subsidy"), app.admin(), app.auditor(), app.officer(COUNTY)] {
        assert_eq!(feed(app, &token, 0, 0).await.expect("read").changes.len(), 5);
    }
    let elsewhere = feed(app, &app.officer(OTHER_COUNTY), 0, 0).await.expect("read");
    assert_eq!((elsewhere.changes.len(), elsewhere.next_after), (0, 5));
    assert_eq!(refusal(feed(app, &app.provider_token(), 0, 0).await).0, Code::PermissionDenied);
    let bad = feed(app, &outcome, -1, 0).await;
    assert_eq!(refusal(bad).0, Code::InvalidArgument);
    let bad = feed(app, &outcome, 0, 1001).await;
    assert_eq!(refusal(bad).0, Code::InvalidArgument);
}

async fn only_the_configured_services_read_a_project_roster_whole(app: &App) {
    app.filed((2027, 3, 1), (2027, 3, 31), people(0, 2)).await;
    let list = |token: String| {
        let project = app.project.clone();
        async move {
            app.client()
                .await
                .list_project_trainees(authed(ListProjectTraineesRequest { project, ..Default::default() }, &token))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    for reader in ["outcome", "subsidy"] {
        let listed = list(app.service_named(reader)).await.expect("a configured reader reads it");
        assert_eq!(listed.trainees.len(), 2);
        assert!(listed.trainees.iter().all(|t| !t.person.clone().expect("person").id_number.contains('*')));
    }
    // Demand's own service token, or any other service's, is refused before anything is read.
    for other in ["demand", "selection", "test"] {
        let refused = list(app.service_named(other)).await;
        assert_eq!(refusal(refused).0, Code::PermissionDenied, "{other}");
    }
    assert_eq!(list(app.admin()).await.expect("the city reads it").trainees.len(), 2);
}

backend_tests!(start =>
    changes_that_matter_to_outcome_are_fed_in_commit_order,
    only_the_configured_services_read_a_project_roster_whole,
);
