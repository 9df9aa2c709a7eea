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
        let marker = marker(feature);
        let lines: Vec<&str> = self.text.split_inclusive('\n').collect();
        let Some(start) = lines.iter().position(|l| l.trim_end() == marker) else {
            return;
        };
        let mut end = start + 1;
        while end < lines.len() && key_of(lines[end]).is_some() {
            end += 1;
        }
        let start = if start > 0 && lines[start - 1].trim().is_empty() {
            start - 1
        } else {
            start
        };
        let mut kept: Vec<&str> = lines[..start].to_vec();
        kept.extend_from_slice(&lines[end..]);
        self.text = kept.concat();
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
    fn adding_twice_changes_nothing() {
        let mut env = EnvFile::parse(SAMPLE);
        env.add_block("redis", &redis());
        let once = env.render();
        env.add_block("redis", &redis());
        assert_eq!(env.render(), once);
    }
}
