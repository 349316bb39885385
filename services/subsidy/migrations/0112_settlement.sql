-- Settling receivables (SUBS-RECOVER): each step that lowers what a provider owes, with its cause.
-- kind REPAYMENT (the provider paid it back into the level's bank, bank_reference the bank's
-- reference) or OFFSET (kept back from a later payment of the same finance bureau and fund,
-- instruction_id the instruction that paid the rest). One row per fund; amount_fen is positive.
-- A receivable's outstanding_fen is its amount less its settlements; it is SETTLED at zero.
CREATE TABLE receivable_settlement (
    id TEXT PRIMARY KEY,
    receivable_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    fund TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    instruction_id TEXT NOT NULL,
    bank_reference TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX receivable_settlement_receivable ON receivable_settlement (receivable_id);
CREATE INDEX receivable_settlement_reference ON receivable_settlement (bank_reference);

-- What of an instruction's portions was kept back against the provider's receivables: the bank
-- pays amount_fen, the portions' total less offset_fen.
ALTER TABLE payment_instruction ADD COLUMN offset_fen BIGINT NOT NULL DEFAULT 0;

CREATE INDEX receivable_region_provider ON receivable (region_code, provider_credit_code, state);
