-- Services left out of personalkontinuitet (Kolada/RKA): alarm visits and
-- meal deliveries. A catalogue setting; Järfälla's meal delivery and
-- safety call are marked.
ALTER TABLE service ADD COLUMN continuity_excluded BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE service SET continuity_excluded = TRUE
 WHERE code IN ('S-Matdistribution', 'O-Trygghetsringning');
