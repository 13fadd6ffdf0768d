//! `--sysctl net.KEY=VALUE`: a network sysctl of the container's own
//! namespace (what `docker run --sysctl` allows for net.*). Only net.*
//! keys: those are per network namespace (the kernel makes a copy of
//! /proc/sys/net for each one, seen by whoever opens the file from inside
//! it), so setting one never changes the host.

use std::fs::OpenOptions;
use std::io::Write;
use std::str::FromStr;

use anyhow::{bail, Context};
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
}

impl FromStr for Sysctl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(format!("invalid --sysctl '{text}': expected net.KEY=VALUE"));
        };
        let name_ok =
            |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !key.starts_with("net.") || !key.split('.').all(name_ok) {
            return Err(format!("invalid --sysctl key '{key}': only net.* keys of the container's own namespace"));
        }
        if value.contains('\n') {
            return Err(format!("invalid --sysctl value for '{key}': one line"));
        }
        Ok(Sysctl { key: key.to_string(), value: value.to_string() })
    }
}

impl Sysctl {
    /// net.ipv4.ping_group_range -> /proc/sys/net/ipv4/ping_group_range
    pub fn path(&self) -> String {
        format!("/proc/sys/{}", self.key.replace('.', "/"))
    }

    /// Write the value, opened without O_CREAT (a misspelled key is an
    /// error, never a new file), and only into a real procfs.
    pub fn apply(&self) -> anyhow::Result<()> {
        let path = self.path();
        let what = || format!("set sysctl '{}'", self.key);
        let mut file = OpenOptions::new().write(true).open(&path).with_context(what)?;
        match fstatfs(&file) {
            Ok(fs) if fs.filesystem_type() == PROC_SUPER_MAGIC => {}
            _ => bail!("{}: '{path}' is not on a procfs", what()),
        }
        file.write_all(self.value.as_bytes()).with_context(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_keys_only() {
        let ok: Sysctl = "net.ipv4.ping_group_range=0 2147483647".parse().expect("valid");
        assert_eq!(ok.value, "0 2147483647");
        assert_eq!(ok.path(), "/proc/sys/net/ipv4/ping_group_range");
        for bad in
            ["kernel.pid_max=1", "net.ipv4.=1", "net..x=1", "net.ipv4.a/b=1", "net.x", "net.x=a\nb", "net.../x=1"]
        {
            assert!(bad.parse::<Sysctl>().is_err(), "{bad:?}");
        }
    }
}
