//! The access log (R14): every read of a client's personal data (care
//! plan, journal, visits, personnummer) with who, role, client, what and
//! when. Append-only and hash-chained (see [`super::chain`]). The users
//! whose registrations were read are kept beside it, so a care worker can
//! see who read what they wrote.

use super::chain;
use super::schema::{access_log, access_subject};
use super::{DbConn, StoreError};
use crate::model::{ClientId, UserId};
use chrono::{NaiveDateTime, SubsecRound};
use diesel::prelude::*;

/// One read.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = access_log)]
pub struct AccessRecord {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub user_id: UserId,
    pub role: String,
    pub client_id: ClientId,
    /// `client`, `care_plan`, `journal`, `visits` or `material_request`.
    pub what: String,
    /// The users whose registrations were read, comma-separated.
    pub subjects: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A read about to be logged.
#[derive(Debug, Clone)]
pub struct Read<'a> {
    pub user_id: &'a str,
    pub role: &'a str,
    pub client_id: &'a str,
    pub what: &'a str,
    /// Authors of what was read (staff who wrote the notes or visits).
    pub subjects: Vec<String>,
}

/// Appends one read to the chained log.
pub fn record(c: &mut DbConn, r: &Read<'_>, at: NaiveDateTime) -> Result<i64, StoreError> {
    let at = at.trunc_subsecs(6);
    let mut subjects = r.subjects.clone();
    subjects.sort();
    subjects.dedup();
    let joined = subjects.join(",");
    super::transaction(c, |c| {
        let (seq, prev) = chain::next(c, "access_log")?;
        let f = chain::access_fields(seq, at, r.user_id, r.role, r.client_id, r.what, &joined);
        let f: Vec<&str> = f.iter().map(String::as_str).collect();
        let hash = chain::link(&prev, &f);
        diesel::insert_into(access_log::table)
            .values((
                access_log::seq.eq(seq),
                access_log::at.eq(at),
                access_log::user_id.eq(r.user_id),
                access_log::role.eq(r.role),
                access_log::client_id.eq(r.client_id),
                access_log::what.eq(r.what),
                access_log::subjects.eq(&joined),
                access_log::prev_hash.eq(&prev),
                access_log::hash.eq(&hash),
            ))
            .execute(c)?;
        for s in &subjects {
            diesel::insert_into(access_subject::table)
                .values((
                    access_subject::access_seq.eq(seq),
                    access_subject::user_id.eq(s),
                ))
                .execute(c)?;
        }
        chain::advance(c, "access_log", &hash)?;
        Ok(seq)
    })
}

/// Which records to list.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// Reads of one client.
    Client(&'a str),
    /// Reads by one user.
    Reader(&'a str),
    /// Reads of what one user registered.
    Subject(&'a str),
}

/// Records matching `f`, newest first, at most `limit`.
pub fn list(c: &mut DbConn, f: Filter<'_>, limit: i64) -> Result<Vec<AccessRecord>, StoreError> {
    let q = access_log::table
        .order(access_log::seq.desc())
        .limit(limit)
        .select(AccessRecord::as_select());
    Ok(match f {
        Filter::Client(id) => q.filter(access_log::client_id.eq(id)).load(c)?,
        Filter::Reader(id) => q.filter(access_log::user_id.eq(id)).load(c)?,
        Filter::Subject(id) => q
            .filter(
                access_log::seq.eq_any(
                    access_subject::table
                        .filter(access_subject::user_id.eq(id))
                        .select(access_subject::access_seq),
                ),
            )
            .load(c)?,
    })
}
