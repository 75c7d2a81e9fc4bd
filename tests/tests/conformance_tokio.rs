//! The driver conformance suite on hermes-relay-tokio.

mod conformance;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use conformance::Harness;
use relay_tokio::TokioRuntime;

type Scenario = for<'a> fn(&'a Harness) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

fn run(scenario: Scenario) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let harness = Harness {
        runtime: Arc::new(TokioRuntime::from_handle(rt.handle().clone())),
        server_runtime: rt.handle().clone(),
    };
    rt.block_on(scenario(&harness));
}

conformance_tests!(run);
