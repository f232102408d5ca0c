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
//! The thread also keeps the live conversations (`live.rs`): a step reads a conversation through
//! its `Tx`, which looks in the step's, the group's and the committed changes before the
//! database, and the group's changes become the committed ones only after the commit. Another
//! process's commit (seen under the write lock at the start of each group) empties them.
//!
//! A second thread copies committed pages from the log into the database file (a PASSIVE
//! checkpoint every 250 ms on its own connection), so the writer's commits do not stop for it.
//!
//! Why a thread and not a task: rusqlite's calls block (an fsync can take milliseconds), and a
//! blocked runtime worker would stall every socket on it. The queue to the thread is a bounded
//! tokio channel, so a burst waits in `send().await` instead of growing memory.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::super::bus::LocalBus;
use super::live::{Known, Live, Pending, Row};
use crate::conversation::{ConversationId, ConversationState};
use crate::ports::{Signal, StoreError, StoreResult};

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

/// How often committed pages are copied from the log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// What a step runs on: the transaction's connection (through `Deref`) and the live
/// conversations as this step would see them.
pub(super) struct Tx<'a> {
    conn: &'a Connection,
    live: &'a Live,
    /// What the steps before this one in the group changed.
    group: &'a Pending,
    /// What this step changed so far.
    step: Pending,
}

impl Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Tx<'_> {
    /// What the live layers know of `id`; `Dropped` when none of them has it.
    pub(super) fn known(&self, id: &ConversationId) -> Known {
        match self.step.get(id).or_else(|| self.group.get(id)) {
            Some(known) => known.clone(),
            None => self.live.get(id).map_or(Known::Dropped, Known::Kept),
        }
    }

    /// The row this step wrote: kept for the next turn unless the conversation is closed.
    pub(super) fn keep(&mut self, row: Row) {
        let id = row.conversation.id.clone();
        let known = if row.conversation.state == ConversationState::Closed {
            Known::Dropped
        } else {
            Known::Kept(Arc::new(row))
        };
        self.step.insert(id, known);
    }

    /// This step erased `id`.
    pub(super) fn erased(&mut self, id: &ConversationId) {
        self.step.insert(id.clone(), Known::Erased);
    }
}

/// One step, run on the writer thread inside its savepoint; `run` returns how to finish it once
/// the group's commit succeeded (`Ok`) or failed (`Err`, with why).
trait Step: Send {
    fn run(self: Box<Self>, conn: &mut Connection, live: &Live, group: &mut Pending) -> Finish;
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
    F: FnOnce(&mut Tx<'_>) -> StoreResult<(T, Effects)> + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut Connection, live: &Live, group: &mut Pending) -> Finish {
        let Job { f, reply, bus } = *self;
        let outcome = in_savepoint(conn, live, group, f).map(|(value, effects, changed)| {
            group.extend(changed);
            (value, effects)
        });
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
    /// Starts the thread on `conn` (already migrated and configured), and the checkpoints on
    /// `checkpoints` (without it, SQLite's own at commit).
    pub(super) fn start(
        conn: Connection,
        checkpoints: Option<Connection>,
        bus: Arc<LocalBus>,
    ) -> std::io::Result<Writer> {
        let live = Live::default();
        let (steps, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("frontdesk-sqlite-writer".into())
            .spawn(move || run(conn, rx, &live))?;
        // The checkpoints hold no handle: the writer still stops when the store is dropped.
        let alive = steps.downgrade();
        if let Some(conn) = checkpoints {
            std::thread::Builder::new()
                .name("frontdesk-sqlite-checkpoint".into())
                .spawn(move || {
                    while alive.upgrade().is_some() {
                        std::thread::sleep(CHECKPOINT_EVERY);
                        if let Err(e) =
                            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        {
                            tracing::debug!(error = %e, "sqlite: a background checkpoint failed");
                        }
                    }
                })?;
        }
        Ok(Writer { steps, bus })
    }

    /// Runs `f` as one atomic step and answers once it is committed. `f` returns its result and
    /// what to publish; an `Err` from `f` rolls back that step alone.
    pub(super) async fn step<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> StoreResult<(T, Effects)> + Send + 'static,
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

/// Runs `f` in its own savepoint; returns its result with the live conversations it changed.
fn in_savepoint<T>(
    conn: &mut Connection,
    live: &Live,
    group: &Pending,
    f: impl FnOnce(&mut Tx<'_>) -> StoreResult<(T, Effects)>,
) -> StoreResult<(T, Effects, Pending)> {
    let savepoint = conn.savepoint().map_err(super::db_error)?;
    let mut tx = Tx {
        conn: &savepoint,
        live,
        group,
        step: Pending::new(),
    };
    let (value, effects) = f(&mut tx)?;
    let changed = tx.step;
    // Dropping an uncommitted savepoint (the `?` above) rolls it back, and its changes to the
    // live conversations with it.
    savepoint.commit().map_err(super::db_error)?;
    Ok((value, effects, changed))
}

/// SQLite's count of other connections' commits to the file.
fn data_version(conn: &Connection) -> Option<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0)).ok()
}

fn run(mut conn: Connection, mut steps: mpsc::Receiver<Box<dyn Step>>, live: &Live) {
    let mut seen = data_version(&conn);
    // Another process committed since we last looked: what we keep may be out of date.
    let mut look = |conn: &Connection| {
        let now = data_version(conn);
        if now != seen || now.is_none() {
            live.clear();
            seen = now;
        }
    };
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
        // Under the write lock: nobody else can commit until this group has.
        look(&conn);
        let mut changed = Pending::new();
        let finishes: Vec<Finish> = group
            .into_iter()
            .map(|step| step.run(&mut conn, live, &mut changed))
            .collect();
        let committed = conn.execute_batch("COMMIT").map_err(|e| {
            tracing::error!(error = %e, "sqlite: commit failed; the group is rolled back");
            let _ = conn.execute_batch("ROLLBACK");
            format!("the commit failed: {e}")
        });
        if committed.is_ok() {
            // Before anyone is answered: a caller's next read sees its own change.
            live.commit(changed);
        }
        for finish in finishes {
            finish(committed.clone());
        }
    }
}
