-- Visits: the raw events from phones and devices (kept for ever, the
-- evidence), the visits paired from them, the services of each visit, and
-- the care journal.

ALTER TABLE municipality ADD COLUMN max_visit_minutes INTEGER NOT NULL DEFAULT 720
    CHECK (max_visit_minutes > 0);

CREATE TABLE visit_event (
    id TEXT PRIMARY KEY,
    -- Who sent it: a phone (source_key = the staff member), a device
    -- (source_key = the device), or an entry after the fact.
    source TEXT NOT NULL CHECK (source IN ('phone', 'device', 'entry')),
    source_key TEXT NOT NULL,
    -- The sender's own UUID: a resent event is recognised by it.
    event_id TEXT NOT NULL,
    -- presence: a staff tag read inside the home, evidence only.
    kind TEXT NOT NULL CHECK (kind IN ('check_in', 'check_out', 'declined', 'presence')),
    staff_id TEXT NOT NULL REFERENCES user_account (id),
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    local_date DATE NOT NULL,
    method TEXT CHECK (method IS NULL OR method IN ('nfc', 'lock', 'manual', 'entry')),
    method_ref TEXT,
    reason TEXT,
    payload TEXT NOT NULL,
    UNIQUE (source, source_key, event_id)
);
CREATE INDEX visit_event_staff_time_idx ON visit_event (staff_id, occurred_at);
CREATE INDEX visit_event_client_time_idx ON visit_event (client_id, occurred_at);

CREATE TABLE visit (
    -- The id of the check-in event, or of the check-out when there is none.
    id TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES user_account (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    client_id TEXT NOT NULL REFERENCES client (id),
    check_in_event_id TEXT UNIQUE REFERENCES visit_event (id),
    check_out_event_id TEXT UNIQUE REFERENCES visit_event (id),
    started_at TIMESTAMP,
    ended_at TIMESTAMP,
    seconds INTEGER,
    local_date DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'exception')),
    exception TEXT CHECK (exception IS NULL OR exception IN ('missing_check_in', 'missing_check_out', 'too_long')),
    method TEXT,
    double_staffing BOOLEAN NOT NULL,
    -- Comma-separated: manual_method, unplanned, entered_after, exception.
    approval_reasons TEXT NOT NULL,
    approved_at TIMESTAMP,
    approved_by TEXT REFERENCES user_account (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (check_in_event_id IS NOT NULL OR check_out_event_id IS NOT NULL)
);
CREATE INDEX visit_client_start_idx ON visit (client_id, local_date);
CREATE INDEX visit_provider_date_idx ON visit (provider_id, local_date);
CREATE INDEX visit_staff_date_idx ON visit (staff_id, local_date);

-- Whose time a visit is: one client, or co-habiting clients by share.
CREATE TABLE visit_share (
    visit_id TEXT NOT NULL REFERENCES visit (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES client (id),
    basis_points INTEGER NOT NULL CHECK (basis_points BETWEEN 1 AND 10000),
    PRIMARY KEY (visit_id, client_id)
);
CREATE INDEX visit_share_client_idx ON visit_share (client_id);

CREATE TABLE visit_service (
    visit_id TEXT NOT NULL REFERENCES visit (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES client (id),
    service_id TEXT NOT NULL REFERENCES service (id),
    declined BOOLEAN NOT NULL,
    entered_minutes INTEGER CHECK (entered_minutes IS NULL OR entered_minutes >= 0),
    seconds INTEGER NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (visit_id, client_id, service_id, declined)
);

-- Daganteckningar. Never edited: a correction is a new note pointing to
-- the one it corrects.
CREATE TABLE journal_note (
    id TEXT PRIMARY KEY,
    source_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    author_id TEXT NOT NULL REFERENCES user_account (id),
    visit_event_id TEXT REFERENCES visit_event (id),
    corrects_note_id TEXT REFERENCES journal_note (id),
    written_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (source_key, event_id)
);
CREATE INDEX journal_note_client_idx ON journal_note (client_id, written_at);
