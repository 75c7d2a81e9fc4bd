//! `relay-sim`: replay one seed or sweep a range of seeds.
//!
//! ```text
//! relay-sim --seed 42 [--trace]      replay one seed (trace on stdout)
//! relay-sim --seeds 0..2000          sweep, one thread per core
//! relay-sim --check-determinism --seed 42
//! relay-sim --seed 48 --minimize     shrink a failing seed, print a regression test
//! relay-sim --plant ack-on-delivery --seeds 0..10000
//!                                    first seed that catches a planted bug
//!                                    (feature `planted-bugs`)
//! options: --gateways N  --fault-window MS  --heal-bound MS
//!          --off FAULT,FAULT  --threads N
//!
//! --world core|engine|both   which world (default both for --seeds, core
//!                            for --seed); the engine world takes --clients N
//!                            and its own --off and --plant names
//! ```

use std::process::ExitCode;

use relay_sim::cli::{self, Command};
use relay_sim::{CoreWorld, engine::EngineWorld};

/// The world a command runs: the core-only world, the engine world, or
/// both (a sweep of both, one after the other).
#[derive(Clone, Copy, PartialEq, Eq)]
enum WorldArg {
    Core,
    Engine,
    Both,
}

/// Takes `--world` out of the arguments.
fn take_world(args: &mut Vec<String>) -> Result<WorldArg, String> {
    let Some(i) = args.iter().position(|a| a == "--world") else {
        let single = args.iter().any(|a| a == "--seed");
        return Ok(if single {
            WorldArg::Core
        } else {
            WorldArg::Both
        });
    };
    let value = args.get(i + 1).cloned().ok_or("--world needs a value")?;
    args.drain(i..i + 2);
    match value.as_str() {
        "core" => Ok(WorldArg::Core),
        "engine" => Ok(WorldArg::Engine),
        "both" => Ok(WorldArg::Both),
        other => Err(format!(
            "--world: unknown world {other:?} (core, engine or both)"
        )),
    }
}

/// Parses and runs the command in world `W`.
fn world_main<W: Command>(raw: &[String]) -> ExitCode {
    match cli::parse::<W>(raw) {
        Ok(a) => cli::run::<W>(&a),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let mut raw: Vec<String> = std::env::args().skip(1).collect();
    let world = match take_world(&mut raw) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if raw.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{}", cli::USAGE);
        return ExitCode::from(2);
    }
    match world {
        WorldArg::Core => world_main::<CoreWorld>(&raw),
        WorldArg::Engine => world_main::<EngineWorld>(&raw),
        WorldArg::Both => {
            let core = world_main::<CoreWorld>(&raw);
            let engine = world_main::<EngineWorld>(&raw);
            if core == ExitCode::SUCCESS {
                engine
            } else {
                core
            }
        }
    }
}
