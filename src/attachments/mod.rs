//! Files visitors and agents send. Each is checked from its bytes (`check.rs`: the type from its
//! magic bytes, images re-encoded without metadata), kept in an object store (a folder under
//! `data_dir` by default; an S3-compatible bucket, `attachments_url = "s3://..."`, when several
//! nodes share one Redis) under `{conversation}/{id}` with a random 128-bit id, and described in
//! the log by an `Attachment`. The bytes are written before the event: a crash between the two
//! leaves a file no event names (erased with its conversation), never an event without its file.
//! Files of conversations that no longer exist (retention, `frontdesk forget`) are erased by
//! `sweep`, which the retention task runs; erasures from /admin and the API erase them at once.

pub mod check;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::Digest;

pub use self::check::{Accepted, Refused, clean_name};
use crate::config::{FileKind, Settings};
use crate::conversation::{Attachment, ConversationId, random_secret};
use crate::limits::Allowance;
use crate::ports::Store;

/// Where files are kept, and the site's limits.
pub struct Attachments {
    objects: Arc<dyn ObjectStore>,
    /// The folder, when files are kept in one (its emptied subfolders are removed).
    folder: Option<std::path::PathBuf>,
    /// Largest file accepted (0: attachments are off).
    pub max_bytes: usize,
    pub kinds: Vec<FileKind>,
    per_minute: Allowance<ConversationId>,
}

/// Why a file was not kept.
#[derive(Debug)]
pub enum NotKept {
    /// The file is refused (too large, wrong type, ...): tell the sender.
    Refused(Refused),
    /// The object store failed.
    Unavailable(String),
}

impl Attachments {
    /// The attachment store `settings` name (the folder is created if missing).
    pub fn open(settings: &Settings) -> anyhow::Result<Attachments> {
        let objects: Arc<dyn ObjectStore> = match settings.attachments_url.as_deref() {
            Some(url) if url.starts_with("s3://") => {
                let bucket = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url)
                    .build()
                    .with_context(|| format!("attachments_url `{url}`"))?;
                // The builder takes the bucket from the URL; the path under it is ours.
                let under = url["s3://".len()..].split_once('/').map_or("", |(_, p)| p);
                match under.trim_matches('/') {
                    "" => Arc::new(bucket),
                    prefix => Arc::new(object_store::prefix::PrefixStore::new(bucket, prefix)),
                }
            }
            Some(other) => anyhow::bail!(
                "attachments_url `{other}`: use s3://bucket/prefix, or leave it unset for a \
                 folder in data_dir"
            ),
            None => {
                let dir = settings.data_dir.join("attachments");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir)?)
            }
        };
        let folder = settings
            .attachments_url
            .is_none()
            .then(|| settings.data_dir.join("attachments"));
        Ok(Attachments::new(objects, folder, settings))
    }

    fn new(
        objects: Arc<dyn ObjectStore>,
        folder: Option<std::path::PathBuf>,
        settings: &Settings,
    ) -> Attachments {
        Attachments {
            objects,
            folder,
            max_bytes: settings.attachment_max_bytes,
            kinds: settings.attachment_types.clone(),
            per_minute: Allowance::new(
                Duration::from_secs(60),
                settings.attachments_per_minute.max(1),
            ),
        }
    }

    /// The accepted types as MIME types (what a browser's file input filters by).
    pub fn mime_types(&self) -> Vec<String> {
        self.kinds
            .iter()
            .flat_map(|k| match k {
                FileKind::Image => &["image/jpeg", "image/png", "image/gif", "image/webp"][..],
                FileKind::Pdf => &["application/pdf"][..],
                FileKind::Text => &["text/plain"][..],
            })
            .map(|m| (*m).to_owned())
            .collect()
    }

    /// Whether `conversation` may send one more file this minute.
    pub fn allow(&self, conversation: &ConversationId) -> bool {
        self.per_minute.allow(conversation)
    }

    /// Checks `bytes` and keeps them for `conversation`; the `Attachment` to log.
    pub async fn keep(
        &self,
        conversation: &ConversationId,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Attachment, NotKept> {
        if bytes.len() > self.max_bytes {
            return Err(NotKept::Refused(Refused {
                code: "too_large",
                detail: format!("files up to {} are accepted", human_size(self.max_bytes)),
            }));
        }
        let (kinds, claimed) = (self.kinds.clone(), name.to_owned());
        // Decoding and re-encoding an image is CPU work: off the async threads.
        let accepted =
            tokio::task::spawn_blocking(move || check::inspect(&bytes, &claimed, &kinds))
                .await
                .map_err(|e| NotKept::Unavailable(e.to_string()))?
                .map_err(NotKept::Refused)?;
        let id = random_secret();
        let sha256 = hex::encode(sha2::Sha256::digest(&accepted.bytes));
        let size = accepted.bytes.len() as u64;
        self.objects
            .put(&key(conversation, &id), accepted.bytes.into())
            .await
            .map_err(|e| NotKept::Unavailable(e.to_string()))?;
        Ok(Attachment {
            id,
            name: clean_name(name),
            content_type: accepted.content_type.to_owned(),
            size,
            sha256,
        })
    }

    /// The bytes of `file` in `conversation`.
    pub async fn read(
        &self,
        conversation: &ConversationId,
        file: &Attachment,
    ) -> object_store::Result<bytes::Bytes> {
        self.objects
            .get(&key(conversation, &file.id))
            .await?
            .bytes()
            .await
    }

    /// Erases every file of `conversation`; how many.
    pub async fn erase(&self, conversation: &ConversationId) -> object_store::Result<usize> {
        let prefix = Path::from(conversation.as_str());
        let paths: Vec<Path> = self
            .objects
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        let n = paths.len();
        for path in paths {
            match self.objects.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(folder) = &self.folder {
            // A bucket has no folders; a disk does, and an empty one would be listed again.
            let _ = std::fs::remove_dir(folder.join(conversation.as_str()));
        }
        Ok(n)
    }

    /// Erases the files of every conversation the store no longer has; how many conversations.
    pub async fn sweep(&self, store: &dyn Store) -> anyhow::Result<usize> {
        let listed = self.objects.list_with_delimiter(None).await?;
        let mut erased = 0;
        for prefix in listed.common_prefixes {
            let Some(id) = prefix
                .parts()
                .next()
                .and_then(|p| ConversationId::parse(p.as_ref()))
            else {
                continue;
            };
            if store.get(&id).await?.is_none() && self.erase(&id).await? > 0 {
                erased += 1;
            }
        }
        Ok(erased)
    }

    /// Every file kept, as `conversation/id` paths, sorted.
    #[cfg(test)]
    async fn all(&self) -> object_store::Result<Vec<String>> {
        self.objects
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect::<Vec<_>>()
            .await
            .map(|mut v| {
                v.sort();
                v
            })
    }
}

fn key(conversation: &ConversationId, id: &str) -> Path {
    Path::from(format!("{conversation}/{id}"))
}

/// `10 MB`, `512 KB`.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MB", bytes / (1024 * 1024))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::VisitorInfo;
    use crate::ports::ConversationLog;

    #[tokio::test]
    async fn a_sweep_erases_the_files_of_conversations_erased_elsewhere_only() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_owned(),
            ..Settings::default()
        };
        let files = Attachments::open(&settings).unwrap();
        let store = crate::store::MemoryStore::new();
        let (kept, _) = store.create(VisitorInfo::default(), None).await.unwrap();
        let (gone, _) = store.create(VisitorInfo::default(), None).await.unwrap();
        for c in [&kept, &gone] {
            files
                .keep(&c.id, "note.txt", b"order 7".to_vec())
                .await
                .unwrap();
        }
        assert_eq!(files.all().await.unwrap().len(), 2);
        // As `frontdesk forget` or retention on another node does: the store only.
        assert!(store.delete(&gone.id).await.unwrap());
        assert_eq!(files.sweep(&store).await.unwrap(), 1);
        let left = files.all().await.unwrap();
        assert_eq!(left.len(), 1);
        assert!(left[0].starts_with(kept.id.as_str()), "{left:?}");
        assert_eq!(
            files.sweep(&store).await.unwrap(),
            0,
            "nothing more to erase"
        );
    }
}
