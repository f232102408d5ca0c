//! The SQLite store's one writer: a thread that owns the only writing connection and commits
//! steps in groups.
//!
//! Each store operation that changes something is one closure (a "step") sent to this thread. The
//! thread takes every step waiting at that moment (up to `MAX_GROUP`), runs each inside its own
//! savepoint of one transaction, commits once (one fsync for the whole group), and only then
//! answers each caller and publishes what the steps produced. So a caller that got `Ok` knows its
//! change is on disk, subscribers never see an event that a crash could take back, and under load
//! many visitors share one fsync instead of queueing for one each.
//!
//! Why a thread and not a task: rusqlite's calls block (an fsync can take milliseconds), and a
//! blocked runtime worker would stall every socket on it. The queue to the thread is a bounded
//! tokio channel, so a burst waits in `send().await` instead of growing memory.

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::super::bus::LocalBus;
use super::super::{Signal, StoreError, StoreResult};
use crate::conversation::ConversationId;
use std::sync::Arc;

/// Steps that may wait for the writer at once; more wait in `send().await`.
const QUEUE: usize = 4096;
/// Most steps in one commit: bounds how long the first of them waits for the fsync.
const MAX_GROUP: usize = 512;

/// What a step announces once it is committed, in the order it happened.
#[derive(Default)]
pub(super) struct Effects {
    signals: Vec<(ConversationId, Signal)>,
    routing: bool,
}

impl Effects {
    pub(super) fn publish(&mut self, id: &ConversationId, signal: Signal) {
        self.signals.push((id.clone(), signal));
    }

    /// The queue, an assignment or a follow-up changed.
    pub(super) fn routing(&mut self) {
        self.routing = true;
    }

    fn apply(self, bus: &LocalBus) {
        for (id, signal) in self.signals {
            bus.publish(&id, signal);
        }
        if self.routing {
            bus.routing_changed();
        }
    }
}

/// One step, run on the writer thread inside its savepoint; `run` returns how to finish it once
/// the group's commit succeeded (`Ok`) or failed (`Err`, with why).
trait Step: Send {
    fn run(self: Box<Self>, conn: &mut Connection) -> Finish;
    /// The step could not run at all (no transaction could be started).
    fn refuse(self: Box<Self>, why: String);
}

type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;

struct Job<F, T> {
    f: F,
    reply: oneshot::Sender<StoreResult<T>>,
    bus: Arc<LocalBus>,
}

impl<F, T> Step for Job<F, T>
where
    F: FnOnce(&Connection) -> StoreResult<(T, Effects)> + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut Connection) -> Finish {
        let Job { f, reply, bus } = *self;
        let outcome = in_savepoint(conn, f);
        Box::new(move |committed| {
            let result = match (outcome, committed) {
                (Ok((value, effects)), Ok(())) => {
                    effects.apply(&bus);
                    Ok(value)
                }
                (Ok(_), Err(why)) => Err(StoreError::Unavailable(why)),
                (Err(e), _) => Err(e),
            };
            // The caller may have gone (its socket closed): the change stands either way.
            let _ = reply.send(result);
        })
    }

    fn refuse(self: Box<Self>, why: String) {
        let _ = self.reply.send(Err(StoreError::Unavailable(why)));
    }
}

/// The handle to the writer thread. The thread ends when every handle is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    steps: mpsc::Sender<Box<dyn Step>>,
    bus: Arc<LocalBus>,
}

impl Writer {
    /// Starts the thread on `conn` (already migrated and configured).
    pub(super) fn start(conn: Connection, bus: Arc<LocalBus>) -> std::io::Result<Writer> {
        let (steps, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("frontdesk-sqlite-writer".into())
            .spawn(move || run(conn, rx))?;
        Ok(Writer { steps, bus })
    }

    /// Runs `f` as one atomic step and answers once it is committed. `f` returns its result and
    /// what to publish; an `Err` from `f` rolls back that step alone.
    pub(super) async fn step<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<(T, Effects)> + Send + 'static,
    ) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            f,
            reply,
            bus: self.bus.clone(),
        };
        self.steps
            .send(Box::new(job))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the database writer stopped".into())
}

fn in_savepoint<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> StoreResult<(T, Effects)>,
) -> StoreResult<(T, Effects)> {
    let savepoint = conn.savepoint().map_err(super::db_error)?;
    let outcome = f(&savepoint)?;
    // Dropping an uncommitted savepoint (the `?` above) rolls it back.
    savepoint.commit().map_err(super::db_error)?;
    Ok(outcome)
}

fn run(mut conn: Connection, mut steps: mpsc::Receiver<Box<dyn Step>>) {
    while let Some(first) = steps.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match steps.try_recv() {
                Ok(step) => group.push(step),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "sqlite: cannot start a transaction");
            for step in group {
                step.refuse(format!("cannot start a transaction: {e}"));
            }
            continue;
        }
        let finishes: Vec<Finish> = group.into_iter().map(|step| step.run(&mut conn)).collect();
        let committed = conn.execute_batch("COMMIT").map_err(|e| {
            tracing::error!(error = %e, "sqlite: commit failed; the group is rolled back");
            let _ = conn.execute_batch("ROLLBACK");
            format!("the commit failed: {e}")
        });
        for finish in finishes {
            finish(committed.clone());
        }
    }
}
