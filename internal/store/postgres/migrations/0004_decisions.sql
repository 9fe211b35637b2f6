-- The decision log: every answer of /predict and /predict/batch, and the labels given later by
-- POST /feedback, from every instance. Labels are keyed by transaction and never updated: a new
-- label is a new row, and the latest (highest id) is in force.
CREATE TABLE decisions (
    id             BIGSERIAL PRIMARY KEY,
    transaction_id TEXT             NOT NULL,
    request_id     TEXT             NOT NULL,
    time_ns        BIGINT           NOT NULL,
    model_version  TEXT             NOT NULL,
    probability    DOUBLE PRECISION NOT NULL, -- the float64 answered, bit for bit
    is_fraud       BOOLEAN          NOT NULL,
    risk_level     TEXT             NOT NULL,
    threshold      DOUBLE PRECISION NOT NULL,
    inputs         BYTEA            NOT NULL, -- the 30 inputs, little-endian float64s in feature order
    reasons        TEXT                       -- JSON list of {feature, contribution}; NULL when none
);
CREATE INDEX decisions_transaction ON decisions (transaction_id, time_ns);
CREATE INDEX decisions_time ON decisions (time_ns, id);

CREATE TABLE labels (
    id             BIGSERIAL PRIMARY KEY,
    transaction_id TEXT   NOT NULL,
    label          TEXT   NOT NULL CHECK (label IN ('fraud', 'legit')),
    source         TEXT   NOT NULL,
    observed_ns    BIGINT NOT NULL,
    recorded_ns    BIGINT NOT NULL
);
CREATE INDEX labels_transaction ON labels (transaction_id, id);
