DROP TABLE month_lock_log;
