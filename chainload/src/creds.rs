//! Thin wrappers for the credential system calls nix lacks: capget(2),
//! capset(2), the prctl(2) operations on the bounding and ambient sets and
//! the securebits, and keyctl(2) for a new session keyring. Sets are
//! 64-bit masks, bit N for capability N. Each wrapper is one call; the
//! unsafe is only the FFI. Two tools use them: capdrop, and the PID-1
//! init of unshare-lite, which drops what it does not need.

use libc::{c_int, c_ulong};
use nix::errno::Errno;

/// _LINUX_CAPABILITY_VERSION_3: 64-bit sets, passed as two 32-bit halves.
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// struct __user_cap_header_struct.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

/// struct __user_cap_data_struct; version 3 takes an array of two (low
/// 32 capabilities, then the high ones).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The three per-thread sets capget/capset work on, as masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

fn join(low: u32, high: u32) -> u64 {
    u64::from(high) << 32 | u64::from(low)
}

/// capget(2) for the calling thread.
pub fn capget() -> nix::Result<RawSets> {
    let mut header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are valid, writable, and laid out as the
    // kernel's version-3 structures (header + two data elements).
    let ret = unsafe { libc::syscall(libc::SYS_capget, &mut header as *mut CapHeader, data.as_mut_ptr()) };
    Errno::result(ret)?;
    Ok(RawSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// capset(2) for the calling thread.
pub fn capset(sets: RawSets) -> nix::Result<()> {
    let mut header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let half = |mask: u64, high: bool| if high { (mask >> 32) as u32 } else { mask as u32 };
    let data = [false, true].map(|high| CapData {
        effective: half(sets.effective, high),
        permitted: half(sets.permitted, high),
        inheritable: half(sets.inheritable, high),
    });
    // SAFETY: as in capget; the kernel only reads data.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut CapHeader, data.as_ptr()) };
    Errno::result(ret).map(drop)
}

/// prctl(2) with integer arguments.
fn prctl(option: c_int, arg2: c_ulong, arg3: c_ulong) -> nix::Result<c_int> {
    let zero: c_ulong = 0;
    // SAFETY: every option used here takes integer arguments only, and
    // unused arguments must be zero (prctl(2)).
    let ret = unsafe { libc::prctl(option, arg2, arg3, zero, zero) };
    Errno::result(ret)
}

/// PR_CAPBSET_READ: whether `cap` is in the bounding set (EINVAL if the
/// kernel does not know it).
pub fn bounding_has(cap: u32) -> nix::Result<bool> {
    prctl(libc::PR_CAPBSET_READ, c_ulong::from(cap), 0).map(|on| on == 1)
}

/// PR_CAPBSET_DROP: remove `cap` from the bounding set, for good
/// (requires CAP_SETPCAP in the effective set).
pub fn bounding_drop(cap: u32) -> nix::Result<()> {
    prctl(libc::PR_CAPBSET_DROP, c_ulong::from(cap), 0).map(drop)
}

/// The bounding set, read one capability at a time up to the last one
/// the kernel knows (PR_CAPBSET_READ fails with EINVAL past it).
pub fn bounding_set() -> nix::Result<u64> {
    let mut set = 0;
    for cap in 0..64 {
        match bounding_has(cap) {
            Ok(true) => set |= 1u64 << cap,
            Ok(false) => {}
            Err(Errno::EINVAL) => break,
            Err(err) => return Err(err),
        }
    }
    Ok(set)
}

/// PR_CAP_AMBIENT_CLEAR_ALL.
pub fn ambient_clear_all() -> nix::Result<()> {
    prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong, 0).map(drop)
}

/// PR_CAP_AMBIENT_RAISE: `cap` must be in both permitted and inheritable.
pub fn ambient_raise(cap: u32) -> nix::Result<()> {
    prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as c_ulong, c_ulong::from(cap)).map(drop)
}

/// PR_CAP_AMBIENT_IS_SET.
pub fn ambient_has(cap: u32) -> nix::Result<bool> {
    prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_IS_SET as c_ulong, c_ulong::from(cap)).map(|on| on == 1)
}

/// PR_GET_SECUREBITS.
pub fn securebits() -> nix::Result<u32> {
    prctl(libc::PR_GET_SECUREBITS, 0, 0).map(|bits| bits as u32)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): replace the session keyring
/// with a new, empty, anonymous one (keyctl(2), session-keyring(7)). The
/// old one stays with the processes that still hold it.
pub fn join_new_session_keyring() -> nix::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: c_ulong = 1; // <linux/keyctl.h>
    let anonymous: *const libc::c_char = std::ptr::null();
    // SAFETY: with a NULL name the kernel reads no memory from us.
    let ret = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, anonymous) };
    Errno::result(ret).map(drop)
}
