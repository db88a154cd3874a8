-- An integration token may belong to one provider (issue 25): a
-- provider's planning system sends that provider's plans and reads its
-- clients and plans, nothing else, and never signs in on the broker.
-- NULL: the municipality's case system, as before. Without a foreign key
-- here: SQLite cannot drop a column that has one (the down migration),
-- and `hemtid token create --provider` checks the provider is the
-- municipality's; PostgreSQL has the key.
ALTER TABLE api_token ADD COLUMN provider_id TEXT;
