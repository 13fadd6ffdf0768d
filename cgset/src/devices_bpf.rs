//! cgroup v2 has no devices controller: device access is decided by a
//! BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup
//! (Documentation/admin-guide/cgroup-v2.rst, "Device controller"). The
//! kit assembles the program itself (no libbpf): for each allow rule,
//! compare the device's type, access, major and minor; the first rule that
//! matches returns 1 (allow); past the last, 0 (deny, EPERM to the caller).
//!
//! The program stays attached to the cgroup after its fd is closed; it
//! goes when the cgroup is removed. Attaching without flags replaces the
//! program of a cgroup being rejoined.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{anyhow, Context};
use nix::errno::Errno;

use crate::devices::{Kind, Rule, MKNOD, READ, WRITE};

/// struct bpf_insn: opcode, dst_reg:4 | src_reg:4, offset, immediate.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const LDX_MEM_W: u8 = 0x61;
const ALU64_AND_K: u8 = 0x57;
const ALU64_RSH_K: u8 = 0x77;
const ALU64_MOV_K: u8 = 0xb7;
const ALU64_MOV_X: u8 = 0xbf;
const JMP_JNE_K: u8 = 0x55;
const JMP_EXIT: u8 = 0x95;

/// BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: src << 4 | dst, off, imm }
}

/// The program. Registers: r1 = struct bpf_cgroup_dev_ctx { access_type
/// (access << 16 | type), major, minor }; r2 type, r3 access, r4 major,
/// r5 minor; r6 scratch.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut code = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU64_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU64_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules {
        // Each test jumps past this rule's `return 1` on a mismatch; the
        // offsets are counted once the rule's tests are known.
        let mut tests: Vec<Insn> = Vec::new();
        match rule.kind {
            Kind::All => {}
            Kind::Char => tests.push(insn(JMP_JNE_K, 2, 0, 0, DEV_CHAR)),
            Kind::Block => tests.push(insn(JMP_JNE_K, 2, 0, 0, DEV_BLOCK)),
        }
        let all = MKNOD | READ | WRITE;
        if rule.access.0 & all != all {
            // Allowed only if the access asked for has no bit outside the rule's.
            tests.push(insn(ALU64_MOV_X, 6, 3, 0, 0));
            tests.push(insn(ALU64_AND_K, 6, 0, 0, !(rule.access.0 as i32) & all as i32));
            tests.push(insn(JMP_JNE_K, 6, 0, 0, 0));
        }
        if let Some(major) = rule.major {
            tests.push(insn(JMP_JNE_K, 4, 0, 0, major as i32));
        }
        if let Some(minor) = rule.minor {
            tests.push(insn(JMP_JNE_K, 5, 0, 0, minor as i32));
        }
        let len = tests.len();
        for (at, test) in tests.iter_mut().enumerate() {
            if test.code == JMP_JNE_K {
                // Past the rest of the tests and the two instructions of `return 1`.
                test.off = (len - at - 1 + 2) as i16;
            }
        }
        code.extend(tests);
        code.push(insn(ALU64_MOV_K, 0, 0, 0, 1));
        code.push(insn(JMP_EXIT, 0, 0, 0, 0));
    }
    code.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
    code.push(insn(JMP_EXIT, 0, 0, 0, 0));
    code
}

/// Load the program and attach it to the v2 cgroup DIR.
pub fn attach(dir: &Path, rules: &[Rule]) -> anyhow::Result<usize> {
    let code = program(rules);
    let cgroup = File::open(dir).with_context(|| format!("open cgroup '{}'", dir.display()))?;
    let prog =
        sys::prog_load(&code).map_err(|err| anyhow!("load the device program (bpf BPF_PROG_LOAD): {}", err.desc()))?;
    sys::prog_attach(&cgroup, &prog).map_err(|err| {
        anyhow!("attach the device program to '{}' (bpf BPF_PROG_ATTACH): {}", dir.display(), err.desc())
    })?;
    Ok(code.len())
}

mod sys {
    //! bpf(2) for BPF_PROG_LOAD and BPF_PROG_ATTACH; nix has no wrapper.
    //! The unsafe is only the FFI.
    #![allow(unsafe_code)]

    use super::*;

    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_PROG_ATTACH: libc::c_long = 8;
    const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
    const BPF_CGROUP_DEVICE: u32 = 6;

    /// The head of union bpf_attr for BPF_PROG_LOAD (fields up to
    /// expected_attach_type; the kernel takes a shorter attr as zeros).
    #[repr(C)]
    #[derive(Default)]
    struct ProgLoad {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
        prog_ifindex: u32,
        expected_attach_type: u32,
    }

    /// union bpf_attr for BPF_PROG_ATTACH.
    #[repr(C)]
    #[derive(Default)]
    struct ProgAttach {
        target_fd: u32,
        attach_bpf_fd: u32,
        attach_type: u32,
        attach_flags: u32,
        replace_bpf_fd: u32,
    }

    fn bpf<T>(cmd: libc::c_long, attr: &T) -> nix::Result<libc::c_long> {
        // SAFETY: attr is a valid bpf_attr head of size_of::<T>() bytes;
        // pointers inside it are valid for the call.
        let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *const T, std::mem::size_of::<T>()) };
        Errno::result(ret)
    }

    /// The program's fd is close-on-exec (the kernel makes bpf fds so).
    pub fn prog_load(code: &[Insn]) -> nix::Result<OwnedFd> {
        let license = b"GPL\0";
        let mut name = [0u8; 16];
        name[..6].copy_from_slice(b"isokit");
        let attr = ProgLoad {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: code.len() as u32,
            insns: code.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name: name,
            expected_attach_type: BPF_CGROUP_DEVICE,
            ..ProgLoad::default()
        };
        let fd = bpf(BPF_PROG_LOAD, &attr)?;
        // SAFETY: the kernel returned a new fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    pub fn prog_attach(cgroup: &File, prog: &OwnedFd) -> nix::Result<()> {
        let attr = ProgAttach {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_bpf_fd: prog.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..ProgAttach::default()
        };
        bpf(BPF_PROG_ATTACH, &attr).map(drop)
    }
}

#[cfg(test)]
mod tests {
    //! A tiny interpreter for the few eBPF instructions the program uses.
    use super::*;
    use crate::devices;

    fn run(code: &[Insn], kind: i32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [access << 16 | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = code[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1);
                    r[dst] = u64::from(ctx[i.off as usize / 4]);
                }
                ALU64_AND_K => r[dst] &= i.imm as i64 as u64,
                ALU64_RSH_K => r[dst] >>= i.imm,
                ALU64_MOV_K => r[dst] = i.imm as i64 as u64,
                ALU64_MOV_X => r[dst] = r[src],
                JMP_JNE_K => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc += i.off as usize
                    }
                }
                JMP_EXIT => return r[0],
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn docker_default_decisions() {
        let code = program(&devices::rules(&["c 10:229 rw".to_string()]).expect("valid"));
        assert_eq!(run(&code, DEV_CHAR, READ | WRITE, 1, 3), 1, "/dev/null");
        assert_eq!(run(&code, DEV_CHAR, READ, 136, 7), 1, "/dev/pts/7");
        assert_eq!(run(&code, DEV_BLOCK, MKNOD, 8, 0), 1, "mknod of a disk");
        assert_eq!(run(&code, DEV_BLOCK, READ, 8, 0), 0, "reading a disk");
        assert_eq!(run(&code, DEV_CHAR, READ, 1, 1), 0, "/dev/mem");
        assert_eq!(run(&code, DEV_CHAR, READ | WRITE, 10, 229), 1, "the rule added");
        assert_eq!(run(&code, DEV_CHAR, MKNOD, 10, 229), 1, "mknod of any char node");
        assert_eq!(run(&code, DEV_BLOCK, READ, 10, 229), 0, "a block node of the same numbers");
        let only_read = program(&[devices::parse("c 1:3 r").expect("valid")]);
        assert_eq!(run(&only_read, DEV_CHAR, READ, 1, 3), 1);
        assert_eq!(run(&only_read, DEV_CHAR, READ | WRITE, 1, 3), 0, "write is not in the rule");
        assert_eq!(run(&program(&[]), DEV_CHAR, READ, 1, 3), 0, "no rule: deny");
    }
}
