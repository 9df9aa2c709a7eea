//! Does a Python version satisfy a `requires-python` specifier (PEP 440, the subset
//! projects write: `>=3.11`, `>=3.11,<3.14`, `~=3.12`, `==3.12.*`, `!=3.12.0`)?

/// None when the specifier is beyond this subset (then doctor says so rather than guess).
pub fn satisfies(version: &str, spec: &str) -> Option<bool> {
    let have = parse(version)?;
    for clause in spec.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let op_len = clause
            .find(|c: char| c.is_ascii_digit())
            .filter(|n| *n > 0)?;
        let (op, rest) = clause.split_at(op_len);
        let (rest, wildcard) = match rest.strip_suffix(".*") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let want = parse(rest)?;
        let cmp = compare(&have, &want);
        let ok = match (op.trim(), wildcard) {
            ("==", true) => have.starts_with(&want),
            ("!=", true) => !have.starts_with(&want),
            ("==", false) => cmp.is_eq(),
            ("!=", false) => !cmp.is_eq(),
            (">=", false) => cmp.is_ge(),
            (">", false) => cmp.is_gt(),
            ("<=", false) => cmp.is_le(),
            ("<", false) => cmp.is_lt(),
            ("~=", false) if want.len() >= 2 => {
                cmp.is_ge() && have.starts_with(&want[..want.len() - 1])
            }
            _ => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

fn parse(version: &str) -> Option<Vec<u64>> {
    version.trim().split('.').map(|p| p.parse().ok()).collect()
}

/// Compares as PEP 440 release numbers: missing parts count as zero.
fn compare(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn checks_the_specifiers_projects_write() {
        assert_eq!(satisfies("3.11.7", ">=3.11"), Some(true));
        assert_eq!(satisfies("3.10.4", ">=3.11"), Some(false));
        assert_eq!(satisfies("3.13.0", ">=3.11,<3.13"), Some(false));
        assert_eq!(satisfies("3.12.1", "~=3.12"), Some(true));
        assert_eq!(satisfies("4.0.0", "~=3.12"), Some(false));
        assert_eq!(satisfies("3.12.1", "==3.12.*"), Some(true));
        assert_eq!(satisfies("3.11.0", "!=3.11.0"), Some(false));
        assert_eq!(satisfies("3.11.0", "===3.11"), None);
    }
}
