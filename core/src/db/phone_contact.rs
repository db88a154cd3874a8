//! When each care worker's phone last reached hemtid: any signed-in
//! request of the staff role, written at most once a minute by the API.
//! The planned visits' offline caveat reads it (issue 25); nothing
//! reports it per care worker.

use super::schema::phone_contact;
use super::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use std::collections::HashMap;

/// Records that `staff_id`'s phone reached hemtid at `at` (UTC).
pub fn touch(c: &mut DbConn, staff_id: &str, at: NaiveDateTime) -> Result<(), StoreError> {
    super::execute_on(
        c,
        diesel::insert_into(phone_contact::table)
            .values((
                phone_contact::staff_id.eq(staff_id),
                phone_contact::last_seen_at.eq(at),
            ))
            .on_conflict(phone_contact::staff_id)
            .do_update()
            .set(phone_contact::last_seen_at.eq(excluded(phone_contact::last_seen_at))),
    )?;
    Ok(())
}

/// The last contact of each of `staff` that has one.
pub fn last_seen(
    c: &mut DbConn,
    staff: &[&str],
) -> Result<HashMap<String, NaiveDateTime>, StoreError> {
    let mut out = HashMap::new();
    for chunk in staff.chunks(5000) {
        out.extend(
            phone_contact::table
                .filter(phone_contact::staff_id.eq_any(chunk))
                .select((phone_contact::staff_id, phone_contact::last_seen_at))
                .load::<(String, NaiveDateTime)>(c)?,
        );
    }
    Ok(out)
}
