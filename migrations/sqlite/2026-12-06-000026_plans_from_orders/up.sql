-- Planned visits derived from the orders (issue 25), for a municipality
-- whose providers have no planning system: each order's daily visits
-- spread over the municipality's visit windows.
ALTER TABLE municipality ADD COLUMN plans_from_orders BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE municipality ADD COLUMN order_visit_windows TEXT NOT NULL
    DEFAULT '07:00-09:00 11:00-13:00 16:00-18:00 19:30-21:30';
