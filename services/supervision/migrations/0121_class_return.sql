-- Filings returned to their providers with reasons (退回补正). A return is open while
-- refile_time_micros is 0: the class cannot be acknowledged until the provider refiles it
-- (UpdateClass). reasons is a JSON array of texts.
CREATE TABLE class_return (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES training_class (id),
    reasons TEXT NOT NULL,
    returned_by TEXT NOT NULL,
    return_time_micros BIGINT NOT NULL,
    refile_time_micros BIGINT NOT NULL
);
CREATE INDEX class_return_class ON class_return (class_id, refile_time_micros);
CREATE INDEX inspection_id_class ON inspection (class_id, id);
