//! Who may see which client. A client someone may not see is reported as
//! not found, so a request for another provider's client learns nothing.

use super::care_order::CareOrder;
use super::client::{self, Client};
use super::schema::{care_order, client as client_t, user_account};
use super::{DbConn, StoreError};
use crate::model::Role;
use chrono::NaiveDate;
use diesel::prelude::*;

/// The caller's reach: role and organisation.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub municipality_id: &'a str,
    pub role: Role,
    pub provider_id: Option<&'a str>,
    pub unit_id: Option<&'a str>,
}

/// The order of `provider_id` for `client_id` valid on `date`, if any (the
/// latest-starting one when several overlap).
pub fn active_order(
    conn: &mut DbConn,
    client_id: &str,
    provider_id: &str,
    date: NaiveDate,
) -> Result<Option<CareOrder>, StoreError> {
    Ok(care_order::table
        .filter(care_order::client_id.eq(client_id))
        .filter(care_order::provider_id.eq(provider_id))
        .filter(care_order::valid_from.le(date))
        .filter(
            care_order::valid_to
                .is_null()
                .or(care_order::valid_to.ge(date)),
        )
        .order(care_order::valid_from.desc())
        .select(CareOrder::as_select())
        .first(conn)
        .optional()?)
}

/// Clients with an order at `provider_id` valid on `date`, with that order,
/// by family name.
pub fn clients_with_active_order(
    conn: &mut DbConn,
    provider_id: &str,
    date: NaiveDate,
) -> Result<Vec<(Client, CareOrder)>, StoreError> {
    let rows: Vec<(Client, CareOrder)> = care_order::table
        .inner_join(client_t::table)
        .filter(care_order::provider_id.eq(provider_id))
        .filter(care_order::valid_from.le(date))
        .filter(
            care_order::valid_to
                .is_null()
                .or(care_order::valid_to.ge(date)),
        )
        .order((
            client_t::family_name,
            client_t::given_name,
            care_order::valid_from.desc(),
        ))
        .select((Client::as_select(), CareOrder::as_select()))
        .load(conn)?;
    let mut out: Vec<(Client, CareOrder)> = Vec::with_capacity(rows.len());
    for (c, o) in rows {
        if out.last().is_none_or(|(last, _)| last.id != c.id) {
            out.push((c, o));
        }
    }
    Ok(out)
}

/// Every client `scope` may see on `today` (see [`visible_client`]), by
/// family name.
pub fn visible_clients(
    conn: &mut DbConn,
    scope: &Scope<'_>,
    today: NaiveDate,
) -> Result<Vec<Client>, StoreError> {
    let m = scope.municipality_id;
    Ok(match (scope.role, scope.provider_id, scope.unit_id) {
        (Role::Admin | Role::FeeAdmin, _, _) => client::list(conn, m)?,
        (Role::Staff, Some(p), _) => clients_with_active_order(conn, p, today)?
            .into_iter()
            .map(|(c, _)| c)
            .collect(),
        (Role::ProviderAdmin, Some(p), _) => {
            let with_orders = care_order::table
                .filter(care_order::provider_id.eq(p))
                .select(care_order::client_id);
            client_t::table
                .filter(client_t::municipality_id.eq(m))
                .filter(
                    client_t::provider_id
                        .eq(p)
                        .or(client_t::id.eq_any(with_orders)),
                )
                .order((client_t::family_name, client_t::given_name))
                .select(Client::as_select())
                .load(conn)?
        }
        (Role::Caseworker, _, Some(unit)) => {
            let caseworkers = user_account::table
                .filter(user_account::authority_unit_id.eq(unit))
                .select(user_account::id);
            client_t::table
                .filter(client_t::municipality_id.eq(m))
                .filter(client_t::caseworker_id.eq_any(caseworkers.nullable()))
                .order((client_t::family_name, client_t::given_name))
                .select(Client::as_select())
                .load(conn)?
        }
        _ => Vec::new(),
    })
}

/// The client, if `scope` may see it on `today`:
/// - admins and fee administrators: every client of the municipality;
/// - staff: clients with an order at their provider valid today;
/// - provider admins: clients who have, or had, an order at their provider;
/// - caseworkers: clients whose responsible caseworker is in their unit.
pub fn visible_client(
    conn: &mut DbConn,
    scope: &Scope<'_>,
    client_id: &str,
    today: NaiveDate,
) -> Result<Client, StoreError> {
    let c = client::get(conn, scope.municipality_id, client_id)?;
    let visible = match scope.role {
        Role::Admin | Role::FeeAdmin => true,
        // The auditor reads the access log of any client of the
        // municipality (checked there), never the client's data.
        Role::Auditor => false,
        Role::Staff => match scope.provider_id {
            Some(p) => active_order(conn, client_id, p, today)?.is_some(),
            None => false,
        },
        Role::ProviderAdmin => match scope.provider_id {
            Some(p) => {
                c.fields.provider_id.as_deref() == Some(p)
                    || care_order::table
                        .filter(care_order::client_id.eq(client_id))
                        .filter(care_order::provider_id.eq(p))
                        .count()
                        .get_result::<i64>(conn)?
                        > 0
            }
            None => false,
        },
        Role::Caseworker => match (scope.unit_id, c.fields.caseworker_id.as_deref()) {
            (Some(unit), Some(cw)) => {
                user_account::table
                    .find(cw)
                    .select(user_account::authority_unit_id)
                    .first::<Option<String>>(conn)
                    .optional()?
                    .flatten()
                    .as_deref()
                    == Some(unit)
            }
            _ => false,
        },
    };
    if visible {
        Ok(c)
    } else {
        Err(StoreError::NotFound)
    }
}
