DROP TRIGGER device_directory ON device;
DROP TRIGGER device_directory_battery ON device;
DROP TRIGGER user_account_directory ON user_account;
DROP TRIGGER staff_credential_directory ON staff_credential;
DROP TRIGGER care_order_directory ON care_order;
DROP TRIGGER municipality_directory ON municipality;
DROP FUNCTION directory_changed();
DROP TABLE directory_version;
