// fsloop: hammers one file with open+read+close (mode "read") or stat (mode "stat") from
// T threads for S seconds and prints the aggregate rate: "ops_per_s <n> ops <n> bytes <n>".
// Usage: fsloop read|stat PATH THREADS SECONDS
#define _GNU_SOURCE
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

static const char* g_path;
static int g_stat_mode;
static atomic_int g_stop;
static atomic_int g_go;

struct worker {
  pthread_t t;
  unsigned long long ops, bytes;
  int err;
};

static void* run(void* arg) {
  struct worker* w = arg;
  char buf[65536];
  while (!atomic_load(&g_go)) {
  }
  while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
    if (g_stat_mode) {
      struct stat st;
      if (stat(g_path, &st) != 0) { w->err = errno; break; }
    } else {
      int fd = open(g_path, O_RDONLY);
      if (fd < 0) { w->err = errno; break; }
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) { w->err = n < 0 ? errno : ENODATA; close(fd); break; }
      w->bytes += (unsigned long long)n;
      if (close(fd) != 0) { w->err = errno; break; }
    }
    w->ops++;
  }
  return NULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s read|stat PATH THREADS SECONDS\n", argv[0]);
    return 2;
  }
  g_stat_mode = strcmp(argv[1], "stat") == 0;
  if (!g_stat_mode && strcmp(argv[1], "read") != 0) { fprintf(stderr, "bad mode\n"); return 2; }
  g_path = argv[2];
  int threads = atoi(argv[3]);
  double secs = atof(argv[4]);
  if (threads < 1 || threads > 256 || secs <= 0) { fprintf(stderr, "bad args\n"); return 2; }
  struct worker* w = calloc((size_t)threads, sizeof *w);
  for (int i = 0; i < threads; i++) pthread_create(&w[i].t, NULL, run, &w[i]);
  double t0 = now_s();
  atomic_store(&g_go, 1);
  struct timespec d = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
  nanosleep(&d, NULL);
  atomic_store(&g_stop, 1);
  unsigned long long ops = 0, bytes = 0;
  int err = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].t, NULL);
    ops += w[i].ops;
    bytes += w[i].bytes;
    if (w[i].err) err = w[i].err;
  }
  double el = now_s() - t0;
  if (err) {
    fprintf(stderr, "fsloop: %s %s: %s\n", argv[1], g_path, strerror(err));
    return 1;
  }
  printf("ops_per_s %.0f ops %llu bytes %llu\n", (double)ops / el, ops, bytes);
  return 0;
}
