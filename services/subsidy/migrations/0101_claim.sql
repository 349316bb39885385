-- Claims (补贴申请, 附件4). region_code is the filing bureau (the project's county, or the city)
-- and scopes officers; provider_credit_code scopes the provider. facts_cipher is the snapshot
-- gathered from the peers (the roster with names and ID numbers), sealed; outcome is the
-- calculation with names masked and ID numbers masked.
CREATE TABLE claim (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    state TEXT NOT NULL,
    filed_on TEXT NOT NULL,
    materials TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    snapshot_micros BIGINT NOT NULL,
    project_accepted_on TEXT,
    facts_cipher TEXT NOT NULL,
    standards TEXT NOT NULL,
    outcome TEXT NOT NULL,
    total_fen BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX claim_project ON claim (project_id);
CREATE INDEX claim_region ON claim (region_code);
CREATE INDEX claim_provider ON claim (provider_credit_code);
