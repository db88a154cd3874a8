-- The pairing reads a staff member's check-ins and check-outs around an
-- instant, newest or oldest first, a few of them (visit_event::windows,
-- window_span). On an index of all their events by time the kind is a
-- filter, and PostgreSQL, which cannot tell how many rows that filter keeps
-- before it has statistics, read all of the staff member's events and
-- sorted them (13 ms a batch read in the simulator, growing with history).
-- On this index the order is the index's and a read stops at its limit.
-- The queries name the kinds as literals: a partial index is used only
-- where the query's condition is the index's own.
DROP INDEX visit_event_staff_time_idx;
CREATE INDEX visit_event_staff_pair_idx ON visit_event (staff_id, occurred_at)
    WHERE kind IN ('check_in', 'check_out');
