//! The audit of the hash-chained logs (R14): each chain walked from its
//! first record to its head (`db::chain` appends and removes records).
//! `hemtid verify-logs` runs it.

use crate::auth::lock_keys::LockKeys;
use crate::db::chain::{Gap, access_fields, link};
use crate::db::schema::{access_log, chain_gap, lock_signing_key, log_head, visit_change};
use crate::db::visit_change::VisitChange;
use crate::db::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

/// What [`verify_chains`] found for one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub chain: String,
    /// Records checked.
    pub records: i64,
    /// Records written before the chain existed (not linked).
    pub unlinked: i64,
    /// Records removed by retention, crossed through signed gaps.
    pub removed: i64,
    /// The signed gaps crossed.
    pub gaps: i64,
    /// The ids of the keys the crossed gaps were signed with.
    pub gap_keys: Vec<String>,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Where and why a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: i64,
    /// `altered`, `missing`, `relinked`, `head_mismatch`, or
    /// `unsigned_gap` (a gap whose signature does not hold).
    pub reason: String,
}

const PAGE: i64 = 5_000;

struct Walk {
    expect_seq: i64,
    prev: String,
    records: i64,
    broken: Option<BrokenLink>,
    /// The chain's gaps by first record.
    gaps: std::collections::BTreeMap<i64, Gap>,
    /// Registered public keys by id.
    keys: std::collections::HashMap<String, String>,
    removed: i64,
    crossed: i64,
    kids: std::collections::BTreeSet<String>,
}

impl Walk {
    fn new(c: &mut DbConn, chain: &str) -> Result<Self, StoreError> {
        let gaps = chain_gap::table
            .filter(chain_gap::chain.eq(chain))
            .select(Gap::as_select())
            .load::<Gap>(c)?
            .into_iter()
            .map(|g| (g.from_seq, g))
            .collect();
        let keys = lock_signing_key::table
            .select((lock_signing_key::kid, lock_signing_key::public_key))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect();
        Ok(Walk {
            expect_seq: 1,
            prev: String::new(),
            records: 0,
            broken: None,
            gaps,
            keys,
            removed: 0,
            crossed: 0,
            kids: std::collections::BTreeSet::new(),
        })
    }

    /// Crosses the signed gaps that start where the next record is due,
    /// up to (not past) `until`; false if one does not hold.
    fn cross(&mut self, until: i64) -> bool {
        while self.expect_seq < until {
            let Some(g) = self.gaps.get(&self.expect_seq) else {
                return true;
            };
            let signed = self
                .keys
                .get(&g.kid)
                .is_some_and(|k| LockKeys::signature_valid(k, &g.message(), &g.signature));
            if !signed {
                self.broken = Some(BrokenLink {
                    seq: g.from_seq,
                    reason: "unsigned_gap".into(),
                });
                return false;
            }
            if g.prev_hash != self.prev || g.to_seq < g.from_seq || g.to_seq >= until {
                self.broken = Some(BrokenLink {
                    seq: g.from_seq,
                    reason: "relinked".into(),
                });
                return false;
            }
            self.removed += g.to_seq - g.from_seq + 1;
            self.crossed += 1;
            self.kids.insert(g.kid.clone());
            self.prev = g.last_hash.clone();
            self.expect_seq = g.to_seq + 1;
        }
        true
    }

    /// Checks one record; false once the chain is broken.
    fn step(&mut self, seq: i64, prev_hash: &str, hash: &str, fields: &[&str]) -> bool {
        if !self.cross(seq) {
            return false;
        }
        let reason = if seq != self.expect_seq {
            Some("missing")
        } else if prev_hash != self.prev {
            Some("relinked")
        } else if link(prev_hash, fields) != hash {
            Some("altered")
        } else {
            None
        };
        if let Some(r) = reason {
            self.broken = Some(BrokenLink {
                seq: if r == "missing" { self.expect_seq } else { seq },
                reason: r.into(),
            });
            return false;
        }
        self.records += 1;
        self.expect_seq = seq + 1;
        self.prev = hash.to_string();
        true
    }

    fn finish(
        mut self,
        c: &mut DbConn,
        chain: &str,
        unlinked: i64,
    ) -> Result<ChainReport, StoreError> {
        if self.broken.is_none() {
            let (seq, hash) = log_head::table
                .find(chain)
                .select((log_head::seq, log_head::hash))
                .first::<(i64, String)>(c)?;
            // Records removed at the end of the chain.
            if self.cross(seq + 1) && (seq != self.expect_seq - 1 || hash != self.prev) {
                self.broken = Some(BrokenLink {
                    seq: self.expect_seq,
                    reason: "head_mismatch".into(),
                });
            }
        }
        Ok(ChainReport {
            chain: chain.into(),
            records: self.records,
            unlinked,
            removed: self.removed,
            gaps: self.crossed,
            gap_keys: self.kids.into_iter().collect(),
            broken: self.broken,
        })
    }
}

type AccessRow = (
    i64,
    NaiveDateTime,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn verify_access_log(c: &mut DbConn) -> Result<ChainReport, StoreError> {
    let mut w = Walk::new(c, "access_log")?;
    let mut after = 0i64;
    'pages: loop {
        let rows: Vec<AccessRow> = access_log::table
            .filter(access_log::seq.gt(after))
            .order(access_log::seq)
            .limit(PAGE)
            .select((
                access_log::seq,
                access_log::at,
                access_log::user_id,
                access_log::role,
                access_log::client_id,
                access_log::what,
                access_log::subjects,
                access_log::prev_hash,
                access_log::hash,
            ))
            .load(c)?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        for (seq, at, user, role, client, what, subjects, prev, hash) in &rows {
            let f = access_fields(*seq, *at, user, role, client, what, subjects);
            let f: Vec<&str> = f.iter().map(String::as_str).collect();
            if !w.step(*seq, prev, hash, &f) {
                break 'pages;
            }
        }
    }
    w.finish(c, "access_log", 0)
}

fn verify_visit_change(c: &mut DbConn) -> Result<ChainReport, StoreError> {
    let unlinked = visit_change::table
        .filter(visit_change::chain_seq.is_null())
        .count()
        .get_result::<i64>(c)?;
    let mut w = Walk::new(c, "visit_change")?;
    let mut after = 0i64;
    'pages: loop {
        let rows: Vec<VisitChange> = visit_change::table
            .filter(visit_change::chain_seq.gt(after))
            .order(visit_change::chain_seq)
            .limit(PAGE)
            .select(VisitChange::as_select())
            .load(c)?;
        let Some(last) = rows.last() else { break };
        after = last.chain_seq.unwrap_or(after);
        for r in &rows {
            let seq = r.chain_seq.unwrap_or(0);
            let f = r.fields(seq);
            let f: Vec<&str> = f.iter().map(String::as_str).collect();
            if !w.step(seq, &r.prev_hash, &r.hash, &f) {
                break 'pages;
            }
        }
    }
    w.finish(c, "visit_change", unlinked)
}

/// Checks every chain from its first record to its head.
pub fn verify_chains(c: &mut DbConn) -> Result<Vec<ChainReport>, StoreError> {
    Ok(vec![verify_access_log(c)?, verify_visit_change(c)?])
}
