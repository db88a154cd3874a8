-- Foundation: organisations, people, the service catalogue, decisions and orders.
-- Portable types: TEXT uuids, TIMESTAMP in UTC, DATE for local days,
-- INTEGER minutes. Keep migrations/sqlite in step (same version names).

CREATE TABLE municipality (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'Europe/Stockholm',
    tolerance_basis_points INTEGER NOT NULL DEFAULT 500 CHECK (tolerance_basis_points BETWEEN 0 AND 10000),
    frame_window_start_minute INTEGER NOT NULL DEFAULT 420 CHECK (frame_window_start_minute BETWEEN 0 AND 1440),
    frame_window_end_minute INTEGER NOT NULL DEFAULT 1320 CHECK (frame_window_end_minute BETWEEN 0 AND 1440),
    care_plan_deadline_days INTEGER NOT NULL DEFAULT 14 CHECK (care_plan_deadline_days > 0),
    plan_follow_up_months INTEGER NOT NULL DEFAULT 6 CHECK (plan_follow_up_months > 0),
    individual_follow_up_months INTEGER NOT NULL DEFAULT 12 CHECK (individual_follow_up_months > 0),
    contact_person_days INTEGER NOT NULL DEFAULT 5 CHECK (contact_person_days > 0),
    review_from_day INTEGER NOT NULL DEFAULT 5 CHECK (review_from_day BETWEEN 1 AND 28),
    month_convention TEXT NOT NULL DEFAULT 'average' CHECK (month_convention IN ('average', 'calendar')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE provider (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    name TEXT NOT NULL,
    org_number TEXT,
    regi TEXT NOT NULL CHECK (regi IN ('municipal', 'private')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (municipality_id, name)
);

CREATE TABLE authority_unit (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('elderly', 'disability')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (municipality_id, name)
);

CREATE TABLE user_account (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('staff', 'provider_admin', 'caseworker', 'fee_admin', 'admin')),
    provider_id TEXT REFERENCES provider (id),
    authority_unit_id TEXT REFERENCES authority_unit (id),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (
        (role IN ('staff', 'provider_admin') AND provider_id IS NOT NULL AND authority_unit_id IS NULL)
        OR (role = 'caseworker' AND authority_unit_id IS NOT NULL AND provider_id IS NULL)
        OR (role IN ('fee_admin', 'admin') AND provider_id IS NULL)
    )
);
CREATE INDEX user_account_provider_idx ON user_account (provider_id);
CREATE INDEX user_account_unit_idx ON user_account (authority_unit_id);

CREATE TABLE api_token (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE client (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    personal_number TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    street_address TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    phone TEXT,
    caseworker_id TEXT REFERENCES user_account (id),
    provider_id TEXT REFERENCES provider (id),
    -- Clients who live together (sammanboende) share one id: a visit to
    -- the home can be split between them.
    household_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (municipality_id, personal_number)
);
CREATE INDEX client_household_idx ON client (household_id);
CREATE INDEX client_caseworker_idx ON client (caseworker_id);
CREATE INDEX client_provider_idx ON client (provider_id);

CREATE TABLE service (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    service_group TEXT NOT NULL CHECK (service_group IN ('S', 'O')),
    standard_minutes INTEGER NOT NULL CHECK (standard_minutes >= 0),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (municipality_id, code)
);

CREATE TABLE decision (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES client (id),
    kind TEXT NOT NULL CHECK (kind IN ('frame', 'per_service')),
    legal_basis TEXT NOT NULL,
    decided_on DATE NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    purpose TEXT NOT NULL,
    goals TEXT NOT NULL,
    caseworker_id TEXT REFERENCES user_account (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX decision_client_idx ON decision (client_id);

CREATE TABLE care_order (
    id TEXT PRIMARY KEY,
    decision_id TEXT NOT NULL REFERENCES decision (id),
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    ordered_on DATE NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    daily_visits INTEGER CHECK (daily_visits IS NULL OR daily_visits > 0),
    double_staffing_minutes INTEGER NOT NULL DEFAULT 0 CHECK (double_staffing_minutes >= 0),
    monthly_total_minutes INTEGER CHECK (monthly_total_minutes IS NULL OR monthly_total_minutes >= 0),
    free_text TEXT NOT NULL DEFAULT '',
    previous_order_id TEXT REFERENCES care_order (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX care_order_client_idx ON care_order (client_id);
CREATE INDEX care_order_provider_idx ON care_order (provider_id);
CREATE UNIQUE INDEX care_order_previous_idx ON care_order (previous_order_id);

CREATE TABLE order_line (
    id TEXT PRIMARY KEY,
    care_order_id TEXT NOT NULL REFERENCES care_order (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    service_id TEXT NOT NULL REFERENCES service (id),
    minutes_per_occurrence INTEGER NOT NULL CHECK (minutes_per_occurrence > 0),
    amount_unit TEXT NOT NULL CHECK (amount_unit IN ('minutes', 'hours')),
    times INTEGER NOT NULL CHECK (times > 0),
    period TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
    every INTEGER NOT NULL DEFAULT 1 CHECK (every > 0),
    weekdays INTEGER NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 1 AND 127),
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (care_order_id, position)
);
