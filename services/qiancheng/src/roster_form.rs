//! `qiancheng import roster`: a provider's 实名制花名册 (ELIG-REALNAME, 七(三) 凡补必进、不进不补) as
//! it keeps it in Excel, put on a class's roster through supervision's `ChangeRoster`.
//!
//! Each row is one trainee. A cell that cannot be read (an ID number failing PERSON-ID, a phone,
//! a target group nobody knows) refuses its row here with the value's rule code; every other row
//! is sent as one `ChangeRoster` addition, which the service judges as a filing's entry (ELIG-*,
//! CLASS-HEADCOUNT) and applies at once before the class's first day or leaves waiting for an
//! officer from it. A bad row never stops the good ones. Each row's request id is a digest of the
//! class and the row's content, so running the same workbook again stores nothing twice: the
//! service answers those rows with the change it stored the first time, and the command tells
//! them apart from new ones by the changes the class had before the run.
//!
//! The result workbook repeats each row with its result, the name, ID number and phone masked
//! (it is a working file that travels further than the roster itself).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use calamine::Data;
use qiancheng_api::convert;
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::{
    ChangeRosterRequest, GetClassRequest, ListRosterChangesRequest, LocalBasis, RosterChangeState, TraineeInput,
};
use qiancheng_domain::{IdNumber, PhoneNumber, SkillLevel, TargetGroup, ValueError};
use qiancheng_platform::pii::{mask_name, masked};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use sha2::{Digest as _, Sha256};
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

use crate::workbook::{Columns, Row, header_format, locate_columns, progress, read_sheet, text_of, write_cell};

/// The columns of the 花名册, in the template's order: the header, the other headers providers
/// write for it, whether a value is required, and what it fills.
const COLUMNS: &Columns<Column> = &[
    ("姓名", &["学员姓名", "学员"], true, Column::Name),
    ("身份证号码", &["身份证号", "公民身份号码", "身份证", "证件号码"], true, Column::IdNumber),
    ("手机号码", &["手机号", "手机", "联系电话", "电话"], true, Column::Phone),
    ("人员类别", &["培训对象类别", "对象类别", "人员类型"], true, Column::Group),
    ("是否在岗职工", &["在岗职工"], false, Column::InService),
    ("现有技能等级", &["技能等级", "已有技能等级"], false, Column::Level),
    ("是否财政供养人员", &["财政供养人员", "财政供养"], false, Column::BudgetPaid),
    ("本地劳动者依据", &["本市劳动者依据", "本地依据"], false, Column::LocalBasis),
    ("依据材料", &["证明材料", "依据证明"], false, Column::Evidence),
    ("拟录用企业", &["拟招聘企业"], false, Column::Prehire),
    ("变更原因", &["原因", "备注"], false, Column::Reason),
];

/// What a column fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Name,
    IdNumber,
    Phone,
    Group,
    InService,
    Level,
    BudgetPaid,
    LocalBasis,
    Evidence,
    Prehire,
    Reason,
}

/// ELIG-LOCAL's bases by the words providers use.
const LOCAL_BASES: &[(&str, LocalBasis)] = &[
    ("户籍", LocalBasis::HouseholdRegistration),
    ("户口", LocalBasis::HouseholdRegistration),
    ("居住证", LocalBasis::ResidencePermit),
    ("本地企业", LocalBasis::LocalEmployer),
    ("本地用人单位", LocalBasis::LocalEmployer),
    ("重点项目企业", LocalBasis::KeyProjectEmployer),
];

/// The reason a roster change carries when the row gives none.
const DEFAULT_REASON: &str = "花名册导入";

/// Calls refused as `ABORTED` (another writer of the class came first) are tried this often.
const ATTEMPTS: u32 = 3;

/// What a roster import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Data rows read.
    pub rows: usize,
    /// Trainees put on the roster now.
    pub added: usize,
    /// Additions proposed now, waiting for an officer (the class has started).
    pub proposed: usize,
    /// Rows stored by an earlier run (or an identical row above).
    pub replayed: usize,
    /// Rows refused, here or by the service.
    pub refused: usize,
}

/// The result of one row.
#[derive(Debug, Clone)]
enum Outcome {
    Added(String),
    Proposed(String),
    Replayed(String),
    Refused { code: String, field: String, message: String },
}

impl Outcome {
    fn text(&self) -> String {
        match self {
            Self::Added(name) => format!("已加入名册 {name}"),
            Self::Proposed(name) => format!("已提交,待县级审批 {name}"),
            Self::Replayed(name) => format!("此前已导入 {name}(未重复保存)"),
            Self::Refused { code, field, message } if field.is_empty() => format!("未导入 [{code}] {message}"),
            Self::Refused { code, field, message } => format!("未导入 [{code}] {field}: {message}"),
        }
    }

    fn refused(column: Column, error: ValueError) -> Self {
        Self::Refused { code: error.rule.to_owned(), field: header_of(column).to_owned(), message: error.reason }
    }
}

fn header_of(column: Column) -> &'static str {
    COLUMNS.iter().find(|c| c.3 == column).map_or("", |c| c.0)
}

/// Imports the roster workbook `file` onto `class`, writes the result workbook `output`.
pub async fn import(
    file: &Path,
    class: &str,
    sheet: Option<&str>,
    output: &Path,
    (addr, token): (&str, &str),
    quiet: bool,
) -> Result<Summary, String> {
    if output.exists() {
        return Err(format!("{} exists already: pass --output to name another file", output.display()));
    }
    let anchor = COLUMNS.iter().find(|c| c.3 == Column::IdNumber).ok_or("no ID number column")?;
    let (headers, rows) = read_sheet(file, sheet, (anchor.0, anchor.1), "roster")?;
    let columns = locate_columns(&headers, COLUMNS)?;
    let mut client = Supervision::connect(addr, token).await?;
    let title = client.class_title(class).await?;
    let before = client.changes_of(class).await?;
    let bar = progress(rows.len(), quiet);
    let mut outcomes: HashMap<usize, Outcome> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    for row in &rows {
        let outcome = match input_of(&columns, row) {
            Err(refused) => refused,
            Ok((input, reason)) => {
                let request = ChangeRosterRequest {
                    class: class.to_owned(),
                    add: Some(input),
                    reason,
                    request_id: request_id(class, &row.cells),
                    ..Default::default()
                };
                client.add(request, &before, &mut seen).await?
            }
        };
        outcomes.insert(row.number, outcome);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut summary = Summary { rows: rows.len(), ..Summary::default() };
    for outcome in outcomes.values() {
        match outcome {
            Outcome::Added(_) => summary.added += 1,
            Outcome::Proposed(_) => summary.proposed += 1,
            Outcome::Replayed(_) => summary.replayed += 1,
            Outcome::Refused { .. } => summary.refused += 1,
        }
    }
    let about = About { source: file, class, title: &title, summary: &summary };
    write_results(output, &headers, &columns, &rows, &outcomes, &about).map_err(|e| e.to_string())?;
    Ok(summary)
}

/// Supervision as the import calls it, with the caller's token.
struct Supervision {
    client: SupervisionServiceClient<Channel>,
    caller: crate::workbook::Caller,
}

impl Supervision {
    async fn connect(addr: &str, token: &str) -> Result<Self, String> {
        let caller = crate::workbook::Caller::connect("supervision", addr, token).await?;
        Ok(Self { client: SupervisionServiceClient::new(caller.channel.clone()), caller })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        self.caller.request(message)
    }

    /// The class's title, read first so that a wrong class or token stops the import before any
    /// row is sent.
    async fn class_title(&mut self, class: &str) -> Result<String, String> {
        let request = self.request(GetClassRequest { name: class.to_owned() });
        let answer = self.client.get_class(request).await.map_err(|s| stopped("read the class", &s))?;
        Ok(answer.into_inner().class.map(|c| c.title).unwrap_or_default())
    }

    /// The names of the class's roster changes so far: a row answered with one of them was
    /// imported before.
    async fn changes_of(&mut self, class: &str) -> Result<HashSet<String>, String> {
        let mut names = HashSet::new();
        let mut page_token = String::new();
        loop {
            let request = self.request(ListRosterChangesRequest {
                class: class.to_owned(),
                page_size: 500,
                page_token: page_token.clone(),
                state: RosterChangeState::Unspecified as i32,
            });
            let page = self
                .client
                .list_roster_changes(request)
                .await
                .map_err(|s| stopped("list the class's roster changes", &s))?
                .into_inner();
            names.extend(page.changes.into_iter().map(|c| c.name));
            if page.next_page_token.is_empty() {
                return Ok(names);
            }
            page_token = page.next_page_token;
        }
    }

    /// Sends one addition; a refusal of the row is its outcome, a failure of the call (the
    /// service gone, the token refused) stops the import.
    async fn add(
        &mut self,
        request: ChangeRosterRequest,
        before: &HashSet<String>,
        seen: &mut HashSet<String>,
    ) -> Result<Outcome, String> {
        let mut attempt = 1;
        loop {
            match self.client.change_roster(self.request(request.clone())).await {
                Ok(answer) => {
                    let answer = answer.into_inner();
                    let change = answer.change.unwrap_or_default();
                    let trainee = answer.trainee.map(|t| t.name).unwrap_or_default();
                    if before.contains(&change.name) || !seen.insert(change.name.clone()) {
                        return Ok(Outcome::Replayed(trainee));
                    }
                    return Ok(if change.state == RosterChangeState::Pending as i32 {
                        Outcome::Proposed(change.name)
                    } else {
                        Outcome::Added(trainee)
                    });
                }
                Err(status) if status.code() == tonic::Code::Aborted && attempt < ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(status) if row_refusal(status.code()) => return Ok(refusal_of(&status)),
                Err(status) => return Err(stopped_midway(&status)),
            }
        }
    }
}

/// Whether a status refuses the row (and the next row may pass) rather than the whole import.
fn row_refusal(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(
        code,
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted | Code::OutOfRange
    )
}

/// Why the import stopped before sending a row: nothing was stored.
fn stopped(what: &str, status: &tonic::Status) -> String {
    format!("supervision refused to {what} ({:?}): {}; nothing was imported", status.code(), status.message())
}

/// Why the import stopped while sending rows: those sent before were stored.
fn stopped_midway(status: &tonic::Status) -> String {
    format!(
        "supervision failed to add a trainee ({:?}): {}; rows sent before this were stored, and running the same \
         workbook again finishes the job without storing any twice",
        status.code(),
        status.message()
    )
}

/// A row refused by the service: its rule code, the column of the first field it names, why.
fn refusal_of(status: &tonic::Status) -> Outcome {
    let details = status.get_error_details();
    let code = details.error_info().map(|i| i.reason.clone()).unwrap_or_else(|| format!("{:?}", status.code()));
    let violation = details.bad_request().and_then(|b| b.field_violations.first().cloned());
    match violation {
        Some(v) => Outcome::Refused {
            code,
            field: header_of_field(&v.field).unwrap_or(&v.field).to_owned(),
            message: v.description,
        },
        None => Outcome::Refused { code, field: String::new(), message: status.message().to_owned() },
    }
}

/// The column header of a request field the service named (`add.id_number` → 身份证号码).
fn header_of_field(field: &str) -> Option<&'static str> {
    let column = match field.rsplit('.').next()? {
        "person_name" => Column::Name,
        "id_number" => Column::IdNumber,
        "phone" => Column::Phone,
        "target_group" => Column::Group,
        "in_service" => Column::InService,
        "skill_level" => Column::Level,
        "budget_paid" => Column::BudgetPaid,
        "local_basis" => Column::LocalBasis,
        "local_basis_evidence" => Column::Evidence,
        "prehire_enterprise" => Column::Prehire,
        "reason" => Column::Reason,
        _ => return None,
    };
    Some(header_of(column))
}

/// The row as a trainee to add and the change's reason, or the first cell that cannot be read,
/// refused with its value's rule.
fn input_of(columns: &HashMap<Column, usize>, row: &Row) -> Result<(TraineeInput, String), Outcome> {
    let text = |column: Column| columns.get(&column).and_then(|i| row.cells.get(*i)).map(text_of).unwrap_or_default();
    let name = text(Column::Name);
    if name.is_empty() {
        return Err(Outcome::refused(Column::Name, ValueError::new("REQUIRED", "a trainee has a name")));
    }
    let id = IdNumber::parse(&text(Column::IdNumber)).map_err(|e| Outcome::refused(Column::IdNumber, e))?;
    let phone = PhoneNumber::parse(&text(Column::Phone)).map_err(|e| Outcome::refused(Column::Phone, e))?;
    let group = TargetGroup::parse(&text(Column::Group)).map_err(|e| Outcome::refused(Column::Group, e))?;
    let mut input = TraineeInput {
        person_name: name,
        id_number: id.as_str().to_owned(),
        phone: phone.as_str().to_owned(),
        target_group: convert::target_group_to_proto(group),
        local_basis_evidence: text(Column::Evidence),
        prehire_enterprise: text(Column::Prehire),
        ..TraineeInput::default()
    };
    input.in_service = yes_no(&text(Column::InService)).map_err(|e| Outcome::refused(Column::InService, e))?;
    input.budget_paid = yes_no(&text(Column::BudgetPaid)).map_err(|e| Outcome::refused(Column::BudgetPaid, e))?;
    let level = text(Column::Level);
    if !level.is_empty() && level != "无" {
        let level = SkillLevel::parse(&level).map_err(|e| Outcome::refused(Column::Level, e))?;
        input.skill_level = convert::skill_level_to_proto(Some(level));
    }
    let basis = text(Column::LocalBasis);
    if !basis.is_empty() {
        input.local_basis =
            LOCAL_BASES.iter().find(|(words, _)| *words == basis).map(|(_, b)| *b as i32).ok_or_else(|| {
                let known: Vec<&str> = LOCAL_BASES.iter().map(|(w, _)| *w).collect();
                Outcome::refused(
                    Column::LocalBasis,
                    ValueError::new("ELIG-LOCAL", format!("is one of {}", known.join("、"))),
                )
            })?;
    }
    let reason = Some(text(Column::Reason)).filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_REASON.to_owned());
    Ok((input, reason))
}

/// 是 or 否 as offices write it; blank is 否.
fn yes_no(text: &str) -> Result<bool, ValueError> {
    match text.trim() {
        "是" | "Y" | "y" | "√" | "1" | "TRUE" | "true" => Ok(true),
        "" | "否" | "N" | "n" | "×" | "0" | "FALSE" | "false" => Ok(false),
        _ => Err(ValueError::new("REQUIRED", "is 是 or 否")),
    }
}

/// The request id of a row: the class and the row's content, so that the same row sent again
/// to the same class is the same request whatever its position in the sheet.
fn request_id(class: &str, cells: &[Data]) -> String {
    let mut hash = Sha256::new();
    hash.update(class.as_bytes());
    hash.update([0x1e]);
    for cell in cells {
        hash.update(text_of(cell).as_bytes());
        hash.update([0x1f]);
    }
    format!("roster-xlsx-{}", &hex::encode(hash.finalize())[..40])
}

/// What the 说明 sheet says.
struct About<'a> {
    source: &'a Path,
    class: &'a str,
    title: &'a str,
    summary: &'a Summary,
}

/// The result workbook: each row with its result, personal data masked, and a sheet saying what
/// it is.
fn write_results(
    output: &Path,
    headers: &[String],
    columns: &HashMap<Column, usize>,
    rows: &[Row],
    outcomes: &HashMap<usize, Outcome>,
    about: &About<'_>,
) -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    let refused_format = Format::new().set_font_color("#C00000");
    let personal: HashMap<usize, Column> = columns
        .iter()
        .filter(|(c, _)| matches!(c, Column::Name | Column::IdNumber | Column::Phone))
        .map(|(c, i)| (*i, *c))
        .collect();
    let sheet = book.add_worksheet().set_name("导入结果")?;
    let result_column = u16::try_from(headers.len() + 1).unwrap_or(u16::MAX);
    sheet.write_string_with_format(0, 0, "行号", &header_format())?;
    for (i, header) in headers.iter().enumerate() {
        let column = u16::try_from(i + 1).unwrap_or(u16::MAX);
        sheet.write_string_with_format(0, column, header, &header_format())?;
        sheet.set_column_width(column, if personal.contains_key(&i) { 22 } else { 14 })?;
    }
    sheet.write_string_with_format(0, result_column, "导入结果", &header_format())?;
    sheet.set_column_width(result_column, 70)?;
    for (i, row) in rows.iter().enumerate() {
        let at = u32::try_from(i + 1).unwrap_or(u32::MAX);
        sheet.write_number(at, 0, row.number as f64)?;
        for (j, cell) in row.cells.iter().enumerate() {
            let column = u16::try_from(j + 1).unwrap_or(u16::MAX);
            match personal.get(&j) {
                Some(Column::Name) => sheet.write_string(at, column, mask_name(&text_of(cell))).map(|_| ())?,
                Some(Column::IdNumber) => sheet.write_string(at, column, masked(&text_of(cell), 6, 4)).map(|_| ())?,
                Some(_) => sheet.write_string(at, column, masked(&text_of(cell), 3, 4)).map(|_| ())?,
                None => write_cell(sheet, (at, column), cell, &date_format)?,
            }
        }
        let outcome = outcomes.get(&row.number).map(Outcome::text).unwrap_or_else(|| "未处理".to_owned());
        if outcome.starts_with("未导入") {
            sheet.write_string_with_format(at, result_column, outcome, &refused_format)?;
        } else {
            sheet.write_string(at, result_column, outcome)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let cover = book.add_worksheet().set_name("说明")?;
    cover.set_column_width(0, 16)?;
    cover.set_column_width(1, 70)?;
    let s = about.summary;
    let lines = [
        ("文件", "咸宁市“技能照亮前程”项目化培训 实名制花名册导入结果".to_owned()),
        ("班级", format!("{} {}", about.class, about.title)),
        ("来源文件", about.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        ("生成时间", crate::workbook::made_at()),
        ("行数", s.rows.to_string()),
        ("已加入名册", s.added.to_string()),
        ("待县级审批", s.proposed.to_string()),
        ("此前已导入", s.replayed.to_string()),
        ("未导入", s.refused.to_string()),
        ("个人信息", "姓名、身份证号码、手机号码已遮蔽".to_owned()),
        (
            "说明",
            "开班前导入的学员直接加入名册;开班后导入的为名册变更,待县级审核。未导入的行注明规则代码(见 docs/RULES.md)\
             和原因;改正后可将整个文件重新导入,已导入的行不会重复保存。"
                .to_owned(),
        ),
    ];
    crate::workbook::write_lines(cover, 0, &lines)?;
    crate::workbook::printable(&mut book);
    book.save(output)
}

/// The template: the headers on the first sheet, and a sheet of instructions with an example row
/// and the values each coded column takes.
pub fn write_template(file: &Path) -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("花名册")?;
    let required = header_format().set_font_color("#C00000");
    let text = Format::new().set_num_format("@");
    for (i, (header, _, is_required, column)) in COLUMNS.iter().enumerate() {
        let at = u16::try_from(i).unwrap_or(u16::MAX);
        let format = if *is_required { &required } else { &header_format() };
        sheet.write_string_with_format(0, at, *header, format)?;
        // ID numbers and phones as text, so that Excel keeps every digit (and the X).
        if matches!(column, Column::IdNumber | Column::Phone) {
            sheet.set_column_format(at, &text)?;
            sheet.set_column_width(at, 22)?;
        } else {
            sheet.set_column_width(at, 16)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let about = book.add_worksheet().set_name("填表说明")?;
    about.set_column_width(0, 18)?;
    about.set_column_width(1, 80)?;
    let groups: Vec<&str> = TargetGroup::ALL.iter().map(|g| g.name_zh()).collect();
    let levels: Vec<&str> = SkillLevel::ALL.iter().map(|l| l.name_zh()).collect();
    let bases: Vec<&str> = LOCAL_BASES.iter().map(|(w, _)| *w).collect();
    let notes = [
        ("表名", "咸宁市“技能照亮前程”项目化培训 实名制花名册".to_owned()),
        ("红色表头", "必填".to_owned()),
        ("身份证号码", "18位,末位可为X;请以文本格式填写".to_owned()),
        ("手机号码", "11位手机号码".to_owned()),
        ("人员类别", groups.join("、")),
        ("是否在岗职工、是否财政供养人员", "是 或 否(空白为否)".to_owned()),
        ("现有技能等级", format!("{}(无则空白)", levels.join("、"))),
        ("本地劳动者依据", bases.join("、")),
        ("变更原因", format!("空白时为“{DEFAULT_REASON}”")),
        (
            "导入",
            "qiancheng import roster 文件.xlsx --class classes/…(结果写入 文件.结果.xlsx;开班后导入的待县级审批)"
                .to_owned(),
        ),
    ];
    let after = crate::workbook::write_lines(about, 0, &notes)?;
    let example =
        ["张三", "42122119900101001X", "13800000000", "农村转移就业劳动者", "否", "", "否", "户籍", "户口簿", "", ""];
    crate::workbook::write_example(about, after + 1, COLUMNS.iter().map(|c| c.0).zip(example))?;
    crate::workbook::printable(&mut book);
    book.save(file)
}

/// The default result workbook of `file`.
pub fn result_path(file: &Path) -> PathBuf {
    crate::workbook::result_path(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_in_the_result_is_masked() {
        assert_eq!(masked("42122119900101001X", 6, 4), "421221********001X");
        assert_eq!(masked("13812345678", 3, 4), "138****5678");
        assert_eq!(masked("4212", 6, 4), "****", "too short to show any of it");
        assert_eq!(masked("", 6, 4), "");
    }

    #[test]
    fn a_roster_row_keeps_its_request_id_wherever_it_stands_and_per_class() {
        let row = [Data::String("张三".into()), Data::String("13800000000".into())];
        assert_eq!(request_id("classes/a", &row), request_id("classes/a", &row.clone()));
        assert_ne!(request_id("classes/a", &row), request_id("classes/b", &row));
        assert!(request_id("classes/a", &row).len() <= 128);
    }

    #[test]
    fn yes_and_no_are_read_as_offices_write_them() {
        assert_eq!(yes_no("是"), Ok(true));
        assert_eq!(yes_no(""), Ok(false));
        assert_eq!(yes_no("否"), Ok(false));
        assert!(yes_no("也许").is_err());
    }

    #[test]
    fn a_refused_field_is_named_by_its_column() {
        assert_eq!(header_of_field("add.id_number"), Some("身份证号码"));
        assert_eq!(header_of_field("add.local_basis"), Some("本地劳动者依据"));
        assert_eq!(header_of_field("add.nonsense"), None);
    }
}
