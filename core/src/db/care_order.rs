//! Orders (beställningar) and their lines. An order renewal creates a new
//! order linked to the previous one (R17), so plans and history follow.

use super::schema::{care_order, client, order_line, service};
use super::{DbConn, StoreError, new_id, now, one_row};
use crate::domain::{OrderLineSpec, OrderSpec, Period, Weekdays};
use crate::model::{ClientId, ProviderId, ServiceId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// An order from the authority to a provider.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = care_order)]
pub struct CareOrder {
    pub id: String,
    #[diesel(embed)]
    pub fields: CareOrderFields,
    /// The order this one renewed (R17).
    pub previous_order_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields a create or update sets.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = care_order, treat_none_as_null = true)]
pub struct CareOrderFields {
    pub decision_id: String,
    pub client_id: ClientId,
    pub provider_id: ProviderId,
    /// Beställningsdatum.
    pub ordered_on: NaiveDate,
    pub valid_from: NaiveDate,
    /// Last valid day, inclusive.
    pub valid_to: Option<NaiveDate>,
    /// Visits per day the order asks for (R8).
    pub daily_visits: Option<i32>,
    /// Minutes per month with a second staff member (R20).
    pub double_staffing_minutes: i32,
    /// "Beställd kvantitet" in minutes per month, when stated.
    pub monthly_total_minutes: Option<i32>,
    pub free_text: String,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = order_line)]
pub struct OrderLine {
    pub id: String,
    pub care_order_id: String,
    pub position: i32,
    #[diesel(embed)]
    pub fields: OrderLineFields,
}

/// The fields of a line as written.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_line)]
pub struct OrderLineFields {
    pub service_id: ServiceId,
    pub minutes_per_occurrence: i32,
    /// How the amount was written: `minutes` or `hours`.
    pub amount_unit: String,
    pub times: i32,
    /// `day`, `week` or `month`.
    pub period: String,
    pub every: i32,
    /// Bit mask, Monday = 1 … Sunday = 64.
    pub weekdays: i32,
    pub note: String,
    /// A care bundle's line: the ids of the personal-care services it
    /// covers, comma-separated (at least three, R19); empty otherwise.
    pub bundle_contents: String,
}

impl OrderLineFields {
    /// The ids of [`OrderLineFields::bundle_contents`].
    pub fn contents(&self) -> impl Iterator<Item = &str> {
        self.bundle_contents.split(',').filter(|id| !id.is_empty())
    }

    /// The line as the domain computation sees it; `None` if a stored value
    /// is out of range (the migrations' CHECK constraints prevent that).
    pub fn spec(&self) -> Option<OrderLineSpec> {
        Some(OrderLineSpec {
            minutes_per_occurrence: u32::try_from(self.minutes_per_occurrence).ok()?,
            times: u32::try_from(self.times).ok()?,
            period: Period::parse(&self.period)?,
            every: u32::try_from(self.every).ok()?,
            weekdays: Weekdays::from_bits(self.weekdays)?,
        })
    }
}

/// An order with its lines and the services' codes and names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderWithLines {
    pub order: CareOrder,
    pub lines: Vec<LineWithService>,
}

/// A line with its service's code and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineWithService {
    pub line: OrderLine,
    pub service_code: String,
    pub service_name: String,
    /// A care bundle's contents, by code (R19).
    pub contents: Vec<String>,
}

impl OrderWithLines {
    /// The order as the domain computation sees it.
    pub fn spec(&self) -> Option<OrderSpec> {
        spec_of(
            &self.order.fields,
            self.lines.iter().map(|l| &l.line.fields),
        )
    }
}

/// An order's fields and lines as the domain computation sees them;
/// `None` if a stored value is out of range.
pub fn spec_of<'a>(
    f: &CareOrderFields,
    lines: impl IntoIterator<Item = &'a OrderLineFields>,
) -> Option<OrderSpec> {
    Some(OrderSpec {
        valid_from: f.valid_from,
        valid_to: f.valid_to,
        lines: lines
            .into_iter()
            .map(OrderLineFields::spec)
            .collect::<Option<Vec<_>>>()?,
        double_staffing_minutes: u32::try_from(f.double_staffing_minutes).ok()?,
        monthly_total_minutes: match f.monthly_total_minutes {
            Some(t) => Some(u32::try_from(t).ok()?),
            None => None,
        },
    })
}

/// Creates an order and its lines in one transaction.
pub fn create(
    conn: &mut DbConn,
    id: &str,
    fields: &CareOrderFields,
    previous_order_id: Option<&str>,
    lines: &[OrderLineFields],
) -> Result<(), StoreError> {
    super::transaction(conn, |conn| {
        let t = now();
        diesel::insert_into(care_order::table)
            .values((
                care_order::id.eq(id),
                fields,
                care_order::previous_order_id.eq(previous_order_id),
                care_order::created_at.eq(t),
                care_order::updated_at.eq(t),
            ))
            .execute(conn)?;
        insert_lines(conn, id, lines)
    })
}

fn insert_lines(
    conn: &mut DbConn,
    order_id: &str,
    lines: &[OrderLineFields],
) -> Result<(), StoreError> {
    // One row per statement: the multi-backend connection has no multi-row insert.
    for (i, line) in lines.iter().enumerate() {
        diesel::insert_into(order_line::table)
            .values((
                order_line::id.eq(new_id()),
                order_line::care_order_id.eq(order_id),
                order_line::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
                line,
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The order, if its client belongs to `municipality_id`.
pub fn get(conn: &mut DbConn, municipality_id: &str, id: &str) -> Result<CareOrder, StoreError> {
    Ok(care_order::table
        .inner_join(client::table)
        .filter(care_order::id.eq(id))
        .filter(client::municipality_id.eq(municipality_id))
        .select(CareOrder::as_select())
        .first(conn)?)
}

/// A line's service: id, code and name.
pub type LineService = (String, String, String);

/// The services of each order's lines, in the lines' order. One read for
/// many orders (a care worker's list of clients), where
/// [`get_with_lines`] reads one order.
pub fn line_services(
    conn: &mut DbConn,
    order_ids: &[&str],
) -> Result<std::collections::HashMap<String, Vec<LineService>>, StoreError> {
    let mut out: std::collections::HashMap<String, Vec<LineService>> =
        std::collections::HashMap::with_capacity(order_ids.len());
    for chunk in order_ids.chunks(500) {
        let rows = order_line::table
            .inner_join(service::table)
            .filter(order_line::care_order_id.eq_any(chunk))
            .order((order_line::care_order_id, order_line::position))
            .select((
                order_line::care_order_id,
                order_line::service_id,
                service::code,
                service::name,
            ))
            .load::<(String, String, String, String)>(conn)?;
        for (order, id, code, name) in rows {
            out.entry(order).or_default().push((id, code, name));
        }
    }
    Ok(out)
}

/// The order with its lines.
pub fn get_with_lines(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
) -> Result<OrderWithLines, StoreError> {
    let order = get(conn, municipality_id, id)?;
    let lines = order_line::table
        .inner_join(service::table)
        .filter(order_line::care_order_id.eq(id))
        .order(order_line::position)
        .select((OrderLine::as_select(), service::code, service::name))
        .load::<(OrderLine, String, String)>(conn)?;
    let ids: Vec<&str> = lines
        .iter()
        .flat_map(|(l, _, _)| l.fields.contents())
        .collect();
    let codes: std::collections::HashMap<String, String> = if ids.is_empty() {
        Default::default()
    } else {
        service::table
            .filter(service::id.eq_any(&ids))
            .select((service::id, service::code))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    let lines = lines
        .into_iter()
        .map(|(line, service_code, service_name)| LineWithService {
            contents: line
                .fields
                .contents()
                .filter_map(|id| codes.get(id).cloned())
                .collect(),
            line,
            service_code,
            service_name,
        })
        .collect();
    Ok(OrderWithLines { order, lines })
}

pub fn list_for_client(conn: &mut DbConn, client_id: &str) -> Result<Vec<CareOrder>, StoreError> {
    Ok(care_order::table
        .filter(care_order::client_id.eq(client_id))
        .order(care_order::valid_from.desc())
        .select(CareOrder::as_select())
        .load(conn)?)
}

/// The order that renewed `id`, if any.
pub fn successor(conn: &mut DbConn, id: &str) -> Result<Option<CareOrder>, StoreError> {
    Ok(care_order::table
        .filter(care_order::previous_order_id.eq(id))
        .select(CareOrder::as_select())
        .first(conn)
        .optional()?)
}

/// Replaces an order's fields and lines in one transaction.
pub fn update(
    conn: &mut DbConn,
    municipality_id: &str,
    id: &str,
    fields: &CareOrderFields,
    lines: &[OrderLineFields],
) -> Result<(), StoreError> {
    super::transaction(conn, |conn| {
        get(conn, municipality_id, id)?;
        let n = diesel::update(care_order::table.find(id))
            .set((fields, care_order::updated_at.eq(now())))
            .execute(conn)?;
        one_row(n)?;
        diesel::delete(order_line::table.filter(order_line::care_order_id.eq(id))).execute(conn)?;
        insert_lines(conn, id, lines)
    })
}

/// Renews `previous` (R17): in one transaction, ends it the day before the
/// new order starts and creates the new order linked back to it. A second
/// renewal of the same order fails with [`StoreError::Conflict`].
pub fn renew(
    conn: &mut DbConn,
    previous: &CareOrder,
    id: &str,
    fields: &CareOrderFields,
    lines: &[OrderLineFields],
) -> Result<(), StoreError> {
    super::transaction(conn, |conn| {
        end_before(conn, previous, fields.valid_from)?;
        create(conn, id, fields, Some(&previous.id), lines)
    })
}

/// Ends `previous` the day before `new_valid_from` unless it already ends
/// earlier.
fn end_before(
    conn: &mut DbConn,
    previous: &CareOrder,
    new_valid_from: NaiveDate,
) -> Result<(), StoreError> {
    let Some(last_day) = new_valid_from.pred_opt() else {
        return Ok(());
    };
    if previous.fields.valid_to.is_some_and(|to| to <= last_day) {
        return Ok(());
    }
    let n = diesel::update(care_order::table.find(&previous.id))
        .set((
            care_order::valid_to.eq(Some(last_day)),
            care_order::updated_at.eq(now()),
        ))
        .execute(conn)?;
    one_row(n)
}
