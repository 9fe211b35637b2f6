-- The model activation history: every switch of the live model, newest by id. The newest row
-- names the active version, which a restart keeps unless MODEL_VERSION is set.
CREATE TABLE model_activations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns    INTEGER NOT NULL,
    version    TEXT    NOT NULL,
    previous   TEXT    NOT NULL DEFAULT '',
    kind       TEXT    NOT NULL,
    trigger    TEXT    NOT NULL DEFAULT '',
    key_name   TEXT    NOT NULL DEFAULT '',
    request_id TEXT    NOT NULL DEFAULT ''
);
