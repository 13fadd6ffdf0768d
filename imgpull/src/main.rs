//! imgpull: pull an image from an OCI/Docker registry into the isokit
//! image store, verifying every blob against its digest.
#![forbid(unsafe_code)]

mod challenge;
mod config;
mod credentials;
mod platform;
mod pull;
mod registry;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use argh::FromArgs;
use chainload::{Chained, Tool};

use imgstore::Reference;
use platform::Platform;
use registry::Registry;

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] REF",
    help_triggers("-h", "--help"),
    example = "From a registry on this machine, then its root filesystem:\n  $ imgpull localhost:5000/demo:1\n  $ ls \"$(imgunpack localhost:5000/demo:1)\"",
    example = "The arm64 image of Docker Hub's alpine:\n  $ imgpull --platform linux/arm64 alpine:3.20",
    note = "Every blob is checked against its digest. ISOKIT_TRACE=1 prints the\nmanifest and the blobs fetched. The manual: man imgpull.",
    error_code(125, "imgpull failed (bad reference, registry or network, digest mismatch)")
)]
/// Pull an image from a registry into the isokit image store.
struct Options {
    /// OS/ARCH[/VARIANT]: from a multi-platform image (default: this machine's)
    #[argh(option, arg_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// HTTPS unverified, else plain HTTP (always for loopback)
    #[argh(switch)]
    insecure: bool,
    /// DIR: the image store (default: $ISOKIT_IMAGES)
    #[argh(option, arg_name = "DIR")]
    store: Option<PathBuf>,
    /// FILE: Docker credentials (default ~/.docker/config.json)
    #[argh(option, arg_name = "FILE")]
    auth_file: Option<PathBuf>,
    /// pull nothing: the stored image's config as bash arrays
    #[argh(switch)]
    print_config: bool,
    /// pull nothing: print the full name REF stands for
    #[argh(switch)]
    print_name: bool,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// [REGISTRY/]NAME[:TAG][@sha256:DIGEST] (alpine is docker.io/library/alpine:latest)
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

fn main() -> ExitCode {
    chainload::main("imgpull", run)
}

fn run(tool: &Tool, options: Options, _tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let reference = Reference::parse(&options.reference).map_err(|err| chainload::usage(chainload::describe(&err)))?;
    let platform =
        Platform::parse(options.platform.as_deref()).map_err(|err| chainload::usage(chainload::describe(&err)))?;
    let dir = imgstore::default_dir(options.store);

    if options.print_name {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", reference.name()).and_then(|()| stdout.flush()).context("write to stdout")?;
        return Ok(ExitCode::SUCCESS);
    }
    if options.print_config {
        let store = imgstore::Store::open(&dir)?;
        let text = config::print(&store, &reference.name())?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("write to stdout")?;
        return Ok(ExitCode::SUCCESS);
    }

    let (file, required) = match options.auth_file {
        Some(file) => (Some(file), true),
        None => (credentials::default_file(), false),
    };
    let credentials = match file {
        Some(file) => credentials::lookup(&file, required, &reference.registry)?,
        None => None,
    };
    let store = imgstore::Store::create(&dir)?;
    let mut registry = Registry::new(reference.api_host(), &reference.repository, credentials, options.insecure);
    let name = reference.name();
    let pulled = pull::pull(&store, &mut registry, &reference, &platform).with_context(|| format!("pull '{name}'"))?;
    tool.trace(format_args!(
        "{name}: manifest {} from {}; {} blobs fetched, {} already present",
        pulled.manifest,
        registry.base(),
        pulled.fetched,
        pulled.present
    ));
    Ok(ExitCode::SUCCESS)
}
