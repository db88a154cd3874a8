//! Rotating refresh tokens. Each sign-in starts a family; every refresh
//! marks the presented token used and issues the next one in the family.
//! Presenting a used token again means it was copied: the whole family is
//! revoked.

use super::schema::refresh_token;
use super::user_account::UserAccount;
use super::{DbConn, StoreError, new_id};
use crate::auth::{self, AuthError};
use crate::model::UserId;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Prefix of refresh tokens.
pub const PREFIX: &str = "hrt_";

/// A stored refresh token (the secret itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = refresh_token)]
pub struct RefreshToken {
    pub id: String,
    pub user_id: UserId,
    pub family_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Why a refresh token was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown refresh token")]
    Unknown,
    #[error("the refresh token has expired")]
    Expired,
    #[error("the refresh token was revoked")]
    Revoked,
    #[error("the refresh token was used before; its sign-in is revoked")]
    Reused,
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<diesel::result::Error> for RefreshError {
    fn from(e: diesel::result::Error) -> Self {
        RefreshError::Store(e.into())
    }
}

/// Issues a token in `family_id` (a new family on sign-in); returns the secret.
pub fn issue(
    conn: &mut DbConn,
    user_id: &str,
    family_id: &str,
    now: NaiveDateTime,
    ttl_seconds: i64,
) -> Result<String, RefreshError> {
    let (token, hash) = auth::new_secret_token(PREFIX)?;
    diesel::insert_into(refresh_token::table)
        .values((
            refresh_token::id.eq(new_id()),
            refresh_token::user_id.eq(user_id),
            refresh_token::family_id.eq(family_id),
            refresh_token::token_hash.eq(&hash),
            refresh_token::created_at.eq(now),
            refresh_token::expires_at.eq(now + chrono::Duration::seconds(ttl_seconds)),
        ))
        .execute(conn)
        .map_err(StoreError::from)?;
    Ok(token)
}

fn find(conn: &mut DbConn, token: &str) -> Result<RefreshToken, RefreshError> {
    refresh_token::table
        .filter(refresh_token::token_hash.eq(auth::hash_token(token)))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()?
        .ok_or(RefreshError::Unknown)
}

/// A successful rotation.
#[derive(Debug)]
pub struct Rotated {
    pub user: UserAccount,
    /// The sign-in (family) id.
    pub family_id: String,
    /// The next refresh token's secret.
    pub token: String,
}

/// Rotates `token`: marks it used and issues the next in its family.
pub fn rotate(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
    ttl_seconds: i64,
) -> Result<Rotated, RefreshError> {
    let stored = find(conn, token)?;
    if stored.revoked_at.is_some() {
        return Err(RefreshError::Revoked);
    }
    if stored.used_at.is_some() {
        revoke_family(conn, &stored.family_id, now)?;
        return Err(RefreshError::Reused);
    }
    if stored.expires_at <= now {
        return Err(RefreshError::Expired);
    }
    // Conditional: of two concurrent refreshes with one token, one wins.
    let won = diesel::update(
        refresh_token::table
            .find(&stored.id)
            .filter(refresh_token::used_at.is_null())
            .filter(refresh_token::revoked_at.is_null()),
    )
    .set(refresh_token::used_at.eq(now))
    .execute(conn)?;
    if won == 0 {
        revoke_family(conn, &stored.family_id, now)?;
        return Err(RefreshError::Reused);
    }
    let user = super::user_account::get_any(conn, &stored.user_id)?;
    if !user.fields.active {
        revoke_family(conn, &stored.family_id, now)?;
        return Err(RefreshError::Disabled);
    }
    let token = issue(conn, &user.id, &stored.family_id, now, ttl_seconds)?;
    Ok(Rotated {
        user,
        family_id: stored.family_id,
        token,
    })
}

/// Revokes the sign-in `token` belongs to (logout). Unknown tokens are
/// ignored so logout cannot be used to probe tokens.
pub fn revoke_by_token(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    match find(conn, token) {
        Ok(t) => revoke_family(conn, &t.family_id, now).map(|_| ()),
        Err(RefreshError::Store(e)) => Err(e),
        Err(_) => Ok(()),
    }
}

pub fn revoke_family(
    conn: &mut DbConn,
    family_id: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        refresh_token::table
            .filter(refresh_token::family_id.eq(family_id))
            .filter(refresh_token::revoked_at.is_null()),
    )
    .set(refresh_token::revoked_at.eq(now))
    .execute(conn)?)
}

/// Revokes every sign-in of a user but `keep` (the one changing its own
/// password).
pub fn revoke_user_except(
    conn: &mut DbConn,
    user_id: &str,
    keep: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        refresh_token::table
            .filter(refresh_token::user_id.eq(user_id))
            .filter(refresh_token::family_id.ne(keep))
            .filter(refresh_token::revoked_at.is_null()),
    )
    .set(refresh_token::revoked_at.eq(now))
    .execute(conn)?)
}

/// Whether sign-in `family_id` of `user_id` is live: the account exists
/// and is active, and the family has a token not revoked. A token without
/// a sign-in (`family_id` empty) depends on the account only.
pub fn session_live(conn: &mut DbConn, user_id: &str, family_id: &str) -> Result<bool, StoreError> {
    use super::schema::user_account;
    let active: Option<bool> = user_account::table
        .find(user_id)
        .select(user_account::active)
        .first(conn)
        .optional()?;
    if active != Some(true) {
        return Ok(false);
    }
    if family_id.is_empty() {
        return Ok(true);
    }
    Ok(diesel::select(diesel::dsl::exists(
        refresh_token::table
            .filter(refresh_token::family_id.eq(family_id))
            .filter(refresh_token::user_id.eq(user_id))
            .filter(refresh_token::revoked_at.is_null()),
    ))
    .get_result(conn)?)
}

/// Revokes every sign-in of a user (password change, account disabled,
/// keys revoked, sessions ended).
pub fn revoke_user(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        refresh_token::table
            .filter(refresh_token::user_id.eq(user_id))
            .filter(refresh_token::revoked_at.is_null()),
    )
    .set(refresh_token::revoked_at.eq(now))
    .execute(conn)?)
}
