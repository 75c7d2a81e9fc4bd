//! Stderr, shared by the logs and the status line of `relay connect`: every
//! log line first clears the status line.

/// Whether a status line (the spinner of `relay connect`) is on stderr now.
static STATUS_LINE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Tells the log writer whether a status line is shown on stderr.
pub fn status_line(shown: bool) {
    STATUS_LINE.store(shown, std::sync::atomic::Ordering::Relaxed);
}

/// Clears the status line, if one is shown, so that the next text starts on
/// a clean line (the spinner redraws it on its next tick).
pub fn clear_status_line(stderr: &mut impl std::io::Write) {
    if STATUS_LINE.swap(false, std::sync::atomic::Ordering::Relaxed) {
        let _ = stderr.write_all(b"\r\x1b[2K");
    }
}
