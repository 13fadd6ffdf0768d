//! compose-plan: read a compose file and print what scripts/ccompose
//! runs: the project's networks and volumes, and each service's
//! `contain` options in start order, as bash assignments.
#![forbid(unsafe_code)]

mod interpolate;
mod keys;
mod model;
mod node;
mod plan;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use argh::FromArgs;
use chainload::{Chained, Tool};

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] FILE",
    help_triggers("-h", "--help"),
    example = "The plan of a project, as ccompose reads it:\n  $ compose-plan --project demo compose.yaml",
    note = "Interpolates ${{VAR}} and ${{VAR:-default}} from the environment, then\nthe .env file beside FILE; refuses every key it does not support by\nits path. Used by ccompose(1). The manual: man compose-plan.",
    error_code(125, "a bad option, an unreadable file, or an unsupported or invalid key")
)]
/// Read a compose file; print its plan as bash assignments.
struct Options {
    /// NAME: the project name (default: the file's name:, else its
    /// directory's name)
    #[argh(option, arg_name = "NAME")]
    project: Option<String>,
    /// DIR: where named volumes live (default: $ISOKIT_VOLUMES, else
    /// /var/lib/isokit/volumes)
    #[argh(option, arg_name = "DIR")]
    volumes: Option<PathBuf>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the compose file
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
    chainload::main("compose-plan", run)
}

fn run(tool: &Tool, options: Options, _tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let file = options.file.display().to_string();
    let text = std::fs::read_to_string(&options.file).with_context(|| format!("read '{file}'"))?;
    // The project directory: relative paths and .env are found from it.
    let dir = std::path::absolute(&options.file)
        .with_context(|| format!("resolve '{file}'"))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let volumes = match options.volumes {
        Some(dir) => std::path::absolute(dir).context("resolve --volumes")?,
        None => std::env::var_os("ISOKIT_VOLUMES")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/lib/isokit/volumes")),
    };
    let vars = interpolate::Variables::load(&dir)?;
    let plan = parse(&text, &dir, options.project.as_deref(), &vars, &volumes).with_context(|| file.clone())?;
    tool.trace(format_args!("{file}: a plan of {} lines", plan.lines().count()));
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(plan.as_bytes()).and_then(|()| stdout.flush()).context("write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

fn parse(
    text: &str,
    dir: &Path,
    project: Option<&str>,
    vars: &interpolate::Variables,
    volumes: &Path,
) -> anyhow::Result<String> {
    let value = model::load(text)?;
    let project = model::project(&value, dir, project, vars)?;
    plan::render(&project, volumes)
}
