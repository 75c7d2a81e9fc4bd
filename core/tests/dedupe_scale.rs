//! Redelivered buffered items reach the application exactly once, at any
//! number of unacked items, and in time linear in their number.

use std::time::{Duration, Instant as Clock};

use relay_core::config::{PlatformIdentity, RelayConfig};
use relay_core::connection::{DeliveryHandle, Event, Input, Output, State};
use relay_core::{Connection, Instant, UnixTime};

const DESC: &str = "{\"type\":\"descriptor\",\"descriptor\":{\"contract_version\":1,\"platform\":\"discord\",\"label\":\"D\",\"max_message_length\":2000,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"discord\",\"len_unit\":\"chars\"}}\n";

fn cfg() -> RelayConfig {
    RelayConfig {
        relay_url: "https://connector.example".into(),
        identities: vec![PlatformIdentity::new("discord", "app-1")],
        gateway_id: Some("gw-1".into()),
        secret: Some("s3cret".into()),
        ..RelayConfig::default()
    }
}

/// One buffered inbound line per id, in one message.
fn buffered(ids: std::ops::Range<usize>) -> String {
    let mut s = String::new();
    for i in ids {
        s.push_str(&format!(
            "{{\"type\":\"inbound\",\"event\":{{\"text\":\"m{i}\",\"message_type\":\"text\",\"source\":{{\"platform\":\"discord\",\"chat_id\":\"c{}\",\"chat_type\":\"group\"}}}},\"bufferId\":\"buf-{i}\"}}\n",
            i % 7
        ));
    }
    s
}

/// A connection plus what the application has seen.
struct Gw {
    conn: Connection,
    now: u64,
    deadline: Option<Instant>,
    handed: Vec<DeliveryHandle>,
    acks_written: usize,
    closes: Vec<u16>,
    started: Clock,
    budget: Duration,
}

impl Gw {
    fn new(config: RelayConfig, budget: Duration) -> Gw {
        let conn = Connection::new(
            config,
            7,
            Instant::from_millis(0),
            UnixTime::from_secs(1_700_000_000),
        );
        let mut g = Gw {
            conn,
            now: 0,
            deadline: None,
            handed: Vec::new(),
            acks_written: 0,
            closes: Vec::new(),
            started: Clock::now(),
            budget,
        };
        g.drain();
        g
    }

    fn drain(&mut self) {
        loop {
            assert!(
                self.started.elapsed() < self.budget,
                "over the time budget of {:?} ({} handed so far)",
                self.budget,
                self.handed.len()
            );
            match self.conn.poll_output() {
                Output::Wait(d) => {
                    self.deadline = d;
                    return;
                }
                Output::Event(Event::Inbound {
                    delivery: Some(d), ..
                }) => self.handed.push(d),
                Output::Transmit(t) if t.contains("inbound_ack") => self.acks_written += 1,
                Output::Close { code, .. } => self.closes.push(code),
                _ => {}
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.conn
            .handle_input(input, Instant::from_millis(self.now));
        self.drain();
    }

    /// Feeds `text` in chunks of whole lines, as a socket would.
    fn message(&mut self, text: &str) {
        let mut rest = text;
        while !rest.is_empty() {
            let mut cut = rest.len().min(64 * 1024);
            while cut < rest.len() && !rest.is_char_boundary(cut) {
                cut += 1;
            }
            let (head, tail) = rest.split_at(cut);
            self.input(Input::Message(head.as_bytes()));
            rest = tail;
            if !matches!(self.conn.state(), State::Serving | State::GoingIdle) {
                return;
            }
        }
    }

    /// Opens a socket (firing the dial timer first if needed) and reads the descriptor.
    fn connect(&mut self) {
        for _ in 0..10 {
            if self.conn.state() == State::Dialing {
                if let Some(d) = self.deadline {
                    self.now = self.now.max(d.as_millis());
                    self.input(Input::Timeout);
                }
                self.input(Input::Opened);
            }
            if self.conn.state() == State::Handshaking {
                self.input(Input::Message(DESC.as_bytes()));
            }
            if self.conn.state() == State::Serving {
                return;
            }
        }
        panic!("never reached Serving: {:?}", self.conn.state());
    }

    fn drop_socket(&mut self) {
        self.input(Input::Closed {
            code: None,
            reason: "reset".into(),
        });
    }

    fn ack_all(&mut self) {
        for d in std::mem::take(&mut self.handed) {
            let now = Instant::from_millis(self.now);
            self.conn.ack(d, now).expect("ack");
        }
        self.drain();
    }
}

/// CPU time of this thread (the machine may be busy with other work, so
/// wall time would measure that too).
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Delivers `n` buffered items, drops the socket, redelivers all `n`:
/// returns how many the application was handed in all, and the CPU time of
/// the redelivery alone.
fn redeliver_unacked(n: usize, budget: Duration) -> (usize, Duration) {
    let mut g = Gw::new(cfg(), budget);
    g.connect();
    g.message(&buffered(0..n));
    assert_eq!(g.handed.len(), n, "first delivery");
    g.drop_socket();
    g.connect();
    let again = buffered(0..n);
    let cpu = thread_cpu_time();
    g.message(&again);
    let cpu = thread_cpu_time().saturating_sub(cpu);
    (g.handed.len(), cpu)
}

#[test]
fn redelivery_of_4_200_unacked_items_reaches_the_app_once() {
    let (handed, _) = redeliver_unacked(4_200, Duration::from_secs(60));
    assert_eq!(handed, 4_200);
}

#[test]
fn redelivery_of_10_000_unacked_items_reaches_the_app_exactly_10_000_times() {
    let (handed, _) = redeliver_unacked(10_000, Duration::from_secs(60));
    assert_eq!(handed, 10_000);
}

#[test]
fn redelivery_of_100_000_unacked_items_is_fast_and_exact() {
    // The wall-clock budget only stops a runaway; the bound is on the CPU
    // time of the redelivery: well under a second with optimisations,
    // generous in debug builds.
    let (handed, cpu) = redeliver_unacked(100_000, Duration::from_secs(120));
    eprintln!("100k redelivered: {handed} handed in all; redelivery took {cpu:?} of CPU");
    assert_eq!(handed, 100_000);
    let bound = if cfg!(debug_assertions) {
        Duration::from_secs(30)
    } else {
        Duration::from_millis(500)
    };
    assert!(cpu < bound, "redelivery of 100k took {cpu:?}");
}

#[test]
fn items_acked_while_offline_are_never_handed_again() {
    let n = 6_000;
    let mut g = Gw::new(cfg(), Duration::from_secs(60));
    g.connect();
    g.message(&buffered(0..n));
    assert_eq!(g.handed.len(), n);
    g.drop_socket();
    // Acked with no socket: each ack is written on the item's redelivery.
    g.ack_all();
    assert_eq!(g.acks_written, 0);
    g.connect();
    g.message(&buffered(0..n));
    assert_eq!(g.handed.len(), 0, "nothing handed twice");
    assert_eq!(g.acks_written, n, "every redelivery acked");
}

#[test]
fn at_the_bound_the_connection_closes_and_nothing_is_lost_or_duplicated() {
    let mut config = cfg();
    config.limits.max_unacked_deliveries = 100;
    let mut g = Gw::new(config, Duration::from_secs(60));
    g.connect();
    g.message(&buffered(0..150));
    // The 101st is neither handed over nor acked: the socket is closed so
    // the connector keeps it.
    assert_eq!(g.handed.len(), 100);
    assert_eq!(
        g.closes,
        vec![relay_core::connection::CLOSE_TRY_AGAIN_LATER]
    );
    assert_eq!(g.conn.state(), State::Dialing);
    assert_eq!(g.conn.stats().deliveries_deferred, 1);
    assert_eq!(g.acks_written, 0);
    let first: Vec<_> = g
        .handed
        .iter()
        .map(|d| d.buffer_id().as_str().to_owned())
        .collect();

    // The app acks what it holds; the connector redelivers all 150.
    g.connect();
    g.ack_all();
    assert_eq!(g.acks_written, 100);
    g.message(&buffered(0..150));
    let second: Vec<_> = g
        .handed
        .iter()
        .map(|d| d.buffer_id().as_str().to_owned())
        .collect();
    assert_eq!(second.len(), 50, "only the 50 never handed");
    let mut all = first;
    all.extend(second);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 150, "each item exactly once");
}

/// The same bound holds on a socket kept open after going idle
/// (`IdleMode::Keep`): items still arriving there past the bound close the
/// socket so the connector keeps them, as in every other state that reads.
#[test]
fn at_the_bound_a_socket_kept_while_buffered_closes_too() {
    let mut config = cfg();
    config.limits.max_unacked_deliveries = 100;
    let mut g = Gw::new(config, Duration::from_secs(60));
    g.connect();
    let now = Instant::from_millis(g.now);
    g.conn
        .go_idle_with(relay_core::config::IdleMode::Keep, now)
        .expect("go idle");
    g.drain();
    g.input(Input::Message(b"{\"type\":\"going_idle_ack\"}\n"));
    assert_eq!(g.conn.state(), State::Buffered);
    assert!(g.closes.is_empty(), "the socket is kept: {:?}", g.closes);

    g.input(Input::Message(buffered(0..150).as_bytes()));
    assert_eq!(g.handed.len(), 100);
    assert_eq!(
        g.closes,
        vec![relay_core::connection::CLOSE_TRY_AGAIN_LATER],
        "the 101st item closes the kept socket"
    );
    assert_eq!(g.conn.stats().deliveries_deferred, 1);
    assert_eq!(g.acks_written, 0);
}
