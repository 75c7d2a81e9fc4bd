//! Replays every committed fuzz seed and regression file through the target
//! bodies, plus a short seeded random smoke run, so crashes found by the
//! fuzzer stay fixed in the ordinary test command.
use std::path::{Path, PathBuf};

use relay_connector::fuzzing::{ConnectorOp, connector_ops};
use relay_core::fuzzing::{ConnOp, connection_ops, frame_decode, ops_from_bytes, token_verify};
use relay_core::rng::Rng;

fn run(target: &str, data: &[u8]) {
    match target {
        "frame_decode" => frame_decode(data),
        "token_verify" => token_verify(data),
        "connection_ops" => connection_ops(&ops_from_bytes::<ConnOp>(data)),
        "connector_ops" => connector_ops(&ops_from_bytes::<ConnectorOp>(data)),
        other => panic!("unknown target {other}"),
    }
}

const TARGETS: [&str; 4] = [
    "frame_decode",
    "token_verify",
    "connection_ops",
    "connector_ops",
];

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn committed_seeds_and_regressions_replay_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for target in TARGETS {
        for dir in [
            root.join("seeds").join(target),
            root.join("regressions").join(target),
        ] {
            for file in files(&dir) {
                let data =
                    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                run(target, &data);
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= 20,
        "expected the committed seeds, replayed {replayed}"
    );
}

#[test]
fn seeded_random_inputs_hold_every_invariant() {
    let mut rng = Rng::new(0x5EED);
    for target in TARGETS {
        for i in 0..300 {
            let len = rng.range_inclusive(0, 512) as usize;
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let result = std::panic::catch_unwind(|| run(target, &data));
            assert!(
                result.is_ok(),
                "{target} input #{i} broke an invariant: {data:?}"
            );
        }
    }
}
