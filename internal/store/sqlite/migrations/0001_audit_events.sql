-- The audit log. Times are Unix nanoseconds (UTC), so they sort as numbers and index compactly.
-- AUTOINCREMENT keeps event ids from ever being reused after a purge.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns    INTEGER NOT NULL,
    request_id TEXT    NOT NULL DEFAULT '',
    client_ip  TEXT    NOT NULL DEFAULT '',
    key_name   TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT ''
);

-- Listing newest first, with or without a time range, and purging by age.
CREATE INDEX audit_events_time ON audit_events (time_ns, id);

-- Listing one action newest first.
CREATE INDEX audit_events_action_time ON audit_events (action, time_ns, id);
