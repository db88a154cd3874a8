//! SQLite's single writer: the writes that wait are committed together.
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
//! only if its savepoint was kept. A write is answered after the commit that keeps it, never
//! before; if the commit fails, each is answered with that failure.
//!
//! PostgreSQL needs none of this: its writers wait for row locks, not for
//! the whole database, and it groups concurrent commits itself.

use crate::db::{DbConn, Pool, StoreError};
use crate::record::Pending;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

/// Writes taken into one transaction at most.
const MAX_BATCH: usize = 64;

/// A handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Box<dyn Work>>,
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
        let (tx, rx) = mpsc::channel::<Box<dyn Work>>();
        std::thread::Builder::new()
            .name("hemtid-writer".into())
            .spawn(move || run(&pool, &rx))?;
        Ok(Writer { tx })
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
        if let Err(mpsc::SendError(work)) = self.tx.send(Box::new(Task { f, reply })) {
            work.refuse(failure("the writer has stopped", true));
        }
    }
}

fn run(pool: &Pool, rx: &mpsc::Receiver<Box<dyn Work>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
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

/// Runs a batch in one transaction and answers each write after the commit.
fn commit_batch(conn: &mut DbConn, batch: Vec<Box<dyn Work>>) {
    let mut settles: Vec<Box<dyn Settle>> = Vec::with_capacity(batch.len());
    let mut pending = batch.into_iter();
    let outcome: Result<(), StoreError> = crate::db::transaction_polling(conn, |c| {
        let mut deferred = Pending::default();
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
    if let Err(e) = &outcome {
        tracing::warn!(error = %e, writes = settles.len(), "a batch of writes was not committed");
    }
    for s in settles {
        s.settle(outcome.as_ref().map(|_| ()));
    }
    // Those a failed transaction did not reach (a committed one ran all).
    if let Err(e) = &outcome {
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
