//! `GET /dev/stats` and `GET /dev/log`: what the connector counted and the
//! frames it saw.

use std::sync::Arc;

use serde_json::json;

use super::ctx::Ctx;
use super::json::{Answer, run};
use crate::Direction;
use crate::server::stats::DevServerStats;

/// `GET /dev/stats`.
pub(super) async fn stats(ctx: &Ctx) -> Answer {
    let counters = Arc::clone(&ctx.counters);
    let stats = run(ctx, move |st| {
        DevServerStats::collect(&st.connector, &counters)
    })
    .await?;
    Ok(stats.to_json())
}

/// `GET /dev/log`: the model's frame log, oldest first.
pub(super) async fn log(ctx: &Ctx) -> Answer {
    let entries = run(ctx, |st| {
        st.connector
            .log()
            .entries()
            .map(|e| {
                json!({
                    "at_ms": e.at.as_millis(),
                    "session": e.session.to_string(),
                    "direction": match e.direction { Direction::In => "in", Direction::Out => "out" },
                    "type": e.frame_type,
                    "text": e.text,
                    "error": e.error,
                })
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(json!({ "entries": entries }))
}
