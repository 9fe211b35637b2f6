-- The model activation history: every switch of the live model, newest by id. The newest row
-- names the active version: a restart keeps it, and every instance follows it.
CREATE TABLE model_activations (
    id         BIGSERIAL PRIMARY KEY,
    time_ns    BIGINT NOT NULL,
    version    TEXT   NOT NULL,
    previous   TEXT   NOT NULL DEFAULT '',
    kind       TEXT   NOT NULL,
    trigger    TEXT   NOT NULL DEFAULT '',
    key_name   TEXT   NOT NULL DEFAULT '',
    request_id TEXT   NOT NULL DEFAULT ''
);
