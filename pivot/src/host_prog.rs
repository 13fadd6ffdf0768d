//! `--next-from-host`: take PROG from the host before the switch, exec it
//! after, so that the next isokit step (capdrop) need not be in the image.
//!
//! Exec'd straight from an fd to the host file, the container's
//! /proc/PID/exe would be a handle to that host binary, which a process
//! inside could reopen for writing once PROG has exited and overwrite
//! (runc CVE-2019-5736). So PROG is exec'd from a file no handle can
//! write:
//!
//! * a read-only bind mount of the file alone, made detached
//!   (open_tree(OPEN_TREE_CLONE), then mount_setattr(MOUNT_ATTR_RDONLY)):
//!   attached to no mount table, so nobody can remount it writable or
//!   reach it by a path, and every open for writing through it fails with
//!   EROFS. It costs two system calls;
//! * where the kernel refuses that (before Linux 5.12, or open_tree
//!   denied), a copy in a sealed memfd, as runc execs: about 1 ms of CPU
//!   for a 600 KB binary on every launch.
//!
//! Either fd is close-on-exec, so PROG holds no fd to it.
//!
//! Only a static ELF binary can run from there: a dynamic one needs its
//! program interpreter (PT_INTERP) and libraries, looked up inside the
//! image after the switch; a `#!` script would be handed to its interpreter
//! as /dev/fd/N, which close-on-exec has closed by then (fexecve(3)). Both
//! are refused before anything is mounted, with the reason.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use chainload::{ExecFailure, Tool};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::sys::{self, attr};

/// PROG, taken from the host where no handle can write it.
pub struct HostProgram {
    executable: OwnedFd,
    /// How, for the trace line.
    pub how: &'static str,
}

/// The ELF header and program headers of a static binary fit here
/// (rustc and gcc put the program headers right after the 64-byte header).
const HEAD: usize = 4096;

impl HostProgram {
    /// Find PROG in the host's PATH (or take it as a path if it has a '/'),
    /// check it can run inside any image, and seal it off.
    pub fn load(program: &OsString) -> anyhow::Result<HostProgram> {
        let path = find_in_path(program).ok_or_else(|| not_found(program))?;
        let cannot_run = |err: io::Error| anyhow!(ExecFailure::new(program.clone(), err));
        let mut file = fs::File::open(&path).map_err(cannot_run)?;
        // Into a buffer of the final size: one read(2), where read_to_end
        // on an empty Vec probes with 32 bytes and doubles (eight reads).
        let mut buffer = [0u8; HEAD];
        let mut len = 0;
        while len < HEAD {
            match file.read(&mut buffer[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(cannot_run(err)),
            }
        }
        let head = &buffer[..len];
        // 126 as for any PROG that is there but cannot run; said before
        // anything is mounted. Program headers further in (an unusual
        // linker): the whole file is read to look.
        let checked = match check_static(head) {
            Err(why) if why.starts_with("truncated") && len == HEAD => {
                check_static(&fs::read(&path).map_err(cannot_run)?)
            }
            other => other,
        };
        checked.map_err(|why| anyhow!(ExecFailure::new(path.clone().into_os_string(), io::Error::other(why))))?;
        match read_only_mount(&file) {
            Ok(executable) => Ok(HostProgram { executable, how: "read-only detached mount" }),
            Err(_) => Ok(HostProgram { executable: sealed_copy(&path, program)?, how: "sealed memfd copy" }),
        }
    }

    /// Exec PROG with `tail` as argv (argv[0] as the user wrote it),
    /// through chainload's exec-from-fd. Returns only on failure.
    pub fn exec(&self, tool: &Tool, tail: &[OsString]) -> anyhow::Error {
        tool.exec_fd(self.executable.as_fd(), tail)
    }
}

/// A detached, read-only, nosuid bind mount of the open file alone; its fd
/// (O_PATH, close-on-exec) is what execveat runs. The file checked is the
/// file mounted: both come from the same open fd.
fn read_only_mount(file: &fs::File) -> nix::Result<OwnedFd> {
    let tree = sys::clone_tree(file, Path::new(""), false)?;
    sys::set_attributes(&tree, attr::RDONLY | attr::NOSUID | attr::NODEV, false)?;
    Ok(tree)
}

/// The fallback: the whole file copied into a memfd sealed against every
/// change.
fn sealed_copy(path: &Path, program: &OsString) -> anyhow::Result<OwnedFd> {
    let bytes = fs::read(path).map_err(|err| anyhow!(ExecFailure::new(program.clone(), err)))?;
    let memfd =
        memfd_create(c"pivot-next", MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING).context("memfd_create")?;
    fs::File::from(memfd.try_clone().context("dup memfd")?).write_all(&bytes).context("copy PROG into a memfd")?;
    let seals = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SEAL;
    fcntl(&memfd, FcntlArg::F_ADD_SEALS(seals)).context("seal the copy of PROG")?;
    Ok(memfd)
}

fn not_found(program: &OsString) -> anyhow::Error {
    anyhow!(ExecFailure::new(program.clone(), io::Error::from(io::ErrorKind::NotFound)))
}

/// execvp's rule: a name with '/' is a path; otherwise the first
/// executable regular file of that name in PATH.
fn find_in_path(program: &OsString) -> Option<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

const PT_INTERP: u32 = 3;

/// Ok for an ELF file without a program interpreter; the reason otherwise.
pub fn check_static(bytes: &[u8]) -> Result<(), String> {
    if bytes.starts_with(b"#!") {
        return Err("a #! script, which its interpreter could not reopen from a close-on-exec fd after the switch; use a static binary".into());
    }
    if !bytes.starts_with(b"\x7fELF") || bytes.len() < 0x34 {
        return Err("not an ELF executable".into());
    }
    let wide = match bytes[4] {
        1 => false,
        2 => true,
        _ => return Err("unknown ELF class".into()),
    };
    if bytes[5] != 1 {
        return Err("big-endian ELF is not supported".into());
    }
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u64_at =
        |at: usize| bytes.get(at..at + 8).map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
    let header = if wide {
        (u64_at(0x20).map(|v| v as usize), u16_at(0x36), u16_at(0x38))
    } else {
        (u32_at(0x1c).map(|v| v as usize), u16_at(0x2a), u16_at(0x2c))
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = header else {
        return Err("truncated ELF header".into());
    };
    for index in 0..phnum {
        let entry = phoff.checked_add(index.checked_mul(phentsize).ok_or("bad ELF header")?).ok_or("bad ELF header")?;
        match u32_at(entry) {
            Some(PT_INTERP) => {
                let (offset, size) = if wide {
                    (u64_at(entry + 8).map(|v| v as usize), u64_at(entry + 32).map(|v| v as usize))
                } else {
                    (u32_at(entry + 4).map(|v| v as usize), u32_at(entry + 16).map(|v| v as usize))
                };
                let interpreter = offset
                    .zip(size)
                    .and_then(|(o, s)| bytes.get(o..o.checked_add(s)?))
                    .map(|raw| String::from_utf8_lossy(raw).trim_end_matches('\0').to_string())
                    .unwrap_or_default();
                return Err(format!(
                    "dynamically linked (interpreter {interpreter}): with --next-from-host its loader and libraries would be looked up inside the image; use a static build"
                ));
            }
            Some(_) => {}
            None => return Err("truncated ELF program headers".into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian ELF64 file with one program header of `kind`
    /// (PT_INTERP pointing at "/lib/ld.so" when kind is 3).
    fn elf64_with(kind: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 0x40 + 56];
        bytes[..6].copy_from_slice(b"\x7fELF\x02\x01");
        bytes[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes()); // e_phoff
        bytes[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        bytes[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        bytes[0x40..0x44].copy_from_slice(&kind.to_le_bytes());
        let interpreter = b"/lib/ld.so\0";
        let offset = bytes.len() as u64;
        bytes[0x48..0x50].copy_from_slice(&offset.to_le_bytes()); // p_offset
        bytes[0x60..0x68].copy_from_slice(&(interpreter.len() as u64).to_le_bytes()); // p_filesz
        bytes.extend_from_slice(interpreter);
        bytes
    }

    #[test]
    fn an_elf_with_an_interpreter_is_refused_and_named() {
        let why = check_static(&elf64_with(PT_INTERP)).unwrap_err();
        assert!(why.contains("dynamically linked (interpreter /lib/ld.so)"), "{why}");
    }

    #[test]
    fn an_elf_without_an_interpreter_is_accepted() {
        const PT_LOAD: u32 = 1;
        assert_eq!(check_static(&elf64_with(PT_LOAD)), Ok(()));
    }

    #[test]
    fn scripts_and_garbage_are_refused() {
        assert!(check_static(b"#!/bin/sh\necho").unwrap_err().contains("script"));
        assert!(check_static(b"hello").is_err());
        let mut truncated = b"\x7fELF\x02\x01".to_vec();
        truncated.resize(0x40, 0);
        truncated[0x20] = 0xff; // phoff far beyond the end
        truncated[0x38] = 1;
        truncated[0x36] = 56;
        assert!(check_static(&truncated).is_err());
    }
}
