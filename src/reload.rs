//! Hot reload of the knowledge base: a changed file (seen by a debounced watcher) or
//! `POST /api/kb/reload` loads the folder again, builds the new matcher off the async workers and
//! swaps it in atomically (`arc-swap`). Conversations and sockets are untouched; the next message
//! uses the new answers. A broken edit keeps the last good knowledge base and its problems (file,
//! line, field) are kept in `KbStatus` for the log, `/admin` and `/readyz`.
//!
//! Each node reloads from its own files: shipping one knowledge base to every node is the
//! deployment's job (docs/knowledge-base.md shows a git pull on each node).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::conversation::now_ms;
use crate::knowledge_base::{self, Problem};
use crate::matcher::Matcher;
use crate::metrics::Metrics;

/// How long the watcher waits for a burst of file events (an editor's save, a `git pull`) to
/// settle before reloading once.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// What is loaded and how the last attempt went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KbStatus {
    /// SHA-256 of every file's path and bytes (first 16 hex digits): equal on two nodes means
    /// they serve the same knowledge base.
    pub content_hash: String,
    /// When the serving knowledge base was loaded (ms since the epoch).
    pub loaded_at: u64,
    pub faqs: usize,
    /// Warnings of the serving knowledge base.
    pub warnings: Vec<Problem>,
    /// The last reload that failed after the serving one loaded: its problems (empty when the
    /// last attempt succeeded).
    pub errors: Vec<Problem>,
    /// When that failed attempt was made (ms).
    pub failed_at: Option<u64>,
    /// Reloads done since start (successful ones).
    pub reloads: u64,
}

impl KbStatus {
    /// One line per error, as editors read them in the log and on `/readyz`.
    pub fn error_lines(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}

/// Reloads the knowledge base of one server.
pub struct Reloader {
    dir: PathBuf,
    matcher: Arc<ArcSwap<Matcher>>,
    status: ArcSwap<KbStatus>,
    /// One reload at a time (a watcher event and an API call may race). Holds the content hash
    /// of the last rejected attempt: the same broken files are rejected once, not again on every
    /// event (reading them is itself an event to some watchers).
    busy: Mutex<Option<String>>,
    metrics: Arc<Metrics>,
}

/// The outcome of one reload.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReloadOutcome {
    pub ok: bool,
    /// Whether the files differed from the serving knowledge base (an unchanged folder is not
    /// rebuilt).
    pub changed: bool,
    pub status: KbStatus,
}

impl Reloader {
    /// A reloader for `dir`, whose current knowledge base (already built into `matcher`) was
    /// loaded with `warnings`.
    pub fn new(
        dir: PathBuf,
        matcher: Arc<ArcSwap<Matcher>>,
        warnings: Vec<Problem>,
        metrics: Arc<Metrics>,
    ) -> Reloader {
        let faqs = matcher.load().knowledge_base().faqs.len();
        let status = KbStatus {
            content_hash: content_hash(&dir),
            loaded_at: now_ms(),
            faqs,
            warnings,
            errors: Vec::new(),
            failed_at: None,
            reloads: 0,
        };
        Reloader {
            dir,
            matcher,
            status: ArcSwap::from_pointee(status),
            busy: Mutex::new(None),
            metrics,
        }
    }

    /// The serving matcher.
    pub fn matcher(&self) -> Arc<Matcher> {
        self.matcher.load_full()
    }

    pub fn status(&self) -> Arc<KbStatus> {
        self.status.load_full()
    }

    /// Loads the folder again and swaps the new knowledge base in if it is good and different.
    pub async fn reload(&self) -> ReloadOutcome {
        let mut rejected = self.busy.lock().await;
        let dir = self.dir.clone();
        let previous = self.status.load_full();
        let last_rejected = rejected.clone();
        // Reading files, hashing and building the index are blocking work.
        let built = tokio::task::spawn_blocking(move || {
            let hash = content_hash(&dir);
            let serving = hash == previous.content_hash && previous.errors.is_empty();
            if serving || last_rejected.as_deref() == Some(hash.as_str()) {
                return Ok(None);
            }
            match knowledge_base::load(&dir) {
                Ok(loaded) => {
                    let faqs = loaded.kb.faqs.len();
                    match Matcher::build(loaded.kb) {
                        Ok(m) => Ok(Some((m, hash, loaded.warnings, faqs))),
                        Err(e) => {
                            let why = format!("cannot build the index: {e}");
                            Err((vec![Problem::error(&dir, why)], hash))
                        }
                    }
                }
                Err(errors) => Err((errors.problems, hash)),
            }
        })
        .await
        .unwrap_or_else(|e| {
            let why = format!("the reload failed: {e}");
            // Not known to be these files' fault: tried again on the next change.
            Err((vec![Problem::error(&self.dir, why)], String::new()))
        });
        let current = self.status.load_full();
        let (ok, changed, status) = match built {
            Ok(None) => (current.errors.is_empty(), false, (*current).clone()),
            Ok(Some((matcher, hash, warnings, faqs))) => {
                *rejected = None;
                self.matcher.store(Arc::new(matcher));
                tracing::info!(faqs, hash = %hash, "knowledge base reloaded");
                let status = KbStatus {
                    content_hash: hash,
                    loaded_at: now_ms(),
                    faqs,
                    warnings,
                    errors: Vec::new(),
                    failed_at: None,
                    reloads: current.reloads + 1,
                };
                (true, true, status)
            }
            Err((problems, hash)) => {
                *rejected = Some(hash);
                let errors: Vec<Problem> = problems.into_iter().filter(|p| p.is_error()).collect();
                for e in &errors {
                    tracing::warn!(problem = %e, "knowledge base reload rejected; still serving the last good one");
                }
                let status = KbStatus {
                    errors,
                    failed_at: Some(now_ms()),
                    ..(*current).clone()
                };
                (false, true, status)
            }
        };
        if changed {
            let outcome = if ok { "ok" } else { "rejected" };
            self.metrics.kb_reloads.with_label_values(&[outcome]).inc();
        }
        self.status.store(Arc::new(status.clone()));
        ReloadOutcome {
            ok,
            changed,
            status,
        }
    }

    /// Reloads whenever `changes` moves (another node's editor wrote the shared folder, see
    /// `Bus::watch_knowledge_base`), until `shutdown` flips.
    pub async fn follow(
        self: Arc<Self>,
        mut changes: tokio::sync::watch::Receiver<u64>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let outcome = self.reload().await;
                    if outcome.changed {
                        tracing::info!(ok = outcome.ok, "reloaded after another node's change");
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Watches the folder until `shutdown` flips, reloading after each settled burst of changes.
    /// Returns at once (with a warning) if the platform cannot watch it.
    pub async fn watch(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let debouncer = notify_debouncer_mini::new_debouncer(
            DEBOUNCE,
            move |events: notify_debouncer_mini::DebounceEventResult| {
                let _ = tx.send(events.is_ok());
            },
        );
        let mut debouncer = match debouncer {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the knowledge base; use POST /api/kb/reload");
                return;
            }
        };
        if let Err(e) = debouncer.watcher().watch(
            &self.dir,
            notify_debouncer_mini::notify::RecursiveMode::Recursive,
        ) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot watch the knowledge base; use POST /api/kb/reload");
            return;
        }
        tracing::info!(dir = %self.dir.display(), "watching the knowledge base for changes");
        loop {
            tokio::select! {
                event = rx.recv() => {
                    if event.is_none() {
                        return;
                    }
                    // Coalesce whatever else arrived meanwhile into this one reload.
                    while rx.try_recv().is_ok() {}
                    self.reload().await;
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// SHA-256 over every file under `dir` (sorted relative path, then bytes), first 16 hex digits.
pub fn content_hash(dir: &Path) -> String {
    let mut hasher = Sha256::new();
    for entry in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        // Streamed: a huge file pasted by mistake is hashed without being held in memory.
        if let Ok(mut file) = std::fs::File::open(entry.path()) {
            let len = file.metadata().map_or(0, |m| m.len());
            hasher.update(len.to_le_bytes());
            let mut chunk = [0u8; 64 * 1024];
            while let Ok(n @ 1..) = std::io::Read::read(&mut file, &mut chunk) {
                hasher.update(&chunk[..n]);
            }
        }
    }
    hex::encode(&hasher.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge_base::tests::write;

    fn faq(id: &str, answer: &str) -> String {
        format!(
            "+++\nid = \"{id}\"\ntitle = \"About {id}\"\nquestions = [\"tell me about {id}\", \"what is {id}\", \"explain {id}\"]\n+++\n{answer}\n"
        )
    }

    fn reloader(dir: &Path) -> Reloader {
        let loaded = knowledge_base::load(dir).unwrap();
        let matcher = Arc::new(ArcSwap::from_pointee(Matcher::build(loaded.kb).unwrap()));
        Reloader::new(
            dir.to_path_buf(),
            matcher,
            loaded.warnings,
            Arc::new(Metrics::new()),
        )
    }

    #[tokio::test]
    async fn a_good_edit_is_swapped_in_and_a_broken_one_keeps_the_last_good() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "faq/parcels.md", &faq("parcels", "Old answer."));
        let r = reloader(dir.path());
        let first = r.status();

        let same = r.reload().await;
        assert!(same.ok && !same.changed, "nothing changed: no rebuild");

        write(dir.path(), "faq/parcels.md", &faq("parcels", "New answer."));
        write(dir.path(), "faq/gifts.md", &faq("gifts", "Gift wrap."));
        let good = r.reload().await;
        assert!(good.ok && good.changed);
        assert_ne!(good.status.content_hash, first.content_hash);
        assert_eq!(good.status.faqs, 2);
        assert_eq!(r.matcher.load().knowledge_base().faqs.len(), 2);

        write(
            dir.path(),
            "faq/gifts.md",
            "+++\nid = \"gifts\"\ntitel = \"x\"\n+++\nx\n",
        );
        let bad = r.reload().await;
        assert!(!bad.ok);
        assert_eq!(r.matcher.load().knowledge_base().faqs.len(), 2, "kept");
        let lines = bad.status.error_lines().join("\n");
        assert!(lines.contains("faq/gifts.md"), "{lines}");
        assert!(lines.contains("titel"), "{lines}");
        assert_eq!(
            r.status().content_hash,
            good.status.content_hash,
            "the serving hash is the last good one"
        );

        // The same broken files again (a watcher's event, an API call): rejected once, not
        // rebuilt and counted again.
        let again = r.reload().await;
        assert!(
            !again.ok && !again.changed,
            "the same rejected files are not loaded again"
        );
        let rejected = r.metrics.kb_reloads.with_label_values(&["rejected"]).get();
        assert_eq!(rejected, 1, "one rejection per change");

        write(dir.path(), "faq/gifts.md", &faq("gifts", "Fixed."));
        let fixed = r.reload().await;
        assert!(fixed.ok && fixed.status.errors.is_empty());
    }

    #[tokio::test]
    async fn a_huge_file_pasted_by_mistake_is_refused_and_the_last_good_keeps_serving() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "faq/parcels.md", &faq("parcels", "Old answer."));
        let r = reloader(dir.path());

        // An export pasted into an FAQ: far over every limit.
        let pasted = "All orders of the year, one per line.\n".repeat(400_000);
        write(dir.path(), "faq/parcels.md", &faq("parcels", &pasted));
        let bad = r.reload().await;
        assert!(!bad.ok);
        let lines = bad.status.error_lines().join("\n");
        assert!(lines.contains("faq/parcels.md"), "{lines}");
        assert!(
            lines.contains("14.5 MB") && lines.contains("at most 256 KB"),
            "{lines}"
        );
        let kb = r.matcher.load();
        let served = &kb.knowledge_base().faqs[0];
        assert_eq!(
            served.answer_text, "Old answer.",
            "the last good one serves"
        );
    }
}
