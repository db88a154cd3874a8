//! `hemtid copy --from sqlite://… --to postgres://…` (issue 23): moves a
//! municipality that started on the embedded SQLite default to PostgreSQL
//! when it grows. Every table, ids and hash-chain links kept as they are.
//!
//! The target must be empty; it gets the migrations first, so the schema
//! is PostgreSQL's own (types, indexes, constraints), and the source must
//! be at the same migration. Then, in one PostgreSQL transaction, the
//! tables in foreign-key order (parents first), each in pages of rows read
//! as JSON arrays from SQLite and inserted with casts to the target
//! column's type; sequences set past the copied numbers; every table's
//! rows counted on both sides before the commit. Nothing is kept unless
//! all of it is.

use crate::backup::{Count, Name, Progress, count_pg, last_migration};
use anyhow::{Context, Result, bail};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use hemtid_core::db::{self, DatabaseUrl, DbConn};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Rows read and inserted at once (fewer for wide tables: PostgreSQL takes
/// at most 65,535 parameters per statement).
const PAGE: usize = 2000;

#[derive(QueryableByName)]
struct Edge {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    pg_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    default_value: Option<String>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `hemtid copy`.
pub fn copy(from: &str, to: &str) -> Result<()> {
    let progress = Progress::new();
    let say = |text: &str| progress.step(text);
    let (src_url, dst_url) = (DatabaseUrl::parse(from)?, DatabaseUrl::parse(to)?);
    let (DatabaseUrl::Sqlite(_), DatabaseUrl::Postgres(_)) = (&src_url, &dst_url) else {
        bail!(
            "hemtid copy moves a SQLite database (--from sqlite://…) to PostgreSQL (--to postgres://…)"
        );
    };
    let mut src = src_url.establish().context("opening the source")?;
    let mut dst = dst_url.establish().context("opening the target")?;
    let (DbConn::Sqlite(_), DbConn::Pg(pg)) = (&mut src, &mut dst) else {
        bail!("unexpected backends");
    };
    let existing = count_pg(pg)?;
    if !existing.is_empty() {
        bail!(
            "the target database has {} tables: hemtid copy needs an empty one",
            existing.len()
        );
    }
    say("migrating the target");
    db::run_migrations(&mut dst)?;
    let (at_src, at_dst) = (last_migration(&mut src)?, last_migration(&mut dst)?);
    if at_src != at_dst {
        bail!(
            "the source is at migration {at_src} and this hemtid's latest is {at_dst}: \
             run hemtid migrate on the source first (with this hemtid)"
        );
    }
    let (DbConn::Sqlite(sq), DbConn::Pg(pg)) = (&mut src, &mut dst) else {
        bail!("unexpected backends");
    };
    let tables = tables_in_order(pg)?;
    let mut copied: BTreeMap<String, i64> = BTreeMap::new();
    // One read transaction on the source (a snapshot, even if something
    // still writes to it) and one write transaction on the target.
    sq.transaction(|sq| -> Result<()> {
    pg.transaction(|pg| -> Result<()> {
        for table in &tables {
            let columns: Vec<Column> = diesel::sql_query(
                "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS pg_type, \
                        pg_get_expr(d.adbin, d.adrelid) AS default_value \
                   FROM pg_attribute a \
                   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                  WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
                  ORDER BY a.attnum",
            )
            .bind::<Text, _>(quote(table))
            .load(pg)?;
            let in_source: BTreeSet<String> = diesel::sql_query(format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.replace('\'', "''")
            ))
            .load::<Name>(sq)?
            .into_iter()
            .map(|n| n.name)
            .collect();
            if in_source.is_empty() {
                bail!("the source has no table {table}");
            }
            let columns: Vec<&Column> =
                columns.iter().filter(|c| in_source.contains(&c.name)).collect();
            // What the target's migrations put there themselves is the
            // source's to give.
            diesel::sql_query(format!("DELETE FROM {}", quote(table))).execute(pg)?;
            let reads: Vec<String> = columns
                .iter()
                .map(|c| {
                    if c.pg_type == "bytea" {
                        format!("hex({})", quote(&c.name))
                    } else {
                        quote(&c.name)
                    }
                })
                .collect();
            // The target column's type for each value (text in, cast there).
            let cast = |c: &Column, n: usize| {
                if c.pg_type == "bytea" {
                    format!("decode(${n}, 'hex')")
                } else {
                    format!("${n}::{}", c.pg_type)
                }
            };
            let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
            let per_page = PAGE.min(60_000 / columns.len().max(1)).max(1);
            let total: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}", quote(table)))
                .get_result(sq)?;
            // Read in one pass, page by page (a table of SQLite's kept by
            // its key, WITHOUT ROWID, has no row number to page by).
            let mut source = diesel::sql_query(format!(
                "SELECT json_array({}) AS row FROM {}",
                reads.join(", "),
                quote(table)
            ))
            .load_iter::<Row, diesel::connection::DefaultLoadingMode>(sq)?
            // Asked again after its end, SQLite would run the statement anew.
            .fuse();
            let mut done = 0i64;
            loop {
                let rows = source
                    .by_ref()
                    .take(per_page)
                    .collect::<Result<Vec<Row>, _>>()?;
                if rows.is_empty() {
                    break;
                }
                let mut values = Vec::with_capacity(rows.len());
                let mut binds: Vec<Option<String>> = Vec::with_capacity(rows.len() * columns.len());
                for (k, row) in rows.iter().enumerate() {
                    let cells: Vec<Value> = serde_json::from_str(&row.row)
                        .with_context(|| format!("{table}: a row the source could not give as JSON"))?;
                    if cells.len() != columns.len() {
                        bail!("{table}: {} values for {} columns", cells.len(), columns.len());
                    }
                    for cell in cells {
                        binds.push(match cell {
                            Value::Null => None,
                            Value::String(s) => Some(s),
                            other => Some(other.to_string()),
                        });
                    }
                    let offset = k * columns.len();
                    values.push(format!(
                        "({})",
                        columns
                            .iter()
                            .enumerate()
                            .map(|(i, c)| cast(c, offset + i + 1))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                let mut q = diesel::sql_query(format!(
                    "INSERT INTO {} ({}) VALUES {}",
                    quote(table),
                    names.join(", "),
                    values.join(", ")
                ))
                .into_boxed::<diesel::pg::Pg>();
                for b in binds {
                    q = q.bind::<Nullable<Text>, _>(b);
                }
                q.execute(pg).with_context(|| format!("inserting into {table}"))?;
                done += rows.len() as i64;
                say(&format!("{table}: {done} of {} rows", total.n));
            }
            // Sequences (BIGSERIAL) go on after the copied numbers.
            for c in columns
                .iter()
                .filter(|c| c.default_value.as_deref().is_some_and(|d| d.starts_with("nextval(")))
            {
                diesel::sql_query(format!(
                    "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({col}), 1), MAX({col}) IS NOT NULL) AS n FROM {t}",
                    col = quote(&c.name),
                    t = quote(table)
                ))
                .bind::<Text, _>(quote(table))
                .bind::<Text, _>(&c.name)
                .execute(pg)?;
            }
            let there: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}", quote(table)))
                .get_result(pg)?;
            if there.n != total.n {
                bail!("{table}: {} rows in the source, {} copied", total.n, there.n);
            }
            copied.insert(table.clone(), there.n);
        }
        Ok(())
    })
    })?;
    progress.done();
    println!(
        "copied {} tables ({} rows) from {} to {} at migration {at_src} in {:.1} s",
        copied.len(),
        copied.values().sum::<i64>(),
        src_url.redacted(),
        dst_url.redacted(),
        progress.started.elapsed().as_secs_f64()
    );
    let shown = [
        "client",
        "care_order",
        "visit",
        "visit_event",
        "figure_day",
        "figure_month",
        "access_log",
    ];
    println!(
        "  {}",
        shown
            .iter()
            .filter_map(|t| copied.get(*t).map(|n| format!("{t} {n}")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// The target's tables, parents before the tables that refer to them.
fn tables_in_order(pg: &mut diesel::PgConnection) -> Result<Vec<String>> {
    let all: Vec<Name> = diesel::sql_query(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() \
           AND tablename <> '__diesel_schema_migrations' ORDER BY tablename",
    )
    .load(pg)?;
    let edges: Vec<Edge> = diesel::sql_query(
        "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent \
           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
          WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .load(pg)?;
    let unquote = |s: &str| s.trim_matches('"').to_string();
    let mut parents: BTreeMap<String, BTreeSet<String>> = all
        .iter()
        .map(|t| (t.name.clone(), BTreeSet::new()))
        .collect();
    for e in edges {
        let (child, parent) = (unquote(&e.child), unquote(&e.parent));
        if child != parent {
            parents.entry(child).or_default().insert(parent);
        }
    }
    let mut order = Vec::new();
    let mut placed = BTreeSet::new();
    while placed.len() < parents.len() {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(t, ps)| !placed.contains(*t) && ps.iter().all(|p| placed.contains(p)))
            .map(|(t, _)| t.clone())
            .collect();
        if ready.is_empty() {
            bail!("the tables' foreign keys form a cycle");
        }
        for t in ready {
            placed.insert(t.clone());
            order.push(t);
        }
    }
    Ok(order)
}
