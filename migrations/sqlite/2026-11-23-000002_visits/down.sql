DROP TABLE journal_note;
DROP TABLE visit_service;
DROP TABLE visit_share;
DROP TABLE visit;
DROP TABLE visit_event;
ALTER TABLE municipality DROP COLUMN max_visit_minutes;
