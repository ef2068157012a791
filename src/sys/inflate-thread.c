/*
 * inflate-thread: a gzip archive inflated on a thread of its own, so that `bunc bundle` (and
 * a one-shot's `run --rootfs <tarball>`) writes files on the JavaScript thread while the next
 * batch is being inflated: two cores, as GNU tar uses two (tar and gzip).
 * The thread reads the archive fd, inflates with the system's libz.so.1 and writes the tar
 * bytes to a pipe the JavaScript thread reads; it runs no JavaScript and calls only libc
 * and libz. Prebuilt by scripts/build.ts and carried in the binary; without it, unpacking
 * inflates on the JavaScript thread (src/bundle/gunzip.ts).
 * No #include: libc is resolved from the running process, types are declared here.
 */
typedef unsigned long size_t;
typedef long ssize_t;
extern ssize_t read(int, void *, size_t);
extern ssize_t write(int, const void *, size_t);
extern int close(int);
extern int *__errno_location(void);
extern void *dlopen(const char *, int);
extern void *dlsym(void *, const char *);
extern int pthread_create(unsigned long *, const void *, void *(*)(void *), void *);
extern int pthread_join(unsigned long, void **);
extern int pthread_sigmask(int, const void *, void *);

/* zlib's z_stream on LP64 (112 bytes), as src/sys/libz.ts lays it out. */
struct z_stream {
  const unsigned char *next_in; unsigned avail_in; unsigned long total_in;
  unsigned char *next_out; unsigned avail_out; unsigned long total_out;
  const char *msg; void *state; void *zalloc, *zfree, *opaque;
  int data_type; unsigned long adler, reserved;
};
typedef int (*inflate_init_fn)(struct z_stream *, int, const char *, int);
typedef int (*inflate_fn)(struct z_stream *, int);

/*
 * The job, shared with inflate-thread.ts and kept alive by it until the join: 16 longs, zlib's
 * message (128 bytes), then the input buffer (CHUNK) and the output buffer (BATCH): musl's
 * threads have 128 KiB of stack.
 */
enum {
  J_IN_FD, J_OUT_FD, J_HEAD, J_HEAD_LEN, /* the caller's: the archive, the pipe, bytes read already */
  J_READ, J_STATUS, J_ERRNO,              /* the thread's: input bytes read, how it ended */
  J_THREAD, J_INFLATE_INIT, J_INFLATE, J_INFLATE_RESET, J_INFLATE_END,
  J_MSG = 16, J_BUFFERS = 32
};
enum { ST_RUNNING = 0, ST_DONE = 1, ST_ZLIB = -1, ST_TRUNCATED = -2, ST_READ = -3, ST_WRITE = -4 };
#define Z_OK 0
#define Z_STREAM_END 1
#define Z_BUF_ERROR (-5)
#define CHUNK (64 * 1024)
/*
 * The tar bytes go out in batches of up to BATCH (the first ones smaller, so that the reader
 * starts soon): written 64 KiB at a time, the Alpine minirootfs took ~140 hand-overs through
 * the pipe, and the two threads spent a third of the run waiting on each other.
 */
#define BATCH (256 * 1024)
#define EINTR 4

static void fail(long *job, long status, const char *msg) {
  char *dst = (char *)&job[J_MSG];
  int i = 0;
  for (; msg && msg[i] && i < 127; i++) dst[i] = msg[i];
  dst[i] = 0;
  job[J_STATUS] = status;
}

static int write_all(long *job, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write((int)job[J_OUT_FD], p, n);
    if (w < 0) {
      if (*__errno_location() == EINTR) continue;
      job[J_ERRNO] = *__errno_location(); /* EPIPE: the reader stopped (its own error); SIGPIPE is blocked here */
      fail(job, ST_WRITE, "write");
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void *run(void *arg) {
  long *job = arg;
  unsigned long all[16];
  for (int i = 0; i < 16; i++) all[i] = ~0UL;
  pthread_sigmask(0 /* SIG_BLOCK */, all, 0); /* signals are bunc's JavaScript thread's to take */
  inflate_fn inflate = (inflate_fn)job[J_INFLATE];
  int (*reset)(struct z_stream *) = (void *)job[J_INFLATE_RESET];
  int (*end)(struct z_stream *) = (void *)job[J_INFLATE_END];
  struct z_stream zs = {0};
  static const char version[] = "1";
  if (((inflate_init_fn)job[J_INFLATE_INIT])(&zs, 15 + 16, version, (int)sizeof zs) != Z_OK) {
    fail(job, ST_ZLIB, "inflateInit2 failed");
    close((int)job[J_OUT_FD]);
    return 0;
  }
  unsigned char *in_buf = (unsigned char *)&job[J_BUFFERS], *out = in_buf + CHUNK;
  const unsigned char *src = (const unsigned char *)job[J_HEAD];
  ssize_t n = job[J_HEAD_LEN];
  int at_end = 0, trailing = 0;
  size_t filled = 0;    /* tar bytes in `out` not yet written */
  size_t batch = CHUNK; /* the first batches smaller: the reader has nothing to do until one comes */
  for (;;) {
    if (n == 0) {
      n = read((int)job[J_IN_FD], in_buf, CHUNK);
      if (n < 0 && *__errno_location() == EINTR) { n = 0; continue; }
      if (n < 0) { job[J_ERRNO] = *__errno_location(); fail(job, ST_READ, "read"); goto out; }
      if (n == 0) break;
      job[J_READ] += n;
      src = in_buf;
    }
    size_t off = 0;
    while (off < (size_t)n && !trailing) {
      if (at_end) {
        if (src[off] == 0) { trailing = 1; break; } /* zero padding after the last member, as gzip ignores it */
        reset(&zs);                                  /* another member */
        at_end = 0;
      }
      zs.next_in = src + off;
      zs.avail_in = (unsigned)((size_t)n - off);
      for (;;) {
        zs.next_out = out + filled;
        zs.avail_out = (unsigned)(batch - filled);
        int rc = inflate(&zs, 0);
        int wants_input = zs.avail_out > 0;
        filled = batch - zs.avail_out;
        if (filled == batch) {
          if (write_all(job, out, filled) < 0) goto out;
          filled = 0;
          if (batch < BATCH) batch *= 2;
        }
        if (rc == Z_STREAM_END) { at_end = 1; break; }
        if (rc != Z_OK && rc != Z_BUF_ERROR) { fail(job, ST_ZLIB, zs.msg ? zs.msg : "zlib error"); goto out; }
        if (zs.avail_in == 0 && wants_input) break;
      }
      off = (size_t)n - zs.avail_in;
    }
    n = 0;
  }
  if (filled > 0 && write_all(job, out, filled) < 0) goto out;
  if (!at_end && !trailing) fail(job, ST_TRUNCATED, "unexpected end of file");
  else job[J_STATUS] = ST_DONE;
out:
  end(&zs);
  close((int)job[J_OUT_FD]); /* the reader's EOF */
  return 0;
}

/* Binds libz and starts the thread: 0, or -1 where libz is missing (nothing started). */
int bunc_inflate_start(long *job) {
  void *z = dlopen("libz.so.1", 2 /* RTLD_NOW */);
  if (!z) return -1;
  const char *names[] = {"inflateInit2_", "inflate", "inflateReset", "inflateEnd"};
  for (int i = 0; i < 4; i++)
    if (!(job[J_INFLATE_INIT + i] = (long)dlsym(z, names[i]))) return -1;
  unsigned long t;
  int rc = pthread_create(&t, 0, run, job);
  if (rc != 0) return -rc;
  job[J_THREAD] = (long)t;
  return 0;
}

/* Waits for the thread (after its EOF, or after the reader closed its end). */
int bunc_inflate_join(long *job) {
  return pthread_join((unsigned long)job[J_THREAD], 0);
}
