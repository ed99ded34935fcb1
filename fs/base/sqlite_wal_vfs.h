// A SQLite VFS shim that gathers a connection's WAL writes into one write per commit.
//
// SQLite appends each WAL frame with two pwrite()s (its 24-byte header, then the page), so a
// commit of 60 pages is 120 system calls made inside the serial commit. Under this VFS the
// WAL's writes that continue one another are kept in memory and reach the file as one
// pwrite() when SQLite syncs the WAL, reads it, asks its size, truncates or closes it, or
// when 4 MiB are pending. Every other file, and every other call, goes straight to the
// default VFS.
//
// A commit's frames are in the file before SQLite publishes them in the WAL index, where
// readers look for them: the page written after a commit frame's header (a 24-byte frame
// header whose "database size after commit" field is not zero; SQLite writes a frame as its
// header, then its page) sends everything pending to the file. So the shim is correct at any
// `synchronous` level, also NORMAL, where SQLite publishes a commit without syncing the WAL
// (Database syncs it itself, outside the commit turn: sqlite.h).
//
// Thread-safety: RegisterWalBufferVfs may be called from any thread (registration happens
// once). A WAL file object is used by one connection, which SQLite serializes.
#pragma once

namespace agent9 {

// Registers the shim (once) and returns its name for sqlite3_open_v2's zVfs, or nullptr when
// SQLite has no default VFS to wrap.
const char* RegisterWalBufferVfs();

}  // namespace agent9
