//! Storage: one module per table with plain create/get/update/list
//! functions over a [`DbConn`] that is either PostgreSQL or SQLite.
//!
//! The backend is chosen from the URL scheme by [`DatabaseUrl::parse`], never
//! by diesel's multi-backend `establish` (which silently falls back to SQLite
//! when PostgreSQL is unreachable).

/// Replaces the rows of the visits `of` in a table keyed by `visit_id`
/// (their stored rows go) with `rows`, in as few statements as keep their
/// shape (see `sql::FEW`): `visit_share` and `visit_service`.
macro_rules! replace_of_visits {
    ($c:expr, $table:ident, $of:expr, $rows:expr) => {{
        use super::schema::$table;
        let (c, of, rows) = ($c, $of, $rows);
        if let [id] = of {
            diesel::delete($table::table.filter($table::visit_id.eq(id))).execute(c)?;
        } else {
            for ids in of.chunks(500) {
                diesel::delete($table::table.filter($table::visit_id.eq_any(ids))).execute(c)?;
            }
        }
        if rows.len() <= super::sql::FEW {
            for row in rows {
                super::execute_on(c, diesel::insert_into($table::table).values(row))?;
            }
        } else {
            for chunk in rows.chunks(500) {
                super::execute_on(c, diesel::insert_into($table::table).values(chunk))?;
            }
        }
        Ok(())
    }};
}
pub(crate) use replace_of_visits;

/// The statement of [`delete_of_visits_pg`], for one visit.
pub(crate) fn delete_of_visits_sql(table: &str) -> String {
    format!("DELETE FROM {table} WHERE visit_id = ?")
}

/// PostgreSQL: deletes the rows of the visits `of` from `table` (keyed by
/// `visit_id`), one statement kept prepared (`unnest`) per visit: its plan
/// goes by the table's index whatever the table's size was when it was
/// made, where `visit_id = ANY(…)` may become a whole-table scan, and no
/// form for many visits at once kept to the index in a generic plan (the
/// test of the engine's plans checks it). Few visits have their shares or
/// services replaced at once (a phone's check-out one).
pub(crate) fn delete_of_visits_pg(
    pg: &mut diesel::PgConnection,
    table: &'static str,
    of: &[crate::model::VisitId],
) -> Result<(), StoreError> {
    let sql = delete_of_visits_sql(table);
    for id in of {
        diesel::RunQueryDsl::execute(
            unnest::Query::new(&sql).bind(unnest::Column::OneText(id.as_str())),
            pg,
        )?;
    }
    Ok(())
}

pub mod absence;
pub mod access;
pub mod access_log;
pub mod alert;
pub mod api_token;
pub mod authority_unit;
pub mod care_order;
pub mod care_plan;
pub mod chain;
pub mod client;
pub mod client_month;
pub mod consent;
pub mod dead_letter;
pub mod decision;
pub mod device;
pub mod device_message;
pub mod digital_key;
pub mod directory;
pub mod explanation;
pub mod figure;
pub mod journal_note;
pub mod material_request;
pub mod month_lock;
pub mod municipality;
pub mod oidc_login;
pub mod phone_contact;
pub mod planned_visit;
pub mod provider;
pub mod provider_notice;
pub mod refresh_token;
pub mod retention_run;
pub mod schema;
pub mod service;
pub(crate) mod sql;
pub mod staff_credential;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub(crate) mod unnest;
pub mod user_account;
pub mod visit;
pub mod visit_change;
pub mod visit_event;
pub mod visit_service;
pub mod visit_share;
pub mod visit_write;
pub mod visited_day;

#[cfg(test)]
mod figure_tests;
#[cfg(test)]
mod planned_visit_tests;
#[cfg(test)]
mod storage_tests;

mod checkpoint;
mod error;
mod migrate;
mod pool;
mod transaction;
mod url;
mod warnings;

pub use checkpoint::{Checkpoint, checkpoint, restart_log};
pub use error::{ChangeError, RuleError, StoreError};
pub use migrate::{revert_all_migrations, revert_last_migration, run_migrations};
pub use pool::{DbConn, Manager, Pool, PooledConn, backend_of, pool, pool_lazy};
pub(crate) use transaction::execute_on;
pub use transaction::{
    change, ping, read_mostly, transaction, transaction_for, transaction_polling, transaction_with,
};
pub use url::{Backend, DatabaseUrl, create_private_dir};
pub use warnings::{durability_warnings, statistics_warnings, transport_warnings};

/// How long a SQLite connection waits for a lock before it fails.
pub(crate) const BUSY_TIMEOUT_MS: u32 = 10_000;

/// A new id (UUID v7, stored as text): ordered by the time it was made,
/// so rows made together sit together in the indexes of their ids (a
/// batch's events, their visits and shares) instead of one random page
/// each, which SQLite writes whole into its log for every commit. Not a
/// secret: the creation time can be read from it.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now in UTC, to the microsecond (what PostgreSQL keeps), for timestamps.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// Serde helpers: timestamps are stored as UTC `NaiveDateTime` and shown
/// as RFC 3339 with `Z`.
pub mod utc {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.and_utc().format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    }

    pub mod option {
        use chrono::NaiveDateTime;
        use serde::Serializer;

        pub fn serialize<S: Serializer>(
            t: &Option<NaiveDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// Maps "0 rows affected" to [`StoreError::NotFound`].
pub(crate) fn one_row(affected: usize) -> Result<(), StoreError> {
    if affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::warnings::{postgres_host_and_sslmode, transport_warning};
    use super::*;
    use diesel::connection::SimpleConnection;
    use std::path::PathBuf;

    /// The SQLite file, its log and the folder made for them hold personal
    /// data: only hemtid's user may read them (they were 0644 and 0755).
    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("hemtid-mode-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&root).unwrap();
        let data = root.join("data");
        let path = data.join("hemtid.sqlite3");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
        let mut c = url.establish().unwrap();
        c.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&path), 0o600);
        let wal = data.join("hemtid.sqlite3-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600);
        // A folder that was there keeps its mode.
        assert_eq!(mode(&root) & 0o700, 0o700);
        drop(c);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_database_is_durable_and_says_so_when_it_is_not() {
        let db = testing::TestDb::empty();
        let mut c = db.pool().get().unwrap();
        assert_eq!(durability_warnings(&mut c).unwrap(), Vec::<String>::new());
        // The same connection made unsafe: named.
        let unsafe_setting = match &*c {
            DbConn::Pg(_) => "SET synchronous_commit = off",
            DbConn::Sqlite(_) => "PRAGMA synchronous = NORMAL",
        };
        c.batch_execute(unsafe_setting).unwrap();
        let w = durability_warnings(&mut c).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("power cut"), "{w:?}");
    }

    /// PostgreSQL without autovacuum is named (this machine's runs so);
    /// SQLite has no such setting.
    #[test]
    fn a_server_without_autovacuum_is_named() {
        let db = testing::TestDb::empty();
        let mut c = db.pool().get().unwrap();
        let w = statistics_warnings(&mut c).unwrap();
        match &mut *c {
            DbConn::Pg(pg) => {
                #[derive(diesel::QueryableByName)]
                struct Setting {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    autovacuum: String,
                }
                let s: Setting =
                    diesel::RunQueryDsl::get_result(diesel::sql_query("SHOW autovacuum"), pg)
                        .unwrap();
                assert_eq!(w.len(), usize::from(s.autovacuum == "off"), "{w:?}");
                assert!(w.iter().all(|w| w.contains("ANALYZE")), "{w:?}");
            }
            DbConn::Sqlite(_) => assert!(w.is_empty(), "{w:?}"),
        }
    }

    #[test]
    fn parses_database_urls_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/hemtid.sqlite3").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/hemtid.sqlite3"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/hemtid/db.sqlite3").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/var/lib/hemtid/db.sqlite3"))
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        for bad in ["mysql://x", "sqlite://", "data/db.sqlite3", ""] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_remote_postgres_without_verified_tls_is_warned_of() {
        let warn = |url: &str, encrypted: bool| {
            let (host, mode) = postgres_host_and_sslmode(url);
            transport_warning(&host, mode.as_deref(), encrypted)
        };
        // Loopback, a Unix socket, or verify-full: nothing to say.
        assert_eq!(warn("postgres://h:pw@127.0.0.1:5432/h", false), None);
        assert_eq!(warn("postgres://h@localhost/h", false), None);
        assert_eq!(warn("postgres://h@[::1]:5432/h", false), None);
        assert_eq!(warn("postgres:///h?host=/var/run/postgresql", false), None);
        let full = "postgres://h@db.kommun.se/h?sslmode=verify-full&sslrootcert=/etc/ca.pem";
        assert_eq!(warn(full, true), None);
        // Another machine without TLS, or with TLS that trusts anyone.
        let plain = warn("postgres://h:secret@db.kommun.se/h", false).unwrap();
        assert!(
            plain.contains("db.kommun.se") && plain.contains("without TLS"),
            "{plain}"
        );
        assert!(!plain.contains("secret"));
        let unchecked = warn("postgres://h@10.1.2.3/h?sslmode=require", true).unwrap();
        assert!(unchecked.contains("sslmode=require"), "{unchecked}");
        let ca_only = warn("postgres://h@db/h?sslmode=verify-ca", true).unwrap();
        assert!(ca_only.contains("verify-full"), "{ca_only}");
        // The host parameter wins over the authority, as in libpq.
        assert!(warn("postgres://h@localhost/h?host=db.kommun.se", false).is_some());
    }

    #[test]
    fn unreachable_postgres_is_an_error_not_a_sqlite_file() {
        // Port 1 is closed: the connection must fail rather than fall back.
        let url =
            DatabaseUrl::parse("postgres://nobody@127.0.0.1:1/none?connect_timeout=2").unwrap();
        assert!(matches!(url.establish(), Err(StoreError::Connection(_))));
        assert!(!std::path::Path::new("postgres:").exists());
    }

    #[test]
    fn redacts_passwords() {
        let u = DatabaseUrl::parse("postgres://app:s3cret@db:5432/hemtid").unwrap();
        assert_eq!(u.redacted(), "postgres://app:***@db:5432/hemtid");
    }

    #[test]
    fn migration_folders_have_the_same_versions() {
        let names = |dir: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(dir);
            let mut v: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let pg = names("migrations/postgres");
        assert!(!pg.is_empty());
        assert_eq!(pg, names("migrations/sqlite"), "migration folders drifted");
        for dir in &pg {
            for file in ["up.sql", "down.sql"] {
                for backend in ["postgres", "sqlite"] {
                    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../migrations")
                        .join(backend)
                        .join(dir)
                        .join(file);
                    assert!(p.is_file(), "missing {}", p.display());
                }
            }
        }
    }
}
