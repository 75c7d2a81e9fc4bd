//! A rough throughput check, run on demand:
//! `cargo test --release -p relay-core --test wire_speed -- --ignored --nocapture`

use relay_core::wire::*;
use std::time::Instant;

fn corpus() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for i in 0..10_000u32 {
        let line = match i % 10 {
            0..=6 => format!(
                r#"{{"type":"inbound","event":{{"text":"message {i} with some text, caf\u00e9 \"quoted\" and more words to make it a realistic length","message_type":"text","message_id":"m{i}","source":{{"platform":"discord","chat_id":"chan-{}","chat_type":"group","user_id":"u{}","user_name":"user name","scope_id":"guild-1","guild_id":"guild-1"}},"media_urls":[]}},"bufferId":"buf-{i}"}}"#,
                i % 50,
                i % 7
            ),
            7 | 8 => format!(
                r#"{{"type":"outbound_result","requestId":"{:032x}","result":{{"success":true,"message_id":"srv-{i}"}}}}"#,
                i
            ),
            _ => r#"{"type":"passthrough_forward","forward":{"platform":"discord","botId":"app","method":"POST","path":"/interactions/discord/app","headers":[["content-type","application/json"]],"bodyB64":"eyJ0eXBlIjogMiwgImRhdGEiOiB7Im5hbWUiOiAic3VtbWFyaXplIn19"}}"#.to_owned(),
        };
        lines.push(line.into_bytes());
    }
    lines
}

#[test]
#[ignore]
fn decode_and_encode_throughput() {
    let lines = corpus();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        let mut ok = 0;
        for l in &lines {
            ok += usize::from(decode_connector_frame(l).is_ok());
        }
        assert_eq!(ok, lines.len());
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "decode: {:.0} k frames/s, {:.0} MB/s",
        lines.len() as f64 / best / 1e3,
        bytes as f64 / best / 1e6
    );

    let frames: Vec<GatewayFrame> = (0..10_000u32)
        .map(|i| {
            let mut a = Action::send(
                format!("chan-{}", i % 50),
                format!("reply number {i} with a realistic amount of text in it, \u{e9}\u{1F600}"),
            );
            if let Some(m) = a.metadata_mut() {
                m.insert("scope_id".into(), "guild-1".into());
            }
            GatewayFrame::Outbound(Box::new(Outbound {
                request_id: format!("{i:032x}"),
                action: a,
                platform: Some("discord".into()),
                bot_id: Some("app-1".into()),
            }))
        })
        .collect();
    let mut out = Vec::with_capacity(1 << 20);
    let mut best = f64::MAX;
    let mut total = 0;
    for _ in 0..15 {
        let t = Instant::now();
        total = 0;
        for f in &frames {
            out.clear();
            encode_gateway_frame(f, &mut out);
            total += out.len();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "encode: {:.0} k frames/s, {:.0} MB/s",
        frames.len() as f64 / best / 1e3,
        total as f64 / best / 1e6
    );
}
