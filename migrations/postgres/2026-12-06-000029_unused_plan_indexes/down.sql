CREATE INDEX planned_visit_unsettled ON planned_visit (local_date, latest_start)
    WHERE settled_at IS NULL;
CREATE INDEX planned_visit_updated ON planned_visit (updated_at);
CREATE INDEX alert_open_of_plans ON alert (municipality_id)
    WHERE planned_visit_id IS NOT NULL AND state <> 'resolved';
