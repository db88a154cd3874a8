-- The tables the write path upserts by a key of several columns, stored
-- as one b-tree ordered by that key (WITHOUT ROWID) instead of a table
-- ordered by a hidden row number plus the key's index: a row written
-- changes one page of the key's tree, not one of each. In the phone
-- bench each check-out wrote 14 to 20 pages to the log, 7 of them such
-- second trees (docs/BENCHMARKS.md). The rows are small (a few ids and
-- numbers), which is what WITHOUT ROWID is for. Columns, keys, foreign
-- keys and indexes are as they were.

CREATE TABLE visit_share_new (
    visit_id TEXT NOT NULL REFERENCES visit (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES client (id),
    basis_points INTEGER NOT NULL CHECK (basis_points BETWEEN 1 AND 10000),
    PRIMARY KEY (visit_id, client_id)
) WITHOUT ROWID;
INSERT INTO visit_share_new (visit_id, client_id, basis_points)
    SELECT visit_id, client_id, basis_points FROM visit_share;
DROP TABLE visit_share;
ALTER TABLE visit_share_new RENAME TO visit_share;
CREATE INDEX visit_share_client_idx ON visit_share (client_id);

CREATE TABLE visit_service_new (
    visit_id TEXT NOT NULL REFERENCES visit (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES client (id),
    service_id TEXT NOT NULL REFERENCES service (id),
    declined BOOLEAN NOT NULL,
    entered_minutes INTEGER CHECK (entered_minutes IS NULL OR entered_minutes >= 0),
    seconds INTEGER NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (visit_id, client_id, service_id, declined)
) WITHOUT ROWID;
INSERT INTO visit_service_new (visit_id, client_id, service_id, declined, entered_minutes, seconds)
    SELECT visit_id, client_id, service_id, declined, entered_minutes, seconds FROM visit_service;
DROP TABLE visit_service;
ALTER TABLE visit_service_new RENAME TO visit_service;

CREATE TABLE figure_day_new (
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    local_date DATE NOT NULL,
    service_id TEXT NOT NULL,
    seconds BIGINT NOT NULL,
    frame_seconds BIGINT NOT NULL,
    visits BIGINT NOT NULL,
    declined BIGINT NOT NULL,
    PRIMARY KEY (client_id, provider_id, local_date, service_id)
) WITHOUT ROWID;
INSERT INTO figure_day_new (client_id, provider_id, local_date, service_id, seconds, frame_seconds, visits, declined)
    SELECT client_id, provider_id, local_date, service_id, seconds, frame_seconds, visits, declined FROM figure_day;
DROP TABLE figure_day;
ALTER TABLE figure_day_new RENAME TO figure_day;
CREATE INDEX figure_day_date_idx ON figure_day (local_date);

CREATE TABLE figure_month_new (
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    month TEXT NOT NULL,
    service_id TEXT NOT NULL,
    seconds BIGINT NOT NULL,
    frame_seconds BIGINT NOT NULL,
    visits BIGINT NOT NULL,
    declined BIGINT NOT NULL,
    PRIMARY KEY (client_id, provider_id, month, service_id)
) WITHOUT ROWID;
INSERT INTO figure_month_new (client_id, provider_id, month, service_id, seconds, frame_seconds, visits, declined)
    SELECT client_id, provider_id, month, service_id, seconds, frame_seconds, visits, declined FROM figure_month;
DROP TABLE figure_month;
ALTER TABLE figure_month_new RENAME TO figure_month;
CREATE INDEX figure_month_month_idx ON figure_month (month);

CREATE TABLE figure_staff_day_new (
    client_id TEXT NOT NULL REFERENCES client (id),
    local_date DATE NOT NULL,
    staff_id TEXT NOT NULL,
    visits BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    verified BIGINT NOT NULL,
    daytime BIGINT NOT NULL,
    PRIMARY KEY (client_id, local_date, staff_id)
) WITHOUT ROWID;
INSERT INTO figure_staff_day_new (client_id, local_date, staff_id, visits, seconds, verified, daytime)
    SELECT client_id, local_date, staff_id, visits, seconds, verified, daytime FROM figure_staff_day;
DROP TABLE figure_staff_day;
ALTER TABLE figure_staff_day_new RENAME TO figure_staff_day;
CREATE INDEX figure_staff_day_date_idx ON figure_staff_day (local_date);

CREATE TABLE figure_dirty_new (
    client_id TEXT NOT NULL REFERENCES client (id),
    month TEXT NOT NULL,
    marked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, month)
) WITHOUT ROWID;
INSERT INTO figure_dirty_new (client_id, month, marked_at)
    SELECT client_id, month, marked_at FROM figure_dirty;
DROP TABLE figure_dirty;
ALTER TABLE figure_dirty_new RENAME TO figure_dirty;

CREATE TABLE visited_day_new (
    client_id TEXT NOT NULL REFERENCES client (id) ON DELETE CASCADE,
    local_date DATE NOT NULL,
    asked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, local_date)
) WITHOUT ROWID;
INSERT INTO visited_day_new (client_id, local_date, asked_at)
    SELECT client_id, local_date, asked_at FROM visited_day;
DROP TABLE visited_day;
ALTER TABLE visited_day_new RENAME TO visited_day;
