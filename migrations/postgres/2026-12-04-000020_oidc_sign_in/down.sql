DROP TABLE oidc_login;
DROP INDEX user_account_external_id_idx;
ALTER TABLE user_account DROP COLUMN external_id;
