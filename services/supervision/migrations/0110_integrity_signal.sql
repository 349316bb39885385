-- Integrity signals (docs/integrity.md): recorded, explainable observations about a class,
-- never refusals. signal_key (code, class, subject) is what a later event finds a signal by;
-- evidence and parameters are JSON; severity_rank orders a county's list.
CREATE TABLE integrity_signal (
    id TEXT PRIMARY KEY,
    signal_key TEXT NOT NULL,
    code TEXT NOT NULL,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    explanation TEXT NOT NULL,
    evidence TEXT NOT NULL,
    parameters TEXT NOT NULL,
    state TEXT NOT NULL,
    state_note TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    inspection TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE UNIQUE INDEX integrity_signal_key ON integrity_signal (signal_key);
CREATE INDEX integrity_signal_region ON integrity_signal (region_code, severity_rank, id);
CREATE INDEX integrity_signal_class ON integrity_signal (class_id, id);

-- PHONE-SHARED finds people by the keyed hash of their phone, as ELIG-OVERLAP does by their ID
-- number; a roster write fills it for its trainees, re-encryption keeps it under the newest key.
ALTER TABLE trainee ADD COLUMN phone_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX trainee_phone ON trainee (phone_hash);

-- DEVICE-SHARED reads one device's check-ins around a time, whatever the class.
CREATE INDEX attendance_device ON attendance (device, checked_in_micros);
