//! The status line on stderr: a spinner while the link is dialing or
//! handshaking, cleared once it serves.

use std::io::Write;
use std::time::Duration;

use relay_core::{Event, State};
use tokio::sync::watch;

use crate::stderr;

/// Spinner frames for the stderr status line.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The stderr status for the state an event leaves the link in (`None`:
/// nothing to show).
pub(super) fn status_of(event: &Event, url: &str) -> Option<String> {
    match event {
        Event::StateChanged { to, .. } => match to {
            State::Dialing => Some(format!("dialing {url}")),
            State::Handshaking => Some(format!("handshaking with {url}")),
            _ => None,
        },
        Event::DialScheduled { attempt, .. } => Some(format!(
            "connection failed; retrying {url} (attempt {attempt})"
        )),
        _ => None,
    }
}

/// Draws the status line on stderr while there is one.
pub(super) async fn spin(mut status: watch::Receiver<Option<String>>) {
    let mut frame = 0usize;
    let mut shown = false;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = status.changed() => if changed.is_err() { return },
        }
        let current = status.borrow().clone();
        match current {
            Some(text) => {
                frame = (frame + 1) % SPINNER.len();
                let glyph = SPINNER.get(frame).copied().unwrap_or("*");
                // One locked write, so that no log line lands mid-way.
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r\x1b[2K{glyph} {text}");
                let _ = stderr.flush();
                stderr::status_line(true);
                shown = true;
            }
            None if shown => {
                clear_status();
                shown = false;
            }
            None => {}
        }
    }
}

pub(super) fn clear_status() {
    stderr::status_line(false);
    eprint!("\r\x1b[2K");
    let _ = std::io::stderr().flush();
}
