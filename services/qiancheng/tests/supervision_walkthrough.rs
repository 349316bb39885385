//! The supervision service tried as a new user would, against `qiancheng dev` running as its own
//! process (supervision on its own port, asking selection over gRPC): a project approved in
//! selection gets a class filed with 30 trainees, where one under 16 on the first day is refused
//! with ELIG-AGE and one already on an overlapping class with ELIG-OVERLAP; a filing on the
//! first day itself is refused with CLASS-FILING; a second class that would pass the approved
//! headcount is refused with CLASS-HEADCOUNT; attendance for 60 sessions arrives as a stream,
//! is sent twice and stored once; a trainee at 79% of the hours does not complete and one at 80%
//! does; a serious inspection finding stops another class; the ledger exports whole, each mark
//! with its device, method and upload; another provider and another county's officer see none of
//! it.
//!
//! Things happen in the order a real class lives them. Supervision's clock is set through `dev`'s
//! clock file (`QIANCHENG_SUPERVISION_CLOCK_FILE`, a development setting) to days of the plan's
//! period, never "today": the classes are filed on 2027-02-15 for 1 March to 30 April 2027; the
//! attendance of each session is sent on its evening, and a check-in dated the next day is
//! refused (ATTENDANCE_FUTURE); sessions beyond the filed hours are refused
//! (SESSION_HOURS_FILED); completion is refused before the last day (COMPLETION_EARLY) and done
//! on it. So the story stays valid whatever year it runs in.

mod common;

use common::Dev;

use qiancheng_api::convert::date_to_proto;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{self as sel};
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::*;
use qiancheng_api::types::{Date, TargetGroup, TrainingMode};
use qiancheng_testkit::selection::{ProjectToApprove, approve_project};
use qiancheng_testkit::{authed, fixtures, refusal};
use tonic::Code;
use tonic::transport::Channel;

const COUNTY: &str = "421221";

/// The day the classes are filed (supervision's clock), inside the plan's period.
const FILED_ON: Date = Date { year: 2027, month: 2, day: 15 };
/// The classes' first day.
const FIRST: Date = Date { year: 2027, month: 3, day: 1 };
/// The classes' last day.
const LAST: Date = Date { year: 2027, month: 4, day: 30 };

/// `day` as supervision's clock file writes it.
fn clock(day: &Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year, day.month, day.day)
}

/// `n` days after `day`.
fn days_after(day: &Date, n: u64) -> Date {
    let mut on = qiancheng_api::convert::required_date(Some(day)).expect("a date");
    for _ in 0..n {
        on = on.succ_opt().expect("a later day");
    }
    date_to_proto(on)
}

/// 08:00 China time on `day` (midnight UTC), in microseconds since the epoch.
fn morning(day: &Date) -> i64 {
    let on = qiancheng_api::convert::required_date(Some(day)).expect("a date");
    on.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_micros()
}

/// A trainee of 咸宁, born on `birth`, number `n`.
fn trainee(n: u32, birth: &Date) -> TraineeInput {
    let first17 = format!("421202{:04}{:02}{:02}{:03}", birth.year, birth.month, birth.day, 100 + n);
    TraineeInput {
        person_name: format!("学员{n}号"),
        id_number: fixtures::id_number(&first17),
        phone: format!("139{:08}", n),
        target_group: TargetGroup::RuralMigrant as i32,
        local_basis: LocalBasis::HouseholdRegistration as i32,
        local_basis_evidence: "户口簿".into(),
        ..Default::default()
    }
}

fn adult(n: u32) -> TraineeInput {
    trainee(n, &Date { year: 1992, month: 5, day: 1 })
}

fn class(project: &str, title: &str, first: &Date, last: &Date) -> Class {
    Class {
        project: project.into(),
        title: title.into(),
        first_day: Some(*first),
        last_day: Some(*last),
        theory_hours: 40,
        practice_hours: 60,
        mode: TrainingMode::Offline as i32,
        venue: "嘉鱼县实训基地".into(),
        teachers: vec![Teacher { name: "王师傅".into(), qualification: "焊工一级/高级技师".into() }],
        ..Default::default()
    }
}

/// An approved project of 40 welders, 100 hours, for a provider of the county, through
/// selection's API as the county, the city and the provider would do it.
async fn approved_project(dev: &Dev, selection: &mut SelectionServiceClient<Channel>, seed: &str) -> (String, String) {
    let officer = dev.token(&["--role", "COUNTY_OFFICER", "--region", COUNTY, "--subject", "officer-jiayu"]);
    let admin = dev.token(&["--role", "CITY_ADMIN", "--region", "421200"]);
    selection
        .set_quota(authed(
            sel::SetQuotaRequest {
                quota: Some(sel::Quota {
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
        .expect("quota");
    let deadline = Date { year: 2030, month: 1, day: 1 };
    let project = ProjectToApprove { county: COUNTY, seed, headcount: 40, hours: 100, deadline };
    approve_project(selection, &officer, |code| dev.token(&["--role", "PROVIDER", "--org", code]), project).await
}

#[tokio::test]
async fn a_county_supervises_a_class_from_filing_to_ledger() {
    let dev = Dev::start();
    let mut selection = SelectionServiceClient::new(dev.channel("selection").await);
    let mut supervision = SupervisionServiceClient::new(dev.channel("supervision").await);
    let (provider_code, project) = approved_project(&dev, &mut selection, "0000W01").await;
    let provider = dev.token(&["--role", "PROVIDER", "--org", &provider_code]);
    let officer = dev.token(&["--role", "COUNTY_OFFICER", "--region", COUNTY, "--subject", "officer-jiayu"]);
    dev.set_supervision_clock(&clock(&FILED_ON));
    let today = FILED_ON;
    let (first, last) = (FIRST, LAST);

    // A first class of five, among them the person who will also be put on the second.
    let other_class = supervision
        .create_class(authed(
            CreateClassRequest {
                class: Some(class(&project, "嘉鱼焊工培训甲班", &first, &last)),
                roster: (100..105).map(adult).collect(),
                request_id: String::new(),
            },
            &provider,
        ))
        .await
        .expect("the first class is filed")
        .into_inner()
        .class
        .expect("class");

    // CLASS-FILING: not on the first day itself.
    let on_the_day = supervision
        .create_class(authed(
            CreateClassRequest {
                class: Some(class(&project, "当日备案", &today, &last)),
                roster: vec![adult(200)],
                request_id: String::new(),
            },
            &provider,
        ))
        .await;
    assert_eq!(refusal(on_the_day), (Code::FailedPrecondition, "CLASS-FILING".to_owned()));

    // The main class: 30 trainees, one under 16 on the first day, one already on the first class.
    let mut roster: Vec<TraineeInput> = (0..30).map(adult).collect();
    // Sixteen the day after the first day (a 29 February birthday is moved to 1 March).
    let sixteenth = Date { year: first.year - 16, ..first };
    let sixteenth = if qiancheng_api::convert::date(Some(&sixteenth)).is_ok() {
        sixteenth
    } else {
        Date { year: first.year - 16, month: 3, day: 1 }
    };
    roster.push(trainee(30, &days_after(&sixteenth, 1)));
    roster.push(adult(100));
    let filed = supervision
        .create_class(authed(
            CreateClassRequest {
                class: Some(class(&project, "嘉鱼焊工培训乙班", &first, &last)),
                roster,
                request_id: "jiayu-welding-2".into(),
            },
            &provider,
        ))
        .await
        .expect("filed")
        .into_inner();
    let refused: Vec<(i32, &str)> = filed.refused.iter().map(|r| (r.index, r.reason.as_str())).collect();
    assert_eq!(refused, [(30, "ELIG-AGE"), (31, "ELIG-OVERLAP")]);
    let main = filed.class.expect("class");
    assert_eq!(main.roster_size, 30);
    assert!(main.selection.clone().expect("what selection said").good_standing);

    // CLASS-HEADCOUNT: 5 + 30 of 40 are placed; six more would pass the approved headcount.
    let over = supervision
        .create_class(authed(
            CreateClassRequest {
                class: Some(class(&project, "嘉鱼焊工培训丙班", &first, &last)),
                roster: (300..306).map(adult).collect(),
                request_id: String::new(),
            },
            &provider,
        ))
        .await;
    assert_eq!(refusal(over), (Code::FailedPrecondition, "CLASS-HEADCOUNT".to_owned()));

    // The county acknowledges; the provider adds 60 sessions (40 of 2 hours, 20 of 1: 100 hours;
    // the first twenty theory, 40 hours, the rest practice, 60 hours: what was filed).
    supervision
        .acknowledge_class(authed(AcknowledgeClassRequest { name: main.name.clone(), ..Default::default() }, &officer))
        .await
        .expect("acknowledged");
    let sessions: Vec<Session> = (0..60u64)
        .map(|i| Session {
            held_on: Some(days_after(&first, i)),
            hours: if i < 40 { 2 } else { 1 },
            kind: if i < 20 { SessionKind::Theory } else { SessionKind::Practice } as i32,
            topic: "焊接工艺".into(),
            ..Default::default()
        })
        .collect();
    let sessions = supervision
        .create_sessions(authed(
            CreateSessionsRequest { class: main.name.clone(), sessions, request_id: "sessions-1".into() },
            &provider,
        ))
        .await
        .expect("sessions")
        .into_inner()
        .sessions;
    assert_eq!(sessions.len(), 60);
    // SESSION_HOURS_FILED: one hour more than the filing is refused.
    let beyond = supervision
        .create_sessions(authed(
            CreateSessionsRequest {
                class: main.name.clone(),
                sessions: vec![Session {
                    held_on: Some(days_after(&first, 59)),
                    hours: 1,
                    kind: SessionKind::Practice as i32,
                    topic: "加课".into(),
                    ..Default::default()
                }],
                request_id: String::new(),
            },
            &provider,
        ))
        .await;
    assert_eq!(refusal(beyond), (Code::FailedPrecondition, "SESSION_HOURS_FILED".to_owned()));

    // Attendance from the sign-in devices: trainee 0 misses 21 hours (79%), trainee 1 misses 20
    // (80%), everyone else attends everything. The devices send it all, then all again.
    let trainees = filed.trainees;
    let mut events = Vec::new();
    for (n, person) in trainees.iter().enumerate() {
        for (i, session) in sessions.iter().enumerate() {
            let missed = (n == 0 && (i < 10 || i == 40)) || (n == 1 && i < 10);
            if !missed {
                let day = session.held_on.expect("a day");
                events.push(CheckIn {
                    event_id: format!("gate-1/{n}/{i}"),
                    session: session.name.clone(),
                    trainee: person.name.clone(),
                    checked_in_micros: morning(&day),
                    device: "gate-1".into(),
                    method: CheckInMethod::Face as i32,
                    ..Default::default()
                });
            }
        }
    }
    let expected = events.len();
    assert_eq!(expected, 30 * 60 - 21);
    let send = async |supervision: &mut SupervisionServiceClient<Channel>, events: Vec<CheckIn>| {
        let chunks: Vec<StreamAttendanceRequest> = events
            .chunks(250)
            .map(|c| StreamAttendanceRequest { class: main.name.clone(), events: c.to_vec() })
            .collect();
        let mut acks = supervision
            .stream_attendance(authed(tokio_stream::iter(chunks), &provider))
            .await
            .expect("stream")
            .into_inner();
        let mut all = Vec::new();
        while let Some(ack) = acks.message().await.expect("acknowledged") {
            all.push(ack);
        }
        all
    };
    // Each evening the devices send that day's check-ins. On the first evening a device whose
    // clock is a day ahead sends one dated tomorrow: refused on its own, ATTENDANCE_FUTURE.
    let mut stored = 0;
    for (i, session) in sessions.iter().enumerate() {
        let day = session.held_on.expect("a day");
        dev.set_supervision_clock(&clock(&day));
        let mut of_the_day: Vec<CheckIn> = events.iter().filter(|e| e.session == session.name).cloned().collect();
        if i == 0 {
            let tomorrow = days_after(&day, 1);
            of_the_day.push(CheckIn {
                event_id: "gate-9/ahead".into(),
                session: sessions[1].name.clone(),
                trainee: trainees[2].name.clone(),
                checked_in_micros: morning(&tomorrow),
                device: "gate-9".into(),
                ..Default::default()
            });
        }
        let acks = send(&mut supervision, of_the_day).await;
        let last = acks.last().expect("acks");
        stored += usize::try_from(last.stored).expect("n");
        if i == 0 {
            let ahead = acks.iter().flat_map(|a| &a.results).find(|r| r.event_id == "gate-9/ahead").expect("result");
            assert_eq!((ahead.status, ahead.reason.as_str()), (CheckInStatus::Refused as i32, "ATTENDANCE_FUTURE"));
        } else {
            assert_eq!(last.refused, 0);
        }
    }
    assert_eq!(stored, expected);
    // A device resends everything after a timeout: sent twice, stored once.
    let again = send(&mut supervision, events.clone()).await;
    let last = again.last().expect("acks");
    let counts = (usize::try_from(last.stored).expect("n"), usize::try_from(last.replayed).expect("n"), last.refused);
    assert_eq!(counts, (0, expected, 0), "sent twice, stored once");

    // Completion: everyone passed the assessment; 79% does not complete, 80% does.
    supervision
        .record_assessments(authed(
            RecordAssessmentsRequest {
                class: main.name.clone(),
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
    // COMPLETION_EARLY: not before the last day; on it, the class completes.
    let early = supervision
        .complete_class(authed(CompleteClassRequest { name: main.name.clone(), ..Default::default() }, &provider))
        .await;
    assert_eq!(refusal(early), (Code::FailedPrecondition, "COMPLETION_EARLY".to_owned()));
    dev.set_supervision_clock(&clock(&LAST));
    let completed = supervision
        .complete_class(authed(CompleteClassRequest { name: main.name.clone(), ..Default::default() }, &provider))
        .await
        .expect("completed")
        .into_inner();
    let state_of = |n: usize| completed.trainees.iter().find(|t| t.name == trainees[n].name).expect("decided").clone();
    let at79 = state_of(0);
    assert_eq!(at79.state, TraineeState::NotCompleted as i32);
    let failed = at79.completion.expect("decision").rules.into_iter().find(|r| !r.passed).expect("a rule failed");
    assert_eq!(failed.code, "CLASS-ATTENDANCE");
    assert!(failed.reason_en.contains("79 of 100"), "{}", failed.reason_en);
    assert_eq!(state_of(1).state, TraineeState::Completed as i32);
    assert_eq!(completed.trainees.iter().filter(|t| t.state == TraineeState::Completed as i32).count(), 29);

    // A serious finding at an unannounced inspection stops the other class.
    let stopped = supervision
        .record_inspection(authed(
            RecordInspectionRequest {
                class: other_class.name.clone(),
                inspection: Some(Inspection {
                    kind: InspectionKind::Unannounced as i32,
                    inspected_on: Some(LAST),
                    people_present: 0,
                    severity: FindingSeverity::Serious as i32,
                    finding: FindingKind::Safety as i32,
                    note: "实训场地无消防设施".into(),
                    ..Default::default()
                }),
                request_id: "inspection-1".into(),
            },
            &officer,
        ))
        .await
        .expect("inspected")
        .into_inner();
    assert_eq!(stopped.class.expect("class").state, ClassState::Stopped as i32);
    assert_eq!(stopped.inspection.expect("inspection").outcome, InspectionOutcome::Stop as i32);

    // The ledger exports whole: the class, 60 sessions, 30 trainees with their hours and
    // results, and CLASS-LEDGER satisfied; ID numbers whole for the county's officer.
    let mut parts = supervision
        .get_ledger(authed(GetLedgerRequest { class: main.name.clone() }, &officer))
        .await
        .expect("ledger")
        .into_inner();
    let mut ledger = Vec::new();
    while let Some(part) = parts.message().await.expect("a part") {
        ledger.push(part);
    }
    let header = ledger.first().and_then(|p| p.header.clone()).expect("header");
    assert!(!header.masked);
    assert_eq!(ledger.iter().filter(|p| p.session.is_some()).count(), 60);
    let rows: Vec<LedgerTrainee> = ledger.iter().filter_map(|p| p.trainee.clone()).collect();
    assert_eq!(rows.len(), 30);
    assert!(rows.iter().all(|r| r.person.clone().expect("person").id_number.len() == 18));
    // Each mark shows its evidence: the event, the device and how it identified the trainee, who
    // uploaded it and when; the marks add up to the trainee's hours.
    for row in &rows {
        assert_eq!(row.attendance.iter().map(|m| m.hours).sum::<i32>(), row.attended_hours);
        for mark in &row.attendance {
            assert!(mark.event_id.starts_with("gate-1/") && mark.device == "gate-1", "{mark:?}");
            assert_eq!(mark.method, CheckInMethod::Face as i32);
            assert!(!mark.uploaded_by.is_empty() && mark.received_micros > 0 && mark.checked_in_micros > 0);
        }
    }
    let summary = ledger.last().and_then(|p| p.summary.clone()).expect("summary");
    assert_eq!(usize::try_from(summary.attendance_records).expect("n"), expected);
    assert_eq!(summary.completed, 29);
    assert!(summary.ledger.expect("CLASS-LEDGER").passed);

    // The same ledger as the workbook an office keeps (培训台账): written from the stream by
    // `qiancheng export ledger`, read back by a second library, every mark a row with its device;
    // an auditor's copy has the ID numbers masked.
    let workbook = |token: &str, file: &str| {
        let path = std::env::temp_dir().join(format!("{}-{file}", ulid_like()));
        let run = std::process::Command::new(common::BIN)
            .args(["export", "ledger", &main.name])
            .arg(&path)
            .args(["--addr", &format!("http://{}", dev.endpoint("supervision"))])
            .env("QIANCHENG_TOKEN", token)
            .output()
            .expect("run the export");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        path
    };
    let officer_copy = workbook(&officer, "ledger.xlsx");
    let mut book = calamine::open_workbook_auto(&officer_copy).expect("the ledger workbook opens");
    use calamine::Reader as _;
    assert_eq!(book.sheet_names(), ["说明", "学员名册", "考勤记录", "课次", "名册变更", "考勤更正", "检查记录"]);
    let roster = book.worksheet_range("学员名册").expect("roster");
    assert_eq!(roster.rows().count(), 31, "a header and 30 trainees");
    assert!(roster.rows().skip(1).all(|r| r[2].to_string().len() == 18), "ID numbers whole for the officer");
    let marks = book.worksheet_range("考勤记录").expect("marks");
    assert_eq!(marks.rows().count() - 1, expected, "one row per attendance mark");
    assert!(marks.rows().skip(1).all(|r| r[6] == "gate-1" && r[7] == "人脸"));
    assert_eq!(book.worksheet_range("课次").expect("sessions").rows().count(), 61);
    let cover = book.worksheet_range("说明").expect("cover");
    assert!(cover.rows().any(|r| r[0] == "政策版本" && r[1].to_string().starts_with("xianning-2025-5/")));
    if let Some(sheets) = common::openpyxl(&officer_copy, 2) {
        let names: Vec<&str> = sheets.as_array().expect("sheets").iter().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(names, ["说明", "学员名册", "考勤记录", "课次", "名册变更", "考勤更正", "检查记录"]);
        assert_eq!(sheets[1]["rows"], 31);
        // A session's day is a date cell, as a person expects, not text.
        let day = sheets[3]["first"][1][1].as_str().expect("a session's day");
        assert!(day.ends_with(" 00:00:00") && day.starts_with("2027-"), "{day}");
    }
    // Opened by LibreOffice as a person would: the cover says what the file is, and the
    // roster, the marks and their device are there as printed.
    if let Some(text) = common::libreoffice(&officer_copy, "ledger-30-trainees") {
        assert!(text.contains("培训台账") && text.contains("政策版本"), "{text:.300}");
        assert!(text.contains("学员名册") || text.contains("gate-1"), "{text:.300}");
        assert!(text.contains("gate-1") && text.contains("人脸"), "every mark's device and method as printed");
    }
    let auditor = dev.token(&["--role", "AUDITOR"]);
    let auditor_copy = workbook(&auditor, "ledger-audit.xlsx");
    let mut book = calamine::open_workbook_auto(&auditor_copy).expect("the auditor's workbook opens");
    let roster = book.worksheet_range("学员名册").expect("roster");
    assert!(roster.rows().skip(1).all(|r| r[2].to_string().contains('*')), "ID numbers masked for an auditor");
    let _ = std::fs::remove_file(officer_copy);
    let _ = std::fs::remove_file(auditor_copy);

    // Another provider and another county's officer see none of it.
    let (stranger_code, _) = approved_project(&dev, &mut selection, "0000W02").await;
    let stranger = dev.token(&["--role", "PROVIDER", "--org", &stranger_code]);
    let outsider = dev.token(&["--role", "COUNTY_OFFICER", "--region", "421222"]);
    for token in [&stranger, &outsider] {
        let listed =
            supervision.list_classes(authed(ListClassesRequest::default(), token)).await.expect("list").into_inner();
        assert!(listed.classes.is_empty());
        let denied = supervision.get_class(authed(GetClassRequest { name: main.name.clone() }, token)).await;
        assert_eq!(refusal(denied).0, Code::PermissionDenied);
        let denied = supervision
            .list_trainees(authed(ListTraineesRequest { class: main.name.clone(), ..Default::default() }, token))
            .await;
        assert_eq!(refusal(denied).0, Code::PermissionDenied);
        let denied = supervision.get_ledger(authed(GetLedgerRequest { class: main.name.clone() }, token)).await;
        assert_eq!(denied.err().map(|s| s.code()), Some(Code::PermissionDenied));
    }
}

/// The story's days lie inside the plan's period and leave the filing lead the rules ask for, so
/// the walkthrough stays valid whatever year it runs in (it never dates anything from "today").
#[test]
fn the_story_is_dated_inside_the_plan_period_whatever_year_it_runs() {
    let policy = qiancheng_domain::policy::PolicySet::current();
    let on = |d: &Date| qiancheng_api::convert::required_date(Some(d)).expect("a date");
    let (filed, first, last) = (on(&FILED_ON), on(&FIRST), on(&LAST));
    assert!(policy.in_force_on(filed) && policy.in_force_on(first) && policy.in_force_on(last));
    assert!(filed + chrono::Days::new(u64::from(policy.filing_lead_days)) <= first, "CLASS-FILING's lead");
    // Sixty sessions, one a day from the first day, end before the last day.
    assert!(first + chrono::Days::new(59) < last);
}

/// A name no other run of the test uses at the same time.
fn ulid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    )
}
