//! SQLite's process-wide setup, through its C API: its memory allocator (mimalloc, the
//! process's own, `main.rs`) with its memory statistics off, and on every connection the query
//! planner's stability guarantee.
//!
//! **Allocator.** SQLite, a C library, calls the C library's `malloc` unless told otherwise,
//! and with its memory statistics on (its default) it takes one process-wide mutex around
//! every allocation. A `perf` profile of the server under query B of `bench/load.sh` on SQLite
//! showed glibc's `malloc` and `free` at about 12 % of the server's CPU and that mutex at
//! about 3 %, while the Rust side already allocated through mimalloc.
//!
//! **Plans that do not depend on bound values** (`SQLITE_DBCONFIG_ENABLE_QPSG`). The bundled
//! SQLite is built with `SQLITE_ENABLE_STAT4`: once `ANALYZE` has run (`seed-demo` runs it,
//! and so does the `PRAGMA optimize` that SQLite recommends), the planner estimates a
//! condition such as `region_key = ?` from the bound value, and it plans `ORDER BY ... LIMIT ?`
//! for the bound limit. A statement planned for its values is marked stale whenever a new
//! value is bound, so sqlx's cached statements were parsed and planned again at every
//! execution: `sqlite3Reprepare` was 9-10 % of the server's CPU under query A of
//! `bench/load.sh` without `text` (perf, 10,000 demo groups). With the guarantee on, each
//! statement is planned once per connection, from the tables' statistics alone.
//!
//! **A page cache per connection.** The bundled SQLite is compiled with
//! `SQLITE_ENABLE_MEMORY_MANAGEMENT`, under which every connection of the process shares one
//! page cache behind one global mutex; the reader connections queued on it under load (perf:
//! about a tenth of the server's CPU in that mutex and its futex calls under query A of
//! `bench/load.sh`). `.cargo/config.toml` compiles SQLite without it (`LIBSQLITE3_FLAGS`), so
//! that each connection has a cache and a mutex of its own; a unit test checks the build.
//!
//! `sqlite3_config` works only before SQLite initializes, which it does on the first
//! connection of the process; `install` runs once, from `repo::db`, before it opens the
//! first SQLite connection, and registers the per-connection setting as an automatic
//! extension, which SQLite applies to every connection opened afterwards. Anything in the
//! process that opened SQLite before leaves SQLite's own allocator in place (`install` says
//! so), which is correct, only slower.

#![allow(unsafe_code)] // The one place: SQLite is set up through its C API.

use std::ffi::{c_char, c_int, c_void};
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

/// Run by SQLite on every connection it opens (an automatic extension): turns the query
/// planner's stability guarantee on.
unsafe extern "C" fn on_open(db: *mut ffi::sqlite3, _: *mut *mut c_char, _: *const ffi::sqlite3_api_routines) -> c_int {
    // SAFETY: `db` is the connection SQLite is opening; this option takes an int (1: on) and a
    // pointer for the new setting, which may be null.
    unsafe { ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, 1 as c_int, std::ptr::null_mut::<c_int>()) }
}

/// Points SQLite at mimalloc, turns its memory statistics off and has every connection opened
/// from now on plan without bound values, once per process: `true` when SQLite took the
/// allocator (it had not been used yet).
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
        // SAFETY: registers a function with SQLite's signature for automatic extensions.
        if unsafe { ffi::sqlite3_auto_extension(Some(on_open)) } != ffi::SQLITE_OK {
            tracing::warn!("SQLite refused the per-connection setup: statements may be planned again at every execution");
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

    /// Times SQLite planned a statement again when it ran it twice with new values bound,
    /// on a fresh in-memory connection with `qpsg` set as given (the setup's own is on).
    fn reprepares(qpsg: bool) -> i32 {
        use libsqlite3_sys as ffi;
        use std::ffi::CString;
        use std::ptr::null_mut;
        super::install();
        let exec = |db: *mut ffi::sqlite3, sql: &str| {
            let sql = CString::new(sql).expect("no NUL");
            // SAFETY: `db` is open; no callback.
            let rc = unsafe { ffi::sqlite3_exec(db, sql.as_ptr(), None, null_mut(), null_mut()) };
            assert_eq!(rc, ffi::SQLITE_OK, "{sql:?}");
        };
        // SAFETY: an in-memory connection and one statement, both closed before returning;
        // every pointer passed is live for the call.
        unsafe {
            let mut db = null_mut();
            assert_eq!(ffi::sqlite3_open(c":memory:".as_ptr(), &raw mut db), ffi::SQLITE_OK);
            let mut on = -1;
            ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, -1 as std::ffi::c_int, &raw mut on);
            assert_eq!(on, 1, "every new connection has the guarantee on");
            ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, std::ffi::c_int::from(qpsg), null_mut::<std::ffi::c_int>());
            exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, region TEXT NOT NULL, name TEXT NOT NULL)");
            exec(db, "CREATE INDEX t_region_name ON t (region, name)");
            exec(
                db,
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO t (region, name) SELECT CASE WHEN i % 10 = 0 THEN 'north' ELSE 'south' END, 'g' || i FROM n",
            );
            exec(db, "ANALYZE");
            let sql = c"SELECT id FROM t WHERE region = ?1 ORDER BY name, id LIMIT ?2";
            let mut stmt = null_mut();
            assert_eq!(
                ffi::sqlite3_prepare_v3(db, sql.as_ptr(), -1, ffi::SQLITE_PREPARE_PERSISTENT, &raw mut stmt, null_mut()),
                ffi::SQLITE_OK
            );
            for (region, limit) in [(c"north", 20), (c"south", 21), (c"north", 5)] {
                ffi::sqlite3_reset(stmt);
                ffi::sqlite3_bind_text(stmt, 1, region.as_ptr(), -1, ffi::SQLITE_TRANSIENT());
                ffi::sqlite3_bind_int64(stmt, 2, limit);
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {}
            }
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            ffi::sqlite3_close(db);
            n
        }
    }

    /// A statement bound to new values runs on its first plan: with the guarantee off, the
    /// same statement is planned again (the cost this setting removes).
    #[test]
    fn statements_are_planned_once_per_connection() {
        assert_eq!(reprepares(true), 0);
        assert!(reprepares(false) > 0, "without the guarantee SQLite plans for the bound values");
    }

    /// SQLite was compiled as `.cargo/config.toml` says: without the shared page cache of
    /// `SQLITE_ENABLE_MEMORY_MANAGEMENT` (each connection has its own).
    #[test]
    fn each_connection_has_its_own_page_cache() {
        // SAFETY: a read-only query of SQLite's compile options with a NUL-terminated name.
        let used = unsafe { libsqlite3_sys::sqlite3_compileoption_used(c"ENABLE_MEMORY_MANAGEMENT".as_ptr()) };
        assert_eq!(used, 0, "build SQLite with LIBSQLITE3_FLAGS=-USQLITE_ENABLE_MEMORY_MANAGEMENT (.cargo/config.toml)");
        // SAFETY: as above.
        assert_eq!(unsafe { libsqlite3_sys::sqlite3_compileoption_used(c"ENABLE_FTS5".as_ptr()) }, 1, "the other options stay");
    }
}
