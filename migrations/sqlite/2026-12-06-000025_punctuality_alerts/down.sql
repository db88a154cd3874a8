PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP INDEX planned_visit_updated;
DROP INDEX alert_open_of_plans;
DROP INDEX planned_visit_unsettled;
ALTER TABLE planned_visit DROP COLUMN settled_at;
DELETE FROM alert_event WHERE alert_id IN (SELECT id FROM alert WHERE planned_visit_id IS NOT NULL);
DELETE FROM alert_history WHERE alert_id IN (SELECT id FROM alert WHERE planned_visit_id IS NOT NULL);
DELETE FROM alert WHERE planned_visit_id IS NOT NULL;
CREATE TABLE alert_old (
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
INSERT INTO alert_old SELECT id, municipality_id, client_id, month, kind, rules, audience,
    caseworker_id, provider_id, state, message, figures, raised_at, updated_at, resolved_at FROM alert;
DROP TABLE alert;
ALTER TABLE alert_old RENAME TO alert;
CREATE INDEX alert_caseworker_idx ON alert (caseworker_id, state);
CREATE INDEX alert_provider_idx ON alert (provider_id, state);
CREATE INDEX alert_municipality_month_idx ON alert (municipality_id, month);
ALTER TABLE municipality DROP COLUMN visit_escalation_minutes;
ALTER TABLE municipality DROP COLUMN time_critical_tolerance_minutes;
ALTER TABLE municipality DROP COLUMN visit_tolerance_minutes;
COMMIT;
PRAGMA foreign_keys = ON;
