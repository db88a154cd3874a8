-- Device trust (issue 21).
-- Each lock's configuration carries a version that only grows: a lock
-- ignores a configuration older than the one it holds.
ALTER TABLE device ADD COLUMN config_version BIGINT NOT NULL DEFAULT 0;
-- The broker password for external brokers' password files (Mosquitto's
-- PBKDF2-SHA512 "$7$" form), made when the secret is made; hemtid keeps
-- only hashes of secrets.
ALTER TABLE device ADD COLUMN broker_hash TEXT;
ALTER TABLE api_token ADD COLUMN broker_hash TEXT;
-- Dead letters belong to a municipality (only its admin lists and replays
-- them), keep at most the first 4 KiB of a payload with its length and
-- SHA-256, and for a conflicting re-send the version stored first.
ALTER TABLE dead_letter ADD COLUMN municipality_id TEXT;
ALTER TABLE dead_letter ADD COLUMN payload_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letter ADD COLUMN payload_sha256 TEXT;
ALTER TABLE dead_letter ADD COLUMN stored_payload BLOB;
-- (SQLite has no SHA-256: earlier dead letters keep none.)
UPDATE dead_letter SET
    payload_bytes = length(payload),
    municipality_id = (SELECT municipality_id FROM device WHERE device.id = dead_letter.device_id);
CREATE INDEX dead_letter_municipality_idx ON dead_letter (municipality_id, received_at);
-- A device event's message as the device sent it, and the SHA-256 of its
-- content: a re-send with the same event id and other content is a
-- conflict, not a duplicate. Append-only, as the events are.
CREATE TABLE device_message (
    visit_event_id TEXT PRIMARY KEY REFERENCES visit_event (id),
    content_sha256 TEXT NOT NULL,
    body TEXT NOT NULL
);
