//! What opening a database checks before anything is served from it: that the file is ours,
//! whole, and has the layout the migrations leave. A damaged file refused at start, with the way
//! to recover, is better than a server that says ready and then holds every message forever.
//!
//! Owns the start-up checks (`before_open`, `after_open`) and the `application_id` that marks a
//! frontdesk database. Leaves the migrations to `schema.rs`, and what a running server reports
//! to `/readyz` (`Store::ping`).

use std::path::Path;

use rusqlite::Connection;

use super::schema;

/// `PRAGMA application_id` of a frontdesk database: "FDSK". A database created before this
/// mark existed has 0 and our schema version; it is stamped on its next start.
const APPLICATION_ID: i32 = 0x4644_534B;

/// How to recover, appended to every refusal.
fn recovery(path: &Path) -> String {
    format!(
        "To recover, with frontdesk stopped: restore your newest copy made by `frontdesk backup` \
         (`cp <backup> {db}` and remove {db}-wal and {db}-shm if they exist), or move {db} \
         aside to start with an empty store. docs/operations.md, \"A damaged database\", has the \
         details.",
        db = path.display()
    )
}

/// Checks the files before SQLite opens them: an empty database file beside a log (WAL) that
/// holds data is a failed copy or restore, and opening it would start empty and then discard
/// the log, every conversation in it.
pub(super) fn before_open(path: &Path) -> anyhow::Result<()> {
    let Ok(db) = std::fs::metadata(path) else {
        return Ok(()); // a new database
    };
    let wal = path.with_file_name(format!(
        "{}-wal",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    anyhow::ensure!(
        db.len() > 0 || wal_len == 0,
        "{} is empty, but its log {} holds {wal_len} bytes: the database file was replaced \
         (a failed copy?) and starting would lose what the log holds. {}",
        path.display(),
        wal.display(),
        recovery(path)
    );
    Ok(())
}

/// Checks an open database before migrating it: it is a frontdesk database (or a new, empty
/// one) and its pages are sound.
pub(super) fn before_migrate(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let refuse = |what: String| anyhow::anyhow!("{what}. {}", recovery(path));
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| refuse(format!("{} cannot be read: {e}", path.display())))?;
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| refuse(format!("{} cannot be read: {e}", path.display())))?;
    let tables = names(conn, "table").map_err(|e| {
        refuse(format!(
            "{} is not a readable SQLite database: {e}",
            path.display()
        ))
    })?;
    if id != APPLICATION_ID && !(id == 0 && (version > 0 || tables.is_empty())) {
        let what = if id == 0 {
            format!("it has tables of its own ({})", tables.join(", "))
        } else {
            format!("its application id is {id:#x}")
        };
        anyhow::bail!(
            "{} is not a frontdesk database: {what}. frontdesk adds nothing to another \
             application's file: point --data-dir at a folder of its own",
            path.display()
        );
    }
    // Every page and index, short of comparing indexes with their tables (`integrity_check`):
    // seconds for gigabytes, once per start.
    let mut found = Vec::new();
    let checked = conn.prepare("PRAGMA quick_check(10)").and_then(|mut s| {
        let rows = s.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            found.push(row?);
        }
        Ok(())
    });
    match checked {
        Ok(()) if found == ["ok"] => Ok(()),
        Ok(()) => Err(refuse(format!(
            "{} is damaged (SQLite's quick_check: {})",
            path.display(),
            found.join("; ")
        ))),
        Err(e) => Err(refuse(format!("{} is damaged: {e}", path.display()))),
    }
}

/// Checks a migrated database: it has exactly the tables and indexes the migrations make (a
/// dropped `events` table or index is refused, not found by the first visitor), then marks it
/// as ours.
pub(super) fn after_migrate(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let expected = {
        let mut fresh = Connection::open_in_memory()?;
        schema::migrate(&mut fresh)?;
        layout(&fresh)?
    };
    let found = layout(conn)?;
    let missing: Vec<String> = expected
        .iter()
        .filter(|e| !found.contains(e))
        .map(|(kind, name, _)| format!("{kind} {name}"))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{} does not have the layout of schema version {}: missing or changed: {}. {}",
        path.display(),
        schema::VERSION,
        missing.join(", "),
        recovery(path)
    );
    let id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id != APPLICATION_ID {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    Ok(())
}

/// Each table and index: (kind, name, SQL with its whitespace normalised).
fn layout(conn: &Connection) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut s = conn.prepare(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master
         WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let rows = s.query_map([], |r| {
        let sql: String = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            sql.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    })?;
    rows.collect()
}

/// The names of the database's objects of `kind`.
fn names(conn: &Connection, kind: &str) -> rusqlite::Result<Vec<String>> {
    let mut s = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = ?1 AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let rows = s.query_map([kind], |r| r.get(0))?;
    rows.collect()
}
