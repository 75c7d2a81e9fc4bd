//! The byte stream under every WebSocket.

use futures_io::{AsyncRead, AsyncWrite};

/// A byte stream the engine can run a WebSocket over (a TCP stream, or TLS
/// on top of one).
pub trait IoStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> IoStream for T {}

/// The boxed transport under every WebSocket.
pub(crate) type Io = Box<dyn IoStream>;
