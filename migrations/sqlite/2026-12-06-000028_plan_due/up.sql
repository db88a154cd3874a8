-- When each planned visit is next to be judged (issue 25): the instant it
-- becomes late, missed or due for escalation, or at once (an instant in 1970)
-- when a visit of its client, one of its alerts' acknowledgements, the
-- plan itself or the municipality's tolerances changed. NULL: nothing but
-- such a change can alter its alerts. The minute's evaluation reads only
-- the plans whose instant has come, not every plan not yet settled.
ALTER TABLE planned_visit ADD COLUMN due_at TIMESTAMP;
UPDATE planned_visit SET due_at = latest_start;
CREATE INDEX planned_visit_due ON planned_visit (due_at) WHERE due_at IS NOT NULL;
