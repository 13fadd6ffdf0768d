//! Sizes on the command line, one rule for every tool (DESIGN.md,
//! "Conventions"): plain bytes, or a number with a binary suffix K, M or G
//! in either case (1024-based: `32M` = 33554432 bytes). Only ASCII digits,
//! no sign, no space, no fraction, no other suffix; at most i64::MAX
//! bytes, the largest value cgroup files and tmpfs take.

/// The number of bytes `text` stands for, or None if it is not a size.
/// Callers add their own rules (pivot refuses 0, cgset takes `max`).
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 10),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 20),
        Some(b'g' | b'G') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    number.checked_mul(1u64 << shift).filter(|&bytes| bytes <= i64::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_1024_based_in_either_case() {
        assert_eq!(parse_size("32M"), Some(33_554_432));
        assert_eq!(parse_size("512k"), Some(524_288));
        assert_eq!(parse_size("1K"), Some(1024));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("0"), Some(0));
    }

    #[test]
    fn anything_else_is_not_a_size() {
        for bad in [
            "",
            "M",
            "-1",
            "+5",
            "1.5M",
            "32MB",
            "32 M",
            "12 M",
            "1T",
            "ten",
            "max",
            "é",
            "99999999999999999999",
            "8589934592G",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(parse_size("8589934591G"), Some(8_589_934_591 << 30));
    }
}
