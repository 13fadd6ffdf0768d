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

use platform::Platform;
use imgstore::Reference;
use registry::Registry;

#[derive(FromArgs)]
#[argh(
    help_triggers("-h", "--help"),
    example = "Pull from a registry on this machine (plain HTTP, as Docker allows for loopback):\n  $ imgpull localhost:5000/demo:1",
    example = "Pull the arm64 image of Docker Hub's alpine (docker.io/library/alpine:3.20):\n  $ imgpull --platform linux/arm64 alpine:3.20",
    example = "What a launcher needs from the stored image:\n  $ eval \"$(imgpull --print-config localhost:5000/demo:1)\"; echo \"${{IMAGE_CMD[@]}}\"",
    note = "Usage: imgpull [OPTIONS] REF\nREF is [REGISTRY/]NAME[:TAG][@sha256:DIGEST]; names without a registry are Docker Hub's (alpine is docker.io/library/alpine:latest, fetched from registry-1.docker.io). HTTPS with certificates checked against the built-in Mozilla roots, except for localhost, 127.0.0.0/8 and ::1, or with --insecure: then HTTPS without verification, falling back to plain HTTP, as Docker treats insecure registries.\nAuthentication: anonymous, then whatever the registry's 401 challenge asks: a Bearer token from its token server, or Basic. Credentials are the base64 'auth' of the registry's entry in the 'auths' of --auth-file, $DOCKER_CONFIG/config.json or ~/.docker/config.json (as 'docker login' writes them; credential helpers are not run).\nStore: an OCI image layout in --store, $ISOKIT_IMAGES, /var/lib/isokit/images (root) or ~/.local/share/isokit/images. Every blob is hashed as it arrives and kept only if it matches its digest and size; blobs already in the store are not fetched again. A corrupted blob fails the pull and removes the blobs it brought; the image is named in index.json only when all of it is there.\nISOKIT_TRACE=1 prints one line with the manifest digest and the blobs fetched.",
    error_code(125, "imgpull failed (bad reference, registry or network error, digest mismatch)")
)]
/// Pull an image from a registry into the isokit image store.
struct Options {
    /// the platform to take from a multi-platform image (default: this machine's, linux/amd64 here)
    #[argh(option, arg_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// treat the registry as Docker treats insecure ones: HTTPS unverified, else plain HTTP (always so for loopback)
    #[argh(switch)]
    insecure: bool,
    /// the image store directory
    #[argh(option, arg_name = "DIR")]
    store: Option<PathBuf>,
    /// the Docker credentials file to read (default: ~/.docker/config.json)
    #[argh(option, arg_name = "FILE")]
    auth_file: Option<PathBuf>,
    /// pull nothing: print the stored image's Entrypoint, Cmd, Env, WorkingDir, User, StopSignal, ExposedPorts as bash assignments
    #[argh(switch)]
    print_config: bool,
    /// pull nothing: print the full name REF stands for (alpine: docker.io/library/alpine:latest)
    #[argh(switch)]
    print_name: bool,
    /// the image reference
    #[argh(positional, arg_name = "REF")]
    reference: String,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        0
    }
}

fn main() -> ExitCode {
    chainload::main("imgpull", run)
}

fn run(tool: &Tool, options: Options, _tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let reference = Reference::parse(&options.reference).map_err(|err| chainload::usage(chainload::describe(&err)))?;
    let platform = Platform::parse(options.platform.as_deref()).map_err(|err| chainload::usage(chainload::describe(&err)))?;
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
