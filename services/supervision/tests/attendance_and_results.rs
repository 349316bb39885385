//! Sessions, attendance, inspections, completion, skill evaluations, the ledger and the roster
//! other services read, through the generated client on real servers on port 0 (supervision,
//! and selection as its peer), once on SQLite and once on PostgreSQL (when
//! `QIANCHENG_TEST_DATABASE_URL` is set).

mod common;

use common::*;
use qiancheng_api::selection as sel;
use qiancheng_api::supervision::*;
use qiancheng_api::types::SkillLevel;
use qiancheng_platform::auth::Role;
use qiancheng_testkit::{Backend, authed, backend_tests, raw_call};
use tonic::Code;

async fn start(backend: Backend) -> Option<App> {
    common::start(backend).await
}

/// 08:00 China time on the session's day.
fn when(session: &Session) -> i64 {
    let d = session.held_on.expect("a day");
    at(d.year, u32::try_from(d.month).expect("month"), u32::try_from(d.day).expect("day"), 8)
}

/// A class of the project (2027-03-01 to 04-30) with people `0..n`, filed on the tests' first
/// day (2026-12-01), acknowledged, with sessions on `days` (March) of `hours` hours each. The
/// clock stays on the filing day: each test moves it to the days it lives through.
async fn running(app: &App, n: u32, days: &[(u32, i32)]) -> (Class, Vec<Trainee>, Vec<Session>) {
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people(0, n)).await;
    app.acknowledge(&class.name).await;
    let days: Vec<_> = days.iter().map(|(d, h)| (day(2027, 3, *d), *h)).collect();
    let sessions = if days.is_empty() { Vec::new() } else { app.sessions(&class.name, &days).await };
    let mut trainees = app.trainees(&class.name).await;
    // In the order people were filed (person 0 first).
    trainees.sort_by_key(|t| t.person.clone().map(|p| p.phone).unwrap_or_default());
    (class, trainees, sessions)
}

fn chunk(class: &str, events: Vec<CheckIn>) -> StreamAttendanceRequest {
    StreamAttendanceRequest { class: class.into(), events }
}

async fn sessions_are_added_within_the_class_dates(app: &App) {
    let (class, _, _) = running(app, 1, &[]).await;
    let add = |sessions: Vec<Session>, token: String| {
        let class = class.name.clone();
        async move {
            app.client()
                .await
                .create_sessions(authed(CreateSessionsRequest { class, sessions, request_id: String::new() }, &token))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let session = |y, m, d, hours| Session {
        held_on: Some(date(y, m, d)),
        hours,
        kind: SessionKind::Theory as i32,
        topic: "安全知识".into(),
        ..Default::default()
    };
    let added = add(vec![session(2027, 3, 2, 4), session(2027, 3, 1, 2), session(2027, 3, 1, 3)], app.provider_token())
        .await
        .expect("added");
    assert_eq!(added.sessions.len(), 3);
    let outside = add(vec![session(2027, 5, 1, 2)], app.provider_token()).await;
    assert_eq!(refusal(outside), (Code::InvalidArgument, "ATTENDANCE_DATE".to_owned()));
    let bad =
        add(vec![session(2027, 3, 3, 0), Session { kind: 0, ..session(2027, 3, 3, 2) }], app.provider_token()).await;
    let bad = bad.expect_err("invalid");
    assert_eq!(bad_fields(&bad), ["sessions[0].hours", "sessions[1].kind"]);
    assert_eq!(refusal(add(Vec::new(), app.provider_token()).await).0, Code::InvalidArgument);
    assert_eq!(refusal(add(vec![session(2027, 3, 3, 2)], app.officer(COUNTY)).await).0, Code::PermissionDenied);
    // Listed by day, a page at a time.
    let page = |token: String| {
        let class = class.name.clone();
        async move {
            app.client()
                .await
                .list_sessions(authed(ListSessionsRequest { class, page_size: 2, page_token: token }, &app.auditor()))
                .await
                .expect("listed")
                .into_inner()
        }
    };
    let first = page(String::new()).await;
    let days: Vec<i32> = first.sessions.iter().map(|s| s.held_on.expect("day").day).collect();
    assert_eq!(days, [1, 1]);
    let rest = page(first.next_page_token).await;
    assert_eq!((rest.sessions.len(), rest.sessions[0].hours, rest.next_page_token.as_str()), (1, 4, ""));
}

async fn attendance_arrives_as_a_stream_and_a_resend_is_stored_once(app: &App) {
    let days: Vec<(u32, i32)> = (1..=6).map(|d| (d, 2)).collect();
    let (class, trainees, sessions) = running(app, 10, &days).await;
    // The devices upload on the evening of the sixth day.
    app.set_today(2027, 3, 6);
    // Three chunks of 20 check-ins; the last names people by ID number, as a card reader does.
    let mut chunks = Vec::new();
    for (c, pair) in sessions.chunks(2).enumerate() {
        let mut events = Vec::new();
        for session in pair {
            for (n, trainee) in trainees.iter().enumerate() {
                let id = format!("{}-{n}", session.name.rsplit('/').next().expect("id"));
                let mut event = check_in(&id, &session.name, &trainee.name, when(session));
                if c == 2 {
                    event.trainee.clear();
                    event.id_number = id_born("19900101", u32::try_from(n).expect("n"));
                }
                events.push(event);
            }
        }
        chunks.push(chunk(&class.name, events));
    }
    let acks = app.stream(chunks.clone()).await;
    assert_eq!(acks.iter().map(|a| a.chunk).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(acks.iter().all(|a| a.results.len() == 20));
    assert!(acks.iter().flat_map(|a| &a.results).all(|r| r.status == CheckInStatus::Stored as i32));
    let last = acks.last().expect("acks");
    assert_eq!((last.stored, last.replayed, last.refused), (60, 0, 0));

    // A device resends everything after a timeout: nothing is stored twice.
    let again = app.stream(chunks).await;
    let last = again.last().expect("acks");
    assert_eq!((last.stored, last.replayed, last.refused), (0, 60, 0));
    let ledger = app.ledger(&class.name, &app.admin()).await.expect("ledger");
    let summary = ledger.last().and_then(|p| p.summary.clone()).expect("summary");
    assert_eq!(summary.attendance_records, 60);
    let rows: Vec<LedgerTrainee> = ledger.iter().filter_map(|p| p.trainee.clone()).collect();
    assert!(
        rows.iter()
            .all(|r| r.attended_hours == 12 && r.attendance.len() == 6 && r.attendance_share_basis_points == 1200)
    );
    // Only the provider takes attendance.
    let officer = app.stream_as(&app.officer(COUNTY), vec![chunk(&class.name, Vec::new())]).await;
    assert_eq!(refusal(officer).0, Code::PermissionDenied);
}

async fn a_chunk_that_does_not_decode_ends_the_stream_after_what_came_before_is_stored(app: &App) {
    const STREAM: &str = "/qiancheng.supervision.v1.SupervisionService/StreamAttendance";
    let (class, trainees, sessions) = running(app, 2, &[(1, 2)]).await;
    app.set_today(2027, 3, 1);
    let events: Vec<CheckIn> = trainees
        .iter()
        .enumerate()
        .map(|(n, t)| check_in(&format!("raw-{n}"), &sessions[0].name, &t.name, when(&sessions[0])))
        .collect();
    let good = prost::Message::encode_to_vec(&chunk(&class.name, events));
    let malformed: [(&str, Vec<u8>); 3] = [
        ("invalid UTF-8 in the class", vec![0x0a, 0x04, b'c', 0xff, 0xfe, b'/']),
        ("a wrong wire type", vec![0x08, 0x96, 0x01]),
        ("a truncated field", vec![0x0a, 0x20, b'c', b'l']),
    ];
    for (what, body) in malformed {
        let (answers, ended) =
            raw_call(app.supervision.channel().await, STREAM, &app.provider_token(), vec![good.clone(), body]).await;
        let ended = ended.unwrap_or_else(|| panic!("{what}: the stream ends with a status"));
        assert_eq!((ended.code(), reason(&ended).as_str()), (Code::InvalidArgument, "MALFORMED_REQUEST"), "{what}");
        assert!(ended.message().contains("every chunk acknowledged before is stored"), "{}", ended.message());
        let acks: Vec<StreamAttendanceResponse> =
            answers.iter().map(|a| prost::Message::decode(a.as_slice()).expect("an acknowledgement")).collect();
        assert_eq!(acks.len(), 1, "{what}: the good chunk is acknowledged");
        assert_eq!(acks[0].stored + acks[0].replayed, 2, "{what}");
    }
    let ledger = app.ledger(&class.name, &app.admin()).await.expect("ledger");
    let summary = ledger.last().and_then(|p| p.summary.clone()).expect("summary");
    assert_eq!(summary.attendance_records, 2, "the good chunk once, replayed after");

    // A name that could not be one of the suite's is refused before any lookup.
    let odd = app
        .client()
        .await
        .get_class(authed(GetClassRequest { name: "classes/' OR '1'='1".into() }, &app.admin()))
        .await;
    assert_eq!(refusal(odd), (Code::InvalidArgument, "RESOURCE-NAME".to_owned()));
}

async fn each_bad_check_in_gets_its_own_result_and_the_good_ones_are_kept(app: &App) {
    let (class, trainees, sessions) = running(app, 3, &[(1, 2), (2, 2)]).await;
    let (other, other_trainees, _) = {
        let class = app.filed((2027, 3, 1), (2027, 4, 30), people(50, 1)).await;
        let trainees = app.trainees(&class.name).await;
        (class, trainees, ())
    };
    app.set_today(2027, 3, 2);
    let s1 = &sessions[0];
    let t = |i: usize| trainees[i].name.clone();
    let mut hostile = check_in("h", &s1.name, &t(2), when(s1));
    hostile.device = "gate\u{0}1".into();
    let events = vec![
        check_in("ok", &s1.name, &t(0), when(s1)),
        CheckIn {
            id_number: id_born("19900101", 77),
            trainee: String::new(),
            ..check_in("x1", &s1.name, "", when(s1))
        },
        check_in("x2", &s1.name, &other_trainees[0].name, when(s1)),
        check_in("x3", &format!("{}/sessions/none", class.name), &t(1), when(s1)),
        check_in("x4", &s1.name, &t(1), at(2027, 5, 10, 8)),
        check_in("x5", &s1.name, &t(1), at(2027, 3, 2, 8)),
        check_in("x6", &s1.name, &t(0), when(s1) + 60_000_000),
        check_in("ok", &sessions[1].name, &t(1), when(&sessions[1])),
        CheckIn {
            id_number: "42120219900101000X".into(),
            trainee: String::new(),
            ..check_in("x8", &s1.name, "", when(s1))
        },
        check_in("", &s1.name, &t(1), when(s1)),
        CheckIn { hours: 3, ..check_in("x10", &s1.name, &t(1), when(s1)) },
        CheckIn { id_number: id_born("19900101", 1), ..check_in("x11", &s1.name, &t(1), when(s1)) },
        hostile,
        check_in("good", &s1.name, &t(1), when(s1)),
    ];
    let acks = app.stream(vec![chunk(&class.name, events)]).await;
    let results: Vec<(&str, i32, &str)> =
        acks[0].results.iter().map(|r| (r.event_id.as_str(), r.status, r.reason.as_str())).collect();
    let refused = CheckInStatus::Refused as i32;
    assert_eq!(
        results,
        [
            ("ok", CheckInStatus::Stored as i32, ""),
            ("x1", refused, "ELIG-REALNAME"),
            ("x2", refused, "ELIG-REALNAME"),
            ("x3", refused, "ATTENDANCE_SESSION"),
            ("x4", refused, "ATTENDANCE_FUTURE"),
            ("x5", refused, "ATTENDANCE_DATE"),
            ("x6", refused, "ATTENDANCE_EXISTS"),
            ("ok", refused, "EVENT_ID_REUSED"),
            ("x8", refused, "PERSON-ID"),
            ("", refused, "EVENT_ID"),
            ("x10", refused, "SESSION_HOURS"),
            ("x11", refused, "REQUIRED"),
            ("h", refused, "TEXT"),
            ("good", CheckInStatus::Stored as i32, ""),
        ]
    );
    assert_eq!((acks[0].stored, acks[0].refused), (2, 12));
    // A later chunk's second check-in of a stored pair is refused, its other events kept.
    let later = app
        .stream(vec![chunk(
            &class.name,
            vec![
                check_in("later-1", &sessions[1].name, &t(0), when(&sessions[1])),
                check_in("later-2", &s1.name, &t(0), when(s1) + 3_600_000_000),
            ],
        )])
        .await;
    let later: Vec<(i32, &str)> = later[0].results.iter().map(|r| (r.status, r.reason.as_str())).collect();
    assert_eq!(later, [(CheckInStatus::Stored as i32, ""), (refused, "ATTENDANCE_EXISTS")]);

    // A chunk for another provider's class, or too big, is refused event by event.
    let (intruder, _) = app.approved_project("0000005", 10, 100).await;
    let foreign = app
        .stream_as(
            &app.provider_of(&intruder),
            vec![chunk(&class.name, vec![check_in("f", &s1.name, &t(2), when(s1))])],
        )
        .await
        .expect("answered");
    assert_eq!(foreign[0].results[0].reason, "PERMISSION_DENIED");
    let many: Vec<CheckIn> = (0..1001).map(|i| check_in(&format!("m{i}"), &s1.name, &t(2), when(s1))).collect();
    let big = app.stream(vec![chunk(&class.name, many)]).await;
    assert!(big[0].results.iter().all(|r| r.reason == "ATTENDANCE_LIMIT"));
    assert_eq!(big[0].results.len(), 1001);

    // A trainee who withdrew attends nothing from that day; a stopped class takes nothing.
    app.set_today(2027, 3, 2);
    app.client()
        .await
        .terminate_trainee(authed(
            TerminateTraineeRequest { name: t(2), reason: "退训".into(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("withdrawn");
    let late =
        app.stream(vec![chunk(&class.name, vec![check_in("w", &sessions[1].name, &t(2), when(&sessions[1]))])]).await;
    assert_eq!(late[0].results[0].reason, "TRAINEE_STATE");
    let before = app.stream(vec![chunk(&class.name, vec![check_in("w0", &s1.name, &t(2), when(s1))])]).await;
    assert_eq!(before[0].results[0].status, CheckInStatus::Stored as i32, "the day before the withdrawal counts");
    app.client()
        .await
        .stop_class(authed(
            StopClassRequest { name: other.name.clone(), reason: "停办".into(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("stopped");
    let elsewhere = format!("{}/sessions/s", other.name);
    let stopped =
        app.stream(vec![chunk(&other.name, vec![check_in("s", &elsewhere, &other_trainees[0].name, when(s1))])]).await;
    assert_eq!(stopped[0].results[0].reason, "ATTENDANCE_STOPPED");
}

async fn attendance_is_corrected_explicitly_and_the_earlier_value_kept(app: &App) {
    let (class, trainees, sessions) = running(app, 2, &[(1, 2), (2, 2)]).await;
    // ELIG-REALNAME: someone added and then removed before the first day has no attendance.
    let extra = app
        .client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: class.name.clone(),
                add: Some(person(5)),
                reason: "补报名".into(),
                ..Default::default()
            },
            &app.provider_token(),
        ))
        .await
        .expect("added")
        .into_inner()
        .trainee
        .expect("trainee");
    app.client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: class.name.clone(),
                remove: extra.name.clone(),
                reason: "放弃".into(),
                ..Default::default()
            },
            &app.provider_token(),
        ))
        .await
        .expect("removed");
    app.set_today(2027, 3, 2);
    app.stream(vec![chunk(&class.name, vec![check_in("a", &sessions[0].name, &trainees[0].name, when(&sessions[0]))])])
        .await;
    let correct = |session: &str, trainee: &str, hours: i32, reason: &str, token: String| {
        let request = CorrectAttendanceRequest {
            session: session.into(),
            trainee: trainee.into(),
            hours,
            reason: reason.into(),
            request_id: String::new(),
        };
        async move { app.client().await.correct_attendance(authed(request, &token)).await.map(tonic::Response::into_inner) }
    };
    let absent = correct(&sessions[0].name, &trainees[0].name, 0, "代签,本人未到", app.officer(COUNTY)).await;
    let absent = absent.expect("corrected").correction.expect("correction");
    assert_eq!((absent.had_record, absent.previous_hours, absent.hours), (true, 2, 0));
    let present = correct(&sessions[1].name, &trainees[1].name, 2, "设备故障,纸质签到为证", app.provider_token()).await;
    let present = present.expect("corrected").correction.expect("correction");
    assert_eq!((present.had_record, present.previous_hours, present.hours), (false, 0, 2));
    assert_eq!(
        refusal(correct(&sessions[0].name, &trainees[1].name, 1, "", app.provider_token()).await).0,
        Code::InvalidArgument
    );
    assert_eq!(
        refusal(correct(&sessions[0].name, &trainees[1].name, 3, "多记", app.provider_token()).await),
        (Code::InvalidArgument, "SESSION_HOURS".to_owned())
    );
    assert_eq!(
        refusal(correct(&sessions[0].name, &trainees[1].name, 1, "x", app.auditor()).await).0,
        Code::PermissionDenied
    );
    assert_eq!(
        refusal(correct(&sessions[0].name, &trainees[1].name, 1, "x", app.officer(OTHER_COUNTY)).await).0,
        Code::PermissionDenied
    );
    assert_eq!(
        refusal(correct(&sessions[0].name, &extra.name, 1, "补记", app.provider_token()).await),
        (Code::FailedPrecondition, "ELIG-REALNAME".to_owned())
    );
    // The ledger shows the corrections, the marks they touched and the totals after them.
    let ledger = app.ledger(&class.name, &app.officer(COUNTY)).await.expect("ledger");
    let corrections: Vec<AttendanceCorrection> = ledger.iter().filter_map(|p| p.correction.clone()).collect();
    assert_eq!(corrections.len(), 2);
    assert_eq!(corrections[0].reason, "代签,本人未到");
    let rows: Vec<LedgerTrainee> = ledger.iter().filter_map(|p| p.trainee.clone()).collect();
    assert!(rows.iter().all(|r| r.attendance.iter().all(|m| m.corrected)));
    assert_eq!(rows.iter().map(|r| r.attended_hours).sum::<i32>(), 2);
    // The check-in itself cannot be sent again to undo the correction.
    let resent = app
        .stream(vec![chunk(&class.name, vec![check_in("a", &sessions[0].name, &trainees[0].name, when(&sessions[0]))])])
        .await;
    assert_eq!(resent[0].results[0].status, CheckInStatus::Replayed as i32);
    let rows = app.ledger(&class.name, &app.admin()).await.expect("ledger");
    assert_eq!(rows.iter().filter_map(|p| p.trainee.clone()).map(|r| r.attended_hours).sum::<i32>(), 2);
}

async fn completion_needs_80_percent_of_the_hours_and_an_assessment_or_an_evaluation(app: &App) {
    // Sixty sessions from 1 March: forty of 2 hours, twenty of 1 hour, 100 hours in all (the
    // first twenty theory, 40 hours; the rest practice, 60 hours: exactly what was filed).
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people(0, 5)).await;
    // Only an acknowledged class completes, and only from its last day.
    let complete = |etag: String| {
        let name = class.name.clone();
        async move {
            app.client()
                .await
                .complete_class(authed(
                    CompleteClassRequest { name, etag, request_id: String::new() },
                    &app.provider_token(),
                ))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    assert_eq!(refusal(complete(String::new()).await), (Code::FailedPrecondition, "CLASS_STATE".to_owned()));
    app.acknowledge(&class.name).await;
    let days: Vec<(chrono::NaiveDate, i32, SessionKind)> = (0..60)
        .map(|i| {
            let kind = if i < 20 { SessionKind::Theory } else { SessionKind::Practice };
            (day(2027, 3, 1) + chrono::Days::new(i), if i < 40 { 2 } else { 1 }, kind)
        })
        .collect();
    let sessions = app.schedule(&class.name, &days).await;
    let mut trainees = app.trainees(&class.name).await;
    trainees.sort_by_key(|t| t.person.clone().map(|p| p.phone).unwrap_or_default());
    // 0 misses ten 2-hour sessions and one 1-hour session (79 hours); 1 misses ten 2-hour
    // sessions (80 hours); 2, 3 and 4 attend everything.
    let mut events = Vec::new();
    for (n, trainee) in trainees.iter().enumerate() {
        for (i, session) in sessions.iter().enumerate() {
            let missed = match n {
                0 => i < 10 || i == 40,
                1 => i < 10,
                _ => false,
            };
            if !missed {
                events.push(check_in(&format!("{n}-{i}"), &session.name, &trainee.name, when(session)));
            }
        }
    }
    // The class is lived through: the devices upload on the evening of the last session.
    app.set_today(2027, 4, 29);
    assert_eq!(refusal(complete(String::new()).await), (Code::FailedPrecondition, "COMPLETION_EARLY".to_owned()));
    let chunks = events.chunks(500).map(|c| chunk(&class.name, c.to_vec())).collect();
    let acks = app.stream(chunks).await;
    assert_eq!(acks.last().expect("acks").stored, 60 * 5 - 21);
    let results = [(0, true), (1, true), (2, false), (4, true)]
        .iter()
        .map(|(n, passed)| TraineeAssessment {
            trainee: trainees[*n].name.clone(),
            result: if *passed { AssessmentResult::Passed } else { AssessmentResult::Failed } as i32,
        })
        .collect();
    let assessed = app
        .client()
        .await
        .record_assessments(authed(
            RecordAssessmentsRequest { class: class.name.clone(), results, request_id: String::new() },
            &app.provider_token(),
        ))
        .await
        .expect("assessed");
    assert_eq!(assessed.into_inner().trainees.len(), 4);
    app.set_today(2027, 4, 30);
    app.client()
        .await
        .terminate_trainee(authed(
            TerminateTraineeRequest {
                name: trainees[4].name.clone(), reason: "就业离训".into(), ..Default::default()
            },
            &app.provider_token(),
        ))
        .await
        .expect("withdrawn");
    assert_eq!(refusal(complete("1".into()).await).0, Code::Aborted);
    let done = complete(String::new()).await.expect("completed");
    assert_eq!(done.class.expect("class").state, ClassState::Completed as i32);
    let by_name = |n: usize| done.trainees.iter().find(|t| t.name == trainees[n].name).cloned().expect("decided");
    let first_failure =
        |t: &Trainee| t.completion.clone().expect("decided").rules.into_iter().find(|r| !r.passed).map(|r| r.code);
    // CLASS-ATTENDANCE: 79 of 100 hours does not complete, 80 does.
    let at79 = by_name(0);
    assert_eq!(
        (at79.state, first_failure(&at79).as_deref()),
        (TraineeState::NotCompleted as i32, Some("CLASS-ATTENDANCE"))
    );
    assert!(at79.completion.clone().expect("decision").rules[0].reason_en.contains("attended 79 of 100 hours"));
    assert_eq!(by_name(1).state, TraineeState::Completed as i32);
    // CLASS-COMPLETION: a failed or missing assessment and no evaluation does not complete.
    assert_eq!(first_failure(&by_name(2)).as_deref(), Some("CLASS-COMPLETION"));
    assert_eq!(first_failure(&by_name(3)).as_deref(), Some("CLASS-COMPLETION"));
    assert_eq!(done.trainees.len(), 4, "the withdrawn trainee is not decided");
    // A skill evaluation later completes the trainee (the assessment or a skill evaluation).
    let evaluated = app
        .client()
        .await
        .record_skill_evaluation(authed(
            RecordSkillEvaluationRequest {
                trainee: trainees[3].name.clone(),
                evaluation: Some(certificate("S2027000003", 2027, 4, 30)),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("recorded")
        .into_inner();
    let now = evaluated.trainee.expect("trainee");
    assert_eq!(now.state, TraineeState::Completed as i32);
    assert!(now.completion.expect("decision").rules.iter().any(|r| r.code == "CLASS-COMPLETION" && r.passed));
    // A completed class takes nothing more.
    assert_eq!(refusal(complete(String::new()).await), (Code::FailedPrecondition, "CLASS_STATE".to_owned()));
    let late = app
        .stream(vec![chunk(
            &class.name,
            vec![check_in("late", &sessions[0].name, &trainees[0].name, when(&sessions[0]))],
        )])
        .await;
    assert_eq!(late[0].results[0].reason, "CLASS_STATE");
    let correct = app
        .client()
        .await
        .correct_attendance(authed(
            CorrectAttendanceRequest {
                session: sessions[10].name.clone(),
                trainee: trainees[0].name.clone(),
                hours: 2,
                reason: "补记".into(),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await;
    assert_eq!(refusal(correct), (Code::FailedPrecondition, "CLASS_STATE".to_owned()));
    let assessed = app
        .client()
        .await
        .record_assessments(authed(
            RecordAssessmentsRequest {
                class: class.name.clone(),
                results: vec![TraineeAssessment {
                    trainee: trainees[2].name.clone(),
                    result: AssessmentResult::Passed as i32,
                }],
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await;
    assert_eq!(refusal(assessed), (Code::FailedPrecondition, "CLASS_STATE".to_owned()));
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

async fn a_certificate_is_recorded_once_and_on_a_day_of_the_class_or_after(app: &App) {
    let (class, trainees, _) = running(app, 3, &[]).await;
    app.set_today(2027, 4, 1);
    let record = |trainee: &str, evaluation: SkillEvaluation, token: String| {
        let request = RecordSkillEvaluationRequest {
            trainee: trainee.into(),
            evaluation: Some(evaluation),
            request_id: String::new(),
        };
        async move {
            app.client().await.record_skill_evaluation(authed(request, &token)).await.map(tonic::Response::into_inner)
        }
    };
    let recorded =
        record(&trainees[0].name, certificate("S1", 2027, 3, 31), app.provider_token()).await.expect("recorded");
    let evaluation = recorded.evaluation.expect("evaluation");
    assert!(evaluation.name.starts_with(&trainees[0].name));
    assert_eq!(recorded.trainee.expect("trainee").state, TraineeState::Active as i32, "decided at completion");
    let again = record(&trainees[1].name, certificate("S1", 2027, 3, 31), app.provider_token()).await;
    assert_eq!(refusal(again), (Code::AlreadyExists, "CERTIFICATE_EXISTS".to_owned()));
    let future = record(&trainees[1].name, certificate("S2", 2027, 4, 2), app.provider_token()).await;
    assert_eq!(refusal(future), (Code::InvalidArgument, "EVALUATION_DATE".to_owned()));
    let before = record(&trainees[1].name, certificate("S2", 2027, 2, 28), app.provider_token()).await;
    assert_eq!(refusal(before), (Code::InvalidArgument, "EVALUATION_DATE".to_owned()));
    let bad = record(
        &trainees[1].name,
        SkillEvaluation { kind: 0, occupation_code: "6-18".into(), ..certificate("S2", 2027, 3, 31) },
        app.provider_token(),
    )
    .await
    .expect_err("invalid");
    assert_eq!(bad_fields(&bad), ["evaluation.kind", "evaluation.occupation_code"]);
    let officer = record(&trainees[1].name, certificate("S3", 2027, 3, 31), app.officer(COUNTY)).await;
    assert_eq!(refusal(officer).0, Code::PermissionDenied);
    let (other, _) = app.approved_project("0000006", 10, 100).await;
    let theirs = record(&trainees[1].name, certificate("S3", 2027, 3, 31), app.provider_of(&other)).await;
    assert_eq!(refusal(theirs).0, Code::PermissionDenied);
    assert!(class.name.starts_with("classes/"));
}

async fn a_serious_finding_stops_the_class_and_fraud_is_referred_to_selection(app: &App) {
    let (class, trainees, sessions) = running(app, 3, &[(5, 2)]).await;
    let other = app.filed((2027, 3, 1), (2027, 4, 30), people(10, 2)).await;
    app.set_today(2027, 3, 5);
    app.stream(vec![chunk(
        &class.name,
        vec![
            check_in("a", &sessions[0].name, &trainees[0].name, when(&sessions[0])),
            check_in("b", &sessions[0].name, &trainees[1].name, when(&sessions[0])),
        ],
    )])
    .await;
    app.set_today(2027, 3, 5);
    let inspect = |class: &str, inspection: Inspection, token: String, request_id: &str| {
        let request = RecordInspectionRequest {
            class: class.into(),
            inspection: Some(inspection),
            request_id: request_id.into(),
        };
        async move { app.client().await.record_inspection(authed(request, &token)).await.map(tonic::Response::into_inner) }
    };
    let finding = |severity: FindingSeverity, kind: FindingKind, note: &str| Inspection {
        kind: InspectionKind::Unannounced as i32,
        inspected_on: Some(date(2027, 3, 5)),
        people_present: 1,
        venue_ok: true,
        content_ok: true,
        severity: severity as i32,
        finding: kind as i32,
        note: note.into(),
        ..Default::default()
    };
    // A minor finding: corrected while the class goes on; the spot check shows 1 present, 2 signed in.
    let minor = inspect(
        &class.name,
        finding(FindingSeverity::Minor, FindingKind::Attendance, "签到2人,实到1人"),
        app.officer(COUNTY),
        "",
    )
    .await
    .expect("recorded");
    let inspection = minor.inspection.expect("inspection");
    assert_eq!(
        (inspection.outcome, inspection.signed_in, inspection.people_present),
        (InspectionOutcome::Correct as i32, 2, 1)
    );
    assert_eq!(inspection.referral, ReferralState::NotNeeded as i32);
    assert_eq!(minor.class.expect("class").state, ClassState::Acknowledged as i32);
    // Refusals: the provider, another county, the future, before the filing, no note, no finding.
    let ok = finding(FindingSeverity::None, FindingKind::Unspecified, "未发现问题");
    assert_eq!(refusal(inspect(&class.name, ok.clone(), app.provider_token(), "").await).0, Code::PermissionDenied);
    assert_eq!(
        refusal(inspect(&class.name, ok.clone(), app.officer(OTHER_COUNTY), "").await).0,
        Code::PermissionDenied
    );
    let future = Inspection { inspected_on: Some(date(2027, 3, 6)), ..ok.clone() };
    assert_eq!(
        refusal(inspect(&class.name, future, app.officer(COUNTY), "").await),
        (Code::InvalidArgument, "CLASS-INSPECTION".to_owned())
    );
    let early = Inspection { inspected_on: Some(date(2026, 11, 30)), ..ok.clone() };
    assert_eq!(
        refusal(inspect(&class.name, early, app.officer(COUNTY), "").await),
        (Code::InvalidArgument, "CLASS-INSPECTION".to_owned())
    );
    let unsaid = finding(FindingSeverity::Serious, FindingKind::Unspecified, "问题严重");
    let unsaid = inspect(&class.name, unsaid, app.officer(COUNTY), "").await.expect_err("invalid");
    assert_eq!(bad_fields(&unsaid), ["inspection.finding"]);
    assert_eq!(
        refusal(inspect(&class.name, Inspection { note: String::new(), ..ok }, app.officer(COUNTY), "").await).0,
        Code::InvalidArgument
    );

    // CLASS-INSPECTION: a serious safety finding stops the class; nothing more is taken.
    let serious = inspect(
        &class.name,
        finding(FindingSeverity::Serious, FindingKind::Safety, "实训设备无防护"),
        app.officer(COUNTY),
        "",
    )
    .await
    .expect("recorded");
    let stopped = serious.class.expect("class");
    assert_eq!((stopped.state, stopped.stopped_on), (ClassState::Stopped as i32, Some(date(2027, 3, 5))));
    assert!(stopped.stop_reason.starts_with("CLASS-INSPECTION"));
    let inspection = serious.inspection.expect("inspection");
    assert_eq!(
        (inspection.outcome, inspection.referral),
        (InspectionOutcome::Stop as i32, ReferralState::Accepted as i32),
        "a serious finding that does not disqualify is a violation in selection: {}",
        inspection.referral_message
    );
    let decision = inspection.decision.expect("decision");
    assert!(decision.rules.iter().any(|r| r.code == "CLASS-INSPECTION" && !r.passed));
    let refused = app
        .stream(vec![chunk(&class.name, vec![check_in("c", &sessions[0].name, &trainees[2].name, when(&sessions[0]))])])
        .await;
    assert_eq!(refused[0].results[0].reason, "ATTENDANCE_STOPPED");

    // Serious fraud on another class of the provider stops it and is sent to selection.
    let fraud = finding(FindingSeverity::Serious, FindingKind::Fraud, "冒名顶替签到");
    let referred = inspect(&other.name, fraud.clone(), app.admin(), "inspection-7").await.expect("recorded");
    let inspection = referred.inspection.expect("inspection");
    assert_eq!(inspection.outcome, InspectionOutcome::StopAndDisqualify as i32);
    assert!(inspection.decision.expect("decision").rules.iter().any(|r| r.code == "PROV-DISQUALIFIED"));
    assert_eq!(referred.class.expect("class").state, ClassState::Stopped as i32);
    let standing = || async {
        app.selection_client()
            .await
            .check_standing(authed(
                sel::CheckStandingRequest { provider: format!("providers/{}", app.provider), project: String::new() },
                &app.admin(),
            ))
            .await
            .expect("standing")
            .into_inner()
            .good_standing
    };
    assert_eq!(
        ReferralState::try_from(inspection.referral),
        Ok(ReferralState::Accepted),
        "selection accepts supervision's referral: {}",
        inspection.referral_message
    );
    assert!(!standing().await, "selection disqualified the provider (PROV-DISQUALIFIED)");
    // The same request again replays the inspection (one, not two) and retries the referral.
    let again = inspect(&other.name, fraud, app.admin(), "inspection-7").await.expect("replayed");
    assert_eq!(again.inspection.expect("inspection").name, inspection.name);
    let ledger = app.ledger(&other.name, &app.auditor()).await.expect("ledger");
    assert_eq!(ledger.iter().filter(|p| p.inspection.is_some()).count(), 1);
}

async fn the_ledger_exports_whole_and_masks_personal_data_for_auditors(app: &App) {
    let (class, trainees, sessions) = running(app, 3, &[(1, 2), (2, 2)]).await;
    app.client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: class.name.clone(),
                add: Some(person(3)),
                reason: "补报名".into(),
                ..Default::default()
            },
            &app.provider_token(),
        ))
        .await
        .expect("added");
    app.set_today(2027, 3, 2);
    app.stream(vec![chunk(
        &class.name,
        vec![
            check_in("a1", &sessions[0].name, &trainees[0].name, when(&sessions[0])),
            check_in("a2", &sessions[1].name, &trainees[0].name, when(&sessions[1])),
            check_in("b1", &sessions[0].name, &trainees[1].name, when(&sessions[0])),
        ],
    )])
    .await;
    app.client()
        .await
        .correct_attendance(authed(
            CorrectAttendanceRequest {
                session: sessions[1].name.clone(),
                trainee: trainees[1].name.clone(),
                hours: 1,
                reason: "迟到一小时".into(),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("corrected");
    app.set_today(2027, 3, 2);
    app.client()
        .await
        .record_inspection(authed(
            RecordInspectionRequest {
                class: class.name.clone(),
                inspection: Some(Inspection {
                    kind: InspectionKind::Announced as i32,
                    inspected_on: Some(date(2027, 3, 2)),
                    people_present: 2,
                    venue_ok: true,
                    content_ok: true,
                    severity: FindingSeverity::None as i32,
                    note: "未发现问题".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("inspected");

    // The provider reads its ledger whole.
    let ledger = app.ledger(&class.name, &app.provider_token()).await.expect("ledger");
    let header = ledger.first().and_then(|p| p.header.clone()).expect("the header first");
    assert!(!header.masked);
    assert_eq!((header.sessions, header.trainees), (2, 4));
    assert_eq!(header.class.expect("class").roster_version, 2);
    assert_eq!(ledger.iter().filter(|p| p.session.is_some()).count(), 2);
    assert_eq!(ledger.iter().filter(|p| p.roster_change.is_some()).count(), 1);
    assert_eq!(ledger.iter().filter(|p| p.correction.is_some()).count(), 1);
    assert_eq!(ledger.iter().filter(|p| p.inspection.is_some()).count(), 1);
    let rows: Vec<LedgerTrainee> = ledger.iter().filter_map(|p| p.trainee.clone()).collect();
    let mut hours: Vec<(String, i32, i32)> = rows
        .iter()
        .map(|r| {
            let person = r.person.clone().expect("person");
            (person.id_number, r.attended_hours, r.attendance_share_basis_points)
        })
        .collect();
    hours.sort();
    let expected: Vec<(String, i32, i32)> = [(0, 4, 400), (1, 3, 300), (2, 0, 0), (3, 0, 0)]
        .iter()
        .map(|(n, h, b)| (id_born("19900101", *n), *h, *b))
        .collect();
    assert_eq!(hours, expected, "ID numbers whole, hours after the correction, shares in basis points");
    assert!(rows.iter().all(|r| r.person.clone().expect("person").name.starts_with("学员")));
    // CLASS-LEDGER: before completion the results are missing, and the ledger says whose.
    let summary = ledger.last().and_then(|p| p.summary.clone()).expect("the summary last");
    let rule = summary.ledger.expect("CLASS-LEDGER");
    assert_eq!((rule.code.as_str(), rule.passed), ("CLASS-LEDGER", false));
    assert!(rule.reason_en.contains("lacks a completion result"), "{}", rule.reason_en);
    assert!(!rule.reason_zh.contains("学员0号"), "names stay masked in the reasons");
    // Three check-ins, and one session attended by a correction.
    assert_eq!((summary.roster_size, summary.attendance_records), (4, 4));

    // Officers of the county read it whole, auditors masked.
    let officer = app.ledger(&class.name, &app.officer(COUNTY)).await.expect("ledger");
    assert!(!officer[0].header.clone().expect("header").masked);
    let audited = app.ledger(&class.name, &app.auditor()).await.expect("ledger");
    assert!(audited[0].header.clone().expect("header").masked);
    for row in audited.iter().filter_map(|p| p.trainee.clone()) {
        let person = row.person.expect("person");
        assert!(person.id_number.contains("********") && person.phone.contains("****") && person.name.contains('*'));
    }
    for role in [Role::Service, Role::Expert, Role::Enterprise] {
        assert_eq!(refusal(app.ledger(&class.name, &app.token(role)).await).0, Code::PermissionDenied, "{role}");
    }

    // After completion every trainee on the roster has a result: the ledger is complete.
    let results = app
        .trainees(&class.name)
        .await
        .iter()
        .map(|t| TraineeAssessment { trainee: t.name.clone(), result: AssessmentResult::Passed as i32 })
        .collect();
    app.client()
        .await
        .record_assessments(authed(
            RecordAssessmentsRequest { class: class.name.clone(), results, request_id: String::new() },
            &app.provider_token(),
        ))
        .await
        .expect("assessed");
    app.set_today(2027, 4, 30);
    app.client()
        .await
        .complete_class(authed(
            CompleteClassRequest { name: class.name.clone(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("completed");
    let ledger = app.ledger(&class.name, &app.admin()).await.expect("ledger");
    let rule = ledger.last().and_then(|p| p.summary.clone()).and_then(|s| s.ledger).expect("CLASS-LEDGER");
    assert!(rule.passed, "{}", rule.reason_en);
}

async fn the_project_roster_is_what_outcome_and_subsidy_read(app: &App) {
    let (class, trainees, _) = running(app, 3, &[]).await;
    let sessions = app.schedule(&class.name, &hundred_hours()).await;
    app.set_today(2027, 3, 15);
    let mut events = Vec::new();
    for (n, trainee) in trainees.iter().take(2).enumerate() {
        for (i, session) in sessions.iter().enumerate() {
            events.push(check_in(&format!("{n}-{i}"), &session.name, &trainee.name, when(session)));
        }
    }
    app.stream(vec![chunk(&class.name, events)]).await;
    let results = [(0, AssessmentResult::Passed), (1, AssessmentResult::Failed), (2, AssessmentResult::Passed)]
        .iter()
        .map(|(n, r)| TraineeAssessment { trainee: trainees[*n].name.clone(), result: *r as i32 })
        .collect();
    app.client()
        .await
        .record_assessments(authed(
            RecordAssessmentsRequest { class: class.name.clone(), results, request_id: String::new() },
            &app.provider_token(),
        ))
        .await
        .expect("assessed");
    app.set_today(2027, 4, 30);
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
                trainee: trainees[1].name.clone(),
                evaluation: Some(certificate("S9", 2027, 4, 30)),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("recorded");
    let second = app.filed((2027, 6, 1), (2027, 7, 30), people(10, 1)).await;

    let list = |token: String, page_size: i32, page_token: String| {
        let project = app.project.clone();
        async move {
            app.client()
                .await
                .list_project_trainees(authed(ListProjectTraineesRequest { project, page_size, page_token }, &token))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let first_page = list(app.service_named("outcome"), 3, String::new()).await.expect("listed");
    assert_eq!(first_page.trainees.len(), 3);
    let rest = list(app.service_named("outcome"), 3, first_page.next_page_token.clone()).await.expect("listed");
    assert_eq!((rest.trainees.len(), rest.next_page_token.as_str()), (1, ""));
    let all: Vec<ProjectTrainee> = first_page.trainees.into_iter().chain(rest.trainees).collect();
    let of = |n: u32| {
        all.iter()
            .find(|t| t.person.clone().expect("person").id_number == id_born("19900101", n))
            .cloned()
            .expect("listed whole")
    };
    let (p0, p1, p2, p10) = (of(0), of(1), of(2), of(10));
    assert!(p0.completed && p1.completed && !p2.completed && !p10.completed);
    assert_eq!(p1.evaluations.len(), 1, "the certificate that completed them");
    assert_eq!((p0.attended_hours, p0.class_hours, p2.attended_hours), (100, 100, 0));
    assert_eq!(
        p2.completion.clone().expect("decision").rules.iter().find(|r| !r.passed).expect("failed").code,
        "CLASS-ATTENDANCE"
    );
    assert_eq!((p0.class_first_day, p0.class_last_day), (Some(date(2027, 3, 1)), Some(date(2027, 4, 30))));
    assert_eq!(p0.class_filed_on, Some(date(2026, 12, 1)));
    assert_eq!((p0.class_state, p10.class_state), (ClassState::Completed as i32, ClassState::Filed as i32));
    assert_eq!(p10.class, second.name);
    assert_eq!((p0.occupation_code.as_str(), p0.project_skill_level), ("6-18-02-04", SkillLevel::SkillLevel4 as i32));
    assert_eq!(p0.policy_version, "xianning-2025-5/v2");
    assert!(
        p0.eligibility.clone().expect("eligibility").outcome
            || p0.eligibility.clone().expect("eligibility").rules.iter().all(|r| r.code != "ELIG-AGE" || r.passed)
    );
    assert!(!p0.person_hash.is_empty() && p0.person_hash != p1.person_hash);

    // The city reads it whole, auditors masked; providers and officers do not read it.
    let city = list(app.admin(), 10, String::new()).await.expect("listed");
    assert!(city.trainees.iter().all(|t| !t.person.clone().expect("person").id_number.contains('*')));
    let audited = list(app.auditor(), 10, String::new()).await.expect("listed");
    assert!(audited.trainees.iter().all(|t| t.person.clone().expect("person").id_number.contains("********")));
    assert_eq!(refusal(list(app.provider_token(), 10, String::new()).await).0, Code::PermissionDenied);
    assert_eq!(refusal(list(app.officer(COUNTY), 10, String::new()).await).0, Code::PermissionDenied);
    let bad = app
        .client()
        .await
        .list_project_trainees(authed(
            ListProjectTraineesRequest { project: "classes/x".into(), ..Default::default() },
            &app.service_named("outcome"),
        ))
        .await;
    assert_eq!(refusal(bad), (Code::InvalidArgument, "RESOURCE-NAME".to_owned()));
    let none = app
        .client()
        .await
        .list_project_trainees(authed(
            ListProjectTraineesRequest { project: "projects/none".into(), ..Default::default() },
            &app.service_named("subsidy"),
        ))
        .await
        .expect("listed");
    assert!(none.into_inner().trainees.is_empty());
}

/// A certificate of `occupation` at `level`, issued on `on`.
fn certificate_in(number: &str, occupation: &str, level: SkillLevel, on: (i32, u32, u32)) -> SkillEvaluation {
    SkillEvaluation {
        occupation_code: occupation.into(),
        skill_level: level as i32,
        ..certificate(number, on.0, on.1, on.2)
    }
}

/// Records `evaluation` for `trainee` as the class's provider.
async fn evaluate(app: &App, trainee: &str, evaluation: SkillEvaluation) -> RecordSkillEvaluationResponse {
    app.client()
        .await
        .record_skill_evaluation(authed(
            RecordSkillEvaluationRequest {
                trainee: trainee.into(),
                evaluation: Some(evaluation),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("recorded")
        .into_inner()
}

/// Every trainee of the class checks in at every session (the clock moves to 15 March, the last
/// session's day).
async fn attend_everything(app: &App, class: &Class, trainees: &[Trainee], sessions: &[Session]) {
    app.set_today(2027, 3, 15);
    let mut events = Vec::new();
    for (n, trainee) in trainees.iter().enumerate() {
        for (i, session) in sessions.iter().enumerate() {
            events.push(check_in(&format!("{n}-{i}"), &session.name, &trainee.name, when(session)));
        }
    }
    let acks = app.stream(vec![chunk(&class.name, events)]).await;
    assert_eq!(acks.last().expect("ack").refused, 0);
}

async fn evaluation_related_only_the_class_occupation_or_its_minor_group_at_the_project_level_or_above(app: &App) {
    // The project trains 6-18-02-04 at level 4 (中级工); nobody takes the completion assessment, so
    // only a skill evaluation that counts completes.
    let (class, trainees, _) = running(app, 5, &[]).await;
    let sessions = app.schedule(&class.name, &hundred_hours()).await;
    attend_everything(app, &class, &trainees, &sessions).await;
    let boundaries = [
        ("C0", "6-18-02-04", SkillLevel::SkillLevel4, true, "is the class's occupation"),
        ("C1", "6-18-02-07", SkillLevel::SkillLevel4, true, "is in the minor group 6-18-02"),
        ("C2", "6-18-03-04", SkillLevel::SkillLevel1, false, "outside the minor group 6-18-02"),
        ("C3", "6-18-02-04", SkillLevel::SkillLevel3, true, "at least the project's level LEVEL_4"),
        ("C4", "6-18-02-04", SkillLevel::SkillLevel5, false, "LEVEL_5 is below the project's level LEVEL_4"),
    ];
    for (n, (number, occupation, level, counts, why)) in boundaries.iter().enumerate() {
        let recorded =
            evaluate(app, &trainees[n].name, certificate_in(number, occupation, *level, (2027, 3, 15))).await;
        let evaluation = recorded.evaluation.expect("stored, counting or not");
        let rule = evaluation.counts_for_completion.expect("EVALUATION_RELATED");
        assert_eq!((rule.code.as_str(), rule.passed), ("EVALUATION_RELATED", *counts), "{number}: {}", rule.reason_en);
        assert!(rule.reason_en.contains(why), "{number}: {}", rule.reason_en);
        assert!(!evaluation.recorded_by.is_empty());
    }
    app.set_today(2027, 4, 30);
    let done = app
        .client()
        .await
        .complete_class(authed(
            CompleteClassRequest { name: class.name.clone(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("completed")
        .into_inner();
    let state_of = |n: usize| {
        let t = done.trainees.iter().find(|t| t.name == trainees[n].name).expect("decided");
        let failure = t.completion.clone().expect("decided").rules.into_iter().find(|r| !r.passed).map(|r| r.code);
        (t.state, failure)
    };
    let completed = (TraineeState::Completed as i32, None);
    let not_completed = (TraineeState::NotCompleted as i32, Some("CLASS-COMPLETION".to_owned()));
    assert_eq!(state_of(0), completed, "same occupation, same level");
    assert_eq!(state_of(1), completed, "same minor group");
    assert_eq!(state_of(2), not_completed, "another minor group, however high the level");
    assert_eq!(state_of(3), completed, "a level above");
    assert_eq!(state_of(4), not_completed, "a level below");

    // After completion an evaluation that does not count decides nothing again; one that counts does.
    let below =
        evaluate(app, &trainees[4].name, certificate_in("C5", "6-18-02-07", SkillLevel::SkillLevel5, (2027, 4, 30)))
            .await;
    assert!(!below.evaluation.expect("stored").counts_for_completion.expect("rule").passed);
    assert_eq!(below.trainee.expect("trainee").state, TraineeState::NotCompleted as i32);
    let related =
        evaluate(app, &trainees[4].name, certificate_in("C6", "6-18-02-07", SkillLevel::SkillLevel4, (2027, 4, 30)))
            .await;
    let now = related.trainee.expect("trainee");
    assert_eq!(now.state, TraineeState::Completed as i32);
    assert!(now.completion.expect("decision").rules.iter().all(|r| r.passed));

    // The ledger and the project roster show every evaluation with whether it counts and why.
    let ledger = app.ledger(&class.name, &app.auditor()).await.expect("ledger");
    let row = ledger
        .iter()
        .filter_map(|p| p.trainee.clone())
        .find(|r| r.trainee.clone().expect("t").name == trainees[4].name);
    let shown: Vec<(String, bool)> = row
        .expect("row")
        .evaluations
        .iter()
        .map(|e| (e.certificate_number.clone(), e.counts_for_completion.clone().expect("rule").passed))
        .collect();
    assert_eq!(shown, [("C4".to_owned(), false), ("C5".to_owned(), false), ("C6".to_owned(), true)]);
    let roster = app
        .client()
        .await
        .list_project_trainees(authed(
            ListProjectTraineesRequest { project: app.project.clone(), page_size: 10, page_token: String::new() },
            &app.service_named("outcome"),
        ))
        .await
        .expect("listed")
        .into_inner();
    let c2 = roster.trainees.iter().flat_map(|t| &t.evaluations).find(|e| e.certificate_number == "C2").expect("C2");
    let rule = c2.counts_for_completion.clone().expect("rule");
    assert!(!rule.passed && rule.reason_zh.contains("不计入结业"), "{}", rule.reason_zh);
}

/// Re-derives a trainee's completion from the ledger alone, as an auditor would: the marks'
/// hours (each the event's report, the session's hours for 0, or its last correction's), their
/// sum against the class's hours (CLASS-ATTENDANCE, 80%), and the assessment or an evaluation
/// that counts (CLASS-COMPLETION).
fn rederived(row: &LedgerTrainee, session_hours: &std::collections::HashMap<String, i32>) -> (i32, bool) {
    let mut attended = 0;
    for mark in &row.attendance {
        let expected = match mark.corrections.last() {
            Some(last) => last.hours,
            None if mark.reported_hours == 0 => session_hours[&mark.session],
            None => mark.reported_hours,
        };
        assert_eq!(mark.hours, expected, "{}: the mark's hours follow from its evidence", mark.event_id);
        attended += mark.hours;
    }
    let trainee = row.trainee.clone().expect("trainee");
    let passed = trainee.assessment == AssessmentResult::Passed as i32
        || row.evaluations.iter().any(|e| e.counts_for_completion.clone().is_some_and(|r| r.passed));
    (attended, attended * 100 >= 80 * row.class_hours && passed)
}

async fn the_ledger_carries_the_evidence_every_completion_is_re_derived_from(app: &App) {
    let (class, trainees, _) = running(app, 3, &[]).await;
    let sessions = app.schedule(&class.name, &hundred_hours()).await;
    app.set_today(2027, 3, 15);
    // 0 checks in by face at everything; 1 by fingerprint at everything (the first session
    // later corrected to absent); 2 by QR code at the first nine sessions (72 hours), by hand
    // for half of the tenth, and the last is added by a correction (4 hours): 80 hours.
    let methods = [CheckInMethod::Face, CheckInMethod::Fingerprint, CheckInMethod::QrCode];
    let mut events = Vec::new();
    for (n, trainee) in trainees.iter().enumerate() {
        for (i, session) in sessions.iter().enumerate() {
            if n == 2 && i > 9 {
                continue;
            }
            let (method, hours) = if n == 2 && i == 9 { (CheckInMethod::Manual, 4) } else { (methods[n], 0) };
            events.push(CheckIn {
                method: method as i32,
                hours,
                device: format!("gate-{n}"),
                ..check_in(&format!("{n}-{i}"), &session.name, &trainee.name, when(session))
            });
        }
    }
    // A method outside the enum is refused on its own.
    events.push(CheckIn {
        method: 9,
        ..check_in("bad-method", &sessions[0].name, &trainees[2].name, when(&sessions[0]))
    });
    let acks = app.stream(vec![chunk(&class.name, events)]).await;
    let bad = acks[0].results.iter().find(|r| r.event_id == "bad-method").expect("result");
    assert_eq!(
        (bad.status, bad.reason.as_str(), bad.field.as_str()),
        (CheckInStatus::Refused as i32, "ENUM", "method")
    );
    assert_eq!(acks.last().expect("ack").stored, 13 + 13 + 10);
    let correct = |session: &Session, trainee: &Trainee, hours: i32, reason: &str, token: String| {
        let request = CorrectAttendanceRequest {
            session: session.name.clone(),
            trainee: trainee.name.clone(),
            hours,
            reason: reason.into(),
            request_id: String::new(),
        };
        async move { app.client().await.correct_attendance(authed(request, &token)).await.expect("corrected") }
    };
    correct(&sessions[0], &trainees[1], 0, "代签,本人未到", app.officer(COUNTY)).await;
    correct(&sessions[12], &trainees[2], 4, "设备故障,补记", app.provider_token()).await;
    app.client()
        .await
        .record_inspection(authed(
            RecordInspectionRequest {
                class: class.name.clone(),
                inspection: Some(Inspection {
                    kind: InspectionKind::Unannounced as i32,
                    inspected_on: Some(date(2027, 3, 15)),
                    people_present: 2,
                    venue_ok: true,
                    content_ok: true,
                    severity: FindingSeverity::None as i32,
                    note: "暗访,在场2人".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("inspected");
    // 1 fails the assessment and holds a certificate of another minor group; 0 and 2 pass.
    let results = [(0, AssessmentResult::Passed), (1, AssessmentResult::Failed), (2, AssessmentResult::Passed)]
        .iter()
        .map(|(n, r)| TraineeAssessment { trainee: trainees[*n].name.clone(), result: *r as i32 })
        .collect();
    app.client()
        .await
        .record_assessments(authed(
            RecordAssessmentsRequest { class: class.name.clone(), results, request_id: String::new() },
            &app.provider_token(),
        ))
        .await
        .expect("assessed");
    evaluate(app, &trainees[1].name, certificate_in("L1", "6-18-03-04", SkillLevel::SkillLevel4, (2027, 3, 15))).await;
    app.set_today(2027, 4, 30);
    let done = app
        .client()
        .await
        .complete_class(authed(
            CompleteClassRequest { name: class.name.clone(), ..Default::default() },
            &app.provider_token(),
        ))
        .await
        .expect("completed")
        .into_inner();

    for token in [app.auditor(), app.provider_token(), app.officer(COUNTY)] {
        let ledger = app.ledger(&class.name, &token).await.expect("ledger");
        let masked = ledger[0].header.clone().expect("header").masked;
        let session_hours: std::collections::HashMap<String, i32> =
            ledger.iter().filter_map(|p| p.session.clone()).map(|s| (s.name, s.hours)).collect();
        let rows: Vec<LedgerTrainee> = ledger.iter().filter_map(|p| p.trainee.clone()).collect();
        assert_eq!(rows.len(), 3, "every row in one part");
        for decided in &done.trainees {
            let row = rows.iter().find(|r| r.trainee.clone().expect("t").name == decided.name).expect("row");
            let (attended, completes) = rederived(row, &session_hours);
            assert_eq!(attended, row.attended_hours);
            assert_eq!(completes, decided.state == TraineeState::Completed as i32, "{}", decided.name);
            let attendance_rule = decided.completion.clone().expect("decision").rules[0].clone();
            assert!(attendance_rule.reason_en.contains(&format!("attended {attended} of 100 hours")));
            // The evidence: who uploaded each mark, when it was received, from which device how.
            for mark in &row.attendance {
                assert!(!mark.uploaded_by.is_empty() && mark.received_micros > 0, "{}", mark.event_id);
                if mark.from_correction {
                    assert!(mark.event_id.starts_with("correction/") && mark.device.is_empty());
                    assert_eq!(mark.method, CheckInMethod::Unspecified as i32);
                } else {
                    assert!(mark.device.starts_with("gate-") && mark.checked_in_micros > 0);
                    assert_ne!(mark.method, CheckInMethod::Unspecified as i32);
                }
            }
            let person = row.person.clone().expect("person");
            assert_eq!(person.id_number.contains("********"), masked, "personal data as the role may see it");
        }
        let row = |n: usize| rows.iter().find(|r| r.trainee.clone().expect("t").name == trainees[n].name).expect("row");
        let (r0, r1, r2) = (row(0), row(1), row(2));
        assert_eq!((r0.attended_hours, r1.attended_hours, r2.attended_hours), (100, 92, 80));
        let first = &r0.attendance[0];
        assert_eq!((first.event_id.as_str(), first.device.as_str()), ("0-0", "gate-0"));
        assert_eq!((first.method, first.checked_in_micros), (CheckInMethod::Face as i32, when(&sessions[0])));
        assert!(!first.corrected && first.corrections.is_empty());
        // 1's first session: checked in by fingerprint, corrected to absent by the officer.
        let absent = r1.attendance.iter().find(|m| m.session == sessions[0].name).expect("mark");
        assert_eq!((absent.hours, absent.reported_hours, absent.corrected), (0, 0, true));
        assert_eq!(absent.method, CheckInMethod::Fingerprint as i32);
        let correction = absent.corrections.first().expect("its correction");
        assert_eq!((correction.previous_hours, correction.hours, correction.reason.as_str()), (8, 0, "代签,本人未到"));
        assert!(!correction.corrected_by.is_empty() && correction.corrected_by != absent.uploaded_by);
        // 2: half a session by hand, and the last session made by a correction.
        let by_hand = r2.attendance.iter().find(|m| m.session == sessions[9].name).expect("mark");
        assert_eq!((by_hand.method, by_hand.reported_hours, by_hand.hours), (CheckInMethod::Manual as i32, 4, 4));
        let made = r2.attendance.iter().find(|m| m.session == sessions[12].name).expect("mark");
        assert!(made.from_correction && made.corrected);
        assert_eq!(made.corrections.first().map(|c| c.reason.as_str()), Some("设备故障,补记"));
        // 1's certificate is another minor group's: shown, with who recorded it, not counted.
        let certificate = r1.evaluations.first().expect("recorded");
        assert!(!certificate.recorded_by.is_empty());
        assert!(!certificate.counts_for_completion.clone().expect("rule").passed);
        // The inspection with its spot checks.
        let inspection = ledger.iter().find_map(|p| p.inspection.clone()).expect("inspection");
        assert_eq!((inspection.people_present, inspection.signed_in), (2, 3));
        assert!(inspection.venue_ok && inspection.content_ok && !inspection.inspector.is_empty());
        assert_eq!(ledger.iter().filter(|p| p.correction.is_some()).count(), 2);
    }
    let states: Vec<i32> =
        trainees.iter().map(|t| done.trainees.iter().find(|d| d.name == t.name).expect("decided").state).collect();
    let (yes, no) = (TraineeState::Completed as i32, TraineeState::NotCompleted as i32);
    assert_eq!(states, [yes, no, yes], "0 and 2 complete (2 at exactly 80%); 1 fails the assessment");
}

async fn start_with_small_messages(backend: Backend) -> Option<App> {
    // Messages of at most 8 KiB: the ledger's trainee parts are bounded at 4 KiB.
    common::start_configured(backend, |keys| keys.settings.max_message_bytes = 8 * 1024).await
}

async fn a_ledger_row_larger_than_its_part_budget_goes_on_in_continuation_parts(app: &App) {
    let (class, trainees, _) = running(app, 2, &[]).await;
    let sessions = app.schedule(&class.name, &hundred_hours()).await;
    app.set_today(2027, 3, 15);
    for (n, trainee) in trainees.iter().enumerate() {
        let events = sessions
            .iter()
            .enumerate()
            .map(|(i, session)| check_in(&format!("{n}-{i}"), &session.name, &trainee.name, when(session)))
            .collect();
        app.stream(vec![chunk(&class.name, events)]).await;
    }
    // Long reasons make trainee 0's row larger than 4 KiB; trainee 1's fits in one part.
    let reason = "核查后更正学时。".repeat(60);
    for (i, hours) in [(0, 4), (1, 4), (2, 6)] {
        app.client()
            .await
            .correct_attendance(authed(
                CorrectAttendanceRequest {
                    session: sessions[i].name.clone(),
                    trainee: trainees[0].name.clone(),
                    hours,
                    reason: reason.clone(),
                    request_id: String::new(),
                },
                &app.provider_token(),
            ))
            .await
            .expect("corrected");
    }
    let ledger = app.ledger(&class.name, &app.officer(COUNTY)).await.expect("every part within the message limit");
    let parts: Vec<&LedgerTrainee> = ledger.iter().filter_map(|p| p.trainee.as_ref()).collect();
    let name = |p: &LedgerTrainee| p.trainee.clone().expect("named").name;
    let of = |n: usize| parts.iter().copied().filter(|p| name(p) == trainees[n].name).collect::<Vec<_>>();
    let (first, second) = (of(0), of(1));
    assert!(first.len() > 1, "trainee 0's row goes on in continuation parts");
    assert_eq!(second.len(), 1, "trainee 1's row fits in one part");
    assert!(!first[0].continued && first[1..].iter().all(|p| p.continued && p.person.is_none()));
    assert!(parts.iter().all(|p| prost::Message::encoded_len(*p) <= 4 * 1024));
    // The continuation parts follow the row at once, and the marks of all its parts add up.
    let at = |p: &LedgerTrainee| parts.iter().position(|q| std::ptr::eq(*q, p)).expect("a part");
    assert!(first.windows(2).all(|w| at(w[1]) == at(w[0]) + 1));
    let marks: Vec<&AttendanceMark> = first.iter().flat_map(|p| &p.attendance).collect();
    assert_eq!(marks.len(), 13);
    assert_eq!(marks.iter().map(|m| m.hours).sum::<i32>(), first[0].attended_hours);
    assert_eq!(first[0].attended_hours, 100 - 4 - 4 - 2);
    assert_eq!(marks.iter().map(|m| m.corrections.len()).sum::<usize>(), 3);
}

backend_tests!(start =>
    sessions_are_added_within_the_class_dates,
    attendance_arrives_as_a_stream_and_a_resend_is_stored_once,
    a_chunk_that_does_not_decode_ends_the_stream_after_what_came_before_is_stored,
    each_bad_check_in_gets_its_own_result_and_the_good_ones_are_kept,
    attendance_is_corrected_explicitly_and_the_earlier_value_kept,
    completion_needs_80_percent_of_the_hours_and_an_assessment_or_an_evaluation,
    a_certificate_is_recorded_once_and_on_a_day_of_the_class_or_after,
    a_serious_finding_stops_the_class_and_fraud_is_referred_to_selection,
    the_ledger_exports_whole_and_masks_personal_data_for_auditors,
    the_project_roster_is_what_outcome_and_subsidy_read,
    evaluation_related_only_the_class_occupation_or_its_minor_group_at_the_project_level_or_above,
    the_ledger_carries_the_evidence_every_completion_is_re_derived_from,
);

mod small_messages {
    use super::*;

    backend_tests!(start_with_small_messages => a_ledger_row_larger_than_its_part_budget_goes_on_in_continuation_parts);
}
