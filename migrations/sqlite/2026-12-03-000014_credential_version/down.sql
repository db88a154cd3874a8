DROP TRIGGER api_token_credential_update;
DROP TRIGGER api_token_credential_delete;
DROP TRIGGER device_credential_update;
DROP TRIGGER device_credential_delete;
DROP TABLE credential_version;
