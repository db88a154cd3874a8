-- Approval and changes (R6): a provider admin approves visits day by day,
-- corrects or voids a visit with a reason, and locks a month. Corrections
-- override what the pairing derived and survive re-pairing; every change
-- is kept in visit_change with who, when, why, before and after.

ALTER TABLE visit ADD COLUMN corrected_started_at TIMESTAMP;
ALTER TABLE visit ADD COLUMN corrected_ended_at TIMESTAMP;
ALTER TABLE visit ADD COLUMN voided BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE visit_change (
    id TEXT PRIMARY KEY,
    -- No foreign key: the history outlives a visit that re-pairing removed.
    visit_id TEXT NOT NULL,
    provider_id TEXT NOT NULL REFERENCES provider (id),
    kind TEXT NOT NULL CHECK (kind IN ('approve', 'correct', 'void', 'reopen')),
    reason_code TEXT,
    comment TEXT NOT NULL,
    changed_by TEXT NOT NULL REFERENCES user_account (id),
    changed_at TIMESTAMP NOT NULL,
    -- The wall clock when the row was written: orders changes made at the
    -- same stated instant.
    recorded_at TIMESTAMP NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);
CREATE INDEX visit_change_visit_idx ON visit_change (visit_id, changed_at);

CREATE TABLE month_lock (
    provider_id TEXT NOT NULL REFERENCES provider (id),
    month TEXT NOT NULL,
    locked_at TIMESTAMP NOT NULL,
    locked_by TEXT NOT NULL REFERENCES user_account (id),
    PRIMARY KEY (provider_id, month)
);
