/*
 * nsexec: the two stages of native-init.c (MODE_STAGES) from a fork of bunc, where there is
 * no native init (a build without a C compiler, BUNC_NATIVE_INIT=0) or BUNC_NSEXEC asks.
 * Prebuilt and embedded by scripts/build.ts, or compiled at run time by bun:ffi's TinyCC.
 * Bun is multithreaded and FFI fork() is unusable, so the kernel work that needs a
 * single-threaded task (joining a user namespace, creating one together with a PID
 * namespace) happens here, in freshly cloned children that never return to JS:
 *   stage 1: join the `path` namespaces (user first), unshare the time namespace;
 *   stage 2: clone(CLONE_PARENT | new namespaces), or clone3(CLONE_INTO_CGROUP) with bunc
 *            as child subreaper -> the container's init, PID 1, a child of the bunc process; it waits for the parent to write its id
 *            maps, closes every fd it must not keep, and re-executes bunc as `init`
 *            with fds: target = sync socket, target+1.. = the passed fds.
 * No #include: libc is resolved from the running process, types are declared here.
 */
typedef unsigned long size_t;
extern long syscall(long, ...);
extern int setns(int, int);
extern int unshare(int);
extern int execve(const char *, char *const[], char *const[]);
extern long read(int, void *, size_t);
extern long write(int, const void *, size_t);
extern int open(const char *, int, ...);
extern int close(int);
extern int dup2(int, int);
extern int fcntl(int, int, ...);
extern void _exit(int);
extern int *__errno_location(void);
extern int prctl(int, ...);
extern int socket(int, int, int);
extern int ioctl(int, unsigned long, ...);

/* Request layout, shared with nsexec.ts: an array of longs. */
enum {
  R_SYS_CLONE, R_SYS_CLOSE_RANGE, R_CLONE_FLAGS, R_UNSHARE_FLAGS, R_TIME_OFFSETS,
  R_GO_FD, R_REPORT_FD, R_SYNC_FD, R_SYNC_TARGET, R_SET_ROOT, R_PATH, R_ARGV, R_ENVP,
  R_SYS_EXECVEAT, R_EXEC_FD, R_N_PASS, R_PASS_FDS, R_N_CGROUP, R_CGROUP_FDS, R_SYS_CLONE3, R_CGROUP2_DIR,
  R_SYS_SETGROUPS, R_SYS_SETRESGID, R_SYS_SETRESUID, R_GO_WRITE_FD, R_REPORT_READ_FD,
  R_KEEP_FDS, /* bytes: keep[fd] for fd < sync target */
  R_STDIN, R_STDOUT, R_STDERR, /* -1: bunc's own */
  R_N_JOIN, R_JOIN /* then n_join pairs of (fd, nstype) */
};

static void report(int fd, long a, long b) {
  long msg[2];
  msg[0] = a; msg[1] = b;
  write(fd, msg, sizeof msg);
}

static int write_all(int fd, const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return write(fd, s, n) == (long)n ? 0 : -1;
}

/* A network namespace of the container's own: its loopback up, as runc (native-init.c). */
static int loopback_up(void) {
  struct { char name[16]; short flags; char pad[22]; } ifr = { "lo", 0, { 0 } };
  int fd = socket(1 /* AF_UNIX */, 2 /* SOCK_DGRAM */ | 02000000 /* SOCK_CLOEXEC */, 0);
  if (fd < 0) return -1;
  int r = ioctl(fd, 0x8913 /* SIOCGIFFLAGS */, &ifr);
  if (r == 0 && !(ifr.flags & 1 /* IFF_UP */)) {
    ifr.flags |= 1;
    r = ioctl(fd, 0x8914 /* SIOCSIFFLAGS */, &ifr);
  }
  close(fd);
  return r;
}

/* Set by stage 1 when it joined a user namespace; stage 2 is a copy of its memory. */
static int joined_user;

static void stage2(long *r) {
  char go;
  int sync_fd = (int)r[R_SYNC_FD], target = (int)r[R_SYNC_TARGET];
  /* Wait until the parent has written uid_map/gid_map (or gave up: EOF). */
  if (read((int)r[R_GO_FD], &go, 1) != 1) _exit(1);
  prctl(4 /* PR_SET_DUMPABLE */, 0L, 0L, 0L, 0L);
  /* Dies with bunc until bunc says the container is made (init clears it then). bunc's
     main thread is the parent here (CLONE_PARENT, or the subreaper's leader). */
  prctl(1 /* PR_SET_PDEATHSIG */, 9L /* SIGKILL */, 0L, 0L, 0L);
  /* Join the v1 hierarchies by writing "0" to their `tasks`: moving only the calling
     thread skips the kernel's threadgroup barrier (an RCU grace period). */
  int *cg = (int *)r[R_CGROUP_FDS];
  for (long i = 0; i < r[R_N_CGROUP]; i++)
    if (write(cg[i], "0", 1) != 1) {
      write_all(sync_fd, "{\"type\":\"error\",\"message\":\"nsexec: cannot join the container's cgroup\"}\n");
      _exit(1);
    }
  if (r[R_SET_ROOT] || joined_user) {
    /* Become root of the new user namespace when 0 is mapped; harmless when not. Raw
       syscalls: glibc's wrappers broadcast to the threads of the process this one was
       cloned from, which do not exist here, and wait for them forever. */
    syscall(r[R_SYS_SETGROUPS], 0L, 0L);
    syscall(r[R_SYS_SETRESGID], 0L, 0L, 0L);
    /* A joined user namespace (exec, or `path`): setns gave this process every capability
       in it, but execve keeps them only for its root, and the host's root is not mapped
       there (bunc as root), so the init would lose them and could not join the mount
       namespace or mount. As runc. After the clone: CLONE_INTO_CGROUP checks the caller's
       uid against the host-owned cgroup.procs. */
    if (syscall(r[R_SYS_SETRESUID], 0L, 0L, 0L) < 0 && joined_user) {
      write_all(sync_fd, "{\"type\":\"error\",\"message\":\"nsexec: cannot become root (uid 0) in the joined user namespace: is 0 mapped?\"}\n");
      _exit(1);
    }
  }
  if ((r[R_CLONE_FLAGS] | r[R_UNSHARE_FLAGS]) & 0x40000000 /* CLONE_NEWNET */ && loopback_up() < 0) {
    write_all(sync_fd, "{\"type\":\"error\",\"message\":\"nsexec: cannot bring the network namespace's loopback (lo) up\"}\n");
    _exit(1);
  }
  /* The container's stdio when the caller gave its own (the library's pipes). */
  for (int i = 0; i < 3; i++)
    if (r[R_STDIN + i] >= 0 && dup2((int)r[R_STDIN + i], i) < 0) _exit(1);
  if (sync_fd != target && dup2(sync_fd, target) < 0) _exit(1);
  fcntl(target, 2 /* F_SETFD */, 0);
  /* --preserve-fds: of 3..target-1 only the caller's fds go on; the rest of that range is
     bunc's or Bun's own (a state directory, an eventpoll) and must not reach the container. */
  const char *keep = (const char *)r[R_KEEP_FDS];
  for (int fd = 3; fd < target; fd++)
    if (keep[fd]) fcntl(fd, 2 /* F_SETFD */, 0);
    else close(fd);
  /* The fds init needs follow the sync socket: target+1 .. target+n. */
  int n_pass = (int)r[R_N_PASS];
  int *pass = (int *)r[R_PASS_FDS];
  for (int i = 0; i < n_pass; i++)
    if (dup2(pass[i], target + 1 + i) < 0) _exit(1);
  int exec_fd = (int)r[R_EXEC_FD];
  if (exec_fd >= 0) {
    if (dup2(exec_fd, target + 1 + n_pass) < 0) _exit(1);
    exec_fd = target + 1 + n_pass;
    fcntl(exec_fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC: gone once bunc runs */);
  }
  /* Nothing else of bunc's reaches init (CVE-2024-21626): close every other fd. */
  syscall(r[R_SYS_CLOSE_RANGE], (long)target + 2 + n_pass, (long)~0U, 0L);
  /* By fd: the binary stays reachable even inside a joined mount namespace. */
  if (exec_fd >= 0)
    syscall(r[R_SYS_EXECVEAT], (long)exec_fd, "", r[R_ARGV], r[R_ENVP], 0x1000L /* AT_EMPTY_PATH */);
  else
    execve((const char *)r[R_PATH], (char *const *)r[R_ARGV], (char *const *)r[R_ENVP]);
  int e = *__errno_location();
  char msg[96] = "{\"type\":\"error\",\"message\":\"nsexec: cannot execute bunc init: errno ";
  int n = 0;
  while (msg[n]) n++;
  if (e >= 100) msg[n++] = '0' + e / 100;
  if (e >= 10) msg[n++] = '0' + (e / 10) % 10;
  msg[n++] = '0' + e % 10;
  msg[n++] = '"'; msg[n++] = '}'; msg[n++] = '\n'; msg[n] = 0;
  write_all(target, msg);
  _exit(127);
}

static void stage1(long *r) {
  int report_fd = (int)r[R_REPORT_FD];
  /* bunc's ends of the pipes: stage 2 must see EOF on `go` when bunc dies. */
  close((int)r[R_GO_WRITE_FD]);
  close((int)r[R_REPORT_READ_FD]);
  /* Until execveat replaces it, this copy of bunc's memory has bunc's writable binary as
     /proc/<pid>/exe: non-dumpable (inherited by stage 2), no one else may open it. A new
     user namespace waits for its id maps first (written through /proc/<pid>, which a
     rootless bunc could not do then); nothing else lives in its namespaces yet. */
  if (!r[R_SET_ROOT]) prctl(4 /* PR_SET_DUMPABLE */, 0L, 0L, 0L, 0L);
  long n = r[R_N_JOIN];
  /* As runc's nsexec (and native-init.c's stages): what may be joined now but the user
     namespace, then the user namespace, then the rest; a failure counts in the last pass. */
  unsigned long joined = 0;
  for (int pass = 0; pass < 3; pass++)
    for (long i = 0; i < n && i < 64; i++) {
      int user = r[R_JOIN + 2 * i + 1] == 0x10000000L /* CLONE_NEWUSER */;
      if ((joined >> i & 1) || (pass == 0 && user) || (pass == 1 && !user)) continue;
      if (setns((int)r[R_JOIN + 2 * i], (int)r[R_JOIN + 2 * i + 1]) < 0) {
        if (pass == 0) continue;
        report(report_fd, -(long)*__errno_location(), 1 + i);
        _exit(1);
      }
      if (user) joined_user = 1;
      joined |= 1UL << i;
    }
  if (r[R_UNSHARE_FLAGS] && unshare((int)r[R_UNSHARE_FLAGS]) < 0) {
    report(report_fd, -(long)*__errno_location(), -1);
    _exit(1);
  }
  if (r[R_TIME_OFFSETS]) {
    int fd = open("/proc/self/timens_offsets", 1 /* O_WRONLY */);
    if (fd < 0 || write_all(fd, (const char *)r[R_TIME_OFFSETS]) < 0) {
      report(report_fd, -(long)*__errno_location(), -2);
      _exit(1);
    }
    close(fd);
  }
  long flags = r[R_CLONE_FLAGS];
  long pid;
  if (r[R_CGROUP2_DIR] >= 0) {
    /* Born in its cgroup2 directory: no migration, so no threadgroup barrier either. The
       kernel refuses CLONE_PARENT here: bunc is a child subreaper and inherits stage 2
       when stage 1 exits. */
    unsigned long args[11];
    for (int i = 0; i < 11; i++) args[i] = 0;
    args[0] = (unsigned long)flags | 0x200000000UL /* CLONE_INTO_CGROUP */;
    args[4] = 17; /* exit_signal SIGCHLD */
    args[10] = (unsigned long)r[R_CGROUP2_DIR];
    pid = syscall(r[R_SYS_CLONE3], args, (long)sizeof args);
  } else {
    pid = syscall(r[R_SYS_CLONE], flags | 0x00008000L /* CLONE_PARENT */ | 17 /* SIGCHLD */, 0L, 0L, 0L, 0L);
  }
  if (pid == 0) stage2(r);
  if (pid < 0) report(report_fd, -(long)*__errno_location(), -3);
  else report(report_fd, pid, 0);
  _exit(0);
}

/* Returns stage 1's pid (the parent reaps it); stage 2's pid arrives on the report fd. */
int bunc_nsexec(long *r) {
  long pid = syscall(r[R_SYS_CLONE], 17L /* SIGCHLD */, 0L, 0L, 0L, 0L);
  if (pid == 0) stage1(r);
  return (int)pid;
}
