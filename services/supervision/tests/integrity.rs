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

/// The result of each check-in of one chunk: (event id, status, reason).
async fn results(app: &App, class: &str, events: Vec<CheckIn>) -> Vec<(String, i32, String)> {
    let acks = app.stream(vec![StreamAttendanceRequest { class: class.into(), events }]).await;
    acks.iter().flat_map(|a| a.results.iter()).map(|r| (r.event_id.clone(), r.status, r.reason.clone())).collect()
}

/// Microseconds since the epoch of `hour`:`minute` China time on a day of March 2027.
fn march(d: u32, hour: u32, minute: u32) -> i64 {
    at(2027, 3, d, hour) + i64::from(minute) * 60_000_000
}

async fn attendance_is_taken_as_it_happens_and_only_for_a_running_class(app: &App) {
    let class = app.filed((2027, 3, 1), (2027, 3, 31), people(0, 4)).await;
    let trainees = in_filing_order(app, &class.name).await;
    let t = |i: usize| trainees[i].name.clone();
    // Not acknowledged yet: nothing is taken, whatever the session.
    app.set_today(2027, 3, 1);
    let nowhere = format!("{}/sessions/none", class.name);
    let early = results(app, &class.name, vec![check_in("u", &nowhere, &t(0), march(1, 8, 0))]).await;
    assert_eq!(early[0].2, "ATTENDANCE_UNACKNOWLEDGED");
    app.acknowledge(&class.name).await;
    let days = [(day(2027, 3, 1), 8, SessionKind::Theory), (day(2027, 3, 2), 8, SessionKind::Theory)];
    let sessions = app.schedule(&class.name, &days).await;
    let (today, tomorrow) = (&sessions[0].name, &sessions[1].name);

    // 10:00 on the first day; the devices' clocks may run up to five minutes ahead.
    app.clock.set_at(march(1, 10, 0));
    let stored = CheckInStatus::Stored as i32;
    let refused = CheckInStatus::Refused as i32;
    let answered = results(
        app,
        &class.name,
        vec![
            check_in("on-time", today, &t(0), march(1, 8, 0)),
            check_in("ahead-5", today, &t(1), march(1, 10, 5)),
            check_in("ahead-6", today, &t(2), march(1, 10, 6)),
            check_in("tomorrow", tomorrow, &t(3), march(2, 8, 0)),
            check_in("not-yet", tomorrow, &t(0), march(1, 9, 0)),
        ],
    )
    .await;
    let expected: Vec<(String, i32, String)> = [
        ("on-time", stored, ""),
        ("ahead-5", stored, ""),
        ("ahead-6", refused, "ATTENDANCE_FUTURE"),
        ("tomorrow", refused, "ATTENDANCE_FUTURE"),
        ("not-yet", refused, "ATTENDANCE_NOT_YET"),
    ]
    .iter()
    .map(|(e, s, r)| ((*e).to_owned(), *s, (*r).to_owned()))
    .collect();
    assert_eq!(answered, expected);
    // The next evening the second day's check-ins are taken.
    app.set_today(2027, 3, 2);
    let next = results(app, &class.name, vec![check_in("tomorrow", tomorrow, &t(3), march(2, 8, 0))]).await;
    assert_eq!(next[0].1, stored);

    // A stopped class takes nothing more.
    app.client()
        .await
        .stop_class(authed(
            StopClassRequest { name: class.name.clone(), reason: "场地被收回".into(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("stopped");
    let after = results(app, &class.name, vec![check_in("late", today, &t(2), march(1, 9, 0))]).await;
    assert_eq!(after[0].2, "ATTENDANCE_STOPPED");
}

async fn a_class_completes_on_its_last_day_and_not_before(app: &App) {
    let class = app.filed((2027, 3, 1), (2027, 3, 31), people(0, 2)).await;
    app.acknowledge(&class.name).await;
    let complete = || async {
        app.client()
            .await
            .complete_class(authed(
                CompleteClassRequest { name: class.name.clone(), ..Default::default() },
                &app.provider_token(),
            ))
            .await
            .map(tonic::Response::into_inner)
    };
    for (m, d) in [(3, 1), (3, 30)] {
        app.set_today(2027, m, d);
        assert_eq!(refusal(complete().await), (Code::FailedPrecondition, "COMPLETION_EARLY".to_owned()), "{m}-{d}");
    }
    assert_eq!(app.class(&class.name).await.state, ClassState::Acknowledged as i32, "nothing changed");
    app.set_today(2027, 3, 31);
    let done = complete().await.expect("completed on the last day");
    assert_eq!(done.class.expect("class").completed_on, Some(date(2027, 3, 31)));
}

async fn sessions_and_attendance_stay_within_what_was_filed(app: &App) {
    let add = |class: String, days: Vec<(chrono::NaiveDate, i32, SessionKind)>| async move {
        let sessions = days
            .iter()
            .map(|(d, hours, kind)| Session {
                held_on: Some(qiancheng_api::convert::date_to_proto(*d)),
                hours: *hours,
                kind: *kind as i32,
                topic: "焊接".into(),
                ..Default::default()
            })
            .collect();
        app.client()
            .await
            .create_sessions(authed(
                CreateSessionsRequest { class, sessions, request_id: String::new() },
                &app.provider_token(),
            ))
            .await
            .map(tonic::Response::into_inner)
    };
    let class = app.filed((2027, 3, 1), (2027, 3, 31), people(0, 1)).await;
    app.acknowledge(&class.name).await;
    let sessions = add(class.name.clone(), hundred_hours()).await.expect("exactly the filed 40 and 60 hours").sessions;
    // One hour more of either kind is beyond the filing, whatever is left of the other.
    for kind in [SessionKind::Theory, SessionKind::Practice] {
        let more = add(class.name.clone(), vec![(day(2027, 3, 20), 1, kind)]).await;
        assert_eq!(refusal(more), (Code::FailedPrecondition, "SESSION_HOURS_FILED".to_owned()), "{kind:?}");
    }
    // A day holds at most 8 hours of sessions (the suite's interpretation).
    let other = app.filed((2027, 3, 1), (2027, 3, 31), people(10, 1)).await;
    app.acknowledge(&other.name).await;
    add(
        other.name.clone(),
        vec![(day(2027, 3, 1), 5, SessionKind::Theory), (day(2027, 3, 1), 3, SessionKind::Practice)],
    )
    .await
    .expect("eight hours in a day");
    let ninth = add(other.name.clone(), vec![(day(2027, 3, 1), 1, SessionKind::Practice)]).await;
    assert_eq!(refusal(ninth), (Code::FailedPrecondition, "SESSION_HOURS_DAILY".to_owned()));
    let in_one = add(other.name.clone(), vec![(day(2027, 3, 2), 9, SessionKind::Practice)]).await;
    assert_eq!(refusal(in_one), (Code::FailedPrecondition, "SESSION_HOURS_DAILY".to_owned()));

    // A trainee attends a session for at most its hours; the whole filing at most.
    app.set_today(2027, 3, 15);
    let trainee = app.trainees(&class.name).await.remove(0);
    let mut events: Vec<CheckIn> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let held = s.held_on.expect("day");
            let when = at(2027, 3, u32::try_from(held.day).expect("day"), 8);
            check_in(&format!("e{i}"), &s.name, &trainee.name, when)
        })
        .collect();
    let too_long = CheckIn { hours: 9, ..events.remove(0) };
    let answered = results(app, &class.name, vec![too_long.clone()]).await;
    assert_eq!(answered[0].2, "SESSION_HOURS");
    events.push(CheckIn { event_id: "e0-again".into(), hours: 0, ..too_long });
    let answered = results(app, &class.name, events).await;
    assert!(answered.iter().all(|r| r.1 == CheckInStatus::Stored as i32), "{answered:?}");
    let corrected = app
        .client()
        .await
        .correct_attendance(authed(
            CorrectAttendanceRequest {
                session: sessions[0].name.clone(),
                trainee: trainee.name.clone(),
                hours: 9,
                reason: "多记".into(),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await;
    assert_eq!(refusal(corrected), (Code::InvalidArgument, "SESSION_HOURS".to_owned()));
    let ledger = app.ledger(&class.name, &app.admin()).await.expect("ledger");
    let row = ledger.iter().find_map(|p| p.trainee.clone()).expect("the trainee's row");
    assert_eq!((row.attended_hours, row.class_hours), (100, 100), "never more than the filing");
}

async fn stopping_a_class_terminates_every_active_trainee_with_its_reason(app: &App) {
    let class = app.filed((2027, 3, 1), (2027, 3, 31), people(0, 3)).await;
    app.acknowledge(&class.name).await;
    let trainees = in_filing_order(app, &class.name).await;
    app.set_today(2027, 3, 3);
    app.client()
        .await
        .terminate_trainee(authed(
            TerminateTraineeRequest {
                name: trainees[2].name.clone(), reason: "外出务工".into(), ..Default::default()
            },
            &app.provider_token(),
        ))
        .await
        .expect("withdrawn");
    app.set_today(2027, 3, 5);
    app.client()
        .await
        .stop_class(authed(
            StopClassRequest { name: class.name.clone(), reason: "场地被收回".into(), ..Default::default() },
            &app.officer(COUNTY),
        ))
        .await
        .expect("stopped");
    let after = in_filing_order(app, &class.name).await;
    let seen: Vec<(i32, Option<qiancheng_api::types::Date>, &str)> =
        after.iter().map(|t| (t.state, t.terminated_on, t.termination_reason.as_str())).collect();
    let withdrawn = TraineeState::Withdrawn as i32;
    assert_eq!(
        seen,
        [
            (withdrawn, Some(date(2027, 3, 5)), "场地被收回"),
            (withdrawn, Some(date(2027, 3, 5)), "场地被收回"),
            (withdrawn, Some(date(2027, 3, 3)), "外出务工"),
        ],
        "nobody stays ACTIVE; who had withdrawn keeps their own day and reason"
    );

    // A class an inspection stops: its trainees are terminated with the inspection's reason.
    let inspected = app.filed((2027, 4, 1), (2027, 4, 30), people(10, 2)).await;
    app.acknowledge(&inspected.name).await;
    app.set_today(2027, 4, 2);
    app.client()
        .await
        .record_inspection(authed(
            RecordInspectionRequest {
                class: inspected.name.clone(),
                inspection: Some(Inspection {
                    kind: InspectionKind::Unannounced as i32,
                    inspected_on: Some(date(2027, 4, 2)),
                    people_present: 2,
                    severity: FindingSeverity::Serious as i32,
                    finding: FindingKind::Safety as i32,
                    note: "实训设备无防护".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("inspected");
    for t in app.trainees(&inspected.name).await {
        assert_eq!((t.state, t.terminated_on), (withdrawn, Some(date(2027, 4, 2))));
        assert!(t.termination_reason.starts_with("CLASS-INSPECTION"), "{}", t.termination_reason);
    }
}

backend_tests!(start =>
    changes_that_matter_to_outcome_are_fed_in_commit_order,
    only_the_configured_services_read_a_project_roster_whole,
    attendance_is_taken_as_it_happens_and_only_for_a_running_class,
    a_class_completes_on_its_last_day_and_not_before,
    sessions_and_attendance_stay_within_what_was_filed,
    stopping_a_class_terminates_every_active_trainee_with_its_reason,
);
