//! What a phone's item looks up that seldom changes, taken from the
//! [`Directory`] the gateway's batches use: the municipality and its
//! rules, the client and its household, the client's order at the
//! provider on a day, and the service catalogue. A request reads the
//! directory's version once, in the transaction it writes in; what it
//! reads is kept under that version, and a change to any of those rows
//! (database triggers bump the version) empties the directory at the next
//! request or batch.

use super::directory::{Directory, Known};
use crate::db::service::{self, Catalogue};
use crate::db::{DbConn, StoreError, access, client, municipality};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::Arc;

/// The directory as of the version one request read.
pub struct Lookup {
    directory: Arc<Directory>,
    version: i64,
}

impl Lookup {
    /// Reads the directory's version in `conn`'s transaction; the
    /// directory is emptied first if it holds another version.
    pub fn new(conn: &mut DbConn, directory: &Arc<Directory>) -> Result<Lookup, StoreError> {
        let version = crate::db::directory::version(conn)?;
        directory.at(version);
        Ok(Lookup {
            directory: directory.clone(),
            version,
        })
    }

    /// The directory's entry for `key` at this request's version, else
    /// read with `load` (and kept).
    fn cached<K: std::hash::Hash + Eq, V: Clone>(
        &self,
        pick: fn(&mut Known) -> &mut HashMap<K, V>,
        key: K,
        load: impl FnOnce() -> Result<V, StoreError>,
    ) -> Result<V, StoreError> {
        self.directory.kept(self.version, pick, key, load)
    }

    /// The municipality (its settings and rules).
    pub fn municipality(
        &self,
        conn: &mut DbConn,
        id: &str,
    ) -> Result<municipality::Municipality, StoreError> {
        self.cached(
            |k| &mut k.municipalities,
            id.to_string(),
            || municipality::get(conn, id),
        )
    }

    /// The client's household if the client is one of the municipality's
    /// (`Some(None)`: a client living alone), `None` if not.
    pub fn household(
        &self,
        conn: &mut DbConn,
        municipality_id: &str,
        client_id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        self.cached(
            |k| &mut k.clients,
            (municipality_id.to_string(), client_id.to_string()),
            || match client::get(conn, municipality_id, client_id) {
                Ok(c) => Ok(Some(c.fields.household_id)),
                Err(StoreError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
        )
    }

    /// Whether the client has an order at the provider on the local `day`.
    pub fn has_order(
        &self,
        conn: &mut DbConn,
        client_id: &str,
        provider_id: &str,
        day: NaiveDate,
    ) -> Result<bool, StoreError> {
        self.cached(
            |k| &mut k.orders,
            (client_id.to_string(), provider_id.to_string(), day),
            || Ok(access::active_order(conn, client_id, provider_id, day)?.is_some()),
        )
    }

    /// The municipality's service catalogue.
    pub fn catalogue(
        &self,
        conn: &mut DbConn,
        municipality_id: &str,
    ) -> Result<Arc<Catalogue>, StoreError> {
        self.cached(
            |k| &mut k.catalogues,
            municipality_id.to_string(),
            || Ok(Arc::new(service::catalogue(conn, municipality_id)?)),
        )
    }
}
