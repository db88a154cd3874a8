-- The clients and local days whose planned visits are to be judged again
-- at the next run of the minute's evaluation (issue 25): a visit of the
-- client on that day was recorded, corrected or voided. One row per
-- client and day however many events ask, written by the write path
-- instead of the due instant of each of the client's plans; the run
-- judges the client's plans of that day and the days either side and
-- deletes the row if it still holds the `asked_at` the run read.
CREATE TABLE visited_day (
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    local_date DATE NOT NULL,
    asked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, local_date)
);
