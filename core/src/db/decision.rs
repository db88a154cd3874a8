//! Decisions (biståndsbeslut): frame or per-service, with a period.

use super::schema::{client, decision};
use super::{DbConn, StoreError, now, one_row};
use crate::model::{ClientId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A decision granting home care under SoL 4 kap. 1 §.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = decision)]
pub struct Decision {
    pub id: String,
    #[diesel(embed)]
    pub fields: DecisionFields,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = decision, treat_none_as_null = true)]
pub struct DecisionFields {
    pub client_id: ClientId,
    /// `frame` (rambeslut) or `per_service` (insatsbeslut).
    pub kind: crate::model::DecisionKind,
    pub legal_basis: String,
    pub decided_on: NaiveDate,
    pub valid_from: NaiveDate,
    /// Last valid day, inclusive.
    pub valid_to: Option<NaiveDate>,
    pub purpose: String,
    pub goals: String,
    pub caseworker_id: Option<UserId>,
}

pub fn create(
    conn: &mut DbConn,
    id: &str,
    fields: &DecisionFields,
) -> Result<Decision, StoreError> {
    let t = now();
    diesel::insert_into(decision::table)
        .values((
            decision::id.eq(id),
            fields,
            decision::created_at.eq(t),
            decision::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(decision::table
        .find(id)
        .select(Decision::as_select())
        .first(conn)?)
}

/// The kind (`individual` or `frame`…) of each decision: one read for many.
pub fn kinds(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            decision::table
                .filter(decision::id.eq_any(chunk))
                .select((decision::id, decision::kind))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The decision, if its client belongs to `municipality_id`.
pub fn get(conn: &mut DbConn, municipality_id: &str, id: &str) -> Result<Decision, StoreError> {
    Ok(decision::table
        .inner_join(client::table)
        .filter(decision::id.eq(id))
        .filter(client::municipality_id.eq(municipality_id))
        .select(Decision::as_select())
        .first(conn)?)
}

pub fn list_for_client(conn: &mut DbConn, client_id: &str) -> Result<Vec<Decision>, StoreError> {
    Ok(decision::table
        .filter(decision::client_id.eq(client_id))
        .order(decision::valid_from.desc())
        .select(Decision::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &DecisionFields,
) -> Result<Decision, StoreError> {
    get(conn, municipality_id, id)?;
    let n = diesel::update(decision::table.find(id))
        .set((fields, decision::updated_at.eq(now())))
        .execute(conn)?;
    one_row(n)?;
    get(conn, municipality_id, id)
}
