//! The bank (docs/bank-files.md): released instructions go out as a payment file, and the bank's
//! results (paid with its reference, failed with its reason) come back as a result file that is
//! reconciled line by line against the instructions. A paid result moves the amount from the
//! provider's payable to the bank; a failed one leaves it payable, to be re-sent to the account
//! selection holds after the provider corrected it, never to both. A result for an unknown
//! instruction, a settled one, or with another amount is reported and never applied; the same
//! line twice applies once.

use sha2::{Digest as _, Sha256};

use qiancheng_api::subsidy::*;
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::payment::{EntrySide, subs_pay_account, subs_sod_finance};
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, write};

use crate::Subsidy;
use crate::fund::finance_level;
use crate::payment::{shown_instruction, unless_frozen};
use crate::store::money::{self as store, BankResultRecord, InstructionRecord, Line};

/// The first field of a payment file's header.
pub const PAYMENT_FILE: &str = "QCPAY";
/// The first field of a result file's header.
pub const RESULT_FILE: &str = "QCRES";
/// The version of both formats.
pub const VERSION: &str = "1";
/// The largest result file read.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// A field as a file carries it: no separator, no line break.
fn field(value: &str) -> String {
    value.chars().map(|c| if c == '|' || c == '\n' || c == '\r' { '／' } else { c }).collect()
}

/// The payment file of `instructions` of `region` (docs/bank-files.md).
pub fn payment_file(region: RegionCode, instructions: &[InstructionRecord]) -> String {
    let total: i64 = instructions.iter().map(|i| i.amount_fen).sum();
    let mut out = format!("{PAYMENT_FILE}|{VERSION}|{}|{}|{total}\n", region.code(), instructions.len());
    for i in instructions {
        out.push_str(&format!(
            "{}|{}|{}|{}|{}|{}\n",
            i.id,
            i.amount_fen,
            field(&i.payee_number),
            field(&i.payee_holder),
            field(&i.payee_bank),
            i.pay_on
        ));
    }
    out
}

/// One line of a result file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultLine {
    /// A result: the instruction, PAID or FAILED, the amount, and the bank's reference (paid)
    /// or reason (failed).
    Result {
        /// The instruction id.
        instruction: String,
        /// Paid, else failed.
        paid: bool,
        /// The amount, in fen.
        amount_fen: i64,
        /// The reference or the reason.
        detail: String,
    },
    /// Not a result line, and why.
    Malformed(String),
}

/// Reads a result file of `level` (docs/bank-files.md): its lines after the header, numbered
/// from 2, blank lines skipped. A file that is not UTF-8, oversized, or whose header is not a
/// result file of `level` is refused whole (INVALID_ARGUMENT BANK_FILE).
pub fn read_results(content: &[u8], level: RegionCode) -> Result<Vec<(usize, ResultLine)>, Error> {
    let bad = |why: &str| Error::invalid("content", "BANK_FILE", why.to_owned());
    if content.is_empty() {
        return Err(bad("an empty file"));
    }
    if content.len() > MAX_FILE_BYTES {
        return Err(bad("a result file is at most 4 MiB"));
    }
    let text = std::str::from_utf8(content).map_err(|_| bad("a result file is UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).enumerate();
    let header = lines.next().map(|(_, l)| l).unwrap_or_default();
    let head: Vec<&str> = header.split('|').collect();
    if head.len() != 3 || head[0] != RESULT_FILE || head[1] != VERSION {
        return Err(bad("the first line is `QCRES|1|{level}`"));
    }
    if head[2] != level.code() {
        return Err(bad("the file is of another finance level than the caller's"));
    }
    let mut out = Vec::new();
    for (at, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').collect();
        let read = match parts.as_slice() {
            [instruction, outcome, amount, detail] if !instruction.is_empty() => {
                match (*outcome, amount.parse::<i64>()) {
                    (_, Err(_)) => ResultLine::Malformed("the amount is not a whole number of fen".to_owned()),
                    ("PAID" | "FAILED", Ok(_)) if detail.trim().is_empty() => {
                        ResultLine::Malformed("a result names the bank's reference or reason".to_owned())
                    }
                    ("PAID", Ok(amount_fen)) => ResultLine::Result {
                        instruction: (*instruction).to_owned(),
                        paid: true,
                        amount_fen,
                        detail: detail.trim().to_owned(),
                    },
                    ("FAILED", Ok(amount_fen)) => ResultLine::Result {
                        instruction: (*instruction).to_owned(),
                        paid: false,
                        amount_fen,
                        detail: detail.trim().to_owned(),
                    },
                    _ => ResultLine::Malformed("the outcome is PAID or FAILED".to_owned()),
                }
            }
            _ => ResultLine::Malformed("a result line has four fields separated by |".to_owned()),
        };
        out.push((at + 1, read));
    }
    Ok(out)
}

/// The key of a result line: the same instruction, outcome and reference or reason.
fn line_key(instruction: &str, paid: bool, detail: &str) -> String {
    let digest = Sha256::digest(format!("{instruction}|{}|{detail}", if paid { "PAID" } else { "FAILED" }));
    hex::encode(digest)
}

/// GetBankPaymentFile.
pub async fn get_bank_payment_file(
    s: &Subsidy,
    call: Call<GetBankPaymentFileRequest>,
) -> Result<GetBankPaymentFileResponse, Error> {
    let level = finance_level(&call.principal)?;
    let instructions = record::all::<InstructionRecord>(
        s.db.pool(),
        Filter::new().eq("pi.region_code", level.code()).eq("pi.state", store::SENT),
        "pi.id",
    )
    .await?;
    let content = payment_file(level, &instructions).into_bytes();
    Ok(GetBankPaymentFileResponse {
        content,
        count: i32::try_from(instructions.len()).unwrap_or(i32::MAX),
        total_fen: instructions.iter().map(|i| i.amount_fen).sum(),
    })
}

/// ImportBankResults.
pub async fn import_bank_results(
    s: &Subsidy,
    call: Call<ImportBankResultsRequest>,
) -> Result<ImportBankResultsResponse, Error> {
    let level = finance_level(&call.principal)?;
    let lines = read_results(&call.message.content, level)?;
    let file_digest = hex::encode(Sha256::digest(&call.message.content));
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let mut results = Vec::with_capacity(lines.len());
        let mut applied = 0;
        for (at, line) in &lines {
            let line_no = i32::try_from(*at).unwrap_or(i32::MAX);
            let (instruction, paid, amount_fen, detail) = match line {
                ResultLine::Malformed(why) => {
                    results.push(BankLineResult {
                        line: line_no,
                        instruction: String::new(),
                        outcome: BankLineOutcome::Malformed as i32,
                        message: why.clone(),
                    });
                    continue;
                }
                ResultLine::Result { instruction, paid, amount_fen, detail } => {
                    (instruction, *paid, *amount_fen, detail)
                }
            };
            let name = format!("paymentInstructions/{instruction}");
            let report = |outcome: BankLineOutcome, message: String| BankLineResult {
                line: line_no,
                instruction: name.clone(),
                outcome: outcome as i32,
                message,
            };
            let key = line_key(instruction, paid, detail);
            if record::find::<BankResultRecord>(&mut *change.tx, key.as_str()).await?.is_some() {
                results.push(report(BankLineOutcome::AppliedBefore, "this result was applied before".to_owned()));
                continue;
            }
            let found = record::find::<InstructionRecord>(&mut *change.tx, instruction.as_str())
                .await?
                .filter(|i| i.region == level);
            let Some(mut found) = found else {
                results.push(report(
                    BankLineOutcome::UnknownInstruction,
                    "no instruction of this level has this id: not applied".to_owned(),
                ));
                continue;
            };
            if found.state != store::SENT {
                results.push(report(
                    BankLineOutcome::Settled,
                    format!("the instruction is {} already: not applied", found.state.to_lowercase()),
                ));
                continue;
            }
            if found.amount_fen != amount_fen {
                results.push(report(
                    BankLineOutcome::AmountMismatch,
                    format!("the instruction is of {} fen, the result of {amount_fen}: not applied", found.amount_fen),
                ));
                continue;
            }
            if paid {
                let lines = [
                    Line { account: store::payable_account(&found.payee_number), side: EntrySide::Debit, amount_fen },
                    Line { account: store::bank_account(found.region), side: EntrySide::Credit, amount_fen },
                ];
                store::post(&mut change.tx, &format!("{}-paid", found.id), &found.id, "BANK_PAID", &lines, &officer)
                    .await?;
                found.state = store::PAID.to_owned();
                found.bank_reference = detail.clone();
            } else {
                found.state = store::FAILED.to_owned();
                found.failure_reason = detail.clone();
            }
            found.stamp.touch();
            record::update(&mut change.tx, &found).await?;
            record::insert(
                &mut change.tx,
                &BankResultRecord {
                    id: key,
                    instruction_id: found.id.clone(),
                    outcome: found.state.clone(),
                    file_digest: file_digest.clone(),
                    create_time_micros: qiancheng_platform::time::now_micros(),
                },
            )
            .await?;
            change.audit(
                if paid { "payment.bank.paid" } else { "payment.bank.failed" },
                found.name(),
                serde_json::json!({ "amount_fen": amount_fen, "detail": detail, "file_sha256": file_digest }),
            );
            applied += 1;
            results.push(report(if paid { BankLineOutcome::Paid } else { BankLineOutcome::Failed }, String::new()));
        }
        let reported = i32::try_from(results.len()).unwrap_or(i32::MAX) - applied;
        Ok(ImportBankResultsResponse { results, applied, reported })
    })
    .await
}

/// ResendPayment.
pub async fn resend_payment(s: &Subsidy, call: Call<ResendPaymentRequest>) -> Result<ResendPaymentResponse, Error> {
    let level = finance_level(&call.principal)?;
    let id = qiancheng_platform::call::id_of(&call.message.name, "paymentInstructions", "name")?.to_owned();
    let failed = record::find::<InstructionRecord>(s.db.pool(), id.as_str())
        .await?
        .ok_or_else(|| Error::NotFound(call.message.name.clone()))?;
    Error::unless_passed(subs_sod_finance(failed.region, level))?;
    // The account as selection holds it now (corrected there), read before the transaction.
    let provider = s.ports.providers.provider(&failed.provider_credit_code).await?;
    Error::unless_passed(subs_pay_account(&provider.account, &provider.account))?;
    let standing = s.ports.providers.standing(&failed.provider_credit_code).await?;
    let today = s.today();
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let mut old = record::find::<InstructionRecord>(&mut *change.tx, id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(call.message.name.clone()))?;
        if old.state != store::FAILED {
            return Err(Error::precondition(
                "INSTRUCTION_STATE",
                format!("only a failed instruction is re-sent; this one is {}", old.state.to_lowercase()),
            ));
        }
        // SUBS-RECOVER: a frozen provider's failed payment is not re-sent.
        let receivables = store::receivables_of(&mut *change.tx, &old.provider_credit_code).await?;
        unless_frozen(&standing, &receivables)?;
        let siblings = store::instructions_of(&mut *change.tx, &old.claim_id).await?;
        let new_id = format!("{}-{}", old.claim_id, siblings.len() + 1);
        let number = provider.account.normalized_number();
        let lines = [
            Line {
                account: store::payable_account(&old.payee_number),
                side: EntrySide::Debit,
                amount_fen: old.amount_fen,
            },
            Line { account: store::payable_account(&number), side: EntrySide::Credit, amount_fen: old.amount_fen },
        ];
        store::post(&mut change.tx, &format!("{new_id}-resend"), &new_id, "RESEND", &lines, &officer).await?;
        let new = InstructionRecord::released(
            new_id.clone(),
            (&old.claim_id, old.region, &old.provider_credit_code),
            &provider.account,
            (old.portions.clone(), old.amount_fen, old.offset_fen),
            (today, &officer),
        );
        record::insert(&mut change.tx, &new).await?;
        old.state = store::RESENT.to_owned();
        old.resent_as = new_id.clone();
        old.stamp.touch();
        record::update(&mut change.tx, &old).await?;
        change.audit(
            "payment.resend",
            new.name(),
            serde_json::json!({ "replaces": old.name(), "failure_reason": old.failure_reason,
                "from_number": old.payee_number, "to_number": new.payee_number, "amount_fen": new.amount_fen }),
        );
        Ok(ResendPaymentResponse {
            instruction: Some(shown_instruction(&new)),
            replaced: Some(shown_instruction(&old)),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_file_is_read_line_by_line_and_a_foreign_header_refused() {
        let county = RegionCode::parse("421221").expect("county");
        let file = "QCRES|1|421221\r\nA-1|PAID|100|REF1\n\nA-2|FAILED|5|账户已销户\nA-3|LOST|5|x\nA-4|PAID|1.5|R\nA-5|PAID|5|\n";
        let read = read_results(file.as_bytes(), county).expect("read");
        assert_eq!(read.len(), 5);
        assert_eq!(
            read[0],
            (2, ResultLine::Result { instruction: "A-1".into(), paid: true, amount_fen: 100, detail: "REF1".into() })
        );
        assert!(matches!(&read[1], (4, ResultLine::Result { paid: false, .. })));
        assert!(read[2..].iter().all(|(_, l)| matches!(l, ResultLine::Malformed(_))));
        assert!(read_results(b"QCRES|1|421222\n", county).is_err());
        assert!(read_results(b"QCPAY|1|421221\n", county).is_err());
        assert!(read_results(b"", county).is_err());
        assert!(read_results(&[0xff, 0xfe], county).is_err());
    }
}
