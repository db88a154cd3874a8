DROP TABLE month_lock;
DROP TABLE visit_change;
ALTER TABLE visit DROP COLUMN voided;
ALTER TABLE visit DROP COLUMN corrected_ended_at;
ALTER TABLE visit DROP COLUMN corrected_started_at;
