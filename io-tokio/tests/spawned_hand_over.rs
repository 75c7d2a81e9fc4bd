//! A spawned client's calls are carried out by the task that makes them:
//! a request is written, and its result and the events are read, by the
//! application's own task while it awaits, without waiting for the driver
//! task. Proven with a runtime whose spawned tasks never run: only the
//! application's awaits can move such a client.

use std::sync::Mutex;
use std::time::Duration;

use relay_connector::server::ConnectorServer;
use relay_core::config::RelayConfig;
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::{Event, Instant, State, UnixTime};
use relay_engine::{BoxFuture, IoStream, Runtime};
use relay_tokio::TokioRuntime;

/// Tokio for timers and sockets, but spawned tasks are kept and never run.
struct NoDriver(TokioRuntime, Mutex<Vec<BoxFuture<()>>>);

impl Runtime for NoDriver {
    fn spawn(&self, task: BoxFuture<()>) {
        self.1.lock().unwrap().push(task);
    }
    fn now(&self) -> Instant {
        self.0.now()
    }
    fn wall_clock(&self) -> UnixTime {
        self.0.wall_clock()
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        self.0.sleep_until(deadline)
    }
    fn connect_tcp(
        &self,
        host: String,
        port: u16,
    ) -> BoxFuture<std::io::Result<Box<dyn IoStream>>> {
        self.0.connect_tcp(host, port)
    }
    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        self.0.unblock(work)
    }
    fn seed(&self) -> u64 {
        self.0.seed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_awaiting_task_moves_the_client_without_its_driver_task() {
    let run = async {
        let server = ConnectorServer::builder()
            .gateway("gw-1", &["secret-1"])
            .start()
            .await
            .unwrap();
        let config = RelayConfig::builder(server.url())
            .identity("telegram", "bot-1")
            .gateway_id("gw-1")
            .secret("secret-1")
            .build()
            .unwrap();
        let runtime = NoDriver(TokioRuntime::try_current().unwrap(), Mutex::default());
        let (handle, mut events) = relay_engine::RelayClient::start_on(
            runtime,
            config,
            relay_tokio::ClientOptions::default(),
        );
        // The dial and the handshake, read by this task.
        loop {
            match events.next_event().await {
                Some(Event::StateChanged {
                    to: State::Serving, ..
                }) => break,
                Some(_) => {}
                None => panic!("the client stopped"),
            }
        }
        // A request written and its result read by this task.
        let result = handle.send_text("c-1", "hello").await.unwrap();
        assert!(result.success, "{result:?}");
        assert_eq!(server.stats().await.unwrap().model.outbound_results, 1);
        // An inbound message.
        let event = MessageEvent {
            text: "ping".into(),
            source: SessionSource {
                platform: "telegram".into(),
                chat_id: "c-1".into(),
                ..SessionSource::default()
            },
            ..MessageEvent::default()
        };
        server.deliver("gw-1", event).await.unwrap();
        loop {
            match events.next_event().await {
                Some(Event::Inbound { event, .. }) => {
                    assert_eq!(event.text, "ping");
                    break;
                }
                Some(_) => {}
                None => panic!("the client stopped"),
            }
        }
        // Shutdown completes too.
        handle.shutdown().await;
        // The stream hands out what was left, then ends.
        while events.next_event().await.is_some() {}
        server.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the client made no progress without its driver task");
}
