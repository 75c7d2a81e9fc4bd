//! How secrets show in `Debug` output: whether they are set, never what
//! they are.

/// What `Debug` shows instead of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// [`REDACTED`] for a set secret, `None` for an unset one.
pub(crate) fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| REDACTED)
}
