-- When each care worker's phone last reached hemtid (any signed-in
-- request of the staff role, written at most once a minute): the
-- planned visits' offline caveat says so (issue 25). Only the latest.
CREATE TABLE phone_contact (
    staff_id TEXT PRIMARY KEY REFERENCES user_account (id) ON DELETE CASCADE,
    last_seen_at TIMESTAMP NOT NULL
);
