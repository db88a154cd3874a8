-- The gateway asks, for every device event, whether the client has an
-- order at the device's provider that day. With an index on the client
-- alone or the provider alone, SQLite chose the provider's and read every
-- order of the provider (all of a municipality's, for a sole provider):
-- 170 µs a lookup at 1,000 clients, growing with them.
DROP INDEX care_order_client_idx;
CREATE INDEX care_order_client_provider_idx ON care_order (client_id, provider_id, valid_from);
