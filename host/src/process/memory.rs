//! How the exporter's freed memory goes back to the system (glibc only;
//! elsewhere the allocator's own policy stands).

/// Allocations of 128 KiB and more (save outputs, large pieces of text)
/// get pages of their own, given back when freed. Without this glibc
/// raises the threshold after the first large free and serves them from
/// the heap, where the last collection's save output, kept between
/// scrapes, pins the freed pieces around it: 140 MB resident at 100k rules
/// instead of 85 MB. Call before any other thread exists.
pub fn large_allocations_get_pages_of_their_own() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter; it is called before
    // any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Gives the system back the free memory glibc keeps in its arenas: an
/// answer's text is freed in 64 KiB pieces, which stay resident in the
/// arenas until reused, so that memory at rest would be the largest
/// answer ever held rather than what is in use. Called when a large
/// answer is dropped and when slow readers are cut off.
pub fn give_back_freed() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free memory to the system, taking
    // the allocator's own locks; it is safe to call from any thread.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`give_back_freed`] off the caller's thread when it runs on the async
/// runtime (a response ending must not wait for it), else at once.
pub fn give_back_freed_soon() {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(give_back_freed)),
        Err(_) => give_back_freed(),
    }
}
