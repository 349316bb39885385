-- The outcome service's own tables. Versions below 100 belong to the platform's tables.
-- Portable SQL: TEXT, BIGINT and INTEGER only; flags 0/1; civil dates TEXT YYYY-MM-DD (empty for
-- none); instants BIGINT microseconds since the epoch. No table holds a whole ID number, a name
-- or a phone: trainees are known by supervision's ids, a keyed hash and masked forms.

-- Trainees watched: every person ever on the real-name roster of a class of a project, as
-- supervision's ListProjectTrainees shows them (OUT-WINDOW from class_last_day).
CREATE TABLE watched_trainee (
    id TEXT PRIMARY KEY,
    roster_entry TEXT NOT NULL,
    class_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    person_hash TEXT NOT NULL,
    id_number_masked TEXT NOT NULL,
    name_masked TEXT NOT NULL,
    judged_group TEXT NOT NULL,
    prior_level TEXT NOT NULL,
    class_first_day TEXT NOT NULL,
    class_last_day TEXT NOT NULL,
    class_filed_on TEXT NOT NULL,
    class_completed BIGINT NOT NULL,
    policy_version TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    completed BIGINT NOT NULL,
    plan_trainee BIGINT NOT NULL,
    excluded_by TEXT NOT NULL,
    prehire BIGINT NOT NULL,
    prehire_enterprise TEXT NOT NULL,
    occupation_code TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX watched_trainee_project ON watched_trainee (project_id, id);
CREATE INDEX watched_trainee_class ON watched_trainee (class_id, id);

-- Items of evidence (七(四)). detail is the item's content as submitted (the API's
-- EvidenceInput without its document, protobuf, base64); the document is in the
-- content-addressed store under document_sha256 and kept until retain_until (八(三)). An item
-- counts from counts_from (accepted or recorded) until counts_until (a re-examination turned
-- it down), so a project's rate can be read on any day.
CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    trainee_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL,
    certificate_number TEXT NOT NULL,
    engagement_id TEXT NOT NULL,
    document_sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    retain_until TEXT NOT NULL,
    review TEXT NOT NULL,
    reexamination TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    counts_from TEXT NOT NULL,
    counts_until TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX evidence_trainee ON evidence (trainee_id, id);
CREATE INDEX evidence_project ON evidence (project_id, id);
-- One record per certificate number, whichever way it arrived (OUT-CERT-DUPLICATE).
CREATE UNIQUE INDEX evidence_certificate ON evidence (certificate_number) WHERE certificate_number <> '';

-- Each trainee's current verdict (OUT-*), and every revision of it.
CREATE TABLE verdict (
    trainee_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    positive BIGINT NOT NULL,
    body TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX verdict_project ON verdict (project_id, trainee_id);

CREATE TABLE verdict_history (
    id TEXT PRIMARY KEY,
    trainee_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    body TEXT NOT NULL,
    decided_micros BIGINT NOT NULL
);
CREATE INDEX verdict_history_trainee ON verdict_history (trainee_id, revision);

-- Each project's current rate by kind (OUT-RATE), and the feed of its changes, written in the
-- same transaction.
CREATE TABLE project_rate (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    basis TEXT NOT NULL,
    numerator BIGINT NOT NULL,
    denominator BIGINT NOT NULL,
    change_sequence BIGINT NOT NULL
);
CREATE INDEX project_rate_project ON project_rate (project_id);

CREATE TABLE rate_change (
    sequence BIGINT PRIMARY KEY,
    project_id TEXT NOT NULL,
    basis TEXT NOT NULL,
    numerator BIGINT NOT NULL,
    denominator BIGINT NOT NULL,
    previous_numerator BIGINT NOT NULL,
    previous_denominator BIGINT NOT NULL,
    policy_version TEXT NOT NULL,
    cause TEXT NOT NULL,
    changed_micros BIGINT NOT NULL
);
CREATE INDEX rate_change_project ON rate_change (project_id, sequence);

-- The bureau's 综合评估和验收 of a project.
CREATE TABLE acceptance (
    project_id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    accepted BIGINT NOT NULL,
    reasons TEXT NOT NULL,
    decided_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    rates TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);

-- The monthly minimum-wage table (OUT-EMP-SERVICE): one row per region and first day, each
-- with the table version that added it.
CREATE TABLE minimum_wage (
    id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    monthly_fen BIGINT NOT NULL,
    version BIGINT NOT NULL,
    source TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);

-- Where the follower of supervision's change feed stands.
CREATE TABLE feed_cursor (
    id TEXT PRIMARY KEY,
    position TEXT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
