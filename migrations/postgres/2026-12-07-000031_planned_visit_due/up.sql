-- When each planned visit is next to be judged and when it was settled
-- (issue 25), kept beside the plan instead of in it. The minute's
-- evaluation rewrites these two or three times a plan a day; as columns
-- of `planned_visit` each rewrite was a new version of the whole row in
-- every one of its indexes, and a client's plans ended up scattered over
-- the table that the evaluation reads them from by client and day.
-- `due_at`: the instant the plan becomes late, missed or due for
-- escalation, or at once (an instant in 1970) when one of its alerts was
-- acknowledged, the plan was sent again or the tolerances changed; NULL
-- when nothing but such a change can alter its alerts. `settled_at`: when
-- its state could no longer change. One row per plan, written with it.
DROP INDEX planned_visit_due;
CREATE TABLE planned_visit_due (
    planned_visit_id TEXT PRIMARY KEY REFERENCES planned_visit (id) ON DELETE CASCADE,
    due_at TIMESTAMP,
    settled_at TIMESTAMP
);
INSERT INTO planned_visit_due (planned_visit_id, due_at, settled_at)
    SELECT id, due_at, settled_at FROM planned_visit;
CREATE INDEX planned_visit_due_at ON planned_visit_due (due_at) WHERE due_at IS NOT NULL;
ALTER TABLE planned_visit DROP COLUMN due_at;
ALTER TABLE planned_visit DROP COLUMN settled_at;
