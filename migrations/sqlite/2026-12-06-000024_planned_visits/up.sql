-- Planned visits (issue 25): what the provider's planning system says is
-- to happen, per client and day, so that hemtid can tell a late or a
-- missed visit within minutes instead of at the month's review. Kept by
-- the planner's own id per provider: a plan sent again replaces its
-- earlier version. Plans derived from the order, where a provider has no
-- planning system, are marked so. Times in UTC, the day local.
CREATE TABLE planned_visit (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES provider (id),
    planner_ref TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES client (id),
    local_date DATE NOT NULL,
    earliest_start TIMESTAMP NOT NULL,
    latest_start TIMESTAMP NOT NULL,
    expected_minutes INTEGER NOT NULL CHECK (expected_minutes BETWEEN 1 AND 1440),
    double_staffing BOOLEAN NOT NULL,
    -- Medication, insulin, a CPAP mask: late sooner.
    time_critical BOOLEAN NOT NULL,
    -- The plan's own tolerance, instead of the municipality's.
    tolerance_minutes INTEGER CHECK (tolerance_minutes IS NULL OR tolerance_minutes BETWEEN 0 AND 720),
    source TEXT NOT NULL CHECK (source IN ('planner', 'order')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (latest_start >= earliest_start),
    UNIQUE (provider_id, planner_ref)
);
CREATE INDEX planned_visit_provider_day ON planned_visit (provider_id, local_date);
CREATE INDEX planned_visit_client_day ON planned_visit (client_id, local_date);

-- The services planned at the visit.
CREATE TABLE planned_visit_service (
    planned_visit_id TEXT NOT NULL REFERENCES planned_visit (id) ON DELETE CASCADE,
    service_id TEXT NOT NULL REFERENCES service (id),
    PRIMARY KEY (planned_visit_id, service_id)
);

-- The care workers planned, when the planning system says (never used to
-- measure them: only to say which phones may hold a check-in offline).
CREATE TABLE planned_visit_staff (
    planned_visit_id TEXT NOT NULL REFERENCES planned_visit (id) ON DELETE CASCADE,
    staff_id TEXT NOT NULL REFERENCES user_account (id),
    PRIMARY KEY (planned_visit_id, staff_id)
);
CREATE INDEX planned_visit_staff_staff ON planned_visit_staff (staff_id);
