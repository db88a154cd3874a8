//! Raw statements that diesel keeps prepared.
//!
//! diesel prepares a `sql_query` anew on every run, and an upsert written
//! with its DSL too (`ON CONFLICT … DO UPDATE` is never cached). On SQLite
//! preparing a statement costs more than running it: before this module,
//! a sixth of the phone path's writer time was spent preparing the same
//! few upserts again and again. A [`Statement`] is cached by its text (and
//! its values' types) like any other statement of diesel's, on both
//! backends, unless it says it is one of many shapes ([`Statement::once`]).

use super::error::mismatch;
use super::{DbConn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Date, HasSqlType, Integer, Nullable, Text, Timestamp};

/// A value bound to a `?` of a [`Statement`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Text(&'a str),
    BigInt(i64),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    Bool(bool),
    OptText(Option<&'a str>),
    OptInt(Option<i32>),
    OptTimestamp(Option<NaiveDateTime>),
}

/// A raw statement: its text with a `?` for each value (the text holds no
/// other `?`), and the values in order. On PostgreSQL the markers become
/// `$1`, `$2`, ….
#[derive(Debug, Clone)]
pub(crate) struct Statement<'a> {
    sql: &'a str,
    values: Vec<Value<'a>>,
    keep: bool,
}

impl<'a> Statement<'a> {
    /// A statement to keep prepared.
    pub(crate) fn new(sql: &'a str) -> Statement<'a> {
        Statement {
            sql,
            values: Vec::new(),
            keep: true,
        }
    }

    /// A statement of one of many shapes (a multi-row insert of any
    /// length): prepared for this run only, so the cache does not fill
    /// with them.
    pub(crate) fn once(mut self) -> Statement<'a> {
        self.keep = false;
        self
    }

    pub(crate) fn bind(mut self, v: Value<'a>) -> Statement<'a> {
        self.values.push(v);
        self
    }

    /// A statement of `rows` rows: kept for a few (up to
    /// `FEW`, the shapes that recur), prepared for this run
    /// only for more.
    pub(crate) fn for_rows(sql: &'a str, rows: usize) -> Statement<'a> {
        let q = Statement::new(sql);
        if rows <= FEW { q } else { q.once() }
    }

    /// Runs it on the connection's backend; the number of rows changed.
    pub(crate) fn execute(self, c: &mut DbConn) -> Result<usize, StoreError> {
        super::execute_on(c, self)
    }
}

/// `(?, ?, …), (…)`: `rows` groups of `columns` markers, for a multi-row
/// insert.
pub(crate) fn markers(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

impl QueryId for Statement<'_> {
    type QueryId = ();
    // Cached by its text, which diesel builds to look it up.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Statement<'_>
where
    DB: Backend
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Date>
        + HasSqlType<Timestamp>
        + HasSqlType<Bool>
        + HasSqlType<Integer>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDate: ToSql<Date, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !self.keep {
            out.unsafe_to_cache_prepared();
        }
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        let mut values = self.values.iter();
        for part in parts {
            match values.next() {
                Some(Value::Text(s)) => out.push_bind_param::<Text, str>(s)?,
                Some(Value::BigInt(n)) => out.push_bind_param::<BigInt, i64>(n)?,
                Some(Value::Date(d)) => out.push_bind_param::<Date, NaiveDate>(d)?,
                Some(Value::Timestamp(t)) => out.push_bind_param::<Timestamp, NaiveDateTime>(t)?,
                Some(Value::Bool(b)) => out.push_bind_param::<Bool, bool>(b)?,
                Some(Value::OptText(s)) => {
                    out.push_bind_param::<Nullable<Text>, Option<&str>>(s)?
                }
                Some(Value::OptInt(n)) => {
                    out.push_bind_param::<Nullable<Integer>, Option<i32>>(n)?
                }
                Some(Value::OptTimestamp(t)) => {
                    out.push_bind_param::<Nullable<Timestamp>, Option<NaiveDateTime>>(t)?
                }
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

/// SQLite: `column IN (the ids)` as one statement diesel keeps prepared,
/// the ids bound as one JSON array (`json_list`). With `eq_any` each number
/// of ids is a statement of its own, compiled again on every call (the
/// pairing's reads of visits and their shares were); a `sql` literal is
/// compiled again on every call too (diesel does not keep those).
pub(crate) fn in_list(column: &'static str, list: &str) -> InList {
    InList {
        column,
        list: list.to_string(),
    }
}

/// See [`in_list`]. No static query id: diesel keeps it by its SQL text,
/// which names the column.
#[derive(Debug, Clone, diesel::expression::ValidGrouping)]
pub(crate) struct InList {
    column: &'static str,
    list: String,
}

impl diesel::query_builder::QueryId for InList {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::Expression for InList {
    type SqlType = diesel::sql_types::Bool;
}

impl<QS> diesel::AppearsOnTable<QS> for InList {}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for InList {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> diesel::QueryResult<()> {
        out.push_identifier(self.column)?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.list)?;
        out.push_sql("))");
        Ok(())
    }
}

/// The ids as a JSON array for [`in_list`].
pub(crate) fn json_list(ids: &[&str]) -> Result<String, StoreError> {
    serde_json::to_string(ids).map_err(|e| StoreError::Encode(e.to_string()))
}

/// Up to this many rows are written one statement each: a statement of
/// one row is prepared once per connection and kept, one of many rows is
/// prepared anew each time (its length varies), which on SQLite costs
/// more than running the one-row statement a few times.
pub(crate) const FEW: usize = 8;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::db::testing::TestDb;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    #[test]
    fn a_statement_binds_its_values_in_order_on_either_backend() {
        let db = TestDb::new();
        let mut c = db.connect();
        c.batch_execute("CREATE TABLE t (a TEXT PRIMARY KEY, n BIGINT NOT NULL, d DATE NOT NULL)")
            .unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let sql = format!(
            "INSERT INTO t (a, n, d) VALUES {} ON CONFLICT (a) DO UPDATE SET n = t.n + excluded.n",
            markers(2, 3)
        );
        for _ in 0..2 {
            let n = Statement::new(&sql)
                .bind(Value::Text("x"))
                .bind(Value::BigInt(2))
                .bind(Value::Date(day))
                .bind(Value::Text("y"))
                .bind(Value::BigInt(5))
                .bind(Value::Date(day))
                .execute(&mut c)
                .unwrap();
            assert_eq!(n, 2);
        }
        diesel::table! { t (a) { a -> Text, n -> BigInt, d -> Date, } }
        let rows: Vec<(String, i64, NaiveDate)> = t::table.order(t::a).load(&mut c).unwrap();
        assert_eq!(rows, [("x".into(), 4, day), ("y".into(), 10, day)]);
        // Too few or too many values is an error, not a wrong statement.
        let few = Statement::new("INSERT INTO t (a, n, d) VALUES (?, ?, ?)")
            .bind(Value::Text("z"))
            .execute(&mut c);
        assert!(few.is_err());
        let many = Statement::new("DELETE FROM t WHERE a = ?")
            .bind(Value::Text("x"))
            .bind(Value::Text("y"))
            .execute(&mut c);
        assert!(many.is_err());
        assert_eq!(markers(2, 2), "(?, ?), (?, ?)");
    }
}
