//! The phone's writer: the writes that wait are committed together.
//!
//! SQLite lets one connection write at a time. Requests that each begin
//! their own transaction queue in SQLite's busy handler, which sleeps in
//! steps of up to 100 ms, and each pays for its own sync of the log at
//! commit (`synchronous = FULL`). The writer is one thread with one
//! connection: it takes every write waiting when it is free, runs each in
//! a savepoint of one transaction (a write that fails leaves no trace and
//! does not disturb the others), commits once, and only then answers each
//! of them. What the writes change in the figures is gathered
//! ([`Pending`]) and written once, before the commit: each write's share
//! only if its savepoint was kept. A write is answered after the commit
//! that keeps it, never before; if the commit fails, each is answered with
//! that failure.
//!
//! The visit engine's items ([`Writer::record`]: the phone's check-ins,
//! check-outs, declined visits and entries) are recorded together, as a
//! gateway batch's events are: one set of statements for the batch
//! (`record::record_items`), where each item on its own costs a set. That
//! is what the writer buys on PostgreSQL too, which needs no single
//! writer (its writers wait for row locks, not for the whole database):
//! there it runs a few threads, each with a connection of its own, and
//! takes only items; other writes run in transactions of their own.

use crate::db::{ChangeError, DbConn, Pool, StoreError};
use crate::record::{Item, Pending, Recorded};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};

/// Writes taken into one transaction at most.
const MAX_BATCH: usize = 64;

/// A handle to the writer's threads; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// What the writer is given: a write of any kind, or an item of the visit
/// engine, recorded with the other items of its transaction at once.
enum Job {
    Run(Box<dyn Work>),
    Record(Box<Item>, Reply),
}

type Reply = Box<dyn FnOnce(Result<Recorded, ChangeError>) + Send>;

impl Job {
    fn refuse(self, e: StoreError) {
        match self {
            Job::Run(w) => w.refuse(e),
            Job::Record(_, reply) => reply(Err(e.into())),
        }
    }
}

/// One write, type-erased: run it in the writer's transaction, or refuse it.
trait Work: Send {
    /// Runs in a savepoint; what it returns is told the outcome. What it
    /// defers to the figures is added to `pending` if it succeeded.
    fn run(self: Box<Self>, c: &mut DbConn, pending: &mut Pending) -> Ran;
    /// Answers without running (the writer has no connection).
    fn refuse(self: Box<Self>, e: StoreError);
}

/// A write that has run, waiting for its transaction's commit.
trait Settle: Send {
    fn settle(self: Box<Self>, outcome: Result<(), &StoreError>);
}

/// What running a write leaves: its answer to give after the commit, and
/// whether it panicked (which spoils the whole transaction).
struct Ran {
    settle: Box<dyn Settle>,
    panicked: bool,
}

struct Task<F, R> {
    f: F,
    reply: R,
}

struct Done<T, E, R> {
    result: Result<T, E>,
    reply: R,
}

impl<T, E, F, R> Work for Task<F, R>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut DbConn, &mut Pending) -> Result<T, E> + Send + 'static,
    R: FnOnce(Result<T, E>) + Send + 'static,
{
    fn run(self: Box<Self>, c: &mut DbConn, pending: &mut Pending) -> Ran {
        let Task { f, reply } = *self;
        // A savepoint: a write that fails is undone alone, and so is what
        // it deferred.
        let mut mine = Pending::default();
        let own = |c: &mut DbConn| f(c, &mut mine);
        let ran = catch_unwind(AssertUnwindSafe(|| crate::db::transaction_for(c, own)));
        if matches!(ran, Ok(Ok(_))) {
            pending.merge(mine);
        }
        match ran {
            Ok(result) => Ran {
                settle: Box::new(Done { result, reply }),
                panicked: false,
            },
            Err(_) => Ran {
                settle: Box::new(Done {
                    result: Err(E::from(failure("a write panicked", false))),
                    reply,
                }),
                panicked: true,
            },
        }
    }

    fn refuse(self: Box<Self>, e: StoreError) {
        (self.reply)(Err(E::from(e)));
    }
}

impl<T, E, R> Settle for Done<T, E, R>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    R: FnOnce(Result<T, E>) + Send + 'static,
{
    fn settle(self: Box<Self>, outcome: Result<(), &StoreError>) {
        let result = match (outcome, self.result) {
            // Its own failure stands either way: nothing of it was kept.
            (_, Err(e)) => Err(e),
            (Ok(()), Ok(v)) => Ok(v),
            (Err(e), Ok(_)) => Err(E::from(failed_commit(e))),
        };
        (self.reply)(result);
    }
}

/// The commit's failure for each write it held, transient if it was.
fn failed_commit(e: &StoreError) -> StoreError {
    failure(&e.to_string(), e.is_transient())
}

/// A failure of the writer rather than of a write's data: an internal
/// error, or one to try again later (the API answers 503) if `transient`.
/// Never a rule's refusal ([`crate::db::RuleError`]), which the API answers as
/// the item's own conflict.
fn failure(message: &str, transient: bool) -> StoreError {
    StoreError::Writer {
        message: message.to_string(),
        transient,
    }
}

impl Writer {
    /// Starts the writer thread on a connection of `pool` (taken for each
    /// transaction, so a broken one is replaced). The thread ends when the
    /// last handle is dropped.
    pub fn start(pool: Pool) -> std::io::Result<Writer> {
        Writer::start_many(pool, 1)
    }

    /// [`Writer::start`] with `threads` threads, each taking the writes
    /// waiting when it is free (PostgreSQL; SQLite has one writer).
    pub fn start_many(pool: Pool, threads: usize) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let (pool, rx) = (pool.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("hemtid-writer-{i}"))
                .spawn(move || run(&pool, &rx))?;
        }
        Ok(Writer { tx })
    }

    /// Records `item` in the writer's next transaction, together with the
    /// other items waiting then (`record::record_items`), and calls `reply`
    /// with its result once that transaction is committed (or has failed).
    /// What it changes in the figures is written once for the transaction.
    pub fn record<R>(&self, item: Item, reply: R)
    where
        R: FnOnce(Result<Recorded, ChangeError>) + Send + 'static,
    {
        if let Err(mpsc::SendError(job)) =
            self.tx.send(Job::Record(Box::new(item), Box::new(reply)))
        {
            job.refuse(failure("the writer has stopped", true));
        }
    }

    /// Runs `f` in the writer's next transaction and calls `reply` with its
    /// result once that transaction is committed (or has failed). `f` runs
    /// in a savepoint: its error undoes its own writes only. What `f`
    /// defers to its [`Pending`] is applied once for the transaction,
    /// before the commit.
    pub fn submit<T, E, F, R>(&self, f: F, reply: R)
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn, &mut Pending) -> Result<T, E> + Send + 'static,
        R: FnOnce(Result<T, E>) + Send + 'static,
    {
        if let Err(mpsc::SendError(job)) = self.tx.send(Job::Run(Box::new(Task { f, reply }))) {
            job.refuse(failure("the writer has stopped", true));
        }
    }
}

fn run(pool: &Pool, rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // The jobs waiting, taken by one thread at a time.
        let batch = {
            let Ok(rx) = rx.lock() else { return };
            let Ok(first) = rx.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(w) => batch.push(w),
                    Err(_) => break,
                }
            }
            batch
        };
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                let e = StoreError::Pool(e);
                for w in batch {
                    w.refuse(failed_commit(&e));
                }
                continue;
            }
        };
        commit_batch(&mut conn, batch);
    }
}

/// Runs a batch in one transaction and answers each write after the commit:
/// the items first, together, then the other writes one after another.
fn commit_batch(conn: &mut DbConn, batch: Vec<Job>) {
    let mut items = Vec::new();
    let mut replies = Vec::new();
    let mut works = Vec::new();
    for job in batch {
        match job {
            Job::Record(item, reply) => {
                items.push(*item);
                replies.push(reply);
            }
            Job::Run(w) => works.push(w),
        }
    }
    let size = items.len() + works.len();
    let started = std::time::Instant::now();
    let mut settles: Vec<Box<dyn Settle>> = Vec::with_capacity(size);
    let mut replies = replies.into_iter();
    let mut pending = works.into_iter();
    let outcome: Result<(), StoreError> = crate::db::transaction_polling(conn, |c| {
        let mut deferred = Pending::default();
        if !items.is_empty() {
            let recorded = catch_unwind(AssertUnwindSafe(|| {
                crate::record::record_items(c, &items, &mut deferred)
            }));
            let Ok(recorded) = recorded else {
                return Err(failure("recording items panicked", false));
            };
            for (result, reply) in recorded?.into_iter().zip(replies.by_ref()) {
                settles.push(Box::new(Done { result, reply }));
            }
        }
        for w in pending.by_ref() {
            let ran = w.run(c, &mut deferred);
            settles.push(ran.settle);
            if ran.panicked {
                // The connection's state is unknown: keep nothing.
                return Err(failure("a write in the transaction panicked", false));
            }
        }
        deferred.apply(c)
    });
    crate::metrics::global().writer(size, started.elapsed().as_secs_f64());
    if let Err(e) = &outcome {
        tracing::warn!(error = %e, writes = settles.len(), "a batch of writes was not committed");
    }
    for s in settles {
        s.settle(outcome.as_ref().map(|_| ()));
    }
    // Those a failed transaction did not reach (a committed one ran all).
    if let Err(e) = &outcome {
        for reply in replies {
            reply(Err(failed_commit(e).into()));
        }
        for w in pending {
            w.refuse(failed_commit(e));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::db::testing::TestDb;
    use crate::db::{ChangeError, RuleError};
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use std::sync::mpsc::{Receiver, channel};
    use std::time::Duration;

    diesel::table! {
        scratch (k) {
            k -> Text,
        }
    }

    fn setup() -> (TestDb, Pool, Writer) {
        let db = TestDb::new();
        db.connect()
            .batch_execute("CREATE TABLE scratch (k TEXT PRIMARY KEY)")
            .unwrap();
        let pool = db.pool();
        let writer = Writer::start(pool.clone()).unwrap();
        (db, pool, writer)
    }

    fn insert(c: &mut DbConn, k: &str) -> Result<(), StoreError> {
        diesel::insert_into(scratch::table)
            .values(scratch::k.eq(k))
            .execute(c)?;
        Ok(())
    }

    fn keys(db: &TestDb) -> Vec<String> {
        scratch::table
            .select(scratch::k)
            .order(scratch::k)
            .load(&mut db.connect())
            .unwrap()
    }

    /// Submits a write that holds the writer until the returned sender is
    /// used, so the writes submitted meanwhile form one transaction.
    fn hold(
        writer: &Writer,
    ) -> (
        std::sync::mpsc::Sender<()>,
        Receiver<Result<(), StoreError>>,
    ) {
        let (go, wait) = channel::<()>();
        let (started, running) = channel::<()>();
        let (done, answer) = channel();
        writer.submit(
            move |_c: &mut DbConn, _: &mut Pending| {
                started.send(()).unwrap();
                wait.recv_timeout(Duration::from_secs(30)).unwrap();
                Ok::<_, StoreError>(())
            },
            move |r| done.send(r).unwrap(),
        );
        // Running: what is submitted now waits for the next transaction.
        running.recv_timeout(Duration::from_secs(30)).unwrap();
        (go, answer)
    }

    fn answer<T>(rx: &Receiver<T>) -> T {
        rx.recv_timeout(Duration::from_secs(30)).expect("an answer")
    }

    #[test]
    fn a_write_is_answered_only_once_another_connection_sees_it() {
        let (db, _pool, writer) = setup();
        let url = db.database_url();
        let mut answers = Vec::new();
        for i in 0..40 {
            let (tx, rx) = channel();
            let url = url.clone();
            let k = format!("k{i:02}");
            writer.submit(
                {
                    let k = k.clone();
                    move |c: &mut DbConn, _: &mut Pending| insert(c, &k)
                },
                move |r: Result<(), StoreError>| {
                    // Read from a connection of its own: the commit is done.
                    let seen: i64 = scratch::table
                        .filter(scratch::k.eq(&k))
                        .count()
                        .get_result(&mut url.establish().unwrap())
                        .unwrap();
                    tx.send((r.is_ok(), seen)).unwrap();
                },
            );
            answers.push(rx);
        }
        for rx in &answers {
            assert_eq!(answer(rx), (true, 1));
        }
        assert_eq!(keys(&db).len(), 40);
    }

    #[test]
    fn a_failing_write_is_undone_alone_and_the_others_commit_together() {
        let (db, _pool, writer) = setup();
        let (go, held) = hold(&writer);
        let mut rx = Vec::new();
        for k in ["a", "b", "a", "c"] {
            let (tx, r) = channel();
            writer.submit(
                move |c: &mut DbConn, _: &mut Pending| {
                    insert(c, k)?;
                    // Written, then refused: the savepoint undoes both.
                    if k == "c" {
                        insert(c, "c2")?;
                        return Err(RuleError::WrongState("no".into()).into());
                    }
                    Ok(())
                },
                move |r: Result<(), ChangeError>| tx.send(r).unwrap(),
            );
            rx.push(r);
        }
        go.send(()).unwrap();
        assert!(answer(&held).is_ok());
        let got: Vec<_> = rx.iter().map(answer).collect();
        assert!(got[0].is_ok() && got[1].is_ok());
        assert!(
            matches!(got[2], Err(ChangeError::Store(StoreError::Conflict(_)))),
            "{:?}",
            got[2]
        );
        assert!(
            matches!(got[3], Err(ChangeError::Rule(RuleError::WrongState(_)))),
            "{:?}",
            got[3]
        );
        assert_eq!(keys(&db), ["a", "b"]);
    }

    /// What a write defers to the figures is written once for the
    /// transaction, and only that of the writes kept.
    #[test]
    fn what_a_write_defers_is_applied_only_if_it_is_kept() {
        use crate::db::schema::figure_dirty;
        let (db, _pool, writer) = setup();
        let clients: Vec<String> = {
            let mut c = db.connect();
            let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
            let m = crate::seed::demo(&mut c, day).unwrap().municipality;
            crate::db::client::list(&mut c, &m.id)
                .unwrap()
                .into_iter()
                .take(3)
                .map(|cl| cl.id.to_string())
                .collect()
        };
        {
            let mut c = db.connect();
            diesel::delete(figure_dirty::table).execute(&mut c).unwrap();
        }
        let (go, held) = hold(&writer);
        let mut rx = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let (tx, r) = channel();
            let client = client.clone();
            writer.submit(
                move |c: &mut DbConn, p: &mut Pending| {
                    insert(c, &client)?;
                    p.stale_open.insert((client, "2026-11".into()));
                    // The second is refused after it deferred its mark.
                    if i == 1 {
                        return Err(RuleError::WrongState("no".into()).into());
                    }
                    Ok(())
                },
                move |r: Result<(), ChangeError>| tx.send(r).unwrap(),
            );
            rx.push(r);
        }
        go.send(()).unwrap();
        assert!(answer(&held).is_ok());
        let got: Vec<bool> = rx.iter().map(|r| answer(r).is_ok()).collect();
        assert_eq!(got, [true, false, true]);
        let mut marked: Vec<String> = figure_dirty::table
            .select(figure_dirty::client_id)
            .load(&mut db.connect())
            .unwrap();
        marked.sort();
        let mut kept = vec![clients[0].clone(), clients[2].clone()];
        kept.sort();
        assert_eq!(marked, kept);
    }

    /// The visit engine's items waiting are recorded together, each
    /// answered with its own result after the commit; one a rule refuses
    /// is refused alone.
    #[test]
    fn items_waiting_are_recorded_together_and_each_answered() {
        use crate::db::visit_event::NewVisitEvent;
        let (db, _pool, writer) = setup();
        let mut c = db.connect();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let demo = crate::seed::demo(&mut c, day).unwrap();
        let m = demo.municipality;
        let rules = m.rules().unwrap();
        let anna = crate::db::user_account::find_by_username(&mut c, "demo.anna")
            .unwrap()
            .unwrap();
        let provider = anna.fields.provider_id.clone().unwrap();
        let clients = crate::db::client::list(&mut c, &m.id).unwrap();
        let june =
            crate::domain::YearMonth::of(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        crate::db::month_lock::lock_month(
            &mut c,
            &provider,
            june,
            &anna.id,
            chrono::Utc::now().naive_utc(),
        )
        .unwrap();
        let event = |i: usize, at: chrono::DateTime<chrono::Utc>| NewVisitEvent {
            id: crate::db::new_id().into(),
            source: crate::model::Source::Phone,
            source_key: anna.id.to_string(),
            event_id: format!("e{i}"),
            kind: crate::model::EventKind::CheckIn,
            staff_id: anna.id.clone(),
            client_id: clients[i].id.clone(),
            provider_id: provider.clone(),
            occurred_at: at.naive_utc(),
            received_at: chrono::Utc::now().naive_utc(),
            local_date: crate::domain::local_date(at, rules.tz),
            method: Some(crate::model::Method::Manual),
            method_ref: None,
            reason: Some("test".into()),
            payload: "{}".into(),
        };
        let at = |m: u32, d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, m, d)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap()
                .and_utc()
        };
        let (go, held) = hold(&writer);
        let mut rx = Vec::new();
        for (i, when) in [at(11, 2), at(6, 20), at(11, 3)].into_iter().enumerate() {
            let (tx, r) = channel();
            let item = crate::record::Item {
                events: vec![event(i, when)],
                note: None,
                rules,
            };
            writer.record(item, move |r| tx.send(r).unwrap());
            rx.push(r);
        }
        go.send(()).unwrap();
        assert!(answer(&held).is_ok());
        let got: Vec<_> = rx.iter().map(answer).collect();
        assert!(
            matches!(got[0], Ok(Recorded::Applied { .. })),
            "{:?}",
            got[0]
        );
        assert!(
            matches!(got[1], Err(ChangeError::Rule(RuleError::MonthLocked(m))) if m == june),
            "{:?}",
            got[1]
        );
        assert!(
            matches!(got[2], Ok(Recorded::Applied { .. })),
            "{:?}",
            got[2]
        );
        // Both kept items are stored, as another connection sees them (the
        // second check-in has since closed the first visit as an exception).
        let mut other = db.connect();
        for r in [&got[0], &got[2]] {
            let Ok(Recorded::Applied { event, visits, .. }) = r else {
                panic!("{r:?}");
            };
            // Its own visit first (the second's answer also holds the
            // first visit, which it changed).
            let stored = crate::db::visit::get(&mut other, &visits[0].id).unwrap();
            assert_eq!(stored.fields.check_in_event_id.as_ref(), Some(&event.id));
        }
    }

    #[test]
    fn a_panicking_write_fails_its_transaction_and_the_writer_goes_on() {
        let (db, _pool, writer) = setup();
        let (go, held) = hold(&writer);
        let mut rx = Vec::new();
        for k in ["x", "boom", "y"] {
            let (tx, r) = channel();
            writer.submit(
                move |c: &mut DbConn, _: &mut Pending| {
                    insert(c, k)?;
                    if k == "boom" {
                        panic!("a bug");
                    }
                    Ok(())
                },
                move |r: Result<(), StoreError>| tx.send(r).unwrap(),
            );
            rx.push(r);
        }
        go.send(()).unwrap();
        assert!(answer(&held).is_ok());
        for r in &rx {
            // A failure of the writer, not the item's own conflict (which
            // the API would answer 409).
            let e = answer(r).expect_err("nothing of the batch is kept");
            assert!(
                matches!(
                    e,
                    StoreError::Writer {
                        transient: false,
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(!e.is_transient(), "{e:?}");
        }
        assert!(keys(&db).is_empty());
        // The next transaction works, on a sound connection.
        let (tx, r) = channel();
        writer.submit(
            |c: &mut DbConn, _: &mut Pending| insert(c, "z"),
            move |r: Result<(), StoreError>| tx.send(r).unwrap(),
        );
        assert!(answer(&r).is_ok());
        assert_eq!(keys(&db), ["z"]);
    }
}
