DROP TABLE order_month;
