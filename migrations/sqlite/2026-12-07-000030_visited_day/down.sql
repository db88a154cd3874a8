DROP TABLE visited_day;
