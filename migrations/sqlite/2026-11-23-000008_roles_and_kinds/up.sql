-- The auditor role (R14: reads the access log) and the deadline alert
-- kinds (R10-R13). SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- the documented way (foreign keys off, outside diesel's transaction, see
-- metadata.toml).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE user_account_new (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('staff', 'provider_admin', 'caseworker', 'fee_admin', 'admin', 'auditor')),
    provider_id TEXT REFERENCES provider (id),
    authority_unit_id TEXT REFERENCES authority_unit (id),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (
        (role IN ('staff', 'provider_admin') AND provider_id IS NOT NULL AND authority_unit_id IS NULL)
        OR (role = 'caseworker' AND authority_unit_id IS NOT NULL AND provider_id IS NULL)
        OR (role IN ('fee_admin', 'admin', 'auditor') AND provider_id IS NULL)
    )
);
INSERT INTO user_account_new SELECT * FROM user_account;
DROP TABLE user_account;
ALTER TABLE user_account_new RENAME TO user_account;
CREATE INDEX user_account_provider_idx ON user_account (provider_id);
CREATE INDEX user_account_unit_idx ON user_account (authority_unit_id);
CREATE TABLE alert_new (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    client_id TEXT NOT NULL REFERENCES client (id),
    month TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('outside_band', 'follow_up_recommended',
        'exceeds_granted', 'pace_warning', 'missing_visits', 'visit_open_too_long',
        'care_plan_missing', 'care_plan_missing_escalated', 'care_plan_follow_up_due',
        'individual_follow_up_due', 'contact_person_missing')),
    rules TEXT NOT NULL,
    audience TEXT NOT NULL CHECK (audience IN ('caseworker', 'provider', 'fee_admin')),
    caseworker_id TEXT REFERENCES user_account (id),
    provider_id TEXT REFERENCES provider (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    message TEXT NOT NULL,
    figures TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    UNIQUE (client_id, month, kind)
);
INSERT INTO alert_new SELECT * FROM alert;
DROP TABLE alert;
ALTER TABLE alert_new RENAME TO alert;
CREATE INDEX alert_caseworker_idx ON alert (caseworker_id, state);
CREATE INDEX alert_provider_idx ON alert (provider_id, state);
CREATE INDEX alert_municipality_month_idx ON alert (municipality_id, month);
COMMIT;
PRAGMA foreign_keys = ON;
