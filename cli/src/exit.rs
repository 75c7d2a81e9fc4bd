//! How a subcommand ends: its exit code, and the error line before it.

use std::future::Future;
use std::process::ExitCode;

use relay_core::calls::HttpCallError;
use relay_tokio::http::CallError;

/// How a subcommand ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked (0).
    Ok,
    /// The operation failed (1).
    Failed,
    /// The command line or the configuration is unusable (2).
    Usage,
    /// The connector revoked the gateway's credential (3).
    Revoked,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        match exit {
            Exit::Ok => ExitCode::SUCCESS,
            Exit::Failed => ExitCode::from(1),
            Exit::Usage => ExitCode::from(2),
            Exit::Revoked => ExitCode::from(3),
        }
    }
}

/// Prints `error: <message>` to stderr and returns `exit`.
pub fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    eprintln!("error: {message}");
    exit
}

/// The exit code for a failed call: 2 when something is not configured,
/// 1 otherwise.
pub fn call_failed(e: &CallError) -> Exit {
    let exit = match e {
        CallError::NotConfigured { .. } | CallError::Http(HttpCallError::NoCredentials) => {
            Exit::Usage
        }
        _ => Exit::Failed,
    };
    fail(exit, e)
}

/// Runs a subcommand's future on a fresh tokio runtime.
pub fn block_on(future: impl Future<Output = Exit>) -> Exit {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(future),
        Err(e) => fail(
            Exit::Failed,
            format_args!("could not start the async runtime: {e}"),
        ),
    }
}
