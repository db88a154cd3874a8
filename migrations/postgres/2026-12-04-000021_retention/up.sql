-- Retention (gallring, issue 23). How long a municipality keeps its access
-- log (at least five years, HSLF-FS 2016:40 4 kap. 9 §) and a client's
-- records after the client's last order ended (its document management
-- plan; five years is socialtjänstlagen's rule for personal files), and
-- whether clients born on the 5th, 15th or 25th are kept for research
-- (socialtjänstförordningen's sample) instead of deleted.
ALTER TABLE municipality ADD COLUMN access_log_retention_years INTEGER NOT NULL DEFAULT 10;
ALTER TABLE municipality ADD COLUMN client_retention_years INTEGER NOT NULL DEFAULT 5;
ALTER TABLE municipality ADD COLUMN keep_research_sample BOOLEAN NOT NULL DEFAULT TRUE;
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
CREATE TRIGGER chain_gap_append_only BEFORE UPDATE OR DELETE ON chain_gap
    FOR EACH ROW EXECUTE FUNCTION hemtid_append_only();

-- The logs stay append-only, except for records inside a recorded gap.
CREATE FUNCTION hemtid_in_gap(c TEXT, s BIGINT) RETURNS BOOLEAN AS $$
    SELECT COALESCE((SELECT g.to_seq FROM chain_gap g
                      WHERE g.chain = c AND g.from_seq <= s
                      ORDER BY g.from_seq DESC LIMIT 1), 0) >= s
$$ LANGUAGE sql STABLE;
CREATE FUNCTION hemtid_access_log_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND hemtid_in_gap('access_log', OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'access_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION hemtid_visit_change_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND (OLD.chain_seq IS NULL OR hemtid_in_gap('visit_change', OLD.chain_seq)) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'visit_change is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER access_log_append_only ON access_log;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION hemtid_access_log_guard();
DROP TRIGGER visit_change_append_only ON visit_change;
CREATE TRIGGER visit_change_append_only BEFORE UPDATE OR DELETE ON visit_change
    FOR EACH ROW EXECUTE FUNCTION hemtid_visit_change_guard();

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
