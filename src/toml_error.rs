//! TOML errors as `file:line:column: message`, the form editors and terminals link to.

use std::ops::Range;

/// 1-based line and column of byte `offset` in `source`.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Formats a parse error located by `span` in `source` read from `file`.
pub fn located(file: &str, source: &str, span: Option<Range<usize>>, message: &str) -> String {
    let message = message.trim().trim_end_matches('\n');
    match span {
        Some(span) => {
            let (line, column) = line_column(source, span.start);
            format!("{file}:{line}:{column}: {message}")
        }
        None => format!("{file}: {message}"),
    }
}

pub fn from_toml_edit(file: &str, source: &str, err: &toml_edit::TomlError) -> String {
    located(file, source, err.span(), err.message())
}

pub fn from_toml_de(file: &str, source: &str, err: &toml::de::Error) -> String {
    located(file, source, err.span(), err.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_columns_from_one() {
        let src = "a = 1\nb = [\n";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        assert_eq!(line_column(src, 10), (2, 5));
    }

    #[test]
    fn names_file_line_and_column() {
        let src = "[project]\nname = \n";
        let err = src.parse::<toml_edit::DocumentMut>().unwrap_err();
        let msg = from_toml_edit("paxx.toml", src, &err);
        assert!(msg.starts_with("paxx.toml:2:"), "{msg}");
    }
}
