DROP TABLE digital_key;
DROP TABLE lock_signing_key;
DROP TABLE dead_letter;
DROP TABLE staff_credential;
DROP TABLE device;
