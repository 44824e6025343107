//! Printing: JSON for scripts, aligned text for people, and CSV to a file or stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::failure::Failure;

/// `println!` that survives a closed stdout (`mcamp stats x | head`): the reader has gone, so
/// the command ends quietly instead of panicking.
#[macro_export]
macro_rules! say {
    () => { $crate::output::print_str("\n") };
    ($($arg:tt)*) => { $crate::output::print_str(&format!("{}\n", format_args!($($arg)*))) };
}

/// Writes `text` to stdout; see `say!`.
pub fn print_str(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        stdout_failed(&e);
    }
}

fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to stdout: {e}");
    std::process::exit(1);
}

/// Prints `value` as JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Storage(format!("printing JSON: {e}")))?;
    crate::say!("{text}");
    Ok(())
}

/// `12,345`.
pub fn n(x: impl TryInto<u64>) -> String {
    mcamp_core::campaign::grouped(x.try_into().unwrap_or(u64::MAX))
}

/// `s` padded to `width` terminal columns, left-aligned: a Hangul syllable takes two.
pub fn left(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// `s` padded to `width` terminal columns, right-aligned.
pub fn right(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{}{s}", " ".repeat(width.saturating_sub(w)))
}

/// A table row: the first cell left-aligned in `first` columns, the rest right-aligned in
/// `rest` columns each.
pub fn row(first: &str, firstw: usize, rest: &[String], restw: usize) -> String {
    let mut out = format!("  {}", left(first, firstw));
    for c in rest {
        out.push_str(&right(c, restw));
    }
    out
}

/// Where a CSV goes: a file (written whole or not at all) or stdout.
pub enum CsvTarget {
    File(PathBuf),
    Stdout,
}

impl CsvTarget {
    pub fn new(path: Option<PathBuf>) -> Self {
        match path {
            Some(p) if p.as_os_str() != "-" => CsvTarget::File(p),
            _ => CsvTarget::Stdout,
        }
    }

    /// Whether the CSV takes stdout, so reports go to stderr.
    pub fn is_stdout(&self) -> bool {
        matches!(self, CsvTarget::Stdout)
    }

    /// Puts the finished CSV in place: a file by write-then-rename, so a failed export never
    /// leaves half a file; stdout at once.
    pub fn write(&self, bytes: &[u8]) -> Result<(), Failure> {
        match self {
            CsvTarget::Stdout => {
                let mut out = std::io::stdout().lock();
                if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
                    stdout_failed(&e);
                }
                Ok(())
            }
            CsvTarget::File(path) => write_file(path, bytes),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file beside it.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let shown = path.display();
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Failure::user(format!("cannot write {shown}: {e}"))
        })
}

/// Prints a report to stdout, or to stderr when the data itself went to stdout.
pub fn report(to_stderr: bool, text: &str) {
    if to_stderr {
        eprint!("{text}");
    } else {
        print_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangul_takes_two_columns() {
        assert_eq!(left("쿠폰", 6), "쿠폰  ");
        assert_eq!(right("클릭", 5), " 클릭");
        assert_eq!(left("toolong", 3), "toolong");
    }

    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(n(0u32), "0");
        assert_eq!(n(999u32), "999");
        assert_eq!(n(1000u32), "1,000");
        assert_eq!(n(1234567usize), "1,234,567");
    }
}
