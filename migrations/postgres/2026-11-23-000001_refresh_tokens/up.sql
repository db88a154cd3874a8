-- Rotating refresh tokens, stored as SHA-256 hashes. A family is one
-- sign-in; reusing a rotated token revokes the whole family.
CREATE TABLE refresh_token (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES user_account (id),
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_token_family_idx ON refresh_token (family_id);
CREATE INDEX refresh_token_user_idx ON refresh_token (user_id);
