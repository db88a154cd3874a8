-- What the gateway looks up for every device event (devices, care
-- workers, staff credentials, orders, municipalities) changes seldom; it
-- keeps them across batches while this version stays the same. Every
-- change to those rows bumps it, here, so no write path can forget to.
-- A device's last contact is not a change, except a battery going below
-- the low mark (20 %) or back above it: a gateway that still holds the
-- device as not low would not resolve the notice another one raised. (A
-- first reading is no such change: a device never read has no notice to
-- resolve, and a gateway that holds it as unread resolves at the next
-- good reading, a no-op.)
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE TRIGGER device_directory_insert AFTER INSERT ON device
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER device_directory_delete AFTER DELETE ON device
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER device_directory_update
AFTER UPDATE OF id, municipality_id, provider_id, kind, client_id, hmac_key, status ON device
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER device_directory_battery AFTER UPDATE OF battery_pct ON device
WHEN (COALESCE(OLD.battery_pct, 100) < 20) <> (COALESCE(NEW.battery_pct, 100) < 20)
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER user_account_directory_insert AFTER INSERT ON user_account
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_account_directory_delete AFTER DELETE ON user_account
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER user_account_directory_update AFTER UPDATE ON user_account
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER staff_credential_directory_insert AFTER INSERT ON staff_credential
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff_credential_directory_delete AFTER DELETE ON staff_credential
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff_credential_directory_update AFTER UPDATE ON staff_credential
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER care_order_directory_insert AFTER INSERT ON care_order
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER care_order_directory_delete AFTER DELETE ON care_order
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER care_order_directory_update AFTER UPDATE ON care_order
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER municipality_directory_insert AFTER INSERT ON municipality
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER municipality_directory_delete AFTER DELETE ON municipality
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER municipality_directory_update AFTER UPDATE ON municipality
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
