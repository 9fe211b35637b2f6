-- Background batch jobs and their chunked input and results; batch_chunks is also the job
-- queue: workers claim a chunk with a lease, and a chunk whose lease has expired can be
-- claimed again. Times are Unix nanoseconds (UTC); 0 means not yet.
CREATE TABLE batch_jobs (
    id              TEXT    PRIMARY KEY,
    owner           TEXT    NOT NULL DEFAULT '',
    idempotency_key TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    total_count     INTEGER NOT NULL DEFAULT 0,
    processed_count INTEGER NOT NULL DEFAULT 0,
    invalid_count   INTEGER NOT NULL DEFAULT 0,
    fraud_count     INTEGER NOT NULL DEFAULT 0,
    chunk_count     INTEGER NOT NULL DEFAULT 0,
    chunks_done     INTEGER NOT NULL DEFAULT 0,
    created_ns      INTEGER NOT NULL,
    started_ns      INTEGER NOT NULL DEFAULT 0,
    finished_ns     INTEGER NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    top             TEXT    NOT NULL DEFAULT '[]'  -- JSON: the highest-risk results so far
);

-- A retried submission with the same Idempotency-Key finds the first job.
CREATE UNIQUE INDEX batch_jobs_idempotency ON batch_jobs (owner, idempotency_key) WHERE idempotency_key <> '';

-- Listing newest first, everyone's or one owner's; admitting queued jobs oldest first.
CREATE INDEX batch_jobs_created ON batch_jobs (created_ns, id);
CREATE INDEX batch_jobs_owner_created ON batch_jobs (owner, created_ns, id);
CREATE INDEX batch_jobs_status_created ON batch_jobs (status, created_ns);

-- The queue. The blobs live in their own tables: SQLite rewrites a whole row on UPDATE, and
-- claiming a chunk must not copy megabytes.
CREATE TABLE batch_chunks (
    job_id         TEXT    NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    idx            INTEGER NOT NULL,
    first_row      INTEGER NOT NULL,
    row_count      INTEGER NOT NULL,
    state          INTEGER NOT NULL DEFAULT 0, -- 0 pending, 1 leased, 2 done
    lease_holder   TEXT    NOT NULL DEFAULT '',
    lease_until_ns INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;

CREATE INDEX batch_chunks_state ON batch_chunks (job_id, state, idx);

-- Input rows of a chunk (the batch package's binary encoding); deleted once scored.
CREATE TABLE batch_inputs (
    job_id TEXT    NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    data   BLOB    NOT NULL,
    PRIMARY KEY (job_id, idx)
);

-- Results of a scored chunk, in input order (the batch package's binary encoding).
CREATE TABLE batch_results (
    job_id    TEXT    NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    first_row INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (job_id, idx)
);
