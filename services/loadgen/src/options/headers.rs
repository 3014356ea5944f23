//! REQUEST_HEADERS: headers every request carries (a token, a tenant), given as text, one
//! `Name: value` per line, and checked before anything starts.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Most headers REQUEST_HEADERS may give.
pub const MAX_REQUEST_HEADERS: usize = 64;

/// The headers the client sets itself: connection handling, framing and the body's type
/// (SMALL_BODY, LARGE_BODY) belong to the lab's own settings, so a line naming one is refused.
pub const MANAGED_HEADERS: [&str; 7] = [
    "host",
    "connection",
    "content-length",
    "content-type",
    "transfer-encoding",
    "expect",
    "te",
];

/// One header every request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// Its name (lower case, as HTTP/1 names compare).
    pub name: HeaderName,
    /// Its value.
    pub value: HeaderValue,
}

/// Parses REQUEST_HEADERS: one `Name: value` per line (blank lines skipped, a trailing `\r`
/// allowed); empty = none. Names and values must be valid HTTP, a name appears once, at most
/// [`MAX_REQUEST_HEADERS`] lines, none of [`MANAGED_HEADERS`].
pub fn parse_request_headers(text: &str) -> Result<Vec<RequestHeader>, String> {
    let mut headers: Vec<RequestHeader> = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "`{line}` must be `Name: value`, e.g. `Authorization: Bearer …`"
            ));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
        if MANAGED_HEADERS.contains(&name.as_str()) {
            return Err(format!(
                "`{name}` is set by the load generator itself (CONNECTION, the classes' bodies); \
                 REQUEST_HEADERS cannot set it"
            ));
        }
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
        if headers.iter().any(|header| header.name == name) {
            return Err(format!("`{name}` appears twice"));
        }
        headers.push(RequestHeader { name, value });
    }
    if headers.len() > MAX_REQUEST_HEADERS {
        return Err(format!(
            "{} headers given; at most {MAX_REQUEST_HEADERS} are allowed",
            headers.len()
        ));
    }
    Ok(headers)
}

/// `headers` added to `map`.
pub fn add_to(map: &mut HeaderMap, headers: &[RequestHeader]) {
    for header in headers {
        map.insert(header.name.clone(), header.value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_name_and_value_become_headers() {
        let headers =
            parse_request_headers("Authorization: Bearer a:b\r\n\n  X-Tenant:lab  \n").unwrap();
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.to_str().unwrap()))
            .collect();
        assert_eq!(
            pairs,
            [("authorization", "Bearer a:b"), ("x-tenant", "lab")]
        );
        assert!(parse_request_headers("").unwrap().is_empty());
        assert!(parse_request_headers(" \n ").unwrap().is_empty());
    }

    #[test]
    fn bad_lines_are_refused_with_what_is_wrong() {
        for (text, says) in [
            ("Authorization Bearer x", "must be `Name: value`"),
            ("Bad Name: x", "not a valid header name"),
            (": x", "not a valid header name"),
            ("X-A: a\u{7f}b", "not a valid header value"),
            ("Content-Type: text/plain", "set by the load generator"),
            ("connection: keep-alive", "set by the load generator"),
            ("X-A: 1\nx-a: 2", "appears twice"),
        ] {
            let error = parse_request_headers(text).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
        }
        let many: String = (0..=MAX_REQUEST_HEADERS)
            .map(|i| format!("X-H{i}: v\n"))
            .collect();
        assert!(
            parse_request_headers(&many)
                .unwrap_err()
                .contains("at most")
        );
    }
}
