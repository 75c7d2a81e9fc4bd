#![cfg(feature = "proto")]
//! `relay_proto_thread` (feature `proto`, never shipped): the architecture
//! hermes_relay did not choose, kept to measure it (`../architectures.py`,
//! docs/benchmarks-python.md): the engine's spawned client on a tokio
//! runtime thread, each result handed to asyncio with
//! `loop.call_soon_threadsafe`.

#[path = "../../src/json.rs"]
mod json;

use std::sync::Arc;

use pyo3::prelude::*;
use relay_core::config::RelayConfig;
use relay_core::wire::Action;
use relay_tokio::relay_core;
use relay_tokio::{RelayClient, RelayHandle};

use json::{from_py, json_of, to_py};

/// The prototype's module.
#[pymodule]
fn relay_proto_thread(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ThreadClient>()
}

/// A spawned engine client on its own runtime thread.
#[pyclass(module = "relay_proto_thread")]
pub struct ThreadClient {
    rt: Arc<tokio::runtime::Runtime>,
    handle: RelayHandle,
    call_soon: Py<PyAny>,
}

#[pymethods]
impl ThreadClient {
    #[new]
    fn new(
        url: String,
        gateway_id: String,
        secret: String,
        event_loop: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        let cfg = RelayConfig::builder(url)
            .identity("telegram", "bench-bot")
            .gateway_id(gateway_id)
            .secret(secret)
            .build()
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let (handle, events) = {
            let _g = rt.enter();
            RelayClient::start(cfg)
        };
        // Events are drained and dropped on the runtime.
        rt.spawn(async move {
            let mut events = events;
            while events.next_event().await.is_some() {}
        });
        Ok(ThreadClient {
            rt: Arc::new(rt),
            handle,
            call_soon: event_loop.getattr("call_soon_threadsafe")?.unbind(),
        })
    }

    /// Whether the client is serving (asks the runtime; blocking).
    fn serving(&self, py: Python<'_>) -> bool {
        let h = self.handle.clone();
        let rt = self.rt.clone();
        py.detach(move || {
            rt.block_on(async move { matches!(h.state().await, Ok(relay_core::State::Serving)) })
        })
    }

    /// Sends an action; `future.set_result` gets the result dict on the
    /// event loop's thread.
    fn send(&self, py: Python<'_>, action: &Bound<'_, PyAny>, future: Py<PyAny>) -> PyResult<()> {
        let value = from_py(action)?;
        let action = Action::from_value(&value)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let h = self.handle.clone();
        let call_soon = self.call_soon.clone_ref(py);
        self.rt.spawn(async move {
            let result = match h.send(action).await {
                Ok(r) => json_of(&r),
                Err(e) => json_of(&e.to_result()),
            };
            Python::attach(|py| {
                if let Ok(obj) = to_py(py, &result)
                    && let Ok(set) = future.getattr(py, "set_result")
                {
                    let _ = call_soon.call1(py, (set, obj));
                }
            });
        });
        Ok(())
    }
}
