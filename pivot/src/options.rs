//! Command line of pivot, and the checks made before anything is mounted.

use std::path::{Component, Path, PathBuf};

use argh::FromArgs;
use chainload::{usage, Chained};

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] NEWROOT [--] PROG [ARGS...]",
    help_triggers("-h", "--help"),
    example = "A busybox image with a read-only volume:\n  $ mkrootfs busybox ./rootfs\n  $ unshare-lite --mount --pid -- pivot --bind ./data:/data:ro \\\n      ./rootfs -- sh",
    example = "One image for many containers, the next step from the host:\n  $ unshare-lite --mount --pid -- pivot --tmp-overlay \\\n      --next-from-host ./rootfs -- capdrop -- sh",
    note = "Run it inside unshare-lite --mount. ISOKIT_TRACE=1 prints what was\nmounted. The manual: man pivot.",
    error_code(125, "pivot itself failed (bad option, not in a new mount namespace)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found")
)]
/// Switch into NEWROOT with its own /proc, /dev and /sys, then exec PROG.
pub struct Options {
    /// SRC:DST[:ro]: bind a host path inside, repeatable
    #[argh(option, arg_name = "SRC:DST[:ro]", from_str_fn(parse_bind))]
    bind: Vec<Bind>,
    /// DST[:SIZE]: a tmpfs inside (K, M, G), repeatable
    #[argh(option, arg_name = "DST[:SIZE]", from_str_fn(parse_tmpfs))]
    tmpfs: Vec<Tmpfs>,
    /// make the root read-only at the end
    #[argh(switch)]
    ro: bool,
    /// UPPERDIR: writes go there, NEWROOT stays unchanged
    #[argh(option, arg_name = "UPPERDIR")]
    overlay: Option<PathBuf>,
    /// writes go to a tmpfs that vanishes with the container
    #[argh(switch)]
    tmp_overlay: bool,
    /// do not mount /proc
    #[argh(switch)]
    no_proc: bool,
    /// do not mount /dev
    #[argh(switch)]
    no_dev: bool,
    /// do not mount /sys
    #[argh(switch)]
    no_sys: bool,
    /// leave /sys/fs/cgroup empty (default: the container's own cgroups, read-only, in a cgroup namespace)
    #[argh(switch)]
    no_cgroup: bool,
    /// take PROG (a static binary) from the host
    #[argh(switch)]
    next_from_host: bool,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the image's root directory, on the host
    #[argh(positional, arg_name = "NEWROOT")]
    newroot: String,
    /// the program to run, and its arguments
    #[argh(positional, greedy, arg_name = "PROG")]
    command: Vec<String>,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        self.command.len()
    }

    fn version_asked(&self) -> bool {
        self.version
    }
}

/// `--bind SRC:DST[:ro]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub read_only: bool,
}

/// `--tmpfs DST[:SIZE]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tmpfs {
    pub destination: PathBuf,
    pub size: Option<u64>,
}

/// How the root is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootKind {
    Bind,
    Overlay(PathBuf),
    TmpOverlay,
}

/// What to do, checked; built before any system call.
#[derive(Debug)]
pub struct Plan {
    pub newroot: PathBuf,
    pub root: RootKind,
    pub binds: Vec<Bind>,
    pub tmpfs: Vec<Tmpfs>,
    pub read_only_root: bool,
    pub proc: bool,
    pub dev: bool,
    pub sys: bool,
    pub cgroup: bool,
    pub next_from_host: bool,
}

impl Options {
    pub fn plan(&self) -> anyhow::Result<Plan> {
        if self.overlay.is_some() && self.tmp_overlay {
            return Err(usage("--overlay and --tmp-overlay are mutually exclusive"));
        }
        if self.newroot.is_empty() {
            return Err(usage("NEWROOT must not be empty"));
        }
        if matches!(&self.overlay, Some(dir) if dir.as_os_str().is_empty()) {
            return Err(usage("--overlay needs a directory"));
        }
        if self.command.is_empty() {
            return Err(usage("missing command to run"));
        }
        let root = match (&self.overlay, self.tmp_overlay) {
            (Some(upper), _) => RootKind::Overlay(upper.clone()),
            (None, true) => RootKind::TmpOverlay,
            (None, false) => RootKind::Bind,
        };
        Ok(Plan {
            newroot: PathBuf::from(&self.newroot),
            root,
            binds: self.bind.clone(),
            tmpfs: self.tmpfs.clone(),
            read_only_root: self.ro,
            proc: !self.no_proc,
            dev: !self.no_dev,
            sys: !self.no_sys,
            cgroup: !self.no_sys && !self.no_cgroup,
            next_from_host: self.next_from_host,
        })
    }
}

/// A destination inside the image: absolute, made of plain names (no `.`
/// or `..`: symlinks in the image are resolved inside it, but the path the
/// user wrote must say plainly where it goes), and not the root itself.
fn destination(text: &str) -> Result<PathBuf, String> {
    let path = Path::new(text);
    if !path.is_absolute() {
        return Err(format!("destination '{text}' must be an absolute path inside the new root"));
    }
    // Split by hand: Path::components() silently drops inner '.' names.
    if text.split('/').any(|name| name == "." || name == "..") {
        return Err(format!("destination '{text}' must not contain '.' or '..'"));
    }
    if path.components().all(|c| c == Component::RootDir) {
        return Err(format!("destination '{text}' is the root itself (use NEWROOT, --overlay or --ro for the root)"));
    }
    Ok(path.to_path_buf())
}

fn parse_bind(value: &str) -> Result<Bind, String> {
    let parts: Vec<&str> = value.split(':').collect();
    let (source, dest, read_only) = match parts.as_slice() {
        [source, dest] => (*source, *dest, false),
        [source, dest, "ro"] => (*source, *dest, true),
        [source, dest, "rw"] => (*source, *dest, false),
        [_, _, mode] => return Err(format!("unknown bind mode '{mode}' in '{value}' (ro or rw)")),
        _ => return Err(format!("invalid bind '{value}': expected SRC:DST[:ro]")),
    };
    if source.is_empty() {
        return Err(format!("invalid bind '{value}': empty source"));
    }
    Ok(Bind { source: PathBuf::from(source), destination: destination(dest)?, read_only })
}

fn parse_tmpfs(value: &str) -> Result<Tmpfs, String> {
    let (dest, size) = match value.split_once(':') {
        Some((dest, size)) => (dest, Some(parse_size(size)?)),
        None => (value, None),
    };
    Ok(Tmpfs { destination: destination(dest)?, size })
}

/// A size by chainload's rule ([`chainload::parse_size`]). Zero is refused:
/// tmpfs reads size=0 as "no limit", the opposite of what it says.
pub fn parse_size(text: &str) -> Result<u64, String> {
    match chainload::parse_size(text) {
        Some(0) => Err(format!("invalid size '{text}': must be more than 0")),
        Some(bytes) => Ok(bytes),
        None => Err(format!("invalid size '{text}' (bytes, or a number with K, M or G)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(words: &[&str]) -> anyhow::Result<Plan> {
        let options = Options::from_args(&["pivot"], words).map_err(|e| anyhow::anyhow!(e.output))?;
        options.plan()
    }

    #[test]
    fn tmpfs_sizes_follow_the_shared_rule_and_refuse_zero() {
        assert_eq!(parse_size("32M"), Ok(33_554_432));
        assert!(parse_size("0").unwrap_err().contains("must be more than 0"));
        assert!(parse_size("0K").unwrap_err().contains("must be more than 0"));
        assert!(parse_size("1T").unwrap_err().contains("K, M or G"));
    }

    #[test]
    fn binds_parse_and_check_destination() {
        let bind = parse_bind("./data:/data:ro").expect("valid");
        assert_eq!(bind, Bind { source: "./data".into(), destination: "/data".into(), read_only: true });
        assert!(!parse_bind("/a:/b").expect("valid").read_only);
        for bad in ["/a", "/a:b", "/a:/b:rx", ":/b", "/a:/", "/a:/x/../etc", "/a:/b:ro:x", "/a:/./b"] {
            assert!(parse_bind(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tmpfs_parses_size() {
        assert_eq!(parse_tmpfs("/tmp:8M"), Ok(Tmpfs { destination: "/tmp".into(), size: Some(8 << 20) }));
        assert_eq!(parse_tmpfs("/run"), Ok(Tmpfs { destination: "/run".into(), size: None }));
        assert!(parse_tmpfs("/tmp:0").is_err());
        assert!(parse_tmpfs("tmp:1M").is_err());
    }

    #[test]
    fn overlay_options_conflict() {
        assert!(plan(&["--overlay", "u", "--tmp-overlay", "r", "true"]).is_err());
        assert_eq!(plan(&["--tmp-overlay", "r", "true"]).expect("valid").root, RootKind::TmpOverlay);
        assert!(plan(&["r"]).is_err());
    }

    #[test]
    fn newroot_then_command() {
        let options = Options::from_args(&["pivot"], &["--ro", "root", "--", "sh", "-c", "x"]).expect("parses");
        assert_eq!(options.newroot, "root");
        assert_eq!(options.command, ["sh", "-c", "x"]);
    }
}
