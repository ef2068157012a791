/*
 * inflate-thread: a gzip archive inflated on a thread of its own, so that `bunc bundle` (and
 * a one-shot's `run --rootfs <tarball>`) writes files on the JavaScript thread while the next
 * batch is being inflated: two cores, as GNU tar uses two (tar and gzip).
 * The thread reads the archive fd and inflates it with the system's libz.so.1 into a ring of
 * slots in the job's memory, which the JavaScript thread reads in place: no pipe, so the tar
 * bytes are not copied through the kernel twice. The thread runs no JavaScript and calls only
 * libc and libz. The gzip check values (CRC-32 and length) are computed on the reader's side,
 * in bunc_inflate_next, where the reader would otherwise wait for the thread: zlib's check
 * was a tenth of the thread's time. Prebuilt by scripts/build.ts and carried in the binary;
 * without it, unpacking inflates on the JavaScript thread (src/bundle/gunzip.ts).
 * No #include: libc is resolved from the running process, types are declared here.
 */
typedef unsigned long size_t;
typedef long ssize_t;
extern ssize_t read(int, void *, size_t);
extern int *__errno_location(void);
extern void *dlopen(const char *, int);
extern void *dlsym(void *, const char *);
extern int pthread_create(unsigned long *, const void *, void *(*)(void *), void *);
extern int pthread_join(unsigned long, void **);
extern int pthread_sigmask(int, const void *, void *);
/* A mutex and a condition variable in 64 bytes each, all zeros (their static initializers in glibc and musl). */
extern int pthread_mutex_lock(void *);
extern int pthread_mutex_unlock(void *);
extern int pthread_cond_wait(void *, void *);
extern int pthread_cond_signal(void *);

/* zlib's z_stream on LP64 (112 bytes), as src/sys/libz.ts lays it out. */
struct z_stream {
  const unsigned char *next_in; unsigned avail_in; unsigned long total_in;
  unsigned char *next_out; unsigned avail_out; unsigned long total_out;
  const char *msg; void *state; void *zalloc, *zfree, *opaque;
  int data_type; unsigned long adler, reserved;
};
typedef int (*inflate_init_fn)(struct z_stream *, int, const char *, int);
typedef int (*inflate_fn)(struct z_stream *, int);
typedef unsigned long (*crc32_fn)(unsigned long, const unsigned char *, unsigned);

/*
 * The job, shared with inflate-thread.ts and kept alive by it until the join: 32 longs, zlib's
 * message (128 bytes), the lock and the two conditions, the slots' table, then the input
 * buffer (CHUNK) and the SLOTS slots (SLOT bytes each): musl's threads have 128 KiB of stack.
 */
enum {
  J_IN_FD, J_HEAD, J_HEAD_LEN,          /* the caller's: the archive, bytes of it read already */
  J_READ, J_STATUS, J_ERRNO,             /* the thread's: input bytes read, how it ended */
  J_THREAD, J_INFLATE_INIT, J_INFLATE, J_INFLATE_RESET, J_INFLATE_END, J_VALIDATE, J_CRC32,
  J_PRODUCED, J_CONSUMED, J_FINISHED, J_CANCELLED, /* slots filled and read so far; the thread's end; the reader's */
  J_SLOT, J_HELD,                        /* the slot the reader holds (J_HELD: whether it holds one) */
  J_CRC, J_TOTAL,                        /* the reader's check values of the member so far */
  J_MSG = 32, J_LOCK = 48, J_FILLED = 56, J_EMPTIED = 64, J_TABLE = 72, J_BUFFERS = 104
};
/* Each slot's entry in the table: its length, whether a member ends with it, and that member's trailer. */
enum { T_LEN, T_END, T_CRC, T_SIZE, T_WIDTH };
enum { ST_RUNNING = 0, ST_DONE = 1, ST_ZLIB = -1, ST_TRUNCATED = -2, ST_READ = -3, ST_CHECK = -5 };
#define Z_OK 0
#define Z_STREAM_END 1
#define Z_BUF_ERROR (-5)
#define CHUNK (64 * 1024)
#define SLOTS 4
/*
 * A slot holds up to SLOT tar bytes (the first ones are handed over smaller, so that the
 * reader starts soon): in 64 KiB hand-overs the Alpine minirootfs took ~140, and the two
 * threads spent a third of the run waiting on each other.
 */
#define SLOT (256 * 1024)
#define EINTR 4

static void *lock_of(long *job) { return &job[J_LOCK]; }
static long *entry(long *job, long slot) { return &job[J_TABLE + slot * T_WIDTH]; }
static unsigned char *slot_bytes(long *job, long slot) { return (unsigned char *)&job[J_BUFFERS] + CHUNK + slot * SLOT; }

static void set_message(long *job, const char *msg) {
  char *dst = (char *)&job[J_MSG];
  int i = 0;
  for (; msg && msg[i] && i < 127; i++) dst[i] = msg[i];
  dst[i] = 0;
}

/* The thread's end (ST_DONE or why not): the reader's next call sees it once the slots are read. */
static void finish(long *job, long status, const char *msg) {
  pthread_mutex_lock(lock_of(job));
  if (job[J_STATUS] == ST_RUNNING) {
    set_message(job, msg);
    job[J_STATUS] = status;
  }
  job[J_FINISHED] = 1;
  pthread_cond_signal(&job[J_FILLED]);
  pthread_mutex_unlock(lock_of(job));
}

/* Waits for the next slot to be free: its index, or -1 when the reader has stopped. */
static long claim(long *job) {
  pthread_mutex_lock(lock_of(job));
  while (job[J_PRODUCED] - job[J_CONSUMED] == SLOTS && !job[J_CANCELLED]) pthread_cond_wait(&job[J_EMPTIED], lock_of(job));
  long slot = job[J_CANCELLED] ? -1 : job[J_PRODUCED] % SLOTS;
  pthread_mutex_unlock(lock_of(job));
  return slot;
}

/* Hands a filled slot over: `len` tar bytes, and the trailer of the member it ends, if it ends one. */
static void publish(long *job, long slot, size_t len, int member_end, const unsigned char *trailer) {
  long *e = entry(job, slot);
  e[T_LEN] = (long)len;
  e[T_END] = member_end;
  if (member_end) {
    e[T_CRC] = trailer[0] | trailer[1] << 8 | trailer[2] << 16 | (long)trailer[3] << 24;
    e[T_SIZE] = trailer[4] | trailer[5] << 8 | trailer[6] << 16 | (long)trailer[7] << 24;
  }
  pthread_mutex_lock(lock_of(job));
  job[J_PRODUCED]++;
  pthread_cond_signal(&job[J_FILLED]);
  pthread_mutex_unlock(lock_of(job));
}

/* The last 8 input bytes consumed (a member's trailer when it has just ended), in order. */
static void remember(unsigned char *last, const unsigned char *from, const unsigned char *to) {
  long n = to - from;
  if (n >= 8) {
    for (int i = 0; i < 8; i++) last[i] = to[i - 8];
    return;
  }
  for (int i = 0; i < 8 - n; i++) last[i] = last[i + n];
  for (long i = 0; i < n; i++) last[8 - n + i] = from[i];
}

static void *run(void *arg) {
  long *job = arg;
  unsigned long all[16];
  for (int i = 0; i < 16; i++) all[i] = ~0UL;
  pthread_sigmask(0 /* SIG_BLOCK */, all, 0); /* signals are bunc's JavaScript thread's to take */
  inflate_fn inflate = (inflate_fn)job[J_INFLATE];
  int (*reset)(struct z_stream *) = (void *)job[J_INFLATE_RESET];
  int (*end)(struct z_stream *) = (void *)job[J_INFLATE_END];
  int (*validate)(struct z_stream *, int) = (void *)job[J_VALIDATE];
  struct z_stream zs = {0};
  static const char version[] = "1";
  if (((inflate_init_fn)job[J_INFLATE_INIT])(&zs, 15 + 16, version, (int)sizeof zs) != Z_OK) {
    finish(job, ST_ZLIB, "inflateInit2 failed");
    return 0;
  }
  validate(&zs, 0); /* the reader checks each member (bunc_inflate_next) */
  unsigned char *in_buf = (unsigned char *)&job[J_BUFFERS];
  unsigned char last[8] = {0};
  const unsigned char *src = (const unsigned char *)job[J_HEAD];
  ssize_t n = job[J_HEAD_LEN];
  int at_end = 0, trailing = 0;
  long slot = -1;
  unsigned char *out = 0;
  size_t filled = 0;   /* tar bytes in the slot not yet handed over */
  size_t want = CHUNK; /* the first hand-overs smaller: the reader has nothing to do until one comes */
  for (;;) {
    if (n == 0) {
      n = read((int)job[J_IN_FD], in_buf, CHUNK);
      if (n < 0 && *__errno_location() == EINTR) { n = 0; continue; }
      if (n < 0) { job[J_ERRNO] = *__errno_location(); finish(job, ST_READ, "read"); goto out; }
      if (n == 0) break;
      job[J_READ] += n;
      src = in_buf;
    }
    size_t off = 0;
    while (off < (size_t)n && !trailing) {
      if (at_end) {
        if (src[off] == 0) { trailing = 1; break; } /* zero padding after the last member, as gzip ignores it */
        reset(&zs);                                  /* another member (inflateReset keeps the check off) */
        at_end = 0;
      }
      zs.next_in = src + off;
      zs.avail_in = (unsigned)((size_t)n - off);
      for (;;) {
        if (slot < 0 && (slot = claim(job)) < 0) goto out; /* the reader stopped */
        out = slot_bytes(job, slot);
        const unsigned char *before = zs.next_in;
        zs.next_out = out + filled;
        zs.avail_out = (unsigned)(want - filled);
        int rc = inflate(&zs, 0);
        remember(last, before, zs.next_in);
        int wants_input = zs.avail_out > 0;
        filled = want - zs.avail_out;
        if (filled == want || rc == Z_STREAM_END) { /* a member's end ends its slot: the reader checks the member there */
          publish(job, slot, filled, rc == Z_STREAM_END, last);
          slot = -1;
          filled = 0;
          if (want < SLOT) want *= 2;
        }
        if (rc == Z_STREAM_END) { at_end = 1; break; }
        if (rc != Z_OK && rc != Z_BUF_ERROR) { finish(job, ST_ZLIB, zs.msg ? zs.msg : "zlib error"); goto out; }
        if (zs.avail_in == 0 && wants_input) break;
      }
      off = (size_t)n - zs.avail_in;
    }
    n = 0;
  }
  if (filled > 0) publish(job, slot, filled, 0, last);
  if (!at_end && !trailing) finish(job, ST_TRUNCATED, "unexpected end of file");
  else finish(job, ST_DONE, 0);
out:
  end(&zs);
  return 0;
}

/* Binds libz and starts the thread: 0, or -1 where libz is missing or older than 1.2.9 (nothing started). */
int bunc_inflate_start(long *job) {
  void *z = dlopen("libz.so.1", 2 /* RTLD_NOW */);
  if (!z) return -1;
  const char *names[] = {"inflateInit2_", "inflate", "inflateReset", "inflateEnd", "inflateValidate", "crc32"};
  for (int i = 0; i < 6; i++)
    if (!(job[J_INFLATE_INIT + i] = (long)dlsym(z, names[i]))) return -1;
  unsigned long t;
  int rc = pthread_create(&t, 0, run, job);
  if (rc != 0) return -rc;
  job[J_THREAD] = (long)t;
  return 0;
}

/*
 * The reader's side: gives the slot it held back (first checking the member that slot ends,
 * if it ends one) and waits for the next: its length (its index in J_SLOT), or -1 at the end
 * (J_STATUS says how it ended).
 */
long bunc_inflate_next(long *job) {
  if (job[J_HELD]) {
    long slot = job[J_SLOT], *e = entry(job, slot);
    crc32_fn crc32 = (crc32_fn)job[J_CRC32];
    job[J_CRC] = (long)crc32((unsigned long)job[J_CRC], slot_bytes(job, slot), (unsigned)e[T_LEN]);
    job[J_TOTAL] = (job[J_TOTAL] + e[T_LEN]) & 0xffffffffL;
    int bad = e[T_END] && (e[T_CRC] != job[J_CRC] || e[T_SIZE] != job[J_TOTAL]);
    if (e[T_END]) job[J_CRC] = job[J_TOTAL] = 0;
    pthread_mutex_lock(lock_of(job));
    job[J_HELD] = 0;
    job[J_CONSUMED]++;
    if (bad && job[J_STATUS] >= ST_RUNNING) {
      set_message(job, "incorrect data check");
      job[J_STATUS] = ST_CHECK;
      job[J_CANCELLED] = 1; /* the thread stops at its next slot */
    }
    pthread_cond_signal(&job[J_EMPTIED]);
    pthread_mutex_unlock(lock_of(job));
    if (bad) return -1;
  }
  pthread_mutex_lock(lock_of(job));
  while (job[J_PRODUCED] == job[J_CONSUMED] && !job[J_FINISHED]) pthread_cond_wait(&job[J_FILLED], lock_of(job));
  long len = -1;
  if (job[J_PRODUCED] > job[J_CONSUMED] && job[J_STATUS] >= ST_RUNNING) {
    job[J_SLOT] = job[J_CONSUMED] % SLOTS;
    job[J_HELD] = 1;
    len = entry(job, job[J_SLOT])[T_LEN];
  }
  pthread_mutex_unlock(lock_of(job));
  return len;
}

/* Stops the thread (it ends at its next slot) and waits for it; after the end, just waits. */
int bunc_inflate_join(long *job) {
  pthread_mutex_lock(lock_of(job));
  job[J_CANCELLED] = 1;
  pthread_cond_signal(&job[J_EMPTIED]);
  pthread_mutex_unlock(lock_of(job));
  return pthread_join((unsigned long)job[J_THREAD], 0);
}
