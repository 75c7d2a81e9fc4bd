//! Ctrl-C and SIGTERM: the first asks for a graceful stop, a second exits
//! at once.

/// A stop signal received: SIGINT (Ctrl-C) or SIGTERM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopSignal {
    /// `SIGINT` or `SIGTERM`.
    pub name: &'static str,
    /// Its number (the exit status of a forced exit is 128 + this).
    pub number: i32,
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Listens for SIGINT and SIGTERM (tokio's signal handling). The first one
/// is handed over through the returned receiver, for a graceful stop; a
/// second one exits the process at once with status 128 + its number. If the
/// handlers cannot be installed a warning is printed and the receiver
/// reports an error (the process then stops on EOF or a command only).
pub fn stop_signals() -> tokio::sync::oneshot::Receiver<StopSignal> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut signals = match Signals::install() {
            Ok(signals) => signals,
            Err(e) => {
                eprintln!("warning: cannot listen for Ctrl-C or SIGTERM ({e})");
                return;
            }
        };
        let first = signals.recv().await;
        if tx.send(first).is_err() {
            return;
        }
        let second = signals.recv().await;
        eprintln!("{second} again: exiting without waiting for the graceful stop");
        std::process::exit(128 + second.number);
    });
    rx
}

/// The installed handlers.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Self> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.int.recv() => StopSignal { name: "SIGINT", number: 2 },
            _ = self.term.recv() => StopSignal { name: "SIGTERM", number: 15 },
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> StopSignal {
        let _ = tokio::signal::ctrl_c().await;
        StopSignal {
            name: "Ctrl-C",
            number: 2,
        }
    }
}
