-- The embedded broker ends a connection whose credential no longer holds
-- (a device retired or deleted, its secret rotated, an integration token
-- revoked). It watches this version, bumped here by every such change, so
-- no write path can forget to tell it.
CREATE TABLE credential_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO credential_version (id, version) VALUES (1, 0);

CREATE FUNCTION credential_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credential_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER device_credential
AFTER DELETE OR UPDATE OF status, secret_hash ON device
FOR EACH STATEMENT EXECUTE FUNCTION credential_changed();
CREATE TRIGGER api_token_credential
AFTER DELETE OR UPDATE OF revoked_at, token_hash ON api_token
FOR EACH STATEMENT EXECUTE FUNCTION credential_changed();
