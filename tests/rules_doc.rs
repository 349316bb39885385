//! `docs/RULES.md` explains every code a client of the suite can be given: each rule code of the
//! policy core and each reason code the platform and the services put into `ErrorInfo.reason`, a
//! `BadRequest` violation or a per-row result. This test fails when a code has no entry there,
//! when an entry names a code the suite does not have, or when the index and the entries part.
//!
//! The rule codes come from the policy core itself (`qiancheng_domain::policy::RULE_CODES`). The
//! reason codes are found in the source text of `shared/*/src`, `services/*/src` and `proto/`:
//!
//! - test modules are left out: from a line `#[cfg(test)]` followed by `mod …{` to the next line
//!   that is exactly `}` (rustfmt puts a top-level module's closing brace alone in column 0);
//! - comments, character literals and the inside of string literals are masked before anything
//!   is matched, so braces and words in them count for nothing;
//! - a *code-looking* literal is a whole string literal of capital letters and digits, its words
//!   joined by `-` or `_` (`"PERSON-ID"`, `"CLASS_STATE"`, `"TEXT"`);
//! - a code-looking literal is a reason code when (1) it contains `-` (the suite spells its rule
//!   and field-check codes with hyphens, nothing else), or (2) the call or macro it is an
//!   argument of is one that carries a reason: `Error::invalid`, `Error::precondition`,
//!   `Error::exists`, `ValueError::new`, `Violations::add` (`.add`), `RuleResult::fail`/`pass`,
//!   the platform's `status`, `ErrorDetails::with_error_info`, supervision's per-check-in
//!   `refused`/`whole_chunk`, and the macros `proto_states!`, `lifecycle!`, `coded_enum!`
//!   (their own arguments, not the states or values inside), or (3) it directly follows a
//!   `reason:` field or a `reason` macro keyword, or (4) it stands in a `let reason = …`
//!   statement. Anything else (a state, a fund, an enum's stored code, a configuration variable)
//!   is not a reason code;
//! - in `.proto` files every code-looking literal outside comments counts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use qiancheng_domain::policy::set::{RULE_CODES, RULE_CODES_NEW_IN_V2};

const RULES_DOC: &str = include_str!("../docs/RULES.md");

/// Calls and macros whose code-looking arguments are reason codes (the last path segment, or
/// the whole tail for `ValueError::new`).
const REASON_HEADS: [&str; 16] = [
    "invalid",
    "precondition",
    "exists",
    "ValueError::new",
    "add",
    "fail",
    "pass",
    "status",
    "with_error_info",
    "refused",
    "whole_chunk",
    "proto_states!",
    "lifecycle!",
    "coded_enum!",
    "proto_enum!",
    "reason_or",
];

/// Codes the scan must find whatever else changes: if it finds none of these, the scanner is
/// broken, not the document.
const KNOWN_REASONS: [&str; 10] = [
    "REQUEST_ID_REUSED",
    "MALFORMED_REQUEST",
    "PEER_REFUSED",
    "CLASS_STATE",
    "VACANCY-STATE",
    "ROSTER_DUPLICATE",
    "ATTENDANCE_LIMIT",
    "TEXT",
    "PERSON-ID",
    "INDUSTRY",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace root").to_path_buf()
}

/// Every file under `dir` whose name ends with `ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The `src` folders of the shared crates and the services.
fn source_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for group in ["shared", "services"] {
        let Ok(entries) = std::fs::read_dir(root().join(group)) else { continue };
        for entry in entries.flatten() {
            let src = entry.path().join("src");
            if src.is_dir() {
                dirs.push(src);
            }
        }
    }
    dirs.sort();
    dirs
}

/// The text without its test modules (see the module documentation).
fn without_test_modules(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let opens_test_module = lines[i].trim() == "#[cfg(test)]"
            && lines.get(i + 1).is_some_and(|next| next.starts_with("mod ") && next.trim_end().ends_with('{'));
        if opens_test_module {
            i += 2;
            while i < lines.len() && lines[i] != "}" {
                i += 1;
            }
            i += 1;
            continue;
        }
        kept.push_str(lines[i]);
        kept.push('\n');
        i += 1;
    }
    kept
}

/// A string literal of the source: where its opening quote is, and what it holds.
struct Literal {
    start: usize,
    text: String,
}

/// The source with comments, character literals and the inside of string literals replaced by
/// spaces (same length, line breaks kept), and its string literals.
fn mask(source: &str) -> (Vec<u8>, Vec<Literal>) {
    let b = source.as_bytes();
    let mut masked = b.to_vec();
    let mut literals = Vec::new();
    let blank = |masked: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut masked[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let ident = |i: usize| i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..].iter().position(|c| *c == b'\n').map_or(b.len(), |p| i + p);
            blank(&mut masked, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = b[i + 2..].windows(2).position(|w| w == b"*/").map_or(b.len(), |p| i + 2 + p + 2);
            blank(&mut masked, i, end);
            i = end;
        } else if !ident(i) && (b[i] == b'r' || b[i..].starts_with(b"br")) {
            // A raw string: r"…", r#"…"#, br#"…"#.
            let r = if b[i] == b'b' { i + 1 } else { i };
            let hashes = b[r + 1..].iter().take_while(|c| **c == b'#').count();
            if b.get(r + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let open = r + 1 + hashes;
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let end = b[open + 1..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| open + 1 + p);
            literals.push(Literal { start: open, text: String::from_utf8_lossy(&b[open + 1..end]).into_owned() });
            blank(&mut masked, open + 1, end);
            i = end + close.len();
        } else if b[i] == b'"' {
            let mut end = i + 1;
            while end < b.len() && b[end] != b'"' {
                end += if b[end] == b'\\' { 2 } else { 1 };
            }
            let end = end.min(b.len());
            literals.push(Literal { start: i, text: String::from_utf8_lossy(&b[i + 1..end]).into_owned() });
            blank(&mut masked, i + 1, end);
            i = end + 1;
        } else if b[i] == b'\'' {
            // A character literal ('x', '\n', '{', '长'), or a lifetime or label ('a, 'static).
            let close = if b.get(i + 1) == Some(&b'\\') {
                // Past the escaped character, so that '\'' closes where it should.
                b.get(i + 3..).and_then(|rest| rest.iter().position(|c| *c == b'\'')).map(|p| i + 3 + p)
            } else {
                let width = source[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + width) == Some(&b'\'')).then_some(i + 1 + width)
            };
            match close {
                Some(close) => {
                    blank(&mut masked, i + 1, close);
                    i = close + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    (masked, literals)
}

/// Whether `text` looks like a code: capital letters and digits in words joined by `-` or `_`.
fn looks_like_code(text: &str) -> bool {
    text.len() >= 2
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && !text.ends_with(['-', '_'])
        && !text.contains("--")
        && !text.contains("__")
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The call or macro whose argument list the byte at `at` stands in: `Error::invalid`,
/// `proto_states!`, `lifecycle!`; empty when it stands in none (a tuple, a block, a struct).
fn enclosing_head(masked: &[u8], at: usize) -> String {
    let mut depth = 0usize;
    let mut i = at;
    while i > 0 {
        i -= 1;
        match masked[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
            open @ (b'(' | b'{') => {
                let mut end = i;
                while end > 0 && masked[end - 1].is_ascii_whitespace() && open == b'{' {
                    end -= 1;
                }
                let mut start = end;
                while start > 0 && (masked[start - 1].is_ascii_alphanumeric() || b"_:!".contains(&masked[start - 1])) {
                    start -= 1;
                }
                let head = String::from_utf8_lossy(&masked[start..end]).into_owned();
                // A brace opens an argument list only for a macro (`lifecycle! {`).
                return if open == b'{' && !head.ends_with('!') { String::new() } else { head };
            }
            b'[' => return String::new(),
            _ => {}
        }
    }
    String::new()
}

/// Whether a call or macro named `head` carries reason codes in its arguments.
fn carries_reasons(head: &str) -> bool {
    let last = head.rsplit("::").next().unwrap_or(head);
    REASON_HEADS.iter().any(|h| if h.contains("::") { head.ends_with(h) } else { last == *h })
}

/// The reason codes of one Rust source (test modules already left out).
fn reason_codes_in_rust(source: &str) -> BTreeSet<String> {
    let (masked, literals) = mask(source);
    let mut codes = BTreeSet::new();
    for literal in literals.into_iter().filter(|l| looks_like_code(&l.text)) {
        let before = String::from_utf8_lossy(&masked[..literal.start]);
        let before = before.trim_end();
        let statement_start = before.rfind([';', '{', '}']).map_or(0, |p| p + 1);
        let follows_reason = before.ends_with("reason:")
            || (before.ends_with("reason")
                && !before[..before.len() - "reason".len()].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
        if literal.text.contains('-')
            || carries_reasons(&enclosing_head(&masked, literal.start))
            || follows_reason
            || before[statement_start..].trim_start().starts_with("let reason")
        {
            codes.insert(literal.text);
        }
    }
    codes
}

/// The code-looking literals of one `.proto` file, outside comments.
fn codes_in_proto(source: &str) -> BTreeSet<String> {
    mask(source).1.into_iter().map(|l| l.text).filter(|t| looks_like_code(t)).collect()
}

/// Every reason code in the source, with the first file it was found in.
fn reason_codes_in_source() -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let mut note = |codes: BTreeSet<String>, path: &Path| {
        for code in codes {
            if !found.iter().any(|(c, _)| *c == code) {
                found.push((code, path.to_path_buf()));
            }
        }
    };
    for dir in source_dirs() {
        for path in files(&dir, "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file reads");
            note(reason_codes_in_rust(&without_test_modules(&text)), &path);
        }
    }
    for path in files(&root().join("proto"), "proto") {
        let text = std::fs::read_to_string(&path).expect("a proto file reads");
        note(codes_in_proto(&text), &path);
    }
    found.sort();
    found
}

/// The values of `<a id="…">` in the document, in order.
fn anchors(doc: &str) -> Vec<&str> {
    doc.split("<a id=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect()
}

/// The targets of links to codes of the document itself, `](#CODE)` (links to headings, whose
/// anchors are lower case, are not links to codes).
fn links(doc: &str) -> BTreeSet<&str> {
    doc.split("](#").skip(1).filter_map(|rest| rest.split(')').next()).filter(|t| looks_like_code(t)).collect()
}

/// The text of the entry of `code`: from its anchor to the next anchor.
fn entry<'a>(doc: &'a str, code: &str) -> &'a str {
    let marker = format!("<a id=\"{code}\"></a>");
    let Some(start) = doc.find(&marker) else { return "" };
    let rest = &doc[start + marker.len()..];
    &rest[..rest.find("<a id=\"").unwrap_or(rest.len())]
}

#[test]
fn every_rule_code_of_the_policy_core_has_an_entry() {
    let anchored: BTreeSet<&str> = anchors(RULES_DOC).into_iter().collect();
    let missing: Vec<&str> = RULE_CODES.iter().copied().filter(|c| !anchored.contains(c)).collect();
    assert!(missing.is_empty(), "rule codes without an entry in docs/RULES.md: {missing:?}");
}

#[test]
fn every_rule_entry_states_its_clause_decision_parameters_interpretation_history_and_rpcs() {
    for code in RULE_CODES {
        let text = entry(RULES_DOC, code);
        for part in
            ["**Plan**", "**Decides**", "**Parameters**", "**Interpretation**", "**v1 → v2**", "**Reaches a client**"]
        {
            assert!(text.contains(part), "the entry of {code} in docs/RULES.md has no {part}");
        }
    }
    for code in RULE_CODES_NEW_IN_V2 {
        assert!(entry(RULES_DOC, code).contains("new in v2"), "the entry of {code} says it is new in v2");
    }
}

#[test]
fn every_other_entry_states_its_meaning_grpc_code_rpcs_and_what_to_do() {
    for code in anchors(RULES_DOC).into_iter().filter(|a| !RULE_CODES.contains(a)) {
        let text = entry(RULES_DOC, code);
        for part in ["**Means**", "**gRPC**", "**Returned by**", "**Do**"] {
            assert!(text.contains(part), "the entry of {code} in docs/RULES.md has no {part}");
        }
    }
}

#[test]
fn every_reason_code_in_the_source_has_an_entry() {
    let found = reason_codes_in_source();
    let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    for known in KNOWN_REASONS {
        assert!(codes.contains(&known), "the scan found no {known}: the scanner, not the document, is wrong");
    }
    let anchored: BTreeSet<&str> = anchors(RULES_DOC).into_iter().collect();
    let missing: Vec<String> = found
        .iter()
        .filter(|(code, _)| !anchored.contains(code.as_str()))
        .map(|(code, path)| format!("{code} ({})", path.strip_prefix(root()).unwrap_or(path).display()))
        .collect();
    assert!(missing.is_empty(), "reason codes without an entry in docs/RULES.md: {missing:?}");
}

#[test]
fn every_entry_is_of_a_code_the_suite_has() {
    let found = reason_codes_in_source();
    let known: BTreeSet<&str> = found.iter().map(|(c, _)| c.as_str()).chain(RULE_CODES).collect();
    let stale: Vec<&str> = anchors(RULES_DOC).into_iter().filter(|a| !known.contains(a)).collect();
    assert!(stale.is_empty(), "docs/RULES.md has entries for codes the suite no longer has: {stale:?}");
}

#[test]
fn the_index_links_every_entry_once_and_only_entries() {
    let all = anchors(RULES_DOC);
    let anchored: BTreeSet<&str> = all.iter().copied().collect();
    assert_eq!(anchored.len(), all.len(), "an anchor of docs/RULES.md is there twice");
    let linked = links(RULES_DOC);
    let unlinked: Vec<&&str> = anchored.iter().filter(|a| !linked.contains(*a)).collect();
    assert!(unlinked.is_empty(), "entries the index does not link: {unlinked:?}");
    let dangling: Vec<&&str> = linked.iter().filter(|l| !anchored.contains(*l)).collect();
    assert!(dangling.is_empty(), "links to no entry: {dangling:?}");
    // The index has one row per code: a row starting with the code's link.
    let rows: Vec<&str> = RULES_DOC
        .lines()
        .filter_map(|l| l.strip_prefix("| [`").and_then(|r| r.split('`').next()))
        .filter(|code| anchored.contains(code))
        .collect();
    let once: BTreeSet<&str> = rows.iter().copied().collect();
    let twice: Vec<&str> = once.iter().copied().filter(|c| rows.iter().filter(|r| *r == c).count() > 1).collect();
    assert!(twice.is_empty(), "codes the index lists twice: {twice:?}");
}

#[test]
fn the_scan_finds_reason_codes_by_their_call_and_skips_stored_codes_and_tests() {
    let source = r##"
//! A comment naming "IN_COMMENT" is no code.
fn handler() {
    v.add("field", "FIELD_RULE", "why");
    let refused = Error::precondition(
        "STATE_RULE",
        format!("{}", x),
    );
    let a = Error::invalid(format!("rows[{i}].x"), "ROW_RULE", "why");
    let s = Status { reason: "STRUCT_REASON".into() };
    let reason = first.map_or("FALLBACK_REASON", |v| v);
    let stored = match fund { Fund::A => "STORED_CODE", Fund::B => "OTHER_CODE" };
    let brace = '{';
    let hyphen = "SOME-RULE";
    let raw = r#"{"alg":"NOT_A_CODE"}"#;
}
lifecycle! {
    VacancyState, kind "vacancy", reason "LIFECYCLE_REASON" {
        Draft = "DRAFT" => [Published],
    }
}
#[cfg(test)]
mod tests {
    fn t() { v.add("f", "TEST_ONLY", "x"); }
}
"##;
    let codes = reason_codes_in_rust(&without_test_modules(source));
    let expected =
        ["FALLBACK_REASON", "FIELD_RULE", "LIFECYCLE_REASON", "ROW_RULE", "SOME-RULE", "STATE_RULE", "STRUCT_REASON"];
    assert_eq!(codes.iter().map(String::as_str).collect::<Vec<_>>(), expected);
}
