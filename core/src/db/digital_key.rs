//! Digital keys handed to staff phones, the public key locks verify them
//! with, and what each lock must be told (its retained configuration).

use super::device::Device;
use super::schema::{device, digital_key, lock_signing_key};
use super::{DbConn, StoreError};
use crate::model::{DeviceId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// An issued key (the signed token itself is not kept).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = digital_key)]
pub struct DigitalKey {
    /// The key's id (`jti`); the lock reports it as `key_id`.
    pub id: String,
    /// The signing key's id.
    pub kid: String,
    pub device_id: DeviceId,
    pub staff_id: UserId,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Makes the public key known to every gateway (once per key).
pub fn register_signing_key(
    conn: &mut DbConn,
    kid: &str,
    public_key: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let known: i64 = lock_signing_key::table.find(kid).count().get_result(conn)?;
    if known == 0 {
        diesel::insert_into(lock_signing_key::table)
            .values((
                lock_signing_key::kid.eq(kid),
                lock_signing_key::public_key.eq(public_key),
                lock_signing_key::created_at.eq(at),
            ))
            .execute(conn)?;
        // Every lock must learn the new key.
        diesel::update(device::table.filter(device::kind.eq(crate::model::DeviceKind::DoorLock)))
            .set(device::config_dirty.eq(true))
            .execute(conn)?;
    }
    Ok(())
}

/// The newest signing key: (kid, public key).
pub fn current_signing_key(conn: &mut DbConn) -> Result<Option<(String, String)>, StoreError> {
    Ok(lock_signing_key::table
        .order(lock_signing_key::created_at.desc())
        .select((lock_signing_key::kid, lock_signing_key::public_key))
        .first(conn)
        .optional()?)
}

pub fn issue(conn: &mut DbConn, key: &DigitalKey) -> Result<(), StoreError> {
    diesel::insert_into(digital_key::table)
        .values(key)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<DigitalKey>, StoreError> {
    Ok(digital_key::table
        .find(id)
        .select(DigitalKey::as_select())
        .first(conn)
        .optional()?)
}

/// Revokes every key of a staff member not yet expired; the locks they
/// open must be told. Returns how many were revoked.
pub fn revoke_staff(
    conn: &mut DbConn,
    staff_id: &str,
    at: NaiveDateTime,
) -> Result<usize, StoreError> {
    let locks: Vec<String> = digital_key::table
        .filter(digital_key::staff_id.eq(staff_id))
        .filter(digital_key::revoked_at.is_null())
        .filter(digital_key::expires_at.gt(at))
        .select(digital_key::device_id)
        .distinct()
        .load(conn)?;
    let n = diesel::update(
        digital_key::table
            .filter(digital_key::staff_id.eq(staff_id))
            .filter(digital_key::revoked_at.is_null())
            .filter(digital_key::expires_at.gt(at)),
    )
    .set(digital_key::revoked_at.eq(Some(at)))
    .execute(conn)?;
    diesel::update(device::table.filter(device::id.eq_any(&locks)))
        .set(device::config_dirty.eq(true))
        .execute(conn)?;
    Ok(n)
}

/// A lock's revocation list: its revoked keys that have not expired yet.
pub fn revoked_for(
    conn: &mut DbConn,
    device_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<String>, StoreError> {
    Ok(digital_key::table
        .filter(digital_key::device_id.eq(device_id))
        .filter(digital_key::revoked_at.is_not_null())
        .filter(digital_key::expires_at.gt(now))
        .order(digital_key::id)
        .select(digital_key::id)
        .load(conn)?)
}

/// Active locks whose configuration must be published again.
pub fn dirty_locks(conn: &mut DbConn, limit: i64) -> Result<Vec<Device>, StoreError> {
    Ok(device::table
        .filter(device::config_dirty.eq(true))
        .filter(device::kind.eq(crate::model::DeviceKind::DoorLock))
        .filter(device::status.eq(crate::model::DeviceStatus::Active))
        .order(device::id)
        .limit(limit)
        .select(Device::as_select())
        .load(conn)?)
}

/// Takes a lock's changed configuration for publishing: clears the mark
/// first, so a change made while it is being published marks it again
/// and goes out on the next round (clearing it after publishing lost such
/// a change), and gives it its next version. `None` when another
/// publisher took it.
pub fn claim(conn: &mut DbConn, device_id: &str) -> Result<Option<i64>, StoreError> {
    let n = diesel::update(
        device::table
            .find(device_id)
            .filter(device::config_dirty.eq(true)),
    )
    .set((
        device::config_dirty.eq(false),
        device::config_version.eq(device::config_version + 1),
    ))
    .execute(conn)?;
    if n != 1 {
        return Ok(None);
    }
    Ok(Some(
        device::table
            .find(device_id)
            .select(device::config_version)
            .first(conn)?,
    ))
}

/// The configuration could not be published: try again next round.
pub fn mark_unpublished(conn: &mut DbConn, device_id: &str) -> Result<(), StoreError> {
    diesel::update(device::table.find(device_id))
        .set(device::config_dirty.eq(true))
        .execute(conn)?;
    Ok(())
}

/// After a start: the broker may have lost retained messages (the
/// embedded one keeps them in memory), so every lock is published again.
pub fn mark_all_locks_dirty(conn: &mut DbConn) -> Result<(), StoreError> {
    diesel::update(device::table.filter(device::kind.eq(crate::model::DeviceKind::DoorLock)))
        .set(device::config_dirty.eq(true))
        .execute(conn)?;
    Ok(())
}

/// The configuration to sign and publish for a lock as `version`, if a
/// signing key exists (see [`crate::auth::lock_keys::LockConfig`]).
pub fn lock_config(
    conn: &mut DbConn,
    device_id: &str,
    now: NaiveDateTime,
    version: i64,
) -> Result<Option<crate::auth::lock_keys::LockConfig>, StoreError> {
    let Some((kid, public_key)) = current_signing_key(conn)? else {
        return Ok(None);
    };
    Ok(Some(crate::auth::lock_keys::LockConfig {
        lock: device_id.to_string(),
        algorithm: "EdDSA".into(),
        kid,
        public_key,
        revoked: revoked_for(conn, device_id, now)?,
        version,
        iat: now.and_utc().timestamp(),
    }))
}
