//! The data directory's lock: one server per data directory. Presence, queue notifications and
//! live events are per process with the embedded store, so a second server on the same files
//! would split visitors and agents between two processes that cannot see each other. `serve`
//! holds an exclusive OS lock (`flock`, through `std::fs::File::lock`) on `frontdesk.lock` for
//! its whole life; a second `serve` fails at once naming the directory and the holder's process
//! id. The commands that are safe beside a running server (report, export, backup, forget,
//! token) do not take it. The lock goes with the process, also on a crash (kill -9).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "frontdesk.lock";

/// Held while the server runs; dropping it (or the process ending) releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    pub path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock of `dir` (created if missing), or says who has it.
    pub fn hold(dir: &Path) -> anyhow::Result<DataDirLock> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_owned()
                } else {
                    format!("another frontdesk server (process {holder})")
                };
                anyhow::bail!(
                    "the data directory {} is in use by {who}: one server per data directory. \
                     Stop it first, or give this server its own --data-dir (several servers \
                     share one store through Redis: REDIS_URL)",
                    dir.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        // Who holds it, for the next one to name.
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(DataDirLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_on_one_directory_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::hold(dir.path()).unwrap();
        let refused = format!("{:#}", DataDirLock::hold(dir.path()).unwrap_err());
        assert!(
            refused.contains(&dir.path().display().to_string()),
            "{refused}"
        );
        assert!(
            refused.contains(&format!("process {}", std::process::id())),
            "{refused}"
        );
        drop(first);
        DataDirLock::hold(dir.path()).expect("free again once released");
    }
}
