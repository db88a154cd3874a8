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
    pub visit_id: crate::model::VisitId,
    pub client_id: String,
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
    super::replace_of_visits!(c, visit_share, of, rows)
}
