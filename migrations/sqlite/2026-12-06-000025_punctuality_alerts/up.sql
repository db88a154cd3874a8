-- Live punctuality alerts (issue 25): a late or missed planned visit is
-- an alert of its own per plan, not one per client and month, so the
-- alert carries the plan's id (no foreign key: a plan replaced or removed
-- by the planning system resolves its alerts instead of being held back by
-- them). SQLite cannot change a UNIQUE or CHECK constraint in place: the
-- table is rebuilt the documented way (foreign keys off, outside diesel's
-- transaction, see metadata.toml). The municipality sets the tolerances
-- and how long the provider has to acknowledge before the caseworker is
-- told.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE alert_new (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    client_id TEXT NOT NULL REFERENCES client (id),
    month TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('outside_band', 'follow_up_recommended',
        'exceeds_granted', 'pace_warning', 'missing_visits', 'visit_open_too_long',
        'care_plan_missing', 'care_plan_missing_escalated', 'care_plan_follow_up_due',
        'individual_follow_up_due', 'contact_person_missing',
        'visit_late', 'visit_missed', 'visit_not_acknowledged')),
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
    planned_visit_id TEXT,
    CHECK ((kind IN ('visit_late', 'visit_missed', 'visit_not_acknowledged')) = (planned_visit_id IS NOT NULL))
);
INSERT INTO alert_new SELECT *, NULL FROM alert;
DROP TABLE alert;
ALTER TABLE alert_new RENAME TO alert;
CREATE INDEX alert_caseworker_idx ON alert (caseworker_id, state);
CREATE INDEX alert_provider_idx ON alert (provider_id, state);
CREATE INDEX alert_municipality_month_idx ON alert (municipality_id, month);
CREATE UNIQUE INDEX alert_client_month_kind ON alert (client_id, month, kind)
    WHERE planned_visit_id IS NULL;
CREATE UNIQUE INDEX alert_planned_visit_kind ON alert (planned_visit_id, kind)
    WHERE planned_visit_id IS NOT NULL;
CREATE INDEX alert_kind_state ON alert (kind, state);
ALTER TABLE municipality ADD COLUMN visit_tolerance_minutes INTEGER NOT NULL DEFAULT 15
    CHECK (visit_tolerance_minutes BETWEEN 0 AND 720);
ALTER TABLE municipality ADD COLUMN time_critical_tolerance_minutes INTEGER NOT NULL DEFAULT 5
    CHECK (time_critical_tolerance_minutes BETWEEN 0 AND 720);
ALTER TABLE municipality ADD COLUMN visit_escalation_minutes INTEGER NOT NULL DEFAULT 30
    CHECK (visit_escalation_minutes BETWEEN 1 AND 1440);
-- Set when a plan's state can no longer change (done, or past every
-- threshold and the last start a visit may keep it by): the minute's
-- evaluation looks only at plans not yet settled. Sending a plan again
-- unsettles it.
ALTER TABLE planned_visit ADD COLUMN settled_at TIMESTAMP;
CREATE INDEX planned_visit_unsettled ON planned_visit (local_date, latest_start)
    WHERE settled_at IS NULL;
-- The minute's evaluation reads a municipality's open planned-visit alerts.
CREATE INDEX alert_open_of_plans ON alert (municipality_id)
    WHERE planned_visit_id IS NOT NULL AND state <> 'resolved';
-- The evaluator notices a plan sent or changed by the latest change.
CREATE INDEX planned_visit_updated ON planned_visit (updated_at);
COMMIT;
PRAGMA foreign_keys = ON;
