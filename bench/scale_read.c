// scale_read: reads random agents' status files through a FUSE mount, as bench/scale.sh's
// "status over FUSE" figure: each op is open + read to EOF + close of
// MOUNT/agents/<PREFIX><8-digit n>/status with n uniform in [0, N). T threads for S seconds.
// Prints one line: "ops_per_s <r> ops <n> errors <n> p50_us <x> p99_us <x> bytes <n>".
// Usage: scale_read MOUNT PREFIX N THREADS SECONDS
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_US 1000000  // latencies of a second or more share the last bucket

static const char* g_mount;
static const char* g_prefix;
static long g_n;
static atomic_int g_stop;
static atomic_int g_go;

struct worker {
  pthread_t t;
  uint64_t seed;
  uint64_t ops, errors, bytes;
  int first_errno;
  uint32_t* hist;  // MAX_US + 1 buckets of 1 us
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_rand(uint64_t* s) {  // xorshift64*
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static void* run(void* arg) {
  struct worker* w = arg;
  char path[4096];
  char buf[65536];
  while (!atomic_load(&g_go)) {
  }
  while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
    long n = (long)(next_rand(&w->seed) % (uint64_t)g_n);
    snprintf(path, sizeof path, "%s/agents/%s%08ld/status", g_mount, g_prefix, n);
    uint64_t t0 = now_ns();
    int fd = open(path, O_RDONLY);
    int ok = fd >= 0;
    if (ok) {
      for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0) {
          ok = 0;
          break;
        }
        if (r == 0) break;
        w->bytes += (uint64_t)r;
      }
      if (close(fd) != 0) ok = 0;
    }
    uint64_t us = (now_ns() - t0) / 1000u;
    if (!ok) {
      if (!w->first_errno) w->first_errno = errno;
      w->errors++;
      continue;
    }
    w->hist[us > MAX_US ? MAX_US : us]++;
    w->ops++;
  }
  return NULL;
}

// The latency (us) below which a fraction q of the samples lie.
static uint64_t percentile(const uint64_t* hist, uint64_t total, double q) {
  uint64_t want = (uint64_t)((double)total * q);
  if (want >= total) want = total - 1;
  uint64_t seen = 0;
  for (uint64_t us = 0; us <= MAX_US; us++) {
    seen += hist[us];
    if (seen > want) return us;
  }
  return MAX_US;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s MOUNT PREFIX N THREADS SECONDS\n", argv[0]);
    return 2;
  }
  g_mount = argv[1];
  g_prefix = argv[2];
  g_n = atol(argv[3]);
  int threads = atoi(argv[4]);
  double secs = atof(argv[5]);
  if (g_n < 1 || threads < 1 || threads > 256 || secs <= 0) {
    fprintf(stderr, "bad args\n");
    return 2;
  }
  struct worker* w = calloc((size_t)threads, sizeof *w);
  if (!w) return 1;
  for (int i = 0; i < threads; i++) {
    w[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ now_ns();
    w[i].hist = calloc(MAX_US + 1, sizeof(uint32_t));
    if (!w[i].hist) return 1;
    pthread_create(&w[i].t, NULL, run, &w[i]);
  }
  uint64_t t0 = now_ns();
  atomic_store(&g_go, 1);
  struct timespec d = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
  nanosleep(&d, NULL);
  atomic_store(&g_stop, 1);
  uint64_t* hist = calloc(MAX_US + 1, sizeof(uint64_t));
  if (!hist) return 1;
  uint64_t ops = 0, errors = 0, bytes = 0;
  int first_errno = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].t, NULL);
    ops += w[i].ops;
    errors += w[i].errors;
    bytes += w[i].bytes;
    if (!first_errno) first_errno = w[i].first_errno;
    for (int us = 0; us <= MAX_US; us++) hist[us] += w[i].hist[us];
  }
  double elapsed = (double)(now_ns() - t0) / 1e9;
  if (ops == 0) {
    fprintf(stderr, "no successful reads (%llu errors, first: %s)\n", (unsigned long long)errors,
            strerror(first_errno));
    return 1;
  }
  if (errors) fprintf(stderr, "%llu failed reads (first: %s)\n", (unsigned long long)errors,
                      strerror(first_errno));
  printf("ops_per_s %.1f ops %llu errors %llu p50_us %llu p99_us %llu bytes %llu\n",
         (double)ops / elapsed, (unsigned long long)ops, (unsigned long long)errors,
         (unsigned long long)percentile(hist, ops, 0.50),
         (unsigned long long)percentile(hist, ops, 0.99), (unsigned long long)bytes);
  return 0;
}
