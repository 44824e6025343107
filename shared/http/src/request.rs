//! Reading requests safely: parameters, headers, cookies and bodies with size caps, never
//! panicking. Forms are typed structs through `lambda_http`'s payload extraction
//! (serde_urlencoded); cookies through the `cookie` crate.

use std::borrow::Cow;
use std::net::IpAddr;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, RequestPayloadExt};
use serde::de::DeserializeOwned;

use crate::HttpError;

/// The caller's network as API Gateway saw it (`requestContext.http.sourceIp`; the local gateway
/// fills it from the socket): an IPv4 address, or the /64 an IPv6 address lies in (one
/// subscriber's block, inside which a device picks new addresses at will).
pub fn source_network(req: &Request) -> Option<String> {
    let ip: IpAddr = match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref()?.trim().parse().ok()?,
        _ => return None,
    };
    Some(network_of(ip))
}

/// `req` as API Gateway would hand it from `ip` (the local gateway and tests).
pub fn with_source_ip(req: Request, ip: IpAddr) -> Request {
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
    };
    // Non-exhaustive structs: built from their defaults, field by field.
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = req.method().clone();
    http.path = Some(req.uri().path().to_owned());
    http.source_ip = Some(ip.to_string());
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.http = http;
    req.with_request_context(RequestContext::ApiGatewayV2(ctx))
}

fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = a.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

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

/// Refuses form-encoded `bytes` (a body or a query string) with a name or value that is not
/// valid UTF-8 once percent-decoded: a 400 naming the field, where a lossy decoder would store
/// U+FFFD.
pub fn utf8_pairs(bytes: &[u8]) -> Result<(), HttpError> {
    for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let name = it.next().unwrap_or_default();
        let value = it.next().unwrap_or_default();
        let decode = |s: &[u8]| -> Vec<u8> {
            let plus: Vec<u8> = s.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
            percent_encoding::percent_decode(&plus).collect()
        };
        let name = decode(name);
        let field = String::from_utf8_lossy(&name).chars().take(40).collect::<String>();
        if std::str::from_utf8(&name).is_err() || std::str::from_utf8(&decode(value)).is_err() {
            return Err(HttpError::BadRequest(format!("{field}: not valid UTF-8")));
        }
    }
    Ok(())
}

/// Refuses a query string that is not valid UTF-8 once decoded (see `utf8_pairs`).
pub fn utf8_query(req: &Request) -> Result<(), HttpError> {
    req.uri().query().map_or(Ok(()), |q| utf8_pairs(q.as_bytes()))
}

/// An `application/x-www-form-urlencoded` body as `T`; 413 past `MAX_BODY`, 400 naming the
/// field when it is not valid UTF-8 or does not fit `T`.
pub fn form<T: DeserializeOwned>(req: &Request) -> Result<T, HttpError> {
    utf8_pairs(body_bytes(req)?)?;
    match req.form_url_encoded::<T>() {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(HttpError::BadRequest("body: empty form".into())),
        // serde_urlencoded's message names the field (`missing field `coupon``).
        Err(e) => Err(HttpError::BadRequest(
            format!("body: {}", lambda_http::ext::PayloadError::from(e))
                .trim_end()
                .to_owned(),
        )),
    }
}

/// Every value of a repeated form field (`v=a&v=b`, as checkboxes post), which a struct
/// through serde_urlencoded cannot collect.
pub fn repeated(req: &Request, name: &str) -> Result<Vec<String>, HttpError> {
    let bytes = body_bytes(req)?;
    utf8_pairs(bytes)?;
    Ok(form_urlencoded::parse(bytes)
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect())
}

/// The pairs of a query string or form body, percent-decoded (invalid UTF-8 replaced).
pub fn pairs(bytes: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    form_urlencoded::parse(bytes)
}

/// A cookie's value from the `Cookie` header(s).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
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

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Sample {
        name: String,
        #[serde(default)]
        note: String,
    }

    fn post(body: &str) -> Request {
        let mut req = Request::new(Body::from(body.to_owned()));
        req.headers_mut().insert(
            "content-type",
            lambda_http::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        req
    }

    #[test]
    fn the_network_is_the_v4_address_or_the_v6_slash_64() -> Result<(), std::net::AddrParseError> {
        let from = |ip: &str| -> Result<Option<String>, std::net::AddrParseError> {
            Ok(source_network(&with_source_ip(post(""), ip.parse()?)))
        };
        assert_eq!(from("203.0.113.7")?.as_deref(), Some("203.0.113.7"));
        assert_eq!(from("2001:db8:aa:bb:1:2:3:4")?.as_deref(), Some("2001:db8:aa:bb::/64"));
        assert_eq!(from("2001:db8:aa:bb:ffff::9")?, from("2001:db8:aa:bb:1:2:3:4")?);
        assert_eq!(from("::ffff:203.0.113.7")?.as_deref(), Some("203.0.113.7"));
        assert_eq!(source_network(&post("")), None);
        Ok(())
    }

    #[test]
    fn decodes_korean_and_plus() -> Result<(), HttpError> {
        let s: Sample = form(&post("name=%ED%99%8D%EA%B8%B8%EB%8F%99&note=a+b&bad=%ZZ"))?;
        assert_eq!(
            s,
            Sample {
                name: "홍길동".into(),
                note: "a b".into()
            }
        );
        let v = repeated(&post("v=a&x=1&v=%EA%B0%80"), "v")?;
        assert_eq!(v, vec!["a".to_owned(), "가".to_owned()]);
        Ok(())
    }

    #[test]
    fn a_missing_field_is_a_bad_request_and_a_huge_body_too_large() {
        assert!(matches!(form::<Sample>(&post("note=x")), Err(HttpError::BadRequest(_))));
        let huge = format!("name={}", "a".repeat(MAX_BODY));
        assert!(matches!(form::<Sample>(&post(&huge)), Err(HttpError::TooLarge)));
    }

    #[test]
    fn invalid_utf8_is_refused_with_the_field() {
        let mut req = post("name=%ED%99%8D");
        *req.body_mut() = Body::from(b"note=ok&name=%FF%FE".to_vec());
        match form::<Sample>(&req) {
            Err(HttpError::BadRequest(why)) => assert!(why.starts_with("name:"), "{why}"),
            other => panic!("{other:?}"),
        }
        *req.body_mut() = Body::from(b"name=\xff".to_vec());
        assert!(matches!(form::<Sample>(&req), Err(HttpError::BadRequest(_))));
        assert!(utf8_pairs(b"q=%EA%B0%80&w=1").is_ok());
        assert!(utf8_pairs(b"q=%EA%B0").is_err());
    }

    #[test]
    fn cookies_are_found_among_several() {
        let mut req = Request::new(Body::Empty);
        req.headers_mut().append(
            "cookie",
            lambda_http::http::HeaderValue::from_static("a=1; mcv_x=AbC; b=2"),
        );
        assert_eq!(cookie(&req, "mcv_x").as_deref(), Some("AbC"));
        assert_eq!(cookie(&req, "c"), None);
    }

    proptest! {
        #[test]
        fn form_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut req = Request::new(Body::from(bytes.clone()));
            req.headers_mut().insert(
                "content-type",
                lambda_http::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            let _ = form::<Sample>(&req);
            let _ = repeated(&req, "v");
        }
    }
}
