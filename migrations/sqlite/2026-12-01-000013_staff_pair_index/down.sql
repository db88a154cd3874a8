DROP INDEX visit_event_staff_pair_idx;
CREATE INDEX visit_event_staff_time_idx ON visit_event (staff_id, occurred_at);
