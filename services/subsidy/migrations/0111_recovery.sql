-- Receivables (应收追回款, SUBS-RECOVER): what a paid claim owes back, with its cause, per fund
-- (portions, JSON {fund, amount_fen}), decided by the policy core under the claim's policy set
-- (rules, JSON). outstanding_fen falls as it is repaid or offset; region_code is the finance
-- level that paid it.
CREATE TABLE receivable (
    id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    cause TEXT NOT NULL,
    note TEXT NOT NULL,
    portions TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    outstanding_fen BIGINT NOT NULL,
    state TEXT NOT NULL,
    rules TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX receivable_claim ON receivable (claim_id);
CREATE INDEX receivable_provider ON receivable (provider_credit_code);
