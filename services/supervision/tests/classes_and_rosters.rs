//! Classes and their real-name rosters through the generated client, on real servers on port 0
//! (supervision, and selection as its peer), once on SQLite and once on PostgreSQL (when
//! `QIANCHENG_TEST_DATABASE_URL` is set): filing with what selection said (CLASS-FILING,
//! CLASS-HOURS, CLASS-HEADCOUNT), entries refused by their rules (ELIG-*), the roster locked on
//! the first day with every version kept, acknowledgement, stopping, withdrawals, and who may do
//! what.

mod common;

use common::*;
use qiancheng_api::selection as sel;
use qiancheng_api::supervision::*;
use qiancheng_api::types::TargetGroup;
use qiancheng_platform::auth::Role;
use qiancheng_testkit::{Backend, authed, backend_tests};
use tonic::Code;

async fn start(backend: Backend) -> Option<App> {
    common::start(backend).await
}

async fn a_class_is_filed_with_its_roster_and_what_selection_said(app: &App) {
    let filed = app.file(class_of(&app.project, (2027, 3, 1), (2027, 4, 30)), people(0, 5)).await.expect("filed");
    let class = filed.class.expect("class");
    assert!(filed.refused.is_empty());
    assert_eq!(filed.trainees.len(), 5);
    assert_eq!(class.state, ClassState::Filed as i32);
    assert_eq!((class.roster_version, class.roster_size), (1, 5));
    assert_eq!(class.provider_credit_code, app.provider);
    assert_eq!(class.region_code, COUNTY);
    assert_eq!(class.filed_on, Some(date(2026, 12, 1)));
    let told = class.selection.clone().expect("what selection said");
    assert_eq!((told.approved_headcount, told.catalog_hours, told.occupation_code.as_str()), (60, 100, "6-18-02-04"));
    assert!(told.good_standing && told.told_micros > 0);
    assert!(told.standing_rules.iter().any(|r| r.code == "PROV-DISQUALIFIED" && r.passed));
    let decision = class.filing_decision.clone().expect("the filing decision");
    assert!(decision.outcome);
    assert_eq!(decision.policy_version, "xianning-2025-5/v2");
    assert!(decision.policy_digest.starts_with("sha256:"));
    let codes: Vec<&str> = decision.rules.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["CLASS-FILING", "CLASS-HOURS", "CLASS-HEADCOUNT"]);
    let trainee = &filed.trainees[0];
    let shown = trainee.person.clone().expect("person");
    assert!(shown.id_number.contains("********") && shown.phone.contains("****"), "{shown:?}");
    assert_eq!(shown.name, "学**号");
    assert_eq!(trainee.added_in_version, 1);
    let eligibility = trainee.eligibility.clone().expect("eligibility");
    assert!(eligibility.rules.iter().any(|r| r.code == "ELIG-AGE" && r.passed));
    assert_eq!(trainee.judged_group, TargetGroup::RuralMigrant as i32);

    // The provider, an officer of the county, the city and auditors read it.
    for token in [app.provider_token(), app.officer(COUNTY), app.admin(), app.auditor()] {
        let read = app.client().await.get_class(authed(GetClassRequest { name: class.name.clone() }, &token)).await;
        assert_eq!(read.expect("read").into_inner().class.expect("class").name, class.name);
        let listed = app
            .client()
            .await
            .list_classes(authed(ListClassesRequest { project: app.project.clone(), ..Default::default() }, &token))
            .await
            .expect("listed")
            .into_inner();
        assert_eq!(listed.classes.len(), 1);
    }
    let filtered = app
        .client()
        .await
        .list_classes(authed(
            ListClassesRequest { state: ClassState::Completed as i32, ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("listed")
        .into_inner();
    assert!(filtered.classes.is_empty());
    let missing =
        app.client().await.get_class(authed(GetClassRequest { name: "classes/nope".into() }, &app.admin())).await;
    assert_eq!(refusal(missing).0, Code::NotFound);
}

async fn class_filing_is_refused_by_its_rules(app: &App) {
    let on = |first: (i32, u32, u32), last: (i32, u32, u32)| class_of(&app.project, first, last);
    // CLASS-FILING: at least one day before the first day.
    let today = app.file(on((2026, 12, 1), (2027, 1, 30)), people(0, 3)).await;
    assert_eq!(refusal(today), (Code::FailedPrecondition, "CLASS-FILING".to_owned()));
    // CLASS-FILING: a first day outside the plan's period (一 从2025年至2027年底).
    let late = app.file(on((2028, 1, 3), (2028, 2, 29)), people(0, 3)).await;
    assert_eq!(refusal(late), (Code::FailedPrecondition, "CLASS-FILING".to_owned()));
    // The day before the first day is the last chance.
    let tomorrow = app.file(on((2026, 12, 2), (2027, 1, 30)), people(0, 3)).await.expect("the day before is in time");
    assert!(tomorrow.class.is_some());
    // CLASS-FILING: a last day before the first, no venue.
    let backwards = app.file(on((2027, 5, 10), (2027, 5, 1)), people(10, 3)).await;
    assert_eq!(refusal(backwards), (Code::FailedPrecondition, "CLASS-FILING".to_owned()));
    let mut no_venue = on((2027, 5, 1), (2027, 5, 30));
    no_venue.venue.clear();
    assert_eq!(refusal(app.file(no_venue, people(10, 3)).await), (Code::FailedPrecondition, "CLASS-FILING".to_owned()));
    // CLASS-FILING: no one left on the roster.
    let empty = app.file(on((2027, 5, 1), (2027, 5, 30)), Vec::new()).await;
    assert_eq!(refusal(empty), (Code::FailedPrecondition, "CLASS-FILING".to_owned()));
    // CLASS-HOURS: fewer hours than the catalog item's 100, or another mode.
    let mut short = on((2027, 5, 1), (2027, 5, 30));
    short.practice_hours = 59;
    assert_eq!(refusal(app.file(short, people(10, 3)).await), (Code::FailedPrecondition, "CLASS-HOURS".to_owned()));
    let mut online = on((2027, 5, 1), (2027, 5, 30));
    online.mode = TrainingMode::Online as i32;
    assert_eq!(refusal(app.file(online, people(10, 3)).await), (Code::FailedPrecondition, "CLASS-HOURS".to_owned()));
    // Nothing refused was stored.
    let listed = app.client().await.list_classes(authed(ListClassesRequest::default(), &app.admin())).await;
    assert_eq!(listed.expect("listed").into_inner().classes.len(), 1);

    // Requests are validated naming every bad field.
    let mut bad = on((2027, 5, 1), (2027, 5, 30));
    bad.mode = 0;
    let mut roster = people(10, 2);
    roster[1].id_number = fixtures_wrong(&roster[1].id_number);
    let refused = app.file(bad, roster).await.expect_err("invalid");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&refused), ["class.mode", "roster[1].id_number"]);
    // A project that is not the caller's, or does not exist, as selection says.
    let (other, other_project) = app.approved_project("0000002", 10, 100).await;
    let theirs = app.file(class_of(&other_project, (2027, 5, 1), (2027, 5, 30)), people(10, 2)).await;
    assert_eq!(refusal(theirs).0, Code::PermissionDenied);
    let by_them = app.file_as(&app.provider_of(&other), on((2027, 5, 1), (2027, 5, 30)), people(10, 2)).await;
    assert_eq!(refusal(by_them).0, Code::PermissionDenied);
    let nowhere = app.file(class_of("projects/0000", (2027, 5, 1), (2027, 5, 30)), people(10, 2)).await;
    assert_eq!(refusal(nowhere).0, Code::NotFound, "selection's NOT_FOUND keeps its code");
}

fn fixtures_wrong(valid: &str) -> String {
    qiancheng_testkit::fixtures::with_wrong_check(valid)
}

async fn all_classes_of_a_project_stay_within_its_approved_headcount(app: &App) {
    let (provider, project) = app.approved_project("0000003", 10, 100).await;
    let token = app.provider_of(&provider);
    let first = app.file_as(&token, class_of(&project, (2027, 3, 1), (2027, 3, 31)), people(100, 6)).await;
    assert!(first.is_ok());
    // Exactly the approved 10 over both classes passes.
    let second = app.file_as(&token, class_of(&project, (2027, 4, 1), (2027, 4, 30)), people(106, 4)).await;
    let second = second.expect("10 of 10").class.expect("class");
    let third = app.file_as(&token, class_of(&project, (2027, 5, 1), (2027, 5, 30)), people(110, 1)).await;
    assert_eq!(refusal(third), (Code::FailedPrecondition, "CLASS-HEADCOUNT".to_owned()));
    // A roster addition counts too.
    let added = app
        .client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: second.name.clone(),
                add: Some(person(111)),
                reason: "补录".into(),
                ..Default::default()
            },
            &token,
        ))
        .await;
    assert_eq!(refusal(added), (Code::FailedPrecondition, "CLASS-HEADCOUNT".to_owned()));
    // A removal frees a place.
    let roster = app.trainees(&second.name).await;
    app.client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: second.name.clone(),
                remove: roster[0].name.clone(),
                reason: "本人放弃".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("removed");
    let third = app.file_as(&token, class_of(&project, (2027, 5, 1), (2027, 5, 30)), people(110, 1)).await;
    assert!(third.is_ok(), "{third:?}");
}

async fn roster_entries_are_refused_by_their_rules(app: &App) {
    let overlapping = app.filed((2027, 3, 1), (2027, 4, 30), people(0, 2)).await;
    let mut roster = vec![
        person(10),
        // ELIG-AGE: 15 on the first day (16 the day after).
        person_born("20110402", 11),
        // ELIG-AGE: a man past his retirement age (born 1962: 60, reached in 2022).
        person_born("19620101", 13),
        // ELIG-OVERLAP: on the earlier class of overlapping dates.
        person(0),
        // ELIG-FISCAL: paid from the public budget.
        TraineeInput { budget_paid: true, ..person(14) },
        // ELIG-LOCAL: no basis recorded (edition 2).
        TraineeInput { local_basis: 0, ..person(15) },
        // Twice on one roster.
        person(10),
    ];
    roster.push(person_born("20110401", 16));
    let filed = app.file(class_of(&app.project, (2027, 4, 1), (2027, 5, 30)), roster).await.expect("filed");
    let refused: Vec<(i32, &str)> = filed.refused.iter().map(|r| (r.index, r.reason.as_str())).collect();
    assert_eq!(
        refused,
        [
            (1, "ELIG-AGE"),
            (2, "ELIG-AGE"),
            (3, "ELIG-OVERLAP"),
            (4, "ELIG-FISCAL"),
            (5, "ELIG-LOCAL"),
            (6, "ROSTER_DUPLICATE")
        ]
    );
    // 16 exactly on the first day is of working age.
    assert_eq!(filed.trainees.len(), 2);
    assert!(filed.refused.iter().all(|r| r.id_number.contains("********")), "refusals show masked numbers");
    let age = filed.refused[0].decision.clone().expect("decision");
    assert!(age.rules.iter().any(|r| r.code == "ELIG-AGE" && !r.passed && r.reason_zh.contains("未满16周岁")));
    // ELIG-OVERLAP as the provider reads it: an overlapping class filed earlier, never that class's
    // dates (2027-03-01 to 2027-04-30) or provider; the refused decision's reason likewise.
    let overlap = &filed.refused[2];
    assert!(!overlap.message.contains("2027-03-01") && !overlap.message.contains("2027-04-30"), "{}", overlap.message);
    assert!(overlap.message.contains("overlapping class filed earlier"), "{}", overlap.message);
    let shown = overlap.decision.clone().expect("decision");
    let rule = shown.rules.iter().find(|r| r.code == "ELIG-OVERLAP").expect("ELIG-OVERLAP");
    assert!(!rule.passed && rule.reason_zh.contains("先于本班备案") && !rule.reason_zh.contains("2027-0"), "{rule:?}");
    let class = filed.class.expect("class");
    assert_eq!(class.roster_size, 2);
    // ELIG-AGE: the retirement date follows from the birth date, so an auditor (who sees ID numbers
    // masked) reads the age without it; the city reads it whole.
    let eligibility_as = |token: String| {
        let class = class.name.clone();
        async move {
            let listed = app
                .client()
                .await
                .list_trainees(authed(ListTraineesRequest { class, page_size: 10, ..Default::default() }, &token))
                .await
                .expect("the roster is read")
                .into_inner();
            let rules = listed.trainees[0].eligibility.clone().expect("eligibility").rules;
            rules.into_iter().find(|r| r.code == "ELIG-AGE").expect("ELIG-AGE")
        }
    };
    let whole = eligibility_as(app.admin()).await;
    assert!(whole.passed && whole.reason_en.contains("retirement age of"), "{whole:?}");
    let told = eligibility_as(app.auditor()).await;
    assert!(told.passed && told.reason_en.contains("of working age"), "{told:?}");
    assert!(!told.reason_en.contains('-'), "no date for an auditor: {told:?}");
    assert!(!told.reason_zh.contains("达到"), "{told:?}");

    // The same rules refuse a roster change, with the code and reason a client sees.
    let add = |input: TraineeInput| {
        let class = class.name.clone();
        async move {
            app.client()
                .await
                .change_roster(authed(
                    ChangeRosterRequest { class, add: Some(input), reason: "补录".into(), ..Default::default() },
                    &app.provider_token(),
                ))
                .await
        }
    };
    assert_eq!(refusal(add(person_born("20110402", 21)).await), (Code::FailedPrecondition, "ELIG-AGE".to_owned()));
    let refused_overlap = add(person(1)).await.expect_err("refused");
    assert_eq!(
        (refused_overlap.code(), reason(&refused_overlap)),
        (Code::FailedPrecondition, "ELIG-OVERLAP".to_owned())
    );
    assert!(!refused_overlap.message().contains("2027-03-01"), "no other class's dates: {}", refused_overlap.message());
    let fiscal = add(TraineeInput { budget_paid: true, ..person(22) }).await;
    assert_eq!(refusal(fiscal), (Code::FailedPrecondition, "ELIG-FISCAL".to_owned()));
    let local = add(TraineeInput { local_basis: 0, ..person(23) }).await;
    assert_eq!(refusal(local), (Code::FailedPrecondition, "ELIG-LOCAL".to_owned()));
    assert_eq!(refusal(add(person(10)).await), (Code::AlreadyExists, "ROSTER_DUPLICATE".to_owned()));
    let mut bad = person(24);
    bad.id_number = fixtures_wrong(&bad.id_number);
    let invalid = add(bad).await.expect_err("invalid");
    assert_eq!((invalid.code(), reason(&invalid)), (Code::InvalidArgument, "PERSON-ID".to_owned()));
    assert_eq!(bad_fields(&invalid), ["add.id_number"]);
    assert_eq!(overlapping.roster_size, 2);

    // Values the rules name are refused at the edge with their rule: no target group (ELIG-GROUP),
    // an unknown local basis (ELIG-LOCAL), an unknown key-project library (ELIG-PREHIRE),
    // negative hours (CLASS-HOURS).
    let no_group = add(TraineeInput { target_group: 0, ..person(25) }).await;
    assert_eq!(refusal(no_group), (Code::InvalidArgument, "ELIG-GROUP".to_owned()));
    let no_basis = add(TraineeInput { local_basis: 99, ..person(26) }).await;
    assert_eq!(refusal(no_basis), (Code::InvalidArgument, "ELIG-LOCAL".to_owned()));
    let mut library = class_of(&app.project, (2027, 6, 1), (2027, 6, 30));
    library.key_project = Some(KeyProject {
        enterprise: "嘉鱼重工".into(),
        library: 99,
        manufacturing: true,
        expected_production_on: Some(date(2027, 9, 1)),
    });
    assert_eq!(refusal(app.file(library, people(30, 1)).await), (Code::InvalidArgument, "ELIG-PREHIRE".to_owned()));
    let mut negative = class_of(&app.project, (2027, 6, 1), (2027, 6, 30));
    negative.theory_hours = -1;
    assert_eq!(refusal(app.file(negative, people(30, 1)).await), (Code::InvalidArgument, "CLASS-HOURS".to_owned()));
}

async fn a_prehire_class_records_elig_prehire_without_refusing_the_trainee(app: &App) {
    let mut class = class_of(&app.project, (2027, 3, 1), (2027, 4, 30));
    class.key_project = Some(KeyProject {
        enterprise: "嘉鱼重工装备有限公司".into(),
        library: KeyProjectLibrary::City as i32,
        manufacturing: true,
        expected_production_on: Some(date(2027, 9, 1)),
    });
    let roster = vec![TraineeInput { prehire_enterprise: "嘉鱼重工装备有限公司".into(), ..person(0) }];
    let filed = app.file(class, roster).await.expect("filed");
    assert!(filed.refused.is_empty());
    let trainee = &filed.trainees[0];
    // ELIG-GROUP by precedence: a pre-hire class's trainee is 项目企业拟招聘对象.
    assert_eq!(trainee.judged_group, TargetGroup::ProjectEnterpriseRecruit as i32);
    let eligibility = trainee.eligibility.clone().expect("decision");
    // ELIG-PREHIRE: subsidised only once hired; recorded, not a reason to keep them off the roster.
    assert!(eligibility.rules.iter().any(|r| r.code == "ELIG-PREHIRE" && !r.passed));
    assert!(!eligibility.outcome);
    let shown = filed.class.expect("class").key_project.expect("key project");
    assert_eq!(shown.library, KeyProjectLibrary::City as i32);
}

async fn a_person_completed_in_an_occupation_and_level_is_refused_by_elig_once(app: &App) {
    let first = app.filed((2027, 1, 4), (2027, 1, 29), people(0, 1)).await;
    app.acknowledge(&first.name).await;
    // The whole 100 hours in January, as filed: 40 of theory, then 60 of practice, all attended.
    let january: Vec<_> = hundred_hours()
        .into_iter()
        .map(|(d, hours, kind)| (day(2027, 1, chrono::Datelike::day(&d) + 3), hours, kind))
        .collect();
    let sessions = app.schedule(&first.name, &january).await;
    let trainee = app.trainees(&first.name).await.remove(0);
    app.set_today(2027, 1, 29);
    let mut events = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let held = s.held_on.expect("day");
        let when = at(held.year, u32::try_from(held.month).expect("m"), u32::try_from(held.day).expect("d"), 8);
        events.push(check_in(&format!("e{i}"), &s.name, &trainee.name, when));
    }
    app.stream(vec![StreamAttendanceRequest { class: first.name.clone(), events }]).await;
    app.client()
        .await
        .record_assessments(authed(
            RecordAssessmentsRequest {
                class: first.name.clone(),
                results: vec![TraineeAssessment {
                    trainee: trainee.name.clone(),
                    result: AssessmentResult::Passed as i32,
                }],
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("assessed");
    let etag = app.class(&first.name).await.etag;
    let completed = app
        .client()
        .await
        .complete_class(authed(
            CompleteClassRequest { name: first.name.clone(), etag, request_id: String::new() },
            &app.provider_token(),
        ))
        .await
        .expect("completed")
        .into_inner();
    assert_eq!(completed.trainees[0].state, TraineeState::Completed as i32);
    // ELIG-ONCE: the same occupation and level again, in a later class.
    app.set_today(2027, 2, 1);
    let again = app.file(class_of(&app.project, (2027, 3, 1), (2027, 4, 30)), vec![person(0), person(1)]).await;
    let again = again.expect("filed");
    assert_eq!(again.refused.len(), 1);
    assert_eq!(again.refused[0].reason, "ELIG-ONCE");
    let added = app
        .client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: again.class.expect("class").name,
                add: Some(person(0)),
                reason: "补录".into(),
                ..Default::default()
            },
            &app.provider_token(),
        ))
        .await;
    assert_eq!(refusal(added), (Code::FailedPrecondition, "ELIG-ONCE".to_owned()));
}

async fn a_disqualified_provider_cannot_file(app: &App) {
    app.selection_client()
        .await
        .disqualify_provider(authed(
            sel::DisqualifyProviderRequest {
                provider: format!("providers/{}", app.provider),
                misconduct: sel::MisconductKind::Fraud as i32,
                finding: "虚报学员出勤".into(),
                ..Default::default()
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("disqualified");
    let refused = app.file(class_of(&app.project, (2027, 3, 1), (2027, 4, 30)), people(0, 3)).await;
    assert_eq!(refusal(refused), (Code::FailedPrecondition, "PROV-DISQUALIFIED".to_owned()));
}

async fn the_roster_locks_on_the_first_day_and_keeps_every_version(app: &App) {
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people(0, 3)).await;
    let provider = app.provider_token();
    let change = |request: ChangeRosterRequest| {
        let token = provider.clone();
        async move { app.client().await.change_roster(authed(request, &token)).await.map(tonic::Response::into_inner) }
    };
    // Before the first day changes apply at once, each a version.
    let added = change(ChangeRosterRequest {
        class: class.name.clone(),
        add: Some(person(3)),
        reason: "补报名".into(),
        ..Default::default()
    })
    .await
    .expect("added");
    let added_change = added.change.expect("change");
    assert_eq!((added_change.state, added_change.roster_version), (RosterChangeState::Applied as i32, 2));
    let first = app.trainees(&class.name).await.into_iter().find(|t| t.added_in_version == 1).expect("a trainee");
    let removed = change(ChangeRosterRequest {
        class: class.name.clone(),
        remove: first.name.clone(),
        reason: "本人放弃".into(),
        ..Default::default()
    })
    .await
    .expect("removed");
    assert_eq!(removed.change.expect("change").roster_version, 3);
    let neither =
        change(ChangeRosterRequest { class: class.name.clone(), reason: "x".into(), ..Default::default() }).await;
    assert_eq!(refusal(neither).0, Code::InvalidArgument);
    let no_reason =
        change(ChangeRosterRequest { class: class.name.clone(), add: Some(person(9)), ..Default::default() }).await;
    assert_eq!(refusal(no_reason).0, Code::InvalidArgument);

    // Every version can be read back.
    let at_version = |version: i32| {
        let class = class.name.clone();
        async move {
            app.client()
                .await
                .list_trainees(authed(
                    ListTraineesRequest { class, roster_version: version, ..Default::default() },
                    &app.auditor(),
                ))
                .await
                .map(|r| r.into_inner().trainees.len())
        }
    };
    assert_eq!(at_version(1).await.expect("v1"), 3);
    assert_eq!(at_version(2).await.expect("v2"), 4);
    assert_eq!(at_version(3).await.expect("v3"), 3);
    assert_eq!(at_version(0).await.expect("now"), 3);
    assert_eq!(refusal(at_version(4).await), (Code::InvalidArgument, "ROSTER_VERSION".to_owned()));
    // Paging through a roster.
    let page = app
        .client()
        .await
        .list_trainees(authed(
            ListTraineesRequest { class: class.name.clone(), page_size: 2, ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("page")
        .into_inner();
    assert_eq!(page.trainees.len(), 2);
    let rest = app
        .client()
        .await
        .list_trainees(authed(
            ListTraineesRequest {
                class: class.name.clone(),
                page_size: 2,
                page_token: page.next_page_token,
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect("page")
        .into_inner();
    assert_eq!((rest.trainees.len(), rest.next_page_token.as_str()), (1, ""));

    // From the first day the roster is locked: changes wait for an officer.
    app.set_today(2027, 3, 1);
    let proposed = change(ChangeRosterRequest {
        class: class.name.clone(),
        add: Some(person(4)),
        reason: "首日补录".into(),
        ..Default::default()
    })
    .await
    .expect("proposed");
    let pending = proposed.change.expect("change");
    assert_eq!(pending.state, RosterChangeState::Pending as i32);
    assert_eq!(proposed.trainee.expect("trainee").state, TraineeState::Proposed as i32);
    assert_eq!(app.trainees(&class.name).await.len(), 3, "not on the roster until approved");
    let decide = |name: String, etag: String, approve: bool, token: String| async move {
        app.client()
            .await
            .decide_roster_change(authed(
                DecideRosterChangeRequest { name, etag, approve, note: "经核实".into(), request_id: String::new() },
                &token,
            ))
            .await
            .map(tonic::Response::into_inner)
    };
    // The provider, another county's officer and a stale etag are refused.
    let own = decide(pending.name.clone(), String::new(), true, provider.clone()).await;
    assert_eq!(refusal(own).0, Code::PermissionDenied);
    let other = decide(pending.name.clone(), String::new(), true, app.officer(OTHER_COUNTY)).await;
    assert_eq!(refusal(other).0, Code::PermissionDenied);
    let stale = decide(pending.name.clone(), "99".into(), true, app.officer(COUNTY)).await;
    assert_eq!(refusal(stale), (Code::Aborted, "ETAG_MISMATCH".to_owned()));
    let approved =
        decide(pending.name.clone(), pending.etag.clone(), true, app.officer(COUNTY)).await.expect("approved");
    let approved_change = approved.change.expect("change");
    assert_eq!((approved_change.state, approved_change.roster_version), (RosterChangeState::Applied as i32, 4));
    let late = approved.trainee.expect("trainee");
    assert_eq!((late.state, late.added_in_version), (TraineeState::Active as i32, 4));
    // ELIG-REALNAME: added once the class had started; the decision says so for the subsidy.
    assert!(late.eligibility.expect("decision").rules.iter().any(|r| r.code == "ELIG-REALNAME" && !r.passed));
    let twice = decide(pending.name.clone(), String::new(), true, app.officer(COUNTY)).await;
    assert_eq!(refusal(twice), (Code::FailedPrecondition, "ROSTER_CHANGE_STATE".to_owned()));

    // A removal waits, a second one for the same trainee is refused, an officer rejects it.
    let roster = app.trainees(&class.name).await;
    let removal = change(ChangeRosterRequest {
        class: class.name.clone(),
        remove: roster[0].name.clone(),
        reason: "请假".into(),
        ..Default::default()
    })
    .await
    .expect("proposed")
    .change
    .expect("change");
    let again = change(ChangeRosterRequest {
        class: class.name.clone(),
        remove: roster[0].name.clone(),
        reason: "请假".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(refusal(again), (Code::FailedPrecondition, "ROSTER_CHANGE_PENDING".to_owned()));
    let rejected = decide(removal.name.clone(), String::new(), false, app.admin()).await.expect("rejected");
    assert_eq!(rejected.change.expect("change").state, RosterChangeState::Rejected as i32);
    assert_eq!(app.trainees(&class.name).await.len(), 4);
    assert_eq!(app.class(&class.name).await.roster_version, 4);

    let listed = |state: RosterChangeState| {
        let class = class.name.clone();
        async move {
            app.client()
                .await
                .list_roster_changes(authed(
                    ListRosterChangesRequest { class, state: state as i32, ..Default::default() },
                    &app.officer(COUNTY),
                ))
                .await
                .expect("listed")
                .into_inner()
                .changes
        }
    };
    assert_eq!(listed(RosterChangeState::Unspecified).await.len(), 4);
    assert_eq!(listed(RosterChangeState::Applied).await.len(), 3);
    assert_eq!(listed(RosterChangeState::Rejected).await.len(), 1);
    assert!(listed(RosterChangeState::Pending).await.is_empty());
}

async fn a_class_is_acknowledged_stopped_and_its_trainees_withdraw(app: &App) {
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people(0, 3)).await;
    let acknowledge = |token: String, etag: String| {
        let name = class.name.clone();
        async move {
            app.client()
                .await
                .acknowledge_class(authed(AcknowledgeClassRequest { name, etag, request_id: String::new() }, &token))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    assert_eq!(refusal(acknowledge(app.provider_token(), String::new()).await).0, Code::PermissionDenied);
    assert_eq!(refusal(acknowledge(app.officer(OTHER_COUNTY), String::new()).await).0, Code::PermissionDenied);
    assert_eq!(refusal(acknowledge(app.officer(COUNTY), "7".into()).await).0, Code::Aborted);
    let acknowledged = acknowledge(app.officer(COUNTY), class.etag.clone()).await.expect("acknowledged");
    let acknowledged = acknowledged.class.expect("class");
    assert_eq!(acknowledged.state, ClassState::Acknowledged as i32);
    assert!(acknowledged.acknowledged_by.contains("county_officer") && acknowledged.acknowledged_micros > 0);
    assert_eq!(
        refusal(acknowledge(app.officer(COUNTY), String::new()).await),
        (Code::FailedPrecondition, "CLASS_STATE".to_owned())
    );

    // A withdrawal is on a day of the class, not before it.
    let trainee = app.trainees(&class.name).await.remove(0);
    let terminate = |on: Option<qiancheng_api::types::Date>, reason: &str| {
        let request = TerminateTraineeRequest {
            name: trainee.name.clone(),
            reason: reason.into(),
            terminated_on: on,
            ..Default::default()
        };
        async move { app.client().await.terminate_trainee(authed(request, &app.provider_token())).await }
    };
    assert_eq!(refusal(terminate(None, "家中有事").await), (Code::InvalidArgument, "TERMINATION_DATE".to_owned()));
    app.set_today(2027, 3, 10);
    assert_eq!(refusal(terminate(Some(date(2027, 3, 11)), "家中有事").await).0, Code::InvalidArgument);
    assert_eq!(refusal(terminate(None, "").await).0, Code::InvalidArgument);
    let withdrawn = terminate(Some(date(2027, 3, 9)), "家中有事").await.expect("withdrawn").into_inner();
    let withdrawn = withdrawn.trainee.expect("trainee");
    assert_eq!((withdrawn.state, withdrawn.terminated_on), (TraineeState::Withdrawn as i32, Some(date(2027, 3, 9))));
    assert_eq!(refusal(terminate(None, "again").await), (Code::FailedPrecondition, "TRAINEE_STATE".to_owned()));

    // Stopping needs a reason; a stopped class changes no more.
    let stop = |token: String, reason: &str| {
        let request = StopClassRequest { name: class.name.clone(), reason: reason.into(), ..Default::default() };
        async move { app.client().await.stop_class(authed(request, &token)).await.map(tonic::Response::into_inner) }
    };
    assert_eq!(refusal(stop(app.provider_token(), "").await).0, Code::InvalidArgument);
    assert_eq!(refusal(stop(app.auditor(), "生源不足").await).0, Code::PermissionDenied);
    let stopped = stop(app.provider_token(), "生源不足").await.expect("stopped").class.expect("class");
    assert_eq!((stopped.state, stopped.stopped_on), (ClassState::Stopped as i32, Some(date(2027, 3, 10))));
    assert_eq!(refusal(stop(app.officer(COUNTY), "again").await), (Code::FailedPrecondition, "CLASS_STATE".to_owned()));
    let change = app
        .client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: class.name.clone(),
                add: Some(person(8)),
                reason: "x".into(),
                ..Default::default()
            },
            &app.provider_token(),
        ))
        .await;
    assert_eq!(refusal(change), (Code::FailedPrecondition, "CLASS_STATE".to_owned()));
}

async fn each_role_sees_and_does_only_what_is_its_own(app: &App) {
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people(0, 2)).await;
    let (other_provider, _) = app.approved_project("0000004", 10, 100).await;
    // Another provider and another county's officer see none of it.
    for token in [app.provider_of(&other_provider), app.officer(OTHER_COUNTY)] {
        let listed = app.client().await.list_classes(authed(ListClassesRequest::default(), &token)).await;
        assert!(listed.expect("listed").into_inner().classes.is_empty());
        let read = app.client().await.get_class(authed(GetClassRequest { name: class.name.clone() }, &token)).await;
        assert_eq!(refusal(read).0, Code::PermissionDenied);
        let missing =
            app.client().await.get_class(authed(GetClassRequest { name: "classes/none".into() }, &token)).await;
        assert_eq!(refusal(missing).0, Code::PermissionDenied, "permission before existence");
        let roster = app
            .client()
            .await
            .list_trainees(authed(ListTraineesRequest { class: class.name.clone(), ..Default::default() }, &token))
            .await;
        assert_eq!(refusal(roster).0, Code::PermissionDenied);
        let ledger = app.ledger(&class.name, &token).await;
        assert_eq!(refusal(ledger).0, Code::PermissionDenied);
    }
    // Experts, enterprises, finance officers, other departments and services read nothing here.
    for role in [Role::Expert, Role::Enterprise, Role::FinanceOfficer, Role::DataExchange, Role::Service] {
        let token = app.token(role);
        let read = app.client().await.get_class(authed(GetClassRequest { name: class.name.clone() }, &token)).await;
        assert_eq!(refusal(read).0, Code::PermissionDenied, "{role}");
        let listed = app.client().await.list_classes(authed(ListClassesRequest::default(), &token)).await;
        assert_eq!(refusal(listed).0, Code::PermissionDenied, "{role}");
        let filed = app.file_as(&token, class_of(&app.project, (2027, 5, 1), (2027, 5, 30)), people(5, 1)).await;
        assert_eq!(refusal(filed).0, Code::PermissionDenied, "{role}");
    }
    // Officers and the city do not file; auditors change nothing.
    for token in [app.officer(COUNTY), app.admin(), app.auditor()] {
        let filed = app.file_as(&token, class_of(&app.project, (2027, 5, 1), (2027, 5, 30)), people(5, 1)).await;
        assert_eq!(refusal(filed).0, Code::PermissionDenied);
    }
    let stop = app
        .client()
        .await
        .stop_class(authed(
            StopClassRequest { name: class.name.clone(), reason: "x".into(), ..Default::default() },
            &app.auditor(),
        ))
        .await;
    assert_eq!(refusal(stop).0, Code::PermissionDenied);
    // The other provider may not stop or change this class.
    let stop = app
        .client()
        .await
        .stop_class(authed(
            StopClassRequest { name: class.name.clone(), reason: "x".into(), ..Default::default() },
            &app.provider_of(&other_provider),
        ))
        .await;
    assert_eq!(refusal(stop).0, Code::PermissionDenied);
    let change = app
        .client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: class.name.clone(),
                add: Some(person(9)),
                reason: "x".into(),
                ..Default::default()
            },
            &app.provider_of(&other_provider),
        ))
        .await;
    assert_eq!(refusal(change).0, Code::PermissionDenied);
    // The audit chain is intact and verifiable by the city and auditors only.
    for token in [app.admin(), app.auditor()] {
        let report = app
            .client()
            .await
            .verify_audit_chain(authed(VerifyAuditChainRequest {}, &token))
            .await
            .expect("verified")
            .into_inner()
            .report
            .expect("report");
        assert!(report.intact && report.rows_checked > 0);
    }
    let verify = app.client().await.verify_audit_chain(authed(VerifyAuditChainRequest {}, &app.provider_token())).await;
    assert_eq!(refusal(verify).0, Code::PermissionDenied);
}

async fn a_repeated_request_id_files_once(app: &App) {
    let request = CreateClassRequest {
        class: Some(class_of(&app.project, (2027, 3, 1), (2027, 4, 30))),
        roster: people(0, 2),
        request_id: "filing-1".into(),
    };
    let first = app.client().await.create_class(authed(request.clone(), &app.provider_token())).await.expect("filed");
    let again =
        app.client().await.create_class(authed(request.clone(), &app.provider_token())).await.expect("replayed");
    assert_eq!(first.into_inner().class.expect("class").name, again.into_inner().class.expect("class").name);
    let listed = app.client().await.list_classes(authed(ListClassesRequest::default(), &app.admin())).await;
    assert_eq!(listed.expect("listed").into_inner().classes.len(), 1);
    let other = CreateClassRequest { roster: people(5, 1), ..request };
    let reused = app.client().await.create_class(authed(other, &app.provider_token())).await;
    assert_eq!(refusal(reused), (Code::AlreadyExists, "REQUEST_ID_REUSED".to_owned()));
}

backend_tests!(start =>
    a_class_is_filed_with_its_roster_and_what_selection_said,
    class_filing_is_refused_by_its_rules,
    all_classes_of_a_project_stay_within_its_approved_headcount,
    roster_entries_are_refused_by_their_rules,
    a_prehire_class_records_elig_prehire_without_refusing_the_trainee,
    a_person_completed_in_an_occupation_and_level_is_refused_by_elig_once,
    a_disqualified_provider_cannot_file,
    the_roster_locks_on_the_first_day_and_keeps_every_version,
    a_class_is_acknowledged_stopped_and_its_trainees_withdraw,
    each_role_sees_and_does_only_what_is_its_own,
    a_repeated_request_id_files_once,
);
