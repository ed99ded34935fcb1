// A SQLite VFS shim that gathers a connection's WAL writes into one write per commit.
//
// SQLite appends each WAL frame with two pwrite()s (its 24-byte header, then the page), so a
// commit of 60 pages is 120 system calls made inside the serial commit. Under this VFS the
// WAL's writes that continue one another are kept in memory and reach the file as one
// pwrite() when SQLite syncs the WAL, reads it, asks its size, truncates or closes it, or
// when 4 MiB are pending. Every other file, and every other call, goes straight to the
// default VFS.
//
// Only for synchronous=FULL (or EXTRA): there SQLite syncs the WAL after a commit's frames
// and before it publishes them in the WAL index, so a frame is in the file before any reader
// can look for it, and in a commit acknowledged only after the sync. At NORMAL or OFF it
// publishes frames without a sync, and a reader could find them missing: do not use it there.
//
// Thread-safety: RegisterWalBufferVfs may be called from any thread (registration happens
// once). A WAL file object is used by one connection, which SQLite serializes.
#pragma once

namespace agent9 {

// Registers the shim (once) and returns its name for sqlite3_open_v2's zVfs, or nullptr when
// SQLite has no default VFS to wrap.
const char* RegisterWalBufferVfs();

}  // namespace agent9
