//! Writes the benchmark corpus as NDJSON for the Python baseline
//! (`bench/python/bench.py`), from the same seeded generator the criterion
//! benches use.
//!
//! Run: `cargo run --release -p hermes-relay-core --example gen_corpus [-- DIR]`
//! (default `target/bench-corpus`): writes `DIR/c2g.ndjson` (connector →
//! gateway) and `DIR/g2c.ndjson` (gateway → connector `outbound` frames).

#[path = "../benches/support/corpus.rs"]
mod corpus;

use std::fs;
use std::path::PathBuf;

use relay_core::wire::encode_gateway_frame;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench-corpus"));
    fs::create_dir_all(&dir)?;

    let lines = corpus::connector_lines(corpus::SEED);
    let mut c2g = String::with_capacity(corpus::ndjson_bytes(&lines));
    for l in &lines {
        c2g.push_str(&l.text);
        c2g.push('\n');
    }
    fs::write(dir.join("c2g.ndjson"), &c2g)?;

    let mut g2c = Vec::new();
    for f in corpus::outbound_frames(corpus::SEED) {
        encode_gateway_frame(&f, &mut g2c);
    }
    fs::write(dir.join("g2c.ndjson"), &g2c)?;

    let count = |k: corpus::Kind| lines.iter().filter(|l| l.kind == k).count();
    let inbound: Vec<_> = lines
        .iter()
        .filter(|l| l.kind == corpus::Kind::Inbound)
        .collect();
    let escaped = inbound.iter().filter(|l| l.text.contains('\\')).count();
    println!(
        "c2g: {} frames, {} bytes ({} inbound, {} with escapes; {} outbound_result; {} passthrough; {} interrupt; {} descriptor; {} idle ack)",
        lines.len(),
        c2g.len(),
        inbound.len(),
        escaped,
        count(corpus::Kind::OutboundResult),
        count(corpus::Kind::Passthrough),
        count(corpus::Kind::Interrupt),
        count(corpus::Kind::Descriptor),
        count(corpus::Kind::IdleAck),
    );
    println!("g2c: {} frames, {} bytes", corpus::FRAMES, g2c.len());
    println!("written to {}", dir.display());
    Ok(())
}
