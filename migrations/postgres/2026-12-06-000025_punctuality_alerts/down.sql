DROP INDEX alert_open_of_plans;
DROP INDEX planned_visit_unsettled;
ALTER TABLE planned_visit DROP COLUMN settled_at;
DROP INDEX planned_visit_updated;
ALTER TABLE municipality DROP COLUMN visit_escalation_minutes;
ALTER TABLE municipality DROP COLUMN time_critical_tolerance_minutes;
ALTER TABLE municipality DROP COLUMN visit_tolerance_minutes;
DELETE FROM alert_event WHERE alert_id IN (SELECT id FROM alert WHERE planned_visit_id IS NOT NULL);
DELETE FROM alert_history WHERE alert_id IN (SELECT id FROM alert WHERE planned_visit_id IS NOT NULL);
DELETE FROM alert WHERE planned_visit_id IS NOT NULL;
ALTER TABLE alert DROP CONSTRAINT alert_planned_visit_check;
ALTER TABLE alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE alert ADD CONSTRAINT alert_kind_check CHECK (kind IN ('outside_band', 'follow_up_recommended',
        'exceeds_granted', 'pace_warning', 'missing_visits', 'visit_open_too_long',
        'care_plan_missing', 'care_plan_missing_escalated', 'care_plan_follow_up_due',
        'individual_follow_up_due', 'contact_person_missing'));
DROP INDEX alert_kind_state;
DROP INDEX alert_planned_visit_kind;
DROP INDEX alert_client_month_kind;
ALTER TABLE alert ADD CONSTRAINT alert_client_id_month_kind_key UNIQUE (client_id, month, kind);
ALTER TABLE alert DROP COLUMN planned_visit_id;
