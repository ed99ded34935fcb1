// fuse_baseline: the smallest libfuse3 low-level filesystem that serves what bench/run.sh
// measures on agent9's mount, at the same paths, configured like agent9's mount (fs/fuse):
// direct_io on open, attr and entry timeouts 0, fuse_session_loop_mt with max_threads 16 /
// idle threads 8 / clone_fd 0, no writeback cache, no readdirplus, fsname/subtype set. It is
// the lower bound for what any libfuse server can do for these operations on this kernel.
//
// Usage: fuse_baseline MOUNTPOINT [--single] [--file PATH CONTENT_FILE] [--dir PATH LISTING_FILE]
//                                 [--inbox PATH]...
//   --single serves every request in the main thread (fuse_session_loop) instead of the
//            multi-threaded loop: the minimal single-threaded server, with no worker pool
//            bookkeeping per request (bench/pinned.sh, all on one core).
//   --file   PATH serves the bytes of CONTENT_FILE, st_size 0 (like agent9's generated files).
//   --dir    PATH is a directory of regular files, one per line of LISTING_FILE, "NAME SIZE":
//            listed in that order, each with st_size SIZE (never read: no content).
//   --inbox  PATH is a directory that takes new files like agent9's inbox/: any name looks up
//            as absent, create opens a new file (a fresh inode), write accepts and drops the
//            bytes, flush and release succeed. Nothing is kept: the static cost only.
// PATH is relative to the mount (agents/bench/status); its directories are made as needed.
// Prints "mounted MOUNTPOINT" once the session is mounted. SIGTERM/SIGINT unmounts.
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum kind { kDir, kFile, kInbox };

struct node {
  char* name;
  int parent;        // index; the root (0) is its own parent
  enum kind kind;
  const char* data;  // kFile with content
  size_t len;
  off_t size;        // st_size
  int* kids;         // directories: child indexes in listing order
  int* sorted;       // the same, sorted by name (lookups)
  int nkids, cap;
};

// Inode of node i is i + 1 (the root is FUSE_ROOT_ID = 1). Files created in an inbox get
// inodes from kCreatedBase up, one per create; the kernel forgets them.
static struct node* g_nodes;
static int g_n, g_cap;
static const fuse_ino_t kCreatedBase = (fuse_ino_t)1 << 40;
static atomic_ullong g_next_created;
static struct timespec g_start;

static int add_node(int parent, const char* name, enum kind kind) {
  if (g_n == g_cap) {
    g_cap = g_cap ? 2 * g_cap : 64;
    g_nodes = realloc(g_nodes, (size_t)g_cap * sizeof *g_nodes);
    if (!g_nodes) abort();
  }
  int i = g_n++;
  memset(&g_nodes[i], 0, sizeof g_nodes[i]);
  g_nodes[i].name = strdup(name);
  g_nodes[i].parent = parent;
  g_nodes[i].kind = kind;
  if (i != parent) {
    struct node* p = &g_nodes[parent];
    if (p->nkids == p->cap) {
      p->cap = p->cap ? 2 * p->cap : 8;
      p->kids = realloc(p->kids, (size_t)p->cap * sizeof *p->kids);
      if (!p->kids) abort();
    }
    p->kids[p->nkids++] = i;
  }
  return i;
}

static int find_kid(int dir, const char* name) {
  const struct node* d = &g_nodes[dir];
  for (int k = 0; k < d->nkids; k++) {
    if (strcmp(g_nodes[d->kids[k]].name, name) == 0) return d->kids[k];
  }
  return -1;
}

// Walks (and makes) the directories of PATH; returns the node of its last component.
static int make_path(const char* path, enum kind kind) {
  char* copy = strdup(path);
  int cur = 0;
  char* save = NULL;
  char* part = strtok_r(copy, "/", &save);
  while (part) {
    char* next = strtok_r(NULL, "/", &save);
    int kid = find_kid(cur, part);
    if (kid < 0) {
      kid = add_node(cur, part, next ? kDir : kind);
    } else if (!next || g_nodes[kid].kind != kDir) {
      fprintf(stderr, "fuse_baseline: %s is given twice or crosses a file\n", path);
      exit(2);
    }
    cur = kid;
    part = next;
  }
  free(copy);
  return cur;
}

static int by_name(const void* a, const void* b) {
  return strcmp(g_nodes[*(const int*)a].name, g_nodes[*(const int*)b].name);
}

static int node_of(fuse_ino_t ino) {
  if (ino < 1 || ino > (fuse_ino_t)g_n) return -1;
  return (int)ino - 1;
}

static int is_dir(int i) { return g_nodes[i].kind != kFile; }

static void fill_attr(fuse_ino_t ino, int i, struct stat* st) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  int dir = i >= 0 && is_dir(i);
  st->st_mode = dir ? (S_IFDIR | 0755) : (S_IFREG | (i >= 0 ? 0444 : 0644));
  st->st_nlink = dir ? 2 : 1;
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_size = i >= 0 ? g_nodes[i].size : 0;
  st->st_blksize = 4096;
  st->st_blocks = (st->st_size + 511) / 512;
  st->st_mtim = st->st_atim = st->st_ctim = g_start;
}

static void op_init(void* ud, struct fuse_conn_info* conn) {
  (void)ud;
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_READDIRPLUS;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino, int i) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.ino = ino;
  e.attr_timeout = 0.0;
  e.entry_timeout = 0.0;
  fill_attr(ino, i, &e.attr);
  fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  int p = node_of(parent);
  if (p < 0 || g_nodes[p].kind != kDir) { fuse_reply_err(req, ENOENT); return; }  // inbox: none
  const struct node* d = &g_nodes[p];
  int lo = 0, hi = d->nkids - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    int c = strcmp(name, g_nodes[d->sorted[mid]].name);
    if (c == 0) {
      int i = d->sorted[mid];
      reply_entry(req, (fuse_ino_t)i + 1, i);
      return;
    }
    if (c < 0) hi = mid - 1; else lo = mid + 1;
  }
  fuse_reply_err(req, ENOENT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)fi;
  int i = node_of(ino);
  if (i < 0 && ino < kCreatedBase) { fuse_reply_err(req, ENOENT); return; }
  struct stat st;
  fill_attr(ino, i, &st);
  fuse_reply_attr(req, &st, 0.0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  int i = node_of(ino);
  if (i < 0) { fuse_reply_err(req, ino >= kCreatedBase ? EACCES : ENOENT); return; }
  if (is_dir(i)) { fuse_reply_err(req, EISDIR); return; }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) { fuse_reply_err(req, EACCES); return; }
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fi->nonseekable = 0;
  fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                      struct fuse_file_info* fi) {
  (void)name; (void)mode;
  int p = node_of(parent);
  if (p < 0 || g_nodes[p].kind != kInbox) { fuse_reply_err(req, EACCES); return; }
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  e.ino = kCreatedBase + atomic_fetch_add(&g_next_created, 1);
  e.attr_timeout = 0.0;
  e.entry_timeout = 0.0;
  fill_attr(e.ino, -1, &e.attr);
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fi->nonseekable = 0;
  fuse_reply_create(req, &e, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info* fi) {
  (void)fi;
  int i = node_of(ino);
  if (i < 0) { fuse_reply_err(req, EBADF); return; }
  const struct node* f = &g_nodes[i];
  if ((size_t)off >= f->len) { fuse_reply_buf(req, NULL, 0); return; }
  size_t n = f->len - (size_t)off;
  if (n > size) n = size;
  fuse_reply_buf(req, f->data + off, n);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                     struct fuse_file_info* fi) {
  (void)ino; (void)buf; (void)off; (void)fi;
  fuse_reply_write(req, size);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)ino; (void)fi;
  fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)ino; (void)fi;
  fuse_reply_err(req, 0);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  (void)ino; (void)nlookup;
  fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
  (void)count; (void)forgets;
  fuse_reply_none(req);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  int i = node_of(ino);
  if (i < 0 || !is_dir(i)) { fuse_reply_err(req, ENOTDIR); return; }
  fi->keep_cache = 0;
  fi->cache_readdir = 0;
  fuse_reply_open(req, fi);
}

// Entries ".", "..", then the children in listing order; entry k has offset k + 1.
static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info* fi) {
  (void)fi;
  int d = node_of(ino);
  if (d < 0 || !is_dir(d)) { fuse_reply_err(req, ENOTDIR); return; }
  char* buf = malloc(size);
  if (!buf) { fuse_reply_err(req, ENOMEM); return; }
  size_t used = 0;
  size_t total = (size_t)g_nodes[d].nkids + 2;
  for (size_t k = off < 0 ? 0 : (size_t)off; k < total; k++) {
    struct stat st;
    memset(&st, 0, sizeof st);
    const char* name;
    if (k < 2) {
      name = k == 0 ? "." : "..";
      st.st_ino = k == 0 ? ino : (fuse_ino_t)g_nodes[d].parent + 1;
      st.st_mode = S_IFDIR;
    } else {
      int c = g_nodes[d].kids[k - 2];
      name = g_nodes[c].name;
      st.st_ino = (fuse_ino_t)c + 1;
      st.st_mode = is_dir(c) ? S_IFDIR : S_IFREG;
    }
    size_t need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(k + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  (void)ino; (void)fi;
  fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
};

static char* slurp(const char* file, size_t* len) {
  FILE* f = fopen(file, "rb");
  if (!f) { perror(file); exit(1); }
  char* buf = malloc(1 << 20);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

static void usage(const char* argv0) {
  fprintf(stderr,
          "usage: %s MOUNTPOINT [--single] [--file PATH CONTENT_FILE] [--dir PATH LISTING_FILE] "
          "[--inbox PATH]...\n",
          argv0);
  exit(2);
}

int main(int argc, char** argv) {
  if (argc < 3) usage(argv[0]);
  add_node(0, "", kDir);
  int single = 0;
  for (int a = 2; a < argc;) {
    if (strcmp(argv[a], "--single") == 0) {
      single = 1;
      a += 1;
    } else if (strcmp(argv[a], "--file") == 0 && a + 2 < argc) {
      int i = make_path(argv[a + 1], kFile);
      g_nodes[i].data = slurp(argv[a + 2], &g_nodes[i].len);
      a += 3;
    } else if (strcmp(argv[a], "--dir") == 0 && a + 2 < argc) {
      int d = make_path(argv[a + 1], kDir);
      FILE* f = fopen(argv[a + 2], "r");
      if (!f) { perror(argv[a + 2]); return 1; }
      char name[256];
      long long size;
      while (fscanf(f, "%255s %lld", name, &size) == 2) {
        int k = add_node(d, name, kFile);  // may move g_nodes
        g_nodes[k].size = (off_t)size;
      }
      fclose(f);
      a += 3;
    } else if (strcmp(argv[a], "--inbox") == 0 && a + 1 < argc) {
      make_path(argv[a + 1], kInbox);
      a += 2;
    } else {
      usage(argv[0]);
    }
  }
  // Lookups bsearch a sorted copy of each directory's children; readdir keeps the order given.
  for (int i = 0; i < g_n; i++) {
    struct node* d = &g_nodes[i];
    if (d->kind == kFile || d->nkids == 0) continue;
    d->sorted = malloc((size_t)d->nkids * sizeof *d->sorted);
    memcpy(d->sorted, d->kids, (size_t)d->nkids * sizeof *d->sorted);
    qsort(d->sorted, (size_t)d->nkids, sizeof *d->sorted, by_name);
  }
  clock_gettime(CLOCK_REALTIME, &g_start);

  char* fargv[] = {argv[0], "-o", "fsname=fusebase,subtype=fusebase", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  struct fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!se) return 1;
  if (fuse_set_signal_handlers(se) != 0) return 1;
  if (fuse_session_mount(se, argv[1]) != 0) return 1;
  printf("mounted %s\n", argv[1]);
  fflush(stdout);
  int rc;
  if (single) {
    rc = fuse_session_loop(se);
  } else {
    struct fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 16);
    fuse_loop_cfg_set_idle_threads(cfg, 8);
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  return rc < 0 ? 1 : 0;
}
