-- The audit log. Times are Unix nanoseconds (UTC), as in the embedded store, so both sort and
-- compare the same way. A sequence never hands out an id twice, even after a purge.
CREATE TABLE audit_events (
    id         BIGSERIAL PRIMARY KEY,
    time_ns    BIGINT NOT NULL,
    request_id TEXT   NOT NULL DEFAULT '',
    client_ip  TEXT   NOT NULL DEFAULT '',
    key_name   TEXT   NOT NULL DEFAULT '',
    action     TEXT   NOT NULL,
    outcome    TEXT   NOT NULL DEFAULT '',
    detail     TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_time ON audit_events (time_ns, id);
CREATE INDEX audit_events_action_time ON audit_events (action, time_ns, id);

-- Background batch jobs; batch_chunks is also the queue that every instance's workers take
-- chunks from (FOR UPDATE SKIP LOCKED), under a lease. Times are Unix nanoseconds; 0 is not yet.
CREATE TABLE batch_jobs (
    id              TEXT    PRIMARY KEY,
    owner           TEXT    NOT NULL DEFAULT '',
    idempotency_key TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    total_count     BIGINT  NOT NULL DEFAULT 0,
    processed_count BIGINT  NOT NULL DEFAULT 0,
    invalid_count   BIGINT  NOT NULL DEFAULT 0,
    fraud_count     BIGINT  NOT NULL DEFAULT 0,
    chunk_count     INTEGER NOT NULL DEFAULT 0,
    chunks_done     INTEGER NOT NULL DEFAULT 0,
    created_ns      BIGINT  NOT NULL,
    started_ns      BIGINT  NOT NULL DEFAULT 0,
    finished_ns     BIGINT  NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    top             TEXT    NOT NULL DEFAULT '[]', -- JSON: the highest-risk results so far
    reasons         BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX batch_jobs_idempotency ON batch_jobs (owner, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX batch_jobs_created ON batch_jobs (created_ns, id);
CREATE INDEX batch_jobs_owner_created ON batch_jobs (owner, created_ns, id);
CREATE INDEX batch_jobs_status_created ON batch_jobs (status, created_ns);

CREATE TABLE batch_chunks (
    job_id         TEXT    NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    idx            INTEGER NOT NULL,
    first_row      BIGINT  NOT NULL,
    row_count      INTEGER NOT NULL,
    state          SMALLINT NOT NULL DEFAULT 0, -- 0 pending, 1 leased, 2 done
    lease_holder   TEXT    NOT NULL DEFAULT '',
    lease_until_ns BIGINT  NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX batch_chunks_state ON batch_chunks (job_id, state, idx);

-- The blobs live apart from the queue rows, so that leasing a chunk rewrites a small row only.
CREATE TABLE batch_inputs (
    job_id TEXT    NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    data   BYTEA   NOT NULL,
    PRIMARY KEY (job_id, idx)
);

CREATE TABLE batch_results (
    job_id    TEXT    NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    first_row BIGINT  NOT NULL,
    row_count INTEGER NOT NULL,
    data      BYTEA   NOT NULL,
    PRIMARY KEY (job_id, idx)
);
