ALTER TABLE municipality DROP COLUMN order_visit_windows;
ALTER TABLE municipality DROP COLUMN plans_from_orders;
