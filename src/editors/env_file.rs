//! `.env.example`: one block of example settings per feature, appended and taken out whole.
//!
//! A block is a marker comment followed by `KEY=value` lines:
//! ```text
//!
//! # redis (paxx-compose feature)
//! REDIS_URL=redis://127.0.0.1:6379/0
//! ```
//! The marker makes the file self-describing: removal needs no record of what was added.

pub struct EnvFile {
    text: String,
}

fn marker(feature: &str) -> String {
    format!("# {feature} (paxx-compose feature)")
}

fn key_of(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('#')).then_some(key)
}

/// `(key, value)` of a `KEY=value` line.
fn entry_of(line: &str) -> Option<(&str, &str)> {
    let key = key_of(line)?;
    let (_, value) = line.split_once('=')?;
    Some((key, value.trim_end_matches(['\n', '\r'])))
}

impl EnvFile {
    pub const FILE: &'static str = ".env.example";

    pub fn parse(text: &str) -> Self {
        EnvFile {
            text: text.to_string(),
        }
    }

    pub fn has_key(&self, key: &str) -> bool {
        self.text.lines().any(|l| key_of(l) == Some(key))
    }

    /// Appends `feature`'s block with the entries whose key the file does not have yet.
    /// Nothing is written when every key is already there.
    pub fn add_block(&mut self, feature: &str, entries: &[(String, String)]) {
        let fresh: Vec<_> = entries.iter().filter(|(k, _)| !self.has_key(k)).collect();
        if fresh.is_empty() || self.text.contains(&marker(feature)) {
            return;
        }
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&marker(feature));
        self.text.push('\n');
        for (key, value) in fresh {
            self.text.push_str(&format!("{key}={value}\n"));
        }
    }

    /// Takes out `feature`'s block: its marker, the `KEY=` lines right under it and the
    /// blank line before it. Lines the user added elsewhere are left alone.
    pub fn remove_block(&mut self, feature: &str) {
        let Some(range) = self.block_lines(feature) else {
            return;
        };
        let lines = self.lines();
        let mut kept: Vec<&str> = lines[..range.start].to_vec();
        kept.extend_from_slice(&lines[range.end..]);
        self.text = kept.concat();
    }

    /// The line indices of `feature`'s block (as [`Self::remove_block`] takes it out).
    pub fn block_lines(&self, feature: &str) -> Option<std::ops::Range<usize>> {
        let marker = marker(feature);
        let lines = self.lines();
        let start = lines.iter().position(|l| l.trim_end() == marker)?;
        let mut end = start + 1;
        while end < lines.len() && key_of(lines[end]).is_some() {
            end += 1;
        }
        let start = if start > 0 && lines[start - 1].trim().is_empty() {
            start - 1
        } else {
            start
        };
        Some(start..end)
    }

    /// The `KEY=value` entries of `feature`'s block, in order; `None` without its marker.
    pub fn block_entries(&self, feature: &str) -> Option<Vec<(String, String)>> {
        let range = self.block_lines(feature)?;
        let lines = self.lines();
        Some(
            lines[range]
                .iter()
                .filter_map(|l| entry_of(l))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// In `feature`'s block, replaces `key`'s line if it still reads `key=old`. False when
    /// the line is not there or says something else (the user's value is kept).
    pub fn replace_in_block(
        &mut self,
        feature: &str,
        key: &str,
        old: &str,
        new: Option<&str>,
    ) -> bool {
        let Some(range) = self.block_lines(feature) else {
            return false;
        };
        let mut lines: Vec<String> = self.lines().iter().map(|l| l.to_string()).collect();
        let Some(i) = range
            .clone()
            .find(|&i| entry_of(&lines[i]) == Some((key, old)))
        else {
            return false;
        };
        match new {
            Some(value) => {
                let newline = if lines[i].ends_with('\n') { "\n" } else { "" };
                lines[i] = format!("{key}={value}{newline}");
            }
            None => {
                lines.remove(i);
            }
        }
        self.text = lines.concat();
        true
    }

    /// Adds `key=value` at the end of `feature`'s block (which must exist).
    pub fn insert_in_block(&mut self, feature: &str, key: &str, value: &str) -> bool {
        let Some(range) = self.block_lines(feature) else {
            return false;
        };
        let mut lines: Vec<String> = self.lines().iter().map(|l| l.to_string()).collect();
        if let Some(last) = lines.get_mut(range.end - 1) {
            if !last.ends_with('\n') {
                last.push('\n');
            }
        }
        lines.insert(range.end, format!("{key}={value}\n"));
        self.text = lines.concat();
        true
    }

    /// Renames the setting `old` to `new` on every line that sets it (the value and any
    /// `export ` stay). Nothing is renamed when `new` is set already: two lines would
    /// then disagree. Returns whether anything changed.
    pub fn rename_key(&mut self, old: &str, new: &str) -> bool {
        if self.has_key(new) || !self.has_key(old) {
            return false;
        }
        let mut out = String::with_capacity(self.text.len());
        for line in self.text.split_inclusive('\n') {
            if key_of(line) == Some(old) {
                // The key starts after indentation and an optional `export `.
                let rest = line.trim_start();
                let rest = rest.strip_prefix("export ").unwrap_or(rest).trim_start();
                let at = line.len() - rest.len();
                out.push_str(&line[..at]);
                out.push_str(new);
                out.push_str(&line[at + old.len()..]);
            } else {
                out.push_str(line);
            }
        }
        self.text = out;
        true
    }

    fn lines(&self) -> Vec<&str> {
        self.text.split_inclusive('\n').collect()
    }

    pub fn render(&self) -> String {
        self.text.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Settings\nSECRET_KEY=change-me\nDATABASE_URL=postgresql://x\n";

    fn redis() -> Vec<(String, String)> {
        vec![("REDIS_URL".into(), "redis://127.0.0.1:6379/0".into())]
    }

    #[test]
    fn add_then_remove_restores_the_bytes() {
        let mut env = EnvFile::parse(SAMPLE);
        env.add_block("redis", &redis());
        env.add_block("tasks", &[("ARQ_QUEUE".into(), "default".into())]);
        assert_eq!(
            env.render(),
            format!("{SAMPLE}\n# redis (paxx-compose feature)\nREDIS_URL=redis://127.0.0.1:6379/0\n\n# tasks (paxx-compose feature)\nARQ_QUEUE=default\n")
        );
        env.remove_block("redis");
        env.remove_block("tasks");
        assert_eq!(env.render(), SAMPLE);
    }

    #[test]
    fn keys_the_user_already_has_are_not_repeated() {
        let mut env = EnvFile::parse("REDIS_URL=redis://elsewhere\n");
        env.add_block("redis", &redis());
        assert_eq!(env.render(), "REDIS_URL=redis://elsewhere\n");
    }

    #[test]
    fn block_entries_change_in_place() {
        let mut env = EnvFile::parse(SAMPLE);
        env.add_block("redis", &redis());
        assert_eq!(env.block_entries("redis").unwrap(), redis());
        assert!(env.insert_in_block("redis", "REDIS_TTL", "300"));
        assert!(!env.replace_in_block("redis", "REDIS_URL", "other", Some("x")));
        assert!(env.replace_in_block(
            "redis",
            "REDIS_URL",
            "redis://127.0.0.1:6379/0",
            Some("redis://h/1")
        ));
        assert!(env
            .render()
            .ends_with("# redis (paxx-compose feature)\nREDIS_URL=redis://h/1\nREDIS_TTL=300\n"));
        assert!(env.replace_in_block("redis", "REDIS_TTL", "300", None));
        assert_eq!(env.block_entries("redis").unwrap().len(), 1);
        assert_eq!(env.block_entries("tasks"), None);
    }

    #[test]
    fn renaming_a_key_keeps_value_and_export() {
        let mut env = EnvFile::parse("export OLD=1\nOLDER=2\n");
        assert!(env.rename_key("OLD", "NEW"));
        assert_eq!(env.render(), "export NEW=1\nOLDER=2\n");
        let mut env = EnvFile::parse("export port=1\n");
        assert!(env.rename_key("port", "PORT"));
        assert_eq!(env.render(), "export PORT=1\n");
        let mut env = EnvFile::parse("OLD=1\nNEW=2\n");
        assert!(
            !env.rename_key("OLD", "NEW"),
            "never two lines for one setting"
        );
    }

    #[test]
    fn adding_twice_changes_nothing() {
        let mut env = EnvFile::parse(SAMPLE);
        env.add_block("redis", &redis());
        let once = env.render();
        env.add_block("redis", &redis());
        assert_eq!(env.render(), once);
    }
}
