-- The change feed (outbox) the outcome and subsidy services follow: one row per change that
-- matters to a trainee's outcome or subsidy (a class completed or stopped, a skill evaluation
-- recorded, attendance corrected, a trainee withdrawn or terminated, a roster changed), written
-- in the same transaction as the change itself. position grows by one per row, in commit order
-- (writers of the feed take turns until they commit), so a reader that remembers the last
-- position it saw misses nothing and sees nothing twice.
CREATE TABLE class_change (
    position BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    class_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    provider_credit_code TEXT NOT NULL,
    trainee_id TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    actor TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX class_change_region ON class_change (region_code, position);
