-- The clients with an approved care plan at a provider, read whenever a
-- care worker's phone loads its list of clients (`/me/clients`): by
-- provider and state, with the client's id in the index. Not a partial
-- index: the state is a bound value, and a kept generic plan could not
-- use an index that holds only approved rows.
CREATE INDEX care_plan_version_provider ON care_plan_version (provider_id, state, client_id);
