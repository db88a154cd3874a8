//! Authority units (myndighet): elderly care (ÄVO) or disability (FFS).

use super::schema::authority_unit;
use super::{DbConn, StoreError, now, one_row};
use crate::model::MunicipalityId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A unit of caseworkers.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = authority_unit)]
pub struct AuthorityUnit {
    pub id: String,
    pub municipality_id: MunicipalityId,
    #[diesel(embed)]
    pub fields: AuthorityUnitFields,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = authority_unit)]
pub struct AuthorityUnitFields {
    pub name: String,
    /// `elderly` (ÄVO) or `disability` (FFS).
    pub kind: crate::model::UnitKind,
}

pub fn create(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &AuthorityUnitFields,
) -> Result<AuthorityUnit, StoreError> {
    let t = now();
    diesel::insert_into(authority_unit::table)
        .values((
            authority_unit::id.eq(id),
            authority_unit::municipality_id.eq(municipality_id),
            fields,
            authority_unit::created_at.eq(t),
            authority_unit::updated_at.eq(t),
        ))
        .execute(conn)?;
    get(conn, municipality_id, id)
}

pub fn get(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
) -> Result<AuthorityUnit, StoreError> {
    Ok(authority_unit::table
        .find(id)
        .filter(authority_unit::municipality_id.eq(municipality_id))
        .select(AuthorityUnit::as_select())
        .first(conn)?)
}

pub fn list(conn: &mut DbConn, municipality_id: &str) -> Result<Vec<AuthorityUnit>, StoreError> {
    Ok(authority_unit::table
        .filter(authority_unit::municipality_id.eq(municipality_id))
        .order(authority_unit::name)
        .select(AuthorityUnit::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &AuthorityUnitFields,
) -> Result<AuthorityUnit, StoreError> {
    let n = diesel::update(
        authority_unit::table
            .find(id)
            .filter(authority_unit::municipality_id.eq(municipality_id)),
    )
    .set((fields, authority_unit::updated_at.eq(now())))
    .execute(conn)?;
    one_row(n)?;
    get(conn, municipality_id, id)
}
