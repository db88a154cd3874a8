//! What every client-month of a municipality's run shares, and what a run
//! changed.

use crate::db::municipality::Municipality;
use crate::db::schema::service;
use crate::db::{DbConn, StoreError, alert};
use crate::domain::local_date;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// What an evaluation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub client_months: usize,
    pub raised: usize,
    pub updated: usize,
    pub reopened: usize,
    pub resolved: usize,
    /// Client-months and clients' deadlines left for the next run: the
    /// database was busy past its timeout (SQLite's write lock held by
    /// the gateway's batches the whole time).
    pub skipped: usize,
}

impl Evaluation {
    pub(crate) fn count(&mut self, o: alert::Outcome) {
        match o {
            alert::Outcome::Raised => self.raised += 1,
            alert::Outcome::Updated => self.updated += 1,
            alert::Outcome::Reopened => self.reopened += 1,
            alert::Outcome::Resolved => self.resolved += 1,
            alert::Outcome::Unchanged => {}
        }
    }

    pub(crate) fn add(&mut self, o: Evaluation) {
        self.client_months += o.client_months;
        self.raised += o.raised;
        self.updated += o.updated;
        self.reopened += o.reopened;
        self.resolved += o.resolved;
        self.skipped += o.skipped;
    }

    /// Whether any alert changed.
    pub fn changed(&self) -> bool {
        self.raised + self.updated + self.reopened + self.resolved > 0
    }
}

/// What every client-month of a municipality's run shares, loaded once.
pub struct Ctx<'a> {
    pub(crate) m: &'a Municipality,
    pub(crate) tz: Tz,
    pub(crate) at: DateTime<Utc>,
    pub(crate) today: NaiveDate,
    /// Service names, for messages.
    pub(crate) names: BTreeMap<String, String>,
    /// Services offered without a needs decision (SoL 2025:400).
    pub(crate) undecided: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    /// The municipality's run as at `at`.
    pub fn new(c: &mut DbConn, m: &'a Municipality, at: DateTime<Utc>) -> Result<Self, StoreError> {
        let tz = m
            .tz()
            .ok_or_else(|| StoreError::Encode("invalid stored time zone".into()))?;
        let mut names = BTreeMap::new();
        let mut undecided = BTreeSet::new();
        for (id, name, without_decision) in service::table
            .filter(service::municipality_id.eq(&m.id))
            .select((service::id, service::name, service::without_decision))
            .load::<(String, String, bool)>(c)?
        {
            if without_decision {
                undecided.insert(id.clone());
            }
            names.insert(id, name);
        }
        Ok(Ctx {
            m,
            tz,
            at,
            today: local_date(at, tz),
            names,
            undecided,
        })
    }
}
