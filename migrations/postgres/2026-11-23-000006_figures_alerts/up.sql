-- Performed versus ordered time: figures kept incrementally as visits
-- change, client absences, alerts with their history and an outbox for
-- pushing them, and the provider's explanations of a month (R3).

-- Performed time per client, provider, local day and service; service_id
-- '' is the whole visit (its total time, the visit count, declined visits).
CREATE TABLE figure_day (
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    local_date DATE NOT NULL,
    service_id TEXT NOT NULL,
    seconds BIGINT NOT NULL,
    frame_seconds BIGINT NOT NULL,
    visits BIGINT NOT NULL,
    declined BIGINT NOT NULL,
    PRIMARY KEY (client_id, provider_id, local_date, service_id)
);
CREATE INDEX figure_day_date_idx ON figure_day (local_date);

-- The same per local month ('YYYY-MM'), for reports over many clients.
CREATE TABLE figure_month (
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    month TEXT NOT NULL,
    service_id TEXT NOT NULL,
    seconds BIGINT NOT NULL,
    frame_seconds BIGINT NOT NULL,
    visits BIGINT NOT NULL,
    declined BIGINT NOT NULL,
    PRIMARY KEY (client_id, provider_id, month, service_id)
);
CREATE INDEX figure_month_month_idx ON figure_month (month);

-- Client-months whose figures changed since their alerts were evaluated.
CREATE TABLE figure_dirty (
    client_id TEXT NOT NULL REFERENCES client (id),
    month TEXT NOT NULL,
    marked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, month)
);

-- Frånvaro: a hospital stay and the like; local days, both inclusive.
CREATE TABLE absence (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES client (id),
    starts_on DATE NOT NULL,
    ends_on DATE,
    cause TEXT NOT NULL CHECK (cause IN ('hospital', 'short_term_care', 'travel', 'other')),
    note TEXT NOT NULL DEFAULT '',
    registered_by TEXT NOT NULL REFERENCES user_account (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
CREATE INDEX absence_client_idx ON absence (client_id, starts_on);

-- One alert per client, month and kind: re-evaluation updates it.
CREATE TABLE alert (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    client_id TEXT NOT NULL REFERENCES client (id),
    month TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('outside_band', 'follow_up_recommended',
        'exceeds_granted', 'pace_warning', 'missing_visits', 'visit_open_too_long')),
    -- The rule ids of DOMAIN.md, e.g. 'R1,R2'.
    rules TEXT NOT NULL,
    audience TEXT NOT NULL CHECK (audience IN ('caseworker', 'provider', 'fee_admin')),
    caseworker_id TEXT REFERENCES user_account (id),
    provider_id TEXT REFERENCES provider (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    -- Swedish, for caseworkers and providers; no names, no personal numbers.
    message TEXT NOT NULL,
    -- JSON: the figures behind it.
    figures TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    UNIQUE (client_id, month, kind)
);
CREATE INDEX alert_caseworker_idx ON alert (caseworker_id, state);
CREATE INDEX alert_provider_idx ON alert (provider_id, state);
CREATE INDEX alert_municipality_month_idx ON alert (municipality_id, month);

-- seq keeps the order of changes made in the same instant.
CREATE TABLE alert_history (
    seq BIGSERIAL PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alert (id),
    at TIMESTAMP NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('raised', 'updated', 'acknowledged', 'resolved', 'reopened')),
    state TEXT NOT NULL,
    by_user_id TEXT REFERENCES user_account (id),
    note TEXT NOT NULL,
    message TEXT NOT NULL,
    figures TEXT NOT NULL
);
CREATE INDEX alert_history_alert_idx ON alert_history (alert_id, seq);

-- The provider's explanation of a client's month, reviewed by the caseworker (R3).
CREATE TABLE explanation (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    month TEXT NOT NULL,
    cause TEXT NOT NULL CHECK (cause IN ('declined_visits', 'absence',
        'temporarily_changed_needs', 'permanently_changed_needs', 'other')),
    text TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
    submitted_by TEXT NOT NULL REFERENCES user_account (id),
    submitted_at TIMESTAMP NOT NULL,
    reviewed_by TEXT REFERENCES user_account (id),
    reviewed_at TIMESTAMP,
    review_note TEXT NOT NULL,
    UNIQUE (client_id, provider_id, month)
);

CREATE TABLE explanation_history (
    seq BIGSERIAL PRIMARY KEY,
    explanation_id TEXT NOT NULL REFERENCES explanation (id),
    at TIMESTAMP NOT NULL,
    by_user_id TEXT NOT NULL REFERENCES user_account (id),
    action TEXT NOT NULL CHECK (action IN ('submitted', 'approved', 'rejected')),
    cause TEXT NOT NULL,
    text TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX explanation_history_idx ON explanation_history (explanation_id, seq);

-- Publishers (MQTT, Server-Sent Events) read changed alerts in order.
CREATE TABLE alert_event (
    seq BIGSERIAL PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alert (id),
    at TIMESTAMP NOT NULL
);

-- How far each durable publisher has read alert_event.
CREATE TABLE outbox_cursor (
    name TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
