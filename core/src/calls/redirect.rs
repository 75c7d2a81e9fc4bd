//! Following a redirect by hand: where it leads, and whether the
//! `Authorization` header may follow it.

/// `(scheme, host, port)` of an absolute URL, lowercased, with the scheme's
/// default port filled in. `None` for anything unusual.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", h.to_ascii_lowercase()), port)
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (host_port.to_ascii_lowercase(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    let port = match port {
        None | Some("") => default_port?,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
    };
    Some((scheme, host, port))
}

/// Whether a redirect from `original_url` to `redirect_url` (a `Location`
/// value) may carry the `Authorization` header: only when both have the
/// same scheme, host and port.
///
/// A relative `Location` (`/path`, `path`) stays on the original origin; a
/// scheme-relative one (`//host/...`) is resolved against the original
/// scheme. Anything unusual (whitespace, control characters, backslashes,
/// `scheme:` without `//`, an unparsable authority) is answered with
/// `false`: dropping the header is always safe.
pub fn may_forward_authorization(original_url: &str, redirect_url: &str) -> bool {
    let Some(from) = origin(original_url) else {
        return false;
    };
    if redirect_url.is_empty()
        || redirect_url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    let absolute = if let Some(rest) = redirect_url.strip_prefix("//") {
        format!("{}://{rest}", from.0)
    } else if has_scheme(redirect_url) {
        if !redirect_url.contains("://") {
            return false;
        }
        redirect_url.to_owned()
    } else {
        // A path on the same origin.
        return true;
    };
    origin(&absolute).is_some_and(|to| to == from)
}

/// Resolves a redirect's `Location` value against the URL that sent it, as a
/// driver following redirects by hand needs: absolute, scheme-relative,
/// absolute-path, relative-path and query-only forms. `None` for anything
/// that is not an http(s) target (`mailto:`, `javascript:`, `ftp://`), and for
/// values with control characters or backslashes.
pub fn resolve_redirect(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() || location.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let (origin, rest) = split_url(base)?;
    let resolved = if has_scheme(location) {
        // `scheme:` without `//` (`mailto:`, `javascript:`) is no target.
        location.contains("://").then(|| location.to_owned())?
    } else if let Some(after) = location.strip_prefix("//") {
        let scheme = origin.split("://").next()?;
        format!("{scheme}://{after}")
    } else if location.starts_with('/') {
        format!("{origin}{location}")
    } else if location.starts_with('?') {
        let path = rest.split(['?', '#']).next().unwrap_or("");
        format!("{origin}{path}{location}")
    } else {
        let path = rest.split(['?', '#']).next().unwrap_or("");
        let dir = path.rfind('/').and_then(|i| path.get(..=i)).unwrap_or("/");
        format!("{origin}{dir}{location}")
    };
    is_http_url(&resolved).then_some(resolved)
}

/// `scheme://authority` of an http(s) URL, and the rest (path, query).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")?;
    let after = scheme_end + 3;
    let rest = url.get(after..)?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let split = after + authority_len;
    Some((url.get(..split)?, url.get(split..)?))
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `s` starts with `scheme:` (RFC 3986: ALPHA *( ALPHA / DIGIT / + / - / . )).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations_resolve() {
        let base = "http://h:1/relay/provision?x=1";
        assert_eq!(
            resolve_redirect(base, "/a").as_deref(),
            Some("http://h:1/a")
        );
        assert_eq!(
            resolve_redirect(base, "b").as_deref(),
            Some("http://h:1/relay/b")
        );
        assert_eq!(
            resolve_redirect(base, "//other/x").as_deref(),
            Some("http://other/x")
        );
        assert_eq!(
            resolve_redirect(base, "https://o/p").as_deref(),
            Some("https://o/p")
        );
        assert_eq!(
            resolve_redirect(base, "?y=2").as_deref(),
            Some("http://h:1/relay/provision?y=2")
        );
        assert_eq!(resolve_redirect(base, "ftp://o/p"), None);
        assert_eq!(resolve_redirect(base, "javascript:alert(1)"), None);
        assert_eq!(resolve_redirect(base, ""), None);
        assert_eq!(
            resolve_redirect("http://h", "x").as_deref(),
            Some("http://h/x")
        );
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://C.Example/x"),
            Some(("https".to_owned(), "c.example".to_owned(), 443))
        );
        assert_eq!(
            origin("http://u:p@h:8080?q"),
            Some(("http".to_owned(), "h".to_owned(), 8080))
        );
        assert_eq!(
            origin("https://[::1]:9/"),
            Some(("https".to_owned(), "[::1]".to_owned(), 9))
        );
        assert_eq!(origin("https://h:x/"), None);
        assert_eq!(origin("https:///x"), None);
        assert_eq!(origin("gopher://h/"), None);
        assert_eq!(origin("h/x"), None);
    }
}
