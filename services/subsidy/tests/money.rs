//! Money over the subsidy service's API, on SQLite and PostgreSQL, with the real selection and
//! supervision services as its peers: the walkthrough's claim (20 lines of 5,000 yuan, every one
//! from the employment subsidy fund) is approved, signed off by the county's finance (another
//! level is refused with SUBS-SOD), waits for funds with its shortfall shown until the budget
//! covers it, is refused release while the provider's account in selection differs from the one
//! signed off (SUBS-PAY), is released once however often it is released again, and leaves a
//! balanced ledger; an unbalanced write is refused inside its transaction. A receivable is repaid
//! (RecordRepayment) or offset against the provider's next payment of the same fund and finance
//! bureau only, never below zero and never twice; a disqualification for subcontracting in
//! selection, or a recovery for fraud, freezes the provider's unreleased claims and instructions.

mod common;

use common::*;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::subsidy::*;
use qiancheng_domain::Money;
use qiancheng_domain::policy::payment::{EntrySide, FundPortion};
use qiancheng_domain::policy::set::Fund;
use qiancheng_domain::policy::subsidy::RecoveryCause;
use qiancheng_platform::auth::Role;
use qiancheng_subsidy::peer::OutcomeFacts;
use qiancheng_subsidy::store::money::{self as ledger, Line};
use tonic::Code;

fn finance(suite: &Suite, level: &str) -> String {
    suite.keys.token(Role::FinanceOfficer, Some(level), None)
}

fn refusal(status: &tonic::Status) -> (Code, String) {
    (status.code(), reason(status))
}

async fn sign_off(suite: &Suite, token: &str, name: &str, request_id: &str) -> Result<ClaimPayment, tonic::Status> {
    suite
        .client()
        .await
        .sign_off_claim(authed(
            SignOffClaimRequest {
                name: name.to_owned(),
                decision: SignOffDecision::SignOff as i32,
                return_reasons: vec![],
                request_id: request_id.to_owned(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().payment.expect("payment"))
}

async fn budget(suite: &Suite, token: &str, fen: i64) -> SetFundBudgetResponse {
    suite
        .client()
        .await
        .set_fund_budget(authed(
            SetFundBudgetRequest {
                budget: Some(FundBudget {
                    year: 2027,
                    fund: FundChannel::EmploymentSubsidyFund as i32,
                    budget_fen: fen,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            token,
        ))
        .await
        .expect("budget recorded")
        .into_inner()
}

async fn release(
    suite: &Suite,
    token: &str,
    name: &str,
    request_id: &str,
) -> Result<ReleasePaymentResponse, tonic::Status> {
    suite
        .client()
        .await
        .release_payment(authed(
            ReleasePaymentRequest { name: name.to_owned(), request_id: request_id.to_owned() },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

/// The provider's account in selection, changed by its county's officer to `number`.
async fn change_account(suite: &Suite, number: &str) {
    let officer = suite.officer(COUNTY);
    let mut selection = SelectionServiceClient::new(suite.selection.channel().await);
    let mut provider = selection
        .get_provider(authed(
            qiancheng_api::selection::GetProviderRequest { name: format!("providers/{}", suite.provider) },
            &officer,
        ))
        .await
        .expect("read")
        .into_inner()
        .provider
        .expect("provider");
    let mut account = provider.bank_account.clone().expect("an account");
    account.number = number.to_owned();
    provider.bank_account = Some(account);
    selection
        .update_provider(authed(
            qiancheng_api::selection::UpdateProviderRequest {
                provider: Some(provider),
                request_id: String::new(),
                update_mask: Some(prost_types::FieldMask { paths: vec!["bank_account".into()] }),
            },
            &officer,
        ))
        .await
        .expect("account changed");
}

async fn an_approved_claim_is_signed_off_funded_released_once_and_the_ledger_balances(suite: &Suite) {
    let (name, _) = claim_on_notice(suite).await;
    let county_finance = finance(suite, COUNTY);

    // Not approved yet: nothing to sign off.
    let early = sign_off(suite, &county_finance, &name, "").await.expect_err("on notice");
    assert_eq!(refusal(&early), (Code::FailedPrecondition, "CLAIM_STATE".to_owned()));
    approve(suite, &name).await;

    // SUBS-SOD: the finance bureau of the approving bureau's level, no other.
    for token in [finance(suite, OTHER_COUNTY), finance(suite, CITY)] {
        let other = sign_off(suite, &token, &name, "").await.expect_err("another level");
        assert_eq!(refusal(&other), (Code::FailedPrecondition, "SUBS-SOD".to_owned()));
    }
    let officer = sign_off(suite, &suite.officer(COUNTY), &name, "").await.expect_err("not finance");
    assert_eq!(officer.code(), Code::PermissionDenied);

    // SUBS-FUND: 60,000 yuan budgeted, 100,000 needed: it waits with a shortfall of 40,000.
    budget(suite, &county_finance, 6_000_000).await;
    let waiting = sign_off(suite, &county_finance, &name, "sign-1").await.expect("waits for funds");
    assert_eq!(waiting.state, PaymentState::WaitingFunds as i32);
    assert_eq!(
        waiting.portions,
        vec![FundAmount { fund: FundChannel::EmploymentSubsidyFund as i32, amount_fen: 10_000_000 }]
    );
    assert_eq!(
        waiting.shortfalls,
        vec![FundAmount { fund: FundChannel::EmploymentSubsidyFund as i32, amount_fen: 4_000_000 }]
    );
    // The same request again answers the same; another sign-off is refused.
    let again = sign_off(suite, &county_finance, &name, "sign-1").await.expect("the same answer");
    assert_eq!(again, waiting);
    let twice = sign_off(suite, &county_finance, &name, "sign-2").await.expect_err("signed off already");
    assert_eq!(refusal(&twice), (Code::FailedPrecondition, "CLAIM_STATE".to_owned()));
    let unfunded = release(suite, &county_finance, &name, "").await.expect_err("waiting for funds");
    assert_eq!(refusal(&unfunded), (Code::FailedPrecondition, "CLAIM_STATE".to_owned()));

    // The budget raised to 100,000 yuan covers it: signed off by the budget's recording.
    let raised = budget(suite, &county_finance, 10_000_000).await;
    assert_eq!(raised.signed_off, vec![name.clone()]);
    let budget = raised.budget.expect("budget");
    assert_eq!((budget.committed_fen, budget.available_fen), (10_000_000, 0));
    let listed = suite
        .client()
        .await
        .list_fund_budgets(authed(ListFundBudgetsRequest { year: 2027, ..Default::default() }, &suite.auditor()))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.budgets.len(), 1);
    let other_level = suite
        .client()
        .await
        .list_fund_budgets(authed(ListFundBudgetsRequest::default(), &finance(suite, OTHER_COUNTY)))
        .await
        .expect("listed")
        .into_inner();
    assert!(other_level.budgets.is_empty(), "another county's finance sees only its own level");

    // SUBS-PAY: the account changed in selection since sign-off: release refused, nothing moves.
    change_account(suite, "6228480099999999").await;
    let moved = release(suite, &county_finance, &name, "").await.expect_err("another account");
    assert_eq!(refusal(&moved), (Code::FailedPrecondition, "SUBS-PAY".to_owned()));
    change_account(suite, "6228480012345678").await;

    // Released once; released again (a retry after a timeout, with or without its request id)
    // it is the same instruction and nothing moves twice.
    let first = release(suite, &county_finance, &name, "release-1").await.expect("released");
    assert!(first.released_now);
    let instruction = first.instruction.clone().expect("instruction");
    assert_eq!(instruction.amount_fen, 10_000_000);
    assert_eq!(instruction.state, InstructionState::Sent as i32);
    assert_eq!(instruction.payee.clone().expect("payee").number, "6228480012345678");
    let replayed = release(suite, &county_finance, &name, "release-1").await.expect("the same answer");
    assert_eq!(replayed, first);
    let retried = release(suite, &county_finance, &name, "release-2").await.expect("released before");
    assert!(!retried.released_now);
    assert_eq!(retried.instruction.expect("instruction").name, instruction.name);
    let instructions = suite
        .client()
        .await
        .list_payment_instructions(authed(ListPaymentInstructionsRequest::default(), &suite.auditor()))
        .await
        .expect("listed")
        .into_inner()
        .instructions;
    assert_eq!(instructions.len(), 1, "one instruction, however often released");

    // The ledger: fund → payable, balanced.
    let verified = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert!(verified.balanced);
    assert_eq!(verified.movements, 1);
    let balances: Vec<(String, i64)> = verified.balances.iter().map(|b| (b.account.clone(), b.balance_fen)).collect();
    assert_eq!(
        balances,
        vec![
            (format!("FUND:{COUNTY}:EMPLOYMENT_SUBSIDY_FUND"), 10_000_000),
            ("PAYABLE:6228480012345678".to_owned(), -10_000_000)
        ]
    );

    // SUBS-KEEP: an auditor traces the instruction back to each line, its rules, the rate and the
    // verdict, and is told where the chain ends; the ID numbers stay masked.
    let trace = |line: i32, token: String| {
        let instruction = instruction.name.clone();
        async move {
            suite
                .client()
                .await
                .get_payment_trace(authed(GetPaymentTraceRequest { instruction, line }, &token))
                .await
                .map(|r| r.into_inner())
        }
    };
    let traced = trace(0, suite.auditor()).await.expect("traced");
    assert_eq!((traced.claim.as_str(), traced.policy_version.as_str()), (name.as_str(), "xianning-2025-5/v2"));
    assert!(!traced.policy_digest.is_empty());
    assert_eq!(traced.lines.len(), 23, "every trainee of the roster has a line");
    assert_eq!(traced.lines.iter().map(|l| l.amount_fen).sum::<i64>(), 10_000_000);
    let steps: Vec<&str> = traced.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, vec!["FILED", "REVIEWED", "APPROVED", "SIGNED_OFF", "RELEASED"]);
    let paid = traced.lines.iter().find(|l| l.amount_fen > 0 && l.verdict_positive).expect("a paid line");
    assert_eq!((paid.rate_positive, paid.rate_completed, paid.tier_percent), (14, 20, 200));
    assert_eq!((paid.standard_fen, paid.multiplier_percent, paid.amount_fen), (300_000, 200, 500_000));
    assert_eq!((paid.verdict_basis.as_str(), paid.verdict_route.as_str()), ("EMPLOYMENT", "CONTRACT"));
    assert_eq!(paid.verdict_source, "SNAPSHOT_EVIDENCE");
    assert!(paid.chain_ends.contains("no evidence ids"), "{}", paid.chain_ends);
    assert!(paid.verdict.starts_with("verdicts/") && paid.trainee.contains("/trainees/"), "{paid:?}");
    assert!(paid.rules.iter().any(|r| r.code == "SUBS-TIER" && r.passed));
    assert!(paid.id_number_masked.contains('*'), "{}", paid.id_number_masked);
    let unpaid = traced.lines.iter().find(|l| !l.verdict_found).expect("a trainee who did not complete");
    assert!(unpaid.chain_ends.contains("not counted"), "{}", unpaid.chain_ends);
    let ledger_kinds: Vec<&str> = traced.ledger.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(ledger_kinds, vec!["RELEASE", "RELEASE"]);
    // An auditor is not told what reveals a birth date (ELIG-AGE's retirement day); the city is.
    let age = |line: &TracedLine| line.rules.iter().find(|r| r.code == "ELIG-AGE").expect("ELIG-AGE").reason_en.clone();
    assert!(!age(paid).contains("retirement"), "{}", age(paid));
    let one = trace(paid.line, suite.admin()).await.expect("the city traces one line");
    assert_eq!(one.lines.len(), 1);
    assert_eq!((one.lines[0].line, one.lines[0].amount_fen), (paid.line, paid.amount_fen));
    assert!(age(&one.lines[0]).contains("retirement"));
    let beyond = trace(24, suite.auditor()).await.expect_err("no 24th line");
    assert_eq!(refusal(&beyond), (Code::InvalidArgument, "RANGE".to_owned()));
    for token in [suite.provider_token(), finance(suite, COUNTY), suite.officer(COUNTY)] {
        assert_eq!(trace(0, token).await.expect_err("auditors and the city only").code(), Code::PermissionDenied);
    }

    // What each reads: the provider its own; another provider nothing.
    let read = |token: String| {
        let name = name.clone();
        async move { suite.client().await.get_claim_payment(authed(GetClaimPaymentRequest { name }, &token)).await }
    };
    let own = read(suite.provider_token()).await.expect("its own").into_inner().payment.expect("payment");
    assert_eq!((own.state, own.instructions.len()), (PaymentState::Released as i32, 1));
    let stranger = read(suite.provider_of(&qiancheng_testkit::fixtures::uscc("52421221MJ0000009"))).await;
    assert_eq!(stranger.expect_err("not its own").code(), Code::PermissionDenied);

    // An unbalanced movement is refused inside its transaction and leaves nothing behind.
    let (mut tx, _turn) = suite.subsidy.db.begin_write().await.expect("a transaction");
    let lines = [
        Line { account: format!("FUND:{COUNTY}:EMPLOYMENT_SUBSIDY_FUND"), side: EntrySide::Debit, amount_fen: 100 },
        Line { account: "PAYABLE:6228480012345678".into(), side: EntrySide::Credit, amount_fen: 99 },
    ];
    let refused = ledger::post(&mut tx, "forged", "forged", "RELEASE", &lines, "test").await.expect_err("unbalanced");
    assert!(refused.to_string().contains("LEDGER_UNBALANCED") || format!("{refused:?}").contains("LEDGER_UNBALANCED"));
    drop(tx);
    let after = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &finance(suite, COUNTY)))
        .await
        .expect("verified")
        .into_inner();
    assert!(after.balanced);
    assert_eq!(after.movements, 1, "the refused movement left nothing");
}

async fn a_claim_is_returned_by_finance_with_reasons(suite: &Suite) {
    let (name, _) = claim_on_notice(suite).await;
    approve(suite, &name).await;
    let county_finance = finance(suite, COUNTY);
    let returned = suite
        .client()
        .await
        .sign_off_claim(authed(
            SignOffClaimRequest {
                name: name.clone(),
                decision: SignOffDecision::Return as i32,
                return_reasons: vec!["预算指标未下达".into()],
                request_id: String::new(),
            },
            &county_finance,
        ))
        .await
        .expect("returned")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(returned.state, PaymentState::Returned as i32);
    assert_eq!(returned.return_reasons, vec!["预算指标未下达".to_owned()]);
    let no_reason = suite
        .client()
        .await
        .sign_off_claim(authed(
            SignOffClaimRequest { name: name.clone(), decision: SignOffDecision::Return as i32, ..Default::default() },
            &county_finance,
        ))
        .await
        .expect_err("a return says why");
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let released = release(suite, &county_finance, &name, "").await.expect_err("returned");
    assert_eq!(refusal(&released), (Code::FailedPrecondition, "CLAIM_STATE".to_owned()));
    // Signed off later, once the budget is there.
    budget(suite, &county_finance, 20_000_000).await;
    let signed = sign_off(suite, &county_finance, &name, "").await.expect("signed off");
    assert_eq!(signed.state, PaymentState::SignedOff as i32);
    assert!(signed.shortfalls.is_empty());
}

/// The walkthrough's claim approved, funded, signed off and released; its instruction.
async fn released_claim(suite: &Suite) -> PaymentInstruction {
    let (name, _) = claim_on_notice(suite).await;
    approve(suite, &name).await;
    let county_finance = finance(suite, COUNTY);
    budget(suite, &county_finance, 10_000_000).await;
    sign_off(suite, &county_finance, &name, "").await.expect("signed off");
    release(suite, &county_finance, &name, "").await.expect("released").instruction.expect("instruction")
}

async fn import(suite: &Suite, content: String) -> ImportBankResultsResponse {
    suite
        .client()
        .await
        .import_bank_results(authed(
            ImportBankResultsRequest { content: content.into_bytes(), request_id: String::new() },
            &finance(suite, COUNTY),
        ))
        .await
        .expect("imported")
        .into_inner()
}

fn outcomes(imported: &ImportBankResultsResponse) -> Vec<(i32, BankLineOutcome)> {
    imported.results.iter().map(|r| (r.line, BankLineOutcome::try_from(r.outcome).expect("an outcome"))).collect()
}

async fn bank_results_are_reconciled_and_a_failed_payment_is_resent_never_to_both(suite: &Suite) {
    let instruction = released_claim(suite).await;
    let id = instruction.name.trim_start_matches("paymentInstructions/").to_owned();
    let county_finance = finance(suite, COUNTY);

    // The payment file: a header and the one instruction waiting for the bank.
    let exported = suite
        .client()
        .await
        .get_bank_payment_file(authed(GetBankPaymentFileRequest {}, &county_finance))
        .await
        .expect("exported")
        .into_inner();
    let text = String::from_utf8(exported.content).expect("UTF-8");
    assert_eq!((exported.count, exported.total_fen), (1, 10_000_000));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("QCPAY|1|{COUNTY}|1|10000000"));
    assert!(lines[1].starts_with(&format!("{id}|10000000|6228480012345678|")), "{}", lines[1]);

    // The bank fails it (the account was closed); an unknown instruction, a wrong amount and a
    // broken line are reported, not applied. The same file again applies nothing twice.
    let file = format!(
        "QCRES|1|{COUNTY}\n{id}|FAILED|10000000|账户已销户\nNOPE-1|PAID|100|R0\n{id}|PAID|9999999|R1\nbroken\n"
    );
    let first = import(suite, file.clone()).await;
    assert_eq!(
        outcomes(&first),
        vec![
            (2, BankLineOutcome::Failed),
            (3, BankLineOutcome::UnknownInstruction),
            (4, BankLineOutcome::Settled),
            (5, BankLineOutcome::Malformed)
        ]
    );
    assert_eq!((first.applied, first.reported), (1, 3));
    let again = import(suite, file).await;
    assert_eq!(again.applied, 0);
    assert_eq!(outcomes(&again)[0], (2, BankLineOutcome::AppliedBefore));
    // Another level's file is refused whole.
    let foreign = suite
        .client()
        .await
        .import_bank_results(authed(
            ImportBankResultsRequest {
                content: format!("QCRES|1|{OTHER_COUNTY}\n").into_bytes(),
                request_id: String::new(),
            },
            &county_finance,
        ))
        .await
        .expect_err("another level's file");
    assert_eq!(refusal(&foreign), (Code::InvalidArgument, "BANK_FILE".to_owned()));

    // The provider's account is corrected in selection; the failed payment is re-sent there.
    change_account(suite, "6228480077777777").await;
    let resend = |request_id: &str| {
        let name = instruction.name.clone();
        let token = county_finance.clone();
        let request_id = request_id.to_owned();
        async move { suite.client().await.resend_payment(authed(ResendPaymentRequest { name, request_id }, &token)).await }
    };
    let resent = resend("resend-1").await.expect("re-sent").into_inner();
    let new = resent.instruction.expect("new");
    assert_eq!(new.payee.clone().expect("payee").number, "6228480077777777");
    assert_eq!(new.amount_fen, 10_000_000);
    let replaced = resent.replaced.expect("replaced");
    assert_eq!((replaced.state, replaced.resent_as.clone()), (InstructionState::Resent as i32, new.name.clone()));
    let twice = resend("resend-2").await.expect_err("re-sent already");
    assert_eq!(refusal(&twice), (Code::FailedPrecondition, "INSTRUCTION_STATE".to_owned()));

    // The bank pays the new one; a late "paid" for the replaced one is reported, never applied:
    // never paid to both.
    let new_id = new.name.trim_start_matches("paymentInstructions/").to_owned();
    // A line with another amount is reported first, never applied.
    let paid = import(
        suite,
        format!(
            "QCRES|1|{COUNTY}\n{new_id}|PAID|1|BANK-REF-0\n{new_id}|PAID|10000000|BANK-REF-9\n{id}|PAID|10000000|BANK-REF-8\n"
        ),
    )
    .await;
    assert_eq!(
        outcomes(&paid),
        vec![(2, BankLineOutcome::AmountMismatch), (3, BankLineOutcome::Paid), (4, BankLineOutcome::Settled)]
    );

    // The ledger: fund → payable (old account) → payable (new account) → bank, balanced.
    let verified = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert!(verified.balanced);
    assert_eq!(verified.movements, 3);
    let balances: Vec<(String, i64)> = verified.balances.iter().map(|b| (b.account.clone(), b.balance_fen)).collect();
    assert_eq!(
        balances,
        vec![
            (format!("BANK:{COUNTY}"), -10_000_000),
            (format!("FUND:{COUNTY}:EMPLOYMENT_SUBSIDY_FUND"), 10_000_000),
            ("PAYABLE:6228480012345678".to_owned(), 0),
            ("PAYABLE:6228480077777777".to_owned(), 0),
        ]
    );
    let paid_list = suite
        .client()
        .await
        .list_payment_instructions(authed(
            ListPaymentInstructionsRequest { state: InstructionState::Paid as i32, ..Default::default() },
            &suite.provider_token(),
        ))
        .await
        .expect("the provider lists its own")
        .into_inner()
        .instructions;
    assert_eq!(paid_list.len(), 1);
    assert_eq!(paid_list[0].bank_reference, "BANK-REF-9");
}

async fn recover(
    suite: &Suite,
    token: &str,
    claim: &str,
    cause: RecoveryCauseKind,
    rate: (i64, i64),
) -> Result<Receivable, tonic::Status> {
    suite
        .client()
        .await
        .open_recovery(authed(
            OpenRecoveryRequest {
                claim: claim.to_owned(),
                cause: cause as i32,
                new_rate_positive: rate.0,
                new_rate_completed: rate.1,
                note: "复核:1名学员就业佐证被驳回".into(),
                request_id: String::new(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().receivable.expect("receivable"))
}

async fn a_rate_that_falls_after_payment_recovers_2000_yuan_a_line_and_fraud_the_rest(suite: &Suite) {
    let instruction = released_claim(suite).await;
    let claim = instruction.claim.clone();
    let officer = suite.officer(COUNTY);

    // Only the filing bureau's officers open a recovery.
    let other = recover(suite, &suite.officer(OTHER_COUNTY), &claim, RecoveryCauseKind::RateFell, (13, 20))
        .await
        .expect_err("another county");
    assert_eq!(refusal(&other), (Code::FailedPrecondition, "SUBS-SOD".to_owned()));
    let finance_refused = recover(suite, &finance(suite, COUNTY), &claim, RecoveryCauseKind::Fraud, (0, 0)).await;
    assert_eq!(finance_refused.expect_err("not an officer").code(), Code::PermissionDenied);

    // 14/20 = 70% paid 200% of 3,000 capped at 5,000; at 13/20 = 65% a line is worth 100%,
    // 3,000: each of the 20 lines owes 2,000 yuan (not the 3,000 of the tier difference).
    let fell = recover(suite, &officer, &claim, RecoveryCauseKind::RateFell, (13, 20)).await.expect("opened");
    assert_eq!(fell.amount_fen, 20 * 200_000);
    assert_eq!(fell.outstanding_fen, 20 * 200_000);
    assert_eq!(
        fell.portions,
        vec![FundAmount { fund: FundChannel::EmploymentSubsidyFund as i32, amount_fen: 20 * 200_000 }]
    );
    assert!(fell.rules.iter().any(|r| r.code == "SUBS-RECOVER" && r.passed));
    assert_eq!(fell.policy_version, "xianning-2025-5/v2");

    // The bank fails the payment before fraud is found.
    let id = instruction.name.trim_start_matches("paymentInstructions/").to_owned();
    let failed = import(suite, format!("QCRES|1|{COUNTY}\n{id}|FAILED|10000000|账户冻结\n")).await;
    assert_eq!(failed.applied, 1);

    // Fraud found later recovers everything paid, less what the first receivable recovers.
    let fraud = recover(suite, &officer, &claim, RecoveryCauseKind::Fraud, (0, 0)).await.expect("opened");
    assert_eq!(fraud.amount_fen, 10_000_000 - 20 * 200_000);
    let nothing = recover(suite, &officer, &claim, RecoveryCauseKind::Fraud, (0, 0)).await.expect_err("all recovered");
    assert_eq!(refusal(&nothing), (Code::FailedPrecondition, "SUBS-RECOVER".to_owned()));
    let bad_rate = recover(suite, &officer, &claim, RecoveryCauseKind::RateFell, (21, 20)).await.expect_err("no rate");
    assert_eq!(bad_rate.code(), Code::InvalidArgument);

    // SUBS-RECOVER: a recovery for fraud freezes the provider's instructions: the failed one is
    // not re-sent.
    let frozen = suite
        .client()
        .await
        .resend_payment(authed(
            ResendPaymentRequest { name: instruction.name.clone(), request_id: String::new() },
            &finance(suite, COUNTY),
        ))
        .await
        .expect_err("frozen");
    assert_eq!(refusal(&frozen), (Code::FailedPrecondition, "PAYMENT_FROZEN".to_owned()));

    // The ledger: the fund is paid back in full by the receivables, balanced.
    let verified = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert!(verified.balanced);
    let fund = verified
        .balances
        .iter()
        .find(|b| b.account == format!("FUND:{COUNTY}:EMPLOYMENT_SUBSIDY_FUND"))
        .expect("the fund");
    assert_eq!(fund.balance_fen, 0);
    let owed = verified
        .balances
        .iter()
        .find(|b| b.account == format!("RECEIVABLE:{}", suite.provider))
        .expect("the provider's receivable");
    assert_eq!(owed.balance_fen, 10_000_000);

    // The provider reads its own receivables; another provider none.
    let list = |token: String| async move {
        suite
            .client()
            .await
            .list_receivables(authed(ListReceivablesRequest::default(), &token))
            .await
            .expect("listed")
            .into_inner()
            .receivables
    };
    assert_eq!(list(suite.provider_token()).await.len(), 2);
    assert!(list(suite.provider_of(&qiancheng_testkit::fixtures::uscc("52421221MJ0000009"))).await.is_empty());
    assert_eq!(list(finance(suite, COUNTY)).await.len(), 2);
    assert!(list(finance(suite, OTHER_COUNTY)).await.is_empty());

    // The provider repays the fallen rate's receivable in two transfers into the county's bank.
    let county_finance = finance(suite, COUNTY);
    let first = repay(suite, &county_finance, &fell.name, 1_000_000, "BANK-IN-1", "repay-1").await.expect("repaid");
    assert_eq!((first.outstanding_fen, first.state), (3_000_000, ReceivableState::Open as i32));
    assert_eq!(
        first.outstanding,
        vec![FundAmount { fund: FundChannel::EmploymentSubsidyFund as i32, amount_fen: 3_000_000 }]
    );
    assert_eq!(first.settlements.len(), 1);
    let settlement = &first.settlements[0];
    assert_eq!(
        (settlement.kind, settlement.amount_fen, settlement.bank_reference.as_str()),
        (SettlementKind::Repayment as i32, 1_000_000, "BANK-IN-1")
    );
    // Retried with its request id: the same answer, nothing twice.
    let retried = repay(suite, &county_finance, &fell.name, 1_000_000, "BANK-IN-1", "repay-1").await.expect("same");
    assert_eq!(retried, first);
    // The same bank transfer under another request id is recognised and refused.
    let twice = repay(suite, &county_finance, &fell.name, 1_000_000, "BANK-IN-1", "repay-2").await.expect_err("twice");
    assert_eq!(refusal(&twice), (Code::AlreadyExists, "REPAYMENT_EXISTS".to_owned()));
    // Never below zero: one fen more than is owed is refused.
    let over = repay(suite, &county_finance, &fell.name, 3_000_001, "BANK-IN-2", "").await.expect_err("too much");
    assert_eq!(refusal(&over), (Code::FailedPrecondition, "SUBS-RECOVER".to_owned()));
    // Another level's finance, and the provider itself, do not record repayments.
    let foreign = repay(suite, &finance(suite, OTHER_COUNTY), &fell.name, 1, "BANK-IN-3", "").await.expect_err("level");
    assert_eq!(refusal(&foreign), (Code::FailedPrecondition, "SUBS-SOD".to_owned()));
    let own = repay(suite, &suite.provider_token(), &fell.name, 1, "BANK-IN-3", "").await.expect_err("provider");
    assert_eq!(own.code(), Code::PermissionDenied);
    // Exactly what is owed settles it; then nothing more is taken.
    let settled = repay(suite, &officer, &fell.name, 3_000_000, "BANK-IN-2", "").await.expect("settled");
    assert_eq!((settled.outstanding_fen, settled.state), (0, ReceivableState::Settled as i32));
    assert!(settled.outstanding.is_empty());
    assert_eq!(settled.settlements.len(), 2);
    let after = repay(suite, &county_finance, &fell.name, 1, "BANK-IN-4", "").await.expect_err("settled");
    assert_eq!(refusal(&after), (Code::FailedPrecondition, "RECEIVABLE_STATE".to_owned()));

    // The ledger: the repayments reached the county's bank and cleared the receivable.
    let verified = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert!(verified.balanced);
    let balance = |account: String| verified.balances.iter().find(|b| b.account == account).map(|b| b.balance_fen);
    assert_eq!(balance(format!("RECEIVABLE:{}", suite.provider)), Some(10_000_000 - 20 * 200_000));
    assert_eq!(balance(format!("BANK:{COUNTY}")), Some(20 * 200_000));

    // The province's report: every movement per fund channel, with totals by county, fund,
    // occupation and month, for finance of the level and auditors.
    let report = |token: String| async move {
        suite
            .client()
            .await
            .get_fund_report(authed(GetFundReportRequest { year: 0 }, &token))
            .await
            .map(|r| r.into_inner())
    };
    let exported = report(suite.auditor()).await.expect("exported");
    let text = String::from_utf8(exported.content.clone()).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "kind,region_code,fund,occupation_code,month,date,document,claim,provider_credit_code,amount_fen"
    );
    assert_eq!(exported.rows, 5, "a payment, two receivables and two repayments: {text}");
    assert!(
        lines.contains(
            &format!(
                "PAYMENT,{COUNTY},EMPLOYMENT_SUBSIDY_FUND,{WELDER},2027-11,2027-11-15,{},{claim},{},10000000",
                instruction.name, suite.provider
            )
            .as_str()
        )
    );
    let total = |kind: &str| -> i64 { exported.totals.iter().filter(|t| t.kind == kind).map(|t| t.amount_fen).sum() };
    assert_eq!(
        (total("PAYMENT"), total("RECOVERY"), total("REPAYMENT"), total("OFFSET")),
        (10_000_000, 10_000_000, 20 * 200_000, 0)
    );
    assert!(exported.totals.iter().all(|t| t.region_code == COUNTY && t.occupation_code == WELDER));
    assert_eq!(report(county_finance.clone()).await.expect("its level").content, exported.content);
    assert_eq!(report(finance(suite, OTHER_COUNTY)).await.expect("another level").rows, 0);
    assert_eq!(report(suite.provider_token()).await.expect_err("not a provider").code(), Code::PermissionDenied);
}

async fn repay(
    suite: &Suite,
    token: &str,
    receivable: &str,
    amount_fen: i64,
    bank_reference: &str,
    request_id: &str,
) -> Result<Receivable, tonic::Status> {
    suite
        .client()
        .await
        .record_repayment(authed(
            RecordRepaymentRequest {
                receivable: receivable.to_owned(),
                amount_fen,
                bank_reference: bank_reference.to_owned(),
                note: "承训机构退回多拨补贴".into(),
                request_id: request_id.to_owned(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().receivable.expect("receivable"))
}

/// A receivable of an earlier claim of the suite's provider, opened at `level` for `fund`, with
/// its ledger movement (the provider's receivable debited, the fund credited), as OpenRecovery
/// would have stored it.
async fn earlier_receivable(suite: &Suite, id: &str, level: &str, fund: Fund, fen: i64) {
    let fell = RecoveryCause::RateFell {
        new_rate: qiancheng_domain::policy::fraction::Fraction::new(13, 20).expect("a rate"),
    };
    earlier_receivable_for(suite, id, level, fund, fen, fell).await;
}

/// As [`earlier_receivable`], for `cause`.
async fn earlier_receivable_for(suite: &Suite, id: &str, level: &str, fund: Fund, fen: i64, cause: RecoveryCause) {
    let region = qiancheng_domain::RegionCode::parse(level).expect("a level");
    let record = ledger::ReceivableRecord {
        id: id.to_owned(),
        claim_id: format!("earlier-{id}"),
        region,
        provider_credit_code: suite.provider.clone(),
        cause: ledger::Cause(Some(cause)),
        note: "复核:就业佐证被驳回".into(),
        portions: vec![FundPortion { fund, amount_fen: Money::from_fen(fen) }],
        amount_fen: fen,
        outstanding_fen: fen,
        state: ledger::OPEN.to_owned(),
        rules: vec![],
        policy_version: "xianning-2025-5/v2".into(),
        opened_by: "officer".into(),
        stamp: qiancheng_platform::Stamp::new(),
    };
    let (mut tx, _turn) = suite.subsidy.db.begin_write().await.expect("a transaction");
    let lines = [
        Line { account: ledger::receivable_account(&suite.provider), side: EntrySide::Debit, amount_fen: fen },
        Line { account: ledger::fund_account(region, fund.code()), side: EntrySide::Credit, amount_fen: fen },
    ];
    ledger::post(&mut tx, &format!("{id}-open"), "", "RECOVERY", &lines, "test").await.expect("posted");
    qiancheng_platform::record::insert(&mut tx, &record).await.expect("stored");
    tx.commit().await.expect("committed");
}

async fn a_receivable_is_offset_against_the_next_payment_of_the_same_fund_and_bureau_only(suite: &Suite) {
    let (name, _) = claim_on_notice(suite).await;
    approve(suite, &name).await;
    let county_finance = finance(suite, COUNTY);
    budget(suite, &county_finance, 10_000_000).await;
    sign_off(suite, &county_finance, &name, "").await.expect("signed off");
    // Earlier claims left receivables: one fen more than this payment to the same fund of the
    // county, and some to another fund, another county and the city.
    earlier_receivable(suite, "A-R1", COUNTY, Fund::EmploymentSubsidyFund, 10_000_001).await;
    earlier_receivable(suite, "B-R1", COUNTY, Fund::SkillUpgradeAccount, 500).await;
    earlier_receivable(suite, "C-R1", OTHER_COUNTY, Fund::EmploymentSubsidyFund, 500).await;
    earlier_receivable(suite, "D-R1", CITY, Fund::EmploymentSubsidyFund, 500).await;

    // The whole payment is kept back: nothing goes to the bank.
    let released = release(suite, &county_finance, &name, "release-1").await.expect("released");
    assert!(released.released_now);
    let instruction = released.instruction.expect("instruction");
    assert_eq!((instruction.amount_fen, instruction.offset_fen), (0, 10_000_000));
    assert_eq!(instruction.state, InstructionState::Offset as i32);
    // Released again, by retry or anew: nothing is offset twice.
    let again = release(suite, &county_finance, &name, "release-1").await.expect("the same answer");
    assert_eq!(again.instruction.as_ref(), Some(&instruction));
    let anew = release(suite, &county_finance, &name, "release-2").await.expect("released before");
    assert!(!anew.released_now);

    let receivables: Vec<Receivable> = suite
        .client()
        .await
        .list_receivables(authed(ListReceivablesRequest::default(), &suite.auditor()))
        .await
        .expect("listed")
        .into_inner()
        .receivables;
    let of = |id: &str| receivables.iter().find(|r| r.name == format!("receivables/{id}")).expect("listed").clone();
    let a = of("A-R1");
    assert_eq!((a.outstanding_fen, a.state), (1, ReceivableState::Open as i32));
    assert_eq!(a.settlements.len(), 1);
    assert_eq!(
        (a.settlements[0].kind, a.settlements[0].amount_fen, a.settlements[0].instruction.as_str()),
        (SettlementKind::Offset as i32, 10_000_000, instruction.name.as_str())
    );
    for other in ["B-R1", "C-R1", "D-R1"] {
        let r = of(other);
        assert_eq!((r.outstanding_fen, r.settlements.len()), (500, 0), "{other} is never offset");
    }

    // Nothing waits for the bank; the ledger records the offset as its own balanced movement.
    let file = suite
        .client()
        .await
        .get_bank_payment_file(authed(GetBankPaymentFileRequest {}, &county_finance))
        .await
        .expect("exported")
        .into_inner();
    assert_eq!((file.count, file.total_fen), (0, 0));
    let verified = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert!(verified.balanced);
    let balance = |account: String| verified.balances.iter().find(|b| b.account == account).map(|b| b.balance_fen);
    assert_eq!(balance("PAYABLE:6228480012345678".to_owned()), Some(0));
    assert_eq!(balance(format!("RECEIVABLE:{}", suite.provider)), Some(1 + 500 * 3));

    // The province's report shows the payment in full and the offset that settled most of it.
    let report = suite
        .client()
        .await
        .get_fund_report(authed(GetFundReportRequest { year: 2027 }, &county_finance))
        .await
        .expect("exported")
        .into_inner();
    let offset: Vec<(&str, i64)> = report
        .totals
        .iter()
        .filter(|t| t.kind == "PAYMENT" || t.kind == "OFFSET")
        .map(|t| (t.kind.as_str(), t.amount_fen))
        .collect();
    assert!(offset.contains(&("PAYMENT", 10_000_000)), "{offset:?}");

    // The fen left is repaid; the receivable is settled.
    let settled = repay(suite, &county_finance, &a.name, 1, "BANK-IN-9", "").await.expect("repaid");
    assert_eq!(settled.state, ReceivableState::Settled as i32);
}

/// Selection disqualifies the suite's provider for subcontracting another of its projects.
async fn disqualify(suite: &Suite) {
    SelectionServiceClient::new(suite.selection.channel().await)
        .disqualify_provider(authed(
            qiancheng_api::selection::DisqualifyProviderRequest {
                provider: format!("providers/{}", suite.provider),
                misconduct: qiancheng_api::selection::MisconductKind::Subcontracting as i32,
                finding: "将焊工项目转包给无资质机构".into(),
                found_on: None,
                request_id: String::new(),
            },
            &suite.officer(COUNTY),
        ))
        .await
        .expect("disqualified");
}

async fn a_provider_disqualified_before_sign_off_is_neither_signed_off_nor_paid(suite: &Suite) {
    let (name, _) = claim_on_notice(suite).await;
    approve(suite, &name).await;
    let county_finance = finance(suite, COUNTY);
    budget(suite, &county_finance, 10_000_000).await;
    disqualify(suite).await;
    let signed = sign_off(suite, &county_finance, &name, "").await.expect_err("frozen");
    assert_eq!(refusal(&signed), (Code::FailedPrecondition, "PAYMENT_FROZEN".to_owned()));
    let released = release(suite, &county_finance, &name, "").await.expect_err("frozen");
    assert_eq!(refusal(&released), (Code::FailedPrecondition, "PAYMENT_FROZEN".to_owned()));
    // A frozen claim may still be returned with reasons.
    suite
        .client()
        .await
        .sign_off_claim(authed(
            SignOffClaimRequest {
                name: name.clone(),
                decision: SignOffDecision::Return as i32,
                return_reasons: vec!["承训机构因转包被取消资格".into()],
                request_id: String::new(),
            },
            &county_finance,
        ))
        .await
        .expect("returned");
}

async fn a_recovery_for_fraud_keeps_the_providers_waiting_claim_waiting_when_funds_arrive(suite: &Suite) {
    let (name, _) = claim_on_notice(suite).await;
    approve(suite, &name).await;
    let county_finance = finance(suite, COUNTY);
    let waiting = sign_off(suite, &county_finance, &name, "").await.expect("waits for funds");
    assert_eq!(waiting.state, PaymentState::WaitingFunds as i32);
    // An earlier claim of the provider is found fraudulent.
    earlier_receivable_for(suite, "F-R1", COUNTY, Fund::EmploymentSubsidyFund, 100, RecoveryCause::Fraud).await;
    let funded = budget(suite, &county_finance, 10_000_000).await;
    assert!(funded.signed_off.is_empty(), "a frozen provider's claim is not signed off by the budget");
    let frozen = release(suite, &county_finance, &name, "").await.expect_err("frozen");
    assert_eq!(refusal(&frozen), (Code::FailedPrecondition, "PAYMENT_FROZEN".to_owned()));
}

async fn a_disqualification_for_subcontracting_in_selection_freezes_the_providers_other_claim(suite: &Suite) {
    let (name, _) = claim_on_notice(suite).await;
    approve(suite, &name).await;
    let county_finance = finance(suite, COUNTY);
    budget(suite, &county_finance, 10_000_000).await;
    sign_off(suite, &county_finance, &name, "").await.expect("signed off");

    disqualify(suite).await;

    // Its signed-off claim is not released.
    let frozen = release(suite, &county_finance, &name, "").await.expect_err("frozen");
    assert_eq!(refusal(&frozen), (Code::FailedPrecondition, "PAYMENT_FROZEN".to_owned()));

    // Nothing moved.
    let verified = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert_eq!(verified.movements, 0);
}

async fn a_rate_that_falls_after_release_becomes_a_receivable_by_itself_once(suite: &Suite) {
    let (name, trainees) = claim_on_notice(suite).await;
    approve(suite, &name).await;
    let county_finance = finance(suite, COUNTY);
    budget(suite, &county_finance, 10_000_000).await;
    sign_off(suite, &county_finance, &name, "").await.expect("signed off");
    release(suite, &county_finance, &name, "").await.expect("released");
    // Outcome re-verifies one employment away (13/20) and announces it: the claim as paid stays,
    // and the fall becomes a receivable by itself: 2,000 yuan a line (paid 5,000, worth 3,000 at
    // 100%), not the 3,000 of the tier difference.
    suite.outcomes.record(
        &suite.project,
        OutcomeFacts {
            accepted_on: Some(day(2027, 9, 1)),
            evidence: trainees.iter().take(13).map(|t| (t.clone(), employed())).collect(),
            ..OutcomeFacts::default()
        },
    );
    suite.outcomes.announce_rate_change(&suite.project);
    let receivables = || async {
        suite
            .client()
            .await
            .list_receivables(authed(ListReceivablesRequest::default(), &suite.auditor()))
            .await
            .expect("listed")
            .into_inner()
            .receivables
    };
    let mut opened = Vec::new();
    for _ in 0..50 {
        opened = receivables().await;
        if !opened.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let read = suite
        .client()
        .await
        .get_claim(authed(GetClaimRequest { name: name.clone() }, &suite.auditor()))
        .await
        .expect("read")
        .into_inner()
        .claim
        .expect("claim");
    assert_eq!((read.state, read.total_fen), (ClaimState::Approved as i32, 10_000_000));
    assert_eq!(opened.len(), 1, "the fall after payment is a receivable");
    let receivable = &opened[0];
    assert_eq!(receivable.claim, name);
    assert_eq!(receivable.cause(), RecoveryCauseKind::RateFell);
    assert_eq!((receivable.new_rate_positive, receivable.new_rate_completed), (13, 20));
    assert_eq!((receivable.amount_fen, receivable.outstanding_fen), (20 * 200_000, 20 * 200_000));
    assert_eq!(receivable.opened_by, "service:subsidy");
    // The same change announced again opens nothing more.
    suite.outcomes.announce_rate_change(&suite.project);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(receivables().await.len(), 1, "a fall is recovered once");
    let ledger = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest::default(), &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert!(ledger.balanced, "{ledger:?}");
}

/// SUBS-KEEP with the real outcome service: the walkthrough's claim is filed from outcome's own
/// verdicts (14 of 20 employed by route ①, recorded there by the county), reviewed, approved,
/// signed off and released; the trace of a fen paid names the evidence items in outcome its
/// verdict rested on, and outcome shows each of them for that trainee.
async fn the_trace_of_a_fen_paid_reaches_the_evidence_in_outcome(backend: Backend) {
    let Some(suite) = start_suite_with_outcome(backend).await else { return };
    let trainees = run_class(&suite).await;
    standards(&suite).await;
    followed(&suite, &suite.project).await;
    record_employment(&suite, &trainees[..14]).await;
    accept(&suite, &suite.project).await;
    let filed = file_and_put_on_notice(&suite, day(2027, 10, 30)).await;
    assert_eq!(filed.total_fen, 20 * 500_000);
    approve(&suite, &filed.name).await;
    let county_finance = finance(&suite, COUNTY);
    budget(&suite, &county_finance, 10_000_000).await;
    sign_off(&suite, &county_finance, &filed.name, "").await.expect("signed off");
    let instruction =
        release(&suite, &county_finance, &filed.name, "").await.expect("released").instruction.expect("instruction");

    let traced = suite
        .client()
        .await
        .get_payment_trace(authed(
            GetPaymentTraceRequest { instruction: instruction.name.clone(), line: 0 },
            &suite.auditor(),
        ))
        .await
        .expect("traced")
        .into_inner();
    let paid: Vec<&TracedLine> = traced.lines.iter().filter(|l| l.amount_fen > 0 && l.verdict_positive).collect();
    assert_eq!(paid.len(), 14, "the 14 employed are paid on outcome's verdicts");
    let mut outcome = outcome_client(&suite).await;
    for line in paid {
        assert_eq!((line.verdict_source.as_str(), line.verdict_route.as_str()), ("OUTCOME", "CONTRACT"));
        assert!(!line.evidence.is_empty(), "the fen reaches the evidence: {line:?}");
        assert!(line.chain_ends.contains("GetEvidence"), "{}", line.chain_ends);
        let trainee = line.trainee.rsplit('/').next().expect("an id");
        for item in &line.evidence {
            let shown = outcome
                .get_evidence(authed(
                    qiancheng_api::outcome::GetEvidenceRequest { name: item.clone() },
                    &suite.auditor(),
                ))
                .await
                .expect("outcome shows the evidence the verdict rested on")
                .into_inner()
                .evidence
                .expect("an item");
            assert_eq!(shown.trainee, format!("trainees/{trainee}"), "the evidence is the trainee's own");
        }
    }
}

#[tokio::test]
async fn the_trace_of_a_fen_paid_reaches_the_evidence_in_outcome_on_sqlite() {
    the_trace_of_a_fen_paid_reaches_the_evidence_in_outcome(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_trace_of_a_fen_paid_reaches_the_evidence_in_outcome_on_postgres() {
    the_trace_of_a_fen_paid_reaches_the_evidence_in_outcome(Backend::Postgres).await;
}

qiancheng_testkit::backend_tests!(start_suite =>
    an_approved_claim_is_signed_off_funded_released_once_and_the_ledger_balances,
    a_claim_is_returned_by_finance_with_reasons,
    bank_results_are_reconciled_and_a_failed_payment_is_resent_never_to_both,
    a_rate_that_falls_after_payment_recovers_2000_yuan_a_line_and_fraud_the_rest,
    a_rate_that_falls_after_release_becomes_a_receivable_by_itself_once,
    a_receivable_is_offset_against_the_next_payment_of_the_same_fund_and_bureau_only,
    a_disqualification_for_subcontracting_in_selection_freezes_the_providers_other_claim,
    a_provider_disqualified_before_sign_off_is_neither_signed_off_nor_paid,
    a_recovery_for_fraud_keeps_the_providers_waiting_claim_waiting_when_funds_arrive,
);
