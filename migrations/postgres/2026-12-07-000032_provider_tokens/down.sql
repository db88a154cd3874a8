ALTER TABLE api_token DROP COLUMN provider_id;
