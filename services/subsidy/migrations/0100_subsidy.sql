-- The subsidy service's own tables. Versions below 100 belong to the platform's tables.

-- The standards table (补贴标准, SUBS-STANDARD): one row per occupation, level and first day
-- in force, keyed by the three; never updated. A row ends the day before the next one of its
-- occupation and level takes effect.
CREATE TABLE subsidy_standard (
    id TEXT PRIMARY KEY,
    occupation_code TEXT NOT NULL,
    occupation_name TEXT NOT NULL,
    skill_level TEXT NOT NULL,
    standard_fen BIGINT NOT NULL,
    source TEXT NOT NULL,
    document_number TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX subsidy_standard_occupation ON subsidy_standard (occupation_code, skill_level, effective_from);

-- Uplift policies (其他上浮政策, SUBS-UPLIFT), every version kept, keyed `{code}-v{version}`.
CREATE TABLE uplift_policy (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    version BIGINT NOT NULL,
    display_name TEXT NOT NULL,
    document_number TEXT NOT NULL,
    qualifies TEXT NOT NULL,
    percent BIGINT NOT NULL,
    effective_from TEXT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    UNIQUE (code, version)
);

-- An uplift policy recorded for a trainee of a project, with its basis; one per trainee and
-- policy code. region_code is the project's county as selection holds it, and scopes access.
CREATE TABLE trainee_uplift (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    trainee TEXT NOT NULL,
    policy_code TEXT NOT NULL,
    basis TEXT NOT NULL,
    region_code TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    UNIQUE (trainee, policy_code)
);
CREATE INDEX trainee_uplift_project ON trainee_uplift (project_id);
