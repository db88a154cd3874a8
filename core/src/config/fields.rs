//! The table of settings: TOML key, environment variable, description.

/// Each setting: TOML key, environment variable, description.
pub const FIELDS: &[(&str, &str, &str)] = &[
    (
        "http_addr",
        "HEMTID_HTTP_ADDR",
        "Address the HTTP API listens on.",
    ),
    (
        "data_dir",
        "HEMTID_DATA_DIR",
        "Folder for the SQLite file and the generated JWT secret; created if missing.",
    ),
    (
        "database_url",
        "HEMTID_DATABASE_URL",
        "postgres://… or sqlite://PATH; unset means sqlite://<data_dir>/hemtid.sqlite3.",
    ),
    (
        "database_pool_size",
        "HEMTID_DATABASE_POOL_SIZE",
        "Connections in the database pool.",
    ),
    (
        "jwt_secret",
        "HEMTID_JWT_SECRET",
        "Secret for signing access tokens (32+ chars); unset means one generated in <data_dir>/jwt-secret.",
    ),
    (
        "access_token_ttl_seconds",
        "HEMTID_ACCESS_TOKEN_TTL_SECONDS",
        "Lifetime of an access token.",
    ),
    (
        "refresh_token_ttl_seconds",
        "HEMTID_REFRESH_TOKEN_TTL_SECONDS",
        "Lifetime of a refresh token: a sign-in unused this long must sign in again.",
    ),
    (
        "log",
        "HEMTID_LOG",
        "Log filter, e.g. info or info,hemtid_api=debug.",
    ),
    ("log_format", "HEMTID_LOG_FORMAT", "text or json."),
    (
        "mqtt_url",
        "HEMTID_MQTT_URL",
        "An external broker, mqtt://[user[:password]@]host[:port]; unset means the embedded one.",
    ),
    (
        "mqtt_listen",
        "HEMTID_MQTT_LISTEN",
        "Where the embedded broker listens (port 0 picks a free one).",
    ),
    (
        "mqtt_tls_listen",
        "HEMTID_MQTT_TLS_LISTEN",
        "Where the embedded broker takes MQTT over TLS with the tls_cert_file certificate; unset: port 8883 on mqtt_listen's address when a certificate is configured; off: none.",
    ),
    (
        "mqtt_ca_file",
        "HEMTID_MQTT_CA_FILE",
        "CA certificates (PEM) an mqtts:// broker's certificate must come from; unset: the public roots.",
    ),
    (
        "mqtt_client_id",
        "HEMTID_MQTT_CLIENT_ID",
        "The gateway's MQTT client id; stable, and different for each gateway.",
    ),
    (
        "mqtt_share_group",
        "HEMTID_MQTT_SHARE_GROUP",
        "Subscribe through $share/<group>/… so several gateways split the devices.",
    ),
    (
        "mqtt_username_is_client_id",
        "HEMTID_MQTT_USERNAME_IS_CLIENT_ID",
        "On an external broker each gateway connection signs in with its client id as username (Mosquitto with use_username_as_clientid and hemtid mqtt-acl).",
    ),
    (
        "mqtt_batch_size",
        "HEMTID_MQTT_BATCH_SIZE",
        "Device messages stored in one transaction; 0: 1,024 on SQLite (one lane), 256 on PostgreSQL (per lane).",
    ),
    (
        "mqtt_lanes",
        "HEMTID_MQTT_LANES",
        "Batches stored at once, each on its own database connection; 0: 4 on PostgreSQL, 1 on SQLite (one writer).",
    ),
    (
        "mqtt_subscribers",
        "HEMTID_MQTT_SUBSCRIBERS",
        "Connections the gateway reads an external broker on (one shared subscription); 0: 1. The embedded broker takes one.",
    ),
    (
        "mqtt_max_connections",
        "HEMTID_MQTT_MAX_CONNECTIONS",
        "Device connections the embedded broker accepts at most (also kept below the open-file limit).",
    ),
    (
        "mqtt_max_connections_per_address",
        "HEMTID_MQTT_MAX_CONNECTIONS_PER_ADDRESS",
        "Device connections the embedded broker accepts from one IP address.",
    ),
    (
        "mqtt_device_messages_per_second",
        "HEMTID_MQTT_DEVICE_MESSAGES_PER_SECOND",
        "Messages a device may publish per second on the embedded broker (ten seconds' worth at once); a faster device is slowed down, never refused.",
    ),
    (
        "evaluate_interval_seconds",
        "HEMTID_EVALUATE_INTERVAL_SECONDS",
        "Seconds between full runs of the alert rules (changes are evaluated at once).",
    ),
    (
        "trusted_proxies",
        "HEMTID_TRUSTED_PROXIES",
        "IP addresses of reverse proxies, comma-separated, whose Forwarded / X-Forwarded-For name the client (for the sign-in throttle); empty: the peer is the client.",
    ),
    (
        "tls_cert_file",
        "HEMTID_TLS_CERT_FILE",
        "PEM certificate chain for HTTPS; with tls_key_file the HTTP address speaks HTTPS only, and both files are read again on SIGHUP.",
    ),
    (
        "tls_key_file",
        "HEMTID_TLS_KEY_FILE",
        "PEM private key (PKCS#8, PKCS#1 or SEC1) of tls_cert_file.",
    ),
    (
        "metrics_addr",
        "HEMTID_METRICS_ADDR",
        "Address of a listener of its own for /metrics, /healthz and /readyz (plain HTTP, for a private network); set, the HTTP address no longer serves /metrics.",
    ),
];
