//! Hash chains over the append-only logs (the access log and the change
//! history of visits, R14). Each record carries the hash of the one before
//! it; `log_head` holds the last link of each chain and its row lock makes
//! appends one at a time. Triggers refuse UPDATE and DELETE on the logs; a
//! row altered anyway (by someone who dropped the trigger) no longer
//! matches its hash, and `audit::verify_chains` names the first broken link.
//!
//! Retention removes old records ([`remove`]): each run of consecutive
//! records removed leaves a [`Gap`] with the hash before its first record
//! and the hash of its last, signed with hemtid's Ed25519 key (the one
//! that signs digital keys). The triggers let a record be deleted only
//! inside a recorded gap, and `audit::verify_chains` crosses a gap only when its
//! signature holds under a registered key and its hashes join the records
//! on either side: deleting records needs the private key, which lives in
//! the data folder, not in the database.

use super::schema::{access_log, access_subject, chain_gap, log_head, visit_change};
use super::{DbConn, StoreError};
use crate::auth::lock_keys::LockKeys;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// A timestamp as it is hashed: microseconds, which both backends keep.
pub fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// The hash of a record: the previous hash and every field, each
/// length-prefixed so that no two field lists hash alike.
pub fn link(prev: &str, fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in std::iter::once(prev).chain(fields.iter().copied()) {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes the next position in `chain`: its sequence number and the hash
/// of the record before. Call inside a transaction and [`advance`] in it.
pub fn next(c: &mut DbConn, chain: &str) -> Result<(i64, String), StoreError> {
    // The UPDATE takes the row lock first, so concurrent appends queue.
    let n = diesel::update(log_head::table.find(chain))
        .set(log_head::seq.eq(log_head::seq + 1))
        .execute(c)?;
    if n != 1 {
        return Err(StoreError::Encode(format!("no head for chain {chain}")));
    }
    let (seq, hash) = log_head::table
        .find(chain)
        .select((log_head::seq, log_head::hash))
        .first::<(i64, String)>(c)?;
    Ok((seq, hash))
}

/// Records the hash of the record just appended at `seq`.
pub fn advance(c: &mut DbConn, chain: &str, hash: &str) -> Result<(), StoreError> {
    diesel::update(log_head::table.find(chain))
        .set(log_head::hash.eq(hash))
        .execute(c)?;
    Ok(())
}

/// A run of consecutive records removed by retention.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chain_gap)]
pub struct Gap {
    pub chain: String,
    pub from_seq: i64,
    pub to_seq: i64,
    /// The hash the first removed record was linked to.
    pub prev_hash: String,
    /// The hash of the last removed record (the next record links to it).
    pub last_hash: String,
    pub removed_at: NaiveDateTime,
    /// Why: `retention`.
    pub reason: String,
    /// The signing key's id.
    pub kid: String,
    /// Ed25519 over [`Gap::message`], base64url.
    pub signature: String,
}

impl Gap {
    /// What is signed: every field but the signature, one per line.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "hemtid chain gap v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.chain,
            self.from_seq,
            self.to_seq,
            self.prev_hash,
            self.last_hash,
            stamp(self.removed_at),
            self.reason,
            self.kid
        )
        .into_bytes()
    }
}

/// The chains there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    AccessLog,
    VisitChange,
}

impl Chain {
    pub fn name(self) -> &'static str {
        match self {
            Chain::AccessLog => "access_log",
            Chain::VisitChange => "visit_change",
        }
    }
}

/// Removes the records at `seqs` from `chain` (the access log's `seq`, the
/// change history's `chain_seq`), recording and signing a [`Gap`] for each
/// run of consecutive ones first. Returns the records removed. Call inside
/// a transaction.
pub fn remove(
    c: &mut DbConn,
    chain: Chain,
    seqs: &[i64],
    reason: &str,
    at: NaiveDateTime,
    keys: &LockKeys,
) -> Result<usize, StoreError> {
    let mut seqs = seqs.to_vec();
    seqs.sort_unstable();
    seqs.dedup();
    let mut removed = 0;
    let mut i = 0;
    while i < seqs.len() {
        let mut j = i;
        while j + 1 < seqs.len() && seqs[j + 1] == seqs[j] + 1 {
            j += 1;
        }
        let (from, to) = (seqs[i], seqs[j]);
        let ends = |c: &mut DbConn, seq: i64| -> Result<(String, String), StoreError> {
            Ok(match chain {
                Chain::AccessLog => access_log::table
                    .find(seq)
                    .select((access_log::prev_hash, access_log::hash))
                    .first(c)?,
                Chain::VisitChange => visit_change::table
                    .filter(visit_change::chain_seq.eq(seq))
                    .select((visit_change::prev_hash, visit_change::hash))
                    .first(c)?,
            })
        };
        let (prev_hash, _) = ends(c, from)?;
        let (_, last_hash) = ends(c, to)?;
        let mut gap = Gap {
            chain: chain.name().into(),
            from_seq: from,
            to_seq: to,
            prev_hash,
            last_hash,
            // What both backends keep (PostgreSQL rounds to microseconds).
            removed_at: chrono::SubsecRound::trunc_subsecs(at, 6),
            reason: reason.into(),
            kid: keys.kid().into(),
            signature: String::new(),
        };
        gap.signature = keys.sign(&gap.message());
        diesel::insert_into(chain_gap::table)
            .values(&gap)
            .execute(c)?;
        removed += match chain {
            Chain::AccessLog => {
                diesel::delete(
                    access_subject::table.filter(access_subject::access_seq.between(from, to)),
                )
                .execute(c)?;
                diesel::delete(access_log::table.filter(access_log::seq.between(from, to)))
                    .execute(c)?
            }
            Chain::VisitChange => diesel::delete(
                visit_change::table.filter(visit_change::chain_seq.between(from, to)),
            )
            .execute(c)?,
        };
        i = j + 1;
    }
    Ok(removed)
}

/// Access-log fields in hash order.
pub fn access_fields(
    seq: i64,
    at: NaiveDateTime,
    user_id: &str,
    role: &str,
    client_id: &str,
    what: &str,
    subjects: &str,
) -> [String; 7] {
    [
        seq.to_string(),
        stamp(at),
        user_id.into(),
        role.into(),
        client_id.into(),
        what.into(),
        subjects.into(),
    ]
}

/// Visit-change fields in hash order.
#[allow(clippy::too_many_arguments)]
pub fn change_fields(
    seq: i64,
    id: &str,
    visit_id: &str,
    provider_id: &str,
    kind: &str,
    reason_code: Option<&str>,
    comment: &str,
    changed_by: &str,
    changed_at: NaiveDateTime,
    recorded_at: NaiveDateTime,
    before_json: &str,
    after_json: &str,
) -> Vec<String> {
    vec![
        seq.to_string(),
        id.into(),
        visit_id.into(),
        provider_id.into(),
        kind.into(),
        reason_code.unwrap_or("\u{0}").into(),
        comment.into(),
        changed_by.into(),
        stamp(changed_at),
        stamp(recorded_at),
        before_json.into(),
        after_json.into(),
    ]
}
