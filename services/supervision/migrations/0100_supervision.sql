-- The supervision service's own tables. Versions below 100 belong to the platform's tables.
-- Portable SQL: TEXT, BIGINT and INTEGER only; flags 0/1; civil dates TEXT YYYY-MM-DD (empty for
-- none); instants BIGINT microseconds since the epoch; decisions as JSON text.

-- Classes (班次) filed under approved projects (开班备案, CLASS-FILING). region_code is the
-- project's training county and scopes officers; provider_credit_code scopes providers.
-- selection_told is what the selection service said at filing (project, catalog item,
-- standing) and told_micros when.
CREATE TABLE training_class (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    title TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    theory_hours BIGINT NOT NULL,
    practice_hours BIGINT NOT NULL,
    mode TEXT NOT NULL,
    venue TEXT NOT NULL,
    teachers TEXT NOT NULL,
    key_project TEXT NOT NULL,
    state TEXT NOT NULL,
    roster_version BIGINT NOT NULL,
    filed_on TEXT NOT NULL,
    occupation_code TEXT NOT NULL,
    skill_level TEXT NOT NULL,
    approved_headcount BIGINT NOT NULL,
    selection_told TEXT NOT NULL,
    told_micros BIGINT NOT NULL,
    filing_decision TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL,
    acknowledged_micros BIGINT NOT NULL,
    stopped_on TEXT NOT NULL,
    stop_reason TEXT NOT NULL,
    completed_on TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX training_class_project ON training_class (project_id, id);
CREATE INDEX training_class_region ON training_class (region_code, id);
CREATE INDEX training_class_provider ON training_class (provider_credit_code, id);

-- Trainees on real-name rosters (实名制花名册, ELIG-REALNAME). The ID number, name and phone are
-- encrypted; person_hash is the keyed hash of the ID number (ELIG-OVERLAP and ELIG-ONCE look
-- people up by it across every class). A trainee is on roster version v when
-- added_version <= v and (removed_version = 0 or removed_version > v): every earlier version of
-- a roster can be read back.
CREATE TABLE trainee (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    person_hash TEXT NOT NULL,
    id_number_cipher TEXT NOT NULL,
    name_cipher TEXT NOT NULL,
    phone_cipher TEXT NOT NULL,
    id_number_masked TEXT NOT NULL,
    name_masked TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    target_group TEXT NOT NULL,
    judged_group TEXT NOT NULL,
    in_service INTEGER NOT NULL,
    skill_level TEXT NOT NULL,
    budget_paid INTEGER NOT NULL,
    local_basis TEXT NOT NULL,
    local_basis_evidence TEXT NOT NULL,
    prehire_enterprise TEXT NOT NULL,
    state TEXT NOT NULL,
    added_version BIGINT NOT NULL,
    removed_version BIGINT NOT NULL,
    added_on TEXT NOT NULL,
    eligibility TEXT NOT NULL,
    assessment TEXT NOT NULL,
    completion TEXT NOT NULL,
    terminated_on TEXT NOT NULL,
    termination_reason TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX trainee_class ON trainee (class_id, id);
CREATE INDEX trainee_person ON trainee (person_hash);
-- One person is on a class's roster once (removed and rejected entries aside).
CREATE UNIQUE INDEX trainee_class_person ON trainee (class_id, person_hash)
    WHERE state IN ('PROPOSED', 'ACTIVE', 'WITHDRAWN', 'COMPLETED', 'NOT_COMPLETED');

-- Roster changes after filing; each applied one made a roster version. The filing is version 1.
CREATE TABLE roster_change (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    kind TEXT NOT NULL,
    trainee_id TEXT NOT NULL REFERENCES trainee (id),
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decision_note TEXT NOT NULL,
    roster_version BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX roster_change_class ON roster_change (class_id, id);

-- Teaching sessions (课次).
CREATE TABLE class_session (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    held_on TEXT NOT NULL,
    hours BIGINT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    created_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX class_session_class ON class_session (class_id, held_on, id);

-- Attendance: one row per trainee and session, from a check-in event (its event_id unique in
-- the class, event_hash its content, so a resent event is recognised) or from a correction.
-- reported_hours is what the event said; hours is what counts after corrections. No foreign
-- keys: every row is checked against its class's sessions and roster while the class's writers
-- take turns, and a per-row key check would cost more than the row at a session-start burst.
CREATE TABLE attendance (
    class_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    trainee_id TEXT NOT NULL,
    checked_in_micros BIGINT NOT NULL,
    device TEXT NOT NULL,
    reported_hours BIGINT NOT NULL,
    hours BIGINT NOT NULL,
    event_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    received_micros BIGINT NOT NULL,
    PRIMARY KEY (class_id, event_id)
);
CREATE UNIQUE INDEX attendance_session_trainee ON attendance (session_id, trainee_id);
CREATE INDEX attendance_trainee ON attendance (trainee_id);

-- Explicit, reasoned corrections of attendance, each with the value before it.
CREATE TABLE attendance_correction (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    session_id TEXT NOT NULL REFERENCES class_session (id),
    trainee_id TEXT NOT NULL REFERENCES trainee (id),
    had_record INTEGER NOT NULL,
    previous_hours BIGINT NOT NULL,
    hours BIGINT NOT NULL,
    reason TEXT NOT NULL,
    corrected_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX attendance_correction_class ON attendance_correction (class_id, id);

-- Inspections (检查记录, CLASS-INSPECTION) and the referral of the provider to selection.
CREATE TABLE inspection (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    kind TEXT NOT NULL,
    inspected_on TEXT NOT NULL,
    inspector TEXT NOT NULL,
    people_present BIGINT NOT NULL,
    signed_in BIGINT NOT NULL,
    venue_ok INTEGER NOT NULL,
    content_ok INTEGER NOT NULL,
    severity TEXT NOT NULL,
    finding TEXT NOT NULL,
    note TEXT NOT NULL,
    decision TEXT NOT NULL,
    outcome TEXT NOT NULL,
    referral TEXT NOT NULL,
    referral_message TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX inspection_class ON inspection (class_id, id);

-- Skill-evaluation results (技能评价结果): certificates, each recorded once in the service.
CREATE TABLE skill_evaluation (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    trainee_id TEXT NOT NULL REFERENCES trainee (id),
    certificate_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    occupation_code TEXT NOT NULL,
    skill_level TEXT NOT NULL,
    issuer TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX skill_evaluation_trainee ON skill_evaluation (trainee_id, id);
CREATE UNIQUE INDEX skill_evaluation_certificate ON skill_evaluation (issuer, certificate_number);
