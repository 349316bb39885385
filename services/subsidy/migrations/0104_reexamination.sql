-- Re-examinations (复核) a provider asks for, once per excluded line or returned claim of a
-- review: trainee is the excluded line's roster entry, empty for a returned claim; decision_on
-- is the day of the review concerned.
CREATE TABLE claim_reexamination (
    id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    trainee TEXT NOT NULL,
    grounds TEXT NOT NULL,
    decision_on TEXT NOT NULL,
    decision_by TEXT NOT NULL,
    finding TEXT,
    finding_note TEXT,
    requested_by TEXT NOT NULL,
    decided_by TEXT,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX claim_reexamination_claim ON claim_reexamination (claim_id);
