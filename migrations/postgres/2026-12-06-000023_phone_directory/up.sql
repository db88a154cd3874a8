-- The phone's items look up what the gateway's do, and two more things
-- that seldom change: the client (and its household) and the service
-- catalogue. They are kept across requests under the directory's version
-- (2026-11-30-000012), so a change to them bumps it too.
CREATE TRIGGER client_directory AFTER INSERT OR DELETE OR UPDATE ON client
FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER service_directory AFTER INSERT OR DELETE OR UPDATE ON service
FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
