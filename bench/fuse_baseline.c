// fuse_baseline: the smallest libfuse3 low-level filesystem that serves one static file at a
// fixed path, configured like agent9's mount (fs/fuse): direct_io on open, attr and entry
// timeouts 0, fuse_session_loop_mt with max_threads 16 / idle threads 8 / clone_fd 0,
// no writeback cache, no readdirplus. It is the lower bound for what any libfuse server can
// do for open+read+close and stat on this kernel.
// Usage: fuse_baseline MOUNTPOINT CONTENT_FILE NAME...   (NAME... = the path, e.g. agents sink status)
// Serves /NAME1/NAME2/.../NAMEk with the bytes of CONTENT_FILE. SIGTERM/SIGINT unmounts.
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 16
static int g_depth;                 // number of path components; inode i+2 is component i
static const char* g_names[MAX_DEPTH];
static char* g_content;
static size_t g_size;
static struct timespec g_start;

// inode 1 = root, inode k (2..depth+1) = component k-2; the last one is the file.
static int is_file(fuse_ino_t ino) { return ino == (fuse_ino_t)(g_depth + 1); }
static int valid(fuse_ino_t ino) { return ino >= 1 && ino <= (fuse_ino_t)(g_depth + 1); }

static void fill_attr(fuse_ino_t ino, struct stat* st) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  int f = is_file(ino);
  st->st_mode = f ? (S_IFREG | 0444) : (S_IFDIR | 0755);
  st->st_nlink = f ? 1 : 2;
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_size = 0;  // like agent9's generated files
  st->st_blksize = 4096;
  st->st_mtim = st->st_atim = st->st_ctim = g_start;
}

static void op_init(void* ud, struct fuse_conn_info* conn) {
  (void)ud;
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_READDIRPLUS;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (!valid(parent) || is_file(parent)) { fuse_reply_err(req, ENOENT); return; }
  int idx = (int)parent - 1;  // the component that lives under `parent`
  if (idx >= g_depth || strcmp(name, g_names[idx]) != 0) { fuse_reply_err(req, ENOENT); return; }
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.ino = parent + 1;
  e.attr_timeout = 0.0;
  e.entry_timeout = 0.0;
  fill_attr(e.ino, &e.attr);
  fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)fi;
  if (!valid(ino)) { fuse_reply_err(req, ENOENT); return; }
  struct stat st;
  fill_attr(ino, &st);
  fuse_reply_attr(req, &st, 0.0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if (!is_file(ino)) { fuse_reply_err(req, EISDIR); return; }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) { fuse_reply_err(req, EACCES); return; }
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fi->nonseekable = 0;
  fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info* fi) {
  (void)ino; (void)fi;
  if ((size_t)off >= g_size) { fuse_reply_buf(req, NULL, 0); return; }
  size_t n = g_size - (size_t)off;
  if (n > size) n = size;
  fuse_reply_buf(req, g_content + off, n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)ino; (void)fi;
  fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  if (!valid(ino) || is_file(ino)) { fuse_reply_err(req, ENOTDIR); return; }
  fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info* fi) {
  (void)fi;
  char buf[1024];
  size_t used = 0;
  if (off == 0 && (int)ino - 1 < g_depth) {
    struct stat st;
    fill_attr(ino + 1, &st);
    used = fuse_add_direntry(req, buf, sizeof buf, g_names[ino - 1], &st, 1);
    if (used > size) used = 0;
  }
  fuse_reply_buf(req, buf, used);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .getattr = op_getattr,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
};

int main(int argc, char** argv) {
  if (argc < 4 || argc - 3 > MAX_DEPTH) {
    fprintf(stderr, "usage: %s MOUNTPOINT CONTENT_FILE NAME...\n", argv[0]);
    return 2;
  }
  FILE* f = fopen(argv[2], "rb");
  if (!f) { perror(argv[2]); return 1; }
  g_content = malloc(1 << 20);
  g_size = fread(g_content, 1, 1 << 20, f);
  fclose(f);
  g_depth = argc - 3;
  for (int i = 0; i < g_depth; i++) g_names[i] = argv[3 + i];
  clock_gettime(CLOCK_REALTIME, &g_start);

  char* fargv[] = {argv[0], "-o", "fsname=fusebase,subtype=fusebase", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  struct fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!se) return 1;
  if (fuse_set_signal_handlers(se) != 0) return 1;
  if (fuse_session_mount(se, argv[1]) != 0) return 1;
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, 16);
  fuse_loop_cfg_set_idle_threads(cfg, 8);
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  printf("mounted %s\n", argv[1]);
  fflush(stdout);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  return rc < 0 ? 1 : 0;
}
