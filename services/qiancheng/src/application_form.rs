//! `qiancheng export filing` and `qiancheng export application`: a provider's application as the
//! plan's 附件2 项目备案表 and 附件3 项目化培训申报书 with its plan (一项目一方案, 七(二), PROJ-PLAN),
//! Excel workbooks written from selection's records as the caller may read them: the application
//! (`GetApplication`, which decides whether the caller may see it at all), its provider, catalog
//! item and round, the project approved from it, and the quota of the round's county for the
//! round's year. A record the caller may not read is left out and named on the cover; the
//! application itself refused stops the command before any file is written.
//!
//! The first sheet says what the file is, when it was made and under which policy version the
//! round was decided (or, before that, the provider's eligibility judged). Dates are dates, China
//! time; phone and ID numbers a provider typed into the form's free text are masked.

use std::path::Path;

use qiancheng_api::convert::{FromProto as _, optional_industry, skill_level};
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{
    Application, ApplicationState, CatalogItem, GetApplicationRequest, GetCatalogItemRequest, GetProviderRequest,
    GetRoundRequest, ListProjectsRequest, ListQuotasRequest, Project, Provider, Quota, Round, SelectionMethod,
};
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::project::TrainingMode;
use qiancheng_domain::policy::provider::ProviderKind;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use tonic::transport::Channel;

use crate::workbook::{Caller, Value, masked_text, name_in, write_headers, write_pairs};

/// Which of the plan's forms to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// 附件2 项目备案表: the project as filed.
    Filing,
    /// 附件3 申报书 and its plan.
    Application,
}

impl Form {
    /// The form's title, as the plan names it.
    pub fn title(self) -> &'static str {
        match self {
            Form::Filing => "咸宁市“技能照亮前程”项目化培训项目备案表(附件2)",
            Form::Application => "咸宁市开展“技能照亮前程”项目化培训申报书(附件3)",
        }
    }
}

/// An application and what selection lets the caller read around it.
struct Filed {
    application: Application,
    provider: Option<Provider>,
    item: Option<CatalogItem>,
    round: Option<Round>,
    project: Option<Project>,
    quota: Option<Quota>,
    /// The records the caller may not read (or that are gone), by their Chinese name.
    withheld: Vec<&'static str>,
}

/// Writes `form` of the application `name`, read from selection at `addr` with `token`, to
/// `file`; returns the application as read.
pub async fn export(form: Form, name: &str, file: &Path, addr: &str, token: &str) -> Result<Application, String> {
    let selection = Caller::connect("selection", addr, token).await?;
    let filed = read(&selection, name).await?;
    write(form, &filed, file).map_err(|e| e.to_string())?;
    Ok(filed.application)
}

/// A refusal by selection as the command reports it.
fn refused(what: &str) -> impl Fn(tonic::Status) -> String + '_ {
    move |s| format!("selection refused {what} ({:?}): {}", s.code(), s.message())
}

/// What a read the form can do without answers: `None` (and `what` named as withheld) when the
/// caller may not read it or it is gone, the refusal for any other failure.
fn optional<T>(
    answer: Result<tonic::Response<T>, tonic::Status>,
    what: &'static str,
    withheld: &mut Vec<&'static str>,
) -> Result<Option<T>, String> {
    match answer {
        Ok(response) => Ok(Some(response.into_inner())),
        Err(s) if matches!(s.code(), tonic::Code::PermissionDenied | tonic::Code::NotFound) => {
            withheld.push(what);
            Ok(None)
        }
        Err(s) => Err(refused(what)(s)),
    }
}

async fn read(selection: &Caller, name: &str) -> Result<Filed, String> {
    let mut client = SelectionServiceClient::new(selection.channel.clone()).max_decoding_message_size(64 * 1024 * 1024);
    let application = client
        .get_application(selection.request(GetApplicationRequest { name: name.to_owned() }))
        .await
        .map_err(refused("the application"))?
        .into_inner()
        .application
        .ok_or("selection answered without the application")?;
    let mut withheld = Vec::new();
    let provider_name = format!("providers/{}", application.provider_credit_code);
    let answer = client.get_provider(selection.request(GetProviderRequest { name: provider_name })).await;
    let provider = optional(answer, "承训机构", &mut withheld)?.and_then(|r| r.provider);
    let answer = client
        .get_catalog_item(selection.request(GetCatalogItemRequest { name: application.catalog_item.clone() }))
        .await;
    let item = optional(answer, "项目目录条目", &mut withheld)?.and_then(|r| r.catalog_item);
    let answer = client.get_round(selection.request(GetRoundRequest { name: application.round.clone() })).await;
    let round = optional(answer, "遴选批次", &mut withheld)?.and_then(|r| r.round);
    let project = if application.state == ApplicationState::Approved as i32 {
        approved_project(&mut client, selection, &application, &mut withheld).await?
    } else {
        None
    };
    let quota = match &round {
        Some(round) => quota_of(&mut client, selection, round, &mut withheld).await?,
        None => None,
    };
    Ok(Filed { application, provider, item, round, project, quota, withheld })
}

/// The project approved from `application`: the provider's projects, page by page.
async fn approved_project(
    client: &mut SelectionServiceClient<Channel>,
    selection: &Caller,
    application: &Application,
    withheld: &mut Vec<&'static str>,
) -> Result<Option<Project>, String> {
    let mut page_token = String::new();
    loop {
        let request = ListProjectsRequest {
            page_size: 500,
            page_token: page_token.clone(),
            provider_credit_code: application.provider_credit_code.clone(),
            ..Default::default()
        };
        let Some(page) = optional(client.list_projects(selection.request(request)).await, "立项项目", withheld)?
        else {
            return Ok(None);
        };
        if let Some(project) = page.projects.into_iter().find(|p| p.application == application.name) {
            return Ok(Some(project));
        }
        if page.next_page_token.is_empty() {
            return Ok(None);
        }
        page_token = page.next_page_token;
    }
}

/// The quota of the round's county (or the city) for the year of its deadline: one page holds a
/// year's quotas (the city's and its six counties').
async fn quota_of(
    client: &mut SelectionServiceClient<Channel>,
    selection: &Caller,
    round: &Round,
    withheld: &mut Vec<&'static str>,
) -> Result<Option<Quota>, String> {
    let Some(year) = round.deadline.as_ref().map(|d| d.year) else { return Ok(None) };
    let request = ListQuotasRequest { page_size: 500, page_token: String::new(), year };
    let page = optional(client.list_quotas(selection.request(request)).await, "年度培训配额", withheld)?;
    Ok(page.and_then(|p| p.quotas.into_iter().find(|q| q.region_code == round.region_code)))
}

fn region_name(code: &str) -> String {
    RegionCode::parse(code).map(|r| format!("{}({code})", r.name())).unwrap_or_else(|_| code.to_owned())
}

/// An application's states as the form names them.
const STATE_NAMES: &[(ApplicationState, &str)] = &[
    (ApplicationState::Draft, "草稿(未提交)"),
    (ApplicationState::Submitted, "已提交,待遴选"),
    (ApplicationState::Returned, "已退回补正"),
    (ApplicationState::Approved, "已立项"),
    (ApplicationState::Rejected, "未入选"),
];

/// The methods of a round (七(二)) as the form names them.
const METHOD_NAMES: &[(SelectionMethod, &str)] = &[
    (SelectionMethod::Selection, "遴选"),
    (SelectionMethod::OpenChallenge, "揭榜领题"),
    (SelectionMethod::ExpertReview, "专家评审"),
    (SelectionMethod::ComprehensiveEvaluation, "综合评议"),
];

fn mode_name(mode: i32) -> String {
    TrainingMode::from_proto(mode).ok().flatten().map(|m| m.name_zh().to_owned()).unwrap_or_default()
}

fn event_name(action: &str) -> &str {
    match action {
        "create" => "创建",
        "update" => "修改",
        "submit" => "提交",
        "return" => "退回补正",
        "reject" => "未入选",
        "approve" => "立项",
        "consent" => "培训地同意跨区承训",
        other => other,
    }
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

/// Free text the provider typed, phone and ID numbers masked.
fn typed(value: &str) -> Value {
    Value::Text(masked_text(value))
}

impl Filed {
    /// The policy version the cover names: the round's decision, or before it the provider's
    /// eligibility.
    fn policy(&self) -> String {
        match (&self.round, &self.provider) {
            (Some(round), _) if !round.policy_version.is_empty() => {
                let digest = if round.policy_digest.is_empty() {
                    String::new()
                } else {
                    format!(",摘要 {}", round.policy_digest)
                };
                format!("{}(遴选批次决定时{digest})", round.policy_version)
            }
            (_, Some(provider)) => provider
                .eligibility
                .as_ref()
                .map(|d| format!("{}(承训机构资格判定;遴选批次尚未决定)", d.policy_version))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn cover(&self, form: Form) -> Vec<(&'static str, Value)> {
        let app = &self.application;
        let withheld = if self.withheld.is_empty() {
            "无".to_owned()
        } else {
            format!("调阅者无权查看或已不存在:{}", self.withheld.join("、"))
        };
        vec![
            ("文件", text(form.title())),
            ("申报", text(&app.name)),
            ("项目名称", text(&app.filing.as_ref().map(|f| f.project_title.clone()).unwrap_or_default())),
            ("承训机构", text(&format!("{}(统一社会信用代码 {})", app.provider_name, app.provider_credit_code))),
            ("状态", text(name_in(app.state, STATE_NAMES))),
            ("政策版本", Value::Text(self.policy())),
            ("未列入的记录", Value::Text(withheld)),
            ("个人信息", text("填报内容中的手机号码、身份证号码已遮蔽")),
            ("生成时间", Value::Text(crate::workbook::made_at())),
        ]
    }

    /// The applicant's part of either form.
    fn applicant(&self) -> Vec<(&'static str, Value)> {
        let app = &self.application;
        let provider = self.provider.as_ref();
        let kind = provider
            .and_then(|p| ProviderKind::from_proto(p.kind).ok().flatten())
            .map(|k| k.name_zh().to_owned())
            .unwrap_or_default();
        vec![
            ("承训机构名称", text(&app.provider_name)),
            ("统一社会信用代码", text(&app.provider_credit_code)),
            ("机构类型", Value::Text(kind)),
            ("所在县(市、区)", Value::Text(provider.map(|p| region_name(&p.region_code)).unwrap_or_default())),
        ]
    }

    /// The project as filed: title, occupation, level, trainees, hours, mode, days, venue.
    fn project_part(&self) -> Vec<(&'static str, Value)> {
        let app = &self.application;
        let filing = app.filing.clone().unwrap_or_default();
        let item = self.item.as_ref();
        let industry = item
            .and_then(|i| optional_industry(i.industry).ok().flatten())
            .map(|i| i.name_zh().to_owned())
            .unwrap_or_default();
        let level = item
            .and_then(|i| skill_level(i.skill_level).ok().flatten())
            .map(|l| l.name_zh().to_owned())
            .unwrap_or_default();
        let mode = app.plan.as_ref().map(|p| mode_name(p.training_mode)).unwrap_or_default();
        let trainees = if app.in_service_trainees {
            "在岗职工(按培训后6个月内取证率评估)"
        } else {
            "未就业或灵活就业人员等(按培训后6个月内就业率评估)"
        };
        let cross_region = match &self.round {
            Some(round) if round.region_code != app.training_region_code && !round.region_code.is_empty() => {
                if app.cross_region_consent {
                    "是,培训地人社部门已同意"
                } else {
                    "是,培训地人社部门尚未同意"
                }
            }
            Some(_) => "否",
            None => "",
        };
        vec![
            ("项目名称", text(&filing.project_title)),
            ("所属行业", Value::Text(industry)),
            ("职业(工种)代码", text(item.map(|i| i.occupation_code.as_str()).unwrap_or_default())),
            ("职业(工种)名称", text(item.map(|i| i.occupation_name.as_str()).unwrap_or_default())),
            ("职业技能等级", Value::Text(level)),
            ("计划培训人数(人)", Value::Number(f64::from(app.headcount))),
            ("培训学时", item.map_or(Value::Text(String::new()), |i| Value::Number(f64::from(i.hours)))),
            ("培训方式", Value::Text(mode)),
            ("计划开班日期", Value::Day(filing.planned_start)),
            ("计划结业日期", Value::Day(filing.planned_end)),
            ("培训地点", typed(&filing.venue)),
            ("培训县(市、区)", Value::Text(region_name(&app.training_region_code))),
            ("跨区承训", text(cross_region)),
            ("培训对象", text(trainees)),
            ("联系人", typed(&filing.contact)),
        ]
    }

    /// The filing's record: the catalog item, the round, the approval and the quota.
    fn record_part(&self) -> Vec<(&'static str, Value)> {
        let app = &self.application;
        let submitted = app
            .history
            .iter()
            .rev()
            .find(|e| e.action == "submit")
            .map_or(Value::Time(0), |e| Value::Time(e.time_micros));
        let item = self.item.as_ref().map(|i| format!("{}(第 {} 版)", i.name, i.version)).unwrap_or_default();
        let round = self
            .round
            .as_ref()
            .map(|r| format!("{} {}({})", r.name, r.title, region_name(&r.region_code)))
            .unwrap_or_default();
        let method = self.round.as_ref().map(|r| name_in(r.method, METHOD_NAMES)).unwrap_or_default();
        let mut rows = vec![
            ("项目目录条目", Value::Text(item)),
            ("遴选批次", Value::Text(round)),
            ("遴选方式", text(method)),
            ("申报状态", text(name_in(app.state, STATE_NAMES))),
            ("提交时间", submitted),
        ];
        match &self.project {
            Some(project) => rows.extend([
                ("立项项目", text(&project.name)),
                ("核定培训人数(人)", Value::Number(f64::from(project.approved_headcount))),
                ("立项时间", Value::Time(project.create_time_micros)),
            ]),
            None => rows
                .push(("立项项目", text(if app.state == ApplicationState::Approved as i32 { "" } else { "尚未立项" }))),
        }
        if let Some(quota) = &self.quota {
            rows.push((
                "年度培训配额",
                Value::Text(format!(
                    "{} {} 年 {} 人,已核定 {} 人,剩余 {} 人(依据:{})",
                    region_name(&quota.region_code),
                    quota.year,
                    quota.trainees,
                    quota.approved,
                    quota.remaining,
                    quota.basis
                )),
            ));
        }
        rows
    }

    /// The catalog item's demands and the application's summary (附件3).
    fn application_part(&self) -> Vec<(&'static str, Value)> {
        let item = self.item.as_ref();
        let plan = self.application.plan.clone().unwrap_or_default();
        let eligibility = self.provider.as_ref().and_then(|p| p.eligibility.as_ref()).map_or(String::new(), |d| {
            format!(
                "{}(政策版本 {})",
                if d.outcome { "符合承训机构条件" } else { "不符合承训机构条件" },
                d.policy_version
            )
        });
        vec![
            ("承训资格", Value::Text(eligibility)),
            ("技能要求", text(item.map(|i| i.skill_requirements.as_str()).unwrap_or_default())),
            ("目录培训内容", text(item.map(|i| i.content.as_str()).unwrap_or_default())),
            ("对应用工需求", Value::Text(item.map(|i| i.answers.join(";")).unwrap_or_default())),
            ("申报概述", typed(&plan.application_summary)),
        ]
    }

    /// The plan's four parts (一项目一方案), safety included.
    fn plan_part(&self) -> Vec<(&'static str, Value)> {
        let plan = self.application.plan.clone().unwrap_or_default();
        vec![
            ("教学计划", typed(&plan.teaching_plan)),
            ("安全知识和安全操作技能", typed(&plan.safety_content)),
            ("培训方式", Value::Text(mode_name(plan.training_mode))),
            ("考核评价办法", typed(&plan.assessment_method)),
            ("保障学员技能提升(促进就业)措施", typed(&plan.employment_measures)),
        ]
    }
}

/// A form's sheet: its title on the first row, then its parts, each under its heading, keys in
/// the first column and values (wrapped) in the second.
fn write_form(
    sheet: &mut Worksheet,
    title: &str,
    parts: Vec<(&str, Vec<(&'static str, Value)>)>,
) -> Result<(), XlsxError> {
    let heading = crate::workbook::header_format().set_align(FormatAlign::Left);
    sheet.set_column_width(0, 30)?;
    sheet.set_column_width(1, 90)?;
    sheet.set_column_format(1, &Format::new().set_text_wrap().set_align(FormatAlign::Top))?;
    sheet.merge_range(0, 0, 0, 1, title, &Format::new().set_bold().set_font_size(14).set_align(FormatAlign::Center))?;
    let mut at = 1;
    for (name, rows) in parts {
        sheet.merge_range(at, 0, at, 1, name, &heading)?;
        at = write_pairs(sheet, at + 1, rows)?;
    }
    Ok(())
}

/// The workbook of `form`: 说明, then 项目备案表 (附件2), or 申报书, 培训方案 and 办理记录 (附件3).
fn write(form: Form, filed: &Filed, file: &Path) -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    let cover = book.add_worksheet().set_name("说明")?;
    cover.set_column_width(0, 20)?;
    cover.set_column_width(1, 90)?;
    write_pairs(cover, 0, filed.cover(form))?;
    match form {
        Form::Filing => {
            let sheet = book.add_worksheet().set_name("项目备案表")?;
            let parts = vec![
                ("一、承训机构", filed.applicant()),
                ("二、培训项目", filed.project_part()),
                ("三、备案与遴选", filed.record_part()),
            ];
            write_form(sheet, form.title(), parts)?;
        }
        Form::Application => {
            let sheet = book.add_worksheet().set_name("申报书")?;
            let parts = vec![
                ("一、申报单位", filed.applicant()),
                ("二、申报项目", filed.project_part()),
                ("三、申报内容", filed.application_part()),
            ];
            write_form(sheet, form.title(), parts)?;
            let sheet = book.add_worksheet().set_name("培训方案")?;
            write_form(sheet, "个性化培训方案(一项目一方案)", vec![("培训方案", filed.plan_part())])?;
            let sheet = book.add_worksheet().set_name("办理记录")?;
            let header = crate::workbook::header_format();
            write_headers(sheet, &[("时间", 20.0), ("事项", 18.0), ("办理人", 28.0), ("说明", 60.0)], &header)?;
            for (i, event) in filed.application.history.iter().enumerate() {
                let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
                crate::workbook::write_value(sheet, (row, 0), Value::Time(event.time_micros))?;
                sheet.write_string(row, 1, event_name(&event.action))?;
                sheet.write_string(row, 2, &event.actor)?;
                sheet.write_string(row, 3, masked_text(&event.reason))?;
            }
        }
    }
    crate::workbook::printable(&mut book);
    book.save(file)
}
