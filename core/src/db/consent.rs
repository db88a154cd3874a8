//! Confidentiality between the authority and the providers (R14). A
//! caseworker reads a provider's plan and journal on a client without the
//! client's consent only when the municipality has marked the caseworker's
//! unit and the provider as one board (Göteborg's elderly-care caseworkers
//! and its municipal home care). Otherwise the latest recorded consent
//! decides: given lets them read; refused or withdrawn does not, and the
//! caseworker is told which.

use super::schema::{consent, shared_board};
use super::{DbConn, StoreError, new_id};
use crate::model::{ClientId, ConsentState};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

/// One recorded consent decision; the latest counts.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = consent)]
pub struct Consent {
    pub seq: i64,
    pub id: String,
    pub client_id: ClientId,
    /// `given`, `refused` or `withdrawn`.
    pub state: ConsentState,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

/// Records a consent decision.
pub fn record(
    c: &mut DbConn,
    client_id: &str,
    state: ConsentState,
    note: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<Consent, StoreError> {
    let id = new_id();
    diesel::insert_into(consent::table)
        .values((
            consent::id.eq(&id),
            consent::client_id.eq(client_id),
            consent::state.eq(state),
            consent::note.eq(note),
            consent::recorded_by.eq(by),
            consent::recorded_at.eq(at),
        ))
        .execute(c)?;
    Ok(consent::table
        .filter(consent::id.eq(&id))
        .select(Consent::as_select())
        .first(c)?)
}

/// Every decision on the client, oldest first.
pub fn history(c: &mut DbConn, client_id: &str) -> Result<Vec<Consent>, StoreError> {
    Ok(consent::table
        .filter(consent::client_id.eq(client_id))
        .order(consent::seq)
        .select(Consent::as_select())
        .load(c)?)
}

/// The decision in force.
pub fn current(c: &mut DbConn, client_id: &str) -> Result<Option<Consent>, StoreError> {
    Ok(consent::table
        .filter(consent::client_id.eq(client_id))
        .order(consent::seq.desc())
        .select(Consent::as_select())
        .first(c)
        .optional()?)
}

/// Marks (or unmarks) a unit and a provider as one board.
pub fn set_shared_board(
    c: &mut DbConn,
    unit_id: &str,
    provider_id: &str,
    shared: bool,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    super::transaction(c, |c| {
        diesel::delete(shared_board::table.find((unit_id, provider_id))).execute(c)?;
        if shared {
            diesel::insert_into(shared_board::table)
                .values((
                    shared_board::authority_unit_id.eq(unit_id),
                    shared_board::provider_id.eq(provider_id),
                    shared_board::created_by.eq(by),
                    shared_board::created_at.eq(at),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// The providers a unit is one board with.
pub fn shared_boards(c: &mut DbConn, unit_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(shared_board::table
        .filter(shared_board::authority_unit_id.eq(unit_id))
        .order(shared_board::provider_id)
        .select(shared_board::provider_id)
        .load(c)?)
}

/// Whether a caseworker of `unit_id` may read `provider_id`'s plan and
/// journal on the client, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadRight {
    /// One board: no consent needed.
    OneBoard,
    /// The client consented.
    Consent,
    /// No consent recorded.
    NoConsent,
    /// The client refused.
    Refused,
    /// The client withdrew an earlier consent.
    Withdrawn,
}

impl ReadRight {
    /// The snake_case name, as serialised and in problem details.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadRight::OneBoard => "one_board",
            ReadRight::Consent => "consent",
            ReadRight::NoConsent => "no_consent",
            ReadRight::Refused => "refused",
            ReadRight::Withdrawn => "withdrawn",
        }
    }

    pub fn allowed(self) -> bool {
        matches!(self, ReadRight::OneBoard | ReadRight::Consent)
    }

    /// What the caseworker is told when refused, in Swedish.
    pub fn swedish(self) -> &'static str {
        match self {
            ReadRight::OneBoard | ReadRight::Consent => "Du får läsa.",
            ReadRight::NoConsent => "Brukarens samtycke behövs: inget samtycke är registrerat.",
            ReadRight::Refused => "Brukaren har inte samtyckt till att du läser detta.",
            ReadRight::Withdrawn => "Brukaren har återkallat sitt samtycke.",
        }
    }
}

/// See [`ReadRight`].
pub fn read_right(
    c: &mut DbConn,
    unit_id: &str,
    provider_id: &str,
    client_id: &str,
) -> Result<ReadRight, StoreError> {
    let one_board = shared_board::table
        .find((unit_id, provider_id))
        .count()
        .get_result::<i64>(c)?
        > 0;
    if one_board {
        return Ok(ReadRight::OneBoard);
    }
    Ok(match current(c, client_id)?.map(|x| x.state) {
        Some(ConsentState::Given) => ReadRight::Consent,
        Some(ConsentState::Refused) => ReadRight::Refused,
        Some(ConsentState::Withdrawn) => ReadRight::Withdrawn,
        None => ReadRight::NoConsent,
    })
}
