DROP TABLE figure_staff_day;
ALTER TABLE visit DROP COLUMN verified;
