//! Notices to a provider about its devices: a lock or reader reporting a
//! low battery. One open notice per device and kind, resolved when the
//! cause goes away (the battery was changed).

use super::schema::provider_notice;
use super::{DbConn, StoreError, new_id};
use crate::model::{DeviceId, ProviderId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A notice.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = provider_notice)]
pub struct ProviderNotice {
    pub id: String,
    pub provider_id: ProviderId,
    pub device_id: Option<DeviceId>,
    /// `low_battery`.
    pub kind: String,
    /// In Swedish, for the provider's staff.
    pub message: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
}

fn open_one(
    conn: &mut DbConn,
    device_id: &str,
    kind: &str,
) -> Result<Option<ProviderNotice>, StoreError> {
    Ok(provider_notice::table
        .filter(provider_notice::device_id.eq(device_id))
        .filter(provider_notice::kind.eq(kind))
        .filter(provider_notice::resolved_at.is_null())
        .select(ProviderNotice::as_select())
        .first(conn)
        .optional()?)
}

/// Raises the notice unless one is open for the device; returns whether it
/// was raised.
pub fn raise(
    conn: &mut DbConn,
    provider_id: &str,
    device_id: &str,
    kind: &str,
    message: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    if open_one(conn, device_id, kind)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(provider_notice::table)
        .values((
            provider_notice::id.eq(new_id()),
            provider_notice::provider_id.eq(provider_id),
            provider_notice::device_id.eq(Some(device_id)),
            provider_notice::kind.eq(kind),
            provider_notice::message.eq(message),
            provider_notice::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Resolves the device's open notice of this kind, if any.
pub fn resolve(
    conn: &mut DbConn,
    device_id: &str,
    kind: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(
        provider_notice::table
            .filter(provider_notice::device_id.eq(device_id))
            .filter(provider_notice::kind.eq(kind))
            .filter(provider_notice::resolved_at.is_null()),
    )
    .set(provider_notice::resolved_at.eq(Some(at)))
    .execute(conn)?;
    Ok(())
}

/// The provider's notices, open ones first, newest first.
pub fn list(
    conn: &mut DbConn,
    provider_id: &str,
    include_resolved: bool,
) -> Result<Vec<ProviderNotice>, StoreError> {
    let mut q = provider_notice::table
        .filter(provider_notice::provider_id.eq(provider_id))
        .order((
            provider_notice::resolved_at.is_not_null(),
            provider_notice::created_at.desc(),
        ))
        .select(ProviderNotice::as_select())
        .into_boxed();
    if !include_resolved {
        q = q.filter(provider_notice::resolved_at.is_null());
    }
    Ok(q.load(conn)?)
}
