//! What every phone item needs: who, where, and the municipality's rules.

use crate::error::ApiError;
use crate::extract::Principal;
use chrono::{DateTime, Utc};
use hemtid_core::db::DbConn;
use hemtid_core::db::municipality::{self, Municipality};
use hemtid_core::model::Role;
use hemtid_core::record::Rules;

/// What every phone item needs: who, where, and the municipality's rules.
pub(crate) struct Ctx {
    pub staff_id: String,
    pub provider_id: String,
    pub municipality: Municipality,
    pub rules: Rules,
    pub now: DateTime<Utc>,
}

impl Ctx {
    pub(crate) fn load(c: &mut DbConn, p: &Principal, now: DateTime<Utc>) -> Result<Ctx, ApiError> {
        p.require(&[Role::Staff])?;
        let provider_id = p.provider()?.to_string();
        let municipality = municipality::get(c, &p.municipality_id)?;
        let rules = municipality
            .rules()
            .ok_or_else(|| ApiError::internal("invalid stored time zone"))?;
        Ok(Ctx {
            staff_id: p.subject.clone(),
            provider_id,
            municipality,
            rules,
            now,
        })
    }
}
