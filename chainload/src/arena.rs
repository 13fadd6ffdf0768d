//! A bump allocator for tools that live a millisecond: pivot and capdrop
//! allocate a few kilobytes, then exec or exit.
//!
//! musl's allocator returns freed pages to the kernel at once: a launch of
//! pivot made 40 mmap and 32 munmap calls, most of them the same 4 KB page
//! mapped, faulted in and unmapped again, each munmap a TLB flush. Here
//! every allocation is carved from one static buffer (in .bss, so only the
//! pages touched are ever faulted in) and nothing is given back: free is a
//! no-op except for the newest block, which is rolled back so that the
//! usual grow-a-String-then-drop-it patterns reuse the same bytes, and
//! realloc of the newest block grows it in place. When the buffer is full,
//! the system allocator takes over, so a larger input is only slower.
//!
//! Only for a tool that execs or exits soon after it starts: a process
//! that lives on (the PID-1 init, a terminal relay) must keep the system
//! allocator, or it would never get memory back. A tool opts in with
//! `#[global_allocator] static ALLOCATOR: chainload::Arena = chainload::Arena::new();`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes in the buffer: pivot and capdrop use a few tens of KB.
const CAPACITY: usize = 256 * 1024;

#[repr(C, align(4096))]
struct Buffer(UnsafeCell<[u8; CAPACITY]>);

pub struct Arena {
    buffer: Buffer,
    /// Offset of the first free byte. Atomic, although the tools are
    /// single-threaded, so that the allocator stays sound wherever it is
    /// used (the unit-test harness runs tests on threads).
    next: AtomicUsize,
}

// SAFETY: the buffer is only written through blocks handed out once each
// (reserved by compare-and-swap on `next`), never shared between them. The
// newest block can be given back and handed out again, possibly to another
// thread: the give-back is a Release and every reservation an Acquire on
// `next`, so the first owner's writes happen before the next owner's.
unsafe impl Sync for Arena {}

impl Arena {
    #[allow(clippy::new_without_default)] // a const fn for a static
    pub const fn new() -> Arena {
        Arena { buffer: Buffer(UnsafeCell::new([0; CAPACITY])), next: AtomicUsize::new(0) }
    }

    fn base(&self) -> usize {
        self.buffer.0.get() as usize
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        let address = ptr as usize;
        address >= self.base() && address < self.base() + CAPACITY
    }

    /// Reserve `size` bytes aligned to `align`; None when they do not fit.
    fn reserve(&self, size: usize, align: usize) -> Option<*mut u8> {
        let base = self.base();
        let mut next = self.next.load(Ordering::Acquire);
        loop {
            let start = (base + next).checked_add(align - 1)? & !(align - 1);
            let end = start.checked_add(size)?;
            if end > base + CAPACITY {
                return None;
            }
            match self.next.compare_exchange_weak(next, end - base, Ordering::AcqRel, Ordering::Acquire) {
                // A pointer derived from the buffer's own, so it keeps its provenance.
                Ok(_) => return Some(self.buffer.0.get().cast::<u8>().wrapping_add(start - base)),
                Err(now) => next = now,
            }
        }
    }

    /// Whether the block at `ptr` of `size` bytes is the newest one.
    fn is_newest(&self, ptr: *mut u8, size: usize) -> bool {
        ptr as usize + size == self.base() + self.next.load(Ordering::Acquire)
    }
}

// SAFETY: every block returned is `layout.size()` bytes, aligned to
// `layout.align()`, inside the buffer and handed out once (see `reserve`),
// or comes from the system allocator, to which only its own blocks go back.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.reserve(layout.size(), layout.align()) {
            Some(ptr) => ptr,
            // SAFETY: the caller's layout has a non-zero size (GlobalAlloc's contract).
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            // SAFETY: not ours, so the system allocator gave it, with this layout.
            return unsafe { System.dealloc(ptr, layout) };
        }
        // The newest block is given back (if nothing was reserved since);
        // any other stays reserved until the process ends.
        let end = ptr as usize + layout.size() - self.base();
        let start = ptr as usize - self.base();
        let _ = self.next.compare_exchange(end, start, Ordering::Release, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.owns(ptr) && self.is_newest(ptr, layout.size()) {
            // Grow or shrink the newest block where it is.
            let end = ptr as usize + layout.size() - self.base();
            let new_end = ptr as usize - self.base() + new_size;
            if new_end <= CAPACITY
                && self.next.compare_exchange(end, new_end, Ordering::AcqRel, Ordering::Relaxed).is_ok()
            {
                return ptr;
            }
        }
        if !self.owns(ptr) {
            // SAFETY: the system allocator's block, with the caller's layout and size.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if new_size <= layout.size() {
            // An older block that shrinks stays where it is.
            return ptr;
        }
        // SAFETY: GlobalAlloc's contract: new_size is non-zero and, rounded
        // up to the alignment, does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as for alloc.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not
            // overlap (the new one was reserved after the old).
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: the old block, with its layout.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_distinct_and_the_newest_is_reused() {
        let arena = Box::new(Arena::new());
        let small = Layout::from_size_align(3, 1).expect("layout");
        let wide = Layout::from_size_align(64, 64).expect("layout");
        // SAFETY: layouts are non-zero; blocks are given back with their layouts.
        unsafe {
            let a = arena.alloc(small);
            let b = arena.alloc(wide);
            assert!(arena.owns(a) && arena.owns(b));
            assert_eq!(b as usize % 64, 0);
            assert!(b as usize >= a as usize + 3);
            arena.dealloc(b, wide);
            assert_eq!(arena.alloc(wide), b, "the newest block is reused");
            let grown = arena.realloc(b, wide, 4096);
            assert_eq!(grown, b, "the newest block grows in place");
            a.write(7);
            let moved = arena.realloc(a, small, 10);
            assert_ne!(moved, a);
            assert_eq!(moved.read(), 7, "a moved block keeps its bytes");
        }
    }

    #[test]
    fn a_full_arena_hands_over_to_the_system_allocator() {
        let arena = Box::new(Arena::new());
        let big = Layout::from_size_align(CAPACITY + 1, 8).expect("layout");
        // SAFETY: as above.
        unsafe {
            let ptr = arena.alloc(big);
            assert!(!ptr.is_null() && !arena.owns(ptr));
            arena.dealloc(ptr, big);
        }
    }
}
