-- Care plans (genomförandeplan, R10, R11, R17), follow-ups (R12),
-- contact persons (R13), consent and one-board units (R14), requests for
-- material (R15), the monthly list of clients without a plan (R10), and
-- the tamper-evident access log (R14) and visit change history.
ALTER TABLE municipality ADD COLUMN care_plan_escalation_days INTEGER NOT NULL DEFAULT 7
    CHECK (care_plan_escalation_days >= 0);
ALTER TABLE municipality ADD COLUMN plan_list_day INTEGER NOT NULL DEFAULT 16
    CHECK (plan_list_day BETWEEN 1 AND 28);

-- A plan belongs to the client and outlives orders (R17). At most one
-- version is being written at a time; approving it supersedes the last.
CREATE TABLE care_plan_version (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    version INTEGER NOT NULL CHECK (version > 0),
    state TEXT NOT NULL CHECK (state IN ('draft', 'in_revision', 'approved', 'superseded')),
    content TEXT NOT NULL,
    participation TEXT NOT NULL CHECK (participation IN ('took_part', 'declined')),
    participation_note TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES user_account (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    approved_by TEXT REFERENCES user_account (id),
    approved_at TIMESTAMP,
    review TEXT NOT NULL DEFAULT 'unchecked' CHECK (review IN ('unchecked', 'checked', 'remarks')),
    reviewed_by TEXT REFERENCES user_account (id),
    reviewed_at TIMESTAMP,
    review_note TEXT NOT NULL DEFAULT '',
    UNIQUE (client_id, version)
);

-- R11: a follow-up of the plan that did not change it.
CREATE TABLE care_plan_follow_up (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    followed_up_on DATE NOT NULL,
    note TEXT NOT NULL,
    by_user_id TEXT NOT NULL REFERENCES user_account (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX care_plan_follow_up_idx ON care_plan_follow_up (client_id, followed_up_on);

-- R12: the caseworker's individual follow-up and the next watch date.
CREATE TABLE individual_follow_up (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES client (id),
    done_on DATE NOT NULL,
    next_due DATE NOT NULL,
    note TEXT NOT NULL,
    by_user_id TEXT NOT NULL REFERENCES user_account (id),
    recorded_at TIMESTAMP NOT NULL,
    CHECK (next_due > done_on)
);
CREATE INDEX individual_follow_up_idx ON individual_follow_up (client_id, done_on);

-- R13: the client's contact person and deputy at a provider.
CREATE TABLE contact_person (
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    user_id TEXT NOT NULL REFERENCES user_account (id),
    deputy_user_id TEXT REFERENCES user_account (id),
    named_by TEXT NOT NULL REFERENCES user_account (id),
    named_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, provider_id)
);

-- R14: an authority unit and a provider that are one board: its
-- caseworkers read the provider's plans and journals without consent.
CREATE TABLE shared_board (
    authority_unit_id TEXT NOT NULL REFERENCES authority_unit (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    created_by TEXT NOT NULL REFERENCES user_account (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (authority_unit_id, provider_id)
);

-- R15: the caseworker asks the provider for material before a follow-up.
CREATE TABLE material_request (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES client (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    caseworker_id TEXT NOT NULL REFERENCES user_account (id),
    asks_plan BOOLEAN NOT NULL,
    asks_journal BOOLEAN NOT NULL,
    journal_from DATE,
    journal_to DATE,
    asks_comment BOOLEAN NOT NULL,
    asks_unperformed BOOLEAN NOT NULL,
    message TEXT NOT NULL,
    due_on DATE NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sent', 'answered', 'closed')),
    created_at TIMESTAMP NOT NULL,
    answer_plan_version_id TEXT REFERENCES care_plan_version (id),
    answer_plan_note TEXT NOT NULL DEFAULT '',
    answer_journal TEXT,
    answer_comment TEXT NOT NULL DEFAULT '',
    answer_unperformed TEXT NOT NULL DEFAULT '',
    answered_by TEXT REFERENCES user_account (id),
    answered_at TIMESTAMP,
    closed_at TIMESTAMP
);
CREATE INDEX material_request_client_idx ON material_request (client_id, created_at);
CREATE INDEX material_request_provider_idx ON material_request (provider_id, state);

-- R10: the list sent on the municipality's day of each month.
CREATE TABLE care_plan_list (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    list_date DATE NOT NULL,
    generated_at TIMESTAMP NOT NULL,
    clients TEXT NOT NULL,
    UNIQUE (provider_id, list_date)
);

-- The head of each hash chain (access_log, visit_change): appending takes
-- its row lock, so links are made one at a time.
CREATE TABLE log_head (
    chain TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO log_head (chain, seq, hash) VALUES ('access_log', 0, ''), ('visit_change', 0, '');

ALTER TABLE visit_change ADD COLUMN chain_seq BIGINT;
ALTER TABLE visit_change ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE visit_change ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX visit_change_chain_idx ON visit_change (chain_seq);

CREATE TABLE consent (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES client (id),
    state TEXT NOT NULL CHECK (state IN ('given', 'refused', 'withdrawn')),
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES user_account (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX consent_client_idx ON consent (client_id, seq);

CREATE TABLE access_log (
    seq BIGINT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    client_id TEXT NOT NULL,
    what TEXT NOT NULL,
    subjects TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX access_log_client_idx ON access_log (client_id, seq);
CREATE INDEX access_log_user_idx ON access_log (user_id, seq);
CREATE TABLE access_subject (
    access_seq BIGINT NOT NULL REFERENCES access_log (seq),
    user_id TEXT NOT NULL,
    PRIMARY KEY (user_id, access_seq)
);

CREATE FUNCTION hemtid_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION hemtid_append_only();
CREATE TRIGGER visit_change_append_only BEFORE UPDATE OR DELETE ON visit_change
    FOR EACH ROW EXECUTE FUNCTION hemtid_append_only();
