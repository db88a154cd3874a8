//! The care journal (daganteckningar). Notes are never edited in place: a
//! correction is a new note that points to the one it corrects.

use super::schema::journal_note;
use super::{DbConn, StoreError};
use crate::model::{ClientId, ProviderId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A journal note.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = journal_note)]
pub struct JournalNote {
    pub id: String,
    /// The author's id for notes from a phone.
    pub source_key: String,
    /// The phone's UUID for the note.
    pub event_id: String,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    pub author_id: UserId,
    /// The check-out it was written with, if any.
    pub visit_event_id: Option<String>,
    /// The note this one corrects.
    pub corrects_note_id: Option<String>,
    pub written_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub body: String,
}

/// A note to store.
pub type NewNote = JournalNote;

/// Inserts a note; `Ok(false)` if its event id was seen before.
pub fn insert(conn: &mut DbConn, note: &NewNote) -> Result<bool, StoreError> {
    match diesel::insert_into(journal_note::table)
        .values(note)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(err) => match StoreError::from(err) {
            StoreError::Conflict(_) => Ok(false),
            other => Err(other),
        },
    }
}

/// The stored note with this author and event id.
pub fn find(
    conn: &mut DbConn,
    source_key: &str,
    event_id: &str,
) -> Result<Option<JournalNote>, StoreError> {
    Ok(journal_note::table
        .filter(journal_note::source_key.eq(source_key))
        .filter(journal_note::event_id.eq(event_id))
        .select(JournalNote::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<JournalNote, StoreError> {
    Ok(journal_note::table
        .find(id)
        .select(JournalNote::as_select())
        .first(conn)?)
}

/// A client's notes, oldest first.
pub fn for_client(conn: &mut DbConn, client_id: &str) -> Result<Vec<JournalNote>, StoreError> {
    Ok(journal_note::table
        .filter(journal_note::client_id.eq(client_id))
        .order((
            journal_note::written_at,
            journal_note::received_at,
            journal_note::id,
        ))
        .select(JournalNote::as_select())
        .load(conn)?)
}
