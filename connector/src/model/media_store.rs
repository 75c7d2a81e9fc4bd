//! What the media plane keeps: its objects, oldest first, and its
//! counters (the calls on them are in `media.rs`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

/// An object of the media store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMedia {
    /// The tenant of the gateway that uploaded it.
    pub tenant: String,
    /// Its `Content-Type` (`application/octet-stream` when none was sent).
    pub content_type: String,
    /// Its file name: the upload's `X-Media-Filename` made safe, else the
    /// id.
    pub filename: String,
    /// The bytes (shared: a download does not copy them).
    pub bytes: Arc<[u8]>,
}

/// The media plane's counters and current size.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MediaStats {
    /// Objects stored now.
    pub stored: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Uploads stored.
    pub uploads: u64,
    /// Uploads refused: no valid bearer (401), empty (400), over 25 MiB
    /// (413), or too many at once (503).
    pub uploads_refused: u64,
    /// Downloads answered with the object.
    pub downloads: u64,
    /// Objects dropped (oldest first) to make room for newer ones.
    pub evicted: u64,
}

/// Why a media request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaRefusal {
    /// No bearer, or not a valid upgrade token of a known gateway (401).
    Unauthorized,
    /// An empty upload (400).
    Empty,
    /// An upload over 25 MiB (413).
    TooLarge,
    /// Too many uploads being read at once (503).
    Busy,
    /// No such object in the caller's tenant (404).
    NotFound,
}

impl MediaRefusal {
    /// The HTTP status to answer.
    pub fn status(self) -> u16 {
        match self {
            MediaRefusal::Unauthorized => 401,
            MediaRefusal::Empty => 400,
            MediaRefusal::TooLarge => 413,
            MediaRefusal::Busy => 503,
            MediaRefusal::NotFound => 404,
        }
    }

    /// What to say.
    pub fn message(self) -> &'static str {
        match self {
            MediaRefusal::Unauthorized => "unauthorized: send a valid upgrade token as bearer",
            MediaRefusal::Empty => "empty upload: send the file as the request body",
            MediaRefusal::TooLarge => "upload over the 26214400-byte (25 MiB) media limit",
            MediaRefusal::Busy => "too many uploads in progress; retry shortly",
            MediaRefusal::NotFound => "no such media object",
        }
    }
}

/// The objects, oldest first, and the counters.
#[derive(Debug, Default)]
pub(crate) struct MediaStore {
    pub(super) objects: BTreeMap<String, StoredMedia>,
    pub(super) order: VecDeque<String>,
    pub(super) bytes: u64,
    pub(super) stats: MediaStats,
}
