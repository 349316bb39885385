//! `qiancheng export filing` (附件2 项目备案表) and `qiancheng export application` (附件3 申报书) as a
//! provider uses them, the binary as its own process against a real selection server on port 0,
//! on SQLite and on PostgreSQL: an application made, submitted and approved through selection's
//! own RPCs is written as each form and read back cell by cell (calamine, openpyxl, LibreOffice
//! when they are here); a phone number typed into the form is masked; a caller who may not read
//! the application gets selection's refusal and no file.

#[allow(dead_code)]
mod common;

use std::path::Path;

use calamine::{Data, Reader as _};
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{self as sel};
use qiancheng_api::types::Date;
use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_testkit::selection::{ProjectToApprove, approve_project, set_quotas};
use qiancheng_testkit::{Backend, Keys, TestService, authed, backend_tests, fixtures};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");
/// 嘉鱼县.
const COUNTY: &str = "421221";
/// Headcount and hours of the approved project.
const HEADCOUNT: i32 = 30;
const HOURS: i32 = 100;

/// Selection with one approved project of the county, made through its own RPCs.
struct App {
    selection: TestService,
    provider: String,
    application: sel::Application,
    project: sel::Project,
}

async fn start(backend: Backend) -> Option<App> {
    let keys = Keys { policy: PolicySet::xianning_2025_5_v2(), ..Keys::new() };
    let selection = TestService::start_with(&qiancheng_selection::Spec, backend, keys, Peers::default()).await?;
    let mut client = SelectionServiceClient::new(selection.channel().await);
    let admin = selection.keys.token(Role::CityAdmin, Some("421200"), None);
    set_quotas(&mut client, &admin, &[COUNTY], 2099, 500).await;
    let officer = selection.keys.token(Role::CountyOfficer, Some(COUNTY), None);
    let keys = selection.keys.clone();
    let project = ProjectToApprove {
        county: COUNTY,
        seed: "0000022",
        headcount: HEADCOUNT,
        hours: HOURS,
        deadline: Date { year: 2099, month: 12, day: 31 },
    };
    let (provider, project) =
        approve_project(&mut client, &officer, |code| keys.token(Role::Provider, None, Some(code)), project).await;
    let project = client
        .get_project(authed(sel::GetProjectRequest { name: project }, &officer))
        .await
        .expect("the project")
        .into_inner()
        .project
        .expect("project");
    let application = client
        .get_application(authed(sel::GetApplicationRequest { name: project.application.clone() }, &officer))
        .await
        .expect("the application")
        .into_inner()
        .application
        .expect("application");
    Some(App { selection, provider, application, project })
}

impl App {
    fn provider_token(&self) -> String {
        self.selection.keys.token(Role::Provider, None, Some(&self.provider))
    }

    /// Runs `qiancheng export {form} {application} {file}` with `token`: whether it succeeded,
    /// and what it said on stdout and stderr.
    async fn export(&self, form: &str, application: &str, file: &Path, token: &str) -> (bool, String, String) {
        let run = Command::new(BIN)
            .args(["export", form, application])
            .arg(file)
            .args(["--addr", &format!("http://{}", self.selection.server.addr)])
            .env("QIANCHENG_TOKEN", token)
            .output()
            .await
            .expect("run the export");
        let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (run.status.success(), said(&run.stdout), said(&run.stderr))
    }
}

/// A sheet's rows as (first cell as text, second cell as read).
fn pairs(path: &Path, sheet: &str) -> Vec<(String, Data)> {
    let mut book = calamine::open_workbook_auto(path).expect("the workbook opens");
    let range = book.worksheet_range(sheet).unwrap_or_else(|e| panic!("sheet {sheet}: {e}"));
    range
        .rows()
        .map(|r| (r.first().map(ToString::to_string).unwrap_or_default(), r.get(1).cloned().unwrap_or_default()))
        .collect()
}

/// The value beside `key` on `rows`, the first such row.
fn value<'a>(rows: &'a [(String, Data)], key: &str) -> &'a Data {
    &rows.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no row {key}: {rows:?}")).1
}

/// The value beside `key` read as `kind` (text, a number, a date) by `read`.
fn read_as<T>(rows: &[(String, Data)], key: &str, kind: &str, read: impl Fn(&Data) -> Option<T>) -> T {
    let cell = value(rows, key);
    read(cell).unwrap_or_else(|| panic!("{key} is {kind}, not {cell:?}"))
}

fn text(rows: &[(String, Data)], key: &str) -> String {
    read_as(rows, key, "text", |d| if let Data::String(s) = d { Some(s.clone()) } else { None })
}

fn number(rows: &[(String, Data)], key: &str) -> f64 {
    read_as(rows, key, "a number", |d| if let Data::Float(f) = d { Some(*f) } else { None })
}

fn day(rows: &[(String, Data)], key: &str) -> String {
    read_as(rows, key, "a date", |d| match d {
        Data::DateTime(when) => when.as_datetime().map(|t| t.date().to_string()),
        _ => None,
    })
}

fn sheet_names(path: &Path) -> Vec<String> {
    calamine::open_workbook_auto(path).expect("the workbook opens").sheet_names()
}

/// What both forms say of the approved application: the provider, the project as filed.
fn check_project(app: &App, form: &[(String, Data)]) {
    assert_eq!(text(form, "承训机构名称"), "职业培训学校0000022");
    assert_eq!(text(form, "统一社会信用代码"), app.provider);
    assert_eq!(text(form, "机构类型"), "民办职业培训学校");
    assert_eq!(text(form, "所在县(市、区)"), "嘉鱼县(421221)");
    assert_eq!(text(form, "项目名称"), "焊工项目化培训");
    assert_eq!(text(form, "所属行业"), "装备制造");
    assert_eq!(text(form, "职业(工种)代码"), "6-18-02-04");
    assert_eq!(text(form, "职业(工种)名称"), "焊工");
    assert_eq!(text(form, "职业技能等级"), "四级/中级工");
    assert_eq!(number(form, "计划培训人数(人)"), f64::from(HEADCOUNT));
    assert_eq!(number(form, "培训学时"), f64::from(HOURS));
    assert_eq!(text(form, "培训方式"), "线下");
    assert_eq!(day(form, "计划开班日期"), "2027-03-01");
    assert_eq!(day(form, "计划结业日期"), "2027-04-30");
    assert_eq!(text(form, "培训地点"), "县实训基地");
    assert_eq!(text(form, "培训县(市、区)"), "嘉鱼县(421221)");
    assert_eq!(text(form, "跨区承训"), "否");
    assert!(text(form, "培训对象").contains("就业率"), "not in-service: judged by employment");
    assert_eq!(text(form, "联系人"), "王老师");
}

/// What the cover says: the form, the application, its policy version, when it was made, and
/// that the provider may not read the county's quota.
fn check_cover(app: &App, path: &Path, form: &str) {
    let cover = pairs(path, "说明");
    assert!(text(&cover, "文件").contains(form), "{cover:?}");
    assert_eq!(text(&cover, "申报"), app.application.name);
    assert_eq!(text(&cover, "状态"), "已立项");
    assert!(text(&cover, "政策版本").starts_with("xianning-2025-5/v2"), "{}", text(&cover, "政策版本"));
    assert!(text(&cover, "生成时间").ends_with("+08:00"));
    assert_eq!(text(&cover, "未列入的记录"), "调阅者无权查看或已不存在:年度培训配额");
}

async fn an_approved_application_is_exported_as_annex_2_and_3(app: &App) {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = app.provider_token();

    // 附件2.
    let filing = dir.path().join("附件2.xlsx");
    let (ok, said, err) = app.export("filing", &app.application.name, &filing, &token).await;
    assert!(ok, "{err}");
    assert!(said.contains("项目备案表") && said.contains("30 trainees"), "{said}");
    assert_eq!(sheet_names(&filing), ["说明", "项目备案表"]);
    check_cover(app, &filing, "附件2");
    let form = pairs(&filing, "项目备案表");
    assert!(form[0].0.contains("项目备案表"), "the title on the first row: {:?}", form[0]);
    check_project(app, &form);
    assert_eq!(text(&form, "遴选方式"), "综合评议");
    assert!(text(&form, "遴选批次").contains("焊工项目综合评议0000022批"));
    assert!(text(&form, "项目目录条目").starts_with(&app.application.catalog_item));
    assert_eq!(text(&form, "立项项目"), app.project.name);
    assert_eq!(number(&form, "核定培训人数(人)"), f64::from(HEADCOUNT));
    assert!(matches!(value(&form, "提交时间"), Data::DateTime(_)), "the submission is a date and time");
    // The provider may not read quotas (officers' business): left out, and the cover says so.
    assert!(form.iter().all(|(k, _)| k != "年度培训配额"));

    // An officer of the county reads the quota too, and the cover names nothing withheld.
    let officer = app.selection.keys.token(Role::CountyOfficer, Some(COUNTY), None);
    let by_officer = dir.path().join("附件2-县局.xlsx");
    let (ok, _, err) = app.export("filing", &app.application.name, &by_officer, &officer).await;
    assert!(ok, "{err}");
    assert_eq!(text(&pairs(&by_officer, "说明"), "未列入的记录"), "无");
    let quota = text(&pairs(&by_officer, "项目备案表"), "年度培训配额");
    assert!(quota.contains("2099 年 500 人,已核定 30 人,剩余 470 人"), "{quota}");

    // 附件3 with its plan and history.
    let application = dir.path().join("附件3.xlsx");
    let (ok, said, err) = app.export("application", &app.application.name, &application, &token).await;
    assert!(ok, "{err}");
    assert!(said.contains("申报书"), "{said}");
    assert_eq!(sheet_names(&application), ["说明", "申报书", "培训方案", "办理记录"]);
    check_cover(app, &application, "附件3");
    let form = pairs(&application, "申报书");
    check_project(app, &form);
    assert!(text(&form, "承训资格").starts_with("符合承训机构条件"), "{}", text(&form, "承训资格"));
    assert_eq!(text(&form, "技能要求"), "达到焊工四级标准");
    assert_eq!(text(&form, "目录培训内容"), "焊接工艺与安全");
    assert_eq!(text(&form, "对应用工需求"), "岗位需求汇总: 焊工缺口30人");
    assert_eq!(text(&form, "申报概述"), "面向装备制造企业的焊工培训");
    let plan = pairs(&application, "培训方案");
    assert_eq!(text(&plan, "教学计划"), "理论40学时,实操60学时");
    assert_eq!(text(&plan, "安全知识和安全操作技能"), "焊接安全、防火防爆、个人防护");
    assert_eq!(text(&plan, "培训方式"), "线下");
    assert_eq!(text(&plan, "考核评价办法"), "结业考核并组织职业技能等级认定");
    assert_eq!(text(&plan, "保障学员技能提升(促进就业)措施"), "与合作企业签订定向就业协议");
    let history = pairs(&application, "办理记录");
    let steps: Vec<String> = history.iter().skip(1).map(|(_, step)| step.to_string()).collect();
    assert_eq!(steps, ["创建", "提交", "立项"], "{history:?}");

    // An office's own tool reads the same: openpyxl, dates as dates.
    if let Some(sheets) = common::openpyxl(&filing, 60) {
        assert_eq!(sheets[1]["name"], "项目备案表");
        let rows = sheets[1]["first"].as_array().expect("rows");
        let beside = |key: &str| rows.iter().find(|r| r[0] == key).map(|r| r[1].clone()).expect(key);
        assert_eq!(beside("计划开班日期"), "2027-03-01 00:00:00");
        assert_eq!(beside("计划培训人数(人)"), "30");
        assert_eq!(beside("项目名称"), "焊工项目化培训");
    }
    // Opened by LibreOffice as a person would, each form's first page kept as a PNG.
    for (file, artifact) in [(filing, "annex2-filing"), (application, "annex3-application")] {
        let file_for_soffice = file.clone();
        let text = tokio::task::spawn_blocking(move || common::libreoffice(&file_for_soffice, artifact))
            .await
            .expect("the conversion's thread");
        if let Some(text) = text {
            assert!(text.contains("技能照亮前程") && text.contains(&app.application.name), "{text:.600}");
        }
    }
}

async fn a_phone_number_typed_into_the_form_is_masked(app: &App) {
    // A second application of the same provider, in a new round, its contact with a phone.
    let mut client = SelectionServiceClient::new(app.selection.channel().await);
    let officer = app.selection.keys.token(Role::CountyOfficer, Some(COUNTY), None);
    let round = client
        .create_round(authed(
            sel::CreateRoundRequest {
                round: Some(sel::Round {
                    title: "焊工项目第二批".into(),
                    region_code: COUNTY.into(),
                    method: sel::SelectionMethod::Selection as i32,
                    quota: 10,
                    deadline: Some(Date { year: 2099, month: 12, day: 31 }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect("a round")
        .into_inner()
        .round
        .expect("round");
    let approved = &app.application;
    let mut filing = approved.filing.clone().expect("the filing");
    filing.contact = "王老师 13871234567".into();
    let draft = sel::Application {
        round: round.name,
        catalog_item: approved.catalog_item.clone(),
        provider_credit_code: approved.provider_credit_code.clone(),
        headcount: 10,
        training_region_code: COUNTY.into(),
        filing: Some(filing),
        plan: approved.plan.clone(),
        ..Default::default()
    };
    let draft = client
        .create_application(authed(
            sel::CreateApplicationRequest { application: Some(draft), request_id: String::new() },
            &app.provider_token(),
        ))
        .await
        .expect("a draft")
        .into_inner()
        .application
        .expect("application");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("附件2.xlsx");
    let (ok, _, err) = app.export("filing", &draft.name, &file, &app.provider_token()).await;
    assert!(ok, "{err}");
    let form = pairs(&file, "项目备案表");
    assert_eq!(text(&form, "联系人"), "王老师 138****4567");
    assert_eq!(text(&form, "立项项目"), "尚未立项");
    assert_eq!(text(&pairs(&file, "说明"), "状态"), "草稿(未提交)");
}

async fn a_caller_who_may_not_read_the_application_gets_the_refusal_and_no_file(app: &App) {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = fixtures::uscc("52421221MJ0000099");
    for (who, token) in [
        ("another provider", app.selection.keys.token(Role::Provider, None, Some(&other))),
        ("an officer of another county", app.selection.keys.token(Role::CountyOfficer, Some("421222"), None)),
    ] {
        for form in ["filing", "application"] {
            let file = dir.path().join(format!("{form}.xlsx"));
            let (ok, _, err) = app.export(form, &app.application.name, &file, &token).await;
            assert!(!ok, "{who} may not export the {form}");
            assert!(err.contains("selection refused the application (PermissionDenied)"), "{who}: {err}");
            assert!(!file.exists(), "{who}: no file is written");
        }
    }
    // An existing file is never overwritten.
    let file = dir.path().join("kept.xlsx");
    std::fs::write(&file, b"kept").expect("a file");
    let (ok, _, err) = app.export("filing", &app.application.name, &file, &app.provider_token()).await;
    assert!(!ok && err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read(&file).expect("the file"), b"kept");
}

backend_tests!(start =>
    an_approved_application_is_exported_as_annex_2_and_3,
    a_phone_number_typed_into_the_form_is_masked,
    a_caller_who_may_not_read_the_application_gets_the_refusal_and_no_file,
);
