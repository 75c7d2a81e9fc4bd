//! Conversions that the link and the sans-IO connection both hand to
//! Python: the core's counters, a drain budget given in seconds and a
//! request's result.

use std::time::Duration;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use relay_core::connection::Stats;
use relay_core::wire::ActionResult;

use crate::json::{json_of, to_py};

/// Seconds as a drain budget: negative or NaN is none, huge is the most.
pub(crate) fn drain_budget(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

/// The core's counters as a dict.
pub(crate) fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("dials", s.dials)?;
    d.set_item("frames_in", s.frames_in)?;
    d.set_item("frames_out", s.frames_out)?;
    d.set_item("frames_rejected", s.frames_rejected)?;
    d.set_item("requests_sent", s.requests_sent)?;
    d.set_item("unknown_results", s.unknown_results)?;
    d.set_item("duplicate_deliveries", s.duplicate_deliveries)?;
    d.set_item("acks_sent", s.acks_sent)?;
    d.set_item("deliveries_deferred", s.deliveries_deferred)?;
    d.set_item("descriptors_ignored", s.descriptors_ignored)?;
    d.set_item("replays_dropped", s.replays_dropped)?;
    Ok(d)
}

/// A result object as the dict the reference hands its callers (the keys
/// and order of the core's serialisation, without going through JSON).
pub(crate) fn result_dict(py: Python<'_>, r: &ActionResult) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "success"), r.success)?;
    if let Some(v) = &r.message_id {
        d.set_item(intern!(py, "message_id"), v)?;
    }
    if let Some(v) = &r.thread_id {
        d.set_item(intern!(py, "thread_id"), v)?;
    }
    if let Some(v) = &r.chat_info {
        d.set_item(intern!(py, "chat_info"), to_py(py, &json_of(v))?)?;
    }
    if let Some(v) = &r.error {
        d.set_item(intern!(py, "error"), v)?;
    }
    if r.ambiguous {
        d.set_item(intern!(py, "ambiguous"), true)?;
    }
    for (k, v) in &r.extra {
        d.set_item(k, to_py(py, v)?)?;
    }
    Ok(d.into_any().unbind())
}
