//! The SQLite library, resolved at run time: the very copy Python's `sqlite3` module loaded.
//!
//! Two SQLite copies in one process break POSIX advisory locks (each copy keeps its own
//! table of open files, and closing a file in one drops the locks the other holds on it),
//! so the core neither links nor bundles SQLite. It is built with rusqlite's
//! `loadable_extension` feature: every `sqlite3_*` call goes through a function table,
//! which [`init_from_process`] fills once per process from a library that is already
//! loaded. Nothing here loads a library, except [`init_from_library`] (for `cargo test`
//! and the Rust benches, which run without Python).
//!
//! Where the symbols are looked up, in order:
//! 1. the process's global scope (`RTLD_DEFAULT`): an interpreter with SQLite linked in
//!    statically, or a libsqlite3 loaded `RTLD_GLOBAL`. The dynamic linker binds
//!    `_sqlite3`'s own calls there first, so this is the copy it uses when it has one;
//! 2. the `_sqlite3` extension module and the libraries it loaded (its `libsqlite3`, or
//!    SQLite linked into the module itself), through `dlopen(..., RTLD_NOLOAD)`.
//!
//! The library found must report the version Python's `sqlite3.sqlite_version` reports.

#[cfg(unix)]
use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

#[cfg(unix)]
use rusqlite::ffi;

/// Set once per process: the SQLite version in use, or why none could be used.
static API: OnceLock<Result<&'static str, String>> = OnceLock::new();

/// Functions the store's code paths call (connection, statements, errors, busy handling):
/// a library without one of these is refused instead of failing on first use.
#[cfg(unix)]
const REQUIRED: &[&CStr] = &[
    c"sqlite3_open_v2",
    c"sqlite3_close",
    c"sqlite3_extended_result_codes",
    c"sqlite3_busy_timeout",
    c"sqlite3_busy_handler",
    c"sqlite3_prepare_v2",
    c"sqlite3_step",
    c"sqlite3_reset",
    c"sqlite3_finalize",
    c"sqlite3_clear_bindings",
    c"sqlite3_bind_blob",
    c"sqlite3_bind_double",
    c"sqlite3_bind_int64",
    c"sqlite3_bind_null",
    c"sqlite3_bind_text",
    c"sqlite3_bind_parameter_count",
    c"sqlite3_bind_parameter_index",
    c"sqlite3_bind_parameter_name",
    c"sqlite3_column_count",
    c"sqlite3_column_name",
    c"sqlite3_column_type",
    c"sqlite3_column_blob",
    c"sqlite3_column_bytes",
    c"sqlite3_column_text",
    c"sqlite3_column_int64",
    c"sqlite3_column_double",
    c"sqlite3_errcode",
    c"sqlite3_extended_errcode",
    c"sqlite3_errmsg",
    c"sqlite3_errstr",
    c"sqlite3_changes",
    c"sqlite3_last_insert_rowid",
    c"sqlite3_get_autocommit",
    c"sqlite3_threadsafe",
    c"sqlite3_mutex_alloc",
    c"sqlite3_mutex_free",
    c"sqlite3_libversion",
    c"sqlite3_libversion_number",
    c"sqlite3_db_handle",
    c"sqlite3_sql",
    c"sqlite3_stmt_readonly",
    c"sqlite3_stmt_busy",
    c"sqlite3_free",
    c"sqlite3_malloc",
];

/// Fill every slot of `sqlite3_api_routines` (field = symbol) that `lookup` resolves; the
/// rest stay null (rusqlite panics if one is called: see [`REQUIRED`]).
macro_rules! api_table {
    ($($field:ident = $symbol:literal,)*) => {
        #[cfg(unix)]
        unsafe fn fill(api: &mut ffi::sqlite3_api_routines, lookup: &dyn Fn(&CStr) -> *mut c_void) {
            $(
                // SAFETY: each slot is an `Option<unsafe extern "C" fn>`, pointer-sized with
                // null as `None`; a symbol named `sqlite3_x` is SQLite's function with the C
                // signature the `x` slot declares.
                unsafe {
                    std::ptr::addr_of_mut!(api.$field)
                        .cast::<*mut c_void>()
                        .write(lookup($symbol))
                };
            )*
        }
    };
}

// The slots of the table in libsqlite3-sys's bindings for SQLite 3.14 (its floor), with
// the symbol each one stands for (sqlite3ext.h's `#define sqlite3_x sqlite3_api->x`).
api_table! {
    malloc = c"sqlite3_malloc",
    libversion_number = c"sqlite3_libversion_number",
    aggregate_context = c"sqlite3_aggregate_context",
    bind_blob = c"sqlite3_bind_blob",
    bind_double = c"sqlite3_bind_double",
    bind_int = c"sqlite3_bind_int",
    bind_int64 = c"sqlite3_bind_int64",
    bind_null = c"sqlite3_bind_null",
    bind_parameter_count = c"sqlite3_bind_parameter_count",
    bind_parameter_index = c"sqlite3_bind_parameter_index",
    bind_parameter_name = c"sqlite3_bind_parameter_name",
    bind_text = c"sqlite3_bind_text",
    bind_value = c"sqlite3_bind_value",
    busy_handler = c"sqlite3_busy_handler",
    busy_timeout = c"sqlite3_busy_timeout",
    changes = c"sqlite3_changes",
    close = c"sqlite3_close",
    collation_needed = c"sqlite3_collation_needed",
    column_blob = c"sqlite3_column_blob",
    column_bytes = c"sqlite3_column_bytes",
    column_count = c"sqlite3_column_count",
    column_database_name = c"sqlite3_column_database_name",
    column_decltype = c"sqlite3_column_decltype",
    column_double = c"sqlite3_column_double",
    column_int = c"sqlite3_column_int",
    column_int64 = c"sqlite3_column_int64",
    column_name = c"sqlite3_column_name",
    column_origin_name = c"sqlite3_column_origin_name",
    column_table_name = c"sqlite3_column_table_name",
    column_text = c"sqlite3_column_text",
    column_type = c"sqlite3_column_type",
    column_value = c"sqlite3_column_value",
    commit_hook = c"sqlite3_commit_hook",
    complete = c"sqlite3_complete",
    data_count = c"sqlite3_data_count",
    db_handle = c"sqlite3_db_handle",
    declare_vtab = c"sqlite3_declare_vtab",
    enable_shared_cache = c"sqlite3_enable_shared_cache",
    errcode = c"sqlite3_errcode",
    errmsg = c"sqlite3_errmsg",
    exec = c"sqlite3_exec",
    finalize = c"sqlite3_finalize",
    free = c"sqlite3_free",
    free_table = c"sqlite3_free_table",
    get_autocommit = c"sqlite3_get_autocommit",
    get_auxdata = c"sqlite3_get_auxdata",
    get_table = c"sqlite3_get_table",
    interruptx = c"sqlite3_interrupt",
    last_insert_rowid = c"sqlite3_last_insert_rowid",
    libversion = c"sqlite3_libversion",
    open = c"sqlite3_open",
    profile = c"sqlite3_profile",
    progress_handler = c"sqlite3_progress_handler",
    realloc = c"sqlite3_realloc",
    reset = c"sqlite3_reset",
    result_blob = c"sqlite3_result_blob",
    result_double = c"sqlite3_result_double",
    result_error = c"sqlite3_result_error",
    result_int = c"sqlite3_result_int",
    result_int64 = c"sqlite3_result_int64",
    result_null = c"sqlite3_result_null",
    result_text = c"sqlite3_result_text",
    result_value = c"sqlite3_result_value",
    rollback_hook = c"sqlite3_rollback_hook",
    set_authorizer = c"sqlite3_set_authorizer",
    set_auxdata = c"sqlite3_set_auxdata",
    step = c"sqlite3_step",
    table_column_metadata = c"sqlite3_table_column_metadata",
    total_changes = c"sqlite3_total_changes",
    trace = c"sqlite3_trace",
    update_hook = c"sqlite3_update_hook",
    user_data = c"sqlite3_user_data",
    value_blob = c"sqlite3_value_blob",
    value_bytes = c"sqlite3_value_bytes",
    value_double = c"sqlite3_value_double",
    value_int = c"sqlite3_value_int",
    value_int64 = c"sqlite3_value_int64",
    value_numeric_type = c"sqlite3_value_numeric_type",
    value_text = c"sqlite3_value_text",
    value_type = c"sqlite3_value_type",
    overload_function = c"sqlite3_overload_function",
    prepare_v2 = c"sqlite3_prepare_v2",
    clear_bindings = c"sqlite3_clear_bindings",
    create_module_v2 = c"sqlite3_create_module_v2",
    bind_zeroblob = c"sqlite3_bind_zeroblob",
    blob_bytes = c"sqlite3_blob_bytes",
    blob_close = c"sqlite3_blob_close",
    blob_open = c"sqlite3_blob_open",
    blob_read = c"sqlite3_blob_read",
    blob_write = c"sqlite3_blob_write",
    create_collation_v2 = c"sqlite3_create_collation_v2",
    file_control = c"sqlite3_file_control",
    memory_highwater = c"sqlite3_memory_highwater",
    memory_used = c"sqlite3_memory_used",
    mutex_alloc = c"sqlite3_mutex_alloc",
    mutex_enter = c"sqlite3_mutex_enter",
    mutex_free = c"sqlite3_mutex_free",
    mutex_leave = c"sqlite3_mutex_leave",
    mutex_try = c"sqlite3_mutex_try",
    open_v2 = c"sqlite3_open_v2",
    release_memory = c"sqlite3_release_memory",
    result_error_nomem = c"sqlite3_result_error_nomem",
    result_error_toobig = c"sqlite3_result_error_toobig",
    sleep = c"sqlite3_sleep",
    soft_heap_limit = c"sqlite3_soft_heap_limit",
    vfs_find = c"sqlite3_vfs_find",
    vfs_register = c"sqlite3_vfs_register",
    vfs_unregister = c"sqlite3_vfs_unregister",
    xthreadsafe = c"sqlite3_threadsafe",
    result_zeroblob = c"sqlite3_result_zeroblob",
    result_error_code = c"sqlite3_result_error_code",
    randomness = c"sqlite3_randomness",
    context_db_handle = c"sqlite3_context_db_handle",
    extended_result_codes = c"sqlite3_extended_result_codes",
    limit = c"sqlite3_limit",
    next_stmt = c"sqlite3_next_stmt",
    sql = c"sqlite3_sql",
    status = c"sqlite3_status",
    backup_finish = c"sqlite3_backup_finish",
    backup_init = c"sqlite3_backup_init",
    backup_pagecount = c"sqlite3_backup_pagecount",
    backup_remaining = c"sqlite3_backup_remaining",
    backup_step = c"sqlite3_backup_step",
    compileoption_get = c"sqlite3_compileoption_get",
    compileoption_used = c"sqlite3_compileoption_used",
    create_function_v2 = c"sqlite3_create_function_v2",
    db_config = c"sqlite3_db_config",
    db_mutex = c"sqlite3_db_mutex",
    db_status = c"sqlite3_db_status",
    extended_errcode = c"sqlite3_extended_errcode",
    log = c"sqlite3_log",
    soft_heap_limit64 = c"sqlite3_soft_heap_limit64",
    sourceid = c"sqlite3_sourceid",
    stmt_status = c"sqlite3_stmt_status",
    strnicmp = c"sqlite3_strnicmp",
    unlock_notify = c"sqlite3_unlock_notify",
    wal_autocheckpoint = c"sqlite3_wal_autocheckpoint",
    wal_checkpoint = c"sqlite3_wal_checkpoint",
    wal_hook = c"sqlite3_wal_hook",
    blob_reopen = c"sqlite3_blob_reopen",
    vtab_config = c"sqlite3_vtab_config",
    vtab_on_conflict = c"sqlite3_vtab_on_conflict",
    db_filename = c"sqlite3_db_filename",
    db_readonly = c"sqlite3_db_readonly",
    db_release_memory = c"sqlite3_db_release_memory",
    errstr = c"sqlite3_errstr",
    stmt_busy = c"sqlite3_stmt_busy",
    stmt_readonly = c"sqlite3_stmt_readonly",
    stricmp = c"sqlite3_stricmp",
    uri_boolean = c"sqlite3_uri_boolean",
    uri_int64 = c"sqlite3_uri_int64",
    uri_parameter = c"sqlite3_uri_parameter",
    vsnprintf = c"sqlite3_vsnprintf",
    wal_checkpoint_v2 = c"sqlite3_wal_checkpoint_v2",
    auto_extension = c"sqlite3_auto_extension",
    bind_blob64 = c"sqlite3_bind_blob64",
    bind_text64 = c"sqlite3_bind_text64",
    cancel_auto_extension = c"sqlite3_cancel_auto_extension",
    load_extension = c"sqlite3_load_extension",
    malloc64 = c"sqlite3_malloc64",
    msize = c"sqlite3_msize",
    realloc64 = c"sqlite3_realloc64",
    reset_auto_extension = c"sqlite3_reset_auto_extension",
    result_blob64 = c"sqlite3_result_blob64",
    result_text64 = c"sqlite3_result_text64",
    strglob = c"sqlite3_strglob",
    value_dup = c"sqlite3_value_dup",
    value_free = c"sqlite3_value_free",
    result_zeroblob64 = c"sqlite3_result_zeroblob64",
    bind_zeroblob64 = c"sqlite3_bind_zeroblob64",
    value_subtype = c"sqlite3_value_subtype",
    result_subtype = c"sqlite3_result_subtype",
    status64 = c"sqlite3_status64",
    strlike = c"sqlite3_strlike",
    db_cacheflush = c"sqlite3_db_cacheflush",
    system_errno = c"sqlite3_system_errno",
    trace_v2 = c"sqlite3_trace_v2",
    expanded_sql = c"sqlite3_expanded_sql",
}

/// A set of loaded objects to look symbols up in.
#[cfg(unix)]
#[derive(Clone, Copy)]
struct Scope {
    handle: *mut c_void,
}

#[cfg(unix)]
impl Scope {
    fn lookup(self, symbol: &CStr) -> *mut c_void {
        // SAFETY: `handle` is RTLD_DEFAULT or a handle dlopen returned and never closed.
        unsafe { libc::dlsym(self.handle, symbol.as_ptr()) }
    }

    fn global() -> Self {
        Self {
            handle: libc::RTLD_DEFAULT,
        }
    }

    /// An object already loaded from `path` (never loads it; never closed, since the
    /// table points into it).
    fn loaded(path: &str) -> Option<Self> {
        let path = std::ffi::CString::new(path).ok()?;
        // SAFETY: plain C call; RTLD_NOLOAD returns null unless the object is loaded.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
        (!handle.is_null()).then_some(Self { handle })
    }

    /// Load `name` (tests and Rust benches only).
    fn load(name: &str) -> Result<Self, String> {
        let c_name = std::ffi::CString::new(name).map_err(|e| e.to_string())?;
        // SAFETY: plain C call.
        let handle = unsafe { libc::dlopen(c_name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(format!("cannot load {name}"));
        }
        Ok(Self { handle })
    }
}

/// Build the table from `scope` and hand it to rusqlite; the library's version.
#[cfg(unix)]
fn install(scope: Scope, expected_version: Option<&str>) -> Result<&'static str, String> {
    let missing: Vec<_> = REQUIRED
        .iter()
        .filter(|s| scope.lookup(s).is_null())
        .map(|s| s.to_string_lossy())
        .collect();
    if !missing.is_empty() {
        return Err(format!("it lacks {}", missing.join(", ")));
    }
    let version_fn = scope.lookup(c"sqlite3_libversion");
    // SAFETY: sqlite3_libversion: `const char *(void)`, returning a static string.
    let version = unsafe {
        let f = std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> *const std::ffi::c_char>(
            version_fn,
        );
        CStr::from_ptr(f()).to_str().map_err(|e| e.to_string())?
    };
    if let Some(expected) = expected_version {
        if version != expected {
            return Err(format!(
                "it is SQLite {version}, but Python's sqlite3 uses {expected}"
            ));
        }
    }
    // SAFETY: every slot is null or the matching SQLite function; the table is only read
    // during the call (rusqlite copies each pointer into its own atomics), and the library
    // stays loaded for the life of the process.
    unsafe {
        let mut api: ffi::sqlite3_api_routines = std::mem::zeroed();
        fill(&mut api, &|s| scope.lookup(s));
        ffi::rusqlite_extension_init2(&mut api).map_err(|e| e.to_string())?;
    }
    Ok(version)
}

/// Use the SQLite library Python's `sqlite3` module loaded: `module_file` is
/// `_sqlite3.__file__` (`None` for a module built into the interpreter) and
/// `expected_version` is `sqlite3.sqlite_version`. Runs once per process; later calls
/// return the first outcome. The error says where it looked.
pub fn init_from_process(
    module_file: Option<&str>,
    expected_version: &str,
) -> &'static Result<&'static str, String> {
    API.get_or_init(|| resolve(module_file, expected_version))
}

#[cfg(unix)]
fn resolve(module_file: Option<&str>, expected_version: &str) -> Result<&'static str, String> {
    let mut candidates = vec![(
        "the process's global symbols".to_owned(),
        Some(Scope::global()),
    )];
    if let Some(file) = module_file {
        candidates.push((format!("{file} and its libraries"), Scope::loaded(file)));
    }
    let mut tried = Vec::new();
    for (name, scope) in candidates {
        match scope.map(|s| (s, s.lookup(c"sqlite3_libversion_number"))) {
            Some((scope, f)) if !f.is_null() => match install(scope, Some(expected_version)) {
                Ok(version) => return Ok(version),
                Err(why) => tried.push(format!("{name}: {why}")),
            },
            Some(_) => tried.push(format!("{name}: no SQLite symbols")),
            None => tried.push(format!("{name}: not loaded")),
        }
    }
    Err(format!(
        "RustSqliteSaver must use the SQLite library Python's sqlite3 module loaded \
         (SQLite {expected_version}) and could not find it in this process ({}). Use \
         langgraph-checkpoint-sqlite's SqliteSaver with this interpreter (it may hide SQLite's \
         functions, e.g. SQLite linked in statically without exported symbols)",
        tried.join("; ")
    ))
}

#[cfg(not(unix))]
fn resolve(_module_file: Option<&str>, _expected_version: &str) -> Result<&'static str, String> {
    Err(
        "RustSqliteSaver is not available on this platform yet: it must use the SQLite \
         library Python's sqlite3 loaded, and finding it at run time is implemented for \
         Linux and macOS only; use langgraph-checkpoint-sqlite's SqliteSaver"
            .to_owned(),
    )
}

/// Load the SQLite library `name` and use it (for `cargo test` and the Rust benches,
/// which have no Python; never in the extension module). Runs once per process.
pub fn init_from_library(name: &str) -> &'static Result<&'static str, String> {
    API.get_or_init(|| {
        #[cfg(unix)]
        {
            install(Scope::load(name)?, None)
        }
        #[cfg(not(unix))]
        {
            Err(format!("cannot load {name} on this platform"))
        }
    })
}

/// The system SQLite a Rust test or bench loads.
pub const SYSTEM_LIBRARY: &str = if cfg!(target_os = "macos") {
    "libsqlite3.dylib"
} else {
    "libsqlite3.so.0"
};

/// The SQLite version in use, or why there is none (also before any `init_*`).
pub fn status() -> Result<&'static str, &'static str> {
    #[cfg(test)]
    init_from_library(SYSTEM_LIBRARY);
    match API.get() {
        Some(Ok(version)) => Ok(version),
        Some(Err(why)) => Err(why),
        None => Err("SQLite not initialised: fast_langgraph resolves it when a saver is created"),
    }
}
