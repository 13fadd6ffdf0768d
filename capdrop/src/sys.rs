//! The capability system calls, in terms of `CapSet`: the raw wrappers
//! live in `chainload::creds`, shared with unshare-lite's init.

use chainload::creds::{self, RawSets};

use crate::caps::CapSet;

pub use chainload::creds::{ambient_clear_all, ambient_has, ambient_raise, bounding_drop, bounding_has, securebits};

/// The three per-thread sets capget/capset work on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sets {
    pub effective: CapSet,
    pub permitted: CapSet,
    pub inheritable: CapSet,
}

/// capget(2) for the calling thread.
pub fn capget() -> nix::Result<Sets> {
    let raw = creds::capget()?;
    Ok(Sets {
        effective: CapSet(raw.effective),
        permitted: CapSet(raw.permitted),
        inheritable: CapSet(raw.inheritable),
    })
}

/// capset(2) for the calling thread.
pub fn capset(sets: Sets) -> nix::Result<()> {
    creds::capset(RawSets { effective: sets.effective.0, permitted: sets.permitted.0, inheritable: sets.inheritable.0 })
}
