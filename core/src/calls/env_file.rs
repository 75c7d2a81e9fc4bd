//! The env file credentials are written to.

/// Quotes a value for a dotenv file when it needs it: plain when it is made
/// of safe characters, else single-quoted (no escapes, no interpolation),
/// else double-quoted with `\\`, `\"`, `\n`, `\r` escaped.
fn env_value(v: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_.:/@+=,~%".contains(c);
    if !v.is_empty() && v.chars().all(safe) {
        return v.to_owned();
    }
    if !v.contains(['\'', '\n', '\r']) {
        return format!("'{v}'");
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The variable a dotenv line assigns, if any (`KEY=…` or `export KEY=…`).
fn assigned_name(line: &str) -> Option<&str> {
    let l = line.trim_start();
    let l = l.strip_prefix("export ").map(str::trim_start).unwrap_or(l);
    let (name, _) = l.split_once('=')?;
    let name = name.trim_end();
    (!name.is_empty() && !name.starts_with('#')).then_some(name)
}

/// Renders an env file: the lines of `existing` are kept in order, except
/// that a line assigning one of `vars` is replaced by the new value (later
/// duplicates of it are dropped); variables not present yet are appended.
/// Every line ends with `\n`. The driver writes the result atomically with
/// mode 0600.
pub fn render_env_file(existing: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut written: Vec<&str> = Vec::new();
    for line in existing.lines() {
        let replaced = assigned_name(line)
            .and_then(|name| vars.iter().find(|(k, _)| *k == name))
            .map(|(k, v)| (*k, v));
        match replaced {
            Some((k, _)) if written.contains(&k) => {}
            Some((k, v)) => {
                out.push_str(&format!("{k}={}\n", env_value(v)));
                written.push(k);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (k, v) in vars {
        if !written.contains(k) {
            out.push_str(&format!("{k}={}\n", env_value(v)));
            written.push(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_value_quoting() {
        assert_eq!(env_value("abc-123_x=/+"), "abc-123_x=/+");
        assert_eq!(env_value("has space"), "'has space'");
        assert_eq!(env_value("$HOME"), "'$HOME'");
        assert_eq!(env_value(""), "''");
        assert_eq!(env_value("it's\n"), "\"it's\\n\"");
        assert_eq!(env_value("a\"b'c\\"), "\"a\\\"b'c\\\\\"");
    }
}
