ALTER TABLE planned_visit ADD COLUMN settled_at TIMESTAMP;
ALTER TABLE planned_visit ADD COLUMN due_at TIMESTAMP;
UPDATE planned_visit SET due_at = (SELECT d.due_at FROM planned_visit_due d WHERE d.planned_visit_id = planned_visit.id),
    settled_at = (SELECT d.settled_at FROM planned_visit_due d WHERE d.planned_visit_id = planned_visit.id);
DROP TABLE planned_visit_due;
CREATE INDEX planned_visit_due ON planned_visit (due_at) WHERE due_at IS NOT NULL;
