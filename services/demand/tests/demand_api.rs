//! The demand service through its generated client, on a real server on port 0, once on SQLite
//! and once on PostgreSQL (when `QIANCHENG_TEST_DATABASE_URL` is set).

use qiancheng_api::demand::*;
use qiancheng_api::types::{Date, Industry, SkillLevel};
use qiancheng_platform::auth::Role;
use qiancheng_testkit::{Keys, authed, backend_tests, fixtures, reason};
use sqlx::Row as _;
use tonic::Code;
use tonic_types::StatusExt as _;

mod common;

use common::*;

impl App {
    /// Files a draft welding vacancy of `credit_code` as `token`.
    async fn vacancy(&self, credit_code: &str, token: &str) -> Result<Vacancy, tonic::Status> {
        self.file(welder(credit_code), token).await
    }
}

fn bad_field(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .bad_request()
        .and_then(|b| b.field_violations.first().map(|f| f.field.clone()))
        .unwrap_or_default()
}

async fn health_and_reflection_answer_without_a_token(app: &App) {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let mut health = HealthClient::new(app.server.channel().await);
    for service in ["", SERVICE_NAME] {
        let status = health
            .check(HealthCheckRequest { service: service.into() })
            .await
            .expect("health answers")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?} is serving");
    }

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(app.server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses.message().await.expect("a response").expect("one message");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&SERVICE_NAME.to_owned()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");
    assert!(
        !names.contains(&"qiancheng.selection.v1.SelectionService".to_owned()),
        "only what this server serves is advertised: {names:?}"
    );
}

async fn a_call_without_a_token_is_unauthenticated(app: &App) {
    let error = app
        .client()
        .await
        .list_published_vacancies(ListPublishedVacanciesRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(error.code(), Code::Unauthenticated);
    let forged = format!("{}x", app.admin());
    let error = app
        .client()
        .await
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &forged))
        .await
        .expect_err("bad signature");
    assert_eq!(error.code(), Code::Unauthenticated);
    let stranger = Keys::new().token(Role::CityAdmin, Some("421200"), None);
    let error = app
        .client()
        .await
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &stranger))
        .await
        .expect_err("unknown key");
    assert_eq!(error.code(), Code::Unauthenticated);
}

async fn an_enterprise_files_updates_and_publishes_its_own_vacancy(app: &App) {
    let code = fixtures::uscc("91421221MA4QWN001");
    let token = app.enterprise(&code);
    let mut client = app.client().await;
    client
        .create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: code.clone(),
                    display_name: "嘉鱼重工有限公司".into(),
                    region_code: COUNTY.into(),
                    industry: Industry::EquipmentManufacturing as i32,
                    key_project: true,
                    key_project_name: "嘉鱼重型装备产业园".into(),
                    expected_production_date: Some(Date { year: 2026, month: 12, day: 1 }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("an enterprise registers itself");
    let draft = app.vacancy(&code, &token).await.expect("files its vacancy");
    assert_eq!(draft.state, VacancyState::Draft as i32);
    assert_eq!(draft.revision, 1);
    assert_eq!(draft.region_code, COUNTY);

    let updated = client
        .update_vacancy(authed(
            UpdateVacancyRequest {
                vacancy: Some(Vacancy {
                    name: draft.name.clone(),
                    etag: draft.etag.clone(),
                    headcount: 20,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["headcount".into()] }),
                reason: "扩产".into(),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("updates it")
        .into_inner()
        .vacancy
        .expect("vacancy");
    assert_eq!(updated.headcount, 20);
    assert_eq!(updated.post, draft.post, "fields outside the mask keep their values");

    let stale = client
        .update_vacancy(authed(
            UpdateVacancyRequest {
                vacancy: Some(Vacancy {
                    name: draft.name.clone(),
                    etag: draft.etag.clone(),
                    headcount: 30,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["headcount".into()] }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect_err("a stale etag");
    assert_eq!(stale.code(), Code::Aborted);

    client
        .publish_vacancy(authed(
            PublishVacancyRequest { name: draft.name.clone(), etag: updated.etag, ..Default::default() },
            &token,
        ))
        .await
        .expect("publishes it");
    let revisions = client
        .list_vacancy_revisions(authed(
            ListVacancyRevisionsRequest { name: draft.name.clone(), ..Default::default() },
            &token,
        ))
        .await
        .expect("history")
        .into_inner()
        .revisions;
    assert_eq!(revisions.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(), ["publish", "update", "create"]);
    assert_eq!(revisions[1].reason, "扩产");
    assert_eq!(revisions[2].vacancy.as_ref().expect("snapshot").headcount, 12, "the first revision keeps what it was");

    let board = client
        .list_published_vacancies(authed(
            ListPublishedVacanciesRequest::default(),
            &app.keys.token(Role::Provider, None, Some(&fixtures::uscc("52421221MJ0000001"))),
        ))
        .await
        .expect("anyone authenticated reads the board")
        .into_inner()
        .vacancies;
    assert_eq!(board.len(), 1);
    assert_eq!(board[0].headcount, 20);

    let filled_twice = client
        .publish_vacancy(authed(PublishVacancyRequest { name: draft.name.clone(), ..Default::default() }, &token))
        .await
        .expect_err("already published");
    assert_eq!(filled_twice.code(), Code::FailedPrecondition);
    assert_eq!(reason(&filled_twice), "VACANCY_STATE");
}

async fn an_enterprise_touching_another_enterprises_vacancy_is_denied(app: &App) {
    let owner = app.enterprise_in("QWN002", COUNTY).await;
    let other = app.enterprise_in("QTH003", COUNTY).await;
    let vacancy = app.vacancy(&owner, &app.enterprise(&owner)).await.expect("created");
    let intruder = app.enterprise(&other);
    let mut client = app.client().await;
    let get = client
        .get_vacancy(authed(GetVacancyRequest { name: vacancy.name.clone() }, &intruder))
        .await
        .expect_err("denied");
    assert_eq!(get.code(), Code::PermissionDenied);
    let publish = client
        .publish_vacancy(authed(PublishVacancyRequest { name: vacancy.name.clone(), ..Default::default() }, &intruder))
        .await
        .expect_err("denied");
    assert_eq!(publish.code(), Code::PermissionDenied);
    let file_for_other = app.vacancy(&owner, &intruder).await.expect_err("cannot file for another");
    assert_eq!(file_for_other.code(), Code::PermissionDenied);
    let listed = client
        .list_vacancies(authed(ListVacanciesRequest::default(), &intruder))
        .await
        .expect("lists its own")
        .into_inner()
        .vacancies;
    assert!(listed.is_empty(), "sees none of the other's vacancies");
    let worker_needs = client
        .list_worker_needs(authed(ListWorkerNeedsRequest::default(), &intruder))
        .await
        .expect_err("enterprises do not read workers' needs");
    assert_eq!(worker_needs.code(), Code::PermissionDenied);
    let untouched =
        client.get_vacancy(authed(GetVacancyRequest { name: vacancy.name }, &app.admin())).await.expect("exists");
    assert_eq!(untouched.into_inner().vacancy.expect("vacancy").state, VacancyState::Draft as i32);
}

async fn a_county_officer_sees_only_their_county(app: &App) {
    let here = app.enterprise_in("HER004", COUNTY).await;
    let vacancy = app.vacancy(&here, &app.admin()).await.expect("created");
    let outsider = app.officer(OTHER_COUNTY);
    let mut client = app.client().await;
    let error = client
        .get_vacancy(authed(GetVacancyRequest { name: vacancy.name.clone() }, &outsider))
        .await
        .expect_err("denied");
    assert_eq!(error.code(), Code::PermissionDenied);
    let listed =
        client.list_vacancies(authed(ListVacanciesRequest::default(), &outsider)).await.expect("list").into_inner();
    assert!(listed.vacancies.is_empty());
    let enterprises =
        client.list_enterprises(authed(ListEnterprisesRequest::default(), &outsider)).await.expect("list").into_inner();
    assert!(enterprises.enterprises.is_empty());
    let elsewhere = client
        .create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: fixtures::uscc("91421221MA4ELT005"),
                    display_name: "外县企业".into(),
                    region_code: COUNTY.into(),
                    industry: Industry::Other as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &outsider,
        ))
        .await
        .expect_err("cannot register in another county");
    assert_eq!(elsewhere.code(), Code::PermissionDenied);
    let probe = client
        .get_vacancy(authed(GetVacancyRequest { name: "vacancies/does-not-exist".into() }, &outsider))
        .await
        .expect_err("a scoped caller cannot tell a missing vacancy from another county's");
    assert_eq!(probe.code(), Code::PermissionDenied);
    let own = app.officer(COUNTY);
    let mine = client.get_vacancy(authed(GetVacancyRequest { name: vacancy.name }, &own)).await.expect("own county");
    assert_eq!(mine.into_inner().vacancy.expect("vacancy").enterprise_credit_code, here);
}

async fn a_bad_credit_code_is_invalid_naming_field_and_rule(app: &App) {
    let good = fixtures::uscc("91421221MA4BAD006");
    let error = app
        .client()
        .await
        .create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: fixtures::with_wrong_check(&good),
                    display_name: "坏代码公司".into(),
                    region_code: COUNTY.into(),
                    industry: Industry::Other as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.admin(),
        ))
        .await
        .expect_err("bad check character");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(reason(&error), "PROV-USCC");
    assert_eq!(bad_field(&error), "enterprise.credit_code");
    let listed = app
        .client()
        .await
        .list_enterprises(authed(ListEnterprisesRequest::default(), &app.admin()))
        .await
        .expect("list");
    assert!(listed.into_inner().enterprises.is_empty(), "nothing was stored");
}

async fn a_bad_id_number_is_invalid_naming_field_and_rule(app: &App) {
    let good = fixtures::id_number("42122119900307123");
    let error = app
        .client()
        .await
        .create_worker_need(authed(
            CreateWorkerNeedRequest {
                worker_need: Some(worker(&fixtures::with_wrong_check(&good), COUNTY)),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("bad check character");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(reason(&error), "PERSON-ID");
    assert_eq!(bad_field(&error), "worker_need.id_number");
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM worker_need").fetch_one(app.db.pool()).await.expect("count");
    assert_eq!(count, 0, "nothing was stored");

    let mut several = worker(&good, "421200");
    several.phone = "12345".into();
    let error = app
        .client()
        .await
        .create_worker_need(authed(
            CreateWorkerNeedRequest { worker_need: Some(several), request_id: String::new() },
            &app.admin(),
        ))
        .await
        .expect_err("two bad fields");
    let fields: Vec<String> = error
        .get_error_details()
        .bad_request()
        .expect("bad request")
        .field_violations
        .iter()
        .map(|f| f.field.clone())
        .collect();
    assert!(
        fields.contains(&"worker_need.phone".to_owned()) && fields.contains(&"worker_need.region_code".to_owned()),
        "{fields:?}"
    );
}

async fn a_repeated_request_id_creates_nothing_new(app: &App) {
    let code = app.enterprise_in("1DM007", COUNTY).await;
    let request = CreateVacancyRequest { vacancy: Some(welder(&code)), request_id: "retry-7f3a".into() };
    let mut client = app.client().await;
    let first = client.create_vacancy(authed(request.clone(), &app.admin())).await.expect("first").into_inner();
    let second = client.create_vacancy(authed(request.clone(), &app.admin())).await.expect("retry").into_inner();
    assert_eq!(first, second, "a retry returns the first response");
    let listed =
        client.list_vacancies(authed(ListVacanciesRequest::default(), &app.admin())).await.expect("list").into_inner();
    assert_eq!(listed.vacancies.len(), 1);

    let mut different = request;
    different.vacancy.as_mut().expect("vacancy").headcount = 99;
    let reused = client.create_vacancy(authed(different, &app.admin())).await.expect_err("same id, different request");
    assert_eq!(reused.code(), Code::AlreadyExists);
    assert_eq!(reason(&reused), "REQUEST_ID_REUSED");
    let listed =
        client.list_vacancies(authed(ListVacanciesRequest::default(), &app.admin())).await.expect("list").into_inner();
    assert_eq!(listed.vacancies.len(), 1);
}

async fn personal_data_is_encrypted_at_rest_and_masked_in_responses(app: &App) {
    let id = fixtures::id_number("42122119900307123");
    let need = app
        .client()
        .await
        .create_worker_need(authed(
            CreateWorkerNeedRequest { worker_need: Some(worker(&id, COUNTY)), request_id: "w-1".into() },
            &app.officer(COUNTY),
        ))
        .await
        .expect("recorded")
        .into_inner()
        .worker_need
        .expect("need");
    let person = need.person.expect("person");
    assert_eq!(person.id_number, format!("{}********{}", &id[..6], &id[14..]));
    assert_eq!(person.name, "张*丰");
    assert_eq!(person.phone, "138****1234");

    let duplicate = app
        .client()
        .await
        .create_worker_need(authed(
            CreateWorkerNeedRequest { worker_need: Some(worker(&id, COUNTY)), request_id: String::new() },
            &app.admin(),
        ))
        .await
        .expect_err("one need per person");
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(reason(&duplicate), "WORKER_NEED_EXISTS");

    // No text cell of any table holds the ID number, the name or the phone in plain text.
    for table in ["worker_need", "audit_log", "idempotency"] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(app.db.pool())
            .await
            .expect("rows");
        assert!(!rows.is_empty(), "{table} has rows");
        for row in rows {
            for i in 0..row.len() {
                if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                    for secret in [id.as_str(), "张三丰", "13807151234"] {
                        assert!(!text.contains(secret), "{table} column {i} holds {secret} in plain text");
                    }
                }
            }
        }
    }
    // On SQLite, the file itself (and its write-ahead log) never holds the number.
    if let Some(path) = app.database_url().strip_prefix("sqlite://").and_then(|u| u.split('?').next()) {
        for file in [path.to_owned(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                assert!(!bytes.windows(id.len()).any(|w| w == id.as_bytes()), "{file} holds the ID number");
            }
        }
    }
}

async fn import_keeps_good_rows_and_reports_bad_ones(app: &App) {
    let code = app.enterprise_in("1MP008", COUNTY).await;
    let mut bad = welder(&code);
    bad.occupation_code = "6-18-2-04".into();
    let row = |vacancy: Vacancy, row_ref: &str| ImportVacanciesRequest {
        vacancy: Some(vacancy),
        row_ref: row_ref.into(),
        request_id: format!("import-2026-11/{row_ref}"),
    };
    let rows =
        vec![row(welder(&code), "A2"), row(bad, "A3"), row(welder(&code), "A4"), row(welder(&code), &"长".repeat(65))];
    let import = |rows: Vec<ImportVacanciesRequest>| async {
        app.client()
            .await
            .import_vacancies(authed(tokio_stream::iter(rows), &app.enterprise(&code)))
            .await
            .expect("import runs")
            .into_inner()
    };
    let response = import(rows.clone()).await;
    assert_eq!((response.imported, response.rejected), (2, 2));
    let refused = &response.results[1];
    assert_eq!((refused.row, refused.row_ref.as_str(), refused.ok), (2, "A3", false));
    assert_eq!(refused.reason, "OCCUPATION-CODE");
    assert_eq!(refused.field, "vacancy.occupation_code");
    assert!(response.results[0].ok && response.results[2].ok);
    assert_eq!((response.results[3].reason.as_str(), response.results[3].field.as_str()), ("TEXT-LENGTH", "row_ref"));
    assert_eq!(response.results[3].row_ref.chars().count(), 64, "a long reference is echoed cut short");

    // The same import again, as after a lost connection: nothing is stored twice, and each row
    // is answered with the vacancy stored the first time.
    let retried = import(rows).await;
    assert_eq!(
        (retried.imported, retried.replayed, retried.rejected),
        (0, 2, 2),
        "replays are not counted as imported"
    );
    assert!(retried.results[0].replayed && retried.results[2].replayed);
    assert_eq!(retried.results[0].vacancy_name, response.results[0].vacancy_name);
    assert_eq!(retried.results[2].vacancy_name, response.results[2].vacancy_name);
    let listed = app
        .client()
        .await
        .list_vacancies(authed(ListVacanciesRequest::default(), &app.admin()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.vacancies.len(), 2);
    let audit_rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(app.db.pool()).await.expect("count");
    assert_eq!(audit_rows, 3, "the enterprise and two vacancies; refused rows left no trace but their result");
}

async fn matching_ranks_both_ways_with_reasons(app: &App) {
    let code = app.enterprise_in("MAT009", COUNTY).await;
    let vacancy = app.published(&code).await;
    let mut client = app.client().await;
    let near = client
        .create_worker_need(authed(
            CreateWorkerNeedRequest {
                worker_need: Some(worker(&fixtures::id_number("42122119900307123"), COUNTY)),
                request_id: String::new(),
            },
            &app.admin(),
        ))
        .await
        .expect("recorded")
        .into_inner()
        .worker_need
        .expect("need");
    let mut far_input = worker(&fixtures::id_number("42122219920101456"), OTHER_COUNTY);
    far_input.wanted_pay_min_fen = 900_000;
    client
        .create_worker_need(authed(
            CreateWorkerNeedRequest { worker_need: Some(far_input), request_id: String::new() },
            &app.admin(),
        ))
        .await
        .expect("recorded");

    let for_worker = client
        .match_vacancies(authed(
            MatchVacanciesRequest { worker_need: near.name.clone(), page_size: 0 },
            &app.officer(COUNTY),
        ))
        .await
        .expect("matches")
        .into_inner()
        .matches;
    assert_eq!(for_worker.len(), 1);
    assert_eq!(for_worker[0].vacancy.as_ref().expect("vacancy").name, vacancy.name);
    assert_eq!(for_worker[0].score, 40 + 10 + 20 + 15, "one level below, pay reached, same county");
    assert_eq!(for_worker[0].reasons.len(), 4);

    let for_vacancy = client
        .match_workers(authed(MatchWorkersRequest { vacancy: vacancy.name.clone(), page_size: 10 }, &app.admin()))
        .await
        .expect("the city sees every county's workers, masked")
        .into_inner()
        .matches;
    assert_eq!(for_vacancy.len(), 2);
    assert!(for_vacancy[0].score > for_vacancy[1].score);
    assert_eq!(for_vacancy[0].worker_need.as_ref().expect("need").name, near.name);
    assert!(for_vacancy.iter().all(|m| {
        m.worker_need.as_ref().and_then(|w| w.person.as_ref()).is_some_and(|p| p.id_number.contains("********"))
    }));

    let officer_view = client
        .match_workers(authed(
            MatchWorkersRequest { vacancy: vacancy.name.clone(), page_size: 10 },
            &app.officer(COUNTY),
        ))
        .await
        .expect("matches")
        .into_inner()
        .matches;
    assert_eq!(officer_view.len(), 1, "an officer sees workers of their own county only");

    let enterprise_view = client
        .match_workers(authed(MatchWorkersRequest { vacancy: vacancy.name, page_size: 10 }, &app.enterprise(&code)))
        .await
        .expect_err("workers' records are not for enterprises, even for their own vacancy");
    assert_eq!(enterprise_view.code(), Code::PermissionDenied);
}

async fn the_training_need_summary_counts_the_gap(app: &App) {
    let code = app.enterprise_in("DUM010", COUNTY).await;
    app.published(&code).await;
    app.vacancy(&code, &app.admin()).await.expect("a draft, which is not demand yet");
    let mut client = app.client().await;
    let mut qualified = worker(&fixtures::id_number("42122119900307123"), COUNTY);
    qualified.held_skill_level = SkillLevel::SkillLevel3 as i32;
    qualified.wants_training = false;
    qualified.training_occupation_code = String::new();
    for input in [qualified, worker(&fixtures::id_number("42122119950505789"), COUNTY)] {
        client
            .create_worker_need(authed(
                CreateWorkerNeedRequest { worker_need: Some(input), request_id: String::new() },
                &app.admin(),
            ))
            .await
            .expect("recorded");
    }
    let summary = client
        .summarize_training_needs(authed(
            SummarizeTrainingNeedsRequest::default(),
            &app.keys.token(Role::Service, None, None),
        ))
        .await
        .expect("the selection service reads it")
        .into_inner()
        .needs;
    assert_eq!(summary.len(), 1);
    let row = &summary[0];
    assert_eq!((row.region_code.as_str(), row.occupation_code.as_str()), (COUNTY, "6-18-02-04"));
    assert_eq!((row.headcount_wanted, row.workers_qualified, row.gap, row.workers_willing), (12, 1, 11, 1));

    let stats = client
        .get_demand_statistics(authed(GetDemandStatisticsRequest {}, &app.enterprise(&code)))
        .await
        .expect("statistics")
        .into_inner();
    assert_eq!((stats.total_vacancies, stats.total_headcount, stats.workers_willing_to_train), (1, 12, 1));

    let denied = client
        .summarize_training_needs(authed(SummarizeTrainingNeedsRequest::default(), &app.enterprise(&code)))
        .await
        .expect_err("not for enterprises");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn the_audit_chain_verifies_and_names_a_tampered_row(app: &App) {
    let code = app.enterprise_in("AUD011", COUNTY).await;
    app.published(&code).await;
    let auditor = app.keys.token(Role::Auditor, None, None);
    let mut client = app.client().await;
    let report = client
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &auditor))
        .await
        .expect("verify")
        .into_inner()
        .report
        .expect("report");
    assert!(report.intact);
    assert_eq!(report.rows_checked, 3, "enterprise, vacancy, publication");

    let write = client
        .create_vacancy(authed(
            CreateVacancyRequest { vacancy: Some(welder(&code)), request_id: String::new() },
            &auditor,
        ))
        .await
        .expect_err("auditors read only");
    assert_eq!(write.code(), Code::PermissionDenied);

    sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
        .execute(app.db.pool())
        .await
        .expect("tamper");
    let report = client
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &auditor))
        .await
        .expect("verify")
        .into_inner()
        .report
        .expect("report");
    assert!(!report.intact);
    assert_eq!(report.first_broken_seq, 2);
}

async fn lists_page_with_opaque_tokens(app: &App) {
    for seed in ["PAG012", "PAG013", "PAG014"] {
        app.enterprise_in(seed, COUNTY).await;
    }
    let mut client = app.client().await;
    let first = client
        .list_enterprises(authed(ListEnterprisesRequest { page_size: 2, ..Default::default() }, &app.admin()))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(first.enterprises.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = client
        .list_enterprises(authed(
            ListEnterprisesRequest { page_size: 2, page_token: first.next_page_token, ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.enterprises.len(), 1);
    assert!(second.next_page_token.is_empty());
    let bad = client
        .list_enterprises(authed(
            ListEnterprisesRequest { page_token: "forged".into(), ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect_err("not our token");
    assert_eq!(bad.code(), Code::InvalidArgument);
}

async fn a_vacancy_needs_a_registered_enterprise_and_valid_fields(app: &App) {
    let unknown = fixtures::uscc("91421221MA4UNK015");
    let error = app.vacancy(&unknown, &app.admin()).await.expect_err("not registered");
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert_eq!(reason(&error), "ENTERPRISE_NOT_REGISTERED");

    let code = app.enterprise_in("WAL016", COUNTY).await;
    let mut bad = welder(&code);
    bad.headcount = 0;
    bad.pay_max_fen = 1;
    let error = app
        .client()
        .await
        .create_vacancy(authed(CreateVacancyRequest { vacancy: Some(bad), request_id: String::new() }, &app.admin()))
        .await
        .expect_err("bad fields");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(reason(&error), "DEMAND-HEADCOUNT");
    let fields: Vec<String> = error
        .get_error_details()
        .bad_request()
        .expect("bad request")
        .field_violations
        .iter()
        .map(|f| f.field.clone())
        .collect();
    assert_eq!(fields, ["vacancy.headcount", "vacancy.pay_max_fen"]);

    let draft = app.vacancy(&code, &app.admin()).await.expect("created");
    let error = app
        .client()
        .await
        .fill_vacancy(authed(FillVacancyRequest { name: draft.name.clone(), ..Default::default() }, &app.admin()))
        .await
        .expect_err("a draft cannot be filled");
    assert_eq!(error.code(), Code::FailedPrecondition);
    let withdrawn = app
        .client()
        .await
        .withdraw_vacancy(authed(
            WithdrawVacancyRequest { name: draft.name.clone(), reason: "企业撤回".into(), ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("withdrawn")
        .into_inner()
        .vacancy
        .expect("vacancy");
    assert_eq!(withdrawn.state, VacancyState::Withdrawn as i32);
    let missing = app
        .client()
        .await
        .get_vacancy(authed(GetVacancyRequest { name: "vacancies/nope".into() }, &app.admin()))
        .await
        .expect_err("no such vacancy");
    assert_eq!(missing.code(), Code::NotFound);
}

/// Writers run concurrently (on PostgreSQL for real): many changes at once, to the same vacancy
/// and to different ones, leave every audit chain intact, and a change made from a stale read of
/// the same vacancy is refused rather than lost.
async fn concurrent_writers_keep_every_audit_chain_intact(app: &App) {
    let code = app.enterprise_in("1MP0C0", COUNTY).await;
    let token = app.enterprise(&code);
    let shared = app.vacancy(&code, &token).await.expect("a vacancy");
    let mut tasks = Vec::new();
    for i in 0..32 {
        let client = app.client().await;
        let (code, token, shared) = (code.clone(), token.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            if i % 2 == 0 {
                client
                    .create_vacancy(authed(
                        CreateVacancyRequest { vacancy: Some(welder(&code)), request_id: format!("concurrent-{i}") },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            } else {
                // Every odd writer edits the same vacancy from the same read (its etag).
                let mut edit = shared.clone();
                edit.headcount = 10 + i;
                client
                    .update_vacancy(authed(
                        UpdateVacancyRequest {
                            vacancy: Some(edit),
                            update_mask: Some(prost_types::FieldMask { paths: vec!["headcount".into()] }),
                            ..Default::default()
                        },
                        &token,
                    ))
                    .await
                    .map(|_| ())
            }
        }));
    }
    let mut refused = Vec::new();
    for task in tasks {
        if let Err(status) = task.await.expect("a writer") {
            refused.push(status);
        }
    }
    // Of the 16 edits from one read, exactly one lands; the others are refused, never lost.
    assert_eq!(refused.len(), 15, "{refused:?}");
    assert!(refused.iter().all(|s| s.code() == Code::Aborted), "{refused:?}");
    let report = app
        .client()
        .await
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &app.admin()))
        .await
        .expect("verify")
        .into_inner()
        .report
        .expect("a report");
    assert!(report.intact, "{report:?}");
    // The enterprise, 1 + 16 vacancies and the one edit that landed.
    assert_eq!(report.rows_checked, 19);
}

backend_tests!(start =>
    health_and_reflection_answer_without_a_token,
    a_call_without_a_token_is_unauthenticated,
    an_enterprise_files_updates_and_publishes_its_own_vacancy,
    an_enterprise_touching_another_enterprises_vacancy_is_denied,
    a_county_officer_sees_only_their_county,
    a_bad_credit_code_is_invalid_naming_field_and_rule,
    a_bad_id_number_is_invalid_naming_field_and_rule,
    a_repeated_request_id_creates_nothing_new,
    personal_data_is_encrypted_at_rest_and_masked_in_responses,
    import_keeps_good_rows_and_reports_bad_ones,
    matching_ranks_both_ways_with_reasons,
    the_training_need_summary_counts_the_gap,
    the_audit_chain_verifies_and_names_a_tampered_row,
    lists_page_with_opaque_tokens,
    a_vacancy_needs_a_registered_enterprise_and_valid_fields,
    concurrent_writers_keep_every_audit_chain_intact,
);
