//! The standards table (SUBS-STANDARD) and uplift policies (SUBS-UPLIFT) over the subsidy
//! service's API, on SQLite and PostgreSQL, with the real selection service as its peer.

mod common;

use common::*;
use qiancheng_api::subsidy::*;
use qiancheng_api::types::SkillLevel;
use tonic::Code;

fn welder_row(standard_fen: i64, from: (i32, u32, u32), source: StandardSource, document: &str) -> Standard {
    Standard {
        occupation_code: WELDER.into(),
        occupation_name: "焊工".into(),
        skill_level: SkillLevel::SkillLevel5 as i32,
        standard_fen,
        source: source as i32,
        document_number: document.into(),
        effective_from: Some(date(from.0, from.1, from.2)),
        ..Default::default()
    }
}

async fn create(app: &App, standard: Standard, token: &str) -> Result<Standard, tonic::Status> {
    app.client()
        .await
        .create_standard(authed(CreateStandardRequest { standard: Some(standard), request_id: String::new() }, token))
        .await
        .map(|r| r.into_inner().standard.expect("standard"))
}

async fn lookup(app: &App, on: (i32, u32, u32)) -> Result<Standard, tonic::Status> {
    app.client()
        .await
        .get_standard_in_force(authed(
            GetStandardInForceRequest {
                occupation_code: WELDER.into(),
                skill_level: SkillLevel::SkillLevel5 as i32,
                on: Some(date(on.0, on.1, on.2)),
            },
            &app.officer(COUNTY),
        ))
        .await
        .map(|r| r.into_inner().standard.expect("standard"))
}

async fn a_new_figure_is_a_new_row_and_the_old_one_ends_the_day_before(app: &App) {
    let admin = app.admin();
    let first =
        create(app, welder_row(300_000, (2025, 1, 1), StandardSource::Provincial, ""), &admin).await.expect("stored");
    assert_eq!(first.effective_to, None);
    let second =
        create(app, welder_row(320_000, (2026, 7, 1), StandardSource::CityReference, "咸人社发〔2026〕12号"), &admin)
            .await
            .expect("stored");
    assert_eq!(second.standard_fen, 320_000);
    // The row for a day is the one in force on it; the older one ended the day before.
    let before = lookup(app, (2026, 6, 30)).await.expect("in force");
    assert_eq!((before.standard_fen, before.effective_to), (300_000, Some(date(2026, 6, 30))));
    assert_eq!(lookup(app, (2026, 7, 1)).await.expect("in force").standard_fen, 320_000);
    // Before the first row: no standard, no subsidy, with that reason.
    let none = lookup(app, (2024, 12, 31)).await.expect_err("no standard");
    assert_eq!((none.code(), reason(&none)), (Code::FailedPrecondition, "SUBS-STANDARD".to_owned()));
    // A row is never edited: the same occupation, level and day again is refused.
    let again =
        create(app, welder_row(1, (2025, 1, 1), StandardSource::Provincial, ""), &admin).await.expect_err("exists");
    assert_eq!((again.code(), reason(&again)), (Code::AlreadyExists, "STANDARD_EXISTS".to_owned()));
    let listed = app
        .client()
        .await
        .list_standards(authed(
            ListStandardsRequest { occupation_code: WELDER.into(), ..Default::default() },
            &app.auditor(),
        ))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.standards.len(), 2);
}

async fn a_local_standard_names_its_document_and_only_the_city_keeps_the_table(app: &App) {
    let refused = create(app, welder_row(300_000, (2025, 1, 1), StandardSource::GovernmentConsent, " "), &app.admin())
        .await
        .expect_err("no document");
    assert_eq!((refused.code(), reason(&refused)), (Code::InvalidArgument, "SUBS-STANDARD".to_owned()));
    assert_eq!(bad_fields(&refused), vec!["standard.document_number".to_owned()]);
    let denied = create(app, welder_row(300_000, (2025, 1, 1), StandardSource::Provincial, ""), &app.officer(COUNTY))
        .await
        .expect_err("an officer");
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Zero yuan is not a standard; the boundary of one fen is.
    let zero =
        create(app, welder_row(0, (2025, 1, 1), StandardSource::Provincial, ""), &app.admin()).await.expect_err("0");
    assert_eq!(reason(&zero), "SUBS-STANDARD");
    create(app, welder_row(1, (2025, 1, 1), StandardSource::Provincial, ""), &app.admin()).await.expect("one fen");
}

async fn an_import_answers_each_row_and_keeps_the_good_ones(app: &App) {
    let row = |fen: i64, level: SkillLevel, source: StandardSource, doc: &str| StandardRow {
        occupation_code: WELDER.into(),
        occupation_name: "焊工".into(),
        skill_level: level as i32,
        standard_fen: fen,
        source: source as i32,
        document_number: doc.into(),
        effective_from: Some(date(2025, 1, 1)),
    };
    let rows = vec![
        row(300_000, SkillLevel::SkillLevel5, StandardSource::Provincial, ""),
        row(400_000, SkillLevel::SkillLevel4, StandardSource::CityReference, ""),
        row(0, SkillLevel::SkillLevel3, StandardSource::Provincial, ""),
        row(300_000, SkillLevel::SkillLevel5, StandardSource::Provincial, ""),
        StandardRow {
            occupation_code: "welder".into(),
            ..row(300_000, SkillLevel::SkillLevel3, StandardSource::Provincial, "")
        },
        row(450_000, SkillLevel::SkillLevel3, StandardSource::GovernmentConsent, "咸政函〔2025〕3号"),
    ];
    let response = app
        .client()
        .await
        .import_standards(authed(ImportStandardsRequest { rows, request_id: "import-1".into() }, &app.admin()))
        .await
        .expect("imported")
        .into_inner();
    let outcome: Vec<(bool, &str)> = response.results.iter().map(|r| (r.ok, r.reason.as_str())).collect();
    assert_eq!(
        outcome,
        vec![
            (true, ""),
            (false, "SUBS-STANDARD"),
            (false, "SUBS-STANDARD"),
            (false, "STANDARD_EXISTS"),
            (false, "OCCUPATION-CODE"),
            (true, ""),
        ]
    );
    assert_eq!((response.stored, response.refused), (2, 4));
    assert_eq!(response.results[1].field, "rows[1].document_number");
}

async fn uplift_policies_are_versioned_and_trainees_uplifts_stay_in_their_county(app: &App) {
    let admin = app.admin();
    let policy = |from: (i32, u32, u32), percent: i32| UpliftPolicy {
        code: "KEY-INDUSTRY".into(),
        display_name: "重点产业紧缺工种上浮".into(),
        document_number: "鄂人社发〔2025〕8号".into(),
        qualifies: "重点产业链企业紧缺工种学员".into(),
        percent,
        effective_from: Some(date(from.0, from.1, from.2)),
        ..Default::default()
    };
    let create = |p: UpliftPolicy| async {
        app.client()
            .await
            .create_uplift_policy(authed(
                CreateUpliftPolicyRequest { uplift_policy: Some(p), request_id: String::new() },
                &admin,
            ))
            .await
    };
    let v1 = create(policy((2025, 1, 1), 250)).await.expect("v1").into_inner().uplift_policy.expect("policy");
    assert_eq!((v1.version, v1.name.as_str()), (1, "upliftPolicies/KEY-INDUSTRY-v1"));
    let v2 = create(policy((2026, 1, 1), 300)).await.expect("v2").into_inner().uplift_policy.expect("policy");
    assert_eq!(v2.version, 2);
    let early = create(policy((2026, 1, 1), 300)).await.expect_err("not after v2");
    assert_eq!(reason(&early), "SUBS-UPLIFT");
    let over = create(policy((2027, 1, 1), 1001)).await.expect_err("over 1000%");
    assert_eq!(reason(&over), "SUBS-UPLIFT");

    let uplift = |trainee: &str, code: &str| TraineeUplift {
        project: app.project.clone(),
        trainee: trainee.into(),
        policy_code: code.into(),
        basis: "企业紧缺工种认定函".into(),
        ..Default::default()
    };
    let record = |u: TraineeUplift, token: String| async move {
        app.client()
            .await
            .record_trainee_uplift(authed(
                RecordTraineeUpliftRequest { trainee_uplift: Some(u), request_id: String::new() },
                &token,
            ))
            .await
    };
    let recorded = record(uplift("classes/C1/trainees/T1", "KEY-INDUSTRY"), app.officer(COUNTY))
        .await
        .expect("recorded")
        .into_inner()
        .trainee_uplift
        .expect("uplift");
    assert_eq!(recorded.region_code, COUNTY);
    let twice = record(uplift("classes/C1/trainees/T1", "KEY-INDUSTRY"), app.officer(COUNTY)).await.expect_err("twice");
    assert_eq!(reason(&twice), "TRAINEE_UPLIFT_EXISTS");
    let unknown = record(uplift("classes/C1/trainees/T2", "NO-SUCH"), app.officer(COUNTY)).await.expect_err("unknown");
    assert_eq!(reason(&unknown), "SUBS-UPLIFT");
    // Another county's officer may not record for this project, and sees none of its uplifts.
    let other =
        record(uplift("classes/C1/trainees/T2", "KEY-INDUSTRY"), app.officer(OTHER_COUNTY)).await.expect_err("other");
    assert_eq!(other.code(), Code::PermissionDenied);
    let missing = record(
        TraineeUplift { project: "projects/NOPE".into(), ..uplift("classes/C1/trainees/T2", "KEY-INDUSTRY") },
        app.officer(COUNTY),
    )
    .await
    .expect_err("no project");
    assert_eq!(missing.code(), Code::NotFound);
    let list = |token: String| async move {
        app.client()
            .await
            .list_trainee_uplifts(authed(
                ListTraineeUpliftsRequest { project: app.project.clone(), ..Default::default() },
                &token,
            ))
            .await
            .expect("listed")
            .into_inner()
            .trainee_uplifts
            .len()
    };
    assert_eq!(list(app.auditor()).await, 1);
    assert_eq!(list(app.officer(OTHER_COUNTY)).await, 0);
}

qiancheng_testkit::backend_tests!(start =>
    a_new_figure_is_a_new_row_and_the_old_one_ends_the_day_before,
    a_local_standard_names_its_document_and_only_the_city_keeps_the_table,
    an_import_answers_each_row_and_keeps_the_good_ones,
    uplift_policies_are_versioned_and_trainees_uplifts_stay_in_their_county,
);
