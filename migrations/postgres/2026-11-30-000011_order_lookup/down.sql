DROP INDEX care_order_client_provider_idx;
CREATE INDEX care_order_client_idx ON care_order (client_id);
