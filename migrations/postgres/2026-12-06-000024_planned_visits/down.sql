DROP TABLE planned_visit_staff;
DROP TABLE planned_visit_service;
DROP TABLE planned_visit;
