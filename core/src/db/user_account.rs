//! User accounts: staff and provider admins belong to a provider,
//! caseworkers to an authority unit; fee admins and admins to the
//! municipality (optionally a unit).

use super::schema::user_account;
use super::{DbConn, StoreError, now, one_row};
use crate::model::{MunicipalityId, ProviderId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A user account (answers show `crate::contract::UserAccountBody`; the
/// password hash never leaves this row).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = user_account)]
pub struct UserAccount {
    pub id: UserId,
    pub municipality_id: MunicipalityId,
    #[diesel(embed)]
    pub fields: UserFields,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a create or update sets (the password is set separately).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = user_account, treat_none_as_null = true)]
pub struct UserFields {
    /// Sign-in name, lower case.
    pub username: String,
    pub display_name: String,
    /// See [`crate::model::Role`].
    pub role: crate::model::Role,
    pub provider_id: Option<ProviderId>,
    pub authority_unit_id: Option<String>,
    pub active: bool,
    /// Who the person is at the municipality's identity provider: the
    /// value of its configured claim (`sub`, HSA-id, employee number,
    /// e-mail). Unset: no sign-in through the provider.
    pub external_id: Option<String>,
}

pub fn create(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &UserFields,
    password_hash: Option<&str>,
) -> Result<UserAccount, StoreError> {
    let t = now();
    diesel::insert_into(user_account::table)
        .values((
            user_account::id.eq(id),
            user_account::municipality_id.eq(municipality_id),
            fields,
            user_account::password_hash.eq(password_hash),
            user_account::created_at.eq(t),
            user_account::updated_at.eq(t),
        ))
        .execute(conn)?;
    get(conn, municipality_id, id)
}

pub fn get(conn: &mut DbConn, municipality_id: &str, id: &str) -> Result<UserAccount, StoreError> {
    Ok(user_account::table
        .find(id)
        .filter(user_account::municipality_id.eq(municipality_id))
        .select(UserAccount::as_select())
        .first(conn)?)
}

/// Any municipality's user (for token refresh, where the id is trusted).
pub fn get_any(conn: &mut DbConn, id: &str) -> Result<UserAccount, StoreError> {
    Ok(user_account::table
        .find(id)
        .select(UserAccount::as_select())
        .first(conn)?)
}

/// For sign-in through the identity provider: the account of
/// `municipality_id` the provider's claim names.
pub fn find_by_external_id(
    conn: &mut DbConn,
    municipality_id: &str,
    external_id: &str,
) -> Result<Option<UserAccount>, StoreError> {
    Ok(user_account::table
        .filter(user_account::municipality_id.eq(municipality_id))
        .filter(user_account::external_id.eq(external_id))
        .select(UserAccount::as_select())
        .first(conn)
        .optional()?)
}

/// For sign-in: usernames are unique across municipalities.
pub fn find_by_username(
    conn: &mut DbConn,
    username: &str,
) -> Result<Option<UserAccount>, StoreError> {
    Ok(user_account::table
        .filter(user_account::username.eq(username))
        .select(UserAccount::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConn, municipality_id: &str) -> Result<Vec<UserAccount>, StoreError> {
    Ok(user_account::table
        .filter(user_account::municipality_id.eq(municipality_id))
        .order(user_account::username)
        .select(UserAccount::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &UserFields,
) -> Result<UserAccount, StoreError> {
    let n = diesel::update(
        user_account::table
            .find(id)
            .filter(user_account::municipality_id.eq(municipality_id)),
    )
    .set((fields, user_account::updated_at.eq(now())))
    .execute(conn)?;
    one_row(n)?;
    get(conn, municipality_id, id)
}

pub fn set_password_hash(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    hash: &str,
) -> Result<(), StoreError> {
    let n = diesel::update(
        user_account::table
            .find(id)
            .filter(user_account::municipality_id.eq(municipality_id)),
    )
    .set((
        user_account::password_hash.eq(hash),
        user_account::updated_at.eq(now()),
    ))
    .execute(conn)?;
    one_row(n)
}

/// The ids of a provider's active care workers.
pub fn staff_of(
    conn: &mut DbConn,
    provider_id: &str,
) -> Result<std::collections::HashSet<UserId>, StoreError> {
    Ok(user_account::table
        .filter(user_account::provider_id.eq(provider_id))
        .filter(user_account::role.eq(crate::model::Role::Staff))
        .filter(user_account::active.eq(true))
        .select(user_account::id)
        .load::<UserId>(conn)?
        .into_iter()
        .collect())
}

/// Every active user with `role`, as (municipality, id): the caseworkers
/// whose alert topics a municipality's case system may read.
pub fn ids_with_role(
    conn: &mut DbConn,
    role: crate::model::Role,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(user_account::table
        .filter(user_account::role.eq(role))
        .filter(user_account::active.eq(true))
        .order((user_account::municipality_id, user_account::id))
        .select((user_account::municipality_id, user_account::id))
        .load(conn)?)
}
