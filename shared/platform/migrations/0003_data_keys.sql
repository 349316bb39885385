-- Moving personal data to the newest data key (`qiancheng reencrypt <service>`,
-- docs/CRYPTOGRAPHY.md). How far each table's move has got, so that a run stopped at any point
-- resumes after the last batch it committed; each batch and its progress commit together.
CREATE TABLE pii_reencryption (
    target_key TEXT NOT NULL,
    table_name TEXT NOT NULL,
    after_key TEXT NOT NULL,
    moved BIGINT NOT NULL,
    finished INTEGER NOT NULL,
    update_time_micros BIGINT NOT NULL,
    PRIMARY KEY (target_key, table_name)
);

-- The key every sealed value and lookup hash of this database is under, once a move has
-- checked that no row is left under another: from then on services look people up by that
-- key's hash alone. One row at most (id 1).
CREATE TABLE pii_settled_key (
    id BIGINT PRIMARY KEY,
    key_id TEXT NOT NULL,
    settled_micros BIGINT NOT NULL
);
