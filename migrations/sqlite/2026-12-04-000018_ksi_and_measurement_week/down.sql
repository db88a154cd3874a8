ALTER TABLE municipality DROP COLUMN continuity_week;
ALTER TABLE service DROP COLUMN ksi_code;
ALTER TABLE service DROP COLUMN without_decision;
