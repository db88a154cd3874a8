//! What a re-derivation writes, gathered per kind.

use crate::db::schema::visit;
use crate::db::sql::FEW;
use crate::db::unnest::{Column, Query};
use crate::db::visit::{Attribution, Visit, VisitService, VisitShare};
use crate::db::visit_write::{VisitWrite, row_of, update_visit, upsert_visits, write_visits_pg};
use crate::db::{self, DbConn, StoreError};
use crate::model::VisitId;
use diesel::prelude::*;

/// Replaces a visit's shares and services. `stored`: what the database
/// holds for the visit, if known (nothing for a visit row just inserted:
/// they go with their visit, ON DELETE CASCADE); `None` replaces both.
pub(super) fn write_attribution(
    c: &mut DbConn,
    visit_id: &VisitId,
    a: &Attribution,
    stored: Option<&Attribution>,
) -> Result<(), StoreError> {
    let mut w = Writes::default();
    w.attribution(visit_id, a, stored);
    w.apply(c)
}

/// What a re-derivation writes, gathered so that each kind is one
/// statement (per 500 rows) for all the visits of a batch.
#[derive(Default)]
pub(super) struct Writes {
    /// Visits no derived visit is named after any more.
    pub(super) obsolete: Vec<VisitId>,
    /// Visits whose check-out moves to another visit.
    pub(super) moving: Vec<VisitId>,
    /// New visits (none stored with their id).
    new_visits: Vec<Visit>,
    /// Stored visits to update, by whether their approval goes (changed
    /// in what approval rests on).
    visits: std::collections::BTreeMap<bool, Vec<Visit>>,
    /// Visits whose stored shares go, and the shares to insert.
    shares_of: Vec<VisitId>,
    shares: Vec<VisitShare>,
    /// Visits whose stored services go, and the services to insert.
    services_of: Vec<VisitId>,
    services: Vec<VisitService>,
}

impl Writes {
    pub(super) fn new_visit(&mut self, v: &Visit) {
        self.new_visits.push(v.clone());
    }

    pub(super) fn visit(&mut self, v: &Visit, clear_approval: bool) {
        self.visits
            .entry(clear_approval)
            .or_default()
            .push(v.clone());
    }

    /// A visit's shares and services as [`write_attribution`] writes them.
    pub(super) fn attribution(
        &mut self,
        visit_id: &VisitId,
        a: &Attribution,
        stored: Option<&Attribution>,
    ) {
        // What is stored already (when known) is not written again: closing
        // an open lock visit changes neither its share nor its (no) services.
        if stored.is_none_or(|s| s.shares != a.shares) {
            if stored.is_none_or(|s| !s.shares.is_empty()) {
                self.shares_of.push(visit_id.clone());
            }
            self.shares.extend(a.shares.iter().cloned());
        }
        if stored.is_none_or(|s| s.services != a.services) {
            if stored.is_none_or(|s| !s.services.is_empty()) {
                self.services_of.push(visit_id.clone());
            }
            self.services.extend(a.services.iter().cloned());
        }
    }

    /// Writes it all, in an order no unique or foreign key objects to: the
    /// obsolete visits go, moving check-outs are freed, then the visits
    /// are written, then their shares and services.
    pub(super) fn apply(self, c: &mut DbConn) -> Result<(), StoreError> {
        match c {
            // One by one, by the primary key whatever the plan was made for
            // (`db::delete_of_visits_pg`); few visits become obsolete.
            DbConn::Pg(pg) => {
                for id in &self.obsolete {
                    Query::new(crate::db::visit::DELETE_SQL)
                        .bind(Column::OneText(id.as_str()))
                        .execute(pg)?;
                }
            }
            DbConn::Sqlite(_) => {
                for ids in self.obsolete.chunks(500) {
                    diesel::delete(visit::table.filter(visit::id.eq_any(ids))).execute(c)?;
                }
            }
        }
        for ids in self.moving.chunks(500) {
            diesel::update(visit::table.filter(visit::id.eq_any(ids)))
                .set(visit::check_out_event_id.eq(None::<String>))
                .execute(c)?;
        }
        match c {
            // One statement each, whatever the number of visits.
            DbConn::Pg(pg) => {
                write_visits_pg(pg, &self.new_visits, VisitWrite::Insert)?;
                for (clear_approval, visits) in &self.visits {
                    write_visits_pg(pg, visits, VisitWrite::Update(*clear_approval))?;
                }
            }
            DbConn::Sqlite(_) => self.write_visits_sqlite(c)?,
        }
        db::visit_share::replace(c, &self.shares_of, &self.shares)?;
        db::visit_service::replace(c, &self.services_of, &self.services)?;
        Ok(())
    }

    /// The visits' rows on SQLite: a few one statement each, kept
    /// prepared (`sql::FEW`), more in one upsert.
    fn write_visits_sqlite(&self, c: &mut DbConn) -> Result<(), StoreError> {
        if self.new_visits.len() <= FEW {
            for v in &self.new_visits {
                db::execute_on(c, diesel::insert_into(visit::table).values(&row_of(v)))?;
            }
        } else {
            upsert_visits(c, &self.new_visits, true)?;
        }
        for (clear_approval, visits) in &self.visits {
            if visits.len() <= FEW {
                for v in visits {
                    update_visit(c, v, *clear_approval)?;
                }
            } else {
                upsert_visits(c, visits, *clear_approval)?;
            }
        }
        Ok(())
    }
}
