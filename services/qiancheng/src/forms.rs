//! `qiancheng import`: the plan's forms as the offices keep them, in spreadsheets.
//!
//! 附件1 (岗位需求表, the employers' vacancies a county surveys) is read from an Excel workbook
//! with Chinese column headers as offices write them (docs/forms.md), streamed to the demand
//! service's `StreamVacancyImport` with a progress bar, and answered with a result workbook: the
//! same rows with a column saying, for each, whether it was imported or which rule refused it.
//! A bad row never stops the good ones: a cell that cannot be read is refused here with the rule
//! code of the value (MONEY, DATE, SKILL-LEVEL, …), a row the service refuses gets the service's
//! code. Every row carries a request id made from its content, so running the same workbook again
//! stores nothing twice (the service answers those rows as replayed). The roster (实名制花名册)
//! is read with the same sheet reader by [`crate::roster_form`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use calamine::Data;
use chrono::NaiveDate;
use clap::Subcommand;
use qiancheng_api::convert;
use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::{ImportRowResult, StreamVacancyImportRequest, SurveyMethod, Vacancy};
use qiancheng_domain::{Industry, Money, OccupationCode, RegionCode, SkillLevel, ValueError};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use sha2::{Digest as _, Sha256};

use crate::workbook::{
    Columns, Row, header_format, locate_columns, progress, read_sheet, result_path, text_of, write_cell,
};

/// What `qiancheng import` does.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import the vacancies of a 附件1 岗位需求表 workbook into the demand service, and write a
    /// result workbook beside it (FILE.结果.xlsx unless --output names another) with a result per
    /// row. Bad rows are marked and never stop the good ones; running the same workbook again
    /// stores nothing twice. The headers are those of `qiancheng import template vacancies`
    /// (docs/forms.md); a title row above them is allowed.
    Vacancies {
        /// The workbook (.xlsx, .xls or .ods).
        file: PathBuf,
        /// The sheet to read (default: the first).
        #[arg(long)]
        sheet: Option<String>,
        /// The result workbook to write (default: the file's name with .结果.xlsx).
        #[arg(long)]
        output: Option<PathBuf>,
        /// The demand service.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// A bearer token of a city administrator, a county officer or an enterprise (`qiancheng
        /// token`); default: the QIANCHENG_TOKEN variable.
        #[arg(long, env = "QIANCHENG_TOKEN", hide_env_values = true)]
        token: String,
        /// Hide the progress bar (it is hidden anyway when the output is not a terminal).
        #[arg(long)]
        quiet: bool,
    },
    /// Put the trainees of a provider's 实名制花名册 workbook on a class's roster through the
    /// supervision service (one ChangeRoster addition per row: on the roster at once before the
    /// class's first day, waiting for an officer from it), and write a result workbook beside it
    /// with a result per row, names, ID numbers and phones masked. Bad rows are marked and never
    /// stop the good ones; running the same workbook again stores nothing twice. The headers are
    /// those of `qiancheng import template roster` (docs/forms.md).
    Roster {
        /// The workbook (.xlsx, .xls or .ods).
        file: PathBuf,
        /// The class (`classes/…`).
        #[arg(long)]
        class: String,
        /// The sheet to read (default: the first).
        #[arg(long)]
        sheet: Option<String>,
        /// The result workbook to write (default: the file's name with .结果.xlsx).
        #[arg(long)]
        output: Option<PathBuf>,
        /// The supervision service.
        #[arg(long, default_value = "http://127.0.0.1:50053")]
        addr: String,
        /// A bearer token of the class's provider (`qiancheng token --role PROVIDER --org CODE`);
        /// default: the QIANCHENG_TOKEN variable.
        #[arg(long, env = "QIANCHENG_TOKEN", hide_env_values = true)]
        token: String,
        /// Hide the progress bar (it is hidden anyway when the output is not a terminal).
        #[arg(long)]
        quiet: bool,
    },
    /// Write an empty form with its headers, one example row on a sheet of instructions, and the
    /// values each coded column takes.
    Template {
        /// The form: `vacancies` (附件1 岗位需求表) or `roster` (实名制花名册).
        #[arg(value_parser = ["vacancies", "roster"])]
        form: String,
        /// The workbook to write; it must not exist yet.
        file: PathBuf,
    },
}

/// Runs `command`.
pub async fn run(command: ImportCommand) -> Result<(), String> {
    match command {
        ImportCommand::Template { form, file } => {
            if file.exists() {
                return Err(format!("{} exists already", file.display()));
            }
            match form.as_str() {
                "roster" => crate::roster_form::write_template(&file).map_err(|e| e.to_string())?,
                _ => write_template(&file)?,
            }
            println!("wrote {}", file.display());
            Ok(())
        }
        ImportCommand::Roster { file, class, sheet, output, addr, token, quiet } => {
            let output = output.unwrap_or_else(|| crate::roster_form::result_path(&file));
            let summary =
                crate::roster_form::import(&file, &class, sheet.as_deref(), &output, (&addr, &token), quiet).await?;
            println!(
                "{} rows: {} put on the roster, {} waiting for an officer, {} imported before (nothing stored twice), \
                 {} refused; results in {}",
                summary.rows,
                summary.added,
                summary.proposed,
                summary.replayed,
                summary.refused,
                output.display()
            );
            Ok(())
        }
        ImportCommand::Vacancies { file, sheet, output, addr, token, quiet } => {
            let output = output.unwrap_or_else(|| result_path(&file));
            let summary = import_vacancies(&file, sheet.as_deref(), &output, &addr, &token, quiet).await?;
            println!(
                "{} rows: {} imported, {} imported before (nothing stored twice), {} refused; results in {}",
                summary.rows,
                summary.imported,
                summary.replayed,
                summary.refused,
                output.display()
            );
            Ok(())
        }
    }
}

/// The columns of 附件1, in the template's order: the header, the other headers offices write
/// for it, whether a value is required, and what it fills.
const COLUMNS: &Columns<Field> = &[
    ("企业名称", &["用人单位", "用人单位名称", "单位名称"], true, Field::EnterpriseName),
    ("统一社会信用代码", &["信用代码", "社会信用代码"], true, Field::CreditCode),
    ("所在县(市、区)", &["县市区", "所在地区", "区域", "所在县市区"], true, Field::Region),
    ("岗位名称", &["岗位", "需求岗位"], true, Field::Post),
    ("职业(工种)代码", &["职业代码", "工种代码"], false, Field::OccupationCode),
    ("职业(工种)名称", &["职业(工种)", "职业工种", "工种", "职业名称"], true, Field::OccupationName),
    ("职业技能等级", &["技能等级", "等级"], true, Field::Level),
    ("需求人数", &["人数", "招聘人数"], true, Field::Headcount),
    ("月薪下限(元)", &["薪酬下限", "工资下限", "最低月薪"], true, Field::PayMin),
    ("月薪上限(元)", &["薪酬上限", "工资上限", "最高月薪"], false, Field::PayMax),
    ("岗位要求", &["任职要求", "要求"], false, Field::Requirements),
    ("工作地点", &["工作地", "工作地区"], false, Field::WorkRegion),
    ("需求时间", &["到岗时间", "用工时间", "需求日期"], true, Field::NeededBy),
    ("调查方式", &["摸底方式", "采集方式"], true, Field::Survey),
    ("所属行业", &["行业", "产业"], false, Field::Industry),
];

/// What a column fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    EnterpriseName,
    CreditCode,
    Region,
    Post,
    OccupationCode,
    OccupationName,
    Level,
    Headcount,
    PayMin,
    PayMax,
    Requirements,
    WorkRegion,
    NeededBy,
    Survey,
    Industry,
}

/// The survey methods by the words offices use (七(一) names 上门调查 and 线上就业服务平台).
const SURVEY_METHODS: &[(&str, SurveyMethod)] = &[
    ("上门调查", SurveyMethod::DoorToDoor),
    ("线上就业服务平台", SurveyMethod::OnlinePlatform),
    ("线上平台", SurveyMethod::OnlinePlatform),
    ("招聘会", SurveyMethod::JobFair),
    ("其他", SurveyMethod::Other),
];

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Data rows read.
    pub rows: usize,
    /// Rows stored now.
    pub imported: usize,
    /// Rows stored by an earlier run of the same rows.
    pub replayed: usize,
    /// Rows refused, here or by the service.
    pub refused: usize,
}

/// The result of one row, as the result workbook writes it.
#[derive(Debug, Clone)]
enum Outcome {
    Imported(String),
    Replayed(String),
    Refused { code: String, field: String, message: String },
}

impl Outcome {
    fn text(&self) -> String {
        match self {
            Self::Imported(name) => format!("已导入 {name}"),
            Self::Replayed(name) => format!("此前已导入 {name}(未重复保存)"),
            Self::Refused { code, field, message } if field.is_empty() => format!("未导入 [{code}] {message}"),
            Self::Refused { code, field, message } => format!("未导入 [{code}] {field}: {message}"),
        }
    }
}

async fn import_vacancies(
    file: &Path,
    sheet: Option<&str>,
    output: &Path,
    addr: &str,
    token: &str,
    quiet: bool,
) -> Result<Summary, String> {
    if output.exists() {
        return Err(format!("{} exists already: pass --output to name another file", output.display()));
    }
    let post = COLUMNS.iter().find(|c| c.3 == Field::Post).ok_or("no post column")?;
    let (headers, rows) = read_sheet(file, sheet, (post.0, post.1), "vacancies")?;
    let columns = locate_columns(&headers, COLUMNS)?;
    let mut outcomes: HashMap<usize, Outcome> = HashMap::new();
    let mut requests = Vec::new();
    for row in &rows {
        match vacancy_of(&columns, row) {
            Ok(vacancy) => requests.push(StreamVacancyImportRequest {
                request_id: request_id(&row.cells),
                row_ref: row.number.to_string(),
                vacancy: Some(vacancy),
            }),
            Err(refused) => {
                outcomes.insert(row.number, refused);
            }
        }
    }
    let bar = progress(rows.len(), quiet);
    bar.inc(outcomes.len() as u64);
    if !requests.is_empty() {
        let results = send(addr, token, requests, &bar).await?;
        for result in results {
            let number: usize = result.row_ref.parse().map_err(|_| "the service answered a row it was not sent")?;
            outcomes.insert(number, outcome_of(&result));
        }
    }
    bar.finish_and_clear();
    let mut summary = Summary { rows: rows.len(), ..Summary::default() };
    for outcome in outcomes.values() {
        match outcome {
            Outcome::Imported(_) => summary.imported += 1,
            Outcome::Replayed(_) => summary.replayed += 1,
            Outcome::Refused { .. } => summary.refused += 1,
        }
    }
    write_results(output, file, &headers, &rows, &outcomes, &summary).map_err(|e| e.to_string())?;
    Ok(summary)
}

/// Streams the rows to StreamVacancyImport and collects the results as each chunk commits.
async fn send(
    addr: &str,
    token: &str,
    requests: Vec<StreamVacancyImportRequest>,
    bar: &indicatif::ProgressBar,
) -> Result<Vec<ImportRowResult>, String> {
    let demand = crate::workbook::Caller::connect("demand", addr, token).await?;
    let mut client = DemandServiceClient::new(demand.channel.clone()).max_decoding_message_size(64 * 1024 * 1024);
    let sent = requests.len();
    let request = demand.request(tokio_stream::iter(requests));
    let mut answers = client.stream_vacancy_import(request).await.map_err(|s| refusal(&s))?.into_inner();
    let mut results = Vec::with_capacity(sent);
    while let Some(chunk) = answers.message().await.map_err(|s| refusal(&s))? {
        bar.inc(chunk.results.len() as u64);
        results.extend(chunk.results);
    }
    if results.len() != sent {
        return Err(format!(
            "the service settled {} of {sent} rows before the stream ended: run the same workbook again to \
             finish (rows already stored are not stored twice)",
            results.len()
        ));
    }
    Ok(results)
}

fn refusal(status: &tonic::Status) -> String {
    format!("the demand service refused the import ({:?}): {}", status.code(), status.message())
}

fn outcome_of(result: &ImportRowResult) -> Outcome {
    match (result.ok, result.replayed) {
        (true, false) => Outcome::Imported(result.vacancy_name.clone()),
        (true, true) => Outcome::Replayed(result.vacancy_name.clone()),
        (false, _) => Outcome::Refused {
            code: result.reason.clone(),
            field: header_of_field(&result.field).unwrap_or(&result.field).to_owned(),
            message: result.message.clone(),
        },
    }
}

/// The column header of a request field the service named (`vacancy.pay_min_fen` → 月薪下限(元)).
fn header_of_field(field: &str) -> Option<&'static str> {
    let name = field.rsplit('.').next()?;
    let wanted = match name {
        "enterprise_name" => Field::EnterpriseName,
        "enterprise_credit_code" => Field::CreditCode,
        "region_code" => Field::Region,
        "post" => Field::Post,
        "occupation_code" => Field::OccupationCode,
        "occupation_name" => Field::OccupationName,
        "skill_level" => Field::Level,
        "headcount" => Field::Headcount,
        "pay_min_fen" => Field::PayMin,
        "pay_max_fen" => Field::PayMax,
        "requirements" => Field::Requirements,
        "work_region_code" => Field::WorkRegion,
        "needed_by" => Field::NeededBy,
        "survey_method" => Field::Survey,
        "industry" => Field::Industry,
        _ => return None,
    };
    COLUMNS.iter().find(|c| c.3 == wanted).map(|c| c.0)
}

impl std::hash::Hash for Field {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (*self as u8).hash(state);
    }
}

/// The row as a vacancy, or the first cell that cannot be read, refused with its value's rule.
fn vacancy_of(columns: &HashMap<Field, usize>, row: &Row) -> Result<Vacancy, Outcome> {
    let cell = |field: Field| columns.get(&field).and_then(|i| row.cells.get(*i));
    let text = |field: Field| cell(field).map(text_of).unwrap_or_default();
    let refused = |field: Field, error: ValueError| Outcome::Refused {
        code: error.rule.to_owned(),
        field: COLUMNS.iter().find(|c| c.3 == field).map_or("", |c| c.0).to_owned(),
        message: error.reason,
    };
    let mut vacancy = Vacancy {
        enterprise_name: text(Field::EnterpriseName),
        enterprise_credit_code: text(Field::CreditCode),
        post: text(Field::Post),
        occupation_name: text(Field::OccupationName),
        requirements: text(Field::Requirements),
        ..Vacancy::default()
    };
    vacancy.region_code = region(&text(Field::Region)).map_err(|e| refused(Field::Region, e))?;
    let work = text(Field::WorkRegion);
    if !work.is_empty() {
        vacancy.work_region_code = region(&work).map_err(|e| refused(Field::WorkRegion, e))?;
    }
    let occupation = text(Field::OccupationCode);
    if !occupation.is_empty() {
        vacancy.occupation_code =
            OccupationCode::parse(&occupation).map_err(|e| refused(Field::OccupationCode, e))?.as_str().to_owned();
    }
    let level = SkillLevel::parse(&text(Field::Level)).map_err(|e| refused(Field::Level, e))?;
    vacancy.skill_level = convert::skill_level_to_proto(Some(level));
    vacancy.headcount = whole_number(&text(Field::Headcount)).map_err(|e| refused(Field::Headcount, e))?;
    vacancy.pay_min_fen = fen(cell(Field::PayMin)).map_err(|e| refused(Field::PayMin, e))?;
    if !text(Field::PayMax).is_empty() {
        vacancy.pay_max_fen = fen(cell(Field::PayMax)).map_err(|e| refused(Field::PayMax, e))?;
    }
    let needed_by = date(cell(Field::NeededBy)).map_err(|e| refused(Field::NeededBy, e))?;
    vacancy.needed_by = Some(convert::date_to_proto(needed_by));
    let survey = text(Field::Survey);
    vacancy.survey_method =
        SURVEY_METHODS.iter().find(|(words, _)| *words == survey).map(|(_, method)| *method as i32).ok_or_else(
            || {
                let known: Vec<&str> = SURVEY_METHODS.iter().map(|(w, _)| *w).collect();
                refused(Field::Survey, ValueError::new("REQUIRED", format!("is one of {}", known.join("、"))))
            },
        )?;
    let industry = text(Field::Industry);
    if !industry.is_empty() {
        let industry = Industry::parse(&industry).map_err(|e| refused(Field::Industry, e))?;
        vacancy.industry = convert::industry_to_proto(industry);
    }
    Ok(vacancy)
}

/// A county by its code or its name (`421221`, `嘉鱼县`).
fn region(text: &str) -> Result<String, ValueError> {
    RegionCode::parse(text).map(|r| r.code().to_owned())
}

fn whole_number(text: &str) -> Result<i32, ValueError> {
    text.trim().parse().map_err(|_| ValueError::new("DEMAND-HEADCOUNT", "is a whole number of people".to_owned()))
}

/// An amount of yuan, written as a number or as text, in fen; more than two decimals is refused.
fn fen(cell: Option<&Data>) -> Result<i64, ValueError> {
    let text = match cell {
        Some(Data::Float(f)) => {
            let fen = (f * 100.0).round();
            if (f * 100.0 - fen).abs() > 1e-6 {
                return Err(ValueError::new("MONEY", "an amount has at most two decimals".to_owned()));
            }
            format!("{}.{:02}", (fen as i64) / 100, (fen as i64).rem_euclid(100))
        }
        Some(other) => text_of(other).replace([',', ','], ""),
        None => String::new(),
    };
    Money::parse_yuan(&text).map(Money::fen)
}

/// A date cell, or text written YYYY-MM-DD, YYYY/MM/DD or YYYY年MM月DD日.
fn date(cell: Option<&Data>) -> Result<NaiveDate, ValueError> {
    if let Some(Data::DateTime(d)) = cell
        && let Some(when) = d.as_datetime()
    {
        return Ok(when.date());
    }
    let text = cell.map(text_of).unwrap_or_default();
    let normal = text.trim().replace(['/', '.', '年', '月'], "-").replace('日', "");
    let parts: Vec<&str> = normal.split('-').collect();
    if let [year, month, day] = parts[..]
        && let (Ok(year), Ok(month), Ok(day)) = (year.parse::<i32>(), month.parse::<u32>(), day.parse::<u32>())
        && let Some(date) = NaiveDate::from_ymd_opt(year, month, day)
    {
        return Ok(date);
    }
    qiancheng_domain::parse_date(&normal)
}

/// The request id of a row: its cells' content, so that the same row sent again is the same
/// request whatever its position in the sheet.
fn request_id(cells: &[Data]) -> String {
    let mut hash = Sha256::new();
    for cell in cells {
        hash.update(text_of(cell).as_bytes());
        hash.update([0x1f]);
    }
    format!("xlsx-{}", &hex::encode(hash.finalize())[..40])
}

/// The result workbook: the rows as read, each with its result, and a sheet saying what it is.
fn write_results(
    output: &Path,
    source: &Path,
    headers: &[String],
    rows: &[Row],
    outcomes: &HashMap<usize, Outcome>,
    summary: &Summary,
) -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    let refused_format = Format::new().set_font_color("#C00000");
    let sheet = book.add_worksheet().set_name("导入结果")?;
    let result_column = u16::try_from(headers.len()).unwrap_or(u16::MAX - 1);
    sheet.write_string_with_format(0, 0, "行号", &header_format())?;
    for (i, header) in headers.iter().enumerate() {
        let column = u16::try_from(i + 1).unwrap_or(u16::MAX);
        sheet.write_string_with_format(0, column, header, &header_format())?;
        sheet.set_column_width(column, 16)?;
    }
    sheet.write_string_with_format(0, result_column + 1, "导入结果", &header_format())?;
    sheet.set_column_width(result_column + 1, 60)?;
    for (i, row) in rows.iter().enumerate() {
        let at = u32::try_from(i + 1).unwrap_or(u32::MAX);
        sheet.write_number(at, 0, row.number as f64)?;
        for (j, cell) in row.cells.iter().enumerate() {
            let column = u16::try_from(j + 1).unwrap_or(u16::MAX);
            write_cell(sheet, (at, column), cell, &date_format)?;
        }
        let outcome = outcomes.get(&row.number).map(Outcome::text).unwrap_or_else(|| "未处理".to_owned());
        if outcome.starts_with("未导入") {
            sheet.write_string_with_format(at, result_column + 1, outcome, &refused_format)?;
        } else {
            sheet.write_string(at, result_column + 1, outcome)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let about = book.add_worksheet().set_name("说明")?;
    about.set_column_width(0, 16)?;
    about.set_column_width(1, 70)?;
    let lines = [
        ("文件", "咸宁市“技能照亮前程”项目化培训岗位需求表(附件1)导入结果".to_owned()),
        ("来源文件", source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        ("生成时间", crate::workbook::made_at()),
        ("行数", summary.rows.to_string()),
        ("已导入", summary.imported.to_string()),
        ("此前已导入", summary.replayed.to_string()),
        ("未导入", summary.refused.to_string()),
        (
            "说明",
            "未导入的行注明规则代码(见 docs/RULES.md)和原因;改正后可将整个文件重新导入,已导入的行不会重复保存。"
                .to_owned(),
        ),
    ];
    crate::workbook::write_lines(about, 0, &lines)?;
    crate::workbook::printable(&mut book);
    book.save(output)
}

/// The template: the headers on the first sheet, and a sheet of instructions with an example row
/// and the values each coded column takes.
fn write_template(file: &Path) -> Result<(), String> {
    let write = || -> Result<(), XlsxError> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet().set_name("岗位需求表")?;
        let required = header_format().set_font_color("#C00000");
        for (i, (header, _, is_required, _)) in COLUMNS.iter().enumerate() {
            let column = u16::try_from(i).unwrap_or(u16::MAX);
            let format = if *is_required { &required } else { &header_format() };
            sheet.write_string_with_format(0, column, *header, format)?;
            sheet.set_column_width(column, 18)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let about = book.add_worksheet().set_name("填表说明")?;
        about.set_column_width(0, 18)?;
        about.set_column_width(1, 80)?;
        let example = [
            "咸宁某某机械有限公司",
            "91421200MA00000000",
            "嘉鱼县",
            "焊工",
            "6-18-02-04",
            "焊工",
            "四级/中级工",
            "20",
            "4500",
            "6000",
            "持证优先",
            "嘉鱼县",
            "2026-03-01",
            "上门调查",
            "装备制造",
        ];
        let industries: Vec<&str> = Industry::ALL.iter().map(|i| i.name_zh()).collect();
        let levels: Vec<&str> = SkillLevel::ALL.iter().map(|l| l.name_zh()).collect();
        let counties: Vec<&str> = RegionCode::counties().iter().map(|r| r.name()).collect();
        let surveys: Vec<&str> = SURVEY_METHODS.iter().map(|(w, _)| *w).collect();
        let notes = [
            ("表名", "咸宁市“技能照亮前程”项目化培训岗位需求表(附件1)".to_owned()),
            ("红色表头", "必填".to_owned()),
            ("所在县(市、区)", format!("县级名称或代码:{}", counties.join("、"))),
            ("职业技能等级", levels.join("、")),
            ("月薪", "元/月,最多两位小数".to_owned()),
            ("需求时间", "日期,如 2026-03-01".to_owned()),
            ("调查方式", surveys.join("、")),
            ("所属行业", industries.join("、")),
            ("导入", "qiancheng import vacancies 文件.xlsx(结果写入 文件.结果.xlsx)".to_owned()),
        ];
        let after = crate::workbook::write_lines(about, 0, &notes)?;
        crate::workbook::write_example(about, after + 1, COLUMNS.iter().map(|c| c.0).zip(example))?;
        crate::workbook::printable(&mut book);
        book.save(file)
    };
    write().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workbook::header_matches;

    #[test]
    fn headers_match_as_offices_write_them() {
        assert!(header_matches(" 职业(工种)名称 ", "职业(工种)名称", &[]));
        assert!(header_matches("*岗位名称", "岗位名称", &[]));
        assert!(header_matches("用人单位", "企业名称", &["用人单位"]));
        assert!(!header_matches("岗位要求", "岗位名称", &["岗位"]));
        let headers: Vec<String> = ["岗位", "企业名称"].iter().map(|s| (*s).to_owned()).collect();
        let missing = locate_columns(&headers, COLUMNS).expect_err("required columns are missing");
        assert!(missing.contains("统一社会信用代码") && !missing.contains("岗位名称"), "{missing}");
    }

    #[test]
    fn money_is_read_to_the_fen_and_never_rounded() {
        assert_eq!(fen(Some(&Data::Float(4500.0))), Ok(450_000));
        assert_eq!(fen(Some(&Data::Float(4500.5))), Ok(450_050));
        assert_eq!(fen(Some(&Data::Float(0.07))), Ok(7));
        assert_eq!(fen(Some(&Data::String("4,500.25".into()))), Ok(450_025));
        assert_eq!(fen(Some(&Data::Float(4500.125))).map_err(|e| e.rule), Err("MONEY"));
        assert_eq!(fen(Some(&Data::String("四千".into()))).map_err(|e| e.rule), Err("MONEY"));
    }

    #[test]
    fn dates_are_read_as_offices_write_them() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        for text in ["2026-03-01", "2026/3/1", "2026年3月1日", "2026.03.01"] {
            assert_eq!(date(Some(&Data::String(text.into()))), Ok(day), "{text}");
        }
        assert!(date(Some(&Data::String("下个月".into()))).is_err());
    }

    #[test]
    fn a_row_keeps_its_request_id_wherever_it_stands() {
        let row = [Data::String("a".into()), Data::Float(3.0)];
        assert_eq!(request_id(&row), request_id(&row.clone()));
        assert_ne!(request_id(&row), request_id(&[Data::String("a".into()), Data::Float(4.0)]));
        assert!(request_id(&row).len() <= 64);
    }

    #[test]
    fn a_refused_field_is_named_by_its_column() {
        assert_eq!(header_of_field("vacancy.pay_min_fen"), Some("月薪下限(元)"));
        assert_eq!(header_of_field("vacancy.needed_by"), Some("需求时间"));
        assert_eq!(header_of_field("vacancy.nonsense"), None);
    }
}
