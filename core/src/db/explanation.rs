//! The provider's explanation of a client's month outside the band, and
//! the caseworker's review of it (R3): from the municipality's review day
//! of the next month the caseworker approves or rejects it. An approved
//! explanation stops the three-month count (R4).

use super::schema::{explanation, explanation_history};
use super::{DbConn, StoreError, new_id};
use crate::domain::YearMonth;
use crate::model::{ClientId, ExplanationState, ProviderId, UserId};
use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;

/// Cause codes.
pub const CAUSES: &[&str] = &[
    "declined_visits",
    "absence",
    "temporarily_changed_needs",
    "permanently_changed_needs",
    "other",
];

/// An explanation as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = explanation)]
pub struct Explanation {
    pub id: String,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    /// `YYYY-MM`.
    pub month: String,
    /// `declined_visits`, `absence`, `temporarily_changed_needs`,
    /// `permanently_changed_needs` or `other`.
    pub cause: String,
    pub text: String,
    /// `submitted`, `approved` or `rejected`.
    pub state: ExplanationState,
    pub submitted_by: String,
    pub submitted_at: NaiveDateTime,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_note: String,
}

/// One step in an explanation's life.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = explanation_history)]
pub struct ExplanationChange {
    pub seq: i64,
    pub explanation_id: String,
    pub at: NaiveDateTime,
    pub by_user_id: UserId,
    /// `submitted`, `approved` or `rejected`.
    pub action: ExplanationState,
    pub cause: String,
    pub text: String,
    pub note: String,
}

/// Why an explanation cannot be reviewed.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("the month can be reviewed from {0}")]
    TooEarly(chrono::NaiveDate),
    #[error("only a submitted explanation can be reviewed")]
    NotSubmitted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ReviewError {
    fn from(e: diesel::result::Error) -> Self {
        ReviewError::Store(e.into())
    }
}

/// The provider submits (or, after a rejection or to change it, submits
/// again) its explanation of a client's month.
#[allow(clippy::too_many_arguments)]
pub fn submit(
    c: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    month: YearMonth,
    cause: &str,
    text: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<Explanation, StoreError> {
    let month = month.to_string();
    super::transaction(c, |c| {
        let existing: Option<Explanation> = explanation::table
            .filter(explanation::client_id.eq(client_id))
            .filter(explanation::provider_id.eq(provider_id))
            .filter(explanation::month.eq(&month))
            .select(Explanation::as_select())
            .first(c)
            .optional()?;
        let id = match existing {
            Some(e) => {
                diesel::update(explanation::table.find(&e.id))
                    .set((
                        explanation::cause.eq(cause),
                        explanation::text.eq(text),
                        explanation::state.eq(ExplanationState::Submitted),
                        explanation::submitted_by.eq(by),
                        explanation::submitted_at.eq(at),
                        explanation::reviewed_by.eq(None::<String>),
                        explanation::reviewed_at.eq(None::<NaiveDateTime>),
                        explanation::review_note.eq(""),
                    ))
                    .execute(c)?;
                e.id
            }
            None => {
                let id = new_id();
                diesel::insert_into(explanation::table)
                    .values((
                        explanation::id.eq(&id),
                        explanation::client_id.eq(client_id),
                        explanation::provider_id.eq(provider_id),
                        explanation::month.eq(&month),
                        explanation::cause.eq(cause),
                        explanation::text.eq(text),
                        explanation::state.eq(ExplanationState::Submitted),
                        explanation::submitted_by.eq(by),
                        explanation::submitted_at.eq(at),
                        explanation::review_note.eq(""),
                    ))
                    .execute(c)?;
                id
            }
        };
        log(c, &id, at, by, ExplanationState::Submitted, cause, text, "")?;
        super::figure::mark_dirty(c, [(client_id, month.as_str())].into_iter())?;
        get(c, &id)
    })
}

/// A caseworker's review.
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    pub approve: bool,
    pub note: &'a str,
    pub by: &'a str,
    pub at: NaiveDateTime,
    /// The municipality's local date at `at`.
    pub local_today: chrono::NaiveDate,
    /// The municipality's first review day of a month (R3, default 5).
    pub review_from_day: u32,
}

/// The caseworker approves or rejects a submitted explanation, no earlier
/// than the review day of the month after (R3).
pub fn review(c: &mut DbConn, id: &str, r: Review<'_>) -> Result<Explanation, ReviewError> {
    let Review {
        approve,
        note,
        by,
        at,
        local_today,
        review_from_day,
    } = r;
    super::transaction_with(c, |c| {
        let e = get(c, id)?;
        if e.state != ExplanationState::Submitted {
            return Err(ReviewError::NotSubmitted);
        }
        let month: YearMonth = e
            .month
            .parse()
            .map_err(|_| StoreError::Encode("invalid stored month".into()))?;
        let first_review_day = month
            .next()
            .first_day()
            .with_day(review_from_day.clamp(1, 28))
            .unwrap_or(month.next().first_day());
        if local_today < first_review_day {
            return Err(ReviewError::TooEarly(first_review_day));
        }
        let state = if approve {
            ExplanationState::Approved
        } else {
            ExplanationState::Rejected
        };
        diesel::update(explanation::table.find(id))
            .set((
                explanation::state.eq(state),
                explanation::reviewed_by.eq(Some(by)),
                explanation::reviewed_at.eq(Some(at)),
                explanation::review_note.eq(note),
            ))
            .execute(c)?;
        log(c, id, at, by, state, &e.cause, &e.text, note)?;
        super::figure::mark_dirty(c, [(e.client_id.as_str(), e.month.as_str())].into_iter())?;
        Ok(get(c, id)?)
    })
}

#[allow(clippy::too_many_arguments)]
fn log(
    c: &mut DbConn,
    id: &str,
    at: NaiveDateTime,
    by: &str,
    action: ExplanationState,
    cause: &str,
    text: &str,
    note: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(explanation_history::table)
        .values((
            explanation_history::explanation_id.eq(id),
            explanation_history::at.eq(at),
            explanation_history::by_user_id.eq(by),
            explanation_history::action.eq(action),
            explanation_history::cause.eq(cause),
            explanation_history::text.eq(text),
            explanation_history::note.eq(note),
        ))
        .execute(c)?;
    Ok(())
}

pub fn get(c: &mut DbConn, id: &str) -> Result<Explanation, StoreError> {
    Ok(explanation::table
        .find(id)
        .select(Explanation::as_select())
        .first(c)?)
}

/// The explanations of a client's month (one per provider).
pub fn for_month(
    c: &mut DbConn,
    client_id: &str,
    month: YearMonth,
) -> Result<Vec<Explanation>, StoreError> {
    Ok(explanation::table
        .filter(explanation::client_id.eq(client_id))
        .filter(explanation::month.eq(month.to_string()))
        .order(explanation::submitted_at)
        .select(Explanation::as_select())
        .load(c)?)
}

/// Whether the caseworker approved an explanation of the client's month.
pub fn approved(c: &mut DbConn, client_id: &str, month: YearMonth) -> Result<bool, StoreError> {
    Ok(for_month(c, client_id, month)?
        .iter()
        .any(|e| e.state == ExplanationState::Approved))
}

/// An explanation's history, oldest first.
pub fn history(c: &mut DbConn, id: &str) -> Result<Vec<ExplanationChange>, StoreError> {
    Ok(explanation_history::table
        .filter(explanation_history::explanation_id.eq(id))
        .order(explanation_history::seq)
        .select(ExplanationChange::as_select())
        .load(c)?)
}
