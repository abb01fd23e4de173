#ifndef MTL_CSQLITE_SHIM_H
#define MTL_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro Swift cannot import: SQLite copies the bound bytes.
static inline sqlite3_destructor_type mtl_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/// SQLITE_STATIC: the bound bytes stay valid until the statement is reset or rebound.
static inline sqlite3_destructor_type mtl_sqlite_static(void) { return SQLITE_STATIC; }

/// Turns off SQLite's memory statistics (a global mutex taken on every allocation). Must run
/// before SQLite is initialized; returns SQLITE_MISUSE (harmless) when it already is.
static inline int mtl_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

#endif
