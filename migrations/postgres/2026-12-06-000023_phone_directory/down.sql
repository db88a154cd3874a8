DROP TRIGGER service_directory ON service;
DROP TRIGGER client_directory ON client;
