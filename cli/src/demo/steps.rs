//! The tour's steps, in order: each states what the protocol requires,
//! drives the connector and the client, and checks what happened.

use std::collections::BTreeSet;
use std::time::Duration;

use relay_core::config::IdleMode;
use relay_core::connection::DeliveryHandle;
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::wire::PassthroughForward;
use relay_core::{Event, State};
use relay_tokio::wake::WakeListener;
use serde_json::{Value, json};

use super::harness::{GATEWAY, LOG_POLL, STEP_TIMEOUT, StepResult, Tour, answered, stopped, taken};
use super::render::Kind;

/// The chat the tour talks in.
const CHAT: &str = "chat-42";

/// A message from `chat` on telegram.
fn message(text: &str) -> MessageEvent {
    MessageEvent {
        text: text.to_owned(),
        source: SessionSource {
            platform: "telegram".into(),
            chat_id: CHAT.into(),
            user_name: Some("ada".into()),
            ..SessionSource::default()
        },
        ..MessageEvent::default()
    }
}

impl Tour {
    /// Runs the steps in order; the first that fails ends the tour.
    pub(super) async fn run(&mut self) -> StepResult {
        self.handshake().await?;
        self.message().await?;
        self.interrupt().await?;
        self.passthrough().await?;
        self.idle_wake_drain().await?;
        self.abrupt_drop().await?;
        self.revocation().await?;
        Ok(())
    }

    /// Step 1: one hello per platform, one descriptor each, serving.
    async fn handshake(&mut self) -> StepResult {
        self.out.begin(
            "handshake",
            "dial with a fresh HMAC token, hello ×2 (telegram, discord), a descriptor each",
        );
        let mut descriptors = BTreeSet::new();
        let mut serving = false;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while descriptors.len() < 2 || !serving {
            match self.next_event(deadline).await {
                Ok(Some(Event::Descriptor(d))) => {
                    descriptors.insert(d.platform.clone());
                }
                Ok(Some(Event::StateChanged {
                    to: State::Serving, ..
                })) => serving = true,
                Ok(Some(_)) => {}
                Ok(None) => return Err("the client stopped during the handshake".to_owned()),
                Err(_) => {
                    return Err(format!(
                        "not serving with two descriptors within {} s (got {descriptors:?})",
                        STEP_TIMEOUT.as_secs()
                    ));
                }
            }
        }
        let platforms: Vec<_> = descriptors.into_iter().collect();
        if platforms != ["discord", "telegram"] {
            return Err(format!(
                "descriptors for {platforms:?}, expected discord and telegram"
            ));
        }
        let hellos = self
            .server
            .with_model(|c, _| {
                c.sessions()
                    .first()
                    .map(|s| {
                        c.hellos(*s)
                            .iter()
                            .map(|h| h.platform.clone())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .await
            .map_err(stopped)?;
        if hellos != ["telegram", "discord"] {
            return Err(format!(
                "the connector saw hellos {hellos:?}, expected telegram then discord"
            ));
        }
        self.out
            .check("serving: two hellos answered by two descriptors");
        Ok(())
    }

    /// Step 2: a live inbound message, answered with a send and its result.
    async fn message(&mut self) -> StepResult {
        self.out.begin(
            "message",
            "a user writes; the agent answers with a send and gets its result",
        );
        self.server
            .deliver(GATEWAY, message("hello, is anyone there?"))
            .await
            .map_err(stopped)?;
        let got = self
            .expect("inbound message", |e| matches!(e, Event::Inbound { .. }))
            .await?;
        let Event::Inbound { event, delivery } = got else {
            return Err("expected an inbound event".to_owned());
        };
        if delivery.is_some() {
            return Err("a live delivery carried a bufferId; only buffered ones may".to_owned());
        }
        self.out.action(&format!(
            "send to {}: \"hi ada, I'm here\"",
            event.source.chat_id
        ));
        let send = self
            .handle
            .send_text(event.source.chat_id.clone(), "hi ada, I'm here");
        let result = answered("the send", send).await?;
        self.flush_log().await;
        let result_json = serde_json::to_value(&result).unwrap_or(Value::Null);
        self.out.emit(
            Kind::Event,
            &format!("result: {result_json}"),
            json!({ "event": "result", "result": result_json }),
        );
        if !result.success || result.message_id.is_none() {
            return Err(format!("the send was not successful: {result_json}"));
        }
        self.out
            .check("the send was answered by its own outbound_result");
        Ok(())
    }

    /// Step 3: interrupts both ways. The session is bound to this gateway
    /// (`/dev/bind`); a user's stop on the platform side is pushed to it
    /// (`/dev/interrupt`), and an interrupt the gateway sends is routed by
    /// the connector back to the session's owner, this gateway.
    async fn interrupt(&mut self) -> StepResult {
        self.out.begin(
            "interrupt",
            "bind the session to this gateway; a user's stop arrives, and an interrupt is routed back to its owner",
        );
        let key = format!("agent:main:telegram:dm:{CHAT}");
        match self.server.bind(&key, GATEWAY).await.map_err(stopped)? {
            Ok(()) => {}
            Err(e) => return Err(format!("the connector refused the binding: {e}")),
        }
        self.out.action(&format!(
            "the user presses stop in {CHAT} (connector → gateway)"
        ));
        match self
            .server
            .push_interrupt(&key, CHAT)
            .await
            .map_err(stopped)?
        {
            Ok(_) => {}
            Err(e) => return Err(format!("the connector could not push the interrupt: {e}")),
        }
        let expected = Event::Interrupt {
            session_key: key.clone(),
            chat_id: CHAT.to_owned(),
        };
        self.expect_exactly("interrupt", &expected).await?;
        self.out
            .action(&format!("interrupt {key} (\"user pressed stop\")"));
        let interrupt = self
            .handle
            .interrupt(key.clone(), Some("user pressed stop".to_owned()));
        taken("the interrupt", interrupt).await?;
        self.expect_exactly("interrupt", &expected).await?;
        self.out
            .check("interrupts crossed both ways for the right session and chat");
        Ok(())
    }

    /// Step 4: a passthrough forward arrives byte for byte.
    async fn passthrough(&mut self) -> StepResult {
        self.out.begin(
            "passthrough",
            "a platform webhook is forwarded verbatim (base64 body)",
        );
        let body = br#"{"update_id":7,"callback_query":{"data":"approve"}}"#.to_vec();
        let forward = PassthroughForward {
            platform: "telegram".into(),
            bot_id: "telegram-bot".into(),
            method: "POST".into(),
            path: "/webhook/telegram".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.clone(),
            ..PassthroughForward::default()
        };
        self.server
            .deliver_passthrough(GATEWAY, forward)
            .await
            .map_err(stopped)?;
        let got = self
            .expect("passthrough forward", |e| {
                matches!(e, Event::Passthrough { .. })
            })
            .await?;
        let Event::Passthrough { forward, .. } = got else {
            return Err("expected a passthrough event".to_owned());
        };
        if forward.body != body || forward.path != "/webhook/telegram" {
            return Err("the forwarded body or path differs from what was sent".to_owned());
        }
        self.out.check("the body arrived byte for byte");
        Ok(())
    }

    /// Step 5: idle, three items buffered, a real wake poke over HTTP, the
    /// re-dial and the drain, each item acked once.
    async fn idle_wake_drain(&mut self) -> StepResult {
        self.out.begin(
            "idle-wake-drain",
            "go idle; the connector buffers three messages, pokes the wake URL; reconnect and drain",
        );
        let wake = WakeListener::bind("127.0.0.1:0", self.handle.clone())
            .await
            .map_err(|e| format!("could not bind the wake listener on 127.0.0.1: {e}"))?;
        let wake_url = wake.url();
        self.wake = Some(wake);
        let url = wake_url.clone();
        self.server
            .with_model(move |c, _| c.set_wake_url(GATEWAY, &url))
            .await
            .map_err(stopped)?;
        self.out.note(&format!("wake listener at {wake_url}"));
        self.out.action("go idle");
        // This gateway advertises a wake URL: rest until the poke.
        taken("go idle", self.handle.go_idle_with(IdleMode::Close)).await?;
        self.expect_state(State::Buffered).await?;
        let pokes_before = self.stats().await?.wake_pokes_sent;
        // All three in one model call, so the poke the first one causes
        // cannot start the drain before the other two are buffered.
        let buffered = self
            .server
            .with_model(|c, now| {
                for i in 1..=3 {
                    c.deliver(GATEWAY, message(&format!("while you were away #{i}")), now);
                }
                c.buffer_len(GATEWAY)
            })
            .await
            .map_err(stopped)?;
        self.out.note(&format!(
            "connector buffered {buffered} messages for {GATEWAY}"
        ));
        if buffered != 3 {
            return Err(format!("{buffered} items buffered, expected 3"));
        }
        let mut seen: Vec<(String, DeliveryHandle)> = Vec::new();
        let mut poked = false;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while seen.len() < 3 {
            let event = match self.next_event(deadline).await {
                Ok(Some(event)) => event,
                Ok(None) => return Err("the client stopped during the drain".to_owned()),
                Err(_) => {
                    return Err(format!(
                        "{} of 3 buffered messages delivered within {} s",
                        seen.len(),
                        STEP_TIMEOUT.as_secs()
                    ));
                }
            };
            if !poked
                && matches!(
                    event,
                    Event::StateChanged {
                        from: State::Buffered,
                        ..
                    }
                )
            {
                // Nothing but the wake endpoint makes a buffered client
                // re-dial here (no dormant re-dial is configured).
                poked = true;
                self.out
                    .note(&format!("woken through GET {wake_url}; re-dialing"));
            }
            if let Event::Inbound { event, delivery } = event {
                let Some(delivery) = delivery else {
                    return Err("a drained item carried no bufferId".to_owned());
                };
                if seen.iter().any(|(_, d)| d == &delivery) {
                    return Err(format!(
                        "{} was delivered twice",
                        delivery.buffer_id().as_str()
                    ));
                }
                self.out
                    .action(&format!("ack {}", delivery.buffer_id().as_str()));
                taken("the ack", self.handle.ack(delivery.clone())).await?;
                seen.push((event.text.clone(), delivery));
            }
        }
        if !poked {
            return Err("the drain started without the client leaving Buffered".to_owned());
        }
        // The poke is counted once its answer is back at the connector.
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while self.stats().await?.wake_pokes_sent <= pokes_before {
            if tokio::time::Instant::now() >= deadline {
                return Err("the connector never saw its wake poke answered".to_owned());
            }
            tokio::time::sleep(LOG_POLL).await;
        }
        self.out
            .note("the connector's wake poke was answered by the wake listener");
        let texts: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
        if texts
            != [
                "while you were away #1",
                "while you were away #2",
                "while you were away #3",
            ]
        {
            return Err(format!(
                "drained {texts:?}, expected the three messages in order"
            ));
        }
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let left = self.server.buffer_len(GATEWAY).await.map_err(stopped)?;
            if left == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "{left} items still buffered 5 s after the last ack"
                ));
            }
            self.settle(30).await?;
        }
        self.settle(100).await?;
        let stats = self.stats().await?;
        if stats.model.acked < 3 || stats.model.acks_duplicate != 0 || stats.model.redelivered != 0
        {
            return Err(format!(
                "connector counted {} acks, {} duplicate acks, {} redeliveries; expected 3, 0, 0",
                stats.model.acked, stats.model.acks_duplicate, stats.model.redelivered
            ));
        }
        self.out
            .check("woken by the poke; 3 drained in order, each acked once; buffer empty");
        Ok(())
    }

    /// Step 6: the link is cut without a close frame; the client backs off
    /// and reconnects.
    async fn abrupt_drop(&mut self) -> StepResult {
        self.out.begin(
            "abrupt-drop",
            "the network drops the socket (no close frame); back off and reconnect",
        );
        let before = self.server.upgrade_count();
        let cut = self.server.drop_connections().await.map_err(stopped)?;
        self.out.note(&format!("connector cut {cut} socket(s)"));
        self.expect("abnormal disconnect", |e| {
            matches!(e, Event::Disconnected { code: None, .. })
        })
        .await?;
        self.expect_state(State::Serving).await?;
        if self.server.upgrade_count() <= before {
            return Err("serving again without a new dial".to_owned());
        }
        let send = self.handle.send_text(CHAT, "back online");
        self.out.action(&format!("send to {CHAT}: \"back online\""));
        let result = answered("the send after reconnecting", send).await?;
        if !result.success {
            return Err(format!(
                "the send after reconnecting failed: {:?}",
                result.error
            ));
        }
        self.flush_log().await;
        self.out.check("reconnected and serving again");
        Ok(())
    }

    /// Step 7: 4401 after a handshake, one confirming re-dial, Revoked, and
    /// no further dials.
    async fn revocation(&mut self) -> StepResult {
        self.out.begin(
            "revocation",
            "the connector revokes the gateway: 4401, one confirming re-dial, then never again",
        );
        self.client_stats = self.handle.stats().await.ok();
        let before = self.server.upgrade_count();
        self.server.revoke(GATEWAY).await.map_err(stopped)?;
        self.expect("4401 close", |e| {
            matches!(
                e,
                Event::Disconnected {
                    code: Some(4401),
                    ..
                }
            )
        })
        .await?;
        self.expect("revocation", |e| matches!(e, Event::Revoked))
            .await?;
        // The stream ends once the client has stopped; keep printing until then.
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.next_event(deadline).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return Err("the client kept running after revocation".to_owned()),
            }
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        self.flush_log().await;
        let dials = self.server.upgrade_count().saturating_sub(before);
        if dials != 1 {
            return Err(format!(
                "{dials} dials after the 4401, expected exactly one confirming re-dial"
            ));
        }
        self.out
            .check("one confirming re-dial was refused; revoked, and no dial in the 600 ms after");
        Ok(())
    }
}
