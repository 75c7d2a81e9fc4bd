//! The driver conformance suite on hermes-relay-smol. The dev connector server runs
//! on a tokio runtime of its own; the client under test runs on smol.

mod conformance;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use conformance::Harness;
use relay_smol::SmolRuntime;

type Scenario = for<'a> fn(&'a Harness) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

fn run(scenario: Scenario) {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let harness = Harness {
        runtime: Arc::new(SmolRuntime::default()),
        server_runtime: server_rt.handle().clone(),
    };
    smol::block_on(scenario(&harness));
}

conformance_tests!(run);
