-- Tables every service keeps beside its own: the hash-chained audit log and idempotency records.

-- The head of the audit chain: one row, locked by every write transaction so that writes and
-- their audit records are serialised and the chain never forks.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: every state change writes one row in the same transaction as the change.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_micros BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    detail TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log (resource);

-- The first response to each request_id, per caller and method, so that a retry returns it.
CREATE TABLE idempotency (
    caller TEXT NOT NULL,
    method TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_micros BIGINT NOT NULL,
    PRIMARY KEY (caller, method, request_id)
);
