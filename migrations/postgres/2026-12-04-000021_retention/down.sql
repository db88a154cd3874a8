DROP TABLE retention_run;
DROP TRIGGER visit_change_append_only ON visit_change;
CREATE TRIGGER visit_change_append_only BEFORE UPDATE OR DELETE ON visit_change
    FOR EACH ROW EXECUTE FUNCTION hemtid_append_only();
DROP TRIGGER access_log_append_only ON access_log;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION hemtid_append_only();
DROP FUNCTION hemtid_visit_change_guard();
DROP FUNCTION hemtid_access_log_guard();
DROP FUNCTION hemtid_in_gap(TEXT, BIGINT);
DROP TABLE chain_gap;
ALTER TABLE client DROP COLUMN purged_at;
ALTER TABLE municipality DROP COLUMN keep_research_sample;
ALTER TABLE municipality DROP COLUMN client_retention_years;
ALTER TABLE municipality DROP COLUMN access_log_retention_years;
