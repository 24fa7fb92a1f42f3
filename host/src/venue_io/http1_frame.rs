//! An order request as the bytes of an HTTP/1.1 request, for the kept order connection
//! (`order_lane`), and its target read off its URL without parsing it again.
//!
//! Both run on the way to the wire, once per leg. With the URL parsed (`url::Url`) and each
//! header checked through the `http` crate's types (which allocate for a name they do not
//! know, such as `POLY_SIGNATURE` or `KALSHI-ACCESS-SIGNATURE`), taking a request cost ~8 µs
//! p50 for the first leg and ~4 µs for the second in the `frame_to_wire` bench (BENCHMARKS.md,
//! session 15). The checks here are the same byte rules, written out (the tests hold them to
//! the `http` crate's answers).

use plugin_api::HttpRequest;
use std::io::Write;

/// The bytes before a URL's path: its scheme and authority as written (`https://host:port`).
/// `None` for a URL with no path (the full parse handles it).
pub(super) fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let path = url[after_scheme..].find(['/', '?', '#'])? + after_scheme;
    (url.as_bytes()[path] == b'/').then(|| &url[..path])
}

/// The request target (path and query) of `url` when it starts with `origin` (an origin a
/// full parse already read) and the rest is plain: only bytes a URL parser keeps as they are
/// (letters, digits, `-._~/?=&,:`), and no `.` or `..` path segment (which it would resolve).
/// Then the target is the rest, byte for byte. Anything else (`%`, `#`, spaces, another
/// origin) gives `None`, and the caller parses the URL.
pub(super) fn plain_target<'a>(url: &'a str, origin: &str) -> Option<&'a str> {
    let rest = url.strip_prefix(origin)?;
    if !rest.starts_with('/') {
        return None;
    }
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-._~/?=&,:".contains(&b);
    if !rest.bytes().all(plain) {
        return None;
    }
    let path = rest.split('?').next().unwrap_or(rest);
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return None;
    }
    Some(rest)
}

/// A header name HTTP allows (RFC 9110 `token`).
fn is_token(name: &[u8]) -> bool {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !name.is_empty() && name.iter().all(|&b| tchar(b))
}

/// A header value the `http` crate's `HeaderValue::from_str` takes: no control byte but tab
/// (no CR or LF: a value cannot end the header early).
fn is_plain_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| (b >= b' ' && b != 0x7f) || b == b'\t')
}

/// `req` as HTTP/1.1 bytes for `authority`'s connection; `None` for one this writer does not
/// frame (a method, header name or value `http` would refuse, or a framing header of the
/// plugin's own): `reqwest` then sends it or refuses it.
pub(super) fn frame(req: &HttpRequest, authority: &str, target: &str) -> Option<Vec<u8>> {
    let method = http::Method::from_bytes(req.method.as_bytes()).ok()?;
    let mut out = Vec::with_capacity(256 + req.body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    // What reqwest sends unless the request says otherwise, so a venue sees the same request
    // either way.
    if !req
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
    {
        out.extend_from_slice(b"accept: */*\r\n");
    }
    for (k, v) in &req.headers {
        if !is_token(k.as_bytes()) || !is_plain_value(v.as_bytes()) {
            return None;
        }
        let set_here = ["host", "content-length", "transfer-encoding", "connection"];
        if set_here.iter().any(|h| k.eq_ignore_ascii_case(h)) {
            return None;
        }
        // Lower case, as reqwest writes a name (through the `http` crate).
        out.extend(k.bytes().map(|b| b.to_ascii_lowercase()));
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !req.body.is_empty() || method == http::Method::POST || method == http::Method::PUT {
        // Writing into a `Vec` cannot fail.
        let _ = write!(out, "content-length: {}\r\n", req.body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&req.body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a full parse makes of `url`: its origin's server and its target, as
    /// `order_lane::Server::of` reads them.
    fn parsed_target(url: &str) -> Option<(String, String)> {
        let u = reqwest::Url::parse(url).ok()?;
        let target = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        };
        Some((u.origin().ascii_serialization(), target))
    }

    #[test]
    fn a_plain_target_is_the_urls_own_path_and_query() {
        let origin = "http://127.0.0.1:4123";
        for (url, want) in [
            (
                "http://127.0.0.1:4123/portfolio/events/orders",
                Some("/portfolio/events/orders"),
            ),
            (
                "http://127.0.0.1:4123/order?a=1&b=x,y",
                Some("/order?a=1&b=x,y"),
            ),
            ("http://127.0.0.1:4123/", Some("/")),
            ("http://127.0.0.1:4123/a/../order", None),
            ("http://127.0.0.1:4123/a/./order", None),
            ("http://127.0.0.1:4123/order#frag", None),
            ("http://127.0.0.1:4123/or der", None),
            ("http://127.0.0.1:4123/%2e%2e/order", None),
            ("http://127.0.0.1:41234/order", None),
            ("https://127.0.0.1:4123/order", None),
            ("http://127.0.0.1:4123", None),
        ] {
            assert_eq!(plain_target(url, origin), want, "{url}");
        }
        assert_eq!(
            origin_of("https://clob.polymarket.com/order"),
            Some("https://clob.polymarket.com")
        );
        assert_eq!(origin_of("http://[::1]:80/x?y"), Some("http://[::1]:80"));
        assert_eq!(origin_of("http://host?x=/"), None);
        assert_eq!(origin_of("no scheme"), None);
    }

    proptest! {
        /// Whenever the target is read off the URL, a full parse of that URL reads the same
        /// origin and the same target.
        #[test]
        fn a_plain_target_is_what_a_full_parse_reads(
            origin in prop::sample::select(vec![
                "http://127.0.0.1:4123", "https://api.elections.kalshi.com", "http://[::1]:9",
                "HTTP://LocalHost:80", "https://clob.polymarket.com:443",
            ]),
            rest in "[a-zA-Z0-9/?=&,:._~%# -]{0,40}",
        ) {
            let url = format!("{origin}{rest}");
            if let Some(target) = plain_target(&url, origin) {
                let (parsed_origin, parsed) = parsed_target(&url).expect("parses");
                let first = parsed_target(&format!("{origin}/")).expect("parses").0;
                prop_assert_eq!(parsed_origin, first);
                prop_assert_eq!(parsed, target);
            }
        }

        /// A header is framed exactly when the `http` crate takes its name and value.
        #[test]
        fn header_checks_are_the_http_crates(
            name in "[ -~\t\r\n\u{80}-\u{ff}]{0,8}",
            value in "[ -~\t\r\n\u{0}\u{80}-\u{ff}]{0,8}",
        ) {
            let http_takes = http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && http::HeaderValue::from_str(&value).is_ok();
            prop_assert_eq!(is_token(name.as_bytes()) && is_plain_value(value.as_bytes()), http_takes);
            if http_takes {
                let lower = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
                prop_assert_eq!(name.to_ascii_lowercase(), lower.as_str());
            }
        }
    }
}
