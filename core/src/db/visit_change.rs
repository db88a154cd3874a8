//! The change history of visits (R14): every approval, correction, void
//! and reopening is a row with who, when, why and the visit before and
//! after, appended to a hash chain (`db::chain`). Nothing is updated or
//! deleted, except by retention under a signed gap.

use super::schema::visit_change;
use super::visit::Visit;
use super::{DbConn, StoreError, new_id};
use crate::model::{ProviderId, VisitChangeKind};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

/// One change to a visit.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = visit_change)]
pub struct VisitChange {
    pub id: String,
    pub visit_id: crate::model::VisitId,
    pub provider_id: ProviderId,
    /// `approve`, `correct`, `void` or `reopen`.
    pub kind: VisitChangeKind,
    pub reason_code: Option<String>,
    pub comment: String,
    pub changed_by: String,
    #[serde(with = "super::utc")]
    pub changed_at: NaiveDateTime,
    #[serde(skip)]
    pub recorded_at: NaiveDateTime,
    /// The visit before, as JSON.
    pub before_json: String,
    /// The visit after, as JSON.
    pub after_json: String,
    /// Position in the hash chain of visit changes (R14).
    #[serde(skip)]
    pub chain_seq: Option<i64>,
    #[serde(skip)]
    pub prev_hash: String,
    #[serde(skip)]
    pub hash: String,
}

impl VisitChange {
    /// The fields the chain hashes, at position `seq`.
    pub fn fields(&self, seq: i64) -> Vec<String> {
        super::chain::change_fields(
            seq,
            &self.id,
            &self.visit_id,
            &self.provider_id,
            self.kind.as_str(),
            self.reason_code.as_deref(),
            &self.comment,
            &self.changed_by,
            self.changed_at,
            self.recorded_at,
            &self.before_json,
            &self.after_json,
        )
    }
}

/// Who changes what, when and why.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub by: &'a str,
    pub at: NaiveDateTime,
    pub reason_code: Option<&'a str>,
    pub comment: &'a str,
}

fn snapshot(v: &Visit) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Encode(e.to_string()))
}

/// Appends one change of a visit to the chained history (R14).
pub fn record(
    c: &mut DbConn,
    kind: VisitChangeKind,
    before: &Visit,
    after: &Visit,
    ch: Change<'_>,
) -> Result<(), StoreError> {
    let mut row = VisitChange {
        id: new_id(),
        visit_id: after.id.clone(),
        provider_id: after.fields.provider_id.to_string().into(),
        kind,
        reason_code: ch.reason_code.map(str::to_string),
        comment: ch.comment.to_string(),
        changed_by: ch.by.to_string(),
        changed_at: chrono::SubsecRound::trunc_subsecs(ch.at, 6),
        recorded_at: super::now(),
        before_json: snapshot(before)?,
        after_json: snapshot(after)?,
        chain_seq: None,
        prev_hash: String::new(),
        hash: String::new(),
    };
    super::transaction(c, |c| {
        let (seq, prev) = super::chain::next(c, "visit_change")?;
        let f = row.fields(seq);
        let f: Vec<&str> = f.iter().map(String::as_str).collect();
        row.hash = super::chain::link(&prev, &f);
        row.prev_hash = prev;
        row.chain_seq = Some(seq);
        diesel::insert_into(visit_change::table)
            .values(&row)
            .execute(c)?;
        super::chain::advance(c, "visit_change", &row.hash)
    })
}

/// A visit's changes, oldest first.
pub fn history(c: &mut DbConn, visit_id: &str) -> Result<Vec<VisitChange>, StoreError> {
    Ok(visit_change::table
        .filter(visit_change::visit_id.eq(visit_id))
        .order((
            visit_change::changed_at,
            visit_change::recorded_at,
            visit_change::id,
        ))
        .select(VisitChange::as_select())
        .load(c)?)
}
