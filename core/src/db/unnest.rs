//! PostgreSQL: statements kept prepared whatever the number of rows they
//! read or write, each column's values bound as one array
//! (`INSERT … SELECT * FROM unnest(?::text[], ?::timestamp[], …)`).
//!
//! diesel prepares a `sql_query`, an UPDATE, an upsert and a multi-row
//! INSERT anew on every run, and PostgreSQL parses, analyses and plans
//! each of them again: a gateway batch ran about fifteen such statements,
//! and in a profile of the ingest bench (docs/BENCHMARKS.md) PostgreSQL
//! spent about a quarter of its time parsing and planning. A [`Query`] is
//! prepared once per connection and kept: diesel caches it by its text and
//! its values' types, which do not change with the number of rows.

use super::error::mismatch;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, Text, Timestamp};

/// The values bound to one `?` of a [`Query`]: a column of rows (an
/// array), or one value.
#[derive(Debug, Clone)]
pub(crate) enum Column<'a> {
    Text(Vec<&'a str>),
    OptText(Vec<Option<&'a str>>),
    Int(Vec<i32>),
    OptInt(Vec<Option<i32>>),
    BigInt(Vec<i64>),
    Bool(Vec<bool>),
    Date(Vec<NaiveDate>),
    Timestamp(Vec<NaiveDateTime>),
    OptTimestamp(Vec<Option<NaiveDateTime>>),
    /// One value, not a column.
    One(i64),
    /// One text, not a column.
    OneText(&'a str),
    /// One instant, not a column.
    OneTimestamp(NaiveDateTime),
}

/// A PostgreSQL statement: its text with a `?` for each value (the text
/// holds no other `?`), and the values in order. Kept prepared.
#[derive(Debug, Clone)]
pub(crate) struct Query<'a> {
    sql: &'a str,
    values: Vec<Column<'a>>,
}

impl<'a> Query<'a> {
    pub(crate) fn new(sql: &'a str) -> Query<'a> {
        Query {
            sql,
            values: Vec::new(),
        }
    }

    pub(crate) fn bind(mut self, c: Column<'a>) -> Query<'a> {
        self.values.push(c);
        self
    }
}

impl QueryId for Query<'_> {
    type QueryId = ();
    // Cached by its text, which diesel builds to look it up.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Query<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::RunQueryDsl<diesel::PgConnection> for Query<'_> {}

impl QueryFragment<Pg> for Query<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        let mut values = self.values.iter();
        for part in parts {
            match values.next() {
                Some(Column::Text(v)) => out.push_bind_param::<Array<Text>, _>(v)?,
                Some(Column::OptText(v)) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                Some(Column::Int(v)) => out.push_bind_param::<Array<Integer>, _>(v)?,
                Some(Column::OptInt(v)) => out.push_bind_param::<Array<Nullable<Integer>>, _>(v)?,
                Some(Column::BigInt(v)) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Some(Column::Bool(v)) => out.push_bind_param::<Array<Bool>, _>(v)?,
                Some(Column::Date(v)) => out.push_bind_param::<Array<Date>, _>(v)?,
                Some(Column::Timestamp(v)) => out.push_bind_param::<Array<Timestamp>, _>(v)?,
                Some(Column::OptTimestamp(v)) => {
                    out.push_bind_param::<Array<Nullable<Timestamp>>, _>(v)?
                }
                Some(Column::One(n)) => out.push_bind_param::<BigInt, _>(n)?,
                Some(Column::OneText(t)) => out.push_bind_param::<Text, _>(*t)?,
                Some(Column::OneTimestamp(t)) => out.push_bind_param::<Timestamp, _>(t)?,
                None => return Err(mismatch()),
            }
            out.push_sql(part);
        }
        if values.next().is_some() {
            return Err(mismatch());
        }
        Ok(())
    }
}

/// The rows of `table` whose `column` is one of the texts bound to its
/// `?`, found by the column's index one value at a time: a generic plan of
/// `column = ANY(…)` made while the table was small is a whole-table scan
/// for as long as it is kept.
pub(crate) fn by_key_sql(table: &str, column: &str) -> String {
    format!(
        "SELECT r.* FROM (SELECT DISTINCT unnest(?::text[]) AS id) e \
         CROSS JOIN LATERAL (SELECT * FROM {table} WHERE {column} = e.id OFFSET 0) r"
    )
}

/// The statement with `$1`, `$2`, … for its `?` (to prepare it by hand).
#[cfg(test)]
pub(crate) fn numbered(sql: &str) -> String {
    let mut parts = sql.split('?');
    let mut out = parts.next().unwrap_or_default().to_string();
    for (n, part) in parts.enumerate() {
        out.push_str(&format!("${}", n + 1));
        out.push_str(part);
    }
    out
}

/// A column of `rows`' texts.
pub(crate) fn texts<'a, T: 'a>(rows: &'a [T], f: impl Fn(&'a T) -> &'a str) -> Column<'a> {
    Column::Text(rows.iter().map(f).collect())
}

/// A column of `rows`' optional texts.
pub(crate) fn opt_texts<'a, T: 'a>(
    rows: &'a [T],
    f: impl Fn(&'a T) -> Option<&'a str>,
) -> Column<'a> {
    Column::OptText(rows.iter().map(f).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::db::DbConn;
    use crate::db::testing::TestDb;
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;

    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = Text)]
        a: String,
        #[diesel(sql_type = Nullable<Integer>)]
        n: Option<i32>,
        #[diesel(sql_type = Nullable<Timestamp>)]
        t: Option<NaiveDateTime>,
    }

    /// On PostgreSQL (`HEMTID_TEST_DATABASE_URL`): rows written and read
    /// through arrays, any number of them with one statement, and a
    /// mismatch of values and markers an error.
    #[test]
    fn columns_write_and_read_rows_on_postgresql() {
        let db = TestDb::new();
        let mut c = db.connect();
        let DbConn::Pg(pg) = &mut c else {
            // The statements are PostgreSQL's; SQLite never runs them.
            return;
        };
        pg.batch_execute(
            "CREATE TABLE u (a TEXT PRIMARY KEY, n INTEGER, t TIMESTAMP, d DATE NOT NULL, b BOOLEAN NOT NULL)",
        )
        .unwrap();
        let at = NaiveDate::from_ymd_opt(2026, 12, 5)
            .unwrap()
            .and_hms_opt(9, 40, 0)
            .unwrap();
        let sql = "INSERT INTO u (a, n, t, d, b) \
                   SELECT * FROM unnest(?::text[], ?::integer[], ?::timestamp[], ?::date[], ?::boolean[]) \
                   ON CONFLICT (a) DO UPDATE SET n = excluded.n";
        let write = |pg: &mut diesel::PgConnection, keys: &[&str], n: Option<i32>| {
            let rows = keys.len();
            Query::new(sql)
                .bind(texts(keys, |k| k))
                .bind(Column::OptInt(vec![n; rows]))
                .bind(Column::OptTimestamp(vec![Some(at); rows]))
                .bind(Column::Date(vec![at.date(); rows]))
                .bind(Column::Bool(vec![true; rows]))
                .execute(pg)
                .unwrap()
        };
        assert_eq!(write(pg, &["x"], None), 1);
        assert_eq!(write(pg, &["x", "y", "z"], Some(7)), 3);
        let rows: Vec<Row> = Query::new("SELECT a, n, t FROM u WHERE a = ANY(?) ORDER BY a")
            .bind(texts(&["x", "z", "w"], |k| k))
            .load(pg)
            .unwrap();
        assert_eq!(
            rows,
            [
                Row {
                    a: "x".into(),
                    n: Some(7),
                    t: Some(at)
                },
                Row {
                    a: "z".into(),
                    n: Some(7),
                    t: Some(at)
                }
            ]
        );
        let few = Query::new("SELECT a, n, t FROM u WHERE a = ANY(?) AND n = ?")
            .bind(texts(&["x"], |k| k))
            .load::<Row>(pg);
        assert!(few.is_err());
        let many = Query::new("DELETE FROM u WHERE n = ?")
            .bind(Column::One(7))
            .bind(Column::One(8))
            .execute(pg);
        assert!(many.is_err());
    }
}
