//! The built-in profile as compiled by build.rs for the usual bounding
//! sets: picked when this process's facts decide the profile's rules the
//! same way, compiled at run time otherwise.

use crate::bpf::Insn;
use crate::profile::Facts;

pub struct Variant {
    /// The bounding set's bits among CAPS.
    pub bounding: u64,
    pub rules: usize,
    pub calls: usize,
    pub abis: usize,
    pub flags: u32,
    pub unknown: &'static [&'static str],
    pub insns: &'static [Insn],
}

include!(concat!(env!("OUT_DIR"), "/precompiled.rs"));

/// The stored program for `facts`: the capabilities the profile names are
/// held alike, and the kernel is at least every version it names.
pub fn find(facts: &Facts) -> Option<&'static Variant> {
    if !KERNELS.iter().all(|&version| facts.kernel >= version) {
        return None;
    }
    VARIANTS.iter().find(|v| v.bounding == facts.bounding & CAPS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{bpf, profile, DOCKER_DEFAULT};

    fn compiled(bounding: u64, kernel: (u32, u32)) -> Vec<Insn> {
        let parsed = profile::parse(DOCKER_DEFAULT).expect("parses");
        let policy = parsed.resolve(&Facts { bounding, kernel }).expect("resolves");
        bpf::compile(&policy).expect("compiles").insns
    }

    /// The claim the stored variants rest on: the capabilities outside
    /// CAPS never change the program. Each is flipped in turn.
    #[test]
    fn capabilities_the_profile_does_not_name_change_nothing() {
        for variant in VARIANTS {
            let base = 0xa804_25fb_u64 & !CAPS | variant.bounding;
            assert_eq!(compiled(base, (6, 1)), variant.insns);
            for bit in (0..41).filter(|bit| CAPS >> bit & 1 == 0) {
                assert_eq!(compiled(base ^ 1 << bit, (6, 1)), variant.insns, "capability {bit}");
            }
        }
    }

    #[test]
    fn the_usual_sets_are_stored_and_others_compiled() {
        let docker = Facts { bounding: 0xa804_25fb, kernel: (6, 1) };
        let variant = find(&docker).expect("capdrop's default set is stored");
        assert_eq!(variant.insns, compiled(docker.bounding, docker.kernel));
        assert!(find(&Facts { bounding: (1 << 41) - 1, kernel: (6, 1) }).is_some());
        // CAP_SYS_ADMIN alone on top of the default: its own rules.
        assert!(find(&Facts { bounding: 0xa804_25fb | 1 << 21, kernel: (6, 1) }).is_none());
        assert!(find(&Facts { bounding: 0xa804_25fb, kernel: (4, 4) }).is_none(), "older than a minKernel");
    }
}
