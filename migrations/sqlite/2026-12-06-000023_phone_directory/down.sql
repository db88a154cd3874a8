DROP TRIGGER service_directory_update;
DROP TRIGGER service_directory_delete;
DROP TRIGGER service_directory_insert;
DROP TRIGGER client_directory_update;
DROP TRIGGER client_directory_delete;
DROP TRIGGER client_directory_insert;
