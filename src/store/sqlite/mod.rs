//! The embedded, durable store (the default): one SQLite database file (WAL) in the data
//! directory, for a single `frontdesk` process with zero setup.
//!
//! Writes go through one writer thread with group commit (`writer.rs`): every store operation
//! that changes something is one step, run inside its own savepoint of the group's transaction,
//! and answered only after the commit is on disk (`synchronous = FULL`). So a visitor message's
//! `visitor_message` receipt means the message survives a crash, and many concurrent steps share
//! one fsync. Reads run on a small pool of read-only connections: in WAL mode they never wait for
//! the writer, and they see exactly what has been committed (and so acknowledged).
//!
//! The bookkeeping of every change (sequence numbers, queue places, agents' loads) is the pure
//! `conversation::bookkeeping`, as in the memory store; this file only loads and stores rows.
//! What is not durable on purpose: agents' presence (`presence.rs`; it expires in seconds
//! anyway) and the fan-out bus (`bus.rs`), both in this process's memory.
//!
//! Other processes (`frontdesk report`, `forget`, `backup`) may open the same file while the
//! server runs: SQLite's locking keeps each step atomic, reads always go to the file, and the
//! writer's live rows (`live.rs`) are forgotten as soon as another process has committed, so
//! what they change is what the server reads and writes next.

mod check;
mod live;
pub(crate) mod lock;
mod schema;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use self::live::{Known, Row};
use self::writer::{Effects, Tx, Writer};
use super::bus::LocalBus;
use super::presence::LocalPresence;
use crate::conversation::bookkeeping::{self, RECENT_WAITS, Transition};
use crate::conversation::{
    Claim, Conversation, ConversationId, ConversationState, Event, EventBody, Notice, Token, Turn,
    TurnOutcome, VisitorInfo, VisitorKey, now_ms, random_secret,
};
use crate::ports::{
    Appended, AssignedChat, Attempt, Bus, ConversationLog, EDITS_KEPT, Edits, KbEdit, Logins,
    MAILS_KEPT, Mail, Outbox, OutboxEntry, PresenceBoard, Queue, Reports, Signal, Store,
    StoreError, StoreResult, Tokens, Workload,
};
use crate::tokens::ApiToken;

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle read connections kept for reuse; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

/// One `api_tokens` row; its scopes must read back (else `Corrupt`).
fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<ApiToken>> {
    let scopes: String = r.get(2)?;
    let created: i64 = r.get(3)?;
    let (name, hash) = (r.get(0)?, r.get(1)?);
    Ok(serde_json::from_str(&scopes)
        .map_err(|e| corrupt("token scopes", e))
        .map(|scopes| ApiToken {
            name,
            hash,
            scopes,
            created: created as u64,
        }))
}

pub(super) fn db_error(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("database: {e}"))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// The SQLite `Store`.
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    bus: Arc<LocalBus>,
    /// Agents' presence: ephemeral on purpose (see the module doc).
    presence: LocalPresence,
}

/// Sets what every connection needs: waiting for locks, and WAL (kept in the file once set).
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is fsynced before it returns, so an acknowledged message survives a power
    // loss too; group commit keeps that to one fsync per group of steps.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // What is deleted (an erased visitor, a transcript past retention) is overwritten with
    // zeros, not left in free pages for `strings` to find.
    conn.pragma_update(None, "secure_delete", "ON")?;
    tune(conn)
}

/// Memory for speed, on every connection: a 64 MiB page cache (the default 2 MiB makes the
/// writer re-read index pages from the OS on every step) and reads through mmap.
fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    Ok(())
}

impl SqliteStore {
    /// Copies the log (WAL) into the database file and empties it, so a deleted row's old
    /// copies leave the WAL too (after an erasure). A failure is logged: the rows are gone
    /// either way, and the next checkpoint (SQLite's own, every 1,000 pages) moves them out.
    async fn checkpoint(&self) {
        let path = self.path.clone();
        let done = tokio::task::spawn_blocking(move || -> rusqlite::Result<()> {
            let conn = Connection::open(&path)?;
            configure(&conn)?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        })
        .await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "sqlite: the checkpoint after an erasure failed");
        }
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        use anyhow::Context;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        check::before_open(path)?;
        let mut conn =
            Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Checked before anything is written: another application's file is left as it was.
        check::before_migrate(&conn, path)?;
        configure(&conn).with_context(|| format!("cannot configure {}", path.display()))?;
        schema::migrate(&mut conn).with_context(|| format!("{}", path.display()))?;
        check::after_migrate(&conn, path)?;
        let bus = Arc::new(LocalBus::default());
        // Checkpoints run on their own connection (see `writer.rs`); the writer's own, at a
        // large log, only if they fall behind. Without that connection the writer does them.
        let checkpoints = Connection::open(path).and_then(|c| configure(&c).map(|()| c));
        let backstop = if checkpoints.is_ok() { 16_000 } else { 1_000 };
        conn.pragma_update(None, "wal_autocheckpoint", backstop)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Writer::start(conn, checkpoints.ok(), bus.clone())?,
            readers: Mutex::default(),
            presence: LocalPresence::new(bus.clone()),
            bus,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn idle_readers(&self) -> MutexGuard<'_, Vec<Connection>> {
        // A push or a pop; a panic mid-way leaves a usable list.
        self.readers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a read connection, in this task: reads are indexed look-ups of a few rows on
    /// a warm page cache (microseconds), cheaper than a hop to a blocking thread, and in WAL
    /// mode they never wait for the writer.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = self.idle_readers().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(db_error)?;
                conn.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
                tune(&conn).map_err(db_error)?;
                conn
            }
        };
        let out = f(&conn);
        let mut idle = self.idle_readers();
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    /// Copies the whole database to `to` while it is in use (SQLite's online backup): a
    /// consistent snapshot of one moment, which `frontdesk` can open as it is.
    pub fn backup(&self, to: &Path) -> anyhow::Result<()> {
        backup(&self.path, to)
    }
}

/// Copies the database at `from` to `to` with SQLite's online backup, while other processes may
/// be writing to it.
pub fn backup(from: &Path, to: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    anyhow::ensure!(
        from.exists(),
        "{} does not exist: nothing to back up",
        from.display()
    );
    anyhow::ensure!(
        !to.exists(),
        "{} already exists: choose a new file",
        to.display()
    );
    let src = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("cannot open {}", from.display()))?;
    src.busy_timeout(BUSY_TIMEOUT)?;
    let mut dst =
        Connection::open(to).with_context(|| format!("cannot create {}", to.display()))?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
    // Copy in steps, letting the server write between them; a write during the copy restarts
    // it, so a busy server still ends with a consistent copy.
    backup.run_to_completion(256, Duration::from_millis(5), None)?;
    Ok(())
}

// ---- rows ----------------------------------------------------------------------------------

fn parse_conversation(record: &str) -> StoreResult<Conversation> {
    serde_json::from_str(record).map_err(|e| corrupt("a stored conversation does not parse", e))
}

fn parse_event(seq: u64, at: u64, body: &str) -> StoreResult<Event> {
    let body: EventBody =
        serde_json::from_str(body).map_err(|e| corrupt("a stored event does not parse", e))?;
    Ok(Event { seq, at, body })
}

fn to_json(value: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| corrupt("cannot encode a record", e))
}

/// The conversation and its place in line, if it exists, as the database has it.
fn read_row(
    conn: &Connection,
    id: &ConversationId,
) -> StoreResult<Option<(Conversation, Option<u64>)>> {
    let row: Option<(String, Option<i64>)> = conn
        .prepare_cached("SELECT record, ticket FROM conversations WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_error)?;
    row.map(|(record, ticket)| Ok((parse_conversation(&record)?, ticket.map(|t| t as u64))))
        .transpose()
}

/// The conversation and its place in line, for a step that changes it: from the live
/// conversations when they have it (no read, no parse), else from the database.
fn load_existing(tx: &mut Tx<'_>, id: &ConversationId) -> StoreResult<(Conversation, Option<u64>)> {
    match tx.known(id) {
        Known::Kept(row) => Ok((row.conversation.clone(), row.ticket)),
        Known::Erased => Err(StoreError::NotFound(id.clone())),
        Known::Dropped => read_row(tx, id)?.ok_or_else(|| StoreError::NotFound(id.clone())),
    }
}

/// Writes `c` (record and look-up columns) and its place in line, and keeps it live. The
/// look-up columns are indexed: they are written only when they changed (most steps change only
/// the record), so a message does not rewrite five index entries.
fn save(tx: &mut Tx<'_>, c: &Conversation, ticket: Option<u64>) -> StoreResult<()> {
    write_row(tx, c, ticket)?;
    tx.keep(Row {
        conversation: c.clone(),
        ticket,
    });
    Ok(())
}

fn write_row(conn: &Connection, c: &Conversation, ticket: Option<u64>) -> StoreResult<()> {
    let record = to_json(c)?;
    conn.prepare_cached("UPDATE conversations SET record = ?2, updated = ?3 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![c.id.as_str(), record, c.updated as i64]))
        .and_then(|_| {
            conn.prepare_cached(
                "UPDATE conversations SET state = ?2, ticket = ?3, agent = ?4, assigned_at = ?5
                 WHERE id = ?1 AND (state IS NOT ?2 OR ticket IS NOT ?3 OR agent IS NOT ?4
                                    OR assigned_at IS NOT ?5)",
            )?
            .execute(params![
                c.id.as_str(),
                c.state.name(),
                ticket.map(|t| t as i64),
                c.agent,
                c.assigned_at.map(|t| t as i64),
            ])
        })
        .map_err(db_error)?;
    Ok(())
}

fn insert_event(
    conn: &Connection,
    id: &ConversationId,
    event: &Event,
    client_key: Option<&str>,
) -> StoreResult<()> {
    let body = to_json(&event.body)?;
    conn.prepare_cached(
        "INSERT INTO events (conversation, seq, at, body, client_key) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id.as_str(),
            event.seq as i64,
            event.at as i64,
            body,
            client_key
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

/// The seq of the item stored under `client_key`, if any.
fn seq_of(conn: &Connection, id: &ConversationId, client_key: &str) -> StoreResult<Option<u64>> {
    conn.prepare_cached("SELECT seq FROM events WHERE conversation = ?1 AND client_key = ?2")
        .and_then(|mut s| {
            s.query_row(params![id.as_str(), client_key], |r| r.get::<_, i64>(0))
                .optional()
        })
        .map(|seq| seq.map(|s| s as u64))
        .map_err(db_error)
}

fn counter(conn: &Connection, name: &str) -> StoreResult<u64> {
    conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")
        .and_then(|mut s| s.query_row([name], |r| r.get::<_, i64>(0)).optional())
        .map(|v| v.unwrap_or(0) as u64)
        .map_err(db_error)
}

fn set_counter(conn: &Connection, name: &str, value: u64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![name, value as i64]))
    .map_err(db_error)?;
    Ok(())
}

/// How many chats `agent` has.
fn load_of(conn: &Connection, agent: &str) -> StoreResult<usize> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM conversations WHERE state = 'assigned' AND agent = ?1",
    )
    .and_then(|mut s| s.query_row([agent], |r| r.get::<_, i64>(0)))
    .map(|n| n as usize)
    .map_err(db_error)
}

/// Records that `agent` was just given a conversation (round-robin among equals).
fn given(conn: &Connection, agent: &str, now: u64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO agents (id, last_assigned) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET last_assigned = excluded.last_assigned",
    )
    .and_then(|mut s| s.execute(params![agent, now as i64]))
    .map_err(db_error)?;
    Ok(())
}

/// Numbers `body` as `c`'s next item, stores it (under `client_key`, if any) and the record,
/// and queues its publication. An offline message joins the follow-up list.
fn append_to(
    conn: &mut Tx<'_>,
    c: &mut Conversation,
    ticket: Option<u64>,
    body: EventBody,
    client_key: Option<&str>,
    effects: &mut Effects,
) -> StoreResult<Event> {
    let offline = matches!(body, EventBody::OfflineMessage { .. });
    let was_waiting = c.needs_follow_up;
    let event = bookkeeping::record(c, body, now_ms());
    insert_event(conn, &c.id, &event, client_key)?;
    save(conn, c, ticket)?;
    if offline && !was_waiting {
        let place = counter(conn, "follow_up")? + 1;
        set_counter(conn, "follow_up", place)?;
        conn.prepare_cached("UPDATE conversations SET follow_up = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![c.id.as_str(), place as i64]))
            .map_err(db_error)?;
    }
    if offline {
        effects.routing();
    }
    effects.publish(&c.id, Signal::Event(event.clone()));
    Ok(event)
}

fn ids(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<ConversationId>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let raw: Vec<String> = stmt
        .query_map(args, |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(db_error)?;
    raw.iter()
        .map(|i| ConversationId::parse(i).ok_or_else(|| corrupt("a stored conversation id", i)))
        .collect()
}

#[async_trait]
impl ConversationLog for SqliteStore {
    async fn create(
        &self,
        visitor: VisitorInfo,
        visitor_key: Option<VisitorKey>,
    ) -> StoreResult<(Conversation, Token)> {
        let id = ConversationId::random();
        let token = Token::new(id.clone());
        let mut conversation = Conversation::new(id, visitor);
        conversation.visitor_key = visitor_key;
        let (c, t) = (conversation.clone(), token.clone());
        self.writer
            .step(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO conversations (id, secret, record, state, visitor_key, created,
                     updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        c.id.as_str(),
                        t.secret(),
                        to_json(&c)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                        c.state.name(),
                        c.visitor_key.as_ref().map(VisitorKey::as_str),
                        c.created as i64,
                        c.updated as i64,
                    ])
                })
                .map_err(db_error)?;
                conn.keep(Row {
                    conversation: c,
                    ticket: None,
                });
                Ok(((), Effects::default()))
            })
            .await?;
        Ok((conversation, token))
    }
    async fn visitor_conversations(&self, key: &VisitorKey) -> StoreResult<Vec<ConversationId>> {
        self.read(|conn| {
            ids(
                conn,
                "SELECT id FROM conversations WHERE visitor_key = ?1 ORDER BY created, n",
                [key.as_str()],
            )
        })
    }
    async fn get_with_token(
        &self,
        id: &ConversationId,
    ) -> StoreResult<Option<(Conversation, Token)>> {
        let row: Option<(String, String)> = self.read(|conn| {
            conn.prepare_cached("SELECT secret, record FROM conversations WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(db_error)
        })?;
        row.map(|(secret, record)| {
            Ok((
                parse_conversation(&record)?,
                Token::from_parts(id.clone(), secret),
            ))
        })
        .transpose()
    }
    async fn resume(&self, token: &Token) -> StoreResult<Option<Conversation>> {
        let row: Option<(String, String)> = self.read(|conn| {
            conn.prepare_cached("SELECT secret, record FROM conversations WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([token.conversation.as_str()], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(db_error)
        })?;
        match row {
            Some((secret, record))
                if token.matches(&Token::from_parts(
                    token.conversation.clone(),
                    secret.clone(),
                )) =>
            {
                Ok(Some(parse_conversation(&record)?))
            }
            _ => Ok(None),
        }
    }
    async fn get(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        // Read from the file, not from the live conversations: another process (`frontdesk
        // forget`) may have changed it since the writer last looked.
        Ok(self.read(|conn| read_row(conn, id))?.map(|(c, _)| c))
    }
    async fn append(&self, id: &ConversationId, body: EventBody) -> StoreResult<Event> {
        let id = id.clone();
        self.writer
            .step(move |conn| {
                let (mut c, ticket) = load_existing(conn, &id)?;
                let mut effects = Effects::default();
                let event = append_to(conn, &mut c, ticket, body, None, &mut effects)?;
                Ok((event, effects))
            })
            .await
    }
    async fn append_once(
        &self,
        id: &ConversationId,
        body: EventBody,
        client_key: Option<&str>,
        owner: Option<&str>,
    ) -> StoreResult<Option<Appended>> {
        let id = id.clone();
        let client_key = client_key.map(str::to_owned);
        let owner = owner.map(str::to_owned);
        self.writer
            .step(move |conn| {
                let (mut c, ticket) = load_existing(conn, &id)?;
                let mut effects = Effects::default();
                // A resend of a stored message is a duplicate even after the chat moved on.
                if let Some(key) = &client_key
                    && let Some(seq) = seq_of(conn, &id, key)?
                {
                    return Ok((Some(Appended::Duplicate { seq }), effects));
                }
                if !owner
                    .as_deref()
                    .is_none_or(|agent| bookkeeping::owns(&c, agent))
                {
                    return Ok((None, effects));
                }
                let event = append_to(
                    conn,
                    &mut c,
                    ticket,
                    body,
                    client_key.as_deref(),
                    &mut effects,
                )?;
                Ok((Some(Appended::New(event)), effects))
            })
            .await
    }
    async fn turn(&self, id: &ConversationId, turn: Turn) -> StoreResult<TurnOutcome> {
        let id = id.clone();
        self.writer
            .step(move |conn| {
                let (mut c, ticket) = load_existing(conn, &id)?;
                let mut effects = Effects::default();
                let key = turn.visitor.as_ref().and_then(|(_, key)| key.clone());
                let seen = match &key {
                    Some(key) => seq_of(conn, &id, key)?,
                    None => None,
                };
                let next_ticket = counter(conn, "ticket")? + 1;
                let (outcome, moved) =
                    bookkeeping::turn(&mut c, ticket, turn, seen, next_ticket, now_ms());
                let TurnOutcome::Done { events, .. } = &outcome else {
                    return Ok((outcome, effects));
                };
                for (n, event) in events.iter().enumerate() {
                    // With a key, the first event is the visitor's item.
                    let key = key.as_deref().filter(|_| n == 0);
                    insert_event(conn, &id, event, key)?;
                    effects.publish(&id, Signal::Event(event.clone()));
                }
                let ticket = match &moved {
                    Some(moved) => {
                        if moved.ticket == Some(next_ticket) {
                            set_counter(conn, "ticket", next_ticket)?;
                        }
                        effects.routing();
                        moved.ticket
                    }
                    None => ticket,
                };
                save(conn, &c, ticket)?;
                Ok((outcome, effects))
            })
            .await
    }
    async fn events_after(&self, id: &ConversationId, after: u64) -> StoreResult<Vec<Event>> {
        self.read(|conn| {
            let exists: bool = conn
                .prepare_cached("SELECT 1 FROM conversations WHERE id = ?1")
                .and_then(|mut s| s.exists([id.as_str()]))
                .map_err(db_error)?;
            if !exists {
                return Err(StoreError::NotFound(id.clone()));
            }
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, at, body FROM events WHERE conversation = ?1 AND seq > ?2
                     ORDER BY seq",
                )
                .map_err(db_error)?;
            // A `last_seq` past what SQLite's integers hold asks for nothing newer.
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            let rows: Vec<(i64, i64, String)> = stmt
                .query_map(params![id.as_str(), after], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .and_then(|rows| rows.collect())
                .map_err(db_error)?;
            rows.iter()
                .map(|(seq, at, body)| parse_event(*seq as u64, *at as u64, body))
                .collect()
        })
    }
    async fn transition(
        &self,
        id: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        agent: Option<&str>,
        notice: Option<Notice>,
    ) -> StoreResult<bool> {
        let id = id.clone();
        let agent = agent.map(str::to_owned);
        self.writer
            .step(move |conn| {
                let (mut c, ticket) = load_existing(conn, &id)?;
                let mut effects = Effects::default();
                let next_ticket = counter(conn, "ticket")? + 1;
                let step = Transition {
                    from,
                    to,
                    agent: agent.as_deref(),
                };
                let Some(moved) = bookkeeping::transition(
                    &mut c,
                    ticket,
                    step,
                    notice.as_ref(),
                    next_ticket,
                    now_ms(),
                ) else {
                    return Ok((false, effects));
                };
                if moved.ticket == Some(next_ticket) {
                    set_counter(conn, "ticket", next_ticket)?;
                }
                match notice {
                    Some(notice) => {
                        let body = EventBody::Notice { notice };
                        append_to(conn, &mut c, moved.ticket, body, None, &mut effects)?;
                    }
                    None => save(conn, &c, moved.ticket)?,
                }
                effects.routing();
                Ok((true, effects))
            })
            .await
    }
    async fn claim(
        &self,
        id: &ConversationId,
        agent: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        let id = id.clone();
        let agent = agent.to_owned();
        self.writer
            .step(move |conn| {
                let (mut c, ticket) = load_existing(conn, &id)?;
                let mut effects = Effects::default();
                let now = now_ms();
                let load = load_of(conn, &agent)?;
                let waited = match bookkeeping::claim(&mut c, &agent, load, capacity, now) {
                    Ok(waited) => waited,
                    Err(refused) => return Ok((refused, effects)),
                };
                // The ticket stays with the conversation: a requeue takes back its place.
                match notice {
                    Some(notice) => {
                        let body = EventBody::Notice { notice };
                        append_to(conn, &mut c, ticket, body, None, &mut effects)?;
                    }
                    None => save(conn, &c, ticket)?,
                }
                given(conn, &agent, now)?;
                conn.prepare_cached("INSERT INTO waits (ms) VALUES (?1)")
                    .and_then(|mut s| s.execute([waited as i64]))
                    .and_then(|_| {
                        conn.prepare_cached(
                            "DELETE FROM waits WHERE n <= (SELECT MAX(n) FROM waits) - ?1",
                        )?
                        .execute([RECENT_WAITS as i64])
                    })
                    .map_err(db_error)?;
                effects.routing();
                Ok((Claim::Claimed, effects))
            })
            .await
    }
    async fn transfer(
        &self,
        id: &ConversationId,
        from: &str,
        to: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        let id = id.clone();
        let (from, to) = (from.to_owned(), to.to_owned());
        self.writer
            .step(move |conn| {
                let (mut c, ticket) = load_existing(conn, &id)?;
                let mut effects = Effects::default();
                let now = now_ms();
                let load = load_of(conn, &to)?;
                let moved = bookkeeping::transfer(&mut c, &from, &to, load, capacity, now);
                if moved == Claim::Claimed {
                    match notice {
                        Some(notice) => {
                            let body = EventBody::Notice { notice };
                            append_to(conn, &mut c, ticket, body, None, &mut effects)?;
                        }
                        None => save(conn, &c, ticket)?,
                    }
                    given(conn, &to, now)?;
                    effects.routing();
                }
                Ok((moved, effects))
            })
            .await
    }
    async fn follow_ups(&self) -> StoreResult<Vec<ConversationId>> {
        self.read(|conn| {
            ids(
                conn,
                "SELECT id FROM conversations WHERE follow_up IS NOT NULL ORDER BY follow_up",
                [],
            )
        })
    }
    async fn mark_followed_up(&self, id: &ConversationId) -> StoreResult<()> {
        let id = id.clone();
        self.writer
            .step(move |conn| {
                let (mut c, ticket) = load_existing(conn, &id)?;
                c.needs_follow_up = false;
                save(conn, &c, ticket)?;
                conn.prepare_cached("UPDATE conversations SET follow_up = NULL WHERE id = ?1")
                    .and_then(|mut s| s.execute([id.as_str()]))
                    .map_err(db_error)?;
                let mut effects = Effects::default();
                effects.routing();
                Ok(((), effects))
            })
            .await
    }
    async fn delete(&self, id: &ConversationId) -> StoreResult<bool> {
        let id = id.clone();
        let deleted = self
            .writer
            .step(move |conn| {
                let mut effects = Effects::default();
                let row: Option<(Option<i64>, Option<String>, Option<i64>)> = conn
                    .prepare_cached(
                        "SELECT ticket, agent, follow_up FROM conversations WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                            .optional()
                    })
                    .map_err(db_error)?;
                let Some((ticket, agent, follow_up)) = row else {
                    return Ok((false, effects));
                };
                conn.prepare_cached("DELETE FROM events WHERE conversation = ?1")
                    .and_then(|mut s| s.execute([id.as_str()]))
                    .and_then(|_| {
                        conn.prepare_cached("DELETE FROM conversations WHERE id = ?1")?
                            .execute([id.as_str()])
                    })
                    .and_then(|_| {
                        conn.prepare_cached("DELETE FROM delivered WHERE conversation = ?1")?
                            .execute([id.as_str()])
                    })
                    .map_err(db_error)?;
                conn.erased(&id);
                if ticket.is_some() || agent.is_some() || follow_up.is_some() {
                    effects.routing();
                }
                Ok((true, effects))
            })
            .await?;
        if deleted {
            self.checkpoint().await;
        }
        Ok(deleted)
    }
}

#[async_trait]
impl Queue for SqliteStore {
    async fn queue(&self) -> StoreResult<Vec<ConversationId>> {
        self.read(|conn| {
            ids(
                conn,
                "SELECT id FROM conversations WHERE state = 'queued' ORDER BY ticket",
                [],
            )
        })
    }
    async fn average_wait(&self) -> StoreResult<Option<u64>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT COUNT(*), COALESCE(SUM(ms), 0)
                 FROM (SELECT ms FROM waits ORDER BY n DESC LIMIT ?1)",
            )
            .and_then(|mut s| {
                s.query_row([RECENT_WAITS as i64], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
            })
            .map(|(n, sum)| (n > 0).then(|| sum as u64 / n as u64))
            .map_err(db_error)
        })
    }
    async fn workloads(&self) -> StoreResult<Vec<Workload>> {
        let (last_assigned, chats) = self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id, last_assigned FROM agents")
                .map_err(db_error)?;
            let last: Vec<(String, i64)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(db_error)?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT agent, id, assigned_at FROM conversations WHERE state = 'assigned'
                     ORDER BY assigned_at, n",
                )
                .map_err(db_error)?;
            let chats: Vec<(String, String, Option<i64>)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|rows| rows.collect())
                .map_err(db_error)?;
            Ok((last, chats))
        })?;
        let mut agents: BTreeMap<String, Workload> = BTreeMap::new();
        fn entry<'a>(agents: &'a mut BTreeMap<String, Workload>, id: &str) -> &'a mut Workload {
            agents.entry(id.to_owned()).or_insert_with(|| Workload {
                id: id.to_owned(),
                chats: Vec::new(),
                last_assigned: 0,
            })
        }
        for (id, last) in last_assigned {
            entry(&mut agents, &id).last_assigned = last as u64;
        }
        for (agent, id, since) in chats {
            let id = ConversationId::parse(&id).ok_or_else(|| corrupt("a stored id", &id))?;
            entry(&mut agents, &agent).chats.push(AssignedChat {
                id,
                since: since.unwrap_or(0) as u64,
            });
        }
        Ok(agents.into_values().collect())
    }
}

#[async_trait]
impl Logins for SqliteStore {
    async fn create_session(&self, agent: &str, ttl: Duration) -> StoreResult<String> {
        let secret = random_secret();
        let (agent, s) = (agent.to_owned(), secret.clone());
        let expires = now_ms() + ttl.as_millis() as u64;
        self.writer
            .step(move |conn| {
                conn.prepare_cached("DELETE FROM sessions WHERE expires <= ?1")
                    .and_then(|mut st| st.execute([now_ms() as i64]))
                    .and_then(|_| {
                        conn.prepare_cached(
                            "INSERT INTO sessions (secret, agent, expires) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![s, agent, expires as i64])
                    })
                    .map_err(db_error)?;
                Ok(((), Effects::default()))
            })
            .await?;
        Ok(secret)
    }
    async fn session_agent(&self, secret: &str) -> StoreResult<Option<String>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT agent FROM sessions WHERE secret = ?1 AND expires > ?2")
                .and_then(|mut s| {
                    s.query_row(params![secret, now_ms() as i64], |r| r.get(0))
                        .optional()
                })
                .map_err(db_error)
        })
    }
    async fn end_session(&self, secret: &str) -> StoreResult<()> {
        let secret = secret.to_owned();
        self.writer
            .step(move |conn| {
                conn.prepare_cached("DELETE FROM sessions WHERE secret = ?1")
                    .and_then(|mut s| s.execute([secret]))
                    .map_err(db_error)?;
                Ok(((), Effects::default()))
            })
            .await
    }
}

#[async_trait]
impl Tokens for SqliteStore {
    async fn add_token(&self, token: ApiToken) -> StoreResult<bool> {
        let scopes =
            serde_json::to_string(&token.scopes).map_err(|e| corrupt("token scopes", e))?;
        self.writer
            .step(move |conn| {
                let added = conn
                    .prepare_cached(
                        "INSERT INTO api_tokens (name, hash, scopes, created) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .and_then(|mut s| {
                        s.execute(params![token.name, token.hash, scopes, token.created as i64])
                    })
                    .map_err(db_error)?;
                Ok((added == 1, Effects::default()))
            })
            .await
    }
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiToken>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT name, hash, scopes, created FROM api_tokens WHERE hash = ?1",
            )
            .and_then(|mut s| s.query_row([hash], token_row).optional())
            .map_err(db_error)?
            .transpose()
        })
    }
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT name, hash, scopes, created FROM api_tokens ORDER BY name")
                .and_then(|mut s| s.query_map([], token_row)?.collect::<Result<Vec<_>, _>>())
                .map_err(db_error)?
                .into_iter()
                .collect()
        })
    }
    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.writer
            .step(move |conn| {
                let removed = conn
                    .prepare_cached("DELETE FROM api_tokens WHERE name = ?1")
                    .and_then(|mut s| s.execute([name]))
                    .map_err(db_error)?;
                Ok((removed == 1, Effects::default()))
            })
            .await
    }
}

#[async_trait]
impl Edits for SqliteStore {
    async fn record_edit(&self, edit: KbEdit) -> StoreResult<()> {
        let record = serde_json::to_string(&edit).map_err(|e| corrupt("edit", e))?;
        self.writer
            .step(move |conn| {
                conn.prepare_cached("INSERT INTO kb_edits (at, record) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute(params![edit.at as i64, record]))
                    .and_then(|_| {
                        conn.prepare_cached(
                            "DELETE FROM kb_edits WHERE n <= (SELECT MAX(n) FROM kb_edits) - ?1",
                        )?
                        .execute([EDITS_KEPT as i64])
                    })
                    .map_err(db_error)?;
                Ok(((), Effects::default()))
            })
            .await
    }
    async fn edits(&self, limit: usize) -> StoreResult<Vec<KbEdit>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT record FROM kb_edits ORDER BY n DESC LIMIT ?1")
                .and_then(|mut s| {
                    s.query_map([limit as i64], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db_error)?
                .iter()
                .map(|r| serde_json::from_str(r).map_err(|e| corrupt("edit", e)))
                .collect()
        })
    }
}

/// Writes an outbox entry back (its state, due time and record).
fn write_mail(conn: &rusqlite::Connection, e: &OutboxEntry) -> StoreResult<()> {
    let record = serde_json::to_string(e).map_err(|x| corrupt("mail", x))?;
    conn.prepare_cached("UPDATE outbox SET pending = ?1, next_at = ?2, record = ?3 WHERE key = ?4")
        .and_then(|mut s| {
            s.execute(params![
                e.state.pending(),
                e.next_at as i64,
                record,
                e.mail.key
            ])
        })
        .map_err(db_error)?;
    Ok(())
}

fn read_mail(record: &str) -> StoreResult<OutboxEntry> {
    serde_json::from_str(record).map_err(|e| corrupt("mail", e))
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn queue_mail(&self, mail: Mail, now: u64, due: u64) -> StoreResult<bool> {
        let entry = OutboxEntry::queued(mail, now, due);
        let record = serde_json::to_string(&entry).map_err(|e| corrupt("mail", e))?;
        self.writer
            .step(move |conn| {
                let added = conn
                    .prepare_cached(
                        "INSERT INTO outbox (key, pending, next_at, record) VALUES (?1, 1, ?2, ?3)
                         ON CONFLICT (key) DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![entry.mail.key, due as i64, record]))
                    .map_err(db_error)?;
                Ok((added == 1, Effects::default()))
            })
            .await
    }
    async fn lease_mails(
        &self,
        now: u64,
        lease_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        self.writer
            .step(move |conn| {
                let records: Vec<String> = conn
                    .prepare_cached(
                        "SELECT record FROM outbox WHERE pending = 1 AND next_at <= ?1
                         ORDER BY next_at, n LIMIT ?2",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![now as i64, limit as i64], |r| r.get(0))?
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(db_error)?;
                let mut leased = Vec::new();
                for record in records {
                    let mut e = read_mail(&record)?;
                    e.next_at = now + lease_ms;
                    write_mail(conn, &e)?;
                    leased.push(e);
                }
                Ok((leased, Effects::default()))
            })
            .await
    }
    async fn record_attempt(&self, key: &str, attempt: Attempt, now: u64) -> StoreResult<()> {
        let key = key.to_owned();
        self.writer
            .step(move |conn| {
                let record: Option<String> = conn
                    .prepare_cached("SELECT record FROM outbox WHERE key = ?1")
                    .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
                    .map_err(db_error)?;
                let Some(record) = record else {
                    return Ok(((), Effects::default()));
                };
                let mut e = read_mail(&record)?;
                e.record(attempt, now);
                write_mail(conn, &e)?;
                // Finished mails beyond the newest `MAILS_KEPT` go.
                conn.prepare_cached(
                    "DELETE FROM outbox WHERE pending = 0 AND n < (
                         SELECT n FROM outbox WHERE pending = 0 ORDER BY n DESC LIMIT 1 OFFSET ?1)",
                )
                .and_then(|mut s| s.execute([MAILS_KEPT as i64 - 1]))
                .map_err(db_error)?;
                Ok(((), Effects::default()))
            })
            .await
    }
    async fn mails(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT record FROM outbox ORDER BY n DESC LIMIT ?1")
                .and_then(|mut s| {
                    s.query_map([limit as i64], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db_error)?
                .iter()
                .map(|r| read_mail(r))
                .collect()
        })
    }
    async fn drop_mail(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.writer
            .step(move |conn| {
                conn.prepare_cached("DELETE FROM outbox WHERE key = ?1")
                    .and_then(|mut s| s.execute([&key]))
                    .map_err(db_error)?;
                Ok(((), Effects::default()))
            })
            .await
    }
    async fn mail_key(&self) -> StoreResult<Vec<u8>> {
        let made = rand::random::<[u8; 32]>().to_vec();
        self.writer
            .step(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO secrets (name, value) VALUES ('mail', ?1)
                     ON CONFLICT (name) DO NOTHING",
                )
                .and_then(|mut s| s.execute([&made]))
                .map_err(db_error)?;
                let key: Vec<u8> = conn
                    .prepare_cached("SELECT value FROM secrets WHERE name = 'mail'")
                    .and_then(|mut s| s.query_row([], |r| r.get(0)))
                    .map_err(db_error)?;
                Ok((key, Effects::default()))
            })
            .await
    }
    async fn raise_delivered(&self, id: &ConversationId, seq: u64) -> StoreResult<()> {
        let id = id.to_string();
        self.writer
            .step(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO delivered (conversation, seq) VALUES (?1, ?2)
                     ON CONFLICT (conversation) DO UPDATE SET seq = max(seq, excluded.seq)",
                )
                .and_then(|mut s| s.execute(params![id, seq as i64]))
                .map_err(db_error)?;
                Ok(((), Effects::default()))
            })
            .await
    }
    async fn delivered(&self, id: &ConversationId) -> StoreResult<u64> {
        let id = id.to_string();
        self.read(move |conn| {
            let seq: Option<i64> = conn
                .prepare_cached("SELECT seq FROM delivered WHERE conversation = ?1")
                .and_then(|mut s| s.query_row([&id], |r| r.get(0)).optional())
                .map_err(db_error)?;
            Ok(seq.unwrap_or(0) as u64)
        })
    }
}

#[async_trait]
impl Reports for SqliteStore {
    async fn conversations_created(&self, from: u64, to: u64) -> StoreResult<Vec<ConversationId>> {
        self.read(|conn| {
            ids(
                conn,
                "SELECT id FROM conversations WHERE created >= ?1 AND created < ?2
                 ORDER BY created, n",
                params![from as i64, to as i64],
            )
        })
    }
    async fn inactive_before(&self, before: u64) -> StoreResult<Vec<ConversationId>> {
        self.read(|conn| {
            ids(
                conn,
                "SELECT id FROM conversations WHERE updated < ?1",
                [before as i64],
            )
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn bus(&self) -> &dyn Bus {
        self.bus.as_ref()
    }
    fn presence(&self) -> &dyn PresenceBoard {
        &self.presence
    }
    async fn ping(&self) -> StoreResult<()> {
        // Every table the server uses is there and readable (a damaged or half-restored file
        // fails here)...
        self.read(|conn| {
            for table in [
                "conversations",
                "events",
                "counters",
                "sessions",
                "api_tokens",
                "kb_edits",
                "outbox",
                "secrets",
                "delivered",
            ] {
                conn.prepare(&format!("SELECT 1 FROM {table} LIMIT 1"))
                    .and_then(|mut s| s.exists([]))
                    .map_err(db_error)?;
            }
            Ok(())
        })?;
        // ...and a write commits (the disk is not full or read-only, the writer is not stuck).
        self.writer
            .step(|conn| {
                set_counter(conn, "ready_check", now_ms())?;
                Ok(((), Effects::default()))
            })
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::writer::Effects;
    use super::{SqliteStore, StoreError, StoreResult, load_existing, save};
    use crate::ports::{ConversationLog, Reports, Store};

    /// A store on a fresh database file. The folder is leaked on purpose: it must outlive the
    /// store, and the test process's temporary files are few and small.
    pub async fn fresh() -> Arc<dyn Store> {
        let dir = tempfile::tempdir().expect("a temporary folder").keep();
        Arc::new(SqliteStore::open(&dir.join("frontdesk.db")).expect("a fresh database opens"))
    }

    crate::store_conformance_tests!(fresh());

    #[tokio::test]
    async fn an_erased_conversations_words_leave_the_database_file_and_its_log() {
        use crate::conversation::Turn;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        let store = SqliteStore::open(&file).unwrap();
        let (c, _) = store
            .create(crate::conversation::VisitorInfo::default(), None)
            .await
            .unwrap();
        let marker = "my-secret-address-7f3a9c";
        for n in 0..3 {
            let said = format!("{marker} message {n}");
            store
                .turn(&c.id, Turn::message(said, format!("c{n}")))
                .await
                .unwrap();
        }
        let (kept, _) = store
            .create(crate::conversation::VisitorInfo::default(), None)
            .await
            .unwrap();
        store
            .turn(&kept.id, Turn::message("still here".into(), "k1".into()))
            .await
            .unwrap();
        assert!(store.delete(&c.id).await.unwrap());
        let found_in = |name: &str| {
            let path = dir.path().join(name);
            std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(marker.len()).any(|w| w == marker.as_bytes()))
        };
        for name in ["frontdesk.db", "frontdesk.db-wal"] {
            assert!(!found_in(name), "the erased words are still in {name}");
        }
        assert_eq!(store.events_after(&kept.id, 0).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_row_that_does_not_read_back_is_an_error_not_a_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        let store = SqliteStore::open(&file).unwrap();
        let (c, _) = store
            .create(crate::conversation::VisitorInfo::default(), None)
            .await
            .unwrap();
        drop(store);
        let other = rusqlite::Connection::open(&file).unwrap();
        other
            .execute(
                "UPDATE conversations SET record = replace(record, '\"bot\"', '\"limbo\"')",
                [],
            )
            .unwrap();
        let store = SqliteStore::open(&file).unwrap();
        assert!(matches!(
            store.get(&c.id).await,
            Err(crate::ports::StoreError::Corrupt(_))
        ));
    }

    #[tokio::test]
    async fn what_another_process_erases_is_gone_for_the_server_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        let server = SqliteStore::open(&file).unwrap();
        let visitor = crate::conversation::VisitorInfo::default;
        let (idle, _) = server.create(visitor(), None).await.unwrap();
        let (busy, _) = server.create(visitor(), None).await.unwrap();
        let hello = crate::conversation::EventBody::VisitorMessage {
            text: "hello".into(),
            client_id: "c1".into(),
        };
        server.append(&busy.id, hello.clone()).await.unwrap();
        // `frontdesk forget` in another process, while the server keeps both live.
        let cli = SqliteStore::open(&file).unwrap();
        assert!(cli.delete(&idle.id).await.unwrap());
        assert!(cli.delete(&busy.id).await.unwrap());
        drop(cli);
        // Reads see it at once, and so does the next write.
        assert!(server.get(&idle.id).await.unwrap().is_none());
        assert!(matches!(
            server.append(&busy.id, hello).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_step_that_fails_leaves_the_live_conversation_as_committed() {
        let dir = tempfile::tempdir().unwrap();
        let server = SqliteStore::open(&dir.path().join("frontdesk.db")).unwrap();
        let (c, _) = server
            .create(crate::conversation::VisitorInfo::default(), None)
            .await
            .unwrap();
        let id = c.id.clone();
        let failed = server
            .writer
            .step(move |tx| -> StoreResult<((), Effects)> {
                let (mut c, ticket) = load_existing(tx, &id)?;
                c.last_seq = 41;
                save(tx, &c, ticket)?;
                Err(StoreError::Unavailable(
                    "the step gives up after saving".into(),
                ))
            })
            .await;
        assert!(failed.is_err());
        let id = c.id.clone();
        let seq = server
            .writer
            .step(move |tx| Ok((load_existing(tx, &id)?.0.last_seq, Effects::default())))
            .await
            .unwrap();
        assert_eq!(seq, 0, "the next step starts from what was committed");
        assert_eq!(server.get(&c.id).await.unwrap().unwrap().last_seq, 0);
    }

    #[tokio::test]
    async fn version_1_reasons_become_a_resolution_or_go_when_the_database_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        let store = SqliteStore::open(&file).unwrap();
        let visitor = crate::conversation::VisitorInfo::default;
        let (closed, _) = store.create(visitor(), None).await.unwrap();
        let (back, _) = store.create(visitor(), None).await.unwrap();
        drop(store);
        // What version 1 wrote: one `reason` for the resolution and for a hand back.
        let conn = rusqlite::Connection::open(&file).unwrap();
        let v1 = "UPDATE conversations SET state = ?2,
                  record = json_set(record, '$.state', ?2, '$.reason', ?3) WHERE id = ?1";
        conn.execute(v1, [closed.id.as_str(), "closed", "solved"])
            .unwrap();
        conn.execute(v1, [back.id.as_str(), "bot", "handed_back"])
            .unwrap();
        // Version 1 had none of the later tables.
        conn.execute_batch("DROP TABLE api_tokens; DROP TABLE kb_edits; DROP TABLE outbox; DROP TABLE secrets; DROP TABLE delivered")
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let store = SqliteStore::open(&file).unwrap();
        let closed = store.get(&closed.id).await.unwrap().unwrap();
        assert_eq!(
            (closed.reason, closed.resolution.as_deref()),
            (None, Some("solved"))
        );
        let back = store.get(&back.id).await.unwrap().unwrap();
        assert_eq!((back.reason, back.resolution), (None, None));
    }

    #[tokio::test]
    async fn version_2_visitor_client_ids_keep_a_resend_from_being_stored_twice() {
        use crate::conversation::{Turn, TurnOutcome};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        let store = SqliteStore::open(&file).unwrap();
        let (c, _) = store.create(Default::default(), None).await.unwrap();
        let hi = || Turn::message("hi".into(), "m-1".into());
        assert!(matches!(
            store.turn(&c.id, hi()).await.unwrap(),
            TurnOutcome::Done { .. }
        ));
        drop(store);
        // Version 2 stored a visitor's client id as it came.
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute(
            "UPDATE events SET client_key = 'm-1' WHERE client_key IS NOT NULL",
            [],
        )
        .unwrap();
        // Version 2 had none of the later tables.
        conn.execute_batch("DROP TABLE api_tokens; DROP TABLE kb_edits; DROP TABLE outbox; DROP TABLE secrets; DROP TABLE delivered")
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        drop(conn);
        let store = SqliteStore::open(&file).unwrap();
        assert_eq!(
            store.turn(&c.id, hi()).await.unwrap(),
            TurnOutcome::Duplicate { seq: 1 },
            "the resend after the upgrade is recognised"
        );
    }

    #[tokio::test]
    async fn a_database_from_a_newer_frontdesk_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        drop(SqliteStore::open(&file).unwrap());
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.pragma_update(None, "user_version", super::schema::VERSION + 1)
            .unwrap();
        drop(conn);
        let err = format!("{:#}", SqliteStore::open(&file).err().expect("refused"));
        assert!(err.contains("newer"), "{err}");
    }

    /// A database with a few conversations, closed (its log checkpointed into the file).
    async fn closed_database(dir: &std::path::Path) -> std::path::PathBuf {
        let file = dir.join("frontdesk.db");
        let store = SqliteStore::open(&file).unwrap();
        for _ in 0..30 {
            let (c, _) = store.create(Default::default(), None).await.unwrap();
            let turn = crate::conversation::Turn::message("hello there".into(), "m-1".into());
            store.turn(&c.id, turn).await.unwrap();
        }
        drop(store);
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        file
    }

    fn refusal(file: &std::path::Path) -> String {
        format!("{:#}", SqliteStore::open(file).err().expect("refused"))
    }

    #[tokio::test]
    async fn damaged_pages_are_refused_at_start_with_the_way_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let file = closed_database(dir.path()).await;
        let mut bytes = std::fs::read(&file).unwrap();
        let page = 4096;
        assert!(bytes.len() > 4 * page, "several pages: {}", bytes.len());
        // Every page but the first (the header and the schema) is garbage.
        for (i, b) in bytes[page..].iter_mut().enumerate() {
            *b = (i * 7 + 13) as u8;
        }
        std::fs::write(&file, &bytes).unwrap();
        let err = refusal(&file);
        assert!(err.contains("damaged"), "{err}");
        assert!(
            err.contains("frontdesk backup"),
            "says how to recover: {err}"
        );
    }

    #[tokio::test]
    async fn a_bad_last_page_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = closed_database(dir.path()).await;
        let mut bytes = std::fs::read(&file).unwrap();
        let len = bytes.len();
        bytes[len - 4096..].fill(0xA5);
        std::fs::write(&file, &bytes).unwrap();
        assert!(refusal(&file).contains("damaged"));
    }

    #[tokio::test]
    async fn a_dropped_table_is_refused_at_start_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = closed_database(dir.path()).await;
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch("DROP TABLE events").unwrap();
        drop(conn);
        let err = refusal(&file);
        assert!(err.contains("table events"), "{err}");
        assert!(err.contains("frontdesk backup"), "{err}");
    }

    #[tokio::test]
    async fn an_empty_database_file_beside_a_log_with_data_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        let store = SqliteStore::open(&file).unwrap();
        store.create(Default::default(), None).await.unwrap();
        // A failed copy over the file while the log still holds the data.
        let wal = dir.path().join("frontdesk.db-wal");
        let log = std::fs::read(&wal).unwrap();
        assert!(!log.is_empty());
        drop(store);
        // The writer closes on its thread, and the last connection to close removes the log.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while wal.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::fs::write(&file, b"").unwrap();
        std::fs::write(&wal, &log).unwrap();
        let err = refusal(&file);
        assert!(
            err.contains("is empty") && err.contains("frontdesk.db-wal"),
            "{err}"
        );
        assert_eq!(
            std::fs::metadata(&wal).unwrap().len(),
            log.len() as u64,
            "kept"
        );
    }

    #[tokio::test]
    async fn another_applications_database_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("frontdesk.db");
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            .unwrap();
        drop(conn);
        let before = std::fs::read(&file).unwrap();
        let err = refusal(&file);
        assert!(
            err.contains("not a frontdesk database") && err.contains("invoices"),
            "{err}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), before, "nothing added");

        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.pragma_update(None, "application_id", 0x1234).unwrap();
        drop(conn);
        assert!(refusal(&file).contains("application id is 0x1234"));
    }

    #[tokio::test]
    async fn a_database_from_before_the_mark_is_opened_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let file = closed_database(dir.path()).await;
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.pragma_update(None, "application_id", 0).unwrap();
        drop(conn);
        let store = SqliteStore::open(&file).unwrap();
        assert_eq!(
            store
                .conversations_created(0, i64::MAX as u64)
                .await
                .unwrap()
                .len(),
            30
        );
        drop(store);
        let conn = rusqlite::Connection::open(&file).unwrap();
        let id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_ne!(id, 0, "marked as frontdesk's");
    }
}
