//! Compile a resolved policy into a classic BPF program for seccomp(2).
//!
//! Layout (each ABI is one section, entered from the architecture check):
//!
//! ```text
//!   ld arch; jeq X86_64 -> native; jeq I386 -> i386; ret KILL_PROCESS
//! native: ld nr; nr >= X32 bit -> x32 (or KILL_PROCESS if x32 is not covered)
//!   x32: clear the bit; below 512 -> the native section, else x32's own
//! section: a binary search on the number down to leaves of a few blocks;
//!   block: a range of numbers with one action (two jumps to shared rets),
//!          or one number's argument rules: compare, ret its action
//!   numbers between blocks: ret default
//! ```
//!
//! A system call from an architecture the policy does not cover kills the
//! process: `int 0x80` (i386) and the x32 bit cannot go around the filter.

use anyhow::bail;

use crate::profile::{Abi, Action, Cmp, Op, Policy};
use crate::tables;

/// struct sock_filter (linux/filter.h), laid out as the kernel reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const LD_W_ABS: u16 = 0x20;
const ALU_AND_K: u16 = 0x54;
const JA: u16 = 0x05;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;

/// Offsets in struct seccomp_data.
const NR: u32 = 0;
const ARCH: u32 = 4;
fn arg_low(index: u8) -> u32 {
    16 + 8 * u32::from(index)
}

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// x32's own calls (compat versions of x86_64 ones) start here; below it
/// x32 shares x86_64's numbers (arch/x86/entry/syscalls/syscall_64.tbl).
const X32_OWN_CALLS: u32 = 512;

/// The kernel's limit, BPF_MAXINSNS.
const MAX_INSNS: usize = 4096;

pub fn ret_value(action: Action) -> u32 {
    match action {
        Action::KillProcess => 0x8000_0000,
        Action::KillThread => 0,
        Action::Trap => 0x0003_0000,
        Action::Errno(errno) => 0x0005_0000 | u32::from(errno),
        Action::Trace(data) => 0x7ff0_0000 | u32::from(data),
        Action::Log => 0x7ffc_0000,
        Action::Allow => 0x7fff_0000,
    }
}

/// A forward-only assembler: jumps name labels, resolved at the end.
struct Asm {
    code: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, usize, Field)>,
}

#[derive(Clone, Copy)]
enum Field {
    True,
    False,
    Always,
}

#[derive(Clone, Copy)]
enum To {
    Next,
    Label(usize),
}

impl Asm {
    /// Room for the largest program up front: growing these vectors step by
    /// step costs musl's allocator an mmap and a munmap each time, which
    /// measured more than compiling itself.
    fn new() -> Asm {
        Asm {
            code: Vec::with_capacity(MAX_INSNS),
            labels: Vec::with_capacity(MAX_INSNS),
            fixups: Vec::with_capacity(MAX_INSNS),
        }
    }

    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn here(&mut self, label: usize) {
        self.labels[label] = Some(self.code.len());
    }

    fn load(&mut self, offset: u32) {
        self.code.push(Insn { code: LD_W_ABS, jt: 0, jf: 0, k: offset });
    }

    fn and(&mut self, k: u32) {
        self.code.push(Insn { code: ALU_AND_K, jt: 0, jf: 0, k });
    }

    fn ret(&mut self, action: Action) {
        self.code.push(Insn { code: RET_K, jt: 0, jf: 0, k: ret_value(action) });
    }

    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        let at = self.code.len();
        for (to, field) in [(jt, Field::True), (jf, Field::False)] {
            if let To::Label(label) = to {
                self.fixups.push((at, label, field));
            }
        }
        self.code.push(Insn { code, jt: 0, jf: 0, k });
    }

    fn ja(&mut self, label: usize) {
        self.fixups.push((self.code.len(), label, Field::Always));
        self.code.push(Insn { code: JA, jt: 0, jf: 0, k: 0 });
    }

    fn finish(mut self) -> anyhow::Result<Vec<Insn>> {
        for (at, label, field) in self.fixups {
            let Some(target) = self.labels[label] else { bail!("internal error: label {label} never placed") };
            let offset = target - (at + 1);
            let insn = &mut self.code[at];
            match field {
                Field::Always => insn.k = offset as u32,
                Field::True | Field::False => {
                    let Ok(short) = u8::try_from(offset) else {
                        bail!("a rule compiles to more than 255 instructions; split it")
                    };
                    if matches!(field, Field::True) {
                        insn.jt = short
                    } else {
                        insn.jf = short
                    }
                }
            }
        }
        if self.code.len() > MAX_INSNS {
            bail!("the filter has {} instructions, more than the kernel's {MAX_INSNS}", self.code.len());
        }
        Ok(self.code)
    }
}

/// What the compiler made, for ISOKIT_TRACE.
pub struct Program {
    pub insns: Vec<Insn>,
    /// System calls with a rule, summed over the ABIs.
    pub calls: usize,
    /// Names no covered ABI knows (skipped, as Docker skips them).
    pub unknown: Vec<String>,
}

/// The rules of one ABI: (number, action, comparisons), sorted by number
/// and, for one number, in profile order.
type Calls<'a> = Vec<(u32, Action, &'a [Cmp])>;

pub fn compile(policy: &Policy) -> anyhow::Result<Program> {
    let mut sections: Vec<(Abi, Calls)> =
        policy.abis.iter().map(|&abi| (abi, Calls::with_capacity(tables::SYSCALLS.len()))).collect();
    let mut unknown = Vec::new();
    for rule in &policy.rules {
        for name in &rule.names {
            let mut known = false;
            if let Some(numbers) = numbers(name) {
                for (abi, calls) in &mut sections {
                    let nr = numbers[*abi as usize];
                    if nr != tables::NONE {
                        calls.push((nr, rule.action, &rule.cmps));
                        known = true;
                    }
                }
            }
            if !known && !unknown.iter().any(|u| u == name) {
                unknown.push(name.to_string());
            }
        }
    }
    let mut calls = 0;
    for (_, section) in &mut sections {
        // Stable: rules for one number keep their profile order.
        section.sort_by_key(|&(nr, _, _)| nr);
        calls += section.iter().enumerate().filter(|&(i, &(nr, _, _))| i == 0 || section[i - 1].0 != nr).count();
    }
    let find = |abi: Abi| sections.iter().find(|(a, _)| *a == abi).map(|(_, calls)| calls);

    let mut asm = Asm::new();
    let (native, not_native, i386, bad_arch) = (asm.label(), asm.label(), asm.label(), asm.label());
    asm.load(ARCH);
    asm.jump(JEQ_K, AUDIT_ARCH_X86_64, To::Next, To::Label(not_native));
    asm.ja(native);
    asm.here(not_native);
    if find(Abi::I386).is_some() {
        asm.jump(JEQ_K, AUDIT_ARCH_I386, To::Next, To::Label(bad_arch));
        asm.ja(i386);
    }
    asm.here(bad_arch);
    asm.ret(Action::KillProcess);

    // Native: numbers with the x32 bit are the x32 ABI. Below 512 an x32
    // number is the x86_64 call of the same number or no call at all
    // (ENOSYS), so with both ABIs covered the x32 calls below 512 take the
    // native decisions and only x32's own calls (512 and up) need a section:
    // a third of the program less for the kernel to JIT at every launch.
    let (x32, plain) = (asm.label(), asm.label());
    let shares_native = find(Abi::X32).is_some() && find(Abi::X86_64).is_some();
    asm.here(native);
    asm.load(NR);
    asm.jump(JGE_K, X32_SYSCALL_BIT, To::Next, To::Label(plain));
    if shares_native {
        asm.and(!X32_SYSCALL_BIT);
        asm.jump(JGE_K, X32_OWN_CALLS, To::Next, To::Label(plain));
        asm.ja(x32);
    } else if find(Abi::X32).is_some() {
        asm.ja(x32);
    } else {
        asm.ret(Action::KillProcess);
    }
    asm.here(plain);
    if let Some(calls) = find(Abi::X86_64) {
        section(&mut asm, calls, 0, policy.default);
    }
    if let Some(calls) = find(Abi::X32) {
        asm.here(x32);
        if shares_native {
            let own: Calls = calls.iter().filter(|&&(nr, _, _)| nr >= X32_OWN_CALLS).copied().collect();
            section(&mut asm, &own, 0, policy.default);
        } else {
            section(&mut asm, calls, X32_SYSCALL_BIT, policy.default);
        }
    }
    if let Some(calls) = find(Abi::I386) {
        asm.here(i386);
        asm.load(NR);
        section(&mut asm, calls, 0, policy.default);
    }
    Ok(Program { insns: asm.finish()?, calls, unknown })
}

/// The numbers of a call on [x86_64, i386, x32] (tables::NONE: absent).
fn numbers(name: &str) -> Option<[u32; 3]> {
    let table = tables::SYSCALLS;
    table.binary_search_by(|(n, _)| (*n).cmp(name)).ok().map(|at| table[at].1)
}

/// The blocks of one ABI; A holds the system call number on entry.
///
/// Blocks come in ascending order of number. A run of consecutive numbers
/// with the same plain action is one block, a range test; a number whose
/// rules compare arguments is a block of its own; numbers between blocks
/// get the default. The blocks are searched as a binary tree down to
/// leaves of a few blocks, scanned in order: the kernel runs the filter
/// once for every system call number of every ABI when it loads it (to
/// cache the calls that are always allowed), and a linear scan of the
/// default profile's ~150 blocks made that cost more than everything
/// else scfilter does (130 us, 45 us as a tree).
fn section(asm: &mut Asm, calls: &Calls, bit: u32, default: Action) {
    let blocks = blocks(calls);
    tree(asm, &blocks, bit, default);
}

/// Below this many blocks a scan costs about what more tree levels would.
const LEAF_BLOCKS: usize = 8;

/// Each level tests `nr >= low` of the middle block: the lower half
/// follows at once, the higher half after it, reached by a `ja` (32-bit
/// offset) so that no conditional jump ever spans a whole subtree.
fn tree(asm: &mut Asm, blocks: &[Block], bit: u32, default: Action) {
    if blocks.len() <= LEAF_BLOCKS {
        scan(asm, blocks, bit, default);
        return;
    }
    let middle = blocks.len() / 2;
    let (lower, higher) = (asm.label(), asm.label());
    asm.jump(JGE_K, blocks[middle].low() | bit, To::Next, To::Label(lower));
    asm.ja(higher);
    asm.here(lower);
    tree(asm, &blocks[..middle], bit, default);
    asm.here(higher);
    tree(asm, &blocks[middle..], bit, default);
}

/// The blocks in order; each decides every number up to its own, so the
/// numbers past the last one get the default.
fn scan(asm: &mut Asm, blocks: &[Block], bit: u32, default: Action) {
    // The numbers below a block (a gap since the previous one) jump to a
    // `ret default`, and the numbers in a range to a `ret ACTION`, shared
    // by the blocks around them and placed before the jump offsets (8 bits)
    // could no longer reach them: two instructions a range, not three.
    let mut shared = Shared::new();
    for (n, block) in blocks.iter().enumerate() {
        let next = asm.label();
        let below = shared.label(asm, default);
        match *block {
            Block::Range { low, high, action } => {
                let take = shared.label(asm, action);
                asm.jump(JGT_K, high | bit, To::Label(next), To::Next);
                asm.jump(JGE_K, low | bit, To::Label(take), To::Label(below));
            }
            Block::Rules(rules) => {
                asm.jump(JGT_K, rules[0].0 | bit, To::Label(next), To::Next);
                asm.jump(JEQ_K, rules[0].0 | bit, To::Next, To::Label(below));
                let mut last = default;
                for &(_, action, cmps) in rules {
                    if cmps.is_empty() {
                        // An unconditional rule ends the list: later ones
                        // could never be reached.
                        last = action;
                        break;
                    }
                    let fail = asm.label();
                    for cmp in cmps {
                        compare(asm, cmp, fail);
                    }
                    asm.ret(action);
                    asm.here(fail);
                }
                asm.ret(last);
            }
        }
        if n + 1 == blocks.len() || shared.far(asm) {
            shared.place(asm);
        }
        asm.here(next);
    }
    asm.ret(default);
}

/// The `ret ACTION` instructions a run of blocks jumps to, made on first
/// use and placed together.
struct Shared {
    rets: Vec<(Action, usize)>,
    first_use: Option<usize>,
}

impl Shared {
    fn new() -> Shared {
        Shared { rets: Vec::with_capacity(4), first_use: None }
    }

    fn label(&mut self, asm: &mut Asm, action: Action) -> usize {
        self.first_use.get_or_insert(asm.code.len());
        if let Some(&(_, label)) = self.rets.iter().find(|(a, _)| *a == action) {
            return label;
        }
        let label = asm.label();
        self.rets.push((action, label));
        label
    }

    fn far(&self, asm: &Asm) -> bool {
        self.first_use.is_some_and(|at| asm.code.len() - at > SHARED_REACH)
    }

    fn place(&mut self, asm: &mut Asm) {
        for (action, label) in self.rets.drain(..) {
            asm.here(label);
            asm.ret(action);
        }
        self.first_use = None;
    }
}

/// How far back the first jump to a shared `ret` may be, leaving room
/// under 255 for one more block of argument rules and the shared rets.
const SHARED_REACH: usize = 150;

enum Block<'c, 'a> {
    /// Every number low..=high gets `action`, whatever the arguments.
    Range { low: u32, high: u32, action: Action },
    /// One number whose first rule compares arguments.
    Rules(&'c [(u32, Action, &'a [Cmp])]),
}

impl Block<'_, '_> {
    fn low(&self) -> u32 {
        match *self {
            Block::Range { low, .. } => low,
            Block::Rules(rules) => rules[0].0,
        }
    }
}

fn blocks<'c, 'a>(calls: &'c Calls<'a>) -> Vec<Block<'c, 'a>> {
    let mut blocks: Vec<Block> = Vec::with_capacity(calls.len());
    for group in calls.chunk_by(|a, b| a.0 == b.0) {
        let (nr, action, cmps) = group[0];
        if !cmps.is_empty() {
            blocks.push(Block::Rules(group));
            continue;
        }
        match blocks.last_mut() {
            Some(Block::Range { high, action: same, .. }) if *same == action && *high + 1 == nr => *high = nr,
            _ => blocks.push(Block::Range { low: nr, high: nr, action }),
        }
    }
    blocks
}

/// Fall through when the 64-bit argument satisfies `cmp`, else jump to
/// `fail`. The high word is compared first; the low word decides when the
/// high words are equal.
fn compare(asm: &mut Asm, cmp: &Cmp, fail: usize) {
    let low = arg_low(cmp.index);
    let (value_hi, value_lo) = ((cmp.value >> 32) as u32, cmp.value as u32);
    let pass = asm.label();
    let (p, f) = (To::Label(pass), To::Label(fail));
    asm.load(low + 4);
    match cmp.op {
        Op::Eq => {
            asm.jump(JEQ_K, value_hi, To::Next, f);
            asm.load(low);
            asm.jump(JEQ_K, value_lo, To::Next, f);
        }
        Op::MaskedEq(mask) => {
            asm.and((mask >> 32) as u32);
            asm.jump(JEQ_K, value_hi, To::Next, f);
            asm.load(low);
            asm.and(mask as u32);
            asm.jump(JEQ_K, value_lo, To::Next, f);
        }
        Op::Ne => {
            asm.jump(JEQ_K, value_hi, To::Next, p);
            asm.load(low);
            asm.jump(JEQ_K, value_lo, f, To::Next);
        }
        Op::Gt | Op::Ge => {
            asm.jump(JGT_K, value_hi, p, To::Next);
            asm.jump(JEQ_K, value_hi, To::Next, f);
            asm.load(low);
            let code = if cmp.op == Op::Gt { JGT_K } else { JGE_K };
            asm.jump(code, value_lo, To::Next, f);
        }
        Op::Lt | Op::Le => {
            asm.jump(JGT_K, value_hi, f, To::Next);
            asm.jump(JEQ_K, value_hi, To::Next, p);
            asm.load(low);
            // low < v  <=>  !(low >= v);  low <= v  <=>  !(low > v)
            let code = if cmp.op == Op::Lt { JGE_K } else { JGT_K };
            asm.jump(code, value_lo, f, To::Next);
        }
    }
    asm.here(pass);
}

/// The program as the kernel and `bwrap --seccomp` read it: an array of
/// struct sock_filter in native byte order.
pub fn to_bytes(insns: &[Insn]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(insns.len() * 8);
    for insn in insns {
        bytes.extend_from_slice(&insn.code.to_ne_bytes());
        bytes.extend_from_slice(&[insn.jt, insn.jf]);
        bytes.extend_from_slice(&insn.k.to_ne_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    //! A small classic-BPF interpreter runs the compiled program against
    //! made-up system calls, so every rule shape is checked without a kernel.
    use super::*;
    use crate::profile::{Facts, Rule};

    fn run(insns: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let word = |offset: u32| -> u32 {
            match offset {
                NR => nr,
                ARCH => arch,
                o if o >= 16 => {
                    let arg = args[((o - 16) / 8) as usize];
                    if (o - 16) % 8 == 0 {
                        arg as u32
                    } else {
                        (arg >> 32) as u32
                    }
                }
                _ => panic!("load of {offset}"),
            }
        };
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let insn = insns[pc];
            pc += 1;
            match insn.code {
                LD_W_ABS => a = word(insn.k),
                ALU_AND_K => a &= insn.k,
                RET_K => return insn.k,
                JA => pc += insn.k as usize,
                JEQ_K | JGT_K | JGE_K => {
                    let taken = match insn.code {
                        JEQ_K => a == insn.k,
                        JGT_K => a > insn.k,
                        _ => a >= insn.k,
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                code => panic!("opcode {code:#x}"),
            }
        }
    }

    const ALLOW: u32 = 0x7fff_0000;
    const EPERM: u32 = 0x0005_0001;
    const KILL: u32 = 0x8000_0000;

    fn docker(bounding: u64) -> Vec<Insn> {
        let profile = crate::profile::parse(crate::DOCKER_DEFAULT).expect("parses");
        let policy = profile.resolve(&Facts { bounding, kernel: (6, 1) }).expect("resolves");
        compile(&policy).expect("compiles").insns
    }

    fn x64(insns: &[Insn], name: &str, args: [u64; 6]) -> u32 {
        run(insns, AUDIT_ARCH_X86_64, numbers(name).expect("known")[0], args)
    }

    #[test]
    fn docker_default_decisions() {
        let p = docker(0);
        assert_eq!(x64(&p, "read", [0; 6]), ALLOW);
        assert_eq!(x64(&p, "unshare", [0; 6]), EPERM);
        assert_eq!(x64(&p, "keyctl", [0; 6]), EPERM);
        assert_eq!(x64(&p, "clone3", [0; 6]), 0x0005_0000 | 38);
        assert_eq!(x64(&p, "clone", [0x0001_1200, 0, 0, 0, 0, 0]), ALLOW, "fork-like clone");
        assert_eq!(x64(&p, "clone", [0x1000_0000, 0, 0, 0, 0, 0]), EPERM, "CLONE_NEWUSER");
        assert_eq!(x64(&p, "clone", [1 << 40, 0, 0, 0, 0, 0]), ALLOW, "high bits are not namespace flags");
        assert_eq!(x64(&p, "personality", [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(x64(&p, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(x64(&p, "personality", [0x0040_0000, 0, 0, 0, 0, 0]), EPERM, "ADDR_NO_RANDOMIZE");
        assert_eq!(x64(&p, "socket", [2, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(x64(&p, "socket", [40, 0, 0, 0, 0, 0]), EPERM, "AF_VSOCK");
        assert_eq!(x64(&p, "socket", [41, 0, 0, 0, 0, 0]), ALLOW);
        // x32 and i386: the same decisions under their own numbers.
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 272, [0; 6]), EPERM, "x32 unshare");
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, [0; 6]), ALLOW, "x32 getpid");
        assert_eq!(run(&p, AUDIT_ARCH_I386, 310, [0; 6]), EPERM, "i386 unshare");
        assert_eq!(run(&p, AUDIT_ARCH_I386, 20, [0; 6]), ALLOW, "i386 getpid");
        assert_eq!(run(&p, 0xc000_00b7, 172, [0; 6]), KILL, "aarch64 is not covered");
        // Between and beyond the allowed ranges: the default.
        assert_eq!(x64(&p, "pivot_root", [0; 6]), EPERM);
        assert_eq!(x64(&p, "chroot", [0; 6]), EPERM, "no CAP_SYS_CHROOT in the bounding set");
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 3000, [0; 6]), EPERM);
        assert_eq!(x64(&p, "writev", [0; 6]), ALLOW);
        assert_eq!(x64(&p, "openat2", [0; 6]), ALLOW);
        assert!(p.len() < 650, "{} instructions", p.len());
        let admin = docker(1 << 21);
        assert_eq!(x64(&admin, "unshare", [0; 6]), ALLOW);
        assert_eq!(x64(&admin, "clone", [0x1000_0000, 0, 0, 0, 0, 0]), ALLOW);
    }

    /// Every number of every ABI (0..1000, with and without the x32 bit)
    /// against the rules read directly: the range blocks lose nothing.
    #[test]
    fn every_number_matches_the_rules() {
        let profile = crate::profile::parse(crate::DOCKER_DEFAULT).expect("parses");
        let policy = profile.resolve(&Facts { bounding: 0, kernel: (6, 1) }).expect("resolves");
        let p = compile(&policy).expect("compiles").insns;
        for (abi, arch, bit) in [
            (Abi::X86_64, AUDIT_ARCH_X86_64, 0),
            (Abi::I386, AUDIT_ARCH_I386, 0),
            (Abi::X32, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT),
        ] {
            for nr in 0..1000u32 {
                let rules: Vec<&Rule> = policy
                    .rules
                    .iter()
                    .filter(|r| r.names.iter().any(|n| numbers(n).is_some_and(|ns| ns[abi as usize] == nr)))
                    .collect();
                if rules.iter().any(|r| !r.cmps.is_empty()) {
                    continue;
                }
                let expected = rules.first().map_or(policy.default, |r| r.action);
                let no_x32_call = !tables::SYSCALLS.iter().any(|(_, ns)| ns[Abi::X32 as usize] == nr);
                if abi == Abi::X32 && nr < X32_OWN_CALLS && no_x32_call {
                    // No x32 call has this number (ENOSYS): the filter may
                    // take x86_64's decision for it, and does.
                    assert_eq!(run(&p, arch, nr | bit, [0; 6]), run(&p, arch, nr, [0; 6]), "{abi:?} {nr}");
                    continue;
                }
                assert_eq!(run(&p, arch, nr | bit, [0; 6]), ret_value(expected), "{abi:?} {nr}");
            }
        }
    }

    /// What lets x32 share the native section: below 512, an x32 number
    /// is the x86_64 number of the same call.
    #[test]
    fn x32_numbers_below_512_are_the_native_ones() {
        for (name, [x86_64, _, x32]) in tables::SYSCALLS {
            if *x32 != tables::NONE && *x32 < X32_OWN_CALLS {
                assert_eq!(x32, x86_64, "{name}");
            }
        }
    }

    fn one(op: Op, value: u64) -> Vec<Insn> {
        let policy = Policy {
            default: Action::Allow,
            abis: vec![Abi::X86_64],
            flags: 0,
            rules: vec![Rule {
                names: vec!["getpid"],
                action: Action::Errno(1),
                cmps: vec![Cmp { index: 2, op, value }],
            }],
        };
        compile(&policy).expect("compiles").insns
    }

    /// An operator, its operand, and argument values with whether each matches.
    type OperatorCase<'a> = (Op, u64, &'a [(u64, bool)]);

    #[test]
    fn every_operator_on_64_bits() {
        let big = 0x1_0000_0005u64;
        let cases: &[OperatorCase<'_>] = &[
            (Op::Eq, big, &[(big, true), (5, false), (big + 1, false)]),
            (Op::Ne, big, &[(big, false), (5, true), (big + (1 << 32), true)]),
            (Op::Gt, big, &[(big, false), (big + 1, true), (0x2_0000_0000, true), (0xffff_ffff, false)]),
            (Op::Ge, big, &[(big, true), (big - 1, false), (0x2_0000_0000, true)]),
            (Op::Lt, big, &[(big, false), (big - 1, true), (0xffff_ffff, true), (0x2_0000_0000, false)]),
            (Op::Le, big, &[(big, true), (big + 1, false), (0, true)]),
            (
                Op::MaskedEq(0xff_0000_00ff),
                0x12_0000_0034,
                &[(0x12_aaaa_aa34, true), (0x13_0000_0034, false), (0x12_0000_0035, false)],
            ),
        ];
        for (op, value, probes) in cases {
            let p = one(*op, *value);
            for &(arg, matches) in *probes {
                let got = x64(&p, "getpid", [0, 0, arg, 0, 0, 0]);
                assert_eq!(got == EPERM, matches, "{op:?} {value:#x} against {arg:#x}");
            }
        }
    }

    #[test]
    fn uncovered_abis_are_killed() {
        let p = one(Op::Eq, 0);
        assert_eq!(run(&p, AUDIT_ARCH_I386, 20, [0; 6]), KILL);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, [0; 6]), KILL);
        assert_eq!(x64(&p, "getppid", [0; 6]), ALLOW);
    }

    #[test]
    fn names_nobody_knows_are_reported() {
        let policy = Policy {
            default: Action::Errno(1),
            abis: vec![Abi::X86_64, Abi::I386],
            flags: 0,
            rules: vec![Rule { names: vec!["no_such_call", "arch_prctl"], action: Action::Allow, cmps: vec![] }],
        };
        let program = compile(&policy).expect("compiles");
        assert_eq!(program.unknown, vec!["no_such_call".to_string()]);
        assert_eq!(program.calls, 2, "arch_prctl exists on both ABIs");
    }

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(tables::SYSCALLS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn bytes_are_sock_filters() {
        let bytes = to_bytes(&[Insn { code: RET_K, jt: 1, jf: 2, k: ALLOW }]);
        assert_eq!(bytes, [6, 0, 1, 2, 0, 0, 0xff, 0x7f]);
    }
}
