-- A care bundle (omvårdnadspaket, Järfälla 2.4.2): one ordered total for
-- at least three personal-care services done in the same visit (R19).
ALTER TABLE service ADD COLUMN care_bundle BOOLEAN NOT NULL DEFAULT FALSE;
-- Catalogues of Järfälla's shape name them so.
UPDATE service SET care_bundle = TRUE WHERE code LIKE 'O-Omvårdnadspaket%';
-- A bundle's order line names the personal-care services it covers
-- (service ids, comma-separated; at least three, R19); empty otherwise.
ALTER TABLE order_line ADD COLUMN bundle_contents TEXT NOT NULL DEFAULT '';
