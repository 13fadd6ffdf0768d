//! Writing the kernel's control files under /proc (id maps, setgroups,
//! time offsets): shared by the namespace steps and the id-map helper.

use std::fs::OpenOptions;
use std::io::Write;

use anyhow::Context;

/// Write a /proc control file, which must exist (never create one).
pub(crate) fn write_proc(path: &str, text: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path).with_context(|| format!("open '{path}'"))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("write '{}' to '{path}'", text.trim_end().replace('\n', "; ")))
}
