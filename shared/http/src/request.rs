//! Reading requests safely: parameters, headers and bodies with size caps, never panicking.

use lambda_http::{Body, Request, RequestExt};

use crate::HttpError;

/// Largest form or JSON body accepted (bigger -> 413).
pub const MAX_BODY: usize = 16 * 1024;

pub fn path_param(req: &Request, name: &str) -> Option<String> {
    req.path_parameters().first(name).map(str::to_owned)
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters().first(name).map(str::to_owned)
}

/// A header as text; absent when missing or not valid visible ASCII/UTF-8.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The body's bytes, refused past `MAX_BODY`.
pub fn body_bytes(req: &Request) -> Result<&[u8], HttpError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY {
        return Err(HttpError::TooLarge);
    }
    Ok(bytes)
}

/// Fields of an `application/x-www-form-urlencoded` body (repeated names kept in order).
pub fn form(req: &Request) -> Result<Vec<(String, String)>, HttpError> {
    let bytes = body_bytes(req)?;
    Ok(form_urlencoded(bytes))
}

/// Parses `a=1&b=%ED%95%9C`; invalid UTF-8 is replaced, never a panic.
pub fn form_urlencoded(bytes: &[u8]) -> Vec<(String, String)> {
    bytes
        .split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A cookie's value from the `Cookie` header(s).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    for v in req.headers().get_all("cookie") {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=')
                && k == name
            {
                return Some(val.to_owned());
            }
        }
    }
    None
}

/// `https://host` of this request, for absolute links when no base URL is configured.
pub fn origin(req: &Request, configured: Option<&str>) -> String {
    if let Some(b) = configured {
        return b.to_owned();
    }
    let host = header(req, "host")
        .filter(|h| h.len() < 256 && !h.contains(['/', ' ', '"', '<']))
        .unwrap_or("localhost");
    let proto = match header(req, "x-forwarded-proto") {
        Some("http") => "http",
        Some(_) => "https",
        None if host.starts_with("127.0.0.1") || host.starts_with("localhost") => "http",
        None => "https",
    };
    format!("{proto}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_korean_and_plus() {
        let f = form_urlencoded(b"name=%ED%99%8D%EA%B8%B8%EB%8F%99&note=a+b&bad=%ZZ&trail=%E");
        assert_eq!(f[0], ("name".into(), "홍길동".into()));
        assert_eq!(f[1], ("note".into(), "a b".into()));
        assert_eq!(f[2], ("bad".into(), "%ZZ".into()));
        assert_eq!(f[3], ("trail".into(), "%E".into()));
    }

    proptest! {
        #[test]
        fn form_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = form_urlencoded(&bytes);
        }
    }
}
