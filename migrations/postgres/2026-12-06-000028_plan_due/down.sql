DROP INDEX planned_visit_due;
ALTER TABLE planned_visit DROP COLUMN due_at;
