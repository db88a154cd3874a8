ALTER TABLE order_line DROP COLUMN bundle_contents;
ALTER TABLE service DROP COLUMN care_bundle;
