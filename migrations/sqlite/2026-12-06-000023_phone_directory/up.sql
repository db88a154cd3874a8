-- The phone's items look up what the gateway's do, and two more things
-- that seldom change: the client (and its household) and the service
-- catalogue. They are kept across requests under the directory's version
-- (2026-11-30-000012), so a change to them bumps it too.
CREATE TRIGGER client_directory_insert AFTER INSERT ON client
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER client_directory_delete AFTER DELETE ON client
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER client_directory_update AFTER UPDATE ON client
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_directory_insert AFTER INSERT ON service
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_directory_delete AFTER DELETE ON service
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER service_directory_update AFTER UPDATE ON service
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
