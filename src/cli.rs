//! The command line's commands and options.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hemtid",
    version,
    about = "Performed versus ordered time for Swedish municipal home care"
)]
pub(crate) struct Cli {
    /// A TOML configuration file (see `hemtid print-config`).
    #[arg(long, global = true, env = "HEMTID_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Start hemtid: migrations, the MQTT broker (embedded unless
    /// HEMTID_MQTT_URL names one), the gateway and the HTTP API.
    Serve {
        /// Load the demo municipality first, with its visits (every day
        /// from the first of the month three months back), and print its
        /// logins.
        #[arg(long)]
        demo: bool,
        /// With --demo: the demo without its visits (tests start from it).
        #[arg(long, requires = "demo")]
        bare: bool,
    },
    /// Run the MQTT gateway alone against HEMTID_MQTT_URL (several may run
    /// side by side with HEMTID_MQTT_SHARE_GROUP).
    Gateway,
    /// Run pending database migrations and exit.
    Migrate,
    /// Load data into the database.
    Seed {
        /// The demo municipality with its visits, every day from the first
        /// of the month three months back (idempotent).
        #[arg(long, required = true)]
        demo: bool,
        /// The demo without its visits.
        #[arg(long)]
        bare: bool,
    },
    /// Print the effective configuration as commented TOML.
    PrintConfig,
    /// Print the API's OpenAPI document (the bytes of
    /// `mobile-contract/openapi.json`).
    Openapi,
    /// Create a municipality with the service catalogue and its first admin.
    Bootstrap {
        /// Kommunkod, four digits.
        #[arg(long)]
        municipality_code: String,
        #[arg(long)]
        municipality_name: String,
        #[arg(long, default_value = "admin")]
        admin_username: String,
    },
    /// Run the alert rules once for every municipality, as at `--at`
    /// (default now): the current and the previous local month of every
    /// client, then the client-months changed since the last run, then
    /// derives today's and tomorrow's plans from the orders (where a
    /// municipality asks for it), then today's and yesterday's planned
    /// visits (late and missed). Exits with
    /// an error when the database was too busy for some clients.
    Evaluate {
        /// An RFC 3339 instant, e.g. 2026-11-20T08:00:00+01:00.
        #[arg(long)]
        at: Option<String>,
    },
    /// Delete what each municipality's retention settings no longer allow
    /// to be kept, as at `--at` (default now): access-log records older
    /// than its period and the records of clients whose last order ended
    /// longer ago than theirs. `hemtid serve` does this once a day; this
    /// runs it now and prints what was deleted per table.
    Retention {
        /// An RFC 3339 instant, e.g. 2031-07-01T03:00:00+02:00.
        #[arg(long)]
        at: Option<String>,
        /// Count what would be deleted and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Recompute a month's performed-time figures from the stored visits
    /// (they are kept up to date as visits change; this is the repair tool).
    RebuildFigures {
        /// The local month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Only this municipality (kommunkod); all when left out.
        #[arg(long)]
        municipality_code: Option<String>,
    },
    /// Write the password and ACL files for an external Mosquitto from the
    /// device registry: each device its own topics, each case system its
    /// municipality's, the gateway the rest (run Mosquitto with
    /// use_username_as_clientid true and allow_anonymous false). The
    /// gateway's password is HEMTID_MQTT_URL's. With --watch it rewrites
    /// them whenever the registry changes and runs --reload-command.
    MqttAcl {
        #[arg(long)]
        password_file: std::path::PathBuf,
        #[arg(long)]
        acl_file: std::path::PathBuf,
        /// The gateways' client ids (each connection signs in with its
        /// client id); default HEMTID_MQTT_CLIENT_ID. Repeat for several.
        #[arg(long = "gateway-client-id")]
        gateway_client_ids: Vec<String>,
        /// Keep the files current: look for changes every --every seconds.
        #[arg(long)]
        watch: bool,
        #[arg(long, default_value_t = 2)]
        every: u64,
        /// Run (with sh -c) after the files changed, e.g.
        /// "kill -HUP $(cat /run/mosquitto/mosquitto.pid)".
        #[arg(long)]
        reload_command: Option<String>,
    },
    /// Check the hash chains of the access log and the visit change
    /// history from the first record to the last, across the signed gaps
    /// retention left; report the first broken link (exit code 3 if there is one; 1 if the check could not run, 2
    /// for a mistyped command line).
    VerifyLogs,
    /// Copy the database (a consistent snapshot, while hemtid serves) and
    /// what lives beside it (JWT secret, lock-signing key, TLS files) into
    /// one file, mode 0600. SQLite: VACUUM INTO; PostgreSQL: pg_dump under
    /// the snapshot the rows were counted in.
    Backup {
        /// The archive to write; never overwritten.
        #[arg(long)]
        to: PathBuf,
    },
    /// Move the installation's SQLite database to an empty PostgreSQL
    /// database: every table, ids and hash chains kept, rows counted on
    /// both sides, all or nothing. Then point database_url at it.
    Copy {
        /// The source; default the configured database.
        #[arg(long)]
        from: Option<String>,
        /// The empty PostgreSQL database (postgres://…); from the
        /// environment keeps a password out of the process list.
        #[arg(long, env = "HEMTID_COPY_TO")]
        to: String,
    },
    /// Restore a backup into an empty data folder and an empty database
    /// (the configured ones), check every file's checksum and every
    /// table's rows, and run newer migrations.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Simulate a municipality: build N clients with orders, care workers
    /// and door locks, drive days of visits through the real paths (locks
    /// over MQTT with receipts, phones over HTTP with late offline
    /// batches), then check what hemtid stored. Exit code 1 if a check
    /// fails. Starts `hemtid serve` on the configured database unless
    /// --api names a running hemtid.
    Simulate {
        /// Clients in the municipality.
        #[arg(long, default_value_t = 200)]
        clients: usize,
        /// Days of visits, ending yesterday.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Same seed, same municipality, rounds and event ids.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Lock events per second in all; 0 is as fast as receipts come.
        #[arg(long, default_value_t = 0)]
        rate: u32,
        /// Per cent of care workers who register on the phone.
        #[arg(long, default_value_t = 20)]
        phone_percent: u64,
        /// Per cent of phone visits sent late in offline batches.
        #[arg(long, default_value_t = 25)]
        offline_percent: u64,
        /// A running hemtid's base URL (with --mqtt), e.g. http://127.0.0.1:8080.
        #[arg(long, requires = "mqtt")]
        api: Option<String>,
        /// The broker a running hemtid (or `hemtid gateway`) reads, e.g.
        /// mqtt://127.0.0.1:1883; alone, only the locks are simulated.
        #[arg(long)]
        mqtt: Option<String>,
        /// Give up waiting for receipts after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// The municipality's code (default SIM<seed>).
        #[arg(long)]
        code: Option<String>,
    },
    /// Store a provider's planned visits from a CSV file (the columns of
    /// `POST /api/v1/providers/{id}/planned-visits`: planner_ref,
    /// client_id, date, earliest_start, latest_start, expected_minutes,
    /// and optionally services, staff, double_staffing, time_critical,
    /// tolerance_minutes). All of the file or nothing: each fault is named
    /// by its spreadsheet row, and the exit code is 1.
    ImportPlan {
        /// The CSV file, UTF-8, comma- or semicolon-separated.
        file: PathBuf,
        /// The provider the plans are for.
        #[arg(long)]
        provider: String,
        /// Each day the file covers is sent whole: the provider's other
        /// plans on those days are removed.
        #[arg(long)]
        whole_days: bool,
    },
    /// Integration tokens: the case system's, or a provider's planning system's.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token; it is printed once.
    Create {
        #[arg(long)]
        municipality_code: String,
        #[arg(long)]
        name: String,
        /// A provider's planning system's token: that provider's plans
        /// and clients over HTTP, nothing else, never on the broker.
        /// Without it, the case system's (an admin's reach).
        #[arg(long)]
        provider: Option<String>,
    },
    /// List a municipality's tokens.
    List {
        #[arg(long)]
        municipality_code: String,
    },
    /// Revoke a token by id.
    Revoke {
        #[arg(long)]
        municipality_code: String,
        #[arg(long)]
        id: String,
    },
}
