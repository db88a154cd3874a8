-- Retention (gallring, issue 23). How long a municipality keeps its access
-- log (at least five years, HSLF-FS 2016:40 4 kap. 9 §) and a client's
-- records after the client's last order ended (its document management
-- plan; five years is socialtjänstlagen's rule for personal files), and
-- whether clients born on the 5th, 15th or 25th are kept for research
-- (socialtjänstförordningen's sample) instead of deleted.
ALTER TABLE municipality ADD COLUMN access_log_retention_years INTEGER NOT NULL DEFAULT 10;
ALTER TABLE municipality ADD COLUMN client_retention_years INTEGER NOT NULL DEFAULT 5;
ALTER TABLE municipality ADD COLUMN keep_research_sample BOOLEAN NOT NULL DEFAULT 1;
-- A client whose records were deleted: the row stays (the access log
-- names it) with its name, personal identity number and address removed.
ALTER TABLE client ADD COLUMN purged_at TIMESTAMP;

-- Records removed from a hash chain by retention: one row per run of
-- consecutive records, with the hash before the first and of the last,
-- signed with hemtid's Ed25519 key, so the chain still verifies across the
-- gap and nobody without the key can remove a record unnoticed.
CREATE TABLE chain_gap (
    chain TEXT NOT NULL,
    from_seq BIGINT NOT NULL,
    to_seq BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    last_hash TEXT NOT NULL,
    removed_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    kid TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (chain, from_seq)
);
CREATE TRIGGER chain_gap_append_only_u BEFORE UPDATE ON chain_gap
BEGIN SELECT RAISE(ABORT, 'chain_gap is append-only'); END;
CREATE TRIGGER chain_gap_append_only_d BEFORE DELETE ON chain_gap
BEGIN SELECT RAISE(ABORT, 'chain_gap is append-only'); END;

-- The logs stay append-only, except for records inside a recorded gap.
DROP TRIGGER access_log_append_only_d;
CREATE TRIGGER access_log_append_only_d BEFORE DELETE ON access_log
WHEN COALESCE((SELECT g.to_seq FROM chain_gap g
                WHERE g.chain = 'access_log' AND g.from_seq <= OLD.seq
                ORDER BY g.from_seq DESC LIMIT 1), 0) < OLD.seq
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
DROP TRIGGER visit_change_append_only_d;
CREATE TRIGGER visit_change_append_only_d BEFORE DELETE ON visit_change
WHEN OLD.chain_seq IS NOT NULL
 AND COALESCE((SELECT g.to_seq FROM chain_gap g
                WHERE g.chain = 'visit_change' AND g.from_seq <= OLD.chain_seq
                ORDER BY g.from_seq DESC LIMIT 1), 0) < OLD.chain_seq
BEGIN SELECT RAISE(ABORT, 'visit_change is append-only'); END;

-- What each run deleted: counts per table, never the data.
CREATE TABLE retention_run (
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    ran_at TIMESTAMP NOT NULL,
    access_log_before TIMESTAMP NOT NULL,
    orders_ended_before DATE NOT NULL,
    clients_purged INTEGER NOT NULL,
    clients_kept INTEGER NOT NULL,
    rows_deleted BIGINT NOT NULL,
    counts TEXT NOT NULL
);
CREATE INDEX retention_run_idx ON retention_run (municipality_id, ran_at);
