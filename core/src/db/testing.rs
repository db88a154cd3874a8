//! A fresh, migrated database per test: a SQLite file in its own temporary
//! folder, or, when `HEMTID_TEST_DATABASE_URL` names a PostgreSQL server, a
//! new database on it (created from that URL, dropped afterwards).
#![allow(clippy::expect_used, clippy::panic)]

use super::{DatabaseUrl, DbConn, Pool};
use diesel::connection::SimpleConnection;
use std::path::PathBuf;

/// A database that exists for the lifetime of the value.
pub struct TestDb {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Creates the database and runs the migrations.
    pub fn new() -> TestDb {
        let db = TestDb::empty();
        let mut conn = db.connect();
        super::run_migrations(&mut conn).expect("migrations");
        db
    }

    /// Creates the database without running migrations.
    pub fn empty() -> TestDb {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("HEMTID_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("hemtid_test_{tag}");
                let mut admin = crate::db::url::establish_pg(&admin_url)
                    .expect("HEMTID_TEST_DATABASE_URL must reach PostgreSQL");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                TestDb {
                    url: with_database(&admin_url, &name),
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            _ => {
                let dir = std::env::temp_dir().join(format!("hemtid-test-{tag}"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                TestDb {
                    url: format!("sqlite://{}", dir.join("hemtid.sqlite3").display()),
                    cleanup: Cleanup::Dir(dir),
                }
            }
        }
    }

    /// The URL to hand to `hemtid` (e.g. as `HEMTID_DATABASE_URL`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).expect("test url")
    }

    /// One fresh connection.
    pub fn connect(&self) -> DbConn {
        self.database_url()
            .establish()
            .expect("connect to test database")
    }

    /// A small pool.
    pub fn pool(&self) -> Pool {
        super::pool(&self.database_url(), 4).expect("test pool")
    }

    /// The folder a test may use as `HEMTID_DATA_DIR` (SQLite only has one).
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::Dir(d) => Some(d),
            Cleanup::Postgres { .. } => None,
        }
    }
}

impl Default for TestDb {
    fn default() -> Self {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = crate::db::url::establish_pg(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping any query.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://h/test?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://h", "x"), "postgres://h/x");
    }
}
