//! Staff credentials the devices report: key fobs, staff NFC tags and phone
//! keys, each mapped to one staff account.

use super::schema::staff_credential;
use super::{DbConn, StoreError, now, one_row};
use crate::model::{MunicipalityId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A credential and its staff member.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_credential)]
pub struct StaffCredential {
    pub municipality_id: MunicipalityId,
    /// As the device reports it, e.g. a fob's serial.
    pub credential: String,
    pub staff_id: UserId,
    /// `key_fob`, `staff_tag` or `phone_key`.
    pub kind: crate::model::CredentialKind,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn create(conn: &mut DbConn, c: &StaffCredential) -> Result<StaffCredential, StoreError> {
    diesel::insert_into(staff_credential::table)
        .values(c)
        .execute(conn)?;
    get(conn, &c.municipality_id, &c.credential)
}

pub fn get(
    conn: &mut DbConn,
    municipality_id: &str,
    credential: &str,
) -> Result<StaffCredential, StoreError> {
    Ok(staff_credential::table
        .find((municipality_id, credential))
        .select(StaffCredential::as_select())
        .first(conn)?)
}

/// The active credential's staff member, if any.
pub fn staff_of(
    conn: &mut DbConn,
    municipality_id: &str,
    credential: &str,
) -> Result<Option<String>, StoreError> {
    Ok(staff_credential::table
        .find((municipality_id, credential))
        .filter(staff_credential::active.eq(true))
        .select(staff_credential::staff_id)
        .first(conn)
        .optional()?)
}

/// Credentials of the given staff members.
pub fn for_staff(
    conn: &mut DbConn,
    staff_ids: &[String],
) -> Result<Vec<StaffCredential>, StoreError> {
    Ok(staff_credential::table
        .filter(staff_credential::staff_id.eq_any(staff_ids))
        .order(staff_credential::credential)
        .select(StaffCredential::as_select())
        .load(conn)?)
}

pub fn revoke(
    conn: &mut DbConn,
    municipality_id: &str,
    credential: &str,
) -> Result<(), StoreError> {
    let n = diesel::update(staff_credential::table.find((municipality_id, credential)))
        .set((
            staff_credential::active.eq(false),
            staff_credential::revoked_at.eq(Some(now())),
        ))
        .execute(conn)?;
    one_row(n)
}
