-- The selection service's own tables. Versions below 100 belong to the platform's tables.
-- Nested facts that are read and written whole (kind conditions, filing, plan, ranking) are
-- JSON text; everything filtered or joined on has a column of its own.

-- Training providers (承训机构).
CREATE TABLE provider (
    credit_code TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    pays_tax_locally BIGINT NOT NULL,
    independent_legal_person BIGINT NOT NULL,
    kind TEXT NOT NULL,
    conditions TEXT NOT NULL,
    bank_holder TEXT NOT NULL,
    bank_name TEXT NOT NULL,
    bank_number TEXT NOT NULL,
    check_passed BIGINT NOT NULL,
    pilot_override TEXT,
    disqualified_on TEXT,
    misconduct TEXT NOT NULL,
    disqualification_finding TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX provider_region ON provider (region_code);

-- Training violations on record (PROV-CLEAN).
CREATE TABLE provider_violation (
    id TEXT PRIMARY KEY,
    provider_credit_code TEXT NOT NULL REFERENCES provider (credit_code),
    occurred_on TEXT NOT NULL,
    description TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    time_micros BIGINT NOT NULL
);
CREATE INDEX provider_violation_provider ON provider_violation (provider_credit_code);

-- Catalog items (培训项目目录); every version is a row, lineage ties them together.
CREATE TABLE catalog_item (
    id TEXT PRIMARY KEY,
    lineage TEXT NOT NULL,
    version BIGINT NOT NULL,
    region_code TEXT NOT NULL,
    industry TEXT NOT NULL,
    occupation_code TEXT NOT NULL,
    occupation_name TEXT NOT NULL,
    skill_level TEXT NOT NULL,
    headcount BIGINT NOT NULL,
    skill_requirements TEXT NOT NULL,
    content TEXT NOT NULL,
    hours BIGINT NOT NULL,
    mode TEXT NOT NULL,
    answers TEXT NOT NULL,
    state TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL,
    UNIQUE (lineage, version)
);
CREATE INDEX catalog_item_state_region ON catalog_item (state, region_code);

-- Selection rounds (遴选批次).
CREATE TABLE selection_round (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    region_code TEXT NOT NULL,
    method TEXT NOT NULL,
    quota BIGINT NOT NULL,
    deadline TEXT NOT NULL,
    state TEXT NOT NULL,
    approved_headcount BIGINT NOT NULL,
    ranking TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);

-- Applications (项目申报: 附件2, 附件3 and the plan).
CREATE TABLE application (
    id TEXT PRIMARY KEY,
    round_id TEXT NOT NULL REFERENCES selection_round (id),
    catalog_item_id TEXT NOT NULL REFERENCES catalog_item (id),
    provider_credit_code TEXT NOT NULL REFERENCES provider (credit_code),
    provider_name TEXT NOT NULL,
    headcount BIGINT NOT NULL,
    training_region_code TEXT NOT NULL,
    in_service_trainees BIGINT NOT NULL,
    filing TEXT NOT NULL,
    plan TEXT NOT NULL,
    state TEXT NOT NULL,
    consent_reference TEXT NOT NULL,
    revision BIGINT NOT NULL,
    submitted_micros BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX application_round ON application (round_id);
CREATE INDEX application_provider ON application (provider_credit_code);

-- Every step of an application: who did what and why.
CREATE TABLE application_event (
    application_id TEXT NOT NULL REFERENCES application (id),
    seq BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    time_micros BIGINT NOT NULL,
    PRIMARY KEY (application_id, seq)
);

-- Experts assigned to applications, their recusal and their scores.
CREATE TABLE expert_assignment (
    application_id TEXT NOT NULL REFERENCES application (id),
    expert TEXT NOT NULL,
    organisation TEXT NOT NULL,
    round_id TEXT NOT NULL,
    recused BIGINT NOT NULL,
    recusal_reason TEXT NOT NULL,
    score TEXT NOT NULL,
    rubric TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL,
    PRIMARY KEY (application_id, expert)
);
CREATE INDEX expert_assignment_round ON expert_assignment (round_id);
CREATE INDEX expert_assignment_expert ON expert_assignment (expert);

-- Approved projects.
CREATE TABLE project (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL UNIQUE REFERENCES application (id),
    round_id TEXT NOT NULL,
    catalog_item_id TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    training_region_code TEXT NOT NULL,
    industry TEXT NOT NULL,
    occupation_code TEXT NOT NULL,
    occupation_name TEXT NOT NULL,
    skill_level TEXT NOT NULL,
    approved_headcount BIGINT NOT NULL,
    basis TEXT NOT NULL,
    method TEXT NOT NULL,
    cross_region_consent TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX project_region ON project (training_region_code);
CREATE INDEX project_provider ON project (provider_credit_code);

-- Training brands (培训品牌, PROJ-BRAND).
CREATE TABLE brand (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL UNIQUE,
    occupation_name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    projects TEXT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);

-- Yearly quotas of trainees per county and for the city (PROJ-QUOTA).
CREATE TABLE quota (
    region_code TEXT NOT NULL,
    year BIGINT NOT NULL,
    trainees BIGINT NOT NULL,
    basis TEXT NOT NULL,
    set_by TEXT NOT NULL,
    update_time_micros BIGINT NOT NULL,
    PRIMARY KEY (region_code, year)
);
