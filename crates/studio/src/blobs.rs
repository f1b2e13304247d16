//! Large objects (songs, MIDI, WAV, uploaded archives) live in a blob store, not the database.
//! `object_store` gives one interface over a local folder now and S3-compatible storage later.
//!
//! A put is atomic (the local store writes a temporary file and renames it), so a key either
//! names a whole object or nothing: a crash never leaves a half-written blob under a real key.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// The blob store of a server.
#[derive(Clone)]
pub struct Blobs {
    /// Shared so every handler and worker uses the same store.
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// A store in a local folder (created if missing).
    pub fn local(dir: &Path) -> Result<Blobs, object_store::Error> {
        std::fs::create_dir_all(dir).map_err(|e| object_store::Error::Generic {
            store: "local",
            source: Box::new(e),
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs {
            store: Arc::new(store),
        })
    }

    /// Stores `bytes` under `key`, replacing what was there.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        self.store
            .put(&BlobPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Reads the whole object under `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, object_store::Error> {
        self.store.get(&BlobPath::from(key)).await?.bytes().await
    }

    /// Removes `key`; a missing object is not an error (deletes are retried after crashes).
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.store.delete(&BlobPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
