-- The embedded broker ends a connection whose credential no longer holds
-- (a device retired or deleted, its secret rotated, an integration token
-- revoked). It watches this version, bumped here by every such change, so
-- no write path can forget to tell it.
CREATE TABLE credential_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO credential_version (id, version) VALUES (1, 0);

CREATE TRIGGER device_credential_delete AFTER DELETE ON device
BEGIN UPDATE credential_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER device_credential_update AFTER UPDATE OF status, secret_hash ON device
BEGIN UPDATE credential_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER api_token_credential_delete AFTER DELETE ON api_token
BEGIN UPDATE credential_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER api_token_credential_update AFTER UPDATE OF revoked_at, token_hash ON api_token
BEGIN UPDATE credential_version SET version = version + 1 WHERE id = 1; END;
