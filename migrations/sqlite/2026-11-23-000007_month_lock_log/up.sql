-- Every lock and unlock of a provider's month for the billing run: an
-- admin may unlock a locked month to let a late change in, with a reason,
-- and the log keeps who did what and why.
CREATE TABLE month_lock_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id TEXT NOT NULL REFERENCES provider (id),
    month TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('locked', 'unlocked')),
    by_user_id TEXT NOT NULL REFERENCES user_account (id),
    at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX month_lock_log_idx ON month_lock_log (provider_id, month, seq);
