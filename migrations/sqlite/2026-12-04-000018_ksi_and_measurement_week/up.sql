-- Services the municipality offers without an individual needs decision
-- (SoL 2025:400, in force 1 July 2025): their performed time is recorded
-- and reported but stays out of the variance and the fee report.
ALTER TABLE service ADD COLUMN without_decision BOOLEAN NOT NULL DEFAULT FALSE;
-- The service's code in Socialstyrelsen's classification of social
-- services' interventions and activities (KSI), e.g. `SNH RB ZZ`.
ALTER TABLE service ADD COLUMN ksi_code TEXT;
-- The ISO week personalkontinuitet's two national measurement weeks
-- start with, as the year's instructions set it; unset, the measures
-- report defaults to the two whole weeks before the current one.
ALTER TABLE municipality ADD COLUMN continuity_week INTEGER;
