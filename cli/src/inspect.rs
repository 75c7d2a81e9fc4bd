//! `relay inspect`: decode NDJSON frames from stdin, one JSON report a line.

use std::io::{self, BufRead, Write};

use clap::{Args, ValueEnum};
use relay_core::wire::{
    DEFAULT_MAX_FRAME_BYTES, DecodeError, decode_connector_frame, decode_gateway_frame,
};
use serde_json::{Value, json};

use crate::exit::{Exit, fail};
use crate::lines::{Line, read_line};

/// Who sent the frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    /// Connector to gateway (`descriptor`, `inbound`, ...).
    C2g,
    /// Gateway to connector (`hello`, `outbound`, ...).
    G2c,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::C2g => "c2g",
            Direction::G2c => "g2c",
        }
    }
}

/// `relay inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The direction of every frame [default: inferred from each frame's type].
    #[arg(long, value_enum)]
    direction: Option<Direction>,
    /// Longest accepted line in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME_BYTES)]
    max_line_bytes: usize,
}

/// Decodes `line` in `direction`, or in whichever direction knows its type.
fn decode(line: &[u8], direction: Option<Direction>) -> Result<(Direction, Value), DecodeError> {
    let as_c2g = |line: &[u8]| {
        decode_connector_frame(line).map(|f| (Direction::C2g, f.type_name(), f.to_line()))
    };
    let as_g2c = |line: &[u8]| {
        decode_gateway_frame(line).map(|f| (Direction::G2c, f.type_name(), f.to_line()))
    };
    let (dir, _, text) = match direction {
        Some(Direction::C2g) => as_c2g(line)?,
        Some(Direction::G2c) => as_g2c(line)?,
        None => match as_c2g(line) {
            Err(DecodeError::UnknownType { .. }) => as_g2c(line)?,
            other => other?,
        },
    };
    let frame = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok((dir, frame))
}

fn report(number: u64, result: Result<(Direction, Value), DecodeError>) -> Value {
    match result {
        Ok((direction, frame)) => {
            let ty = frame.get("type").cloned().unwrap_or(Value::Null);
            json!({
                "line": number,
                "ok": true,
                "direction": direction.as_str(),
                "type": ty,
                "frame": frame,
            })
        }
        Err(e) => json!({ "line": number, "ok": false, "error": e.to_string() }),
    }
}

/// Runs `relay inspect` on stdin and stdout.
pub fn run(args: &InspectArgs) -> Exit {
    if args.max_line_bytes == 0 {
        return fail(Exit::Usage, "--max-line-bytes must be at least 1");
    }
    let stdin = io::stdin();
    let stdout = io::stdout();
    match inspect(&mut stdin.lock(), &mut stdout.lock(), args) {
        Ok(true) => Exit::Ok,
        Ok(false) => Exit::Failed,
        // A closed stdout (`relay inspect | head`) is not worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Failed,
        Err(e) => fail(Exit::Failed, format_args!("could not read or write: {e}")),
    }
}

/// Reports every non-blank line; `Ok(true)` when all decoded.
fn inspect(
    input: &mut impl BufRead,
    output: &mut impl Write,
    args: &InspectArgs,
) -> io::Result<bool> {
    let mut all_ok = true;
    let mut number = 0u64;
    let mut buf = Vec::new();
    while let Some(line) = read_line(input, args.max_line_bytes, &mut buf)? {
        number += 1;
        let result = match line {
            Line::TooLong(len) => Err(DecodeError::TooLarge {
                len,
                max: args.max_line_bytes,
            }),
            Line::Complete if buf.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Complete => decode(&buf, args.direction),
        };
        all_ok &= result.is_ok();
        let mut text = report(number, result).to_string();
        text.push('\n');
        output.write_all(text.as_bytes())?;
    }
    output.flush()?;
    Ok(all_ok)
}
