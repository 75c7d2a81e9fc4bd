//! The runtimes of the child processes: the servers' tokio runtime and the
//! client runtime a measuring child runs on.

/// A tokio multi-thread runtime with 2 workers: the servers' runtime, and
/// the clients' unless `LOOPBACK_CLIENT_RT` picks another.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The client runtime of this process (`LOOPBACK_CLIENT_RT`): `smol`,
/// `current_thread`, or a tokio multi-thread runtime with 2 workers.
pub fn on_smol() -> bool {
    std::env::var("LOOPBACK_CLIENT_RT").as_deref() == Ok("smol")
}

/// Runs the client's future on the client runtime: tokio (multi-thread or
/// current-thread), or smol (`smol::block_on` on the main thread; a spawned
/// relay client's driver runs on relay-smol's executor thread).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    if on_smol() {
        smol::block_on(future)
    } else if std::env::var("LOOPBACK_CLIENT_RT").as_deref() == Ok("current_thread") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    } else {
        runtime().block_on(future)
    }
}
