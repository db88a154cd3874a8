-- Devices in clients' homes (door locks, NFC readers and tags), the staff
-- credentials they report, and messages the gateway could not use.

CREATE TABLE device (
    -- The id the device publishes under: hemtid/v1/devices/{id}/events.
    id TEXT PRIMARY KEY,
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    provider_id TEXT NOT NULL REFERENCES provider (id),
    kind TEXT NOT NULL CHECK (kind IN ('door_lock', 'nfc_reader', 'nfc_tag')),
    -- The home it is in; a household's devices are bound to one of its clients.
    client_id TEXT REFERENCES client (id),
    -- The broker password: SHA-256 of a random secret hemtid generated and
    -- showed once. The optional key signs payloads (HMAC-SHA256, hex).
    secret_hash TEXT NOT NULL,
    hmac_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    last_seen_at TIMESTAMP,
    firmware TEXT,
    battery_pct INTEGER CHECK (battery_pct IS NULL OR battery_pct BETWEEN 0 AND 100),
    -- A lock's retained configuration (public key, revoked keys) must be
    -- published again.
    config_dirty BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX device_provider_idx ON device (provider_id);
CREATE INDEX device_client_idx ON device (client_id);

-- A key fob, staff tag or phone key: which staff member a device saw.
CREATE TABLE staff_credential (
    municipality_id TEXT NOT NULL REFERENCES municipality (id),
    credential TEXT NOT NULL,
    staff_id TEXT NOT NULL REFERENCES user_account (id),
    kind TEXT NOT NULL CHECK (kind IN ('key_fob', 'staff_tag', 'phone_key')),
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    PRIMARY KEY (municipality_id, credential)
);
CREATE INDEX staff_credential_staff_idx ON staff_credential (staff_id);

-- Every message the gateway could not turn into an event: kept with the
-- reason and the raw payload, acknowledged, and replayable.
CREATE TABLE dead_letter (
    id TEXT PRIMARY KEY,
    received_at TIMESTAMP NOT NULL,
    topic TEXT NOT NULL,
    device_id TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL,
    replayed_at TIMESTAMP,
    replay_result TEXT
);
CREATE INDEX dead_letter_device_idx ON dead_letter (device_id, received_at);
CREATE INDEX dead_letter_received_idx ON dead_letter (received_at);

-- The public half of the key that signs digital keys, so every gateway can
-- publish it to the locks. The private half stays with the API.
CREATE TABLE lock_signing_key (
    kid TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Digital keys handed to staff phones: short-lived, revocable at once.
CREATE TABLE digital_key (
    id TEXT PRIMARY KEY,
    kid TEXT NOT NULL REFERENCES lock_signing_key (kid),
    device_id TEXT NOT NULL REFERENCES device (id),
    staff_id TEXT NOT NULL REFERENCES user_account (id),
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX digital_key_staff_idx ON digital_key (staff_id, expires_at);
CREATE INDEX digital_key_device_idx ON digital_key (device_id, expires_at);
