-- Department data exchange (docs/exchange.md). Portable SQL as in 0100. The exchange log
-- (exchange_batch) is append-only: a batch is inserted once, whole, with its signature, and
-- never updated or deleted; its content holds full ID numbers and is stored sealed with the
-- service's data key (docs/CRYPTOGRAPHY.md), its SHA-256 beside it.

-- Departments' SM2 public keys; the newest of a department is current, older ones are
-- retired (retire_time_micros) and still verify what they signed.
CREATE TABLE department_key (
    id TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    source TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signer_id TEXT NOT NULL,
    retire_time_micros BIGINT NOT NULL,
    registered_by TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX department_key_department ON department_key (department, id);

-- The people the exchange may ask about: a watched trainee's ID number, sealed, and its keyed
-- hash, kept from supervision's roster (the rest of the service holds masked forms only).
CREATE TABLE exchange_person (
    trainee_id TEXT PRIMARY KEY,
    id_number_sealed TEXT NOT NULL,
    id_number_hash TEXT NOT NULL,
    update_time_micros BIGINT NOT NULL
);

-- Query batches handed to departments, and each query in them: one person and the months or
-- codes asked (EX-MINIMAL). A query is answered by a result record or stays "no answer".
CREATE TABLE exchange_query_batch (
    id TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    source TEXT NOT NULL,
    query_count BIGINT NOT NULL,
    content_sealed TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE INDEX exchange_query_batch_department ON exchange_query_batch (department, id);

CREATE TABLE exchange_query (
    id TEXT PRIMARY KEY,
    query_batch_id TEXT NOT NULL,
    department TEXT NOT NULL,
    source TEXT NOT NULL,
    trainee_id TEXT NOT NULL,
    months TEXT NOT NULL,
    answer TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE INDEX exchange_query_batch_queries ON exchange_query (query_batch_id, id);
CREATE INDEX exchange_query_trainee ON exchange_query (trainee_id, source);

-- The exchange log: each result batch whole (sealed) with its signature and the key that
-- verified it; one per department and batch id.
CREATE TABLE exchange_batch (
    id TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    source TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    content_sealed TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,
    record_count BIGINT NOT NULL,
    accepted_count BIGINT NOT NULL,
    results TEXT NOT NULL,
    received_by TEXT NOT NULL,
    create_time_micros BIGINT NOT NULL
);
CREATE UNIQUE INDEX exchange_batch_department_batch ON exchange_batch (department, batch_id);

-- Each accepted record of a result batch: the query it answers, what it said and the evidence
-- it became; withdrawn by a later signed batch naming it.
CREATE TABLE exchange_record (
    id TEXT PRIMARY KEY,
    exchange_batch_id TEXT NOT NULL,
    department TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    query_id TEXT NOT NULL,
    trainee_id TEXT NOT NULL,
    found BIGINT NOT NULL,
    subject TEXT NOT NULL,
    evidence_id TEXT NOT NULL,
    withdrawn_by TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time_micros BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
CREATE UNIQUE INDEX exchange_record_department_record ON exchange_record (department, batch_id, record_id);
CREATE INDEX exchange_record_query ON exchange_record (query_id);
CREATE INDEX exchange_record_trainee ON exchange_record (trainee_id, department);
