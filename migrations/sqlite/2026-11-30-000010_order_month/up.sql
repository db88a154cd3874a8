-- The ordered minutes of an order in a month, remembered for reports
-- (the monthly report of a large municipality would otherwise read and
-- compute every order line each time). A row holds while the order is
-- unchanged (its updated_at) and the municipality's month convention is
-- the same; otherwise it is computed again and replaced.
CREATE TABLE order_month (
    care_order_id TEXT NOT NULL REFERENCES care_order (id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    convention TEXT NOT NULL,
    order_updated_at TIMESTAMP NOT NULL,
    -- NULL: the order has no valid specification (it grants nothing).
    minutes BIGINT,
    -- JSON: [[service_id, minutes], ...] from the order's lines.
    by_service TEXT NOT NULL,
    PRIMARY KEY (care_order_id, month)
);
