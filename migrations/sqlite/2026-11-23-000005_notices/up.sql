-- Notices to a provider about its devices (a low battery). One open notice
-- per device and kind; it is resolved when the cause goes away.
CREATE TABLE provider_notice (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES provider (id),
    device_id TEXT REFERENCES device (id),
    kind TEXT NOT NULL CHECK (kind IN ('low_battery')),
    -- Swedish, for the provider's staff.
    message TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
CREATE INDEX provider_notice_provider_idx ON provider_notice (provider_id, resolved_at);
CREATE INDEX provider_notice_device_idx ON provider_notice (device_id, kind);
