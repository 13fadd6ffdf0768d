//! imgload: load a `docker save` archive or an OCI archive (a tar of an
//! OCI image layout) into the isokit image store, every blob verified,
//! without unpacking the archive anywhere first.
#![forbid(unsafe_code)]

mod archive;
mod load;
mod put;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use argh::FromArgs;
use chainload::{Chained, Tool};
use imgstore::Reference;

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] FILE",
    help_triggers("-h", "--help"),
    example = "An image saved by Docker, then run:\n  $ docker save -o demo.tar demo:1 && imgload demo.tar\n  $ contain --pull never demo:1",
    example = "An OCI archive made by skopeo, under a name of its own:\n  $ imgload --name localhost/demo:2 demo-oci.tar",
    example = "A root filesystem as an image (docker import), then run:\n  $ tar -C rootfs -c . >rootfs.tar\n  $ imgload --rootfs --name localhost/mine:1 rootfs.tar\n  $ contain --pull never localhost/mine:1 /bin/sh",
    example = "Export a stored image as an OCI archive (the store is an OCI layout):\n  $ skopeo copy oci:/var/lib/isokit/images:localhost/a:1 oci-archive:a.tar",
    note = "Every blob is checked against its digest and every layer against the\nconfig's diff_id; a failed load leaves the store as it was.\nISOKIT_TRACE=1 prints the image loaded. The manual: man imgload.",
    error_code(125, "imgload failed (not an archive of one image, a digest mismatch)")
)]
/// Load a docker-save or OCI archive into the isokit image store.
struct Options {
    /// DIR: the image store (default: $ISOKIT_IMAGES)
    #[argh(option, arg_name = "DIR")]
    store: Option<PathBuf>,
    /// REF: the name to store it as (default: the archive's)
    #[argh(option, arg_name = "REF")]
    name: Option<String>,
    /// FILE is a tar of a root filesystem (docker export, tar -c): make
    /// it an image of one layer, named by --name
    #[argh(switch)]
    rootfs: bool,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the archive: docker save, or a tar of an OCI image layout
    #[argh(positional, arg_name = "FILE")]
    file: PathBuf,
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
    chainload::main("imgload", run)
}

fn run(tool: &Tool, options: Options, _tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    if let Some(name) = &options.name {
        Reference::parse(name).map_err(|err| chainload::usage(chainload::describe(&err)))?;
    }
    let file = options.file.display().to_string();
    let loaded = if options.rootfs {
        let Some(name) = &options.name else {
            return Err(chainload::usage("--rootfs needs --name: a root filesystem names no image"));
        };
        let store = imgstore::Store::create(&imgstore::default_dir(options.store))?;
        load::rootfs(&store, &options.file, name).with_context(|| format!("import '{file}'"))?
    } else {
        let archive = archive::Archive::open(&options.file).with_context(|| format!("load '{file}'"))?;
        let store = imgstore::Store::create(&imgstore::default_dir(options.store))?;
        load::load(&store, &archive, options.name.as_deref()).with_context(|| format!("load '{file}'"))?
    };
    tool.trace(format_args!(
        "{}: {} archive, manifest {}, {} layers",
        loaded.name, loaded.format, loaded.manifest, loaded.layers
    ));
    Ok(ExitCode::SUCCESS)
}
