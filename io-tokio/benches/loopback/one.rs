//! The `one` mode: one streaming client against a raw server of its own,
//! for profiling one row.

use std::process::Command;

use crate::children::{client_args, exe, run_child, spawn_server};
use crate::host::load;

/// `one <kind> <N>`: a raw server and one client of `kind` streaming `N`
/// frames on the client runtime `LOOPBACK_CLIENT_RT` (multi-thread by
/// default), for profiling one row. `LOOPBACK_WRAP` (for example `perf stat
/// -e task-clock,context-switches` or `strace -f -c`) is put in front of
/// the client's command only, so that what the tool reports counts the
/// client process and none of the server.
pub fn one(kind: &str, frames: usize) {
    let mut server = spawn_server("raw", false);
    let wrap = std::env::var("LOOPBACK_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut command = match words.next() {
        Some(tool) => {
            let mut c = Command::new(tool);
            c.args(words).arg(exe());
            c
        }
        None => Command::new(exe()),
    };
    let client_rt =
        std::env::var("LOOPBACK_CLIENT_RT").unwrap_or_else(|_| "multi_thread".to_owned());
    command.env("LOOPBACK_CLIENT_RT", &client_rt);
    let args = client_args(kind, server.port, "stream", frames);
    let result = run_child(command, &args, Some(&mut server), frames);
    println!(
        "{kind} on {client_rt}: {:.0} frames/s, client CPU {:.2} µs/frame, {:.2} allocs/frame (load average {})",
        result[0],
        result[1],
        result[2],
        load()
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
}
