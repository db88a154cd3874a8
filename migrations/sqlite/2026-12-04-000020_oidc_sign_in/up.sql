-- Sign-in through the municipality's identity provider (issue 22).
-- Which person an account is, as the provider's configured claim names
-- her (sub, HSA-id, employee number, e-mail): set by the admin or the case
-- system, matched exactly, unique within a municipality.
ALTER TABLE user_account ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX user_account_external_id_idx ON user_account (municipality_id, external_id);

-- A sign-in under way: between sending the user to the provider and the
-- code coming back. The state is stored hashed and works once; the nonce
-- and the PKCE verifier are hemtid's, the client challenge the page's or
-- app's own (RFC 7636, so a code caught on its way back is useless).
CREATE TABLE oidc_login (
    state_hash TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    redirect_uri TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    client_challenge TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX oidc_login_created_idx ON oidc_login (created_at);
