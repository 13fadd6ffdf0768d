//! Reading /proc/PID/mountinfo fields (cgset's hierarchies, isokit-oci's
//! cgroup v2 mount).

/// A mountinfo field as the kernel meant it: mountinfo escapes space, tab,
/// newline and backslash in paths as `\ooo` octal (a mount point named
/// `a b` reads `a\040b`).
pub fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal =
            bytes.get(i + 1..i + 4).filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn octal_escapes_become_their_bytes_and_the_rest_stays() {
        assert_eq!(super::unescape("/mnt/a\\040b\\134c"), "/mnt/a b\\c");
        assert_eq!(super::unescape("/x\\04"), "/x\\04", "a short escape is no escape");
    }
}
