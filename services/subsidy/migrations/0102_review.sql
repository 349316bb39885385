-- Review, public notice, objections and approval of claims (审核公示无异议, SUBS-SOD, SUBS-NOTICE).
-- exclusions and return_reasons are JSON arrays; notice_* are set while a reviewed claim is on
-- notice and cleared when an upheld objection sends it back to review.
ALTER TABLE claim ADD COLUMN exclusions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE claim ADD COLUMN return_reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE claim ADD COLUMN reviewed_by TEXT;
ALTER TABLE claim ADD COLUMN reviewed_on TEXT;
ALTER TABLE claim ADD COLUMN notice_published_on TEXT;
ALTER TABLE claim ADD COLUMN notice_ends_on TEXT;
ALTER TABLE claim ADD COLUMN approved_by TEXT;
ALTER TABLE claim ADD COLUMN approved_on TEXT;
CREATE INDEX claim_state ON claim (state);

-- Objections (异议) to a claim on notice. contact_cipher is the objector's contact, sealed;
-- region_code is the claim's filing bureau, which scopes officers.
CREATE TABLE claim_objection (
    id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    contact_cipher TEXT NOT NULL,
    body TEXT NOT NULL,
    finding TEXT,
    finding_note TEXT,
    recorded_by TEXT NOT NULL,
    resolved_by TEXT,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX claim_objection_claim ON claim_objection (claim_id);
