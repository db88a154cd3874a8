//! Providers (utförare): municipal or private home-care organisations.

use super::schema::provider;
use super::{DbConn, StoreError, now, one_row};
use crate::model::{MunicipalityId, ProviderId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A home-care provider.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = provider)]
pub struct Provider {
    pub id: ProviderId,
    pub municipality_id: MunicipalityId,
    #[diesel(embed)]
    pub fields: ProviderFields,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = provider, treat_none_as_null = true)]
pub struct ProviderFields {
    pub name: String,
    /// Organisationsnummer, `NNNNNN-NNNN`.
    pub org_number: Option<String>,
    /// `municipal` or `private`.
    pub regi: String,
    pub active: bool,
}

pub fn create(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &ProviderFields,
) -> Result<Provider, StoreError> {
    let t = now();
    diesel::insert_into(provider::table)
        .values((
            provider::id.eq(id),
            provider::municipality_id.eq(municipality_id),
            fields,
            provider::created_at.eq(t),
            provider::updated_at.eq(t),
        ))
        .execute(conn)?;
    get(conn, municipality_id, id)
}

/// The provider, if it belongs to `municipality_id`.
pub fn get(conn: &mut DbConn, municipality_id: &str, id: &str) -> Result<Provider, StoreError> {
    Ok(provider::table
        .find(id)
        .filter(provider::municipality_id.eq(municipality_id))
        .select(Provider::as_select())
        .first(conn)?)
}

pub fn list(conn: &mut DbConn, municipality_id: &str) -> Result<Vec<Provider>, StoreError> {
    Ok(provider::table
        .filter(provider::municipality_id.eq(municipality_id))
        .order(provider::name)
        .select(Provider::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &ProviderFields,
) -> Result<Provider, StoreError> {
    let n = diesel::update(
        provider::table
            .find(id)
            .filter(provider::municipality_id.eq(municipality_id)),
    )
    .set((fields, provider::updated_at.eq(now())))
    .execute(conn)?;
    one_row(n)?;
    get(conn, municipality_id, id)
}

/// Every provider, as (municipality, id).
pub fn all_ids(conn: &mut DbConn) -> Result<Vec<(String, String)>, StoreError> {
    Ok(provider::table
        .order((provider::municipality_id, provider::id))
        .select((provider::municipality_id, provider::id))
        .load(conn)?)
}
