//! The typed error of every decoder.

/// Why a line did not decode into a frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The line is not valid UTF-8.
    #[error("frame is not valid UTF-8")]
    NotUtf8,
    /// The line is not valid JSON.
    #[error("frame is not JSON: {detail}")]
    NotJson {
        /// What the JSON parser reported.
        detail: String,
    },
    /// The line is JSON but not an object.
    #[error("frame is not a JSON object")]
    NotAnObject,
    /// The object has no string `type`.
    #[error("frame has no string \"type\"")]
    MissingType,
    /// The `type` is not one this direction knows.
    #[error("unknown frame type {type_name:?}")]
    UnknownType {
        /// The type that was sent.
        type_name: String,
    },
    /// A required field is absent.
    #[error("{frame} frame is missing field {field:?}")]
    MissingField {
        /// Frame type.
        frame: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// A field has the wrong type or shape.
    #[error("{frame} frame has an invalid {field:?}: {detail}")]
    InvalidField {
        /// Frame type.
        frame: &'static str,
        /// Field name.
        field: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The line is longer than the configured maximum.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Bytes seen so far (at least `max + 1`).
        len: usize,
        /// The limit.
        max: usize,
    },
}
