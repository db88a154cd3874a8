//! The table `visit_service`: the services performed or declined at a
//! visit, each with its share of the visit's time. Written by the visit
//! engine (`super::visit`) with its visit.

use super::schema::visit_service;
use super::{DbConn, StoreError};
use crate::model::{ClientId, ServiceId};
use diesel::prelude::*;
use serde::Serialize;

/// A service of a visit.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable, Insertable, Serialize,
)]
#[diesel(table_name = visit_service, treat_none_as_default_value = false)]
pub struct VisitService {
    #[serde(skip)]
    pub visit_id: crate::model::VisitId,
    /// Whose service: the visit's client, or a co-habiting one.
    pub client_id: ClientId,
    pub service_id: ServiceId,
    pub declined: bool,
    pub entered_minutes: Option<i32>,
    /// This service's share of the visit's real time.
    pub seconds: i32,
}

/// Replaces the services of the visits `of` with `rows`
/// ([`super::replace_of_visits`]).
pub(crate) fn replace(
    c: &mut DbConn,
    of: &[crate::model::VisitId],
    rows: &[VisitService],
) -> Result<(), StoreError> {
    use super::unnest::{Column, Query, texts};
    if let DbConn::Pg(pg) = c {
        super::delete_of_visits_pg(pg, "visit_service", of)?;
        if !rows.is_empty() {
            Query::new(
                "INSERT INTO visit_service \
                 (visit_id, client_id, service_id, declined, entered_minutes, seconds) \
                 SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::boolean[], \
                 ?::integer[], ?::integer[])",
            )
            .bind(texts(rows, |r| r.visit_id.as_str()))
            .bind(texts(rows, |r| r.client_id.as_str()))
            .bind(texts(rows, |r| r.service_id.as_str()))
            .bind(Column::Bool(rows.iter().map(|r| r.declined).collect()))
            .bind(Column::OptInt(
                rows.iter().map(|r| r.entered_minutes).collect(),
            ))
            .bind(Column::Int(rows.iter().map(|r| r.seconds).collect()))
            .execute(pg)?;
        }
        return Ok(());
    }
    super::replace_of_visits!(c, visit_service, of, rows)
}

/// The services of a visit, performed first.
pub fn services_for(conn: &mut DbConn, visit_id: &str) -> Result<Vec<VisitService>, StoreError> {
    Ok(visit_service::table
        .filter(visit_service::visit_id.eq(visit_id))
        .order((
            visit_service::declined,
            visit_service::client_id,
            visit_service::service_id,
        ))
        .select(VisitService::as_select())
        .load(conn)?)
}
