ALTER TABLE service DROP COLUMN continuity_excluded;
