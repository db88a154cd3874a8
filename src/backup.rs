//! `hemtid backup` and `hemtid restore` (issue 23): a consistent copy of a
//! serving installation in one file, and back into an empty one.
//!
//! The file is a tar archive (mode 0600) holding `manifest.json` (version,
//! backend, the last migration, every table's row count in the copy, each
//! file's size and SHA-256), the database, and what lives beside it:
//! the JWT signing secret, the lock-signing key, and the TLS certificate
//! and key when configured. Without those a restored hemtid would sign
//! everybody out and every lock would refuse its new configurations.
//!
//! - SQLite: `VACUUM INTO` a new file, which reads the database in one
//!   transaction (a consistent snapshot; writers go on meanwhile in WAL
//!   mode). Counted from the copy itself.
//! - PostgreSQL: `pg_dump --format=custom` under a snapshot exported from a
//!   repeatable-read transaction in which the rows are counted, so counts
//!   and dump are the same instant. Needs `pg_dump`/`pg_restore` of the
//!   server's major version (Debian's `postgresql-client`).

use anyhow::{Context, Result, bail};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use hemtid_core::config::Config;
use hemtid_core::db::{self, DatabaseUrl, DbConn};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "database.sqlite3";
const PG_FILE: &str = "database.pgdump";
/// Files of the data folder that belong to the installation.
const DATA_FILES: [&str; 2] = ["jwt-secret", "lock-signing-key"];

/// What a backup holds, written first in the archive.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub hemtid_version: String,
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The last migration applied in the copy.
    pub migration: String,
    /// Rows per table in the copy.
    pub counts: BTreeMap<String, i64>,
    /// Archive path → size and SHA-256.
    pub files: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub bytes: u64,
    pub sha256: String,
}

/// Progress on a terminal (one line rewritten), plain lines when piped.
pub(crate) struct Progress {
    tty: bool,
    pub(crate) started: Instant,
}

impl Progress {
    pub(crate) fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
        }
    }

    pub(crate) fn step(&self, text: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        if self.tty {
            eprint!("\r\x1b[2K[{secs:6.1} s] {text}");
        } else {
            eprintln!("[{secs:.1} s] {text}");
        }
    }

    pub(crate) fn done(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

#[derive(QueryableByName)]
pub(crate) struct Name {
    #[diesel(sql_type = Text)]
    pub(crate) name: String,
}

#[derive(QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// Every table of the database and its rows, per backend.
macro_rules! count_tables {
    ($name:ident, $conn:ty, $list:expr) => {
        pub(crate) fn $name(c: &mut $conn) -> Result<BTreeMap<String, i64>> {
            let names: Vec<Name> = diesel::sql_query($list).load(c)?;
            let mut counts = BTreeMap::new();
            for t in names {
                let quoted = format!("\"{}\"", t.name.replace('"', "\"\""));
                let n: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {quoted}"))
                    .get_result(c)?;
                counts.insert(t.name, n.n);
            }
            Ok(counts)
        }
    };
}
count_tables!(count_pg, diesel::PgConnection, PG_TABLES);
count_tables!(count_sqlite, diesel::SqliteConnection, SQLITE_TABLES);

const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
pub(crate) const PG_TABLES: &str = "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename";

pub(crate) fn last_migration(counts_conn: &mut DbConn) -> Result<String> {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let q = "SELECT version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1";
    let v: V = match counts_conn {
        DbConn::Pg(c) => diesel::sql_query(q).get_result(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(q).get_result(c)?,
    };
    Ok(v.version)
}

fn sha256_file(path: &Path) -> Result<FileEntry> {
    let mut f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        h.update(&buf[..n]);
    }
    Ok(FileEntry {
        bytes,
        sha256: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// A new file only this user reads.
fn create_private(path: &Path) -> Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// The URL without its password, and the password (for `PGPASSWORD`, so
/// it never shows in the process list).
fn pg_url_and_password(url: &str) -> Result<(String, Option<String>)> {
    let mut u = url::Url::parse(url).context("the PostgreSQL URL")?;
    let password = u.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    u.set_password(None)
        .map_err(|_| anyhow::anyhow!("the PostgreSQL URL cannot hold a password"))?;
    Ok((u.into(), password))
}

/// A tool of PostgreSQL's client, with the connection's password.
fn pg_tool(tool: &str, url: &str) -> Result<(Command, String)> {
    let (plain, password) = pg_url_and_password(url)?;
    let mut c = Command::new(tool);
    if let Some(p) = password {
        c.env("PGPASSWORD", p);
    }
    Ok((c, plain))
}

fn run(mut c: Command, what: &str) -> Result<()> {
    let out = c
        .output()
        .with_context(|| format!("{what} (install postgresql-client of the server's version)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// `hemtid backup --to FILE`.
pub fn backup(config: &Config, to: &Path) -> Result<()> {
    if to.exists() {
        bail!("{} exists: a backup never overwrites", to.display());
    }
    let p = Progress::new();
    let url = DatabaseUrl::parse(&config.database_url())?;
    let work = to.with_extension("partial.d");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    db::create_private_dir(&work)?;
    let result = (|| {
        p.step(&format!("copying the database at {}", url.redacted()));
        let (backend, db_file, counts, migration) =
            match &url {
                DatabaseUrl::Sqlite(_) => {
                    let file = work.join(SQLITE_FILE);
                    let mut live = url.establish()?;
                    let DbConn::Sqlite(c) = &mut live else {
                        bail!("not SQLite");
                    };
                    diesel::sql_query("VACUUM INTO ?")
                        .bind::<Text, _>(file.display().to_string())
                        .execute(c)
                        .context("VACUUM INTO")?;
                    let mut copy = DbConn::Sqlite(
                        diesel::SqliteConnection::establish(&file.display().to_string())
                            .context("opening the copy")?,
                    );
                    p.step("counting the copy's rows");
                    let DbConn::Sqlite(cc) = &mut copy else {
                        bail!("not SQLite");
                    };
                    let counts = count_sqlite(cc)?;
                    let migration = last_migration(&mut copy)?;
                    ("sqlite", (SQLITE_FILE, file), counts, migration)
                }
                DatabaseUrl::Postgres(u) => {
                    let file = work.join(PG_FILE);
                    let mut live = url.establish()?;
                    let migration = last_migration(&mut live)?;
                    let DbConn::Pg(c) = &mut live else {
                        bail!("not PostgreSQL");
                    };
                    let counts = c.build_transaction().repeatable_read().read_only().run(
                        |c| -> Result<_> {
                            let snap: Name =
                                diesel::sql_query("SELECT pg_export_snapshot() AS name")
                                    .get_result(c)?;
                            let counts = count_pg(c)?;
                            p.step("pg_dump under the counted snapshot");
                            let (mut cmd, plain) = pg_tool("pg_dump", u)?;
                            cmd.args(["--format=custom", "--no-owner", "--no-privileges"])
                                .arg(format!("--snapshot={}", snap.name))
                                .arg(format!("--file={}", file.display()))
                                .arg(format!("--dbname={plain}"));
                            run(cmd, "pg_dump")?;
                            Ok(counts)
                        },
                    )?;
                    ("postgres", (PG_FILE, file), counts, migration)
                }
            };
        let mut files: Vec<(String, PathBuf)> = vec![(db_file.0.to_string(), db_file.1)];
        for name in DATA_FILES {
            let path = config.data_dir.join(name);
            if path.exists() {
                files.push((format!("files/{name}"), path));
            }
        }
        for path in [&config.tls_cert_file, &config.tls_key_file]
            .into_iter()
            .flatten()
        {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "tls".into());
            files.push((format!("files/tls/{name}"), path.clone()));
        }
        p.step("checksums");
        let mut entries = BTreeMap::new();
        for (name, path) in &files {
            entries.insert(name.clone(), sha256_file(path)?);
        }
        let manifest = Manifest {
            format: FORMAT,
            hemtid_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            backend: backend.to_string(),
            migration,
            counts,
            files: entries,
        };
        p.step(&format!("writing {}", to.display()));
        let partial = to.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        let out = create_private(&partial)?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
        let json = serde_json::to_vec_pretty(&manifest)?;
        let mut h = tar::Header::new_gnu();
        h.set_size(json.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        h.set_cksum();
        tar.append_data(&mut h, MANIFEST, json.as_slice())?;
        for (name, path) in &files {
            let mut f = std::fs::File::open(path)?;
            let mut h = tar::Header::new_gnu();
            h.set_size(f.metadata()?.len());
            h.set_mode(0o600);
            h.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
            h.set_cksum();
            tar.append_data(&mut h, name, &mut f)?;
        }
        let mut w = tar.into_inner()?;
        w.flush()?;
        w.into_inner()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .sync_all()?;
        std::fs::rename(&partial, to)?;
        p.done();
        let bytes = std::fs::metadata(to)?.len();
        println!(
            "backup {}: {} at migration {}, {} tables, {} files, {:.1} MB in {:.1} s",
            to.display(),
            manifest.backend,
            manifest.migration,
            manifest.counts.len(),
            manifest.files.len(),
            bytes as f64 / 1e6,
            p.started.elapsed().as_secs_f64()
        );
        print_counts(&manifest.counts);
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// The tables a person recognises, for the summaries.
fn print_counts(counts: &BTreeMap<String, i64>) {
    let shown = [
        "client",
        "care_order",
        "visit",
        "visit_event",
        "journal_note",
        "figure_day",
        "figure_month",
        "access_log",
    ];
    let line: Vec<String> = shown
        .iter()
        .filter_map(|t| counts.get(*t).map(|n| format!("{t} {n}")))
        .collect();
    println!("  {}", line.join(", "));
}

/// `hemtid restore --from FILE`: into an empty data folder and an empty
/// database (SQLite: no file yet; PostgreSQL: no tables).
pub fn restore(config: &Config, from: &Path) -> Result<()> {
    let p = Progress::new();
    let url = DatabaseUrl::parse(&config.database_url())?;
    for name in DATA_FILES {
        if config.data_dir.join(name).exists() {
            bail!(
                "{} holds {name} already: restore into an empty data folder",
                config.data_dir.display()
            );
        }
    }
    db::create_private_dir(&config.data_dir)?;
    let work = config.data_dir.join("restore.partial.d");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    db::create_private_dir(&work)?;
    let result = (|| {
        p.step(&format!("reading {}", from.display()));
        let mut archive = tar::Archive::new(std::io::BufReader::new(
            std::fs::File::open(from).with_context(|| from.display().to_string())?,
        ));
        let mut manifest: Option<Manifest> = None;
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = entry.path()?.to_string_lossy().to_string();
            if name == MANIFEST {
                let mut text = String::new();
                entry.read_to_string(&mut text)?;
                manifest = Some(serde_json::from_str(&text).context("manifest.json")?);
                continue;
            }
            // Only names the manifest will vouch for, flat under work/.
            let flat = name.replace('/', "__");
            if flat.contains("..") || flat.is_empty() {
                bail!("unexpected entry {name} in the archive");
            }
            let mut out = create_private(&work.join(&flat))?;
            std::io::copy(&mut entry, &mut out)?;
        }
        let manifest = manifest.context("the archive has no manifest.json: not a hemtid backup")?;
        if manifest.format != FORMAT {
            bail!(
                "backup format {} is not known to this hemtid",
                manifest.format
            );
        }
        p.step("checking the checksums");
        for (name, want) in &manifest.files {
            let got = sha256_file(&work.join(name.replace('/', "__")))?;
            if got.sha256 != want.sha256 || got.bytes != want.bytes {
                bail!("{name} in the archive does not match its checksum: the backup is damaged");
            }
        }
        let applied = match (&url, manifest.backend.as_str()) {
            (DatabaseUrl::Sqlite(path), "sqlite") => {
                if path.exists() && std::fs::metadata(path)?.len() > 0 {
                    bail!("{} exists: restore into an empty database", path.display());
                }
                if let Some(dir) = path.parent() {
                    db::create_private_dir(dir)?;
                }
                p.step(&format!("writing {}", path.display()));
                let _ = std::fs::remove_file(path);
                let mut out = create_private(path)?;
                let mut src = std::fs::File::open(work.join(SQLITE_FILE))?;
                std::io::copy(&mut src, &mut out)?;
                out.sync_all()?;
                let mut c = url.establish()?;
                db::run_migrations(&mut c)?
            }
            (DatabaseUrl::Postgres(u), "postgres") => {
                let mut c = url.establish()?;
                let DbConn::Pg(pg) = &mut c else {
                    bail!("not PostgreSQL");
                };
                let existing = count_pg(pg)?;
                if !existing.is_empty() {
                    bail!(
                        "the database has {} tables: restore into an empty database",
                        existing.len()
                    );
                }
                p.step("pg_restore");
                let (mut cmd, plain) = pg_tool("pg_restore", u)?;
                cmd.args(["--no-owner", "--no-privileges", "--exit-on-error"])
                    .arg(format!("--dbname={plain}"))
                    .arg(work.join(PG_FILE));
                run(cmd, "pg_restore")?;
                db::run_migrations(&mut c)?
            }
            (_, backend) => bail!(
                "the backup is of a {backend} database and the configured one is not: \
                 restore it as it was, then move it with hemtid copy"
            ),
        };
        p.step("counting the restored rows");
        let mut c = url.establish()?;
        let counts = match &mut c {
            DbConn::Pg(pg) => count_pg(pg)?,
            DbConn::Sqlite(s) => count_sqlite(s)?,
        };
        if applied.is_empty() {
            for (table, n) in &manifest.counts {
                let got = counts.get(table).copied().unwrap_or(-1);
                if got != *n {
                    bail!("{table}: {got} rows restored, {n} in the backup");
                }
            }
        }
        for name in DATA_FILES {
            let src = work.join(format!("files__{name}"));
            if src.exists() {
                let mut out = create_private(&config.data_dir.join(name))?;
                std::io::copy(&mut std::fs::File::open(&src)?, &mut out)?;
            }
        }
        let mut tls = Vec::new();
        for (name, _) in manifest
            .files
            .iter()
            .filter(|(n, _)| n.starts_with("files/tls/"))
        {
            let dir = config.data_dir.join("tls");
            db::create_private_dir(&dir)?;
            let target = dir.join(name.trim_start_matches("files/tls/"));
            let mut out = create_private(&target)?;
            std::io::copy(
                &mut std::fs::File::open(work.join(name.replace('/', "__")))?,
                &mut out,
            )?;
            tls.push(target);
        }
        p.done();
        println!(
            "restored {} ({} of {}, migration {}) into {}: {} tables{}",
            from.display(),
            manifest.backend,
            manifest.created_at,
            manifest.migration,
            url.redacted(),
            counts.len(),
            if applied.is_empty() {
                ", every table's rows as in the backup".to_string()
            } else {
                format!(", then {} newer migrations applied", applied.len())
            }
        );
        print_counts(&counts);
        for t in tls {
            println!(
                "  TLS file restored to {} (point the configuration at it)",
                t.display()
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let (u, p) = pg_url_and_password(
            "postgres://hemtid:s%40cret+x@db.example:5432/hemtid?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            u,
            "postgres://hemtid@db.example:5432/hemtid?sslmode=require"
        );
        assert_eq!(p.as_deref(), Some("s@cret+x"));
        let (u, p) = pg_url_and_password("postgres://postgres@127.0.0.1/test").unwrap();
        assert_eq!(
            (u.as_str(), p),
            ("postgres://postgres@127.0.0.1/test", None)
        );
    }
}
