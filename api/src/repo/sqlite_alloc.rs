//! SQLite's memory allocator: mimalloc, the process's own (`main.rs`), with SQLite's memory
//! statistics off.
//!
//! SQLite, a C library, calls the C library's `malloc` unless told otherwise, and with its
//! memory statistics on (its default) it takes one process-wide mutex around every
//! allocation. A `perf` profile of the server under query B of `bench/load.sh` on SQLite
//! showed glibc's `malloc` and `free` at about 12 % of the server's CPU and that mutex at
//! about 3 %, while the Rust side already allocated through mimalloc.
//!
//! `sqlite3_config` works only before SQLite initializes, which it does on the first
//! connection of the process; `install` runs once, from `repo::db`, before it opens the
//! first SQLite connection. Anything in the process that opened SQLite before it leaves
//! SQLite's own allocator in place (`install` says so), which is correct, only slower.

#![allow(unsafe_code)] // The one place: SQLite's allocator is set through its C API.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use libmimalloc_sys as mi;
use libsqlite3_sys as ffi;

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    // SAFETY: mi_malloc takes any size; SQLite never asks for a negative one.
    unsafe { mi::mi_malloc(usize::try_from(n).unwrap_or(0)) }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    // SAFETY: `p` came from x_malloc or x_realloc (SQLite's contract), or is null.
    unsafe { mi::mi_free(p) }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SAFETY: as x_free; SQLite never asks for a negative size.
    unsafe { mi::mi_realloc(p, usize::try_from(n).unwrap_or(0)) }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    // SAFETY: `p` came from x_malloc or x_realloc, or is null (size 0).
    c_int::try_from(unsafe { mi::mi_usable_size(p) }).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    // SAFETY: a pure function of its argument.
    c_int::try_from(unsafe { mi::mi_good_size(usize::try_from(n).unwrap_or(0)) }).unwrap_or(n)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Points SQLite at mimalloc and turns its memory statistics off, once per process: `true`
/// when SQLite took both (it had not been used yet).
pub fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLite copies `methods` before returning; it refuses (SQLITE_MISUSE) once
        // initialized. The OnceLock runs this once; `repo::db`, which calls it before its
        // first SQLite connection, is where this process opens them.
        let installed = unsafe {
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods) == ffi::SQLITE_OK
                && ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) == ffi::SQLITE_OK
        };
        if !installed {
            tracing::warn!("SQLite was in use before its allocator could be set: it keeps its own");
        }
        installed
    })
}

#[cfg(test)]
mod tests {
    /// SQLite runs on the installed allocator: memory it hands out has mimalloc's usable size.
    #[test]
    fn sqlite_allocates_through_mimalloc() {
        assert!(super::install(), "no SQLite use in this test process may come first");
        // SAFETY: plain allocation through SQLite's public API, freed by it.
        unsafe {
            let p = libsqlite3_sys::sqlite3_malloc(100);
            assert!(!p.is_null());
            assert_eq!(libsqlite3_sys::sqlite3_msize(p), libmimalloc_sys::mi_usable_size(p) as u64);
            libsqlite3_sys::sqlite3_free(p);
        }
    }
}
