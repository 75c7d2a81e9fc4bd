//! `relay demo`: a dev connector and a gateway in one process, and a scripted
//! tour of the protocol printed as a timeline.
//!
//! Every step states what the protocol requires and checks it with a bounded
//! wait; the first expectation that does not hold ends the tour with exit
//! code 1 and says which step failed and why. The steps are in `steps`, the
//! connector, client and waits they drive in `harness`, and how the
//! timeline looks in `render`.

mod harness;
mod render;
mod steps;

use std::io::IsTerminal;

use clap::Args;

use crate::exit::Exit;
use harness::Tour;
use render::Timeline;

/// Options of `relay demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print one JSON object per line instead of the readable timeline.
    #[arg(long)]
    pub json: bool,
    /// Never colour the timeline (colour is also off when stdout is not a
    /// terminal or NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,
}

/// Runs the tour; 0 when every step behaved, 1 otherwise.
pub async fn run(args: DemoArgs) -> Exit {
    let color = !args.json
        && !args.no_color
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let Ok(mut tour) = Tour::start(Timeline::new(args.json, color)).await else {
        return Exit::Failed;
    };
    let result = tour.run().await;
    tour.flush_log().await;
    let exit = match result {
        Ok(()) => {
            tour.summary().await;
            Exit::Ok
        }
        Err(why) => {
            tour.out.fail(&why);
            Exit::Failed
        }
    };
    tour.stop().await;
    exit
}
