//! Workbooks as the import commands read and answer them: a sheet's header row found by the
//! header offices write (with their aliases), its data rows, cells as a person reads them, and
//! the pieces of a result workbook (header format, cells written back as they were read, the
//! result file's name, a progress bar). Used by [`crate::forms`] (附件1) and
//! [`crate::roster_form`] (实名制花名册). And what the exports share: a service called with the
//! caller's token, a cover of keys and values, a table's header row, values written as a reader
//! expects them (dates as dates, China time), text with phone and ID numbers masked.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader as _};
use qiancheng_api::types::Date;
use qiancheng_platform::pii::masked;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Worksheet, XlsxError};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

/// A service as a command calls it: its channel and the caller's bearer token.
pub(crate) struct Caller {
    pub(crate) channel: Channel,
    bearer: MetadataValue<Ascii>,
}

impl Caller {
    /// Connects to `service` at `addr`, carrying `token` on every request.
    pub(crate) async fn connect(service: &str, addr: &str, token: &str) -> Result<Self, String> {
        let channel = tonic::transport::Endpoint::from_shared(addr.to_owned())
            .map_err(|e| format!("{addr} is not an address: {e}"))?
            .connect()
            .await
            .map_err(|e| format!("the {service} service at {addr} does not answer: {e}"))?;
        let bearer = format!("Bearer {token}").parse().map_err(|_| "the token is not valid header text".to_owned())?;
        Ok(Self { channel, bearer })
    }

    /// `message` as a request carrying the caller's token.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert("authorization", self.bearer.clone());
        request
    }
}

/// China time (UTC+8, DATE-TZ), as the offices read every instant.
fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("UTC+8 is an offset"))
}

/// When a workbook is made, as its cover sheet says it: China time (UTC+8, DATE-TZ), whatever the
/// machine's zone.
pub(crate) fn made_at() -> String {
    chrono::Utc::now().with_timezone(&china()).format("%Y-%m-%d %H:%M:%S %:z").to_string()
}

/// Sets every sheet of `book` to print as a person expects a form to: A4, landscape, each sheet
/// one page wide (as many pages long as it needs), so a cover's keys and values, or a table's
/// columns, are never split across pages.
pub(crate) fn printable(book: &mut rust_xlsxwriter::Workbook) {
    /// A4 in the spreadsheet's paper sizes.
    const A4: u8 = 9;
    for sheet in book.worksheets_mut() {
        sheet.set_paper_size(A4).set_landscape().set_print_fit_to_pages(1, 0);
    }
}

/// Rows a workbook may hold: a county's survey, with room.
pub(crate) const MAX_ROWS: usize = 100_000;

/// One data row of the sheet: its row number as a person reads it (from 1), its cells as read.
pub(crate) struct Row {
    pub(crate) number: usize,
    pub(crate) cells: Vec<Data>,
}

/// The result workbook's default path: the file's name with `.结果.xlsx`.
pub(crate) fn result_path(file: &Path) -> PathBuf {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "导入".to_owned());
    file.with_file_name(format!("{stem}.结果.xlsx"))
}

/// A progress bar over `rows` rows, hidden with `quiet` (indicatif hides it anyway off a terminal).
pub(crate) fn progress(rows: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(rows as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} 行 {msg}") {
        bar.set_style(style);
    }
    bar
}

/// The header row (the first of the first ten rows naming `anchor`'s header or an alias of it)
/// and the data rows under it, blank rows skipped; `form` names the template to point at.
pub(crate) fn read_sheet(
    file: &Path,
    sheet: Option<&str>,
    anchor: (&str, &[&str]),
    form: &str,
) -> Result<(Vec<String>, Vec<Row>), String> {
    let mut workbook = calamine::open_workbook_auto(file)
        .map_err(|e| format!("{} cannot be read as a workbook: {e}", file.display()))?;
    let name = match sheet {
        Some(name) => name.to_owned(),
        None => workbook.sheet_names().first().cloned().ok_or("the workbook has no sheet")?,
    };
    let range = workbook.worksheet_range(&name).map_err(|e| format!("sheet {name}: {e}"))?;
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows().enumerate();
    let header_at =
        rows.by_ref().take(10).find(|(_, cells)| cells.iter().any(|c| header_matches(&text_of(c), anchor.0, anchor.1)));
    let Some((header_index, header_cells)) = header_at else {
        return Err(format!(
            "sheet {name} has no header row naming {} in its first ten rows (see `qiancheng import template {form}`)",
            anchor.0
        ));
    };
    let headers: Vec<String> = header_cells.iter().map(text_of).collect();
    let mut data = Vec::new();
    for (index, cells) in range.rows().enumerate().skip(header_index + 1) {
        if cells.iter().all(|c| text_of(c).is_empty()) {
            continue;
        }
        if data.len() == MAX_ROWS {
            return Err(format!("a workbook holds at most {MAX_ROWS} rows: split it"));
        }
        data.push(Row { number: first_row as usize + index + 1, cells: cells.to_vec() });
    }
    Ok((headers, data))
}

/// A form's columns: the header offices write, its aliases, whether it is required, and the
/// column's key.
pub(crate) type Columns<K> = [(&'static str, &'static [&'static str], bool, K)];

/// The index of each of `columns` the sheet's `headers` has; a required column missing is an
/// error naming it.
pub(crate) fn locate_columns<K: Copy + Eq + std::hash::Hash>(
    headers: &[String],
    columns: &Columns<K>,
) -> Result<std::collections::HashMap<K, usize>, String> {
    let mut found = std::collections::HashMap::new();
    let mut missing = Vec::new();
    for (header, aliases, required, key) in columns {
        match headers.iter().position(|h| header_matches(h, header, aliases)) {
            Some(index) => {
                found.insert(*key, index);
            }
            None if *required => missing.push(*header),
            None => {}
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(format!("the header row lacks the required column(s) {}", missing.join("、")))
    }
}

/// Whether a header cell names `header` or one of its aliases, as offices write them.
pub(crate) fn header_matches(cell: &str, header: &str, aliases: &[&str]) -> bool {
    let normal = normalise_header(cell);
    normal == normalise_header(header) || aliases.iter().any(|a| normal == normalise_header(a))
}

/// A header without spaces, line breaks or the difference between full- and half-width brackets.
fn normalise_header(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .map(|c| match c {
            '(' => '(',
            ')' => ')',
            other => other,
        })
        .collect()
}

/// A cell as text, as a person reads it: numbers without a trailing `.0`, dates as YYYY-MM-DD.
pub(crate) fn text_of(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(d) => d.as_datetime().map(|d| d.date().to_string()).unwrap_or_else(|| d.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The format of a header row.
pub(crate) fn header_format() -> Format {
    Format::new().set_bold().set_background_color("#DDEBF7").set_align(FormatAlign::Center).set_text_wrap()
}

/// Writes `cell` as it was read: numbers as numbers, dates as dates (in `date_format`), the rest
/// as text.
pub(crate) fn write_cell(
    sheet: &mut rust_xlsxwriter::Worksheet,
    (at, column): (u32, u16),
    cell: &Data,
    date_format: &Format,
) -> Result<(), XlsxError> {
    match cell {
        Data::Float(f) => sheet.write_number(at, column, *f).map(|_| ())?,
        Data::Int(n) => sheet.write_number(at, column, *n as f64).map(|_| ())?,
        Data::DateTime(d) => match d.as_datetime() {
            Some(when) => {
                use chrono::Datelike as _;
                let month = u8::try_from(when.month()).unwrap_or(1);
                let day = u8::try_from(when.day()).unwrap_or(1);
                let year = u16::try_from(when.year()).unwrap_or(1900);
                let excel = rust_xlsxwriter::ExcelDateTime::from_ymd(year, month, day)?;
                sheet.write_datetime_with_format(at, column, &excel, date_format).map(|_| ())?
            }
            None => sheet.write_string(at, column, text_of(cell)).map(|_| ())?,
        },
        Data::Empty => {}
        other => sheet.write_string(at, column, text_of(other)).map(|_| ())?,
    }
    Ok(())
}

/// One value of an exported row or form.
pub(crate) enum Value {
    /// Text; empty leaves the cell blank.
    Text(String),
    /// A number.
    Number(f64),
    /// A day, written as a date; `None` (or a day of year 0) leaves the cell blank.
    Day(Option<Date>),
    /// An instant in microseconds since the epoch, written as China time; 0 leaves it blank.
    Time(i64),
}

/// Writes `value` at `(row, column)`: text as text, numbers as numbers, days and instants as
/// dates a spreadsheet reads as dates (`yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss`).
pub(crate) fn write_value(sheet: &mut Worksheet, (row, column): (u32, u16), value: Value) -> Result<(), XlsxError> {
    match value {
        Value::Text(text) if text.is_empty() => {}
        Value::Text(text) => {
            sheet.write_string(row, column, text)?;
        }
        Value::Number(number) => {
            sheet.write_number(row, column, number)?;
        }
        Value::Day(Some(day)) if day.year > 0 => {
            let date = Format::new().set_num_format("yyyy-mm-dd").set_align(FormatAlign::Left);
            let (y, m, d) = (
                u16::try_from(day.year).unwrap_or(1900),
                u8::try_from(day.month).unwrap_or(1),
                u8::try_from(day.day).unwrap_or(1),
            );
            sheet.write_datetime_with_format(row, column, &ExcelDateTime::from_ymd(y, m, d)?, &date)?;
        }
        Value::Day(_) | Value::Time(0) => {}
        Value::Time(micros) => {
            let time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss").set_align(FormatAlign::Left);
            if let Some(at) = chrono::DateTime::from_timestamp_micros(micros).map(|t| t.with_timezone(&china())) {
                let text = at.format("%Y-%m-%dT%H:%M:%S").to_string();
                sheet.write_datetime_with_format(row, column, &ExcelDateTime::parse_from_str(&text)?, &time)?;
            }
        }
    }
    Ok(())
}

/// Writes a table's header row: each column's title (in `format`) and width.
pub(crate) fn write_headers(sheet: &mut Worksheet, columns: &[(&str, f64)], format: &Format) -> Result<(), XlsxError> {
    for (i, (title, width)) in columns.iter().enumerate() {
        let column = u16::try_from(i).unwrap_or(u16::MAX);
        sheet.set_column_width(column, *width)?;
        sheet.write_string_with_format(0, column, *title, format)?;
    }
    Ok(())
}

/// Writes a cover's keys (bold, in the first column) and values from row `from`; returns the row
/// after the last.
pub(crate) fn write_pairs(sheet: &mut Worksheet, from: u32, pairs: Vec<(&str, Value)>) -> Result<u32, XlsxError> {
    let bold = Format::new().set_bold();
    let mut at = from;
    for (key, value) in pairs {
        sheet.write_string_with_format(at, 0, key, &bold)?;
        write_value(sheet, (at, 1), value)?;
        at += 1;
    }
    Ok(at)
}

/// Writes `lines` of text as a cover's keys and values from row `from` ([`write_pairs`]); returns
/// the row after the last.
pub(crate) fn write_lines(sheet: &mut Worksheet, from: u32, lines: &[(&str, String)]) -> Result<u32, XlsxError> {
    write_pairs(sheet, from, lines.iter().map(|(key, value)| (*key, Value::Text(value.clone()))).collect())
}

/// Writes a template's example row down its instructions sheet from row `from`: a bold heading,
/// then each column's header beside the example's value.
pub(crate) fn write_example<'a>(
    sheet: &mut Worksheet,
    from: u32,
    columns: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(from, 0, "示例(第一张表的一行)", &Format::new().set_bold())?;
    for (i, (header, value)) in columns.into_iter().enumerate() {
        let at = from + 1 + u32::try_from(i).unwrap_or(0);
        sheet.write_string(at, 0, header)?;
        sheet.write_string(at, 1, value)?;
    }
    Ok(())
}

/// The name `names` gives the value `number` of the proto enum `E`, or the empty text for a
/// value it does not name (the unspecified value, or one this build does not know).
pub(crate) fn name_in<E: TryFrom<i32> + PartialEq>(number: i32, names: &[(E, &'static str)]) -> &'static str {
    let value = E::try_from(number).ok();
    names.iter().find(|(e, _)| value.as_ref() == Some(e)).map_or("", |(_, name)| name)
}

/// `text` with every phone number (11 digits from 1: 138****5678) and resident ID number (17
/// digits and a check character: 421221********001X) in it masked, as the roster's result masks
/// them: free text a provider typed travels with the file.
pub(crate) fn masked_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit() || matches!(c, 'X' | 'x')).count();
        if run == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let word: String = chars[i..i + run].iter().collect();
        let digits_only = word.chars().all(|c| c.is_ascii_digit());
        let masked = match word.len() {
            11 if digits_only && word.starts_with('1') => masked(&word, 3, 4),
            18 if word[..17].chars().all(|c| c.is_ascii_digit()) => masked(&word, 6, 4),
            _ => word,
        };
        out.push_str(&masked);
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enum_value_is_named_by_its_table_and_a_value_it_does_not_name_is_blank() {
        use qiancheng_api::selection::ApplicationState;
        let names = [(ApplicationState::Draft, "草稿(未提交)"), (ApplicationState::Submitted, "已提交,待遴选")];
        assert_eq!(name_in(ApplicationState::Submitted as i32, &names), "已提交,待遴选");
        assert_eq!(name_in(ApplicationState::Approved as i32, &names), "", "not in the table");
        assert_eq!(name_in(0, &names), "", "unspecified");
        assert_eq!(name_in(99, &names), "", "not a value");
    }

    #[test]
    fn phone_and_id_numbers_in_free_text_are_masked() {
        assert_eq!(masked_text("王老师 13871234567"), "王老师 138****4567");
        assert_eq!(
            masked_text("身份证421221199001010012,电话:0715-8123456"),
            "身份证421221********0012,电话:0715-8123456"
        );
        assert_eq!(masked_text("理论40学时,实操60学时"), "理论40学时,实操60学时");
        assert_eq!(masked_text("42122119900101001X号"), "421221********001X号");
    }
}
