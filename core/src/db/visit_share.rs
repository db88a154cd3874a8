//! The table `visit_share`: whose time a visit is (all its client's,
//! unless co-habiting clients shared it). Written by the visit engine
//! (`super::visit`) with its visit.

use super::schema::visit_share;
use super::{DbConn, StoreError};
use crate::model::ClientId;
use diesel::prelude::*;
use serde::Serialize;

/// A client's share of a visit (all of it, unless co-habiting clients
/// shared the visit).
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable, Insertable, Serialize,
)]
#[diesel(table_name = visit_share)]
pub struct VisitShare {
    #[serde(skip)]
    pub visit_id: crate::model::VisitId,
    pub client_id: ClientId,
    /// 10,000 = all of the visit.
    pub basis_points: i32,
}

/// Replaces the shares of the visits `of` with `rows`
/// ([`super::replace_of_visits`]).
pub(crate) fn replace(
    c: &mut DbConn,
    of: &[crate::model::VisitId],
    rows: &[VisitShare],
) -> Result<(), StoreError> {
    use super::unnest::{Column, Query, texts};
    if let DbConn::Pg(pg) = c {
        super::delete_of_visits_pg(pg, "visit_share", of)?;
        if !rows.is_empty() {
            Query::new(
                "INSERT INTO visit_share (visit_id, client_id, basis_points) \
                 SELECT * FROM unnest(?::text[], ?::text[], ?::integer[])",
            )
            .bind(texts(rows, |r| r.visit_id.as_str()))
            .bind(texts(rows, |r| r.client_id.as_str()))
            .bind(Column::Int(rows.iter().map(|r| r.basis_points).collect()))
            .execute(pg)?;
        }
        return Ok(());
    }
    super::replace_of_visits!(c, visit_share, of, rows)
}

/// The shares of the visits `ids`, by visit (what the punctuality rules
/// need of a visit's attribution: whose it is; its services are not
/// read). Chunks of 500, each one statement kept prepared.
pub fn of_visits(
    c: &mut DbConn,
    ids: &[&str],
) -> Result<std::collections::HashMap<crate::model::VisitId, Vec<VisitShare>>, StoreError> {
    let mut out: std::collections::HashMap<crate::model::VisitId, Vec<VisitShare>> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<VisitShare> = match c {
            DbConn::Sqlite(s) => visit_share::table
                .filter(super::sql::in_list(
                    "visit_id",
                    &super::sql::json_list(chunk)?,
                ))
                .order((visit_share::visit_id, visit_share::client_id))
                .select(VisitShare::as_select())
                .load(s)?,
            DbConn::Pg(pg) => super::unnest::Query::new(&format!(
                "{} ORDER BY visit_id, client_id",
                super::unnest::by_key_sql("visit_share", "visit_id")
            ))
            .bind(super::unnest::Column::Text(chunk.to_vec()))
            .load(pg)?,
        };
        for s in rows {
            out.entry(s.visit_id.clone()).or_default().push(s);
        }
    }
    Ok(out)
}
