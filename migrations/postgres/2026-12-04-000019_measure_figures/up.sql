-- Whether a visit was verified at both ends by a lock or an NFC tag, and
-- neither end entered afterwards (the verification rate): derived with
-- the visit, so the measures never join the events.
ALTER TABLE visit ADD COLUMN verified BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE visit SET verified = TRUE
 WHERE EXISTS (SELECT 1 FROM visit_event e WHERE e.id = visit.check_in_event_id
                 AND e.source <> 'entry' AND e.method IN ('nfc', 'lock'))
   AND EXISTS (SELECT 1 FROM visit_event e WHERE e.id = visit.check_out_event_id
                 AND e.source <> 'entry' AND e.method IN ('nfc', 'lock'));

-- The measures' figures (personalkontinuitet, fast omsorgskontakt, the
-- verification rate), kept with the other figures: per client, local day
-- and care worker, the visits that count, their seconds, how many were
-- verified (and not corrected) and how many started 07:00-22:00 local
-- time. Filled from the visits after this migration (db::run_migrations).
-- Never read per care worker: the measures group it per client.
CREATE TABLE figure_staff_day (
    client_id TEXT NOT NULL REFERENCES client (id),
    local_date DATE NOT NULL,
    staff_id TEXT NOT NULL,
    visits BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    verified BIGINT NOT NULL,
    daytime BIGINT NOT NULL,
    PRIMARY KEY (client_id, local_date, staff_id)
);
CREATE INDEX figure_staff_day_date_idx ON figure_staff_day (local_date);

-- The measures find the visits made only of services personalkontinuitet
-- leaves out from those services' rows: without this index, a scan of
-- every visit's services (230 of the report's 910 ms at 20,000 clients).
-- PostgreSQL only: SQLite municipalities are small, and every index costs
-- the ingest path a write.
CREATE INDEX visit_service_service_idx ON visit_service (service_id);
