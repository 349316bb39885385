-- The eligibility decisions of a roster change that adds a trainee: the one made when it was
-- proposed, and the one made again when an officer approved it, kept side by side (the
-- trainee's own decision is the latest).
CREATE TABLE roster_change_decision (
    change_id TEXT PRIMARY KEY REFERENCES roster_change (id),
    class_id TEXT NOT NULL REFERENCES training_class (id),
    at_proposal TEXT NOT NULL,
    at_approval TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX roster_change_decision_class ON roster_change_decision (class_id, change_id);
