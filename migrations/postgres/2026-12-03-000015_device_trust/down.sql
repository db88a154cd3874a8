DROP TABLE device_message;
DROP INDEX dead_letter_municipality_idx;
ALTER TABLE dead_letter DROP COLUMN stored_payload;
ALTER TABLE dead_letter DROP COLUMN payload_sha256;
ALTER TABLE dead_letter DROP COLUMN payload_bytes;
ALTER TABLE dead_letter DROP COLUMN municipality_id;
ALTER TABLE api_token DROP COLUMN broker_hash;
ALTER TABLE device DROP COLUMN broker_hash;
ALTER TABLE device DROP COLUMN config_version;
