//! imgunpack: make a stored image's root filesystem, aside, then rename it
//! into place; print its path.
#![forbid(unsafe_code)]

mod ids;
mod inroot;
mod layer;
mod unpack;
mod xattrs;

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use argh::FromArgs;
use chainload::{Chained, Tool};
use imgstore::{Reference, Store};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] REF",
    help_triggers("-h", "--help"),
    example = "Unpack a pulled image and list its root:\n  $ ls \"$(imgunpack localhost:5000/demo:1)\"",
    note = "Prints STORE/rootfs/HEX (the manifest digest), made aside and renamed\ninto place; an image already unpacked is not made again.\nOwners outside --map-ids go to nobody (65534), counted on stderr.\nISOKIT_TRACE=1 prints the layers applied and the attributes left out.\nThe manual: man imgunpack.",
    error_code(125, "imgunpack failed (not in the store, a layer refused or not matching)")
)]
/// Unpack a stored image into a root filesystem no layer can escape.
struct Options {
    /// DIR: the image store (default: $ISOKIT_IMAGES)
    #[argh(option, arg_name = "DIR")]
    store: Option<PathBuf>,
    /// create the device nodes a layer holds (as root only)
    #[argh(switch)]
    devices: bool,
    /// ids C:H:N: give container ids C..C+N-1 as H..H+N-1 (root; repeatable)
    #[argh(option, arg_name = "C:H:N", from_str_fn(map_range))]
    map_ids: Vec<ids::Range>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// an image pulled with imgpull (the same short names)
    #[argh(positional, arg_name = "REF")]
    reference: String,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        0
    }

    fn version_asked(&self) -> bool {
        self.version
    }
}

fn map_range(text: &str) -> Result<ids::Range, String> {
    text.parse()
}

fn main() -> ExitCode {
    chainload::main("imgunpack", run)
}

fn run(tool: &Tool, options: Options, _tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let reference = Reference::parse(&options.reference).map_err(|err| chainload::usage(chainload::describe(&err)))?;
    let as_root = nix::unistd::geteuid().is_root();
    if !as_root && !options.map_ids.is_empty() {
        return Err(chainload::usage("--map-ids needs root, or root in a user namespace"));
    }
    let store = Store::open(&imgstore::default_dir(options.store))?;
    let name = reference.name();
    let manifest = store.lookup(&name)?;
    let rootfs = store.dir().join("rootfs");
    let target = rootfs.join(format!("{}{}", manifest.hex(), ids::suffix(&options.map_ids)));
    if !target.is_dir() {
        let layers = unpack::layers(&store, &manifest)?;
        fs::create_dir_all(&rootfs).with_context(|| format!("create '{}'", rootfs.display()))?;
        let aside = rootfs.join(format!(".{}.{}", manifest.hex(), std::process::id()));
        let owners = if as_root { Some(ids::Owners::new(options.map_ids)?) } else { None };
        let layer_options = layer::Options { devices: options.devices, as_root, owners };
        let result = make(&store, &aside, &target, &layers, &layer_options).with_context(|| format!("unpack '{name}'"));
        if result.is_err() {
            // remove_dir_all does not follow symlinks: a hostile layer's
            // links are removed, never their targets.
            let _ = fs::remove_dir_all(&aside);
        }
        let report = result?;
        if let Some(first) = report.skipped_devices.first() {
            eprintln!(
                "imgunpack: left out {} device node(s) of '{name}', first '{}' (--devices makes them)",
                report.skipped_devices.len(),
                first.display()
            );
        }
        if let Some((path, uid, gid)) = report.given_to_nobody.first() {
            eprintln!(
                "imgunpack: gave {} file(s) of '{name}' to nobody, their owners being outside the ids given, first '{}' ({uid}:{gid})",
                report.given_to_nobody.len(),
                path.display()
            );
        }
        for (path, attribute, why) in &report.skipped_xattrs {
            tool.trace(format_args!(
                "left out attribute {} of '{}': {why}",
                attribute.to_string_lossy(),
                path.display()
            ));
        }
        tool.trace(format_args!(
            "{name}: {} layers, {} entries into {}",
            layers.len(),
            report.entries,
            target.display()
        ));
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", target.display()).and_then(|()| stdout.flush()).context("write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// Apply every layer in `aside`, then rename it to `target`. Another
/// imgunpack that finished first is fine: its root is the same.
fn make(
    store: &Store,
    aside: &Path,
    target: &Path,
    layers: &[unpack::Layer],
    options: &layer::Options,
) -> anyhow::Result<layer::Report> {
    fs::create_dir(aside).with_context(|| format!("create '{}'", aside.display()))?;
    let root = open(aside, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open '{}'", aside.display()))?;
    let mut report = layer::Report::default();
    for (index, layer) in layers.iter().enumerate() {
        unpack::apply(store, &root, layer, options, &mut report)
            .with_context(|| format!("layer {} ('{}')", index + 1, layer.blob))?;
    }
    fs::set_permissions(aside, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .with_context(|| format!("chmod '{}'", aside.display()))?;
    match fs::rename(aside, target) {
        Ok(()) => Ok(report),
        Err(_) if target.is_dir() => {
            let _ = fs::remove_dir_all(aside);
            Ok(report)
        }
        Err(err) => Err(err).with_context(|| format!("rename '{}' into place", target.display())),
    }
}
