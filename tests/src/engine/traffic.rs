//! The engine world's traffic: items delivered to each gateway, and the
//! connector's answers to requests.

use std::sync::Arc;
use std::time::Duration;

use relay_connector::{Delivery, Request, Responder, Response};
use relay_core::message::MessageEvent;
use relay_core::rng::Rng;
use relay_core::wire::{Action, ActionResult, PassthroughForward};

use super::connector::ConnectorSide;
use super::executor::Exec;
use super::monitor::{Item, Monitor};

/// Answers every send with `done:<content>` (so a result can be matched to
/// its request), except a seeded share left unanswered or answered late.
pub(crate) struct SimResponder {
    pub rng: Rng,
    pub silence_pct: u64,
    pub late_pct: u64,
}

impl Responder for SimResponder {
    fn respond(&mut self, req: &Request<'_>, _rng: &mut Rng) -> Response {
        let result = match &req.outbound.action {
            Action::Send(send) => ActionResult::ok(Some(format!("done:{}", send.content))),
            _ => ActionResult::ok(None),
        };
        if self.rng.chance(self.silence_pct, 100) {
            return Response::Silence;
        }
        if self.rng.chance(self.late_pct, 100) {
            let delay = Duration::from_millis(self.rng.range_inclusive(100, 8_000));
            return Response::After { delay, result };
        }
        Response::Reply(result)
    }
}

/// Delivers an item to client `i` every 0.1-5 s until the heal.
pub(crate) async fn deliveries(
    side: Arc<ConnectorSide>,
    monitor: Arc<Monitor>,
    exec: Arc<Exec>,
    i: usize,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let instance = format!("gw-{i}");
    let mut n = 0u64;
    loop {
        let at = exec.now() + rng.range_inclusive(100, 5_000);
        exec.sleep_until(at).await;
        if monitor.healing() {
            return;
        }
        n += 1;
        // One item in four is a passthrough forward (named by its path).
        let (text, delivery) = if rng.chance(1, 4) {
            let path = format!("/p{i}-{n}");
            let forward = PassthroughForward {
                platform: "discord".to_owned(),
                bot_id: format!("bot-{i}"),
                method: "POST".to_owned(),
                path: path.clone(),
                body: path.clone().into_bytes(),
                ..PassthroughForward::default()
            };
            let d = side.with_model(|m, now| m.deliver_passthrough(&instance, forward, now));
            (path, d)
        } else {
            let text = format!("m{i}-{n}");
            let mut event = MessageEvent {
                text: text.clone(),
                ..MessageEvent::default()
            };
            event.source.platform = "discord".into();
            event.source.chat_id = format!("chan-{i}").into();
            let d = side.with_model(|m, now| m.deliver(&instance, event, now));
            (text, d)
        };
        let mut m = monitor.lock();
        m.stats.deliveries += 1;
        m.trace(&format!("deliver {text} to {instance}: {delivery:?}"));
        let buffer_id = match delivery {
            Delivery::Buffered(id) => Some(id.as_str().to_owned()),
            Delivery::Live(_) | Delivery::Dropped => None,
        };
        m.items.insert(
            text,
            Item {
                client: i,
                buffer_id,
            },
        );
    }
}
