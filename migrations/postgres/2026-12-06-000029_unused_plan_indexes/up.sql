-- Indexes the minute's evaluation of planned visits read before each plan
-- kept its next instant to be judged (000028): nothing reads them now, and
-- every plan judged and every alert written updated them.
DROP INDEX planned_visit_unsettled;
DROP INDEX planned_visit_updated;
DROP INDEX alert_open_of_plans;
