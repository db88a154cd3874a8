//! The service catalogue (insatskatalog): code, name, group, standard minutes.

use super::schema::service;
use super::{DbConn, StoreError, now, one_row};
use crate::model::{MunicipalityId, ServiceId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A service (insats) in a municipality's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = service)]
pub struct Service {
    pub id: ServiceId,
    pub municipality_id: MunicipalityId,
    #[diesel(embed)]
    pub fields: ServiceFields,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = service)]
pub struct ServiceFields {
    /// As the case system writes it, e.g. `O-Duschhjälp`.
    pub code: String,
    pub name: String,
    /// `S` (service) or `O` (personal care).
    pub service_group: String,
    /// Schablontid: minutes per occurrence.
    pub standard_minutes: i32,
    pub active: bool,
    /// A care bundle (omvårdnadspaket): one total for at least three
    /// personal-care services done in the same visit (R19).
    pub care_bundle: bool,
    /// Left out of personalkontinuitet, as alarm visits and meal
    /// deliveries are (Kolada/RKA).
    pub continuity_excluded: bool,
    /// Offered without an individual needs decision (SoL 2025:400): its
    /// performed time is recorded and reported, and stays out of the
    /// variance and the fee report.
    pub without_decision: bool,
    /// Its code in Socialstyrelsen's KSI, as `SNH RB ZZ` (inriktning,
    /// agerande, metod).
    pub ksi_code: Option<String>,
}

pub fn create(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &ServiceFields,
) -> Result<Service, StoreError> {
    let t = now();
    diesel::insert_into(service::table)
        .values((
            service::id.eq(id),
            service::municipality_id.eq(municipality_id),
            fields,
            service::created_at.eq(t),
            service::updated_at.eq(t),
        ))
        .execute(conn)?;
    get(conn, municipality_id, id)
}

pub fn get(conn: &mut DbConn, municipality_id: &str, id: &str) -> Result<Service, StoreError> {
    Ok(service::table
        .find(id)
        .filter(service::municipality_id.eq(municipality_id))
        .select(Service::as_select())
        .first(conn)?)
}

pub fn find_by_code(
    conn: &mut DbConn,
    municipality_id: &str,
    code: &str,
) -> Result<Option<Service>, StoreError> {
    Ok(service::table
        .filter(service::municipality_id.eq(municipality_id))
        .filter(service::code.eq(code))
        .select(Service::as_select())
        .first(conn)
        .optional()?)
}

/// Codes of the given service ids.
pub fn codes(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    Ok(service::table
        .filter(service::id.eq_any(ids))
        .select((service::id, service::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The municipality's services offered without a needs decision.
pub fn without_decision(
    conn: &mut DbConn,
    municipality_id: &str,
) -> Result<std::collections::BTreeSet<String>, StoreError> {
    Ok(service::table
        .filter(service::municipality_id.eq(municipality_id))
        .filter(service::without_decision.eq(true))
        .select(service::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

pub fn list(conn: &mut DbConn, municipality_id: &str) -> Result<Vec<Service>, StoreError> {
    Ok(service::table
        .filter(service::municipality_id.eq(municipality_id))
        .order((service::service_group, service::code))
        .select(Service::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &ServiceFields,
) -> Result<Service, StoreError> {
    let n = diesel::update(
        service::table
            .find(id)
            .filter(service::municipality_id.eq(municipality_id)),
    )
    .set((fields, service::updated_at.eq(now())))
    .execute(conn)?;
    one_row(n)?;
    get(conn, municipality_id, id)
}

/// Of each service of `ids` found: its standard minutes, whether it is
/// personal care (group `O`) and whether it is a care bundle: what a
/// visit's time is shared by. One statement kept prepared on either
/// backend (`eq_any` on SQLite is compiled again for each number of ids).
pub fn weights(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, (i32, bool, bool)>, StoreError> {
    // Lock events carry no services: nothing to look up.
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let columns = (
        service::id,
        service::standard_minutes,
        service::service_group,
        service::care_bundle,
    );
    let rows: Vec<(String, i32, String, bool)> = match conn {
        DbConn::Sqlite(s) => {
            let list = super::sql::json_list(ids)?;
            service::table
                .filter(super::sql::in_list("id", &list))
                .select(columns)
                .load(s)?
        }
        DbConn::Pg(pg) => service::table
            .filter(service::id.eq_any(ids))
            .select(columns)
            .load(pg)?,
    };
    Ok(rows
        .into_iter()
        .map(|(id, minutes, group, bundle)| (id, (minutes, group == "O", bundle)))
        .collect())
}

/// A municipality's catalogue as the phone's items use it: services by
/// code and codes by service, read in one query.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    by_code: std::collections::HashMap<String, Entry>,
    codes: std::collections::HashMap<ServiceId, String>,
}

/// A service of a [`Catalogue`].
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: ServiceId,
    pub active: bool,
    /// Personal care (group `O`).
    pub personal_care: bool,
    /// A care bundle (R19).
    pub care_bundle: bool,
}

impl Catalogue {
    /// The service with `code`, active or not.
    pub fn by_code(&self, code: &str) -> Option<&Entry> {
        self.by_code.get(code)
    }

    /// The code of the service `id`, if it is in this catalogue.
    pub fn code(&self, id: &str) -> Option<&str> {
        self.codes.get(id).map(String::as_str)
    }

    /// Of each service of `ids` in this catalogue: whether it is personal
    /// care (group `O`) and whether it is a care bundle (R19).
    pub fn kinds(&self, ids: &[ServiceId]) -> std::collections::HashMap<ServiceId, (bool, bool)> {
        ids.iter()
            .filter_map(|id| {
                let e = self.by_code.get(self.codes.get(id)?)?;
                Some((id.clone(), (e.personal_care, e.care_bundle)))
            })
            .collect()
    }
}

/// The municipality's whole catalogue.
pub fn catalogue(conn: &mut DbConn, municipality_id: &str) -> Result<Catalogue, StoreError> {
    let rows = service::table
        .filter(service::municipality_id.eq(municipality_id))
        .select((
            service::id,
            service::code,
            service::active,
            service::service_group,
            service::care_bundle,
        ))
        .load::<(ServiceId, String, bool, String, bool)>(conn)?;
    let mut c = Catalogue::default();
    for (id, code, active, group, care_bundle) in rows {
        c.codes.insert(id.clone(), code.clone());
        c.by_code.insert(
            code,
            Entry {
                id,
                active,
                personal_care: group == "O",
                care_bundle,
            },
        );
    }
    Ok(c)
}
