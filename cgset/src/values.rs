//! Parsing and checking every value given on the command line, before any
//! cgroup is created, and the conversions between the v2 and v1 scales.

/// A limit that may be lifted with `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Max,
    Value(u64),
}

/// CFS period written with `--cpus`: 100 ms, the kernel's default and the
/// one Docker uses, so quota = cpus * 100000.
pub const CPU_PERIOD_US: u64 = 100_000;
/// The kernel refuses a CFS quota under 1 ms (sched_cfs_bandwidth_slice
/// aside, `tg_set_cfs_bandwidth` checks min_cfs_quota_period = 1 ms).
const MIN_CPU_QUOTA_US: u64 = 1_000;
/// PIDS_MAX in kernel/cgroup/pids.c is PID_MAX_LIMIT + 1 (4 Mi + 1);
/// pids.max accepts 0 to PID_MAX_LIMIT.
const PID_MAX_LIMIT: u64 = 4 * 1024 * 1024;

/// A size by chainload's rule ([`chainload::parse_size`]), or `max`.
pub fn parse_size(text: &str) -> Result<Limit, String> {
    if text == "max" {
        return Ok(Limit::Max);
    }
    chainload::parse_size(text)
        .map(Limit::Value)
        .ok_or_else(|| format!("invalid size '{text}' (bytes, or a number with K, M or G, or max)"))
}

/// `--cpus N`: a decimal number of CPUs, as CFS quota in microseconds per
/// [`CPU_PERIOD_US`]; `max` lifts the limit. Exact decimal arithmetic:
/// `0.5` is 50000, never 49999.
pub fn parse_cpus(text: &str) -> Result<Limit, String> {
    if text == "max" {
        return Ok(Limit::Max);
    }
    let bad = || format!("invalid number of CPUs '{text}' (a decimal number from 0.01, or max)");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    // 100000 = 10^5: five decimals are exact microseconds.
    if fraction.len() > 5 || (whole.is_empty() && fraction.is_empty()) || (text.contains('.') && fraction.is_empty()) {
        return Err(bad());
    }
    let whole = if whole.is_empty() { 0 } else { parse_digits(whole).ok_or_else(bad)? };
    let fraction_us = if fraction.is_empty() {
        0
    } else {
        let padded = format!("{fraction:0<5}");
        parse_digits(&padded).ok_or_else(bad)?
    };
    let quota = whole.checked_mul(CPU_PERIOD_US).and_then(|q| q.checked_add(fraction_us)).ok_or_else(bad)?;
    if quota < MIN_CPU_QUOTA_US || quota > i64::MAX as u64 {
        return Err(bad());
    }
    Ok(Limit::Value(quota))
}

/// A v2 weight (cpu.weight, io.weight): 1 to 10000.
pub fn parse_weight(text: &str) -> Result<u64, String> {
    parse_digits(text)
        .filter(|w| (1..=10_000).contains(w))
        .ok_or_else(|| format!("invalid weight '{text}' (1 to 10000)"))
}

/// `--pids N`: 0 to PID_MAX_LIMIT, or `max`.
pub fn parse_pids(text: &str) -> Result<Limit, String> {
    if text == "max" {
        return Ok(Limit::Max);
    }
    parse_digits(text)
        .filter(|&n| n <= PID_MAX_LIMIT)
        .map(Limit::Value)
        .ok_or_else(|| format!("invalid number of processes '{text}' (0 to {PID_MAX_LIMIT}, or max)"))
}

/// A CPU list as cpuset.cpus takes it: `0`, `0-3`, `0,2,4-7`. Whether the
/// CPUs exist is the kernel's to say (the write fails with EINVAL).
pub fn parse_cpu_list(text: &str) -> Result<String, String> {
    let bad = || format!("invalid CPU list '{text}' (e.g. 0 or 0-3,6)");
    for range in text.split(',') {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last) = (parse_digits(first).ok_or_else(bad)?, parse_digits(last).ok_or_else(bad)?);
        if first > last {
            return Err(bad());
        }
    }
    Ok(text.to_string())
}

/// `--set FILE=VALUE`: FILE is one control file name, `controller.key`,
/// never a path; the membership files are --pid's business.
pub fn parse_setting(text: &str) -> Result<(String, String), String> {
    let Some((file, value)) = text.split_once('=') else {
        return Err(format!("invalid --set '{text}' (FILE=VALUE)"));
    };
    let Some((controller, key)) = file.split_once('.') else {
        return Err(format!("invalid control file '{file}' (controller.key, e.g. memory.high)"));
    };
    if controller.is_empty() || key.is_empty() || file.contains('/') || file.contains('\0') {
        return Err(format!("invalid control file '{file}' (controller.key, e.g. memory.high)"));
    }
    if matches!(file, "cgroup.procs" | "cgroup.threads" | "cgroup.subtree_control") {
        return Err(format!("--set cannot write '{file}': cgset manages it (use --pid to move processes)"));
    }
    if value.contains('\n') || value.contains('\0') {
        return Err(format!("invalid value for '{file}': one line expected"));
    }
    Ok((file.to_string(), value.to_string()))
}

/// The controller a control file belongs to: the part before the first dot.
pub fn controller_of(file: &str) -> &str {
    file.split_once('.').map_or(file, |(controller, _)| controller)
}

/// `--name PATH`: relative, made of ordinary components, so that
/// `isokit/PATH` can never climb out of `isokit/`.
pub fn parse_name(text: &str) -> Result<Vec<String>, String> {
    let bad = |why: &str| format!("invalid cgroup name '{text}': {why}");
    if text.is_empty() {
        return Err(bad("empty"));
    }
    if text.starts_with('/') {
        return Err(bad("it must be relative (it is created under isokit/)"));
    }
    let mut components = Vec::new();
    for part in text.split('/') {
        match part {
            "" => return Err(bad("empty component")),
            "." | ".." => return Err(bad("'.' and '..' are not allowed")),
            _ if part.contains('\0') || part.contains('\n') => return Err(bad("control characters are not allowed")),
            _ => components.push(part.to_string()),
        }
    }
    Ok(components)
}

/// cgroup v1 cpu.shares for a v2 cpu.weight: the inverse of the OCI/runc
/// conversion `weight = 1 + ((shares - 2) * 9999) / 262142`, which maps
/// shares 2..262144 linearly onto weight 1..10000. Rounded up, so that
/// runc's formula gives the weight back exactly. (Weight 100, v2's
/// default, is 2598 shares, not v1's default 1024: the price of a linear
/// map of the full ranges.)
pub fn weight_to_shares(weight: u64) -> u64 {
    2 + ((weight - 1) * 262_142).div_ceil(9_999)
}

/// cgroup v1 blkio.weight for a v2 io.weight: the inverse of runc's
/// `weight = 1 + ((blkio - 10) * 9999) / 990` (blkio 10..1000 onto
/// io 1..10000), rounded up so that a weight runc made from a blkio
/// value converts back to that value.
pub fn weight_to_blkio(weight: u64) -> u64 {
    10 + ((weight - 1) * 990).div_ceil(9_999)
}

/// Only ASCII digits (no sign, no spaces), without overflow.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_1024_based() {
        assert_eq!(parse_size("32M"), Ok(Limit::Value(33_554_432)));
        assert_eq!(parse_size("512k"), Ok(Limit::Value(524_288)));
        assert_eq!(parse_size("2G"), Ok(Limit::Value(2 * 1024 * 1024 * 1024)));
        assert_eq!(parse_size("4096"), Ok(Limit::Value(4096)));
        assert_eq!(parse_size("max"), Ok(Limit::Max));
    }

    #[test]
    fn bad_sizes_are_refused() {
        for bad in ["", "M", "-1", "1.5M", "32MB", "32 M", "ten", "99999999999G", "+5", "MAX"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpus_are_exact_microseconds() {
        assert_eq!(parse_cpus("0.5"), Ok(Limit::Value(50_000)));
        assert_eq!(parse_cpus("2"), Ok(Limit::Value(200_000)));
        assert_eq!(parse_cpus("1.25"), Ok(Limit::Value(125_000)));
        assert_eq!(parse_cpus(".01"), Ok(Limit::Value(1_000)));
        assert!(parse_cpus("0.00001").is_err(), "under the kernel's 1 ms minimum");
        assert_eq!(parse_cpus("max"), Ok(Limit::Max));
        for bad in ["", ".", "0", "1.", "-1", "0.123456", "1e3", "one"] {
            assert!(parse_cpus(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn weights_pids_and_cpu_lists() {
        assert_eq!(parse_weight("1"), Ok(1));
        assert!(parse_weight("0").is_err() && parse_weight("10001").is_err());
        assert_eq!(parse_pids("10"), Ok(Limit::Value(10)));
        assert!(parse_pids("-1").is_err() && parse_pids("4194305").is_err());
        assert!(parse_cpu_list("0-3,6").is_ok());
        for bad in ["", "a", "3-1", "0,", "0--1", " 0"] {
            assert!(parse_cpu_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_cannot_escape_isokit() {
        assert_eq!(parse_name("web/app"), Ok(vec!["web".to_string(), "app".to_string()]));
        for bad in ["", "/web", "..", "a/../b", "a//b", "a/", "./a", "a\nb"] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_name_one_file() {
        assert_eq!(parse_setting("memory.high=1G"), Ok(("memory.high".into(), "1G".into())));
        assert_eq!(parse_setting("io.max=8:0 rbps=1"), Ok(("io.max".into(), "8:0 rbps=1".into())));
        for bad in ["memory.high", "high=1", "../memory.max=1", ".x=1", "memory.=1", "cgroup.procs=1", "a.b=x\ny"] {
            assert!(parse_setting(bad).is_err(), "{bad:?}");
        }
        assert_eq!(controller_of("hugetlb.2MB.max"), "hugetlb");
    }

    /// runc's forward conversion, to check ours against.
    fn runc_shares_to_weight(shares: u64) -> u64 {
        1 + ((shares - 2) * 9999) / 262_142
    }

    #[test]
    fn weight_to_shares_round_trips_through_runcs_formula() {
        assert_eq!(weight_to_shares(1), 2);
        assert_eq!(weight_to_shares(10_000), 262_144);
        for weight in 1..=10_000 {
            assert_eq!(runc_shares_to_weight(weight_to_shares(weight)), weight);
        }
    }

    #[test]
    fn weight_to_blkio_covers_10_to_1000() {
        assert_eq!(weight_to_blkio(1), 10);
        assert_eq!(weight_to_blkio(10_000), 1000);
        // 10000 weights onto 991 blkio values: runc's forward conversion
        // of each blkio value comes back to that value.
        for blkio in 10..=1000 {
            assert_eq!(weight_to_blkio(1 + ((blkio - 10) * 9999) / 990), blkio);
        }
    }
}
