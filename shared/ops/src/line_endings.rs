//! Windows line endings (`\r\n`, as Excel on Windows saves a CSV) and old Mac ones (a lone `\r`,
//! Excel's "CSV (Macintosh)") turned into `\n` on the way in.
//!
//! The csv crate reports a record's line one too low after a `\r\n` (rust-csv#395), and ends a
//! record at a lone `\r` without counting a line at all, which puts every rejected row of an
//! import on the wrong row (a CR-only file's rows were all "row 1"; found by the `csv_import`
//! fuzz target). Reading through `LfReader` makes such files number their rows like LF files.
//! Byte-level is safe for UTF-8 and CP949 alike: neither uses 0x0D or 0x0A inside a multi-byte
//! character.

use std::io::{self, BufRead, BufReader, Read};

pub struct LfReader<R> {
    inner: BufReader<R>,
    /// A `\r` was read last: it is dropped before a `\n`, and becomes one otherwise.
    pending_cr: bool,
}

impl<R: Read> LfReader<R> {
    pub fn new(inner: R) -> Self {
        LfReader {
            inner: BufReader::with_capacity(64 * 1024, inner),
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for LfReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < out.len() {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                if self.pending_cr {
                    self.pending_cr = false;
                    out[written] = b'\n';
                    written += 1;
                }
                break;
            }
            let mut used = 0;
            for &b in available {
                if written == out.len() {
                    break;
                }
                if self.pending_cr {
                    self.pending_cr = false;
                    if b != b'\n' {
                        out[written] = b'\n';
                        written += 1;
                        if written == out.len() {
                            // `b` is read again next time.
                            break;
                        }
                    }
                }
                used += 1;
                if b == b'\r' {
                    self.pending_cr = true;
                } else {
                    out[written] = b;
                    written += 1;
                }
            }
            self.inner.consume(used);
            if written > 0 {
                break;
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads everything through `LfReader`, `chunk` bytes at a time.
    fn read_all(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut r = LfReader::new(input);
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn expected(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            if input[i] == b'\r' && input.get(i + 1) == Some(&b'\n') {
                i += 1;
                continue;
            }
            out.push(if input[i] == b'\r' { b'\n' } else { input[i] });
            i += 1;
        }
        out
    }

    #[test]
    fn crlf_and_lone_cr_become_lf() {
        assert_eq!(read_all(b"a,b\r\nc,d\r\n", 3), b"a,b\nc,d\n");
        assert_eq!(read_all(b"a\rb\r", 1), b"a\nb\n");
        assert_eq!(read_all(b"\r\r\n\r", 2), b"\n\n\n");
    }

    proptest! {
        #[test]
        fn same_as_replacing_line_ends(input in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..200), chunk in 1usize..8) {
            prop_assert_eq!(read_all(&input, chunk), expected(&input));
        }
    }
}
