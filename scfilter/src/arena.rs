//! A bump allocator: scfilter lives for well under a millisecond and then
//! execs, so it never needs memory back. musl's allocator returns freed
//! groups to the kernel at once; parsing and compiling the default profile
//! cost about 30 mmap/munmap pairs that way, more time than the work itself.
//! Allocations bump a pointer through one static arena (in .bss: pages
//! the process never touches cost nothing); free is a no-op; past the
//! arena the system allocator takes over.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

const SIZE: usize = 4 << 20;

pub struct Arena {
    memory: UnsafeCell<[u8; SIZE]>,
    used: AtomicUsize,
}

// SAFETY: `used` is advanced atomically, so no two allocations share bytes
// even if a thread appeared (scfilter is single-threaded).
unsafe impl Sync for Arena {}

impl Arena {
    pub const fn new() -> Arena {
        Arena { memory: UnsafeCell::new([0; SIZE]), used: AtomicUsize::new(0) }
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        let start = self.memory.get() as usize;
        (start..start + SIZE).contains(&(ptr as usize))
    }
}

// SAFETY: every block handed out lies inside `memory`, is aligned as asked
// and is never handed out twice; blocks from System go back to System.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.memory.get() as usize;
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let start = (base + used).next_multiple_of(layout.align()) - base;
            let end = start + layout.size();
            if end > SIZE {
                // SAFETY: forwarded unchanged.
                return unsafe { System.alloc(layout) };
            }
            match self.used.compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return (base + start) as *mut u8,
                Err(now) => used = now,
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            // SAFETY: not ours, so System allocated it with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}
