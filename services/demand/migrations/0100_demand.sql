-- The demand service's own tables. Versions below 100 belong to the platform's tables.

-- Enterprises (用人单位) that file demand.
CREATE TABLE enterprise (
    credit_code TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    industry TEXT NOT NULL,
    key_project BIGINT NOT NULL,
    key_project_name TEXT NOT NULL,
    expected_production_date TEXT,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX enterprise_region ON enterprise (region_code);

-- Vacancies (岗位需求, 附件1). region_code is the enterprise's county and scopes access;
-- work_region_code is where the work is. The industry is the enterprise's, read by join.
CREATE TABLE vacancy (
    id TEXT PRIMARY KEY,
    enterprise_credit_code TEXT NOT NULL REFERENCES enterprise (credit_code),
    region_code TEXT NOT NULL,
    post TEXT NOT NULL,
    occupation_code TEXT NOT NULL,
    occupation_name TEXT NOT NULL,
    skill_level TEXT NOT NULL,
    headcount BIGINT NOT NULL,
    pay_min_fen BIGINT NOT NULL,
    pay_max_fen BIGINT NOT NULL,
    requirements TEXT NOT NULL,
    work_region_code TEXT NOT NULL,
    needed_by TEXT NOT NULL,
    survey_method TEXT NOT NULL,
    state TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX vacancy_enterprise ON vacancy (enterprise_credit_code);
CREATE INDEX vacancy_state_region ON vacancy (state, work_region_code);

-- Every revision of a vacancy, as it was after the change (适时更新发布).
CREATE TABLE vacancy_revision (
    vacancy_id TEXT NOT NULL REFERENCES vacancy (id),
    revision BIGINT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    time_micros BIGINT NOT NULL,
    PRIMARY KEY (vacancy_id, revision)
);

-- Workers' employment and training needs. Personal data is encrypted (the *_cipher columns);
-- id_number_hash is a keyed hash for duplicate checks; the masked columns are what responses show.
CREATE TABLE worker_need (
    id TEXT PRIMARY KEY,
    id_number_hash TEXT NOT NULL UNIQUE,
    id_number_cipher TEXT NOT NULL,
    id_number_masked TEXT NOT NULL,
    name_cipher TEXT NOT NULL,
    name_masked TEXT NOT NULL,
    phone_cipher TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    region_code TEXT NOT NULL,
    target_group TEXT NOT NULL,
    wanted_industry TEXT NOT NULL,
    wanted_occupation_code TEXT NOT NULL,
    wanted_occupation_name TEXT NOT NULL,
    wanted_pay_min_fen BIGINT NOT NULL,
    held_occupation_code TEXT NOT NULL,
    held_skill_level TEXT NOT NULL,
    wants_training BIGINT NOT NULL,
    training_occupation_code TEXT NOT NULL,
    training_skill_level TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX worker_need_region ON worker_need (region_code);
