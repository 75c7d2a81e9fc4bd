//! The wire codec: typed frames in both directions, NDJSON line reassembly,
//! and typed decode errors.
//!
//! Every frame is one compact JSON object followed by `\n`, keys in the
//! reference's order, encoded through typed `Serialize` impls straight into
//! the caller's buffer. Decoding reads each line in one pass into a flat
//! envelope (every key any frame type may carry, each optional, strings
//! borrowed where they have no escapes) and builds the frame by matching on
//! `type` afterwards. It never panics: a bad line is a [`DecodeError`], and
//! the caller decides what that means (the gateway reports it and keeps
//! going). Nesting deeper than serde_json's recursion limit (128) is
//! [`DecodeError::NotJson`].

mod action;
mod action_decode;
mod action_result;
mod frame_decode;
mod frames;
mod gateway_encode;
mod json_out;
mod line_buffer;

pub use action::*;
pub use action_result::{
    ActionResult, ChatInfo, DEFAULT_DECLINE_TEXT, EGRESS_DECLINED_CODE, EgressDecline,
};
pub use frame_decode::{decode_connector_frame, decode_connector_text, decode_gateway_frame};
pub(crate) use frame_decode::{decode_connector_frame_in, decode_connector_text_in};
pub use frames::*;
pub use gateway_encode::{encode_gateway_frame, encode_outbound};
pub(crate) use gateway_encode::{gateway_line, outbound_line};
pub use line_buffer::{DEFAULT_MAX_FRAME_BYTES, LineBuffer};

pub use crate::lax::DecodeError;
