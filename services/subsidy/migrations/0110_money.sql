-- Money (补贴资金拨付, SUBS-FUND, SUBS-PAY): the finance bureau's yearly budget per fund, each
-- approved claim's payment (signed off, waiting for funds, returned, released), the payment
-- instructions that carry it to the provider's recorded account, and the double-entry ledger.
-- Every amount is in fen.

-- A finance bureau's yearly budget of one fund (region_code: the city 421200 or a county).
-- Keyed `{region}_{year}_{fund}`; a new figure replaces the old, the audit log keeps each.
CREATE TABLE fund_budget (
    id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    year BIGINT NOT NULL,
    fund TEXT NOT NULL,
    budget_fen BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL,
    UNIQUE (region_code, year, fund)
);

-- What finance does with an approved claim, keyed by the claim. portions and shortfalls are
-- JSON arrays of {fund, amount_fen}; committed while SIGNED_OFF or RELEASED (charged to the
-- budget of budget_year). payee_* is the provider's account selection held at sign-off.
CREATE TABLE claim_payment (
    claim_id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    state TEXT NOT NULL,
    budget_year BIGINT NOT NULL,
    portions TEXT NOT NULL,
    shortfalls TEXT NOT NULL,
    total_fen BIGINT NOT NULL,
    return_reasons TEXT NOT NULL,
    payee_holder TEXT NOT NULL,
    payee_bank TEXT NOT NULL,
    payee_number TEXT NOT NULL,
    signed_off_by TEXT NOT NULL,
    signed_off_on TEXT,
    released_by TEXT NOT NULL,
    waiting_since_micros BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX claim_payment_state ON claim_payment (region_code, state);
CREATE INDEX claim_payment_provider ON claim_payment (provider_credit_code);

-- A payment instruction (支付指令): its own id, paid at most once. state SENT (released, waiting
-- for the bank), PAID, FAILED (with the bank's reason), RESENT (failed, then replaced by
-- resent_as to a corrected account).
CREATE TABLE payment_instruction (
    id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    payee_holder TEXT NOT NULL,
    payee_bank TEXT NOT NULL,
    payee_number TEXT NOT NULL,
    portions TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    pay_on TEXT NOT NULL,
    state TEXT NOT NULL,
    bank_reference TEXT NOT NULL,
    failure_reason TEXT NOT NULL,
    resent_as TEXT NOT NULL,
    released_by TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX payment_instruction_claim ON payment_instruction (claim_id);
CREATE INDEX payment_instruction_state ON payment_instruction (region_code, state);
CREATE INDEX payment_instruction_provider ON payment_instruction (provider_credit_code);

-- The subsidy ledger (补贴资金明细账): one row per entry line. A movement (movement_id) is a set
-- of entries whose debits equal their credits; account is `FUND:{region}:{fund}`,
-- `PAYABLE:{account number}` or `BANK:{region}`. Rows are never updated or deleted.
CREATE TABLE ledger_entry (
    id TEXT PRIMARY KEY,
    movement_id TEXT NOT NULL,
    instruction_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    side TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX ledger_entry_movement ON ledger_entry (movement_id);
CREATE INDEX ledger_entry_instruction ON ledger_entry (instruction_id);

-- Bank result lines applied, by the bank's own line key: the same result file twice applies once.
CREATE TABLE bank_result (
    id TEXT PRIMARY KEY,
    instruction_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    file_digest TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
