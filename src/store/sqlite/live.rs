//! Live conversations kept in memory, as committed, by the writer thread: a write step starts
//! from here instead of reading and parsing the conversation's row.
//!
//! Three layers, each a step further from the disk: the step's own changes (dropped with its
//! savepoint when it fails), the group's changes (the steps before it in the same transaction,
//! dropped when the commit fails) and the committed conversations (moved in only after the
//! commit is on disk). Readers do not use them: another process may have changed a row since the
//! writer last looked, and a read must see that at once. Any layer may lack a conversation: then
//! the row is read. The committed layer is bounded (least recently used goes first) and emptied
//! whenever another process (`frontdesk forget`, `accounts`) committed to the file, as `PRAGMA
//! data_version` tells the writer. Only the writer thread touches it (hence a `RefCell`).

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;

use crate::conversation::{Conversation, ConversationId};

/// Conversations kept at most: about 1.5 KiB each. Closed ones are not kept.
const CAPACITY: usize = 10_000;

/// A conversation's row as the store needs it: the record and its place in line.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) conversation: Conversation,
    pub(super) ticket: Option<u64>,
}

/// A layer's knowledge of one conversation.
#[derive(Debug, Clone)]
pub(super) enum Known {
    /// Its row as written.
    Kept(Arc<Row>),
    /// Erased: it no longer exists.
    Erased,
    /// Written but not kept (a closed conversation): read it from the database.
    Dropped,
}

/// Changes not yet committed, by conversation.
pub(super) type Pending = HashMap<ConversationId, Known>;

/// The committed layer.
pub(super) struct Live {
    committed: RefCell<LruCache<ConversationId, Arc<Row>>>,
}

impl Default for Live {
    fn default() -> Live {
        let capacity = NonZeroUsize::new(CAPACITY).expect("a non-zero capacity");
        Live {
            committed: RefCell::new(LruCache::new(capacity)),
        }
    }
}

impl Live {
    fn committed(&self) -> RefMut<'_, LruCache<ConversationId, Arc<Row>>> {
        // Each use is one call that returns before the next borrow.
        self.committed.borrow_mut()
    }

    /// The committed row, if it is kept.
    pub(super) fn get(&self, id: &ConversationId) -> Option<Arc<Row>> {
        self.committed().get(id).cloned()
    }

    /// A group's changes, once they are on disk.
    pub(super) fn commit(&self, group: Pending) {
        let mut committed = self.committed();
        for (id, known) in group {
            match known {
                Known::Kept(row) => {
                    committed.put(id, row);
                }
                Known::Erased | Known::Dropped => {
                    committed.pop(&id);
                }
            }
        }
    }

    /// Forgets everything: another process changed the file.
    pub(super) fn clear(&self) {
        self.committed().clear();
    }
}
