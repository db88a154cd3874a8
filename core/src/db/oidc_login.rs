//! Sign-ins through the identity provider that are under way: kept from
//! sending the user to the provider until the code comes back, used once.

use super::schema::oidc_login;
use super::{DbConn, StoreError};
use crate::auth::hash_token;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// How long a started sign-in waits for the provider's answer.
pub const VALID_SECONDS: i64 = 600;
/// Started sign-ins older than this are deleted.
const KEEP_SECONDS: i64 = 24 * 3600;

/// A sign-in under way (the state itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = oidc_login)]
pub struct OidcLogin {
    pub state_hash: String,
    pub municipality_id: String,
    pub redirect_uri: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub client_challenge: String,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Why a state was refused.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("unknown state")]
    Unknown,
    #[error("the state was used before")]
    Replayed,
    #[error("the sign-in took too long")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for StateError {
    fn from(e: diesel::result::Error) -> Self {
        StateError::Store(e.into())
    }
}

/// What a new sign-in keeps.
pub struct NewLogin<'a> {
    pub state: &'a str,
    pub municipality_id: &'a str,
    pub redirect_uri: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub client_challenge: &'a str,
}

/// Keeps a started sign-in; forgets those of yesterday.
pub fn begin(
    conn: &mut DbConn,
    login: &NewLogin<'_>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::delete(
        oidc_login::table
            .filter(oidc_login::created_at.lt(now - chrono::Duration::seconds(KEEP_SECONDS))),
    )
    .execute(conn)?;
    diesel::insert_into(oidc_login::table)
        .values((
            oidc_login::state_hash.eq(hash_token(login.state)),
            oidc_login::municipality_id.eq(login.municipality_id),
            oidc_login::redirect_uri.eq(login.redirect_uri),
            oidc_login::nonce.eq(login.nonce),
            oidc_login::pkce_verifier.eq(login.pkce_verifier),
            oidc_login::client_challenge.eq(login.client_challenge),
            oidc_login::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the sign-in `state` belongs to, once: a second use, however
/// concurrent, is `Replayed`.
pub fn take(conn: &mut DbConn, state: &str, now: NaiveDateTime) -> Result<OidcLogin, StateError> {
    let hash = hash_token(state);
    let taken = diesel::update(
        oidc_login::table
            .find(&hash)
            .filter(oidc_login::used_at.is_null()),
    )
    .set(oidc_login::used_at.eq(now))
    .execute(conn)?;
    let row = oidc_login::table
        .find(&hash)
        .select(OidcLogin::as_select())
        .first(conn)
        .optional()?
        .ok_or(StateError::Unknown)?;
    if taken == 0 {
        return Err(StateError::Replayed);
    }
    if (now - row.created_at).num_seconds() > VALID_SECONDS {
        return Err(StateError::Expired);
    }
    Ok(row)
}
