DROP TRIGGER api_token_credential ON api_token;
DROP TRIGGER device_credential ON device;
DROP FUNCTION credential_changed();
DROP TABLE credential_version;
