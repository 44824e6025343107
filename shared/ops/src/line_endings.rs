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

/// Reads a spreadsheet's lines as `LfReader` does, with each blank line after the first
/// non-blank one written as `""`: the csv crate skips blank lines and gives the next record
/// the blank's line number, so every row after a blank line was named one row too high. A
/// `""` line is a record of one empty cell, which the import skips as blank, at its own line.
/// Blank lines inside a quoted cell are the cell's text and stay as they are.
pub fn spreadsheet_lines<R: Read>(input: R) -> KeepBlankLines<LfReader<R>> {
    KeepBlankLines::new(LfReader::new(input))
}

/// Where the reader is in csv's grammar (csv-core's default quoting), as far as telling a
/// blank line from a line break inside quotes needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// At the start of a field: a `"` opens a quoted field.
    FieldStart,
    /// In an unquoted field: a `"` is text.
    Unquoted,
    Quoted,
    /// A `"` inside quotes: another `"` is an escaped quote, anything else ends the quotes.
    QuoteInQuoted,
}

/// Writes `""` on each blank line (`\n` at a line's start, outside quotes) once a non-blank line
/// has been seen. Expects `\n` line ends (`LfReader`'s output).
pub struct KeepBlankLines<R> {
    inner: R,
    quoting: Quoting,
    line_start: bool,
    seen_content: bool,
    /// Bytes produced but not yet handed out.
    pending: Vec<u8>,
    at: usize,
}

impl<R: Read> KeepBlankLines<R> {
    pub fn new(inner: R) -> Self {
        KeepBlankLines {
            inner,
            quoting: Quoting::FieldStart,
            line_start: true,
            seen_content: false,
            pending: Vec::new(),
            at: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if self.quoting == Quoting::QuoteInQuoted {
            // Either an escaped quote, or the end of the quotes and `b` read as unquoted.
            self.quoting = if b == b'"' { Quoting::Quoted } else { Quoting::Unquoted };
            if b == b'"' {
                self.pending.push(b);
                return;
            }
        }
        match (self.quoting, b) {
            (Quoting::Quoted, b'"') => self.quoting = Quoting::QuoteInQuoted,
            (Quoting::Quoted, _) => {}
            (_, b'\n') => {
                if self.line_start && self.seen_content {
                    self.pending.extend_from_slice(b"\"\"");
                }
                self.line_start = true;
                self.quoting = Quoting::FieldStart;
                self.pending.push(b);
                return;
            }
            (Quoting::FieldStart, b'"') => self.quoting = Quoting::Quoted,
            (_, b',') => self.quoting = Quoting::FieldStart,
            _ => self.quoting = Quoting::Unquoted,
        }
        self.line_start = false;
        self.seen_content = true;
        self.pending.push(b);
    }
}

impl<R: Read> Read for KeepBlankLines<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            self.pending.clear();
            self.at = 0;
            let mut buf = [0u8; 8 * 1024];
            let n = self.inner.read(&mut buf)?;
            for &b in &buf[..n] {
                self.push(b);
            }
        }
        let n = out.len().min(self.pending.len() - self.at);
        out[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

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

    fn keep_blank(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut r = spreadsheet_lines(input);
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = r.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Each record's line as the csv crate numbers it.
    fn lines(input: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(spreadsheet_lines(input));
        csv.records()
            .filter_map(Result::ok)
            .map(|r| {
                (
                    r.position().map_or(0, |p| p.line()),
                    r.iter().map(str::to_owned).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn rows_after_blank_lines_keep_their_numbers() {
        let got = lines(b"name,phone\n\nkim,010\n\n\nlee,011\r\n\r\npark,012");
        let named: Vec<(u64, String)> = got
            .iter()
            .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
            .map(|(l, cells)| (*l, cells[0].clone()))
            .collect();
        assert_eq!(
            named,
            vec![
                (1, "name".into()),
                (3, "kim".into()),
                (6, "lee".into()),
                (8, "park".into())
            ]
        );
        // Leading blank lines are skipped as before (the header is the first line with text).
        assert_eq!(keep_blank(b"\n\na,b\n", 4), b"\n\na,b\n");
    }

    #[test]
    fn blank_lines_inside_quotes_are_text() {
        assert_eq!(keep_blank(b"a,\"x\n\ny\"\n\nb", 3), b"a,\"x\n\ny\"\n\"\"\nb");
        assert_eq!(
            keep_blank(b"a,\"say \"\"hi\"\"\n\n\"\n\nb", 2),
            b"a,\"say \"\"hi\"\"\n\n\"\n\"\"\nb"
        );
        // A quote inside an unquoted cell is text and opens nothing.
        assert_eq!(keep_blank(b"5\" tv,x\n\nb", 5), b"5\" tv,x\n\"\"\nb");
    }

    proptest! {
        /// Whatever the bytes, the cells csv reads are the same as without the blank-line
        /// markers, but for the empty records the markers add.
        #[test]
        fn cells_are_unchanged(input in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'\n'), Just(b','), Just(b'a')], 0..80), chunk in 1usize..6) {
            let read = |r: &mut dyn Read| -> Vec<Vec<String>> {
                csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(r)
                    .records().filter_map(Result::ok)
                    .map(|r| r.iter().map(str::to_owned).collect::<Vec<_>>())
                    .filter(|cells| cells.iter().any(|c| !c.is_empty()))
                    .collect()
            };
            let plain = read(&mut LfReader::new(&input[..]));
            let kept = keep_blank(&input, chunk);
            prop_assert_eq!(read(&mut &kept[..]), plain);
        }

        #[test]
        fn same_as_replacing_line_ends(input in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..200), chunk in 1usize..8) {
            prop_assert_eq!(read_all(&input, chunk), expected(&input));
        }
    }
}
