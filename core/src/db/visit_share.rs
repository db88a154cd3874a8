//! The table `visit_share`: whose time a visit is (all its client's,
//! unless co-habiting clients shared it). Written by the visit engine
//! (`super::visit`) with its visit.

use super::schema::visit_share;
use super::{DbConn, StoreError};
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
    pub visit_id: String,
    pub client_id: String,
    /// 10,000 = all of the visit.
    pub basis_points: i32,
}

/// Replaces the shares of the visits `of` (their stored rows go) with
/// `rows`, in as few statements as keep their shape (see
/// `super::visit::FEW`).
pub(crate) fn replace(
    c: &mut DbConn,
    of: &[String],
    rows: &[VisitShare],
) -> Result<(), StoreError> {
    if let [id] = of {
        diesel::delete(visit_share::table.filter(visit_share::visit_id.eq(id))).execute(c)?;
    } else {
        for ids in of.chunks(500) {
            diesel::delete(visit_share::table.filter(visit_share::visit_id.eq_any(ids)))
                .execute(c)?;
        }
    }
    if rows.len() <= super::visit::FEW {
        for row in rows {
            super::execute_on(c, diesel::insert_into(visit_share::table).values(row))?;
        }
    } else {
        for chunk in rows.chunks(500) {
            super::execute_on(c, diesel::insert_into(visit_share::table).values(chunk))?;
        }
    }
    Ok(())
}
