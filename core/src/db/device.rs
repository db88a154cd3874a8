//! The device registry: door locks, NFC readers and tags in clients'
//! homes, which provider they belong to and which home they are in.

use super::schema::device;
use super::{DbConn, StoreError, now, one_row};
use crate::model::{ClientId, DeviceId, DeviceKind, DeviceStatus, MunicipalityId, ProviderId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Below this a device's battery is reported as low.
pub const LOW_BATTERY_PCT: i32 = 20;

/// A registered device (the registry shows it as
/// [`crate::contract::DeviceBody`]).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = device)]
pub struct Device {
    /// The id in its topic, `hemtid/v1/devices/{id}/events`.
    pub id: DeviceId,
    pub municipality_id: MunicipalityId,
    pub provider_id: ProviderId,
    pub kind: DeviceKind,
    /// The client whose home it is in (for a household, one of them).
    pub client_id: Option<ClientId>,
    pub secret_hash: String,
    /// Never shown; whether payloads must be signed is.
    pub hmac_key: Option<String>,
    pub status: DeviceStatus,
    pub last_seen_at: Option<NaiveDateTime>,
    pub firmware: Option<String>,
    pub battery_pct: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Device {
    pub fn battery_low(&self) -> bool {
        self.battery_pct.is_some_and(|b| b < LOW_BATTERY_PCT)
    }

    pub fn signs_payloads(&self) -> bool {
        self.hmac_key.is_some()
    }
}

/// A device to register.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = device)]
pub struct NewDevice {
    pub id: String,
    pub municipality_id: MunicipalityId,
    pub provider_id: ProviderId,
    pub kind: DeviceKind,
    pub client_id: Option<ClientId>,
    pub secret_hash: String,
    pub hmac_key: Option<String>,
    pub status: DeviceStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn create(conn: &mut DbConn, d: &NewDevice) -> Result<Device, StoreError> {
    diesel::insert_into(device::table).values(d).execute(conn)?;
    get_any(conn, &d.id)
}

/// Any device, for the gateway (the topic names it).
pub fn get_any(conn: &mut DbConn, id: &str) -> Result<Device, StoreError> {
    Ok(device::table
        .find(id)
        .select(Device::as_select())
        .first(conn)?)
}

/// The device, if it belongs to `provider_id`.
pub fn get(conn: &mut DbConn, provider_id: &str, id: &str) -> Result<Device, StoreError> {
    Ok(device::table
        .find(id)
        .filter(device::provider_id.eq(provider_id))
        .select(Device::as_select())
        .first(conn)?)
}

pub fn list(conn: &mut DbConn, provider_id: &str) -> Result<Vec<Device>, StoreError> {
    Ok(device::table
        .filter(device::provider_id.eq(provider_id))
        .order(device::id)
        .select(Device::as_select())
        .load(conn)?)
}

/// Binds the device to a client's home (or unbinds it with `None`).
pub fn bind(
    conn: &mut DbConn,
    provider_id: &str,
    id: &str,
    client_id: Option<&str>,
) -> Result<Device, StoreError> {
    let n = diesel::update(
        device::table
            .find(id)
            .filter(device::provider_id.eq(provider_id)),
    )
    .set((
        device::client_id.eq(client_id),
        device::updated_at.eq(now()),
    ))
    .execute(conn)?;
    one_row(n)?;
    get(conn, provider_id, id)
}

/// Retires a device: its messages are dead-lettered from now on.
pub fn retire(conn: &mut DbConn, provider_id: &str, id: &str) -> Result<Device, StoreError> {
    let n = diesel::update(
        device::table
            .find(id)
            .filter(device::provider_id.eq(provider_id)),
    )
    .set((
        device::status.eq(DeviceStatus::Retired),
        device::updated_at.eq(now()),
    ))
    .execute(conn)?;
    one_row(n)?;
    get(conn, provider_id, id)
}

/// Writes the device's last contact, firmware and battery as `d` has them
/// (the gateway's batches gather them, see `ingest::Batch`).
pub fn save_contact(conn: &mut DbConn, d: &Device) -> Result<(), StoreError> {
    diesel::update(device::table.find(&d.id))
        .set((
            device::last_seen_at.eq(d.last_seen_at),
            device::firmware.eq(d.firmware.as_deref()),
            device::battery_pct.eq(d.battery_pct),
        ))
        .execute(conn)?;
    Ok(())
}

/// [`save_contact`] for many devices: on PostgreSQL two statements (each
/// device was a round trip of its own, one per device of a gateway's
/// batch); on SQLite, which has no round trips, one each.
pub fn save_contacts(conn: &mut DbConn, devices: &[Device]) -> Result<(), StoreError> {
    use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};
    let DbConn::Pg(pg) = conn else {
        for d in devices {
            save_contact(conn, d)?;
        }
        return Ok(());
    };
    for chunk in devices.chunks(1000) {
        let ids: Vec<&str> = chunk.iter().map(|d| d.id.as_str()).collect();
        let seen: Vec<Option<chrono::NaiveDateTime>> =
            chunk.iter().map(|d| d.last_seen_at).collect();
        let firmware: Vec<Option<&str>> = chunk.iter().map(|d| d.firmware.as_deref()).collect();
        let battery: Vec<Option<i32>> = chunk.iter().map(|d| d.battery_pct).collect();
        // The rows locked in one order (by id) first: the UPDATE's join
        // takes them in any order, and two gateway lanes writing the same
        // locks' contacts can deadlock. The ingest benchmark saw one
        // deadlock after this became one statement (PostgreSQL broke it
        // and the lane tried again); of a batch's writes this was the one
        // without a fixed order.
        diesel::sql_query("SELECT id FROM device WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind::<Array<Text>, _>(&ids)
            .execute(pg)?;
        diesel::sql_query(
            "UPDATE device SET last_seen_at = v.seen, firmware = v.firmware, battery_pct = v.battery \
             FROM unnest($1::text[], $2::timestamp[], $3::text[], $4::int[]) AS v(id, seen, firmware, battery) \
             WHERE device.id = v.id",
        )
        .bind::<Array<Text>, _>(&ids)
        .bind::<Array<Nullable<Timestamp>>, _>(&seen)
        .bind::<Array<Nullable<Text>>, _>(&firmware)
        .bind::<Array<Nullable<Integer>>, _>(&battery)
        .execute(pg)?;
    }
    Ok(())
}

/// Whether `secret` is the device's broker password (SHA-256, random secrets).
pub fn check_secret(conn: &mut DbConn, id: &str, secret: &str) -> Result<bool, StoreError> {
    let hash = crate::auth::hash_token(secret);
    Ok(device::table
        .find(id)
        .filter(device::status.eq(DeviceStatus::Active))
        .filter(device::secret_hash.eq(hash))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Each listed device's status and secret hash (for the broker, which ends
/// connections whose credential no longer holds).
pub fn credentials_of(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<Vec<(String, DeviceStatus, String)>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            device::table
                .filter(device::id.eq_any(chunk))
                .select((device::id, device::status, device::secret_hash))
                .load::<(String, DeviceStatus, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Gives the device a new broker password (its hashes here: SHA-256 for
/// the embedded broker, `broker_hash` for external brokers' password
/// files); the old one stops working and its connection is ended.
pub fn rotate_secret(
    conn: &mut DbConn,
    provider_id: &str,
    id: &str,
    secret_hash: &str,
    broker_hash: Option<&str>,
) -> Result<Device, StoreError> {
    let n = diesel::update(
        device::table
            .find(id)
            .filter(device::provider_id.eq(provider_id))
            .filter(device::status.eq(DeviceStatus::Active)),
    )
    .set((
        device::secret_hash.eq(secret_hash),
        device::broker_hash.eq(broker_hash),
        device::updated_at.eq(now()),
    ))
    .execute(conn)?;
    one_row(n)?;
    get(conn, provider_id, id)
}

/// Sets the hash an external broker's password file gets for the device
/// (made with the secret, when it is made).
pub fn set_broker_hash(conn: &mut DbConn, id: &str, broker_hash: &str) -> Result<(), StoreError> {
    let n = diesel::update(device::table.find(id))
        .set(device::broker_hash.eq(Some(broker_hash)))
        .execute(conn)?;
    one_row(n)
}

/// Every active device, by id, with its broker password hash if it has one
/// (for `hemtid mqtt-acl`).
pub fn active_for_broker(conn: &mut DbConn) -> Result<Vec<(String, Option<String>)>, StoreError> {
    Ok(device::table
        .filter(device::status.eq(DeviceStatus::Active))
        .order(device::id)
        .select((device::id, device::broker_hash))
        .load(conn)?)
}
