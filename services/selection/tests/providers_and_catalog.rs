//! Providers, the catalog, standing and the audit chain of the selection service, through its
//! generated client on a real server, on SQLite and on PostgreSQL (when configured). Drafting
//! the catalog from a real demand service is tried in the suite's `tests/selection_with_demand.rs`.
//! The service decides under policy set v2 (PROV-KIND as an open list with a recorded
//! justification, 年检合格, recognised public bases).

mod common;

use common::{App, COUNTY, OTHER_COUNTY, mask, reason, start};
use qiancheng_api::selection::*;
use qiancheng_api::types::{Date, Industry, SkillLevel};
use qiancheng_platform::auth::Role;
use qiancheng_testkit::{authed, backend_tests, fixtures};
use tonic::Code;

impl App {
    async fn register(&self, provider: Provider, token: &str) -> Result<Provider, tonic::Status> {
        self.client()
            .await
            .register_provider(authed(
                RegisterProviderRequest { provider: Some(provider), request_id: String::new() },
                token,
            ))
            .await
            .map(|r| r.into_inner().provider.expect("provider"))
    }
}

/// A private training school of 嘉鱼 that meets every condition of its kind.
fn school(first17: &str) -> Provider {
    Provider {
        credit_code: fixtures::uscc(first17),
        display_name: "嘉鱼县示范职业培训学校".into(),
        region_code: COUNTY.into(),
        pays_tax_locally: true,
        independent_legal_person: true,
        kind: ProviderKind::PrivateTrainingSchool as i32,
        conditions: Some(KindConditions {
            passed_all_annual_inspections: true,
            subsidised_training_years: vec![2023, 2024, 2025, 2026],
            ..Default::default()
        }),
        bank_account: Some(BankAccount {
            holder: "嘉鱼县示范职业培训学校".into(),
            bank: "农业银行嘉鱼支行".into(),
            number: "6228480012345678".into(),
        }),
        ..Default::default()
    }
}

fn welding_item(region: &str) -> CatalogItem {
    CatalogItem {
        region_code: region.into(),
        industry: Industry::EquipmentManufacturing as i32,
        occupation_code: "6-18-02-04".into(),
        occupation_name: "焊工".into(),
        skill_level: SkillLevel::SkillLevel4 as i32,
        headcount: 60,
        skill_requirements: "熟练掌握手工电弧焊、气体保护焊".into(),
        content: "焊接安全、识图、平焊立焊横焊仰焊实操".into(),
        hours: 120,
        mode: TrainingMode::Offline as i32,
        answers: vec!["嘉鱼重工 焊接操作工 12人".into()],
        ..Default::default()
    }
}

fn failed_rules(provider: &Provider) -> Vec<String> {
    provider
        .eligibility
        .as_ref()
        .expect("eligibility")
        .rules
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.code.clone())
        .collect()
}

async fn an_eligible_school_and_an_ineligible_one_with_its_reasons(app: &App) {
    let good = app.register(school("52421221MJ0000001"), &app.officer(COUNTY)).await.expect("registered");
    assert!(good.eligibility.as_ref().expect("eligibility").outcome, "{:?}", failed_rules(&good));
    assert_eq!(good.eligibility.as_ref().expect("eligibility").policy_version, "xianning-2025-5/v2");

    let mut young = school("52421221MJ0000002");
    young.conditions.as_mut().expect("conditions").subsidised_training_years = vec![2025, 2026];
    let young = app.register(young, &app.officer(COUNTY)).await.expect("registered all the same");
    assert!(!young.eligibility.as_ref().expect("eligibility").outcome);
    assert_eq!(failed_rules(&young), ["PROV-KIND"]);

    let mut elsewhere = school("52420100MJ0000003");
    elsewhere.pays_tax_locally = false;
    let elsewhere = app.register(elsewhere, &app.officer(COUNTY)).await.expect("registered");
    assert_eq!(failed_rules(&elsewhere), ["PROV-LOCAL"], "registered in 武汉: not local");

    let mut branch = school("52421221MJ0000004");
    branch.independent_legal_person = false;
    assert_eq!(failed_rules(&app.register(branch, &app.admin()).await.expect("registered")), ["PROV-LEGAL"]);

    let duplicate = app.register(school("52421221MJ0000001"), &app.officer(COUNTY)).await.expect_err("registered once");
    assert_eq!((duplicate.code(), reason(&duplicate)), (Code::AlreadyExists, "PROVIDER_EXISTS".to_owned()));
}

async fn a_pilot_code_needs_an_officers_recorded_override(app: &App) {
    let valid = fixtures::uscc("52421221MJ0000005");
    let pilot = fixtures::with_wrong_check(&valid);
    let mut provider = school("52421221MJ0000005");
    provider.credit_code = pilot.clone();
    let stored = app.register(provider, &app.officer(COUNTY)).await.expect("a well-formed pilot code is kept");
    assert!(!stored.credit_code_check_passed);
    assert_eq!(failed_rules(&stored), ["PROV-USCC"]);

    let denied = app
        .client()
        .await
        .override_pilot_credit_code(authed(
            OverridePilotCreditCodeRequest {
                provider: stored.name.clone(),
                note: "试点期赋码".into(),
                request_id: String::new(),
            },
            &app.provider(&pilot),
        ))
        .await
        .expect_err("a provider cannot override its own code");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let overridden = app
        .client()
        .await
        .override_pilot_credit_code(authed(
            OverridePilotCreditCodeRequest {
                provider: stored.name.clone(),
                note: "市场监管局函核实的试点期赋码".into(),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("overridden")
        .into_inner()
        .provider
        .expect("provider");
    assert!(overridden.eligibility.as_ref().expect("eligibility").outcome);
    assert_eq!(overridden.pilot_override_by, "test-county_officer");

    let malformed = app
        .register(Provider { credit_code: "91421221MA4BAD".into(), ..school("52421221MJ0000006") }, &app.admin())
        .await
        .expect_err("malformed");
    assert_eq!((malformed.code(), reason(&malformed)), (Code::InvalidArgument, "PROV-USCC".to_owned()));
    let once_more = app
        .client()
        .await
        .override_pilot_credit_code(authed(
            OverridePilotCreditCodeRequest {
                provider: format!("providers/{}", fixtures::uscc("52421221MJ0000001")),
                note: "x".into(),
                request_id: String::new(),
            },
            &app.admin(),
        ))
        .await
        .expect_err("not registered");
    assert_eq!(once_more.code(), Code::NotFound);
}

async fn violations_and_dates_decide_prov_clean(app: &App) {
    let provider = app.register(school("52421221MJ0000007"), &app.officer(COUNTY)).await.expect("registered");
    let violation = app
        .client()
        .await
        .record_violation(authed(
            RecordViolationRequest {
                provider: provider.name.clone(),
                occurred_on: Some(Date { year: 2024, month: 3, day: 1 }),
                description: "虚报培训人数".into(),
                request_id: "v-1".into(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("recorded")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!(violation.violations.len(), 1);
    assert_eq!(failed_rules(&violation), ["PROV-CLEAN"]);
    let evaluate = |as_of: Date| {
        let name = provider.name.clone();
        let token = app.officer(COUNTY);
        async move {
            app.client()
                .await
                .evaluate_provider_eligibility(authed(
                    EvaluateProviderEligibilityRequest {
                        provider: name,
                        as_of: Some(as_of),
                        occupation_code: String::new(),
                    },
                    &token,
                ))
                .await
                .expect("evaluated")
                .into_inner()
                .decision
                .expect("decision")
        }
    };
    // PROV-CLEAN: three years before the application date; the violation's third anniversary
    // is the last day it counts.
    assert!(
        !evaluate(Date { year: 2027, month: 3, day: 1 }).await.rules.iter().any(|r| r.code == "PROV-CLEAN" && r.passed)
    );
    assert!(
        evaluate(Date { year: 2027, month: 3, day: 2 }).await.rules.iter().any(|r| r.code == "PROV-CLEAN" && r.passed)
    );

    let future = app
        .client()
        .await
        .record_violation(authed(
            RecordViolationRequest {
                provider: provider.name.clone(),
                occurred_on: Some(Date { year: 2099, month: 1, day: 1 }),
                description: "x".into(),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("not in the future");
    assert_eq!((future.code(), reason(&future)), (Code::InvalidArgument, "PROV-CLEAN".to_owned()));
    let replay = app
        .client()
        .await
        .record_violation(authed(
            RecordViolationRequest {
                provider: provider.name.clone(),
                occurred_on: Some(Date { year: 2024, month: 3, day: 1 }),
                description: "虚报培训人数".into(),
                request_id: "v-1".into(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("a retry")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!(replay.violations.len(), 1, "a retried request records nothing new");
}

async fn providers_see_and_change_only_themselves(app: &App) {
    let mine = app.register(school("52421221MJ0000008"), &app.officer(COUNTY)).await.expect("registered");
    let theirs = app.register(school("52421221MJ0000009"), &app.officer(COUNTY)).await.expect("registered");
    let token = app.provider(&mine.credit_code);
    let mut client = app.client().await;
    let denied = client
        .get_provider(authed(GetProviderRequest { name: theirs.name.clone() }, &token))
        .await
        .expect_err("another");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let listed =
        client.list_providers(authed(ListProvidersRequest::default(), &token)).await.expect("list").into_inner();
    assert_eq!(listed.providers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [mine.name.as_str()]);

    let mut changed = mine.clone();
    changed.display_name = "嘉鱼县示范职业技能培训学校".into();
    let updated = client
        .update_provider(authed(
            UpdateProviderRequest { provider: Some(changed.clone()), ..Default::default() },
            &token,
        ))
        .await
        .expect("updates itself")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!(updated.display_name, "嘉鱼县示范职业技能培训学校");
    let stale = client
        .update_provider(authed(UpdateProviderRequest { provider: Some(changed), ..Default::default() }, &token))
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);

    let outsider = app.officer(OTHER_COUNTY);
    let denied = client
        .get_provider(authed(GetProviderRequest { name: mine.name.clone() }, &outsider))
        .await
        .expect_err("other county");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let none =
        client.list_providers(authed(ListProvidersRequest::default(), &outsider)).await.expect("list").into_inner();
    assert!(none.providers.is_empty());
    let expert = app.keys.minter.mint("expert-9", &[Role::Expert], None, None, 600).expect("token");
    let denied = client.list_providers(authed(ListProvidersRequest::default(), &expert)).await.expect_err("experts");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let auditor = app.keys.token(Role::Auditor, None, None);
    let read = client
        .get_provider(authed(GetProviderRequest { name: mine.name.clone() }, &auditor))
        .await
        .expect("auditors read");
    let account = read.into_inner().provider.expect("provider").bank_account.expect("account");
    assert_eq!(account.number, "************5678", "auditors see the account masked");
    let own = client
        .get_provider(authed(GetProviderRequest { name: mine.name.clone() }, &token))
        .await
        .expect("reads itself");
    assert_eq!(own.into_inner().provider.expect("provider").bank_account.expect("account").number, "6228480012345678");
    let write = client
        .record_violation(authed(
            RecordViolationRequest {
                provider: mine.name,
                occurred_on: Some(Date { year: 2024, month: 1, day: 1 }),
                description: "x".into(),
                request_id: String::new(),
            },
            &auditor,
        ))
        .await
        .expect_err("auditors do not write");
    assert_eq!(write.code(), Code::PermissionDenied);
}

async fn disqualification_is_reported_to_other_services(app: &App) {
    let provider = app.register(school("52421221MJ0000010"), &app.officer(COUNTY)).await.expect("registered");
    let service = app.keys.token(Role::Service, None, None);
    let mut client = app.client().await;
    let standing = client
        .check_standing(authed(
            CheckStandingRequest { provider: provider.name.clone(), project: String::new() },
            &service,
        ))
        .await
        .expect("standing")
        .into_inner();
    assert!(standing.good_standing);
    let unknown_project = client
        .check_standing(authed(
            CheckStandingRequest { provider: provider.name.clone(), project: "projects/none".into() },
            &service,
        ))
        .await
        .expect("standing")
        .into_inner();
    assert!(!unknown_project.good_standing, "a project that was never approved is not in good standing");

    let missing_finding = client
        .disqualify_provider(authed(
            DisqualifyProviderRequest {
                provider: provider.name.clone(),
                misconduct: MisconductKind::Fraud as i32,
                ..Default::default()
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("a finding is required");
    assert_eq!(missing_finding.code(), Code::InvalidArgument);
    let disqualified = client
        .disqualify_provider(authed(
            DisqualifyProviderRequest {
                provider: provider.name.clone(),
                misconduct: MisconductKind::Subcontracting as i32,
                finding: "将培训任务转包给外地机构".into(),
                found_on: None,
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("disqualified")
        .into_inner();
    let provider_now = disqualified.provider.expect("provider");
    assert!(provider_now.disqualified_on.is_some());
    assert_eq!(failed_rules(&provider_now), ["PROV-DISQUALIFIED"]);
    let standing = client
        .check_standing(authed(
            CheckStandingRequest { provider: provider.name.clone(), project: String::new() },
            &service,
        ))
        .await
        .expect("standing")
        .into_inner();
    assert!(!standing.good_standing);
    assert!(standing.decision.expect("decision").rules.iter().any(|r| r.code == "PROV-DISQUALIFIED" && !r.passed));
    let again = client
        .disqualify_provider(authed(
            DisqualifyProviderRequest {
                provider: provider.name,
                misconduct: MisconductKind::Fraud as i32,
                finding: "x".into(),
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect_err("once");
    assert_eq!(reason(&again), "ALREADY_DISQUALIFIED");
    let enterprise = app.keys.token(Role::Enterprise, None, Some(&fixtures::uscc("91421221MA4K7Y2G3")));
    let denied = client
        .check_standing(authed(
            CheckStandingRequest { provider: "providers/x".into(), project: String::new() },
            &enterprise,
        ))
        .await
        .expect_err("not for enterprises");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn catalog_items_are_published_revised_and_withdrawn_never_edited(app: &App) {
    let mut client = app.client().await;
    let officer = app.officer(COUNTY);
    let mut incomplete = welding_item(COUNTY);
    incomplete.content = String::new();
    let refused = client
        .create_catalog_item(authed(
            CreateCatalogItemRequest { catalog_item: Some(incomplete), request_id: String::new() },
            &officer,
        ))
        .await
        .expect_err("a draft states every field");
    assert_eq!((refused.code(), reason(&refused)), (Code::InvalidArgument, "PROJ-CATALOG".to_owned()));

    let item = client
        .create_catalog_item(authed(
            CreateCatalogItemRequest { catalog_item: Some(welding_item(COUNTY)), request_id: "c-1".into() },
            &officer,
        ))
        .await
        .expect("created")
        .into_inner()
        .catalog_item
        .expect("item");
    let provider = app.provider(&fixtures::uscc("52421221MJ0000011"));
    let hidden = client
        .get_catalog_item(authed(GetCatalogItemRequest { name: item.name.clone() }, &provider))
        .await
        .expect_err("draft");
    assert_eq!(hidden.code(), Code::PermissionDenied);
    let published = client
        .publish_catalog_item(authed(
            PublishCatalogItemRequest { name: item.name.clone(), etag: item.etag.clone(), request_id: String::new() },
            &officer,
        ))
        .await
        .expect("published")
        .into_inner()
        .catalog_item
        .expect("item");
    assert_eq!(published.state, CatalogItemState::Published as i32);
    let public = client
        .list_catalog_items(authed(ListCatalogItemsRequest::default(), &provider))
        .await
        .expect("public")
        .into_inner();
    assert_eq!(public.catalog_items.len(), 1);

    let mut revision = welding_item(COUNTY);
    revision.name = published.name.clone();
    revision.headcount = 80;
    let v2 = client
        .revise_catalog_item(authed(
            ReviseCatalogItemRequest { catalog_item: Some(revision.clone()), request_id: String::new() },
            &officer,
        ))
        .await
        .expect("revised")
        .into_inner()
        .catalog_item
        .expect("item");
    assert_eq!(
        (v2.version, v2.state, v2.lineage.as_str()),
        (2, CatalogItemState::Draft as i32, published.name.as_str())
    );
    let pending = client
        .revise_catalog_item(authed(
            ReviseCatalogItemRequest { catalog_item: Some(revision), request_id: String::new() },
            &officer,
        ))
        .await
        .expect_err("one pending revision at a time");
    assert_eq!(reason(&pending), "REVISION_PENDING");
    client
        .publish_catalog_item(authed(
            PublishCatalogItemRequest { name: v2.name.clone(), ..Default::default() },
            &officer,
        ))
        .await
        .expect("v2 published");
    let v1 = client
        .get_catalog_item(authed(GetCatalogItemRequest { name: published.name.clone() }, &officer))
        .await
        .expect("v1");
    assert_eq!(v1.into_inner().catalog_item.expect("item").state, CatalogItemState::Superseded as i32);
    let public = client
        .list_catalog_items(authed(ListCatalogItemsRequest::default(), &provider))
        .await
        .expect("public")
        .into_inner();
    assert_eq!(
        public.catalog_items.iter().map(|i| i.headcount).collect::<Vec<_>>(),
        [80],
        "only the newest version is public"
    );

    let no_reason = client
        .withdraw_catalog_item(authed(
            WithdrawCatalogItemRequest { name: v2.name.clone(), ..Default::default() },
            &officer,
        ))
        .await
        .expect_err("a reason is required");
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let outsider = client
        .withdraw_catalog_item(authed(
            WithdrawCatalogItemRequest { name: v2.name.clone(), reason: "x".into(), ..Default::default() },
            &app.officer(OTHER_COUNTY),
        ))
        .await
        .expect_err("another county's item");
    assert_eq!(outsider.code(), Code::PermissionDenied);
    let withdrawn = client
        .withdraw_catalog_item(authed(
            WithdrawCatalogItemRequest {
                name: v2.name, reason: "企业需求取消".into(), request_id: String::new()
            },
            &officer,
        ))
        .await
        .expect("withdrawn")
        .into_inner()
        .catalog_item
        .expect("item");
    assert_eq!(withdrawn.state, CatalogItemState::Withdrawn as i32);
    let city = client
        .create_catalog_item(authed(
            CreateCatalogItemRequest { catalog_item: Some(welding_item("421200")), request_id: String::new() },
            &officer,
        ))
        .await
        .expect_err("city-wide items are the city's");
    assert_eq!(city.code(), Code::PermissionDenied);
}

async fn drafting_from_demand_without_a_demand_service_is_unavailable(app: &App) {
    let refused = app
        .client()
        .await
        .draft_catalog_from_demand(authed(
            DraftCatalogFromDemandRequest {
                content: "焊接安全与实操".into(),
                hours: 120,
                mode: TrainingMode::Offline as i32,
                ..Default::default()
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("no demand service is configured");
    assert_eq!((refused.code(), reason(&refused)), (Code::Unavailable, "PEER_UNAVAILABLE".to_owned()));
}

async fn an_update_changes_only_the_fields_its_mask_names(app: &App) {
    let stored = app.register(school("52421221MJ0000013"), &app.officer(COUNTY)).await.expect("registered");
    let token = app.provider(&stored.credit_code);
    let mut client = app.client().await;
    // Only the name is named: the other fields sent, even empty, are left as stored.
    let renamed = client
        .update_provider(authed(
            UpdateProviderRequest {
                provider: Some(Provider {
                    name: stored.name.clone(),
                    etag: stored.etag.clone(),
                    display_name: "嘉鱼县新名职业培训学校".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("a provider renames itself")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!(renamed.display_name, "嘉鱼县新名职业培训学校");
    assert_eq!(renamed.bank_account, stored.bank_account, "the bank account is kept");
    assert_eq!((renamed.kind, renamed.region_code.as_str()), (stored.kind, COUNTY));
    // A named field is validated with the rest: an empty name is refused by its field.
    let empty = client
        .update_provider(authed(
            UpdateProviderRequest {
                provider: Some(Provider { name: stored.name.clone(), ..Default::default() }),
                update_mask: mask(&["display_name"]),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect_err("a name is required");
    assert_eq!(common::bad_fields(&empty), ["provider.display_name"]);
    // The facts eligibility rests on are the bureau's, whatever the mask says.
    let kind = client
        .update_provider(authed(
            UpdateProviderRequest {
                provider: Some(Provider {
                    name: stored.name.clone(),
                    kind: ProviderKind::VocationalSchool as i32,
                    ..Default::default()
                }),
                update_mask: mask(&["kind"]),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect_err("the kind is the bureau's to record");
    assert_eq!(kind.code(), Code::PermissionDenied);
    let unknown = client
        .update_provider(authed(
            UpdateProviderRequest {
                provider: Some(Provider { name: stored.name.clone(), ..Default::default() }),
                update_mask: mask(&["credit_code"]),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect_err("the credit code never changes");
    assert_eq!((unknown.code(), reason(&unknown)), (Code::InvalidArgument, "UPDATE-MASK".to_owned()));
}

async fn the_audit_chain_verifies(app: &App) {
    app.register(school("52421221MJ0000012"), &app.officer(COUNTY)).await.expect("registered");
    let mut client = app.client().await;
    let report = client
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &app.keys.token(Role::Auditor, None, None)))
        .await
        .expect("verified")
        .into_inner()
        .report
        .expect("report");
    assert!(report.intact);
    assert_eq!(report.rows_checked, 1);
    sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE seq = 1").execute(app.db.pool()).await.expect("tamper");
    let report = client
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &app.admin()))
        .await
        .expect("verified")
        .into_inner()
        .report
        .expect("report");
    assert_eq!((report.intact, report.first_broken_seq), (false, 1));
    let denied = client
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &app.officer(COUNTY)))
        .await
        .expect_err("for the city and auditors");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn prov_kind_another_kind_needs_an_officers_justification_and_passes_with_one(app: &App) {
    let mut other = school("52421221MJ0000014");
    other.kind = ProviderKind::Other as i32;
    other.display_name = "嘉鱼县某企业培训中心".into();
    let stored = app.register(other, &app.officer(COUNTY)).await.expect("registered all the same");
    assert_eq!(failed_rules(&stored), ["PROV-KIND"], "a kind outside the plan's list needs a justification");
    assert!(stored.kind_justification.is_none());
    let justify = |name: &str, note: &str, token: String| {
        let request =
            JustifyProviderKindRequest { provider: name.into(), note: note.into(), request_id: String::new() };
        async move { app.client().await.justify_provider_kind(authed(request, &token)).await.map(|r| r.into_inner()) }
    };

    let by_provider =
        justify(&stored.name, "我们是培训机构", app.provider(&stored.credit_code)).await.expect_err("officers");
    assert_eq!(by_provider.code(), Code::PermissionDenied);
    let outsider = justify(&stored.name, "x", app.officer(OTHER_COUNTY)).await.expect_err("another county");
    assert_eq!(outsider.code(), Code::PermissionDenied);
    let no_note = justify(&stored.name, " ", app.officer(COUNTY)).await.expect_err("a note is required");
    assert_eq!(common::bad_fields(&no_note), ["note"]);
    let note = "经县人社局集体研究,该企业培训中心具备独立场地、设备和师资(嘉人社纪要〔2026〕2号)";
    let justified =
        justify(&stored.name, note, app.officer(COUNTY)).await.expect("justified").provider.expect("provider");
    assert!(justified.eligibility.as_ref().expect("eligibility").outcome, "{:?}", failed_rules(&justified));
    let recorded = justified.kind_justification.clone().expect("shown");
    assert_eq!((recorded.note.as_str(), recorded.officer.as_str()), (note, "test-county_officer"));
    let kind_rule = justified.eligibility.expect("eligibility").rules.into_iter().find(|r| r.code == "PROV-KIND");
    assert!(kind_rule.is_some_and(|r| r.passed && r.reason_zh.contains(note)));

    // A kind the plan lists has its own conditions: nothing to justify.
    let listed = app.register(school("52421221MJ0000015"), &app.officer(COUNTY)).await.expect("registered");
    let refused = justify(&listed.name, "x", app.officer(COUNTY)).await.expect_err("a listed kind");
    assert_eq!((refused.code(), reason(&refused)), (Code::FailedPrecondition, "PROVIDER_KIND_LISTED".to_owned()));

    // A justification is of the kind it was recorded for: changing the kind clears it.
    let recorded_as = |kind: ProviderKind| {
        let request = UpdateProviderRequest {
            provider: Some(Provider { name: stored.name.clone(), kind: kind as i32, ..Default::default() }),
            update_mask: mask(&["kind"]),
            request_id: String::new(),
        };
        let token = app.officer(COUNTY);
        async move {
            let updated = app.client().await.update_provider(authed(request, &token)).await;
            updated.expect("the bureau records the kind").into_inner().provider.expect("provider")
        }
    };
    assert!(recorded_as(ProviderKind::MasterStudio).await.kind_justification.is_none());
    let back = recorded_as(ProviderKind::Other).await;
    assert_eq!(failed_rules(&back), ["PROV-KIND"]);
}

async fn prov_kind_v2_conditions_annual_inspection_and_public_bases(app: &App) {
    // 年检合格 alone (without the v1 flag "every inspection passed") meets a private school's
    // inspection condition under v2.
    let mut school_v2 = school("52421221MJ0000016");
    school_v2.conditions = Some(KindConditions {
        annual_inspection_passed: true,
        subsidised_training_years: vec![2023, 2024, 2025, 2026],
        ..Default::default()
    });
    let stored = app.register(school_v2, &app.officer(COUNTY)).await.expect("registered");
    assert!(stored.eligibility.as_ref().expect("eligibility").outcome, "{:?}", failed_rules(&stored));
    let mut failed = school("52421221MJ0000017");
    failed.conditions =
        Some(KindConditions { subsidised_training_years: vec![2023, 2024, 2025, 2026], ..Default::default() });
    assert_eq!(failed_rules(&app.register(failed, &app.officer(COUNTY)).await.expect("registered")), ["PROV-KIND"]);

    // A public training base needs the competent department's recognition of its public service.
    let mut base = school("52421221MJ0000018");
    base.kind = ProviderKind::PublicTrainingBase as i32;
    base.conditions = None;
    let unrecognised = app.register(base.clone(), &app.officer(COUNTY)).await.expect("registered");
    assert_eq!(failed_rules(&unrecognised), ["PROV-KIND"]);
    base.credit_code = fixtures::uscc("52421221MJ0000019");
    base.conditions = Some(KindConditions {
        public_function_recognition: "鄂人社函〔2025〕12号认定为公共实训基地".into(),
        ..Default::default()
    });
    let recognised = app.register(base, &app.officer(COUNTY)).await.expect("registered");
    assert!(recognised.eligibility.as_ref().expect("eligibility").outcome, "{:?}", failed_rules(&recognised));
    assert_eq!(
        recognised.conditions.expect("conditions").public_function_recognition,
        "鄂人社函〔2025〕12号认定为公共实训基地"
    );
}

async fn a_provider_stored_before_its_documents_were_written_reads_back(app: &App) {
    let stored = app.register(school("52421221MJ0000020"), &app.officer(COUNTY)).await.expect("registered");
    // Rows written before the override, the justification and disqualification were recorded
    // hold NULL in those columns: they read as none.
    sqlx::query(
        "UPDATE provider SET pilot_override = NULL, kind_justification = NULL, disqualified_on = NULL \
         WHERE credit_code = $1",
    )
    .bind(&stored.credit_code)
    .execute(app.db.pool())
    .await
    .expect("an older row");
    let mut client = app.client().await;
    let read = client
        .get_provider(authed(GetProviderRequest { name: stored.name.clone() }, &app.officer(COUNTY)))
        .await
        .expect("read")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!((read.disqualified_on, read.kind_justification, read.etag), (None, None, stored.etag));
    let listed =
        client.list_providers(authed(ListProvidersRequest::default(), &app.admin())).await.expect("list").into_inner();
    assert!(listed.providers.iter().any(|p| p.name == stored.name), "and is listed");
}

backend_tests!(start =>
    an_eligible_school_and_an_ineligible_one_with_its_reasons,
    a_pilot_code_needs_an_officers_recorded_override,
    violations_and_dates_decide_prov_clean,
    providers_see_and_change_only_themselves,
    disqualification_is_reported_to_other_services,
    catalog_items_are_published_revised_and_withdrawn_never_edited,
    drafting_from_demand_without_a_demand_service_is_unavailable,
    an_update_changes_only_the_fields_its_mask_names,
    the_audit_chain_verifies,
    prov_kind_another_kind_needs_an_officers_justification_and_passes_with_one,
    prov_kind_v2_conditions_annual_inspection_and_public_bases,
    a_provider_stored_before_its_documents_were_written_reads_back,
);
