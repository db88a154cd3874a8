DROP INDEX visit_service_service_idx;
DROP TABLE figure_staff_day;
ALTER TABLE visit DROP COLUMN verified;
