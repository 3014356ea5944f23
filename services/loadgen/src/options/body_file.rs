//! A class's body as the user gives it: SMALL_BODY_FILE / LARGE_BODY_FILE (a file's bytes,
//! sent as they are, for a route that accepts only its own documents) and
//! SMALL_CONTENT_TYPE / LARGE_CONTENT_TYPE (the `Content-Type` it is sent with, e.g. a
//! multipart body's `multipart/form-data; boundary=…`).
//!
//! The file is read once, when the options are parsed, so a missing or unreadable file is a
//! usage error before anything starts, and every request of the run sends the same bytes
//! even if the file changes meanwhile.

use std::{fs, path::Path};

use bytes::Bytes;
use reqwest::header::HeaderValue;

use super::class::BodyFile;
use super::memory::BYTES_PER_MB;
use super::values::MAX_SIZE_MB;

/// Parses SMALL_BODY_FILE / LARGE_BODY_FILE: empty = none (the class builds its body);
/// otherwise a regular file of 1 byte to [`MAX_SIZE_MB`] MB, read now.
pub fn parse_body_file(text: &str) -> Result<Option<BodyFile>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let path = Path::new(text);
    let metadata = fs::metadata(path).map_err(|error| format!("`{text}`: {error}"))?;
    if !metadata.is_file() {
        return Err(format!("`{text}` is not a file"));
    }
    let max_bytes = (MAX_SIZE_MB * BYTES_PER_MB) as u64;
    if metadata.len() > max_bytes {
        return Err(format!(
            "`{text}` holds {} bytes; a body is at most {MAX_SIZE_MB} MB ({max_bytes} bytes)",
            metadata.len()
        ));
    }
    let bytes = fs::read(path).map_err(|error| format!("`{text}`: {error}"))?;
    if bytes.is_empty() {
        return Err(format!(
            "`{text}` is empty; for requests without a body, leave the file unset and set the \
             class's size to 0"
        ));
    }
    Ok(Some(BodyFile {
        path: path.to_path_buf(),
        bytes: Bytes::from(bytes),
    }))
}

/// Parses SMALL_CONTENT_TYPE / LARGE_CONTENT_TYPE: empty = the body kind's own
/// (`application/json` or `application/octet-stream`); otherwise a valid header value.
pub fn parse_content_type(text: &str) -> Result<Option<HeaderValue>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if !text.contains('/') {
        return Err(format!(
            "`{text}` is not a media type (`type/subtype`, e.g. `text/csv` or \
             `multipart/form-data; boundary=xyz`)"
        ));
    }
    HeaderValue::from_str(text)
        .map(Some)
        .map_err(|_| format!("`{text}` is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lab-body-file-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// A file is read whole, its size in MB is its length ÷ 10^6, and its debug print
    /// leaves the bytes out; an empty value means "no file".
    #[test]
    fn a_file_is_read_once_and_described_by_its_length() {
        let path = temp_file("doc.json", br#"{"order": 42}"#);
        let file = parse_body_file(path.to_str().unwrap()).unwrap().unwrap();
        assert_eq!(&file.bytes[..], br#"{"order": 42}"#);
        assert_eq!(file.size_mb(), 13.0 / 1e6);
        assert!(!format!("{file:?}").contains("order"));
        assert_eq!(parse_body_file("").unwrap(), None);
        assert_eq!(parse_body_file("  ").unwrap(), None);
    }

    /// A missing path, a directory and an empty file are refused with the path and why.
    #[test]
    fn what_is_not_a_body_is_refused() {
        let empty = temp_file("empty.bin", b"");
        let dir = empty.parent().unwrap().to_str().unwrap().to_owned();
        for (text, mentions) in [
            ("/no/such/file.json", "No such file"),
            (dir.as_str(), "not a file"),
            (empty.to_str().unwrap(), "is empty"),
        ] {
            let error = parse_body_file(text).unwrap_err();
            assert!(
                error.contains(text) && error.contains(mentions),
                "{text}: {error}"
            );
        }
    }

    /// A content type is a `type/subtype` header value, parameters allowed; empty = the
    /// body kind's.
    #[test]
    fn content_types_are_media_types() {
        assert_eq!(parse_content_type("").unwrap(), None);
        let multipart = parse_content_type(" multipart/form-data; boundary=x1 ")
            .unwrap()
            .unwrap();
        assert_eq!(multipart, "multipart/form-data; boundary=x1");
        for bad in ["json", "text/csv\nX-Evil: 1"] {
            assert!(parse_content_type(bad).is_err(), "{bad}");
        }
    }
}
