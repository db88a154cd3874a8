-- An integration token may belong to one provider (issue 25): a
-- provider's planning system sends that provider's plans and reads its
-- clients and plans, nothing else, and never signs in on the broker.
-- NULL: the municipality's case system, as before.
ALTER TABLE api_token ADD COLUMN provider_id TEXT REFERENCES provider (id);
