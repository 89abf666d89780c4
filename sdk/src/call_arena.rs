//! The guest's global allocator: a bump arena for one call, over wasi-libc's `malloc`.
//!
//! The host gives every call a fresh instance and throws it away after, so whatever a
//! connector allocates lives at most one call. A general-purpose allocator spends that call
//! keeping free lists nobody will reuse: wasi-libc's dlmalloc took about 6% of the host's CPU
//! on a 100 KB Jira page (some 2,400 allocations, nearly all small and short-lived). Here a
//! small allocation is a pointer bump, freeing it is nothing (or taking back the last one),
//! and growing the last allocation (a `String` or `Vec` being filled) happens in place.
//!
//! What keeps it safe on large pages: only allocations up to [`LARGEST_BUMPED`] bytes come
//! from the arena, and the arena stops at [`MAX_CHUNKS`] chunks of [`CHUNK_BYTES`]. Past that,
//! and for every large allocation (response bodies), the backing allocator is used as before,
//! with its reuse. So a call uses at most 8 MiB more than it did with dlmalloc alone, well
//! inside the host's per-call memory limit (64 MiB by default).
//!
//! Installed as `#[global_allocator]` on `wasm32` by the SDK's default `call-arena` feature;
//! a connector that wants its own allocator turns that feature off.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// Size of one arena chunk, taken from the backing allocator when the previous one is full.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks one call may take; past them, every allocation goes to the backing allocator.
pub const MAX_CHUNKS: usize = 8;
/// Largest allocation served from the arena: larger ones (a response body, a big page of
/// output) go to the backing allocator, which can give their memory back for reuse.
pub const LARGEST_BUMPED: usize = 64 << 10;
/// Alignment of the chunks; larger alignments go to the backing allocator.
const CHUNK_ALIGN: usize = 16;

/// A bump arena in front of `B`. Not `Sync`: it is for one thread (only a single-threaded
/// wasm32 guest's `CallArena<System>` is).
pub struct CallArena<B> {
    backing: B,
    state: UnsafeCell<State>,
}

struct State {
    /// Start addresses of the chunks taken so far (the first `taken`).
    chunks: [usize; MAX_CHUNKS],
    taken: usize,
    /// Next free byte of the current chunk, and its end.
    top: usize,
    end: usize,
}

impl<B> CallArena<B> {
    /// An arena that has taken no chunk yet.
    pub const fn new(backing: B) -> Self {
        Self {
            backing,
            state: UnsafeCell::new(State {
                chunks: [0; MAX_CHUNKS],
                taken: 0,
                top: 0,
                end: 0,
            }),
        }
    }

    /// Bytes of chunks taken so far.
    pub fn chunk_bytes(&self) -> usize {
        // SAFETY: single-threaded by construction (not `Sync`), and no reference into the
        // state outlives this read.
        unsafe { (*self.state.get()).taken * CHUNK_BYTES }
    }
}

impl State {
    fn owns(&self, address: usize) -> bool {
        self.chunks[..self.taken]
            .iter()
            .any(|&start| (start..start + CHUNK_BYTES).contains(&address))
    }

    /// `size` bytes aligned to `align` from the current chunk, if they fit.
    fn bump(&mut self, size: usize, align: usize) -> Option<usize> {
        let start = self.top.checked_add(align - 1)? & !(align - 1);
        let end = start.checked_add(size)?;
        (self.top != 0 && end <= self.end).then(|| {
            self.top = end;
            start
        })
    }
}

// The entry points are not inlined: with LTO the arena's code was copied into every allocation
// site, which made the components 25% larger and the host (which compiles and keeps them)
// 34 MiB larger idle.
unsafe impl<B: GlobalAlloc> GlobalAlloc for CallArena<B> {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see the type), and `alloc` is not re-entered: the backing
        // allocator never calls back into this one.
        let state = unsafe { &mut *self.state.get() };
        if layout.size() <= LARGEST_BUMPED && layout.align() <= CHUNK_ALIGN {
            if let Some(address) = state.bump(layout.size(), layout.align()) {
                return address as *mut u8;
            }
            if state.taken < MAX_CHUNKS {
                // SAFETY: a valid, non-zero layout.
                let chunk = unsafe {
                    self.backing
                        .alloc(Layout::from_size_align_unchecked(CHUNK_BYTES, CHUNK_ALIGN))
                };
                if !chunk.is_null() {
                    state.chunks[state.taken] = chunk as usize;
                    state.taken += 1;
                    state.top = chunk as usize;
                    state.end = chunk as usize + CHUNK_BYTES;
                    if let Some(address) = state.bump(layout.size(), layout.align()) {
                        return address as *mut u8;
                    }
                }
            }
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { self.backing.alloc(layout) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        let address = pointer as usize;
        if state.owns(address) {
            // Only the most recent allocation can be taken back; the rest of the arena goes
            // with the instance at the end of the call.
            if address + layout.size() == state.top {
                state.top = address;
            }
            return;
        }
        // SAFETY: not from the arena, so from the backing allocator with this layout.
        unsafe { self.backing.dealloc(pointer, layout) }
    }

    #[inline(never)]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let state = unsafe { &mut *self.state.get() };
        let address = pointer as usize;
        if state.owns(address) {
            // The allocation being filled is usually the last one: it grows (or shrinks)
            // where it is while the current chunk has room.
            if address + layout.size() == state.top && address + new_size <= state.end {
                state.top = address + new_size;
                return pointer;
            }
            // SAFETY: `new_size` with the old alignment is a valid layout (GlobalAlloc's
            // contract for `realloc`).
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: a valid layout; the copy stays within both allocations.
            unsafe {
                let moved = self.alloc(new_layout);
                if !moved.is_null() {
                    ptr::copy_nonoverlapping(pointer, moved, layout.size().min(new_size));
                    self.dealloc(pointer, layout);
                }
                return moved;
            }
        }
        // SAFETY: from the backing allocator with this layout.
        unsafe { self.backing.realloc(pointer, layout, new_size) }
    }
}

// SAFETY: a wasm32 guest built without the `atomics` target feature has exactly one thread,
// so the arena's state is never touched from two threads. Elsewhere this impl does not exist.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl Sync for CallArena<std::alloc::System> {}

#[cfg(all(
    feature = "call-arena",
    target_arch = "wasm32",
    not(target_feature = "atomics")
))]
#[global_allocator]
static GUEST_ALLOCATOR: CallArena<std::alloc::System> = CallArena::new(std::alloc::System);

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;
    use std::cell::Cell;

    /// The system allocator, counting what reaches it.
    #[derive(Default)]
    struct Counted {
        allocs: Cell<usize>,
        frees: Cell<usize>,
    }

    unsafe impl GlobalAlloc for Counted {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.allocs.set(self.allocs.get() + 1);
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
            self.frees.set(self.frees.get() + 1);
            unsafe { System.dealloc(pointer, layout) }
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn small_allocations_share_one_chunk_aligned_and_apart() {
        let arena = CallArena::new(Counted::default());
        let mut seen: Vec<(usize, usize)> = Vec::new();
        for (n, align) in (1..200).zip([1, 2, 4, 8, 16].into_iter().cycle()) {
            let size = n * 7 % 300 + 1;
            let p = unsafe { arena.alloc(layout(size, align)) } as usize;
            assert_eq!(p % align, 0, "alignment {align}");
            assert!(
                seen.iter().all(|&(q, s)| p + size <= q || q + s <= p),
                "overlap"
            );
            unsafe { ptr::write_bytes(p as *mut u8, 0xAB, size) };
            seen.push((p, size));
        }
        assert_eq!(arena.backing.allocs.get(), 1, "one chunk served them all");
        assert_eq!(arena.chunk_bytes(), CHUNK_BYTES);
    }

    #[test]
    fn the_last_allocation_grows_in_place_and_others_move_with_their_bytes() {
        let arena = CallArena::new(Counted::default());
        unsafe {
            let a = arena.alloc(layout(8, 8));
            ptr::copy_nonoverlapping(b"abcdefgh".as_ptr(), a, 8);
            let grown = arena.realloc(a, layout(8, 8), 4096);
            assert_eq!(grown, a, "the last allocation grows where it is");
            let b = arena.alloc(layout(16, 8));
            let moved = arena.realloc(a, layout(4096, 8), 8192);
            assert_ne!(moved, a, "not the last one any more: it moves");
            assert!(moved as usize >= b as usize + 16);
            assert_eq!(std::slice::from_raw_parts(moved, 8), b"abcdefgh");
        }
    }

    #[test]
    fn freeing_the_last_allocation_gives_its_bytes_back() {
        let arena = CallArena::new(Counted::default());
        unsafe {
            let a = arena.alloc(layout(100, 4));
            arena.dealloc(a, layout(100, 4));
            let b = arena.alloc(layout(100, 4));
            assert_eq!(a, b);
            let c = arena.alloc(layout(10, 1));
            arena.dealloc(b, layout(100, 4));
            assert_ne!(
                arena.alloc(layout(10, 1)),
                b,
                "an earlier block is not reused"
            );
            let _ = c;
        }
        assert_eq!(
            arena.backing.frees.get(),
            0,
            "nothing reaches the system allocator"
        );
    }

    #[test]
    fn large_allocations_and_over_aligned_ones_go_to_the_backing_allocator() {
        let arena = CallArena::new(Counted::default());
        unsafe {
            let big = arena.alloc(layout(LARGEST_BUMPED + 1, 8));
            let aligned = arena.alloc(layout(64, 64));
            assert_eq!(aligned as usize % 64, 0);
            assert_eq!(arena.chunk_bytes(), 0, "no chunk was taken for them");
            arena.dealloc(big, layout(LARGEST_BUMPED + 1, 8));
            arena.dealloc(aligned, layout(64, 64));
        }
        assert_eq!(arena.backing.allocs.get(), 2);
        assert_eq!(arena.backing.frees.get(), 2, "and are freed there");
    }

    #[test]
    fn past_its_chunks_the_arena_hands_every_allocation_to_the_backing_allocator() {
        let arena = CallArena::new(Counted::default());
        let block = layout(LARGEST_BUMPED, 8);
        let per_chunk = CHUNK_BYTES / LARGEST_BUMPED;
        let mut pointers = Vec::new();
        for _ in 0..MAX_CHUNKS * per_chunk + 10 {
            pointers.push(unsafe { arena.alloc(block) });
        }
        assert_eq!(arena.chunk_bytes(), MAX_CHUNKS * CHUNK_BYTES, "capped");
        assert_eq!(arena.backing.allocs.get(), MAX_CHUNKS + 10);
        for p in pointers.into_iter().rev() {
            unsafe { arena.dealloc(p, block) };
        }
        assert_eq!(
            arena.backing.frees.get(),
            10,
            "only the backing ones are freed"
        );
    }
}
