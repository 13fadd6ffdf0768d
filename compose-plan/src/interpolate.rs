//! Variable interpolation, as the Compose specification has it: `$VAR`,
//! `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
//! `${VAR:?message}` and `${VAR?message}` (an error), `$$` for a `$`.
//! Values come from the environment first, then the project's `.env`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};

/// Where variables come from: the caller's environment over `.env`.
pub struct Variables {
    dotenv: HashMap<String, String>,
}

impl Variables {
    /// The `.env` file in DIR (none: only the environment).
    pub fn load(dir: &Path) -> anyhow::Result<Variables> {
        let path = dir.join(".env");
        let dotenv = match std::fs::read_to_string(&path) {
            Ok(text) => parse_dotenv(&text).with_context(|| format!("{}", path.display()))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(err) => return Err(err).with_context(|| format!("read '{}'", path.display())),
        };
        Ok(Variables { dotenv })
    }

    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| self.dotenv.get(name).cloned())
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Variables {
        let dotenv = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Variables { dotenv }
    }
}

/// `.env`: KEY=VALUE lines (an `export ` before KEY is allowed), `#`
/// comments and blank lines skipped, a value in single quotes taken as
/// it is, one in double quotes with `\n`, `\"` and `\\` escapes.
fn parse_dotenv(text: &str) -> anyhow::Result<HashMap<String, String>> {
    let mut vars = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected KEY=VALUE", number + 1);
        };
        let key = key.trim();
        if !valid_variable(key) {
            bail!("line {}: invalid variable name '{key}'", number + 1);
        }
        vars.insert(key.to_string(), unquote(value.trim()));
    }
    Ok(vars)
}

fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return value[1..value.len() - 1].to_string();
    }
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        let mut out = String::new();
        let mut chars = value[1..value.len() - 1].chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                },
                (c, false) => out.push(c),
            }
        }
        return out;
    }
    // Unquoted: a " #" starts a comment.
    match value.find(" #") {
        Some(at) => value[..at].trim_end().to_string(),
        None => value.to_string(),
    }
}

fn valid_variable(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// TEXT with every variable replaced.
pub fn interpolate(text: &str, vars: &Variables) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let end = closing_brace(after).with_context(|| format!("unclosed '${{' in '{text}'"))?;
            out.push_str(&expand(&after[..end], vars)?);
            rest = &after[end + 1..];
        } else {
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if len == 0 || !valid_variable(&rest[..len]) {
                bail!("invalid '$' in '{text}' (write $$ for a '$')");
            }
            out.push_str(&vars.get(&rest[..len]).unwrap_or_default());
            rest = &rest[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` that closes a `${`, nested ones counted.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The inside of `${...}`.
fn expand(inner: &str, vars: &Variables) -> anyhow::Result<String> {
    let len = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
    let (name, op) = inner.split_at(len);
    if !valid_variable(name) {
        bail!("invalid variable '${{{inner}}}'");
    }
    let value = vars.get(name);
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    let (test_empty, rest) = match op.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, op),
    };
    let present = if test_empty { set_nonempty } else { value.is_some() };
    if rest.is_empty() && !test_empty {
        return Ok(value.unwrap_or_default());
    }
    if let Some(default) = rest.strip_prefix('-') {
        return if present { Ok(value.unwrap_or_default()) } else { interpolate(default, vars) };
    }
    if let Some(message) = rest.strip_prefix('?') {
        if present {
            return Ok(value.unwrap_or_default());
        }
        let message = interpolate(message, vars)?;
        bail!(
            "required variable {name} is missing a value{}",
            if message.is_empty() { String::new() } else { format!(": {message}") }
        );
    }
    if let Some(alternative) = rest.strip_prefix('+') {
        return if present { interpolate(alternative, vars) } else { Ok(String::new()) };
    }
    bail!("invalid variable '${{{inner}}}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        Variables::from_pairs(&[("PORT", "8080"), ("EMPTY", "")])
    }

    #[test]
    fn forms() {
        let v = vars();
        assert_eq!(interpolate("${PORT}:80", &v).unwrap(), "8080:80");
        assert_eq!(interpolate("$PORT/x", &v).unwrap(), "8080/x");
        assert_eq!(interpolate("${NOPE_X:-9}", &v).unwrap(), "9");
        assert_eq!(interpolate("${EMPTY:-9}", &v).unwrap(), "9");
        assert_eq!(interpolate("${EMPTY-9}", &v).unwrap(), "");
        assert_eq!(interpolate("${NOPE_X:-${PORT}}", &v).unwrap(), "8080");
        assert_eq!(interpolate("a$$b", &v).unwrap(), "a$b");
        assert_eq!(interpolate("${PORT:+set}", &v).unwrap(), "set");
    }

    #[test]
    fn errors() {
        let v = vars();
        let err = interpolate("${NOPE_X:?give it}", &v).unwrap_err();
        assert_eq!(err.to_string(), "required variable NOPE_X is missing a value: give it");
        assert!(interpolate("${PORT", &v).is_err());
        assert!(interpolate("a $ b", &v).is_err());
    }

    #[test]
    fn dotenv() {
        let vars = parse_dotenv("# c\nA=1\nexport B='x y'\nC=\"q\\\"z\"\nD=v # note\n").unwrap();
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "x y");
        assert_eq!(vars["C"], "q\"z");
        assert_eq!(vars["D"], "v");
        assert!(parse_dotenv("nonsense").is_err());
    }
}
