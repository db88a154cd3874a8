//! What an operator is warned of at start: commits that are not durable,
//! a remote database reached without TLS.

use super::{DatabaseUrl, DbConn, StoreError};
use diesel::prelude::*;

/// What makes the database lose commits it has acknowledged after a power
/// cut or an OS crash: PostgreSQL with `fsync` or `synchronous_commit`
/// off, SQLite below `synchronous = FULL`. One sentence each; empty when
/// it is durable.
pub fn durability_warnings(c: &mut DbConn) -> Result<Vec<String>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        setting: String,
    }
    let mut out = Vec::new();
    match c {
        DbConn::Pg(pg) => {
            for name in ["fsync", "synchronous_commit"] {
                let v: Setting =
                    diesel::sql_query("SELECT setting FROM pg_settings WHERE name = $1")
                        .bind::<diesel::sql_types::Text, _>(name)
                        .get_result(pg)?;
                if v.setting == "off" {
                    out.push(format!(
                        "PostgreSQL runs with {name} = off: commits hemtid has receipted or \
                         answered 201 can be lost in a power cut; set it on"
                    ));
                }
            }
        }
        DbConn::Sqlite(s) => {
            #[derive(diesel::QueryableByName)]
            struct Sync {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                synchronous: i32,
            }
            let v: Sync = diesel::sql_query("PRAGMA synchronous").get_result(s)?;
            if v.synchronous < 2 {
                out.push(format!(
                    "SQLite runs with synchronous = {} (FULL is 2): the last commits can be lost in a power cut",
                    v.synchronous
                ));
            }
        }
    }
    Ok(out)
}

/// What keeps PostgreSQL's plans made for tables as they once were:
/// autovacuum off. hemtid keeps its statements prepared, and a kept
/// statement's generic plan is made again only when the tables' statistics
/// change; without autovacuum only a manual ANALYZE changes them. (The
/// engine's own statements go by index whatever the statistics; others,
/// the reports' reads, may not.) One sentence, or none.
pub fn statistics_warnings(c: &mut DbConn) -> Result<Vec<String>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        setting: String,
    }
    let DbConn::Pg(pg) = c else {
        return Ok(Vec::new());
    };
    let v: Setting = diesel::sql_query("SELECT setting FROM pg_settings WHERE name = 'autovacuum'")
        .get_result(pg)?;
    Ok((v.setting == "off")
        .then(|| {
            "PostgreSQL runs with autovacuum = off: table statistics, and the plans of the \
             statements hemtid keeps prepared, stay as they were when the tables were small; \
             turn it on, or run ANALYZE regularly"
                .to_string()
        })
        .into_iter()
        .collect())
}

/// What leaves the way to PostgreSQL open to a listener or an impostor:
/// a server on another machine reached without TLS, or with TLS that
/// checks neither the server's certificate nor its name (any `sslmode`
/// but `verify-full`). Loopback and Unix sockets need neither. One
/// sentence, or none; the URL's password never in it.
pub fn transport_warnings(url: &DatabaseUrl, c: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let (DatabaseUrl::Postgres(url), DbConn::Pg(pg)) = (url, c) else {
        return Ok(Vec::new());
    };
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let encrypted = diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(pg)
        .optional()?
        .is_some_and(|s| s.ssl);
    let (host, sslmode) = postgres_host_and_sslmode(url);
    Ok(transport_warning(&host, sslmode.as_deref(), encrypted)
        .into_iter()
        .collect())
}

/// The host a `postgres://` URL names (its `host` parameter wins, as in
/// libpq) and its `sslmode`.
pub(super) fn postgres_host_and_sslmode(url: &str) -> (String, Option<String>) {
    let Ok(parsed) = url::Url::parse(url) else {
        return (String::new(), None);
    };
    let mut host = parsed.host_str().unwrap_or_default().to_string();
    let mut sslmode = None;
    for (k, v) in parsed.query_pairs() {
        match &*k {
            "host" => host = v.into_owned(),
            "sslmode" => sslmode = Some(v.into_owned()),
            _ => {}
        }
    }
    (host, sslmode)
}

pub(super) fn transport_warning(
    host: &str,
    sslmode: Option<&str>,
    encrypted: bool,
) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let local = bare.is_empty()
        || bare.starts_with('/')
        || bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local || sslmode == Some("verify-full") {
        return None;
    }
    Some(if encrypted {
        format!(
            "PostgreSQL at {bare} is reached over TLS without checking its certificate and name \
             (sslmode={}): anyone between can pose as it; add sslmode=verify-full and \
             sslrootcert=<its CA file> to database_url",
            sslmode.unwrap_or("prefer")
        )
    } else {
        format!(
            "PostgreSQL at {bare} is reached without TLS: personal data and the password cross \
             the network in the clear; turn ssl on in the server and add sslmode=verify-full and \
             sslrootcert=<its CA file> to database_url"
        )
    })
}
