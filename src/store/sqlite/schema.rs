//! The database's layout and its migrations. `PRAGMA user_version` holds the schema version;
//! opening a database applies every later migration in one transaction, and a database newer than
//! this binary is refused (an older binary must not write a layout it does not know).
//!
//! The conversation record is kept whole as JSON (`record`); the columns beside it are copies of
//! the fields the store looks things up by (state, place in line, agent, visitor key, times), and
//! every write sets both from the same `Conversation`. `n` orders conversations created in the
//! same millisecond. Events are a rowid table with an index on (conversation, seq), not a
//! WITHOUT ROWID table: a bot answer with its explanation is kilobytes, and large rows inside an
//! index b-tree spill to overflow pages that every look-up would walk.

use rusqlite::Connection;

/// One migration per version, in order: `MIGRATIONS[n]` takes version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: conversations, their logs, agents' assignment history, waits, login sessions, counters.
    "
    CREATE TABLE conversations (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        secret TEXT NOT NULL,
        record TEXT NOT NULL,
        state TEXT NOT NULL,
        ticket INTEGER,
        agent TEXT,
        assigned_at INTEGER,
        visitor_key TEXT,
        follow_up INTEGER,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE INDEX conversations_queue ON conversations(ticket) WHERE state = 'queued';
    CREATE INDEX conversations_agent ON conversations(agent, assigned_at) WHERE state = 'assigned';
    CREATE INDEX conversations_visitor ON conversations(visitor_key, created)
        WHERE visitor_key IS NOT NULL;
    CREATE INDEX conversations_created ON conversations(created);
    CREATE INDEX conversations_updated ON conversations(updated);
    CREATE INDEX conversations_follow_up ON conversations(follow_up) WHERE follow_up IS NOT NULL;
    CREATE TABLE events (
        n INTEGER PRIMARY KEY,
        conversation TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL,
        client_key TEXT
    );
    CREATE UNIQUE INDEX events_seq ON events(conversation, seq);
    CREATE UNIQUE INDEX events_client_key ON events(conversation, client_key)
        WHERE client_key IS NOT NULL;
    CREATE TABLE agents (
        id TEXT PRIMARY KEY NOT NULL,
        last_assigned INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE waits (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        ms INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        secret TEXT PRIMARY KEY NOT NULL,
        agent TEXT NOT NULL,
        expires INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE counters (
        name TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
    // 2: the queue reason and the resolution are two fields. Version 1 kept one `reason`:
    // `handed_back` back with the bot, the resolution once closed.
    "
    UPDATE conversations SET record = json_remove(record, '$.reason') WHERE state = 'bot';
    UPDATE conversations
        SET record = json_set(json_remove(record, '$.reason'), '$.resolution',
                              json_extract(record, '$.reason'))
        WHERE state = 'closed';
    ",
    // 3: visitors' and agents' client ids have a namespace each (`visitor:` beside `agent:`).
    "
    UPDATE events SET client_key = 'visitor:' || client_key
        WHERE client_key IS NOT NULL AND json_extract(body, '$.kind') = 'visitor_message';
    ",
    // 4: API tokens, by the SHA-256 of the token (never the token); scopes as a JSON list.
    "
    CREATE TABLE api_tokens (
        name TEXT PRIMARY KEY NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
    // 5: the editors' record (knowledge-base changes made from /admin, dismissed questions),
    // newest last, each a JSON record.
    "
    CREATE TABLE kb_edits (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    ",
    // 6: the mail outbox: one row per mail key (queued once), pending ones by due time.
    "
    CREATE TABLE outbox (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        pending INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (pending, next_at);
    ",
    // 7: secrets the store makes once (the mail key), and how far each conversation's visitor
    // has had it (in the chat or by mail).
    "
    CREATE TABLE secrets (
        name TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE delivered (
        conversation TEXT PRIMARY KEY NOT NULL,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
];

/// The schema version this binary writes.
pub(super) const VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings `conn`'s database up to `VERSION`.
pub(super) fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    anyhow::ensure!(
        current <= VERSION,
        "the database has schema version {current}, newer than this frontdesk knows ({VERSION}): \
         run a newer frontdesk or restore a backup"
    );
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration to schema version {}: {e}", n + 1))?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}
