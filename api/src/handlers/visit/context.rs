//! What every phone item needs: who, where, and the municipality's rules.

use crate::error::ApiError;
use crate::extract::Principal;
use chrono::{DateTime, Utc};
use hemtid_core::db::DbConn;
use hemtid_core::db::municipality::Municipality;
use hemtid_core::db::service::Catalogue;
use hemtid_core::intake::{Directory, Lookup};
use hemtid_core::model::Role;
use hemtid_core::record::Rules;
use std::sync::Arc;

/// What every phone item needs: who, where, and the municipality's rules.
pub(crate) struct Ctx {
    pub staff_id: String,
    pub provider_id: String,
    pub municipality: Municipality,
    pub rules: Rules,
    pub now: DateTime<Utc>,
    /// What the item looks up that seldom changes (the municipality, the
    /// client, its order, the catalogue), kept across requests.
    pub lookup: Lookup,
}

impl Ctx {
    pub(crate) fn load(
        c: &mut DbConn,
        p: &Principal,
        now: DateTime<Utc>,
        directory: &Arc<Directory>,
    ) -> Result<Ctx, ApiError> {
        p.require(&[Role::Staff])?;
        let provider_id = p.provider()?.to_string();
        let lookup = Lookup::new(c, directory)?;
        let municipality = lookup.municipality(c, &p.municipality_id)?;
        let rules = municipality
            .rules()
            .ok_or_else(|| ApiError::internal("invalid stored time zone"))?;
        Ok(Ctx {
            staff_id: p.subject.clone(),
            provider_id,
            municipality,
            rules,
            now,
            lookup,
        })
    }

    /// The municipality's service catalogue.
    pub(crate) fn catalogue(&self, c: &mut DbConn) -> Result<Arc<Catalogue>, ApiError> {
        Ok(self.lookup.catalogue(c, &self.municipality.id)?)
    }
}
