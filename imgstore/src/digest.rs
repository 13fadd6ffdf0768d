//! sha256 digests: parsed strictly, because a digest names a file in the
//! store and must never be a path (`sha256:../../etc`).

use std::fmt;

use anyhow::bail;
use sha2::{Digest as _, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// `sha256:` and 64 lowercase hex digits; any other algorithm is refused
    /// (every registry and image in use today speaks sha256).
    pub fn parse(text: &str) -> anyhow::Result<Digest> {
        let Some(hex) = text.strip_prefix("sha256:") else {
            bail!("unsupported digest '{text}' (only sha256 is supported)");
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            bail!("malformed digest '{text}'");
        }
        Ok(Digest { hex: hex.to_string() })
    }

    pub fn of(bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Fail unless `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> anyhow::Result<()> {
        self.check(&Digest::of(bytes))
    }

    /// Fail unless `actual` (the hash of what was read) is this digest.
    pub fn check(&self, actual: &Digest) -> anyhow::Result<()> {
        if actual != self {
            return Err(anyhow::Error::new(DigestMismatch { expected: self.clone(), actual: actual.clone() }));
        }
        Ok(())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

/// Data that is not what its digest says: a typed error, so that a pull
/// can tell corruption from a network failure.
#[derive(Debug)]
pub struct DigestMismatch {
    pub expected: Digest,
    pub actual: Digest,
}

impl fmt::Display for DigestMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "digest mismatch: expected {}, got {}: refusing the data", self.expected, self.actual)
    }
}

impl std::error::Error for DigestMismatch {}

/// Hash data as it streams past.
pub struct Hasher(Sha256);

impl Hasher {
    pub fn new() -> Hasher {
        Hasher(Sha256::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> Digest {
        let hex = self.0.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Digest { hex }
    }
}

impl Default for Hasher {
    fn default() -> Hasher {
        Hasher::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_strict() {
        assert!(Digest::parse("sha256:../../../../etc/passwd").is_err());
        assert!(Digest::parse("sha512:00").is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Digest::of(b"").to_string(), empty);
        assert!(Digest::parse(empty).unwrap().verify(b"x").is_err());
    }
}
