DROP TABLE retention_run;
DROP TRIGGER visit_change_append_only_d;
CREATE TRIGGER visit_change_append_only_d BEFORE DELETE ON visit_change
BEGIN SELECT RAISE(ABORT, 'visit_change is append-only'); END;
DROP TRIGGER access_log_append_only_d;
CREATE TRIGGER access_log_append_only_d BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
DROP TABLE chain_gap;
ALTER TABLE client DROP COLUMN purged_at;
ALTER TABLE municipality DROP COLUMN keep_research_sample;
ALTER TABLE municipality DROP COLUMN client_retention_years;
ALTER TABLE municipality DROP COLUMN access_log_retention_years;
