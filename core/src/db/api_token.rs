//! Integration tokens: long-lived, stored as SHA-256 hashes, revocable.
//! A token is the municipality's case system's (it acts as an admin, on
//! HTTP and on the broker), or one provider's planning system's
//! (`provider_id`: that provider's plans and clients on HTTP only).

use super::schema::api_token;
use super::{DbConn, StoreError, now, one_row};
use crate::model::{MunicipalityId, ProviderId};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

/// An integration token (the secret itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_token)]
pub struct ApiToken {
    pub id: String,
    pub municipality_id: MunicipalityId,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    #[serde(with = "super::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "super::utc::option")]
    pub revoked_at: Option<NaiveDateTime>,
    /// The provider whose planning system holds it; `None`: the
    /// municipality's case system.
    pub provider_id: Option<ProviderId>,
}

/// Stores a token: the case system's, or with `provider_id` that
/// provider's planning system's (the caller checks the provider is the
/// municipality's).
pub fn create(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    name: &str,
    token_hash: &str,
    provider_id: Option<&str>,
) -> Result<ApiToken, StoreError> {
    diesel::insert_into(api_token::table)
        .values((
            api_token::id.eq(id),
            api_token::municipality_id.eq(municipality_id),
            api_token::name.eq(name),
            api_token::token_hash.eq(token_hash),
            api_token::created_at.eq(now()),
            api_token::provider_id.eq(provider_id),
        ))
        .execute(conn)?;
    Ok(api_token::table
        .find(id)
        .select(ApiToken::as_select())
        .first(conn)?)
}

/// The unrevoked token with this hash.
pub fn find_active(conn: &mut DbConn, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
    Ok(api_token::table
        .filter(api_token::token_hash.eq(token_hash))
        .filter(api_token::revoked_at.is_null())
        .select(ApiToken::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConn, municipality_id: &str) -> Result<Vec<ApiToken>, StoreError> {
    Ok(api_token::table
        .filter(api_token::municipality_id.eq(municipality_id))
        .order(api_token::created_at)
        .select(ApiToken::as_select())
        .load(conn)?)
}

pub fn revoke(conn: &mut DbConn, municipality_id: &str, id: &str) -> Result<(), StoreError> {
    let n = diesel::update(
        api_token::table
            .find(id)
            .filter(api_token::municipality_id.eq(municipality_id))
            .filter(api_token::revoked_at.is_null()),
    )
    .set(api_token::revoked_at.eq(now()))
    .execute(conn)?;
    one_row(n)
}

/// Of the listed tokens, those not revoked: (id, hash).
pub fn active_of(conn: &mut DbConn, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            api_token::table
                .filter(api_token::id.eq_any(chunk))
                .filter(api_token::revoked_at.is_null())
                .select((api_token::id, api_token::token_hash))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Sets the hash an external broker's password file gets for the token.
pub fn set_broker_hash(conn: &mut DbConn, id: &str, broker_hash: &str) -> Result<(), StoreError> {
    let n = diesel::update(api_token::table.find(id))
        .set(api_token::broker_hash.eq(Some(broker_hash)))
        .execute(conn)?;
    one_row(n)
}

/// Every unrevoked case-system token: (id, municipality, broker password
/// hash if any). Providers' tokens are HTTP only.
pub fn active_for_broker(
    conn: &mut DbConn,
) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
    Ok(api_token::table
        .filter(api_token::revoked_at.is_null())
        .filter(api_token::provider_id.is_null())
        .order(api_token::id)
        .select((
            api_token::id,
            api_token::municipality_id,
            api_token::broker_hash,
        ))
        .load(conn)?)
}
