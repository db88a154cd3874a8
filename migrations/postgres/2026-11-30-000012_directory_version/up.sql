-- What the gateway looks up for every device event (devices, care
-- workers, staff credentials, orders, municipalities) changes seldom; it
-- keeps them across batches while this version stays the same. Every
-- change to those rows bumps it, here, so no write path can forget to.
-- The bump is an ordinary row update: it commits with the change, and a
-- gateway never sees the new version before the new rows. A device's last
-- contact is not a change, except a battery going below the low mark
-- (20 %) or back above it: a gateway that still holds the device as not
-- low would not resolve the notice another one raised. (A first reading
-- is no such change: a device never read has no notice to resolve, and a
-- gateway that holds it as unread resolves at the next good reading, a
-- no-op.)
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER device_directory
AFTER INSERT OR DELETE OR UPDATE OF id, municipality_id, provider_id, kind, client_id, hmac_key, status
ON device FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER device_directory_battery AFTER UPDATE OF battery_pct ON device FOR EACH ROW
WHEN ((COALESCE(OLD.battery_pct, 100) < 20) IS DISTINCT FROM (COALESCE(NEW.battery_pct, 100) < 20))
EXECUTE FUNCTION directory_changed();
CREATE TRIGGER user_account_directory AFTER INSERT OR DELETE OR UPDATE ON user_account
FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER staff_credential_directory AFTER INSERT OR DELETE OR UPDATE ON staff_credential
FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER care_order_directory AFTER INSERT OR DELETE OR UPDATE ON care_order
FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER municipality_directory AFTER INSERT OR DELETE OR UPDATE ON municipality
FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
