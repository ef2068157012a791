/*
 * bunc-init: the container's process from the go of `start` to execve, as a small static
 * executable (no libc, raw syscalls), so that nothing of Bun waits inside a container.
 *
 *   init mode (create): the Bun init did the rootfs and execs this with the request; it
 *     joins the memory/pids cgroups and the cgroup namespace (the waiting process is tiny,
 *     so a 2 MiB container works), waits on the exec fifo, runs startContainer hooks,
 *     applies process.* and execs the program. Failures go to the fifo as (step, errno).
 *   exec mode: the stage 2 below, inside the container's namespaces: joins the mount
 *     namespace and the late cgroups, applies process.* and execs. Failures go to the sync
 *     socket as (step, errno); EOF means execve succeeded.
 *   init-host mode (create as root): the stage 2 below waits while bunc sets the rootfs up.
 *   stages mode: bunc spawns this to clone the init or exec's process (see stages()).
 *
 * argv[1] is the fd of the request (decimal), argv[2] that of the stages' request; the layout
 * is generated from src/sys/native-request.ts into native-request.h by scripts/build.ts.
 */
#include "native-request.h"
#include "native-syscalls.h"

typedef unsigned long u64;
typedef unsigned int u32;
typedef long i64;

#if defined(__x86_64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
#else
#error "bunc-init: unsupported architecture"
#endif

#define S0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define S1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define S2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define S5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* The compiler may emit calls to these for struct copies and zeroing. */
void *memset(void *d, int c, unsigned long n) { unsigned char *p = d; while (n--) *p++ = (unsigned char)c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { unsigned char *p = d; const unsigned char *q = s; while (n--) *p++ = *q++; return d; }

static __attribute__((noreturn)) void die(int code) { for (;;) S1(NR_exit, code); }

static u64 slot[N_FIELDS];
static const unsigned char *blob;
static int report_fd = -1;

/* A failure: (step, errno or wait status) to bunc, then the exit status (127/126: execve). */
static __attribute__((noreturn)) void report(int step, int value, int code) {
  if (report_fd >= 0) {
    int msg[4] = { 0x45524e42 /* "BNRE" */, step, value, code };
    S3(NR_write, report_fd, msg, sizeof msg);
  } else {
    /* Before `start` opened the fifo there is no one to tell but the container's stderr. */
    char line[64] = "bunc-init: failed at step ";
    int n = 26;
    line[n++] = '0' + step / 10; line[n++] = '0' + step % 10;
    memcpy(line + n, ", errno ", 8); n += 8;
    line[n++] = '0' + (value / 100) % 10; line[n++] = '0' + (value / 10) % 10; line[n++] = '0' + value % 10;
    line[n++] = '\n';
    S3(NR_write, 2, line, n);
  }
  die(code);
}

static __attribute__((noreturn)) void fail(int step, long rc, int code) { report(step, (int)-rc, code); }

static long check(long rc, int step) {
  if (rc < 0 && rc > -4096) fail(step, rc, 1);
  return rc;
}

static const unsigned char *field(int f, u32 *len) {
  u64 v = slot[f];
  *len = (u32)v;
  return blob + (v >> 32);
}

/* The request is a memfd: read at explicit offsets, whatever its file position. */
static long req_off;
static long read_all(int fd, void *buf, unsigned long n) {
  unsigned long got = 0;
  while (got < n) {
    long r = S4(NR_pread64, fd, (char *)buf + got, n - got, req_off);
    if (r > 0) req_off += r;
    if (r == -4 /* EINTR */) continue;
    if (r <= 0) return -1;
    got += r;
  }
  return 0;
}

static unsigned long slen(const char *s) { unsigned long n = 0; while (s[n]) n++; return n; }

/* A string field's bytes without its NUL (for what is written out: the state JSON). */
static const unsigned char *text(int f, u32 *len) {
  const unsigned char *p = field(f, len);
  if (*len && p[*len - 1] == 0) (*len)--;
  return p;
}

/* A NUL-separated list in a blob -> a NULL-terminated pointer array in `out`. */
static char **list(int f, int count_field, char **out, int max) {
  u32 len;
  const char *p = (const char *)field(f, &len);
  int n = (int)slot[count_field];
  if (n >= max) fail(STEP_REQUEST, -7 /* E2BIG */, 1);
  for (int i = 0; i < n; i++) { out[i] = (char *)p; p += slen(p) + 1; }
  out[n] = 0;
  return out;
}

static unsigned char request_buf[1 << 20];
static char *argv_v[4096], *env_v[4096], *hook_args[1024], *hook_env[1024];

static void read_request(int fd) {
  u64 head[3];
  req_off = 0;
  if (read_all(fd, head, sizeof head) < 0 || head[0] != REQUEST_MAGIC || head[1] != REQUEST_VERSION || head[2] != N_FIELDS)
    fail(STEP_REQUEST, -22, 1);
  if (read_all(fd, slot, sizeof slot) < 0) fail(STEP_REQUEST, -5, 1);
  u64 blob_len = slot[F_BLOB_LEN];
  if (blob_len > sizeof request_buf || read_all(fd, request_buf, blob_len) < 0) fail(STEP_REQUEST, -7, 1);
  blob = request_buf;
}

/* startContainer hooks: the state on stdin, their own argv/env and timeout, in the container. */
static void run_hooks(void) {
  u32 len;
  const unsigned char *p = field(F_HOOKS, &len), *end = p + len;
  u32 state_len;
  const unsigned char *state = text(F_HOOK_STATE, &state_len);
  /* Reported with the status (index << 16): bunc names the hook as runc does ("#1"). */
  for (int index = 0; p < end; index++) {
    u32 timeout, argc, envc;
    memcpy(&timeout, p, 4); memcpy(&argc, p + 4, 4); memcpy(&envc, p + 8, 4);
    p += 12;
    char *path = (char *)p; p += slen(path) + 1;
    if (argc >= 1023 || envc >= 1023) fail(STEP_HOOK, -7, 1);
    for (u32 i = 0; i < argc; i++) { hook_args[i] = (char *)p; p += slen((char *)p) + 1; }
    hook_args[argc] = 0;
    for (u32 i = 0; i < envc; i++) { hook_env[i] = (char *)p; p += slen((char *)p) + 1; }
    hook_env[envc] = 0;
    int fds[2];
    check(S2(NR_pipe2, fds, 02000000 /* O_CLOEXEC */), STEP_HOOK);
    long pid = check(sys6(NR_clone, 17 /* SIGCHLD */, 0, 0, 0, 0, 0), STEP_HOOK);
    if (pid == 0) {
      S3(NR_dup3, fds[0], 0, 0);
      S3(NR_execve, path, hook_args, hook_env);
      die(127);
    }
    S1(NR_close, fds[0]);
    S3(NR_write, fds[1], state, state_len);
    S1(NR_close, fds[1]);
    int status = 0;
    long waited = 0;
    for (;;) {
      long r = S4(NR_wait4, pid, &status, timeout ? 1 /* WNOHANG */ : 0, 0);
      if (r == pid) break;
      if (r < 0 && r != -4) fail(STEP_HOOK, r, 1);
      if (timeout && waited >= (long)timeout * 1000) {
        S2(NR_kill, pid, 9);
        S4(NR_wait4, pid, &status, 0, 0);
        report(STEP_HOOK_TIMEOUT, index << 16, 1);
      }
      if (timeout) {
        long ts[2] = { 0, 1000000 };
        S2(NR_nanosleep, ts, 0);
        waited++;
      }
    }
    if (status != 0) report(STEP_HOOK_STATUS, (status & 0xffff) | index << 16, 1);
  }
}

/* One byte `tag` with `fd` attached (SCM_RIGHTS). */
static long send_fd(int sock, int fd, const void *data, unsigned long len) {
  struct { const void *base; unsigned long len; } iov = { data, len };
  struct { u64 len; int level, type; int fd; int pad; } cmsg = { 20, 1 /* SOL_SOCKET */, 1 /* SCM_RIGHTS */, fd, 0 };
  struct { void *name; u32 namelen; void *iov; unsigned long iovlen; void *control; unsigned long controllen; int flags; } msg =
    { 0, 0, &iov, 1, &cmsg, 24, 0 };
  return S3(NR_sendmsg, sock, &msg, 0x4000 /* MSG_NOSIGNAL */);
}

static void install_seccomp(void) {
  u32 len;
  const unsigned char *prog = field(F_SECCOMP_PROGRAM, &len);
  if (!len) return;
  struct { unsigned short n; const void *filter; } fprog = { (unsigned short)(len / 8), prog };
  long listener = check(S3(NR_seccomp, 1 /* SET_MODE_FILTER */, (long)slot[F_SECCOMP_FLAGS], &fprog), STEP_SECCOMP);
  int sock = (int)(i64)slot[F_SECCOMP_LISTENER_SOCKET];
  if (!(slot[F_SECCOMP_FLAGS] & 8 /* NEW_LISTENER */) || sock < 0) return;
  /* runtime-spec: the listener fd with the container process state, SCM_RIGHTS. */
  u32 state_len;
  const unsigned char *state = text(F_SECCOMP_LISTENER_STATE, &state_len);
  check(send_fd(sock, (int)listener, state, state_len), STEP_SECCOMP_LISTENER);
  S1(NR_close, listener);
  S1(NR_close, sock);
}

/* The process's stdio made its user's, as runc's fixStdioPermissions (process.ts giveStdio):
   the host's /dev/null is left alone, and an fd that cannot change (an owner the user
   namespace does not map, a read-only mount) is left as it is. */
static void give_stdio(u32 uid) {
  for (int fd = 0; fd <= 2; fd++) {
    struct { u32 mask, blksize; u64 attributes; u32 nlink, uid, gid; unsigned short mode, pad0; u64 rest[12]; u32 rdev_major, rdev_minor, more[30]; } st;
    if (S5(NR_statx, fd, "", 0x1000 /* AT_EMPTY_PATH */, 0x1 | 0x2 | 0x8 /* TYPE, MODE, UID */, &st) < 0) continue;
    int dev_null = (st.mode & 0170000) == 0020000 && st.rdev_major == 1 && st.rdev_minor == 3;
    if (st.uid == uid || dev_null) continue;
    S3(NR_fchown, fd, uid, -1);
  }
}

static void apply_process(void) {
  u32 len;
  const unsigned char *rl = field(F_RLIMITS, &len);
  for (u32 off = 0; off + 20 <= len; off += 20) {
    u32 type; u64 lim[2];
    memcpy(&type, rl + off, 4); memcpy(lim, rl + off + 4, 16);
    check(S4(NR_prlimit64, 0, type, lim, 0), STEP_RLIMITS);
  }
  /* Spec 1.3 attributes, while the capabilities they may need (CAP_SYS_NICE, ...) are held. */
  if ((i64)slot[F_PERSONALITY] >= 0) check(S1(NR_personality, slot[F_PERSONALITY]), STEP_PERSONALITY);
  if (slot[F_MEMPOLICY_SET]) {
    const unsigned char *nodes = field(F_MEMPOLICY_NODES, &len);
    check(S3(NR_set_mempolicy, slot[F_MEMPOLICY_MODE], len ? nodes : 0, len ? len * 8 + 1 : 0), STEP_MEMPOLICY);
  }
  if (slot[F_SCHED_SET]) {
    struct { u32 size, policy; u64 flags; int nice; u32 priority; u64 runtime, deadline, period; } attr = {
      48, (u32)slot[F_SCHED_POLICY], slot[F_SCHED_FLAGS], (int)(i64)slot[F_SCHED_NICE], (u32)slot[F_SCHED_PRIORITY],
      slot[F_SCHED_RUNTIME], slot[F_SCHED_DEADLINE], slot[F_SCHED_PERIOD] };
    check(S3(NR_sched_setattr, 0, &attr, 0), STEP_SCHEDULER);
  }
  if ((i64)slot[F_IOPRIO] >= 0) check(S3(NR_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, slot[F_IOPRIO]), STEP_IOPRIO);
  const unsigned char *cpus = field(F_CPU_AFFINITY, &len);
  if (len) check(S3(NR_sched_setaffinity, 0, len, cpus), STEP_AFFINITY);
  else if (slot[F_RESET_AFFINITY]) {
    /* Every CPU: the kernel keeps those of the cpuset (and that exist). A failure leaves bunc's
     * own affinity, as runc only warns. */
    unsigned char all[128];
    memset(all, 0xff, sizeof all);
    S3(NR_sched_setaffinity, 0, sizeof all, all);
  }
  int has_caps = (int)slot[F_HAS_CAPS];
  if (has_caps)
    for (int c = 0; c <= (int)slot[F_LAST_CAP]; c++)
      if (!(slot[F_CAP_BOUNDING] & (1UL << c))) {
        long r = S5(NR_prctl, 24 /* PR_CAPBSET_DROP */, c, 0, 0, 0);
        if (r < 0 && r != -22) fail(STEP_CAPBSET, r, 1);
      }
  check(S5(NR_prctl, 8 /* PR_SET_KEEPCAPS */, 1, 0, 0, 0), STEP_KEEPCAPS);
  /* As runc: the cwd is entered while still root (it may be closed to the user), and
     again after the switch when that failed. */
  u32 cwd_len;
  const unsigned char *cwd = field(F_CWD, &cwd_len);
  long cwd_rc = cwd_len ? S1(NR_chdir, cwd) : 0;
  /* Not for root: a foreground run or exec passes the caller's own fds (its terminal, its files). */
  if (slot[F_UID] != 0) give_stdio((u32)slot[F_UID]);
  const unsigned char *gids = field(F_GIDS, &len);
  long r = S2(NR_setgroups, len / 4, gids);
  /* A rootless user namespace denies setgroups: fine unless groups were asked for. */
  if (r < 0 && (len || !slot[F_SETGROUPS_MAY_FAIL])) fail(STEP_SETGROUPS, r, 1);
  check(S3(NR_setresgid, slot[F_GID], slot[F_GID], slot[F_GID]), STEP_SETRESGID);
  check(S3(NR_setresuid, slot[F_UID], slot[F_UID], slot[F_UID]), STEP_SETRESUID);
  check(S5(NR_prctl, 8, 0, 0, 0, 0), STEP_KEEPCAPS);
  if (has_caps) {
    u32 header[2] = { 0x20080522, 0 };
    u64 e = slot[F_CAP_EFFECTIVE], p = slot[F_CAP_PERMITTED], i = slot[F_CAP_INHERITABLE];
    u32 data[6] = { (u32)e, (u32)p, (u32)i, (u32)(e >> 32), (u32)(p >> 32), (u32)(i >> 32) };
    check(S2(NR_capset, header, data), STEP_CAPSET);
    S5(NR_prctl, 47 /* PR_CAP_AMBIENT */, 4 /* CLEAR_ALL */, 0, 0, 0);
    /* Only what the kernel allows (in permitted and inheritable), as runc. */
    u64 amb = slot[F_CAP_AMBIENT] & p & i;
    for (int c = 0; c < 64; c++)
      if (amb & (1UL << c)) check(S5(NR_prctl, 47, 2 /* RAISE */, c, 0, 0), STEP_AMBIENT);
  }
  if (slot[F_NO_NEW_PRIVS]) check(S5(NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0), STEP_NO_NEW_PRIVS);
  if ((i64)slot[F_UMASK] >= 0) S1(NR_umask, slot[F_UMASK]);
  if (cwd_rc < 0) check(S1(NR_chdir, cwd), STEP_CWD);
}

/*
 * The LSM attributes of this task that apply at execve, as runc: process.apparmorProfile
 * ("exec <profile>" to attr/apparmor/exec, attr/exec before Linux 5.8: apparmor.ApplyProfile)
 * and process.selinuxLabel (the label to SELinux's attr/exec: selinux.SetExecLabel).
 * The files are opened through the host's /proc, never through the container's: a /proc that
 * the image or a mount provides can be a fake, and writing there would leave the process
 * unconfined without an error (runc's CVE-2019-16884). Nor can bunc hand over a file it
 * opened: the kernel takes writes to attr files only from the task that opened them (the
 * opener's mm, which execve replaces). So this process opens them itself, before it enters
 * the container's filesystem: exec before setns(mnt), the init relative to the host's
 * /proc/<pid>/fd it holds from before pivot_root; it writes right before execve.
 */
static struct lsm_attr {
  int field, step;
  const char *prefix, *name, *old_name;
  int fd;
  long err;
} attrs[] = {
  { F_APPARMOR_PROFILE, STEP_APPARMOR, "exec ", "apparmor/exec", "exec", -1, 0 },
  { F_SELINUX_LABEL, STEP_SELINUX, "", "exec", 0, -1, 0 },
};
#define N_ATTRS (int)(sizeof attrs / sizeof attrs[0])

/* dir + name into buf (both short, fixed strings). */
static const char *join_path(char *buf, const char *dir, const char *name) {
  unsigned long d = slen(dir), n = slen(name);
  memcpy(buf, dir, d);
  memcpy(buf + d, name, n + 1);
  return buf;
}

/* `dir`: the task's attr directory ("/proc/thread-self/attr/"), relative to dirfd. */
static void open_attrs(long dirfd, const char *dir) {
  char path[64];
  for (int i = 0; i < N_ATTRS; i++) {
    struct lsm_attr *a = &attrs[i];
    u32 len;
    field(a->field, &len);
    if (!len) continue;
    long fd = S4(NR_openat, dirfd, join_path(path, dir, a->name), 1 /* O_WRONLY */ | 02000000 /* O_CLOEXEC */, 0);
    if (fd == -2 /* ENOENT */ && a->old_name) fd = S4(NR_openat, dirfd, join_path(path, dir, a->old_name), 1 | 02000000, 0);
    if (fd < 0) a->err = fd; else a->fd = (int)fd;
  }
}

static void apply_attrs(void) {
  static char buf[5 + 4096];
  for (int i = 0; i < N_ATTRS; i++) {
    struct lsm_attr *a = &attrs[i];
    u32 len;
    const unsigned char *value = text(a->field, &len);
    if (!len) continue;
    if (a->fd < 0) fail(a->step, a->err ? a->err : -2, 1);
    unsigned long p = slen(a->prefix);
    if (len > 4096) fail(a->step, -36 /* ENAMETOOLONG */, 1);
    memcpy(buf, a->prefix, p);
    memcpy(buf + p, value, len);
    long r = S3(NR_write, a->fd, buf, p + len);
    if (r < 0) fail(a->step, r, 1);
    S1(NR_close, a->fd);
    a->fd = -1;
  }
}

/*
 * The session keyring about to be joined is made under process.selinuxLabel (runc:
 * selinux.SetKeyLabel). Still in the host's /proc (before pivot_root); a kernel without
 * attr/keycreate is left alone, as go-selinux does.
 */
static void label_keyring(void) {
  u32 len;
  const unsigned char *label = text(F_SELINUX_LABEL, &len);
  if (!len) return;
  long fd = S4(NR_openat, -100 /* AT_FDCWD */, "/proc/thread-self/attr/keycreate", 1 | 02000000, 0);
  if (fd == -2) return;
  check(fd, STEP_KEYCREATE);
  long r = S3(NR_write, fd, label, len);
  S1(NR_close, fd);
  check(r, STEP_KEYCREATE);
}

/* The hex permission field of a KEYCTL_DESCRIBE answer ("type;uid;gid;perm;description"). */
static u64 described_perm(const char *d, long n) {
  int semis = 0;
  u64 perm = 0;
  for (long i = 0; i < n && semis < 4; i++) {
    char c = d[i];
    if (c == ';') { semis++; continue; }
    if (semis != 3) continue;
    perm = perm * 16 + (c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
  }
  return perm;
}

/*
 * The session keyring named KEYRING (runc: "_ses.<id>"), so that no key of the caller's
 * session reaches the container: create makes it and adds KEYRING_PERM (search) to it, as
 * runc's ModKeyringPerm, so that exec, which joins the same name, finds it instead of making
 * another. A kernel without keyrings (ENOSYS), a filter refusing keyctl (EPERM, an outer
 * container's seccomp) or a full key quota (EDQUOT: many containers of one mapped root) is
 * carried on from, as create always did (runc: ENOSYS only); anything else fails. exec then
 * keeps what the init kept: a keyring create could not make, exec does not find either.
 */
static void join_keyring(void) {
  u32 klen;
  const unsigned char *key = field(F_KEYRING, &klen);
  if (!klen) return;
  label_keyring();
  long serial = S2(NR_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, key);
  if (serial == -38 /* ENOSYS */ || serial == -1 /* EPERM */ || serial == -122 /* EDQUOT */) return;
  check(serial, STEP_KEYRING);
  if (!slot[F_KEYRING_PERM]) return;
  static char d[512];
  long n = check(S4(NR_keyctl, 6 /* KEYCTL_DESCRIBE */, serial, d, sizeof d), STEP_KEYRING);
  u64 perm = described_perm(d, n < (long)sizeof d ? n : (long)sizeof d) | slot[F_KEYRING_PERM];
  check(S3(NR_keyctl, 5 /* KEYCTL_SETPERM */, serial, perm), STEP_KEYRING);
}

/* Whether the program named by an absolute path exists, looked at before the filter goes on
   (as runc's LookPath): execve's ENOENT for a file that exists is its interpreter or a
   library missing, which runc reports as "exec PATH: no such file or directory". */
static int program_exists;
static void look_at_program(void) {
  u32 len;
  const char *p = (const char *)field(F_EXEC_PATH, &len);
  if (!len) p = (const char *)field(F_ARGV, &len);
  static unsigned char stx[256];
  if (len && p[0] == '/') program_exists = S5(NR_statx, -100 /* AT_FDCWD */, p, 0, 0, stx) == 0;
}

/* execve, or through $PATH as execvp does: the first entry that exists and runs. */
static __attribute__((noreturn)) void exec_program(void) {
  list(F_ARGV, F_ARGC, argv_v, 4096);
  list(F_ENV, F_ENVC, env_v, 4096);
  u32 len, exec_len;
  const char *path = (const char *)field(F_PATH, &len);
  const char *exec_path = (const char *)field(F_EXEC_PATH, &exec_len);
  /* exec --ignore-paused: the frozen cgroups are joined last (this process freezes there
     until `resume`); bunc is told first, as it cannot wait for the execve. */
  u32 frozen_len;
  const unsigned char *frozen = field(F_FROZEN_CGROUP_FDS, &frozen_len);
  if (frozen_len) {
    int mark[4] = { 0x5a524e42 /* "BNRZ" */, 0, 0, 0 };
    if (report_fd >= 0) S3(NR_write, report_fd, mark, sizeof mark);
    for (u32 off = 0; off + 4 <= frozen_len; off += 4) {
      int fd;
      memcpy(&fd, frozen + off, 4);
      S3(NR_write, fd, "0", 1);
      S1(NR_close, fd);
    }
  }
  /* Of 3..3+PRESERVE_FDS-1 only the caller's fds (KEEP_FDS) go on: a Bun init before this
     one put its own fds in the caller's gaps. */
  u32 keep_len;
  const unsigned char *keep = field(F_KEEP_FDS, &keep_len);
  for (int fd = 3; fd < 3 + (int)slot[F_PRESERVE_FDS]; fd++) {
    int kept = 0;
    for (u32 off = 0; off + 4 <= keep_len; off += 4) {
      int k;
      memcpy(&k, keep + off, 4);
      kept |= k == fd;
    }
    if (!kept) S3(NR_fcntl, fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  }
  /* Everything but stdio and the preserved fds closes at execve, the report fd too: EOF
     on it tells bunc that execve succeeded. */
  S3(NR_close_range, 3 + (int)slot[F_PRESERVE_FDS], ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  const char *arg0 = argv_v[0];
  int slash = 0;
  for (const char *s = arg0; *s; s++) if (*s == '/') slash = 1;
  if (exec_len || slash) {
    long r = S3(NR_execve, exec_len ? exec_path : arg0, argv_v, env_v);
    fail(r == -2 && program_exists ? STEP_INTERPRETER : STEP_EXECVE, r, r == -2 || r == -20 ? 127 : 126);
  }
  /* $PATH search (path holds the PATH value): ENOENT goes on, EACCES is remembered. */
  static char buf[4096];
  long denied = 0;
  const char *p = path;
  while (1) {
    const char *e = p;
    while (*e && *e != ':') e++;
    unsigned long dl = e - p, al = slen(arg0);
    if (dl + al + 2 < sizeof buf) {
      unsigned long n = 0;
      if (dl == 0) buf[n++] = '.'; else { memcpy(buf, p, dl); n = dl; }
      buf[n++] = '/';
      memcpy(buf + n, arg0, al + 1);
      long r = S3(NR_execve, buf, argv_v, env_v);
      if (r == -13) denied = r;
      else if (r != -2 && r != -20) fail(STEP_EXECVE, r, 126);
    }
    if (!*e) break;
    p = e + 1;
  }
  fail(STEP_EXECVE, denied ? denied : -2, denied ? 126 : 127);
}

static void join_cgroups(void) {
  u32 len;
  const unsigned char *fds = field(F_CGROUP_FDS, &len);
  for (u32 off = 0; off + 4 <= len; off += 4) {
    int fd;
    memcpy(&fd, fds + off, 4);
    if (S3(NR_write, fd, "0", 1) != 1) fail(STEP_CGROUP, -5, 1);
    S1(NR_close, fd);
  }
}

/* Blocks until `start` opens the exec fifo; its end stays open (close-on-exec) until execve. */
static void wait_for_start(long proc_fd_dir) {
  char name[16];
  int fifo = (int)slot[F_FIFO_FD], n = 0;
  char rev[16];
  do { rev[n++] = '0' + fifo % 10; fifo /= 10; } while (fifo);
  for (int i = 0; i < n; i++) name[i] = rev[n - 1 - i];
  name[n] = 0;
  long fd = S4(NR_openat, proc_fd_dir, name, 1 /* O_WRONLY */ | 02000000, 0);
  if (fd < 0) fail(STEP_REQUEST, fd, 1);
  S1(NR_close, slot[F_FIFO_FD]);
  S1(NR_close, proc_fd_dir);
  if (S3(NR_write, fd, "0", 1) != 1) die(1);
  report_fd = (int)fd;
}

/* One byte from bunc with at most one fd attached (-1 when none). */
static char recv_byte(int sock, int *fd) {
  char b = 0;
  struct { void *base; unsigned long len; } iov = { &b, 1 };
  struct { u64 len; int level, type; int fd; int pad; } cmsg = { 0, 0, 0, -1, 0 };
  struct { void *name; u32 namelen; void *iov; unsigned long iovlen; void *control; unsigned long controllen; int flags; } msg =
    { 0, 0, &iov, 1, &cmsg, 24, 0 };
  long r;
  do r = S3(NR_recvmsg, sock, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */); while (r == -4);
  if (r != 1) die(1);
  *fd = msg.controllen >= 20 && cmsg.level == 1 && cmsg.type == 1 /* SCM_RIGHTS */ ? cmsg.fd : -1;
  return b;
}

/* A new session whose controlling terminal is the pty slave `fd`, on stdio. */
static void take_terminal(int fd) {
  S0(NR_setsid); /* EPERM: stage 2 made it a session leader already */
  check(S3(NR_ioctl, fd, 0x540E /* TIOCSCTTY */, 0), STEP_CONSOLE);
  for (int i = 0; i < 3; i++) check(S3(NR_dup3, fd, i, 0), STEP_CONSOLE);
  if (fd > 2) S1(NR_close, fd);
}

/*
 * What bunc hands over once the container is made, one byte each, until 'G' (go on):
 *   'r' + fd: the new root (--no-pivot moved the rootfs onto "/" instead of pivot_root,
 *             which would have moved this process's root along);
 *   't' + fd: the pty slave, this process's controlling terminal and stdio from now on
 *             (engines wait for EOF on the stdio they gave `create`).
 */
static void take_handover(int sock) {
  for (;;) {
    int fd;
    char b = recv_byte(sock, &fd);
    if (b == 'G') return;
    if (fd < 0) die(1);
    if (b == 'r') {
      check(S1(NR_fchdir, fd), STEP_ROOT);
      check(S1(NR_chroot, "."), STEP_ROOT);
      check(S1(NR_chdir, "/"), STEP_ROOT);
    } else if (b == 't') {
      take_terminal(fd);
      continue;
    } else {
      die(1);
    }
    S1(NR_close, fd);
  }
}

static int atoi_(const char *s) { int n = 0; while (*s >= '0' && *s <= '9') n = n * 10 + (*s++ - '0'); return n; }

/*
 * The native stages (MODE_STAGES). bunc posix_spawns this executable instead of forking its
 * own multithreaded process, so the clone into the container's namespaces copies this small
 * process, not Bun's memory (nsexec.c does the same from a fork of bunc, where there is no
 * native init). The request says what; failures are reported as nsexec.c reports them.
 *   stage 1: joins the `path` namespaces (user first), unshares the time namespace and writes
 *     its offsets, clones stage 2 into the new namespaces (a child of bunc: CLONE_PARENT, or
 *     clone3(CLONE_INTO_CGROUP) with bunc as child subreaper) and reports its pid;
 *   stage 2: waits for bunc's go (its id maps and cgroup limits are written by then), joins the
 *     v1 hierarchies, becomes root of a user namespace, puts its fds in their places, closes
 *     every other one (CVE-2024-21626) and goes on as the init or exec's process, or executes
 *     bunc as the Bun init (stage_exec).
 */
static int joined_user;

static void stage_report(int fd, long value, long step) {
  long msg[2] = { value, step };
  S3(NR_write, fd, msg, sizeof msg);
}

/* A failure of stage 2, in the JSON line bunc's Bun init would have sent. */
static __attribute__((noreturn)) void stage_error(int fd, const char *json) {
  S3(NR_write, fd, json, slen(json));
  die(1);
}

static int i32_at(const unsigned char *p, u32 i) { int v; memcpy(&v, p + 4 * i, 4); return v; }

static __attribute__((noreturn)) void run(int req_fd);

/* Stage 2 of the Bun init: bunc executed by fd (reachable in a joined mount namespace too),
   with the fds before `next`; a failure is told as nsexec.c tells it. */
static __attribute__((noreturn)) void stage_exec(int target, int next) {
  int exec_fd = (int)(i64)slot[F_STAGE_EXEC_FD];
  if (exec_fd >= 0) {
    if (S3(NR_dup3, exec_fd, next, 02000000 /* O_CLOEXEC: gone once bunc runs */) < 0) die(1);
    exec_fd = next++;
  }
  S3(NR_close_range, next, ~0U, 0);
  list(F_ARGV, F_ARGC, argv_v, 4096);
  list(F_ENV, F_ENVC, env_v, 4096);
  long r = exec_fd >= 0 ? S5(NR_execveat, exec_fd, "", argv_v, env_v, 0x1000 /* AT_EMPTY_PATH */)
    : S3(NR_execve, argv_v[0], argv_v, env_v);
  static char msg[96] = "{\"type\":\"error\",\"message\":\"nsexec: cannot execute bunc init: errno ";
  int n = (int)slen(msg), e = (int)-r;
  if (e >= 100) msg[n++] = '0' + e / 100;
  if (e >= 10) msg[n++] = '0' + (e / 10) % 10;
  msg[n++] = '0' + e % 10;
  msg[n++] = '"'; msg[n++] = '}'; msg[n++] = '\n';
  S3(NR_write, target, msg, n);
  die(127);
}

/*
 * A network namespace of the container's own starts with its loopback down: up, as runc's
 * "loopback" network does. SIOCSIFFLAGS through any socket (AF_UNIX is always there) acts on
 * the socket's namespace, this process's.
 */
static int new_netns; /* stage 2 cloned a network namespace: its loopback is to come up */
static long loopback_up(void) {
  struct { char name[16]; short flags; char pad[22]; } ifr = { "lo", 0, { 0 } };
  long fd = S3(NR_socket, 1 /* AF_UNIX */, 2 /* SOCK_DGRAM */ | 02000000 /* SOCK_CLOEXEC */, 0);
  if (fd < 0) return fd;
  long r = S3(NR_ioctl, fd, 0x8913 /* SIOCGIFFLAGS */, &ifr);
  if (r == 0 && !(ifr.flags & 1 /* IFF_UP */)) {
    ifr.flags |= 1;
    r = S3(NR_ioctl, fd, 0x8914 /* SIOCSIFFLAGS */, &ifr);
  }
  S1(NR_close, fd);
  return r;
}

static __attribute__((noreturn)) void stage2(int req_fd) {
  int sync_fd = (int)slot[F_STAGE_SYNC_FD], target = (int)slot[F_STAGE_SYNC_TARGET];
  S1(NR_close, slot[F_STAGE_REPORT_FD]);
  char go;
  long r;
  do r = S3(NR_read, slot[F_STAGE_GO_FD], &go, 1); while (r == -4);
  if (r != 1) die(1); /* bunc gave up, or died: its end of the pipe is closed */
  S1(NR_close, slot[F_STAGE_GO_FD]);
  /* A session and process group of its own, terminal or not (runc's stage 2): not the
     caller's, which the container's PID namespace cannot see and a terminal signals. */
  S0(NR_setsid);
  S5(NR_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
  /* Dies with bunc until bunc says the container is made (the init clears it then). */
  S5(NR_prctl, 1 /* PR_SET_PDEATHSIG */, 9 /* SIGKILL */, 0, 0, 0);
  /* "0" to `tasks`: moving only this thread skips the threadgroup barrier (an RCU grace period). */
  u32 len;
  const unsigned char *cg = field(F_STAGE_CGROUP_FDS, &len);
  for (u32 i = 0; i < len / 4; i++) {
    if (S3(NR_write, i32_at(cg, i), "0", 1) != 1)
      stage_error(sync_fd, "{\"type\":\"error\",\"message\":\"nsexec: cannot join the container's cgroup\"}\n");
    S1(NR_close, i32_at(cg, i));
  }
  if (slot[F_STAGE_SET_ROOT] || joined_user) {
    /* Root of a new user namespace when 0 is mapped; in a joined one (exec, `path`) setns gave
       every capability in it, which execve keeps only for its root (the host's root is not
       mapped there), as runc. After the clone: CLONE_INTO_CGROUP checks the caller's uid. */
    S2(NR_setgroups, 0, 0);
    S3(NR_setresgid, 0, 0, 0);
    if (S3(NR_setresuid, 0, 0, 0) < 0 && joined_user)
      stage_error(sync_fd, "{\"type\":\"error\",\"message\":\"nsexec: cannot become root (uid 0) in the joined user namespace: is 0 mapped?\"}\n");
  }
  new_netns = ((slot[F_STAGE_CLONE_FLAGS] | slot[F_STAGE_UNSHARE_FLAGS]) & 0x40000000 /* CLONE_NEWNET */) != 0;
  /* The Bun init's loopback here; the native init's later, beside bunc's mounts (run()). */
  if (slot[F_ARGC] && new_netns && loopback_up() < 0)
    stage_error(sync_fd, "{\"type\":\"error\",\"message\":\"nsexec: cannot bring the network namespace's loopback (lo) up\"}\n");
  /* The container's stdio when the caller gave its own (the library's pipes). */
  const unsigned char *stdio = field(F_STAGE_STDIO, &len);
  for (u32 i = 0; i < 3 && i < len / 4; i++) {
    int fd = i32_at(stdio, i);
    if (fd >= 0 && fd != (int)i && S3(NR_dup3, fd, i, 0) < 0) die(1);
  }
  if (sync_fd != target && S3(NR_dup3, sync_fd, target, 0) < 0) die(1);
  S3(NR_fcntl, target, 2 /* F_SETFD */, 0);
  /* --preserve-fds: of 3..target-1 only the caller's fds go on; the rest of that range is
     bunc's own (a state directory, an eventpoll) and must not reach the container. */
  const unsigned char *keep = field(F_STAGE_KEEP_FDS, &len);
  for (int fd = 3; fd < target; fd++) {
    int kept = 0;
    for (u32 i = 0; i < len / 4; i++) kept |= i32_at(keep, i) == fd;
    if (kept) S3(NR_fcntl, fd, 2, 0);
    else S1(NR_close, fd);
  }
  /* The fds the init needs follow the sync socket (bunc numbered its sources above them). */
  const unsigned char *pass = field(F_STAGE_PASS_FDS, &len);
  for (u32 i = 0; i < len / 4; i++)
    if (S3(NR_dup3, i32_at(pass, i), target + 1 + i, 0) < 0) die(1);
  if (slot[F_ARGC]) stage_exec(target, target + 1 + len / 4);
  S3(NR_close_range, target + 1 + len / 4, ~0U, 0);
  run(req_fd);
}

static __attribute__((noreturn)) void stages(int req_fd, int stage_fd) {
  read_request(stage_fd);
  S1(NR_close, stage_fd);
  int report = (int)slot[F_STAGE_REPORT_FD];
  /* A new user namespace waits for its id maps first: written through /proc/<pid>, which
     a non-dumpable process's owner (root) would refuse to a rootless bunc. */
  if (!slot[F_STAGE_SET_ROOT]) S5(NR_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
  u32 len;
  const unsigned char *joins = field(F_STAGE_JOINS, &len);
  /* As runc's nsexec: first every namespace but the user one that this process may join
     now (one the joined user namespace does not own, e.g. the host's network, may be out
     of reach from inside it), then the user namespace, then the rest (a rootless bunc
     gets its rights in them only there). A failure counts in the last pass only. */
  u64 joined = 0;
  for (int pass = 0; pass < 3; pass++)
    for (u32 i = 0; i < len / 8 && i < 64; i++) {
      int fd = i32_at(joins, 2 * i), type = i32_at(joins, 2 * i + 1), user = type == 0x10000000 /* CLONE_NEWUSER */;
      if ((joined >> i & 1) || (pass == 0 && user) || (pass == 1 && !user)) continue;
      long r = S2(NR_setns, fd, type);
      if (r < 0 && pass == 0) continue;
      if (r < 0) { stage_report(report, r, 1 + i); die(1); }
      if (user) joined_user = 1;
      joined |= 1UL << i;
      S1(NR_close, fd);
    }
  if (slot[F_STAGE_UNSHARE_FLAGS]) {
    long r = S1(NR_unshare, slot[F_STAGE_UNSHARE_FLAGS]);
    if (r < 0) { stage_report(report, r, -1); die(1); }
  }
  const unsigned char *offsets = text(F_STAGE_TIME_OFFSETS, &len);
  if (len) {
    long fd = S4(NR_openat, -100 /* AT_FDCWD */, "/proc/self/timens_offsets", 1 /* O_WRONLY */ | 02000000, 0);
    long r = fd < 0 ? fd : S3(NR_write, fd, offsets, len);
    if (r < 0) { stage_report(report, r, -2); die(1); }
    S1(NR_close, fd);
  }
  long flags = (long)slot[F_STAGE_CLONE_FLAGS], pid;
  if ((i64)slot[F_STAGE_CGROUP2_DIR] >= 0) {
    /* Born in its cgroup2 directory: no migration. The kernel refuses CLONE_PARENT here: bunc
       is a child subreaper and inherits stage 2 when this stage exits. */
    u64 args[11] = { 0 };
    args[0] = (u64)flags | 0x200000000UL /* CLONE_INTO_CGROUP */;
    args[4] = 17; /* exit_signal SIGCHLD */
    args[10] = slot[F_STAGE_CGROUP2_DIR];
    pid = S2(NR_clone3, args, sizeof args);
  } else {
    pid = sys6(NR_clone, flags | 0x00008000L /* CLONE_PARENT */ | 17 /* SIGCHLD */, 0, 0, 0, 0, 0);
  }
  if (pid == 0) stage2(req_fd);
  stage_report(report, pid, pid < 0 ? -3 : 0);
  die(0);
}

/* argv: [name, fd of the request] (init, exec), or [name, fd of the request, fd of the stages' request]. */
static __attribute__((noreturn, used)) void start_c(long *sp) {
  char **argv = (char **)(sp + 1);
  if (!argv[0] || !argv[1]) die(1);
  /* The stages start in bunc's own namespaces and decide when to become non-dumpable. */
  if (argv[2]) stages(atoi_(argv[1]), atoi_(argv[2]));
  run(atoi_(argv[1]));
}

/*
 * Signals ignored without the caller's say, back to their default: Bun ignores SIGPIPE and
 * SIGXFSZ in bunc (and so in what it starts), and the libc's posix_spawn ignores its own
 * internal ones (32, 33) in the stages; an ignored signal stays ignored across execve. What
 * the caller ignored itself (nohup's SIGHUP) goes on to the process, as under runc.
 */
static void reset_signals(void) {
  static const int sigs[] = { 13 /* SIGPIPE */, 25 /* SIGXFSZ */, 32, 33 };
  u64 dfl[4] = { 0 }; /* struct sigaction: SIG_DFL, no flags, an empty mask */
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) S4(NR_rt_sigaction, sigs[i], dfl, 0, 8);
}

/*
 * Until execve the init is bunc's, and a signal whose default would end a process ends it,
 * as runc's Go init (which catches them all). Without a handler the kernel drops such a
 * signal for the init of a PID namespace: `kill TERM` of a created container (or a pidfd's
 * consumer) would do nothing. execve puts every one back to its default for the program.
 * Faults and SIGSYS keep theirs: a crash of the init stays a crash.
 */
static void end_on_signal(int sig) { die(128 + sig); }
#if defined(__x86_64__)
void bunc_sigreturn(void);
__asm__(".text\nbunc_sigreturn:\n mov $15, %eax\n syscall\n hlt\n"); /* rt_sigreturn; never reached */
#else
void bunc_sigreturn(void);
__asm__(".text\nbunc_sigreturn:\n mov x8, #139\n svc #0\n"); /* rt_sigreturn; never reached */
#endif
static void end_on_signals(void) {
  /* struct sigaction as the kernel takes it: handler, flags, restorer, mask (all blocked). */
  u64 sa[4] = { (u64)end_on_signal, 0x04000000 /* SA_RESTORER: x86_64 delivers none without */, (u64)bunc_sigreturn, ~0UL };
  static const unsigned char ends[] = { 1, 2, 3, 6, 10, 12, 13, 14, 15, 16, 24, 25, 26, 27, 29, 30 };
  for (int i = 0, sig; i < (int)sizeof ends + 31; i++) {
    sig = i < (int)sizeof ends ? ends[i] : 34 + i - (int)sizeof ends;
    /* What the caller ignored (nohup's SIGHUP) stays ignored, for the program too. */
    u64 old[4] = { 0 };
    if (S4(NR_rt_sigaction, sig, 0, old, 8) == 0 && old[0] != 1 /* SIG_IGN */) S4(NR_rt_sigaction, sig, sa, 0, 8);
  }
}

static __attribute__((noreturn)) void run(int req_fd) {
  /* execve made this process dumpable again: nothing in the container may open its
     /proc/<pid>/fd (the host's /proc/self/fd is one of them) or /proc/<pid>/exe. */
  S5(NR_prctl, 4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0);
  reset_signals();
  read_request(req_fd);
  if (slot[F_MODE] == MODE_EXEC) {
    S1(NR_close, req_fd);
    report_fd = (int)(i64)slot[F_REPORT_FD];
    /* The stages die with `bunc exec` until here; the process must outlive `exec -d`. */
    S5(NR_prctl, 1 /* PR_SET_PDEATHSIG */, 0, 0, 0, 0);
    /* Still in bunc's mount namespace: its /proc (see open_attrs). */
    open_attrs(-100 /* AT_FDCWD */, "/proc/thread-self/attr/");
    /* In the container's user namespace already (nsexec), whose keyrings the name is looked
       up among; before setns(mnt), as attr/keycreate is the host's /proc too. */
    join_keyring();
    if ((i64)slot[F_MNT_NS_FD] >= 0) {
      check(S2(NR_setns, slot[F_MNT_NS_FD], 0x00020000 /* CLONE_NEWNS */), STEP_SETNS_MNT);
      S1(NR_close, slot[F_MNT_NS_FD]);
    }
    join_cgroups();
    if ((int)slot[F_TERMINAL_FD] > 0) take_terminal((int)slot[F_TERMINAL_FD]);
  } else {
    /* `create` returns when the sync socket closes: by then the init is in every cgroup
       and its cgroup namespace, as the spec has the environment whole at create. */
    report_fd = (int)(i64)slot[F_SYNC_FD];
    end_on_signals();
    join_cgroups();
    if (slot[F_NEW_CGROUP_NS]) check(S1(NR_unshare, 0x02000000 /* CLONE_NEWCGROUP */), STEP_CGROUP_NS);
    long proc_fd_dir = (long)slot[F_PROC_FD_DIR];
    if (slot[F_MODE] == MODE_INIT_HOST) {
      /* bunc sets up the rootfs from its own thread meanwhile: this process only waits.
         Its cwd goes to "/" so that pivot_root moves it along with its root. */
      join_keyring();
      S1(NR_chdir, "/");
      proc_fd_dir = check(S4(NR_openat, -100, "/proc/self/fd", 010000000 /* O_PATH */ | 0200000 /* O_DIRECTORY */ | 02000000, 0), STEP_REQUEST);
      /* A proc context opened here takes this PID namespace (the kernel reads the opener's);
         bunc configures and mounts it from the host side. fsconfig "pidns" would do it from
         there, but only from Linux 6.15; this works from 5.2. One per proc mount. */
      for (u64 i = 0; i < slot[F_PROC_CONTEXTS]; i++) {
        long fs = check(S2(NR_fsopen, "proc", 1 /* FSOPEN_CLOEXEC */), STEP_PROC);
        check(send_fd(report_fd, (int)fs, "P", 1), STEP_PROC);
        S1(NR_close, fs);
      }
      char b = 'R';
      S3(NR_write, report_fd, &b, 1);
      /* ~0.8 ms of the kernel's (addrconf): while bunc mounts the rootfs, not before. */
      if (new_netns) check(loopback_up(), STEP_LOOPBACK);
      take_handover(report_fd);
      /* The container is made: no longer dies with bunc; the whole request is there now. */
      S5(NR_prctl, 1 /* PR_SET_PDEATHSIG */, 0, 0, 0, 0);
      read_request(req_fd);
    }
    S1(NR_close, req_fd);
    /* "K": arrived, in every cgroup. An EOF without it is an init that died on the way. */
    /* proc_fd_dir is the host's /proc/<pid>/fd, opened before pivot_root; the process is
       single-threaded, so its attr files are this task's. */
    open_attrs(proc_fd_dir, "../attr/");
    S3(NR_write, report_fd, "K", 1);
    S1(NR_close, report_fd);
    report_fd = -1;
    wait_for_start(proc_fd_dir);
  }
  /* Read only now: with host setup the request is whole only after the handover above. */
  int nnp = (int)slot[F_NO_NEW_PRIVS];
  /* The order from here, against runc's standard_init_linux.go:
     - without no_new_privs the filter needs CAP_SYS_ADMIN, so it goes on before apply_process
       drops the capabilities (as runc, which also enters the cwd after it then);
     - apply_process: rlimits, scheduling and personality while the capabilities they may
       need are held; the bounding set, then the cwd as root, groups, gid and uid (keepcaps
       across the switch), capabilities, ambient, no_new_privs, umask (see there);
     - the LSM attributes of the next execve (a hook's too, as runc's SetExecLabel);
     - with no_new_privs the filter goes on after them (as runc), so the profile need not
       allow what the steps before it call, chdir included;
     - startContainer hooks last (as runc): with the process's user, capabilities, working
       directory and filter, so a hook from the container's image gets no more than the
       program; nothing else runs between them and the program's execve. */
  look_at_program();
  if (!nnp) install_seccomp();
  apply_process();
  apply_attrs();
  if (nnp) install_seccomp();
  if (slot[F_MODE] != MODE_EXEC) run_hooks();
  exec_program();
}

#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n xor %rbp,%rbp\n mov %rsp,%rdi\n and $-16,%rsp\n call start_c\n hlt\n");
#else
__asm__(".text\n.global _start\n_start:\n mov x29, #0\n mov x0, sp\n and sp, x0, #-16\n bl start_c\n");
#endif
