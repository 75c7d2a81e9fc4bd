//! The benchmark corpus: deterministic, seeded, shared by every bench and by
//! `examples/gen_corpus.rs` (which writes it out for the Python baseline).
//!
//! * connector → gateway: 10,000 frames, 70 % `inbound` chat messages
//!   (realistic text lengths, unicode, some `\n` and `"`), 20 %
//!   `outbound_result`, 10 % the rest (passthrough forwards, interrupts,
//!   descriptors, idle acks); about 6.9 MB.
//! * gateway → connector: 10,000 `outbound` frames (`send` and `edit`
//!   replies with routing metadata).
//!
//! Inbound and outbound frames are built as typed values and encoded with
//! the core's own encoder, so the lines are exactly what a peer sends.

#![allow(dead_code)]

use relay_core::message::{ChatType, MessageEvent, SessionSource};
use relay_core::rng::Rng;
use relay_core::wire::{
    Action, ActionResult, BufferId, ConnectorFrame, EditAction, GatewayFrame, Metadata, Outbound,
    PassthroughForward, SendAction,
};

/// The seed every bench uses.
pub const SEED: u64 = 0x5EED_2026;
/// Frames per direction.
pub const FRAMES: usize = 10_000;

/// What a connector → gateway line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Inbound,
    OutboundResult,
    Passthrough,
    Interrupt,
    Descriptor,
    IdleAck,
}

/// One connector → gateway line (no trailing `\n`).
#[derive(Clone, Debug)]
pub struct Line {
    pub kind: Kind,
    pub text: String,
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "to",
    "and",
    "of",
    "is",
    "it",
    "you",
    "that",
    "in",
    "for",
    "on",
    "this",
    "can",
    "we",
    "please",
    "deploy",
    "build",
    "server",
    "message",
    "channel",
    "thanks",
    "could",
    "check",
    "logs",
    "error",
    "release",
    "tomorrow",
    "meeting",
    "review",
    "branch",
    "merge",
    "config",
    "timeout",
    "latency",
    "database",
    "cache",
    "summary",
    "question",
    "answer",
    "idea",
    "draft",
    "café",
    "naïve",
    "résumé",
    "über",
    "straße",
    "niño",
    "señor",
    "façade",
    "déjà",
    "vu",
    "привет",
    "спасибо",
    "сервер",
    "日本語",
    "東京",
    "会議",
    "你好",
    "谢谢",
    "服务器",
    "안녕하세요",
    "مرحبا",
    "שלום",
    "γειά",
    "😀",
    "🎉",
    "👍",
    "🚀",
    "🔥",
    "❤️",
    "🤔",
    "✅",
    "…",
    "—",
    "→",
    "v2.3.1",
    "#general",
    "@alice",
    "@bob",
    "https://example.com/docs/setup",
    "`cargo",
    "test`",
    "PR",
    "CI",
    "OK",
    "ETA",
    "ASAP",
    "FYI",
    "lol",
    "hmm",
    "yes",
    "no",
    "maybe",
    "later",
];

fn pick<'a>(rng: &mut Rng, items: &'a [&'a str]) -> &'a str {
    items[rng.range_inclusive(0, items.len() as u64 - 1) as usize]
}

/// A chat text of about `target` bytes: words, punctuation, sometimes a
/// quoted phrase or a line break (so some strings need unescaping).
fn text(rng: &mut Rng, target: usize) -> String {
    let mut s = String::with_capacity(target + 16);
    let mut sentence_start = true;
    while s.len() < target {
        let w = pick(rng, WORDS);
        if sentence_start {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
            sentence_start = false;
        } else {
            s.push_str(w);
        }
        match rng.range_inclusive(0, 99) {
            0..=79 => s.push(' '),
            80..=86 => {
                s.push_str(". ");
                sentence_start = true;
            }
            87..=90 => s.push_str(", "),
            91..=92 => s.push_str("? "),
            93 => s.push_str("! "),
            94 => s.push_str(" \"quoted\" "),
            95 => {
                s.push('\n');
                sentence_start = true;
            }
            _ => s.push(' '),
        }
    }
    s.truncate(s.trim_end().len());
    s
}

/// Chat message lengths: many short, some medium, a few long.
fn chat_len(rng: &mut Rng) -> usize {
    match rng.range_inclusive(0, 99) {
        0..=34 => rng.range_inclusive(4, 80) as usize,
        35..=69 => rng.range_inclusive(80, 500) as usize,
        70..=90 => rng.range_inclusive(500, 1400) as usize,
        _ => rng.range_inclusive(1400, 1900) as usize,
    }
}

/// Reply lengths (agent answers are longer than chat messages).
fn reply_len(rng: &mut Rng) -> usize {
    match rng.range_inclusive(0, 99) {
        0..=34 => rng.range_inclusive(20, 200) as usize,
        35..=74 => rng.range_inclusive(200, 850) as usize,
        75..=94 => rng.range_inclusive(850, 1800) as usize,
        _ => rng.range_inclusive(1800, 3000) as usize,
    }
}

fn snowflake(rng: &mut Rng) -> String {
    rng.range_inclusive(100_000_000_000_000_000, 1_400_000_000_000_000_000)
        .to_string()
}

const PLATFORMS: &[&str] = &["discord", "slack", "telegram"];
const NAMES: &[&str] = &[
    "Alice",
    "Bob",
    "Zoë",
    "José",
    "Mikołaj",
    "Søren",
    "Ayşe",
    "Nguyễn Văn An",
    "山田太郎",
    "Дмитрий",
    "Priya",
    "Ahmed",
    "Chloé",
    "Björn",
    "Kwame",
];

/// A stable pool of chats so the scope memory sees repeats.
fn chat(rng: &mut Rng) -> (usize, String) {
    let i = rng.range_inclusive(0, 199) as usize;
    (
        i,
        format!("{}", 900_000_000_000_000_000u64 + i as u64 * 7_919),
    )
}

fn inbound(rng: &mut Rng, n: usize) -> ConnectorFrame {
    let (ci, chat_id) = chat(rng);
    let platform = PLATFORMS[ci % PLATFORMS.len()];
    let dm = ci % 5 == 0;
    // A handful of regulars per chat.
    let regular = rng.range_inclusive(0, 4) as usize;
    let user = NAMES[(ci + regular * 3) % NAMES.len()];
    let user_id = (700_000_000_000_000_000u64 + (ci * 5 + regular) as u64 * 104_729).to_string();
    let source = SessionSource {
        platform: platform.into(),
        chat_id: chat_id.into(),
        chat_type: if dm { ChatType::Dm } else { ChatType::Group },
        chat_name: (!dm).then(|| format!("team-{} ✨", ci % 17).into()),
        user_id: Some(user_id.into()),
        user_name: Some(user.to_lowercase().into()),
        thread_id: rng.chance(1, 5).then(|| snowflake(rng).into()),
        chat_topic: (!dm && rng.chance(1, 3)).then(|| "Release planning & ops 🚀".into()),
        scope_id: (!dm).then(|| format!("guild-{}", ci % 7).into()),
        message_id: Some(snowflake(rng).into()),
        user_display_name: Some(user.into()),
        ..SessionSource::default()
    };
    let mut event = MessageEvent {
        text: {
            let len = chat_len(rng);
            text(rng, len)
        },
        source,
        message_id: None,
        ..MessageEvent::default()
    };
    event.message_id = event.source.message_id.clone();
    if rng.chance(1, 10) {
        event.reply_to_message_id = Some(snowflake(rng).into());
    }
    if rng.chance(1, 20) {
        event.media_urls = vec![format!(
            "https://cdn.example.com/attachments/{}/{}/image.png",
            snowflake(rng),
            snowflake(rng)
        )];
    }
    let buffer_id = rng
        .chance(1, 5)
        .then(|| BufferId(format!("buf-{:012x}-{n}", rng.next_u64() >> 16)));
    ConnectorFrame::Inbound {
        event: Box::new(event),
        buffer_id,
    }
}

fn outbound_result(rng: &mut Rng) -> ConnectorFrame {
    let result = if rng.chance(1, 20) {
        ActionResult::failure(
            "Discord API error 50013: Missing Permissions (channel is read-only)",
            rng.chance(1, 4),
        )
    } else {
        let mut r = ActionResult::ok(Some(snowflake(rng)));
        if rng.chance(1, 10) {
            r.thread_id = Some(snowflake(rng));
        }
        r
    };
    ConnectorFrame::OutboundResult {
        request_id: rng.request_id().to_string(),
        result: Some(Box::new(result)),
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn passthrough(rng: &mut Rng, n: usize) -> ConnectorFrame {
    // A Discord interaction: a few hundred bytes of JSON.
    let body = format!(
        r#"{{"type":2,"id":"{}","application_id":"{}","guild_id":"{}","channel_id":"{}","member":{{"user":{{"id":"{}","username":"alice"}}}},"data":{{"name":"summarize","options":[{{"name":"hours","value":{}}}]}},"token":"{}"}}"#,
        snowflake(rng),
        snowflake(rng),
        snowflake(rng),
        snowflake(rng),
        snowflake(rng),
        rng.range_inclusive(1, 48),
        (0..120)
            .map(|_| BASE64[rng.range_inclusive(0, 61) as usize] as char)
            .collect::<String>()
    );
    let forward = PassthroughForward {
        platform: "discord".into(),
        bot_id: "1180000000000000000".into(),
        method: "POST".into(),
        path: "/interactions/discord/1180000000000000000".into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (
                "x-signature-ed25519".into(),
                format!("{:064x}", rng.next_u64()),
            ),
            ("x-signature-timestamp".into(), "1763900000".into()),
        ],
        body: body.into_bytes(),
        body_undecodable: false,
        profile: None,
    };
    ConnectorFrame::PassthroughForward {
        forward: Box::new(forward),
        buffer_id: rng
            .chance(1, 2)
            .then(|| BufferId(format!("pbuf-{:012x}-{n}", rng.next_u64() >> 16))),
    }
}

/// A `descriptor` line for `platform`.
pub fn descriptor_line(platform: &str) -> String {
    format!(
        r#"{{"type":"descriptor","descriptor":{{"contract_version":1,"platform":"{platform}","label":"{platform} connector","max_message_length":2000,"supports_draft_streaming":false,"supports_edit":true,"supports_threads":true,"markdown_dialect":"{platform}","len_unit":"chars","emoji":"💬","platform_hint":"You are chatting on {platform}.","pii_safe":false,"media_capabilities":["image","document"],"supports_context":true,"supported_ops":["send","edit","typing","follow_up","get_chat_info","send_media","react"]}}}}"#
    )
}

fn encode(frame: &ConnectorFrame) -> String {
    let mut s = frame.to_line();
    s.pop();
    s
}

/// The connector → gateway corpus, in a shuffled but fixed order.
pub fn connector_lines(seed: u64) -> Vec<Line> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(FRAMES);
    for n in 0..FRAMES {
        let roll = rng.range_inclusive(0, 99);
        let (kind, text) = match roll {
            0..=69 => (Kind::Inbound, encode(&inbound(&mut rng, n))),
            70..=89 => (Kind::OutboundResult, encode(&outbound_result(&mut rng))),
            90..=92 => (Kind::Passthrough, encode(&passthrough(&mut rng, n))),
            93..=95 => {
                let (_, chat_id) = chat(&mut rng);
                let frame = ConnectorFrame::InterruptInbound {
                    session_key: format!(
                        "agent:main:discord:group:{chat_id}:{}",
                        snowflake(&mut rng)
                    ),
                    chat_id,
                };
                (Kind::Interrupt, encode(&frame))
            }
            96..=97 => (Kind::Descriptor, descriptor_line(pick(&mut rng, PLATFORMS))),
            _ => (Kind::IdleAck, encode(&ConnectorFrame::GoingIdleAck)),
        };
        out.push(Line { kind, text });
    }
    out
}

/// The actions of the gateway → connector corpus (`send` and `edit`).
pub fn actions(seed: u64) -> Vec<Action> {
    let mut rng = Rng::new(seed ^ 0x00A7_1045);
    (0..FRAMES)
        .map(|_| {
            let (ci, chat_id) = chat(&mut rng);
            let mut metadata = Metadata::new();
            if ci % 5 != 0 {
                metadata.insert("scope_id".into(), format!("guild-{}", ci % 7).into());
            }
            metadata.insert("user_id".into(), snowflake(&mut rng).into());
            let content = {
                let len = reply_len(&mut rng);
                text(&mut rng, len)
            };
            if rng.chance(3, 10) {
                Action::Edit(EditAction {
                    chat_id,
                    message_id: snowflake(&mut rng),
                    content,
                    finalize: rng.chance(1, 3),
                    metadata,
                })
            } else {
                Action::Send(SendAction {
                    chat_id,
                    content,
                    reply_to: rng.chance(1, 4).then(|| snowflake(&mut rng)),
                    metadata,
                })
            }
        })
        .collect()
}

/// The gateway → connector corpus: one `outbound` frame per action.
pub fn outbound_frames(seed: u64) -> Vec<GatewayFrame> {
    let mut rng = Rng::new(seed ^ 0x0D15_EA5E);
    actions(seed)
        .into_iter()
        .map(|action| {
            GatewayFrame::Outbound(Box::new(Outbound {
                request_id: rng.request_id().to_string(),
                action,
                platform: Some("discord".into()),
                bot_id: Some("1180000000000000000".into()),
            }))
        })
        .collect()
}

/// Total bytes of `lines`, one `\n` each included.
pub fn ndjson_bytes(lines: &[Line]) -> usize {
    lines.iter().map(|l| l.text.len() + 1).sum()
}
