// fsloop: runs one file operation in a loop from T threads for S seconds and prints the
// aggregate rate: "ops_per_s <n> ops <n> bytes <n> items <n>".
// Modes:
//   read    PATH is a file: open(O_RDONLY) + one read of up to 64 KiB + close
//   stat    PATH is a file: stat
//   ls      PATH is a directory: one listing, what `ls -l PATH` does without its xattr
//           probes: opendir + readdir to the end + lstat("PATH/<name>") of every entry but
//           . and .. + closedir. items = entries of the last listing (the same in every
//           listing, or the run fails).
//   create  PATH is a directory: open("PATH/<unique name>", O_CREAT|O_WRONLY|O_EXCL, 0644) +
//           one write of MSG_FILE's bytes + close (its error is the write's: agent9 commits an
//           inbox message at close). Names are f<pid>.<thread>.<n>: new in every op.
//   call    PATH is a call file (agents/<id>/identity/sign...): open(O_RDWR) + one write of
//           MSG_FILE's bytes (the request) + one read of up to 64 KiB (the response) + close.
//           A response starting with "error" fails the run; bytes = response bytes, so
//           bytes / ops is the response size.
// MAX_OPS (0 = none) ends the run early, once that many ops were started; the rate is over
// the time actually run. It bounds what `create` leaves behind on tmpfs.
// Usage: fsloop read|stat|ls|create|call PATH THREADS SECONDS [MSG_FILE [MAX_OPS]]
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum mode { kRead, kStat, kList, kCreate, kCall };

static enum mode g_mode;
static const char* g_path;
static char g_msg[65536];
static size_t g_msg_len;
static unsigned long long g_max_ops;
static atomic_ullong g_started;
static atomic_int g_stop;
static atomic_int g_go;

struct worker {
  pthread_t t;
  int id;
  unsigned long long ops, bytes, items;
  int err;
  char what[4200];  // the path that failed
};

static int fail(struct worker* w, int err, const char* path) {
  w->err = err;
  snprintf(w->what, sizeof w->what, "%s", path);
  return -1;
}

// One listing: returns 0, or -1 with w->err set.
static int list_once(struct worker* w) {
  DIR* d = opendir(g_path);
  if (!d) return fail(w, errno, g_path);
  char path[4200];
  unsigned long long n = 0;
  for (;;) {
    errno = 0;
    struct dirent* e = readdir(d);
    if (!e) {
      if (errno) { fail(w, errno, g_path); closedir(d); return -1; }
      break;
    }
    if (e->d_name[0] == '.') continue;  // ls -l without -a
    snprintf(path, sizeof path, "%s/%s", g_path, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) { fail(w, errno, path); closedir(d); return -1; }
    w->bytes += (unsigned long long)st.st_size;
    n++;
  }
  if (closedir(d) != 0) return fail(w, errno, g_path);
  if (w->ops > 0 && n != w->items) return fail(w, ESTALE, "entry count changed between listings");
  w->items = n;
  return 0;
}

static int create_once(struct worker* w) {
  char path[4200];
  snprintf(path, sizeof path, "%s/f%ld.%d.%llu", g_path, (long)getpid(), w->id, w->ops);
  int fd = open(path, O_CREAT | O_WRONLY | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail(w, errno, path);
  ssize_t n = write(fd, g_msg, g_msg_len);
  if (n != (ssize_t)g_msg_len) {
    fail(w, n < 0 ? errno : EIO, path);
    close(fd);
    return -1;
  }
  if (close(fd) != 0) return fail(w, errno, path);
  w->bytes += (unsigned long long)n;
  w->items++;
  return 0;
}

// One call: returns 0, or -1 with w->err set.
static int call_once(struct worker* w, char* buf, size_t cap) {
  int fd = open(g_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail(w, errno, g_path);
  ssize_t n = write(fd, g_msg, g_msg_len);
  if (n != (ssize_t)g_msg_len) {
    fail(w, n < 0 ? errno : EIO, "write of the request");
    close(fd);
    return -1;
  }
  n = read(fd, buf, cap);
  if (n <= 0) {
    fail(w, n < 0 ? errno : ENODATA, "read of the response");
    close(fd);
    return -1;
  }
  if (n >= 5 && memcmp(buf, "error", 5) == 0) {
    fail(w, EPROTO, "the response is an error");
    close(fd);
    return -1;
  }
  if (close(fd) != 0) return fail(w, errno, g_path);
  w->bytes += (unsigned long long)n;
  return 0;
}

static void* run(void* arg) {
  struct worker* w = arg;
  char buf[65536];
  while (!atomic_load(&g_go)) {
  }
  while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
    if (g_max_ops && atomic_fetch_add(&g_started, 1) >= g_max_ops) {
      atomic_store(&g_stop, 1);
      break;
    }
    if (g_mode == kStat) {
      struct stat st;
      if (stat(g_path, &st) != 0) { fail(w, errno, g_path); break; }
    } else if (g_mode == kRead) {
      int fd = open(g_path, O_RDONLY);
      if (fd < 0) { fail(w, errno, g_path); break; }
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) { fail(w, n < 0 ? errno : ENODATA, g_path); close(fd); break; }
      w->bytes += (unsigned long long)n;
      if (close(fd) != 0) { fail(w, errno, g_path); break; }
    } else if (g_mode == kList) {
      if (list_once(w) != 0) break;
    } else if (g_mode == kCall) {
      if (call_once(w, buf, sizeof buf) != 0) break;
    } else {
      if (create_once(w) != 0) break;
    }
    w->ops++;
  }
  if (w->err) atomic_store(&g_stop, 1);  // the run has failed: end it now
  return NULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    fprintf(stderr, "usage: %s read|stat|ls|create|call PATH THREADS SECONDS [MSG_FILE [MAX_OPS]]\n",
            argv[0]);
    return 2;
  }
  const char* m = argv[1];
  if (strcmp(m, "read") == 0) {
    g_mode = kRead;
  } else if (strcmp(m, "stat") == 0) {
    g_mode = kStat;
  } else if (strcmp(m, "ls") == 0) {
    g_mode = kList;
  } else if (strcmp(m, "create") == 0) {
    g_mode = kCreate;
  } else if (strcmp(m, "call") == 0) {
    g_mode = kCall;
  } else {
    fprintf(stderr, "bad mode %s\n", m);
    return 2;
  }
  g_path = argv[2];
  int threads = atoi(argv[3]);
  double secs = atof(argv[4]);
  if (threads < 1 || threads > 256 || secs <= 0) { fprintf(stderr, "bad args\n"); return 2; }
  if (g_mode == kCreate || g_mode == kCall) {
    if (argc < 6) { fprintf(stderr, "%s needs MSG_FILE\n", m); return 2; }
    FILE* f = fopen(argv[5], "rb");
    if (!f) { perror(argv[5]); return 2; }
    g_msg_len = fread(g_msg, 1, sizeof g_msg, f);
    fclose(f);
    if (g_msg_len == 0) { fprintf(stderr, "%s is empty\n", argv[5]); return 2; }
  }
  if (argc == 7) g_max_ops = strtoull(argv[6], NULL, 10);

  struct worker* w = calloc((size_t)threads, sizeof *w);
  for (int i = 0; i < threads; i++) {
    w[i].id = i;
    pthread_create(&w[i].t, NULL, run, &w[i]);
  }
  double t0 = now_s();
  double deadline = t0 + secs;
  atomic_store(&g_go, 1);
  // Sleep in slices, so a run that reaches MAX_OPS (or fails) ends early.
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0 || atomic_load(&g_stop)) break;
    if (left > 0.01) left = 0.01;
    struct timespec d = {0, (long)(left * 1e9)};
    nanosleep(&d, NULL);
  }
  atomic_store(&g_stop, 1);
  unsigned long long ops = 0, bytes = 0, items = 0;
  int failed = -1;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].t, NULL);
    ops += w[i].ops;
    bytes += w[i].bytes;
    if (g_mode == kList) {
      if (w[i].ops > 0 && items != 0 && w[i].items != items) {
        fprintf(stderr, "fsloop: ls %s: threads saw %llu and %llu entries\n", g_path, items,
                w[i].items);
        return 1;
      }
      if (w[i].ops > 0) items = w[i].items;
    } else {
      items += w[i].items;
    }
    if (w[i].err && failed < 0) failed = i;
  }
  double el = now_s() - t0;
  if (failed >= 0) {
    fprintf(stderr, "fsloop: %s %s: %s\n", m, w[failed].what, strerror(w[failed].err));
    return 1;
  }
  if (ops == 0) {
    fprintf(stderr, "fsloop: %s %s: no operation completed in %.1f s\n", m, g_path, el);
    return 1;
  }
  printf("ops_per_s %.1f ops %llu bytes %llu items %llu\n", (double)ops / el, ops, bytes, items);
  return 0;
}
