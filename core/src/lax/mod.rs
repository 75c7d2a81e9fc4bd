//! Lenient, single-pass JSON reading used by every decoder in this crate.
//!
//! The decoders never ask serde to check a field's type: each value is read
//! into a small classifier ([`Lax`], [`Shape`], [`Many`]) and the decoder
//! decides afterwards what a wrong type means (a default, a dropped value or a
//! typed [`DecodeError`]). The only errors that can come out of serde are
//! therefore syntax errors (and the recursion limit), which map to
//! [`DecodeError::NotJson`]. Strings without escapes are borrowed from the
//! input; objects are visited key by key (no buffering, duplicates: last wins).

mod base64;
mod error;
mod line;
mod object;
mod text;
mod value;

pub(crate) use base64::b64decode_lenient;
pub use error::DecodeError;
pub(crate) use line::{parse_line, parse_line_into, parse_text_into};
pub(crate) use object::{
    FillObject, Finish, Many, Shape, ShapeFrom, ShapeInto, WireObject, deserialize_finished, lax,
    not_an_object, object_field, objects, value, wire_object,
};
pub(crate) use text::{TextSlot, strings, strings_into, text_into};
pub(crate) use value::{Lax, value_text};
