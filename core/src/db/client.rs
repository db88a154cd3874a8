//! Clients (brukare). The personal identity number is personal data: the
//! `Debug` impls leave it out, and it is looked up by value, never by URL.

use super::schema::client;
use super::{DbConn, StoreError, now, one_row};
use crate::model::{ClientId, MunicipalityId, ProviderId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::fmt;

/// A client receiving home care.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = client)]
pub struct Client {
    pub id: ClientId,
    pub municipality_id: MunicipalityId,
    #[diesel(embed)]
    pub fields: ClientFields,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a create or update sets.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client, treat_none_as_null = true)]
pub struct ClientFields {
    /// Validated and normalised `YYYYMMDD-NNNN` (see [`crate::domain::PersonalNumber`]).
    pub personal_number: String,
    pub given_name: String,
    pub family_name: String,
    pub street_address: String,
    pub postal_code: String,
    pub city: String,
    pub phone: Option<String>,
    /// The responsible caseworker (biståndshandläggare).
    pub caseworker_id: Option<UserId>,
    /// The client's current provider (utförare).
    pub provider_id: Option<ProviderId>,
    /// Shared by clients who live together (sammanboende).
    pub household_id: Option<String>,
}

impl fmt::Debug for ClientFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientFields")
            .field("personal_number", &"<redacted>")
            .field("caseworker_id", &self.caseworker_id)
            .field("provider_id", &self.provider_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

pub fn create(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &ClientFields,
) -> Result<Client, StoreError> {
    let t = now();
    diesel::insert_into(client::table)
        .values((
            client::id.eq(id),
            client::municipality_id.eq(municipality_id),
            fields,
            client::created_at.eq(t),
            client::updated_at.eq(t),
        ))
        .execute(conn)?;
    get(conn, municipality_id, id)
}

/// A client by id, whatever the municipality (internal jobs only).
pub fn get_any(conn: &mut DbConn, id: &str) -> Result<Client, StoreError> {
    Ok(client::table
        .find(id)
        .select(Client::as_select())
        .first(conn)?)
}

pub fn get(conn: &mut DbConn, municipality_id: &str, id: &str) -> Result<Client, StoreError> {
    Ok(client::table
        .find(id)
        .filter(client::municipality_id.eq(municipality_id))
        .filter(client::purged_at.is_null())
        .select(Client::as_select())
        .first(conn)?)
}

/// Looks a client up by normalised personal identity number.
pub fn find_by_personal_number(
    conn: &mut DbConn,
    municipality_id: &str,
    personal_number: &str,
) -> Result<Option<Client>, StoreError> {
    Ok(client::table
        .filter(client::municipality_id.eq(municipality_id))
        .filter(client::personal_number.eq(personal_number))
        .select(Client::as_select())
        .first(conn)
        .optional()?)
}

/// The ids of the municipality's clients (not purged), without their
/// personal data: for checking references.
pub fn ids(
    conn: &mut DbConn,
    municipality_id: &str,
) -> Result<std::collections::HashSet<ClientId>, StoreError> {
    Ok(client::table
        .filter(client::municipality_id.eq(municipality_id))
        .filter(client::purged_at.is_null())
        .select(client::id)
        .load::<ClientId>(conn)?
        .into_iter()
        .collect())
}

/// Each client's caseworker, if one is named (no personal data).
pub fn caseworkers(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<std::collections::HashMap<ClientId, Option<crate::model::UserId>>, StoreError> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        out.extend(
            client::table
                .filter(client::id.eq_any(chunk))
                .select((client::id, client::caseworker_id))
                .load::<(ClientId, Option<crate::model::UserId>)>(conn)?,
        );
    }
    Ok(out)
}

pub fn list(conn: &mut DbConn, municipality_id: &str) -> Result<Vec<Client>, StoreError> {
    Ok(client::table
        .filter(client::municipality_id.eq(municipality_id))
        .filter(client::purged_at.is_null())
        .order((client::family_name, client::given_name))
        .select(Client::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &ClientFields,
) -> Result<Client, StoreError> {
    let n = diesel::update(
        client::table
            .find(id)
            .filter(client::municipality_id.eq(municipality_id))
            .filter(client::purged_at.is_null()),
    )
    .set((fields, client::updated_at.eq(now())))
    .execute(conn)?;
    one_row(n)?;
    get(conn, municipality_id, id)
}
