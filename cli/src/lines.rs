//! Bounded line reading (stdin of `relay inspect` and `relay connect`).

/// One line read with a bound (stdin of `relay inspect` and `relay connect`).
pub enum Line {
    /// The line's bytes (without `\n`, nor a `\r` before it).
    Complete,
    /// The line was longer than the bound; this many bytes were seen.
    TooLong(usize),
}

/// Reads one line into `buf` (cleared first), keeping at most `max` bytes
/// of it. `None` at the end of the input.
pub fn read_line(
    input: &mut impl std::io::BufRead,
    max: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Line>> {
    buf.clear();
    let mut seen = 0usize;
    let mut any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (chunk.get(..i).unwrap_or_default(), Some(i + 1)),
            None => (chunk, None),
        };
        seen = seen.saturating_add(part.len());
        if buf.len() < max.saturating_add(1) {
            let room = max.saturating_add(1) - buf.len();
            buf.extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') && seen <= max.saturating_add(1) {
        buf.pop();
        seen = seen.saturating_sub(1);
    }
    if seen > max {
        buf.clear();
        return Ok(Some(Line::TooLong(seen)));
    }
    Ok(Some(Line::Complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input` read through a buffer of `capacity` bytes:
    /// its text, or the length of a line over `max`.
    fn lines(input: &[u8], capacity: usize, max: usize) -> Vec<Result<Vec<u8>, usize>> {
        let mut reader = std::io::BufReader::with_capacity(capacity, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut reader, max, &mut buf).unwrap() {
            out.push(match line {
                Line::Complete => Ok(buf.clone()),
                Line::TooLong(n) => Err(n),
            });
        }
        out
    }

    #[test]
    fn bounded_lines() {
        for capacity in [3, 4] {
            let lines = |input: &[u8], max| lines(input, capacity, max);
            assert_eq!(
                lines(b"ab\r\n\ncdef\nxy", 4),
                vec![
                    Ok(b"ab".to_vec()),
                    Ok(vec![]),
                    Ok(b"cdef".to_vec()),
                    Ok(b"xy".to_vec())
                ]
            );
            assert_eq!(
                lines(b"ab\ncdefgh\r\nxyz", 4),
                vec![Ok(b"ab".to_vec()), Err(7), Ok(b"xyz".to_vec())]
            );
            assert_eq!(lines(b"abcde\nok\n", 4), vec![Err(5), Ok(b"ok".to_vec())]);
            assert_eq!(lines(b"abcde\nok", 4), vec![Err(5), Ok(b"ok".to_vec())]);
            assert_eq!(lines(b"abcd\n", 4), vec![Ok(b"abcd".to_vec())]);
            assert_eq!(lines(b"abcd\r\n", 4), vec![Ok(b"abcd".to_vec())]);
            assert_eq!(lines(b"\n\n", 4), vec![Ok(vec![]), Ok(vec![])]);
            assert_eq!(lines(b"", 4), vec![]);
        }
    }
}
