//! Thin wrappers for the calls nix lacks: seccomp(2) with a filter,
//! prctl(PR_CAPBSET_READ), uname(2)'s release. The unsafe is only the FFI.

use nix::errno::Errno;

use crate::bpf::Insn;

/// The bounding set as a mask, read capability by capability until the
/// kernel says a number is past its last one (EINVAL).
pub fn bounding_set() -> nix::Result<u64> {
    let mut mask = 0u64;
    for cap in 0..64u64 {
        // SAFETY: PR_CAPBSET_READ takes one integer argument and reads
        // nothing from memory.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        match Errno::result(ret) {
            Ok(1) => mask |= 1 << cap,
            Ok(_) => {}
            Err(Errno::EINVAL) => break,
            Err(err) => return Err(err),
        }
    }
    Ok(mask)
}

/// The running kernel's release string ("6.1.0-18-amd64").
pub fn kernel_release() -> nix::Result<String> {
    // SAFETY: utsname is plain data; uname fills it (NUL-terminated fields).
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable utsname.
    Errno::result(unsafe { libc::uname(&mut name) })?;
    let release: Vec<u8> = name.release.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    Ok(String::from_utf8_lossy(&release).into_owned())
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). The kernel copies the
/// program; it refuses (EACCES) unless no_new_privs is set or the caller
/// has CAP_SYS_ADMIN in its user namespace.
pub fn load_filter(insns: &[Insn], flags: u32) -> nix::Result<()> {
    let len = u16::try_from(insns.len()).map_err(|_| Errno::E2BIG)?;
    // Insn is #[repr(C)] with sock_filter's fields in sock_filter's order.
    let prog = libc::sock_fprog { len, filter: insns.as_ptr() as *mut libc::sock_filter };
    // SAFETY: `prog` points at `len` valid instructions that outlive the
    // call; the kernel only reads them.
    let ret = unsafe {
        libc::syscall(libc::SYS_seccomp, 1 as libc::c_ulong, flags as libc::c_ulong, &prog as *const libc::sock_fprog)
    };
    Errno::result(ret).map(drop)
}
