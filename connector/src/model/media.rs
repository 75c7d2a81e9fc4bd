//! The media plane: objects gateways upload (`POST /relay/media`) and read
//! back (`GET /relay/media/{id}`), kept in memory, bounded in count and in
//! total bytes (the oldest objects make room), each readable only by
//! gateways of the uploader's tenant.
//!
//! A driver reads the request body itself: it first asks
//! [`Connector::media_tenant`] who the bearer is (so that nothing of an
//! unauthenticated body is read), reads at most [`MEDIA_MAX_BYTES`], then
//! hands the bytes to [`Connector::media_store`].

use std::sync::Arc;

use relay_core::calls::{MEDIA_MAX_BYTES, safe_file_name};
use relay_core::time::UnixTime;

use super::connector::{Connector, bump};
use super::media_store::{MediaRefusal, MediaStats, StoredMedia};

impl Connector {
    /// The tenant of the gateway whose upgrade token `authorization`
    /// carries (verified at `wall`, as at the upgrade).
    pub fn media_tenant(
        &self,
        authorization: Option<&str>,
        wall: UnixTime,
    ) -> Result<String, MediaRefusal> {
        let gateway = authorization
            .ok_or(MediaRefusal::Unauthorized)
            .and_then(|a| {
                self.authenticate(a, wall)
                    .map_err(|_| MediaRefusal::Unauthorized)
            })?;
        Ok(self.gateway_tenant(&gateway).unwrap_or("").to_owned())
    }

    /// Counts an upload refused before its bytes reached
    /// [`Connector::media_store`].
    pub fn media_upload_refused(&mut self) {
        bump(&mut self.media.stats.uploads_refused);
    }

    /// Stores an upload of `tenant` and returns its id (URL-safe, no `/`).
    /// Empty or over [`MEDIA_MAX_BYTES`] is refused (and counted). The
    /// oldest objects are dropped until the new one fits within
    /// [`ConnectorConfig::media_max_objects`](crate::ConnectorConfig::media_max_objects)
    /// and [`ConnectorConfig::media_max_bytes`](crate::ConnectorConfig::media_max_bytes).
    pub fn media_store(
        &mut self,
        tenant: &str,
        content_type: Option<&str>,
        filename: Option<&str>,
        bytes: Arc<[u8]>,
    ) -> Result<String, MediaRefusal> {
        let len = bytes.len() as u64;
        let refusal = if len == 0 {
            Some(MediaRefusal::Empty)
        } else if len > MEDIA_MAX_BYTES || len > self.config.media_max_bytes {
            Some(MediaRefusal::TooLarge)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.media_upload_refused();
            return Err(refusal);
        }
        let max_objects = self.config.media_max_objects.max(1);
        while self.media.objects.len() >= max_objects
            || self.media.bytes.saturating_add(len) > self.config.media_max_bytes
        {
            let Some(oldest) = self.media.order.pop_front() else {
                break;
            };
            if let Some(old) = self.media.objects.remove(&oldest) {
                self.media.bytes = self.media.bytes.saturating_sub(old.bytes.len() as u64);
                bump(&mut self.media.stats.evicted);
            }
        }
        let id = format!("m-{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64());
        let content_type = content_type
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let filename = filename
            .and_then(safe_file_name)
            .unwrap_or_else(|| id.clone());
        self.media.bytes = self.media.bytes.saturating_add(len);
        self.media.order.push_back(id.clone());
        self.media.objects.insert(
            id.clone(),
            StoredMedia {
                tenant: tenant.to_owned(),
                content_type,
                filename,
                bytes,
            },
        );
        bump(&mut self.media.stats.uploads);
        Ok(id)
    }

    /// The object `id` for a gateway of `tenant` (counted as a download),
    /// or [`MediaRefusal::NotFound`] when there is none in that tenant.
    pub fn media_fetch(&mut self, tenant: &str, id: &str) -> Result<StoredMedia, MediaRefusal> {
        match self.media.objects.get(id) {
            Some(object) if object.tenant == tenant => {
                let object = object.clone();
                bump(&mut self.media.stats.downloads);
                Ok(object)
            }
            _ => Err(MediaRefusal::NotFound),
        }
    }

    /// The media plane's counters, with the store's current size.
    pub fn media_stats(&self) -> MediaStats {
        MediaStats {
            stored: self.media.objects.len() as u64,
            bytes: self.media.bytes,
            ..self.media.stats.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConnectorConfig;

    fn bytes(n: usize) -> Arc<[u8]> {
        vec![7u8; n].into()
    }

    #[test]
    fn the_store_stays_within_its_bounds_oldest_out_first() {
        let config = ConnectorConfig {
            media_max_objects: 3,
            media_max_bytes: 100,
            ..ConnectorConfig::default()
        };
        let mut c = Connector::new(config, 1);
        let mut ids = Vec::new();
        for _ in 0..10 {
            ids.push(c.media_store("t", None, None, bytes(30)).unwrap());
            let stats = c.media_stats();
            assert!(stats.stored <= 3 && stats.bytes <= 100, "{stats:?}");
        }
        let stats = c.media_stats();
        assert_eq!(
            (stats.stored, stats.bytes, stats.uploads, stats.evicted),
            (3, 90, 10, 7)
        );
        assert_eq!(c.media_fetch("t", &ids[0]), Err(MediaRefusal::NotFound));
        assert!(c.media_fetch("t", &ids[9]).is_ok());
        // A big one pushes out as many as it needs.
        c.media_store("t", None, None, bytes(95)).unwrap();
        assert_eq!((c.media_stats().stored, c.media_stats().bytes), (1, 95));
        // Over the store's own bound: refused, nothing dropped.
        assert_eq!(
            c.media_store("t", None, None, bytes(101)),
            Err(MediaRefusal::TooLarge)
        );
        assert_eq!(c.media_stats().stored, 1);
    }

    #[test]
    fn objects_are_tenant_scoped_and_named() {
        let mut c = Connector::new(ConnectorConfig::default(), 1);
        let id = c
            .media_store("a", Some("image/png"), Some("../x.png"), bytes(3))
            .unwrap();
        assert!(!id.contains('/'));
        assert_eq!(c.media_fetch("b", &id), Err(MediaRefusal::NotFound));
        let object = c.media_fetch("a", &id).unwrap();
        assert_eq!(
            (object.content_type.as_str(), object.filename.as_str()),
            ("image/png", "x.png")
        );
        let unnamed = c.media_store("a", None, None, bytes(1)).unwrap();
        let object = c.media_fetch("a", &unnamed).unwrap();
        assert_eq!(object.filename, unnamed);
        assert_eq!(object.content_type, "application/octet-stream");
        assert_eq!(
            c.media_store("a", None, None, bytes(0)),
            Err(MediaRefusal::Empty)
        );
        let stats = c.media_stats();
        assert_eq!(
            (stats.uploads, stats.uploads_refused, stats.downloads),
            (2, 1, 2)
        );
    }
}
