#!/bin/bash
# The checks run inside each Debian guest (scripts/guests/boot.ts copies this file to the 9p
# share as run.sh; the guest's unit runs it as root at boot). Each `check "name" fn` line is one
# TAP line in /share/results.tap and one bun test in test/guests/guests.test.ts, which reads the
# names from this file: keep every name a literal on a line of its own. A check passes when its
# function returns 0; `skip "reason"` (exit 77) reports it as skipped, with the reason.
set -u
export SHARE=${SHARE:-/share}
TAP=$SHARE/results.tap
: >"$TAP"
N=0
export W=/var/lib/bunc-checks
export ROOTFS=$W/rootfs
export CG=/sys/fs/cgroup

log() { echo "[$(date +%T)] $*"; }
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
# expect_eq what got want
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# A bundle in $W/c/<name> over the shared read-only Alpine rootfs; jq filters edit its config,
# all in one jq run (a jq start costs ~0.2 s under TCG, and the bundles are many).
mkb() {
  local name=$1; shift
  local d=$W/c/$name f filter='.root = {path: $root, readonly: true}
    | .process.terminal = false
    | .hostname = $name
    | .linux.cgroupsPath = "/bunc-checks/" + $name'
  for f in "$@"; do filter+=" | ($f)"; done
  rm -rf "$d"; mkdir -p "$d"
  jq --arg root "$ROOTFS" --arg name "$name" "$filter" "$W/base.json" >"$d/config.json" || fail "jq: $*"
  echo "$d"
}
# args '["sh","-c","..."]' as a jq filter
args() { printf '.process.args = %s' "$1"; }
export sleeper='.process.args = ["sleep","1000"]'
# one field of `bunc state`, read without a jq start: state_field <id> <status|pid>
state_field() {
  local s re="\"$2\": *\"?([a-z0-9]+)"; s=$(bunc state "$1") || return 1
  [[ $s =~ $re ]] && echo "${BASH_REMATCH[1]}"
}
state() { state_field "$1" status; }
pid_of() { state_field "$1" pid; }
# the container's cgroup directory, from its init's /proc/<pid>/cgroup
cgdir() { echo "$CG$(sed -n 's/^0:://p' /proc/"$(pid_of "$1")"/cgroup)"; }
cleanup() { bunc delete --force "$1" >/dev/null 2>&1 || true; }
# create_refused <id> <jq filter> <text>: create fails with one line naming <text>, nothing left
create_refused() {
  local d err; d=$(mkb "$1" "$sleeper" "$2")
  bunc create -b "$d" "$1" </dev/null >/dev/null 2>"$W/$1.err" && fail "create $1 succeeded"
  err=$(cat "$W/$1.err"); echo "$err"
  expect_eq "lines of the error" "$(echo "$err" | wc -l)" 1
  echo "$err" | grep -qF -- "$3" || fail "the error does not name $3"
  bunc state "$1" >/dev/null 2>&1 && fail "a container was left"
  [ -d "$CG/bunc-checks/$1" ] && fail "a cgroup was left" || true
}
# run detached, its stdio away from the check's output pipe: rund <bundle> <id>
rund() { bunc run -d -b "$1" "$2" </dev/null >/dev/null 2>"$W/$2.err" || { cat "$W/$2.err"; fail "run -d $2"; }; }

# the checks this guest runs (an ERE over the names; boot.ts writes it for a suite that runs a part)
ONLY=$(cat "$SHARE/only" 2>/dev/null)
check() {
  local name=$1 fn=$2 t=${3:-240} out rc start=$SECONDS
  if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then return 0; fi
  N=$((N + 1))
  log "check $N: $name"
  export -f $(declare -F | awk '{print $3}')
  # into a file, not $(...): a container left running would hold a pipe open
  (cd /tmp && timeout -k 5 "$t" bash -c "set -o pipefail; $fn" </dev/null >"$W/out" 2>&1)
  rc=$?
  out=$(cat "$W/out")
  # nothing a check leaves running outlives it (the runtimes are asked only when their state
  # folders hold something: two program starts less per check under TCG)
  if [ -n "$(ls -A /run/bunc 2>/dev/null)" ]; then
    for id in $(bunc list -q 2>/dev/null); do bunc delete --force "$id" >/dev/null 2>&1 || echo "  (could not delete $id)"; done
  fi
  if [ -n "$(ls -A /run/runc 2>/dev/null)" ]; then
    for id in $(runc list -q 2>/dev/null); do runc delete --force "$id" >/dev/null 2>&1; done
  fi
  log "  exit $rc in $((SECONDS - start)) s"
  [ -n "$out" ] && echo "$out" | sed 's/^/  | /'
  if [ $rc = 0 ]; then
    echo "ok $N - $name" >>"$TAP"
  elif [ $rc = 77 ]; then
    echo "ok $N - $name # SKIP $(echo "$out" | sed -n 's/^SKIP: //p' | tail -1)" >>"$TAP"
  else
    { echo "not ok $N - $name"; [ $rc = 124 ] && echo "# timed out after $t s"; echo "$out" | tail -60 | sed 's/^/# /'; } >>"$TAP"
  fi
}

# --- setup -------------------------------------------------------------------------------------
log "kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME"), PID 1 $(cat /proc/1/comm), $(nproc) CPUs"
# a daily timer missed while the saved machine slept would fire now, beside the checks
systemctl stop podman-auto-update.timer podman-auto-update.service 2>/dev/null || true
install -m 755 "$SHARE/bunc" /usr/local/bin/bunc
log "bunc installed"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
rm -rf "$W"; mkdir -p "$ROOTFS" "$W/c"
tar -xzf "$SHARE/alpine.tar.gz" -C "$ROOTFS"
log "rootfs unpacked"
(cd "$W" && bunc spec && jq . config.json >base.json && rm config.json)
log "setup done"

# --- the host ----------------------------------------------------------------------------------
t_host() {
  [ "$(stat -fc %T $CG)" = cgroup2fs ] || fail "/sys/fs/cgroup is $(stat -fc %T $CG), not cgroup2"
  [ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm)"
  echo "kernel $(uname -r); controllers: $(cat $CG/cgroup.controllers); own cgroup $(cat /proc/self/cgroup)"
  bunc --version
}
check "host: cgroup v2 only, systemd as PID 1, bunc runs" t_host

# --- lifecycle ---------------------------------------------------------------------------------
t_run_exit() {
  local d; d=$(mkb run-exit "$(args '["sh","-c","echo hello from $(hostname); exit 3"]')")
  local out rc; out=$(bunc run -b "$d" run-exit); rc=$?
  echo "$out"
  expect_eq "exit code" "$rc" 3
  expect_eq "output" "$out" "hello from run-exit"
  bunc state run-exit 2>/dev/null && fail "run left the container behind" || true
}
check "lifecycle: run prints and exits with the process's code" t_run_exit

t_lifecycle() {
  local d; d=$(mkb life "$sleeper")
  bunc create -b "$d" life </dev/null >/dev/null || fail create
  expect_eq "state after create" "$(state life)" created
  bunc list | grep -q '^life ' || fail "list: $(bunc list)"
  bunc start life || fail start
  expect_eq "state after start" "$(state life)" running
  local pid; pid=$(pid_of life)
  expect_eq "init's comm" "$(cat /proc/"$pid"/comm)" sleep
  bunc ps life | grep -q sleep || fail "ps: $(bunc ps life)"
  bunc kill life KILL || fail kill
  for _ in $(seq 50); do [ "$(state life)" = stopped ] && break; sleep 0.2; done
  expect_eq "state after kill" "$(state life)" stopped
  bunc delete life || fail delete
  bunc state life 2>/dev/null && fail "state after delete succeeded" || true
  [ -d "$CG/bunc-checks/life" ] && fail "cgroup left after delete" || true
}
check "lifecycle: create, start, state, ps, kill, delete" t_lifecycle

t_oneshot() {
  local out; out=$(cd $W && bunc run --rm --rootfs "$SHARE/alpine.tar.gz" -- cat /etc/alpine-release) || fail "exit $?: $out"
  expect_eq "alpine release" "$out" "$(cat $ROOTFS/etc/alpine-release)"
}
check "lifecycle: one-shot run --rm --rootfs tarball" t_oneshot

# --- exec --------------------------------------------------------------------------------------
t_exec() {
  local d; d=$(mkb ex "$sleeper")
  rund "$d" ex
  trap 'cleanup ex' EXIT
  local out; out=$(bunc exec ex sh -c 'echo $(hostname) $(id -u)') || fail "exec: $out"
  expect_eq "exec output" "$out" "ex 0"
  bunc exec ex sh -c 'exit 5'; expect_eq "exec exit code" "$?" 5
  bunc exec --env FOO=bar --cwd /etc ex sh -c 'echo $FOO $PWD' | grep -qx 'bar /etc' || fail "exec --env --cwd"
}
check "exec: output, exit code, env and cwd" t_exec

t_exec_tty() {
  local d; d=$(mkb extty "$sleeper")
  rund "$d" extty
  trap 'cleanup extty' EXIT
  # NULs stripped: script(1) may put one before the first output on a slow guest
  local out; out=$(script -qec "bunc exec -t extty sh -c 'tty; stty size'" /dev/null </dev/null | tr -d '\0') || fail "script: $out"
  echo "$out"
  echo "$out" | grep -q '^/dev/pts/' || fail "no /dev/pts tty in: $out"
}
check "exec: with a terminal (-t, under script)" t_exec_tty

# A terminal's /dev/console is the pty bunc opened, bound from its fd with open_tree (runc's
# CVE-2025-52565 was a bind of /dev/pts/<n> by path): on each guest's kernel, in the foreground.
t_run_tty() {
  local d; d=$(mkb runtty '.process.terminal = true' "$(args '["sh","-c","stat -c %F /dev/console; [ \"$(stat -c %t:%T /dev/console)\" = \"$(stat -L -c %t:%T /proc/self/fd/0)\" ] && echo same-pty"]')")
  trap 'cleanup runtty' EXIT
  local out; out=$(script -qec "bunc run -b $d runtty" /dev/null </dev/null | tr -d '\0\r') || fail "script: $out"
  echo "$out"
  echo "$out" | grep -q 'character special file$' || fail "/dev/console is not a device: $out"
  # (grep -q: the terminal may echo a NUL script(1) sends as "^@" before a line)
  echo "$out" | grep -q 'same-pty$' || fail "/dev/console is not the process's terminal: $out"
}
check "exec: run with a terminal: /dev/console is its pty (under script)" t_run_tty

t_exec_userns() {
  local d; d=$(mkb exuser "$sleeper" \
    '.linux.namespaces += [{type:"user"}] | .linux.uidMappings = [{containerID:0,hostID:100000,size:65536}] | .linux.gidMappings = [{containerID:0,hostID:100000,size:65536}]')
  rund "$d" exuser
  trap 'cleanup exuser' EXIT
  local pid; pid=$(pid_of exuser)
  expect_eq "init's uid on the host" "$(stat -c %u /proc/"$pid")" 100000
  local out; out=$(bunc exec exuser sh -c 'id -u; cat /proc/self/uid_map') || fail "exec: $out"
  echo "$out"
  expect_eq "uid inside" "$(echo "$out" | head -1)" 0
  echo "$out" | tail -1 | grep -Eq '^ *0 +100000 +65536$' || fail "uid_map: $out"
  expect_eq "exec'd process in the container's user ns" "$(readlink /proc/"$pid"/ns/user)" "$(bunc exec exuser readlink /proc/self/ns/user)"
}
check "exec: into a container with a user namespace" t_exec_userns

# --- cgroup v2 on real controllers -------------------------------------------------------------
t_oom() {
  local d; d=$(mkb oom '.linux.resources.memory = {limit: 33554432, swap: 33554432}' "$(args '["dd","if=/dev/zero","of=/dev/null","bs=128M","count=1"]')")
  local rc; bunc run -b "$d" oom; rc=$?
  expect_eq "exit code of the OOM-killed init" "$rc" 137
}
check "cgroup: memory.max OOM-kills (exit 137)" t_oom

t_memory_files() {
  local d; d=$(mkb mem "$sleeper" '.linux.resources.memory = {limit: 67108864, reservation: 16777216, swap: 100663296} | .linux.resources.unified = {"memory.high": "50331648"}')
  rund "$d" mem
  trap 'cleanup mem' EXIT
  local c; c=$(cgdir mem)
  expect_eq memory.max "$(cat "$c/memory.max")" 67108864
  expect_eq memory.low "$(cat "$c/memory.low")" 16777216
  expect_eq memory.high "$(cat "$c/memory.high")" 50331648
  if [ -e "$c/memory.swap.max" ]; then expect_eq memory.swap.max "$(cat "$c/memory.swap.max")" 33554432; else echo "no memory.swap.max (no swap accounting)"; fi
}
check "cgroup: memory.max, memory.low, memory.high, memory.swap.max" t_memory_files

t_pids() {
  local d; d=$(mkb pids '.linux.resources.pids = {limit: 4}' "$(args '["sh","-c","for i in 1 2 3 4 5 6 7 8; do sleep 30 & done 2>&1; echo forked $(jobs -p | wc -l); kill $(jobs -p) 2>/dev/null; true"]')")
  local out; out=$(bunc run -b "$d" pids 2>&1)
  echo "$out"
  echo "$out" | grep -Eqi "can't fork|resource temporarily unavailable" || fail "no fork was refused"
}
check "cgroup: pids.max refuses fork" t_pids

t_cpu() {
  local d; d=$(mkb cpu "$sleeper" '.linux.resources.cpu = {quota: 50000, period: 100000, shares: 512}')
  rund "$d" cpu
  trap 'cleanup cpu' EXIT
  local c w; c=$(cgdir cpu)
  expect_eq cpu.max "$(cat "$c/cpu.max")" "50000 100000"
  w=$(cat "$c/cpu.weight"); echo "cpu.weight for shares 512: $w"
  [ "$w" != 100 ] && [ "$w" -ge 1 ] && [ "$w" -le 10000 ] || fail "cpu.weight $w"
  bunc update --cpu-quota 20000 cpu || fail "update --cpu-quota"
  expect_eq "cpu.max after update" "$(cat "$c/cpu.max")" "20000 100000"
}
check "cgroup: cpu.max and cpu.weight" t_cpu

t_cpuset() {
  local d; d=$(mkb cpuset "$sleeper" '.linux.resources.cpu = {cpus: "0", mems: "0"}')
  rund "$d" cpuset
  trap 'cleanup cpuset' EXIT
  local c; c=$(cgdir cpuset)
  expect_eq cpuset.cpus "$(cat "$c/cpuset.cpus")" 0
  expect_eq cpuset.mems "$(cat "$c/cpuset.mems")" 0
  expect_eq "Cpus_allowed_list inside" "$(bunc exec cpuset sh -c 'grep Cpus_allowed_list /proc/self/status | cut -f2')" 0
}
check "cgroup: cpuset" t_cpuset

t_io() {
  grep -qw io $CG/cgroup.controllers || skip "no io controller"
  local dev; dev=$(cat /sys/block/vda/dev)
  local major=${dev%%:*} minor=${dev##*:}
  local d; d=$(mkb io "$sleeper" ".linux.resources.blockIO = {weight: 500, throttleReadBpsDevice: [{major: $major, minor: $minor, rate: 1048576}]}")
  rund "$d" io
  trap 'cleanup io' EXIT
  local c; c=$(cgdir io)
  grep -q "^$major:$minor rbps=1048576 " "$c/io.max" || fail "io.max: $(cat "$c/io.max")"
  if [ -e "$c/io.weight" ]; then
    grep -Eq '^default (500|[0-9]+)$' "$c/io.weight" && echo "io.weight: $(cat "$c/io.weight")"
    [ "$(sed -n 's/^default //p' "$c/io.weight")" != 100 ] || fail "io.weight not written: $(cat "$c/io.weight")"
  elif [ -e "$c/io.bfq.weight" ]; then echo "io.bfq.weight: $(cat "$c/io.bfq.weight")"
  else echo "no io.weight file (no iocost or bfq)"; fi
}
check "cgroup: io.max and io.weight on the guest's disk" t_io

t_hugetlb() {
  grep -qw hugetlb $CG/cgroup.controllers || skip "no hugetlb controller"
  local d; d=$(mkb huge "$sleeper" '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]')
  rund "$d" huge
  trap 'cleanup huge' EXIT
  local c; c=$(cgdir huge)
  expect_eq hugetlb.2MB.max "$(cat "$c/hugetlb.2MB.max")" 4194304
}
check "cgroup: hugetlb" t_hugetlb

t_freeze() {
  local d; d=$(mkb frz "$sleeper")
  rund "$d" frz
  trap 'cleanup frz' EXIT
  local c; c=$(cgdir frz)
  bunc pause frz || fail pause
  expect_eq "state after pause" "$(state frz)" paused
  grep -qx 'frozen 1' "$c/cgroup.events" || fail "cgroup.events: $(cat "$c/cgroup.events")"
  grep -q '^State:.*stopped' /proc/"$(pid_of frz)"/status || grep -q 'T (stopped)' /proc/"$(pid_of frz)"/status || echo "init status: $(grep State /proc/"$(pid_of frz)"/status)"
  bunc resume frz || fail resume
  expect_eq "state after resume" "$(state frz)" running
  grep -qx 'frozen 0' "$c/cgroup.events" || fail "cgroup.events after resume: $(cat "$c/cgroup.events")"
}
check "cgroup: pause and resume freeze the cgroup" t_freeze

t_kill_all() {
  local d; d=$(mkb kall "$(args '["sh","-c","sleep 1000 & sleep 1000 & wait"]')")
  rund "$d" kall
  trap 'cleanup kall' EXIT
  local c; c=$(cgdir kall)
  sleep 1
  expect_eq "processes before" "$(wc -l <"$c/cgroup.procs")" 3
  bunc kill --all kall KILL || fail "kill --all"
  for _ in $(seq 50); do [ -s "$c/cgroup.procs" ] || break; sleep 0.2; done
  [ -s "$c/cgroup.procs" ] && fail "left: $(cat "$c/cgroup.procs")"
  bunc delete kall || fail delete
  # delete --force on a running container with children
  d=$(mkb kforce "$(args '["sh","-c","sleep 1000 & sleep 1000 & wait"]')")
  rund "$d" kforce
  c=$(cgdir kforce); sleep 1
  local pids; pids=$(cat "$c/cgroup.procs")
  bunc delete --force kforce || fail "delete --force"
  for p in $pids; do [ -e /proc/"$p" ] && fail "process $p survived delete --force"; done
  [ -d "$c" ] && fail "cgroup $c left" || true
}
check "cgroup: kill --all and delete --force kill every process" t_kill_all

t_events() {
  local d; d=$(mkb ev "$sleeper" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 50}')
  rund "$d" ev
  trap 'cleanup ev' EXIT
  local out; out=$(bunc events --stats ev) || fail "events --stats: $out"
  echo "$out" | head -c 1500; echo
  local mem pids; mem=$(echo "$out" | jq -r '.data.memory.usage.usage // .data.memory.usage // empty')
  pids=$(echo "$out" | jq -r '.data.pids.current // empty')
  [ -n "$mem" ] && [ "$mem" -gt 0 ] || fail "no memory usage"
  expect_eq "pids.current" "$pids" 1
  expect_eq "memory limit" "$(echo "$out" | jq -r '.data.memory.usage.limit // empty')" 67108864
}
check "cgroup: events --stats" t_events

t_update() {
  local d; d=$(mkb upd "$sleeper" '.linux.resources.memory = {limit: 134217728}')
  rund "$d" upd
  trap 'cleanup upd' EXIT
  local c; c=$(cgdir upd)
  bunc update --memory 64m --pids-limit 20 upd || fail update
  expect_eq memory.max "$(cat "$c/memory.max")" 67108864
  expect_eq pids.max "$(cat "$c/pids.max")" 20
  echo '{"memory":{"limit":100663296}}' | bunc update -r - upd || fail "update -r -"
  expect_eq "memory.max after -r" "$(cat "$c/memory.max")" 100663296
}
check "cgroup: update --memory, --pids-limit, -r" t_update

t_relative() {
  # runc puts a relative cgroupsPath below its own cgroup: compare where each goes from here
  trap 'cleanup rel; runc delete -f rel-runc >/dev/null 2>&1' EXIT
  echo "own cgroup: $(sed -n 's/^0:://p' /proc/self/cgroup)"
  local theirs="" r; r=$(mkb rel-runc "$sleeper" '.linux.cgroupsPath = "bunc-rel/c2"')
  if runc run -d -b "$r" rel-runc </dev/null >/dev/null 2>"$W/runc.err"; then
    theirs=$(sed -n 's/^0:://p' /proc/"$(runc state rel-runc | jq -r .pid)"/cgroup)
    echo "runc $(runc --version | head -1): $theirs"
  else
    echo "runc refused it: $(tail -2 "$W/runc.err")"
  fi
  local d; d=$(mkb rel "$sleeper" '.linux.cgroupsPath = "bunc-rel/c1"')
  rund "$d" rel
  local mine; mine=$(sed -n 's/^0:://p' /proc/"$(pid_of rel)"/cgroup)
  echo "bunc: $mine"
  case $mine in */bunc-rel/c1) ;; *) fail "cgroup $mine does not end in bunc-rel/c1" ;; esac
  [ -z "$theirs" ] || expect_eq "bunc's cgroup beside runc's" "${mine%/c1}" "${theirs%/c2}"
}
check "cgroup: relative cgroupsPath" t_relative

t_cgroupns() {
  local d; d=$(mkb cgns 'if any(.linux.namespaces[]; .type == "cgroup") then . else .linux.namespaces += [{type:"cgroup"}] end' "$(args '["cat","/proc/self/cgroup"]')")
  local out; out=$(bunc run -b "$d" cgns) || fail "run: $out"
  expect_eq "/proc/self/cgroup inside" "$out" "0::/"
  d=$(mkb cgns2 'if any(.linux.namespaces[]; .type == "cgroup") then . else .linux.namespaces += [{type:"cgroup"}] end' "$(args '["sh","-c","cat /sys/fs/cgroup/memory.max; ls /sys/fs/cgroup | grep -c ."]')" '.linux.resources.memory = {limit: 67108864}')
  out=$(bunc run -b "$d" cgns2) || fail "run: $out"
  expect_eq "memory.max seen inside" "$(echo "$out" | head -1)" 67108864
}
check "cgroup: the cgroup namespace shows /" t_cgroupns

t_devices() {
  # the eBPF device filter: a block device node the config does not allow can be made (CAP_MKNOD)
  # but not opened; allowed by a linux.resources.devices rule, it reads
  local dev; dev=$(cat /sys/block/vda/dev); local major=${dev%%:*} minor=${dev##*:}
  local try='["sh","-c","mknod /mnt/disk b '$major' '$minor' 2>&1 || exit 0; head -c 512 /mnt/disk >/dev/null 2>&1 && echo READ || echo DENIED"]'
  local caps='.process.capabilities |= with_entries(.value += ["CAP_MKNOD"]) | .mounts += [{destination:"/mnt",type:"tmpfs",source:"tmpfs",options:["rw","mode=755"]}]'
  local d out; d=$(mkb devdeny "$caps" "$(args "$try")")
  out=$(bunc run -b "$d" devdeny 2>&1); echo "not allowed: $out"
  case $out in *READ*) fail "read a block device the config does not allow" ;; esac
  d=$(mkb devallow "$caps" "$(args "$try")" ".linux.resources.devices += [{allow:true,type:\"b\",major:$major,minor:$minor,access:\"rwm\"}]")
  out=$(bunc run -b "$d" devallow 2>&1); echo "allowed: $out"
  expect_eq "allowed device" "$out" READ
}
check "cgroup: the eBPF device filter denies and allows" t_devices

# --- rootless -----------------------------------------------------------------------------------
# as the guest's user "tester" (uid 1000, its /etc/subuid range from useradd), with the runtime
# directory a login would give it (no logind in the guest: made here as logind makes it, a tmpfs;
# a plain folder would inherit /run's noexec)
echo "/run: $(findmnt -no OPTIONS /run)"
mkdir -p /run/user/1000
mount -t tmpfs -o mode=700,uid=1000,gid=1000,nosuid,nodev,size=25% tmpfs /run/user/1000
install -m 644 "$SHARE/alpine.tar.gz" $W/alpine.tar.gz
as_tester() { runuser -u tester -- env -i HOME=/home/tester USER=tester PATH="$PATH" XDG_RUNTIME_DIR=/run/user/1000 bash -c "$1"; }
t_rootless() {
  local out; out=$(as_tester 'set -e; cd ~; rm -rf rl; mkdir rl; cd rl; mkdir rootfs; tar -xzf '$W'/alpine.tar.gz -C rootfs
    bunc spec --rootless
    sed -i "s/\"terminal\": true/\"terminal\": false/" config.json
    jq ".process.args = [\"sh\",\"-c\",\"id -u; cat /proc/self/uid_map; hostname; mkdir /sys/fs/cgroup/probe 2>&1 | sed \\\"s/.*: //\\\"\"] | .hostname = \"rl\"" config.json > c && mv c config.json
    bunc run rl-$$ </dev/null' 2>&1) || fail "exit $?: $out"
  echo "$out"
  expect_eq "uid inside" "$(echo "$out" | sed -n 1p)" 0
  echo "$out" | sed -n 2p | grep -Eq '^ *0 +1000 +1$' || fail "uid_map: $(echo "$out" | sed -n 2p)"
  expect_eq hostname "$(echo "$out" | sed -n 3p)" rl
  # its cgroup tree is a read-only mount, not the host's cgroup2 the rbind of /sys brings (CVE-2023-25809)
  expect_eq "mkdir in /sys/fs/cgroup" "$(echo "$out" | sed -n 4p)" "Read-only file system"
}
check "rootless: a user's bunc spec --rootless container" t_rootless

t_rootless_oneshot() {
  local out; out=$(as_tester 'cd ~ && bunc run --rm --rootfs '$W'/alpine.tar.gz -- sh -c "id -u; cat /etc/alpine-release" </dev/null' 2>&1) || {
    echo "--- again with --debug:"; as_tester 'cd ~ && bunc --debug run --rm --rootfs '$W'/alpine.tar.gz -- sh -c "id -u" </dev/null' 2>&1 | grep -v 'debug: syscall' | tail -25
    echo "--- tester's /etc/subuid: $(grep tester /etc/subuid)"; fail "exit $?: $out"; }
  echo "$out"
  expect_eq "uid inside" "$(echo "$out" | sed -n 1p)" 0
}
check "rootless: a user's one-shot run --rootfs tarball" t_rootless_oneshot

# --- podman with --runtime bunc ----------------------------------------------------------------
P="podman --runtime /usr/local/bin/bunc --cgroup-manager cgroupfs --events-backend file"
export P
t_podman_run() {
  podman import -q "$SHARE/alpine.tar.gz" localhost/alpine:bunc >/dev/null || fail "podman import"
  local out; out=$($P run --rm --network none localhost/alpine:bunc sh -c 'cat /etc/alpine-release; cat /proc/self/cgroup' </dev/null 2>&1) || fail "podman run: exit $?: $out"
  echo "$out"
  expect_eq "alpine release" "$(echo "$out" | head -1)" "$(cat $ROOTFS/etc/alpine-release)"
  $P run --rm --network none localhost/alpine:bunc sh -c 'exit 7' </dev/null; expect_eq "podman run exit code" "$?" 7
}
check "podman: run --runtime bunc --cgroup-manager cgroupfs" t_podman_run

t_podman_exec() {
  podman image exists localhost/alpine:bunc || podman import -q "$SHARE/alpine.tar.gz" localhost/alpine:bunc >/dev/null || fail "podman import"
  trap '$P rm -f -t 0 pc >/dev/null 2>&1' EXIT
  $P run -d --name pc --network none --memory 64m --pids-limit 30 localhost/alpine:bunc sleep 1000 </dev/null >/dev/null || fail "podman run -d"
  local out; out=$($P exec pc sh -c 'echo $(hostname) $(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/pids.max)' </dev/null 2>&1) || fail "podman exec: $out"
  echo "$out"
  echo "$out" | grep -q ' 67108864 30$' || fail "limits inside: $out"
  $P stop -t 1 pc >/dev/null || fail "podman stop"
  $P rm pc >/dev/null || fail "podman rm"
}
check "podman: run -d, exec, limits, stop, rm" t_podman_exec

# --- the fast path: no second Bun (issue 21, item 3) -------------------------------------------
# as root without a user namespace, run and exec execute bunc itself, the native init (posix_spawned
# by bunc from its memfd: the two native stages) and the container's program, nothing else: the rootfs
# is set up by bunc's own thread (proc made inside the container's PID namespace by the native init),
# not by a re-executed Bun (bunc executed again by fd: an execveat)
execs() { grep -E 'execve(at)?\(' "$1" | grep -Ev 'resumed|ENOENT'; }
# only_bunc_init_prog <strace file> <program path>
only_bunc_init_prog() {
  local calls; calls=$(execs "$1"); echo "$calls"
  expect_eq "execve calls (bunc, the native init, the program)" "$(echo "$calls" | grep -c 'execve(')" 3
  echo "$calls" | grep 'execve(' | head -1 | grep -q 'execve("/usr/local/bin/bunc",' || fail "the first execve is not bunc"
  echo "$calls" | grep 'execve(' | sed -n 2p | grep -q '"bunc-init"' || fail "the second execve is not the native init"
  echo "$calls" | grep 'execve(' | tail -1 | grep -q "execve(\"$2\"," || fail "the third execve is not $2"
  expect_eq "execveat calls (a Bun init)" "$(echo "$calls" | grep -c 'execveat(')" 0
  if echo "$calls" | grep -q _BUNC_INIT; then fail "a Bun init was started"; fi
}
export probe='["sh","-c","echo $$; read -r l < /proc/1/stat && echo ${l%% *}"]'
t_nosecond_run() {
  local d; d=$(mkb nsb "$(args "$probe")")
  local out; out=$(strace -f -qq -e trace=execve,execveat -o $W/nsb.strace bunc run -b "$d" nsb) || fail "run: exit $?: $out"
  expect_eq "the program's pid and proc's pid 1 inside" "$(echo $out)" "1 1"
  only_bunc_init_prog $W/nsb.strace /bin/sh
  local dbg; dbg=$(bunc --debug run -b "$d" nsb 2>&1 >/dev/null)
  echo "$dbg" | grep -F "the rootfs set up by"
  echo "$dbg" | grep -qF "the rootfs set up by bunc's own thread (no second Bun)" || fail "--debug names another path: $(echo "$dbg" | tail -5)"
}
check "fast path: run starts no second Bun (strace), --debug says so" t_nosecond_run

t_nosecond_exec() {
  local d; d=$(mkb nse "$sleeper")
  rund "$d" nse
  trap 'cleanup nse' EXIT
  local out; out=$(strace -f -qq -e trace=execve,execveat -o $W/nse.strace bunc exec nse sh -c 'echo in') || fail "exec: exit $?: $out"
  expect_eq "exec output" "$out" in
  only_bunc_init_prog $W/nse.strace /bin/sh
}
check "fast path: exec starts no second Bun (strace)" t_nosecond_exec

t_host_setup_off() {
  # BUNC_HOST_SETUP=0: the Bun init sets the rootfs up, as before the fast path
  local d; d=$(mkb hso "$(args "$probe")")
  local out; out=$(BUNC_HOST_SETUP=0 strace -f -qq -e trace=execve,execveat -o $W/hso.strace bunc --debug run -b "$d" hso 2>$W/hso.err) || { tail -20 $W/hso.err; fail "run: exit $?: $out"; }
  expect_eq "the program's pid and proc's pid 1 inside" "$(echo $out)" "1 1"
  grep -F "the rootfs set up by" $W/hso.err
  grep -qF "the rootfs set up by the Bun init (BUNC_HOST_SETUP=0)" $W/hso.err || fail "--debug names another path"
  local calls; calls=$(execs $W/hso.strace); echo "$calls"
  [ "$(echo "$calls" | grep -c 'execveat(')" -ge 2 ] || fail "no Bun init executed besides the native init"
  d=$(mkb hso2 "$sleeper")
  BUNC_HOST_SETUP=0 bunc create -b "$d" hso2 </dev/null >/dev/null || fail create
  trap 'cleanup hso2' EXIT
  BUNC_HOST_SETUP=0 bunc start hso2 || fail start
  out=$(BUNC_HOST_SETUP=0 bunc exec hso2 sh -c 'echo $(hostname) $(cat /proc/1/comm)') || fail "exec: $out"
  expect_eq "exec output" "$out" "hso2 sleep"
  bunc delete --force hso2 || fail delete
}
check "fast path: BUNC_HOST_SETUP=0 takes the Bun init, run/create/start/exec work" t_host_setup_off

# --- Docker (Debian's docker.io) with --add-runtime bunc ---------------------------------------
# dockerd started here, no bridge and no iptables, its own containerd: first with the cgroupfs
# driver (issue 21), then with its defaults on this host, the systemd driver and its
# docker-default AppArmor profile (issue 22)
DOCKERD_PID=
# whether a check of that name runs in this guest
wants() { [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]; }
dockerd_start() { # extra dockerd flags
  command -v dockerd >/dev/null || return 0
  log "starting dockerd $*"
  dockerd --add-runtime bunc=/usr/local/bin/bunc "$@" --bridge=none --iptables=false --ip-masq=false </dev/null >>$W/dockerd.log 2>&1 &
  DOCKERD_PID=$!
  # the socket first (a docker CLI start costs ~0.7 s under TCG), then one info for the log
  for _ in $(seq 240); do [ -S /run/docker.sock ] && docker version >/dev/null 2>&1 && break; sleep 0.5; done
  log "dockerd $(docker info -f '{{.ServerVersion}}, storage driver {{.Driver}}, cgroup driver {{.CgroupDriver}}' 2>/dev/null)"
  export DOCKERD_PID
}
dockerd_stop() {
  [ -n "$DOCKERD_PID" ] || return 0
  docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
  kill "$DOCKERD_PID"; for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$DOCKERD_PID" 2>/dev/null; wait "$DOCKERD_PID" 2>/dev/null
  DOCKERD_PID=
  log "dockerd stopped"
}
docker_up() {
  [ -n "$DOCKERD_PID" ] || fail "no dockerd (docker.io not installed)"
  local rts; rts=$(docker info -f '{{json .Runtimes}}' 2>&1) || { tail -20 $W/dockerd.log; fail "dockerd is not answering: $rts"; }
  echo "$rts" | grep -q '"bunc"' || fail "no bunc runtime in: $rts"
  docker image inspect alpine:bunc >/dev/null 2>&1 || docker import "$SHARE/alpine.tar.gz" alpine:bunc >/dev/null || fail "docker import"
}
wants "docker: cgroupfs" && dockerd_start --exec-opt native.cgroupdriver=cgroupfs
t_docker_run() {
  docker_up
  docker info -f 'docker {{.ServerVersion}}, storage {{.Driver}}, cgroup driver {{.CgroupDriver}} v{{.CgroupVersion}}'
  local out; out=$(docker run --rm --runtime bunc --network none alpine:bunc sh -c 'cat /etc/alpine-release; cat /proc/self/cgroup' </dev/null 2>&1) || fail "docker run: exit $?: $out"
  echo "$out"
  expect_eq "alpine release" "$(echo "$out" | head -1)" "$(cat $ROOTFS/etc/alpine-release)"
  docker run --rm --runtime bunc --network none alpine:bunc sh -c 'exit 7' </dev/null; expect_eq "docker run exit code" "$?" 7
}
check "docker: cgroupfs driver, run --rm --runtime bunc, exit code" t_docker_run

t_docker_exec() {
  docker_up
  trap 'docker rm -f dc >/dev/null 2>&1' EXIT
  local id; id=$(docker run -d --name dc --runtime bunc --network none --memory 32m alpine:bunc sleep 1000 </dev/null) || fail "docker run -d"
  expect_eq "runtime" "$(docker inspect -f '{{.HostConfig.Runtime}}' dc)" bunc
  # the shim's --root (docker 20.10 and 26: /run/docker/runtime-runc/moby whatever the runtime)
  local root; root=$(dirname "$(find /run/docker -maxdepth 3 -type d -name "$id" -path '*runtime-*' | head -1)")
  [ "$root" != . ] && bunc --root "$root" state "$id" | jq -c '{status, pid}' || fail "bunc has no state for $id under /run/docker/runtime-*: $(find /run/docker -maxdepth 3 -type d | head -20)"
  local out; out=$(docker exec dc sh -c 'echo $(cat /sys/fs/cgroup/memory.max) $(cat /proc/1/comm)' </dev/null 2>&1) || fail "docker exec: $out"
  expect_eq "memory.max and PID 1 inside" "$out" "33554432 sleep"
  docker exec dc sh -c 'exit 4' </dev/null; expect_eq "docker exec exit code" "$?" 4
  docker stop -t 1 dc >/dev/null || fail "docker stop"
  expect_eq "state after stop" "$(docker inspect -f '{{.State.Status}}' dc)" exited
  docker rm dc >/dev/null || fail "docker rm"
  [ -e "$root/$id" ] && fail "bunc state left after rm" || true
}
check "docker: cgroupfs driver, run -d --memory 32m, exec, stop, rm" t_docker_exec
dockerd_stop

# Docker's defaults on a systemd host with cgroup v2: the systemd driver (a docker-<id>.scope in
# system.slice, the limits as its properties) and the docker-default profile dockerd loads
wants "docker defaults: x" && dockerd_start
t_docker_defaults() {
  docker_up
  expect_eq "docker's cgroup driver (its default here)" "$(docker info -f '{{.CgroupDriver}}')" systemd
  trap 'docker rm -f dd >/dev/null 2>&1' EXIT
  local probe='echo $(tr -d "\0" </proc/self/attr/current) $(cat /proc/self/cgroup) $(cat /sys/fs/cgroup/memory.max)'
  local theirs out; theirs=$(docker run --rm --runtime runc --network none --memory 32m alpine:bunc sh -c "$probe" </dev/null 2>&1)
  out=$(docker run --rm --runtime bunc --network none --memory 32m alpine:bunc sh -c "$probe" </dev/null 2>&1) || fail "docker run: exit $?: $out (runc: $theirs)"
  echo "bunc: $out; runc: $theirs"
  expect_eq "profile, cgroup and memory.max inside" "$out" "docker-default (enforce) 0::/ 33554432"
  expect_eq "the same as with runc" "$out" "$theirs"
  local id pid; id=$(docker run -d --name dd --runtime bunc --network none --memory 32m --pids-limit 50 alpine:bunc sleep 1000 </dev/null) || fail "docker run -d"
  pid=$(docker inspect -f '{{.State.Pid}}' dd)
  expect_eq "the container's cgroup" "$(sed -n 's/^0:://p' /proc/$pid/cgroup)" "/system.slice/docker-$id.scope"
  expect_eq "the scope's MemoryMax" "$(systemctl show -p MemoryMax --value docker-$id.scope)" 33554432
  expect_eq "the scope's TasksMax" "$(systemctl show -p TasksMax --value docker-$id.scope)" 50
  expect_eq "the init's profile, from the host" "$(tr -d '\0' </proc/$pid/attr/current)" "docker-default (enforce)"
  expect_eq "docker exec's profile" "$(docker exec dd sh -c 'tr -d "\0" </proc/self/attr/current' </dev/null 2>&1)" "docker-default (enforce)"
  docker pause dd >/dev/null || fail "docker pause"
  expect_eq "paused" "$(docker inspect -f '{{.State.Status}}' dd)" paused
  expect_eq "cgroup.freeze" "$(cat $CG/system.slice/docker-$id.scope/cgroup.freeze)" 1
  docker unpause dd >/dev/null || fail "docker unpause"
  docker update --memory 64m --memory-swap 128m dd >/dev/null || fail "docker update"
  expect_eq "MemoryMax after update" "$(systemctl show -p MemoryMax --value docker-$id.scope)" 67108864
  docker stop -t 1 dd >/dev/null || fail "docker stop"
  docker rm dd >/dev/null || fail "docker rm"
  systemctl is-active -q docker-$id.scope && fail "the scope outlived rm" || true
}
check "docker defaults: systemd driver and docker-default profile, run, exec, pause, update, stop, rm (as runc)" t_docker_defaults
dockerd_stop

# --- CRI: one pod through containerd with the RuntimeClass handler bunc -------------------------
t_cri() {
  command -v containerd >/dev/null || fail "no containerd"
  [ -e "$SHARE/cri.js" ] || fail "no cri.js on the share"
  # the CRI driver of the host tests (test/support/cri.ts), run by the bunc binary as the bun CLI
  BUN_BE_BUN=1 BUNC_BIN=/usr/local/bin/bunc BUNC_ROOTFS_TARBALL="$SHARE/alpine.tar.gz" bunc "$SHARE/cri.js"
}
check "cri: a pod through containerd's CRI with the handler bunc" t_cri 300

# --- figures: bunc against the guest's runc (issue 21, item 5) ---------------------------------
# in one run, alternating, each with a private --root; TCG: compare within one guest only
t_bench() {
  [ -e "$SHARE/bench" ] || skip "figures are taken with BUNC_GUEST_BENCH=1 (bun scripts/guests/boot.ts), not in every test run"
  local n rt i t; n=$(cat "$SHARE/bench")
  mkdir -p $W/bench
  for rt in bunc runc; do
    mkb bench-run-$rt "$(args '["/bin/true"]')" >/dev/null
    mkb bench-ex-$rt "$sleeper" >/dev/null
    $rt --root $W/bench/root-$rt run -d -b $W/c/bench-ex-$rt ex </dev/null >/dev/null 2>&1 || fail "$rt run -d"
    : >$W/bench/$rt.run; : >$W/bench/$rt.exec; : >$W/bench/$rt.version
  done
  trap 'for rt in bunc runc; do $rt --root $W/bench/root-$rt delete --force ex >/dev/null 2>&1; done' EXIT
  us() { echo $(( $(date +%s%N) / 1000 )); }
  for i in $(seq 0 "$n"); do
    for rt in bunc runc; do
      t=$(us); $rt --root $W/bench/root-$rt run -b $W/c/bench-run-$rt r$i </dev/null >/dev/null 2>&1 || fail "$rt run"
      [ $i = 0 ] || echo $(( $(us) - t )) >>$W/bench/$rt.run
      t=$(us); $rt --root $W/bench/root-$rt exec ex /bin/true </dev/null >/dev/null 2>&1 || fail "$rt exec"
      [ $i = 0 ] || echo $(( $(us) - t )) >>$W/bench/$rt.exec
      t=$(us); $rt --version >/dev/null 2>&1
      [ $i = 0 ] || echo $(( $(us) - t )) >>$W/bench/$rt.version
    done
  done
  med() { sort -n "$1" | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.0f", m / 1000}'; }
  local f out
  out="Debian $(cat /etc/debian_version) guest (kernel $(uname -r), QEMU TCG, $(nproc) vCPUs), bunc $(bunc --version | head -1 | awk '{print $3}') against runc $(runc --version | head -1 | awk '{print $3}'): median of $n runs each, alternating, in ms"$'\n\n'
  out+="| figure | bunc | runc | bunc/runc |"$'\n'"|---|---:|---:|---:|"$'\n'
  for f in "run:run + delete of /bin/true (\`run\`)" "exec:exec of /bin/true into a running container" "version:--version (start-up)"; do
    local b r; b=$(med $W/bench/bunc.${f%%:*}); r=$(med $W/bench/runc.${f%%:*})
    out+="| ${f#*:} | $b | $r | $(awk -v b="$b" -v r="$r" 'BEGIN {printf "%.2f×", b / r}') |"$'\n'
  done
  echo "$out" | tee "$SHARE/bench.md"
}
check "bench: bunc against runc in this guest (figures, no assertions)" t_bench 600

# --- AppArmor (issue 22): process.apparmorProfile confines, as with runc -----------------------
# A small test profile, loaded here with apparmor_parser (Debian's apparmor package): everything
# allowed but reading /etc/alpine-release, so a check sees the profile enforced, not only named.
export AA_PROFILE=bunc-test
aa_load() {
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] || fail "AppArmor is not enabled in the guest's kernel"
  grep -qx "$AA_PROFILE (enforce)" /sys/kernel/security/apparmor/profiles && return 0
  command -v apparmor_parser >/dev/null || fail "no apparmor_parser (Debian's apparmor package)"
  cat >"$W/$AA_PROFILE.aa" <<EOF
abi <abi/3.0>,
profile $AA_PROFILE flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  umount,
  deny /etc/alpine-release r,
}
EOF
  apparmor_parser -r "$W/$AA_PROFILE.aa" || fail "apparmor_parser -r $W/$AA_PROFILE.aa"
  grep -qx "$AA_PROFILE (enforce)" /sys/kernel/security/apparmor/profiles || fail "not loaded: $(cat /sys/kernel/security/apparmor/profiles)"
}
# the label a process reads in /proc/self/attr/current, then READ or DENIED for the denied file
export aa_try='["sh","-c","tr -d \"\\\\0\" </proc/self/attr/current; cat /etc/alpine-release >/dev/null 2>&1 && echo READ || echo DENIED"]'
aa_expect() { # what output
  expect_eq "$1: attr/current" "$(echo "$2" | head -1)" "$AA_PROFILE (enforce)"
  expect_eq "$1: the denied read" "$(echo "$2" | sed -n 2p)" DENIED
}
t_apparmor_run() {
  aa_load
  local d out; d=$(mkb aarun "$(args "$aa_try")" ".process.apparmorProfile = \"$AA_PROFILE\"")
  out=$(bunc run -b "$d" aarun 2>&1) || fail "run: exit $?: $out"
  echo "native init: $out"; aa_expect "native init" "$out"
  out=$(BUNC_NATIVE_INIT=0 bunc run -b "$d" aarun 2>&1) || fail "BUNC_NATIVE_INIT=0 run: exit $?: $out"
  echo "Bun init: $out"; aa_expect "Bun init (BUNC_NATIVE_INIT=0)" "$out"
  d=$(mkb aauser "$(args "$aa_try")" ".process.apparmorProfile = \"$AA_PROFILE\"" \
    '.linux.namespaces += [{type:"user"}] | .linux.uidMappings = [{containerID:0,hostID:100000,size:65536}] | .linux.gidMappings = [{containerID:0,hostID:100000,size:65536}]')
  out=$(bunc run -b "$d" aauser 2>&1) || fail "run (user namespace): exit $?: $out"
  echo "user namespace: $out"; aa_expect "user namespace" "$out"
  d=$(mkb aanone "$(args "$aa_try")")
  out=$(bunc run -b "$d" aanone 2>&1) || fail "run without a profile: exit $?: $out"
  echo "no profile: $out"
  expect_eq "without a profile" "$out" "unconfined"$'\n'"READ"
}
check "apparmor: process.apparmorProfile confines the container (native and Bun init, user namespace)" t_apparmor_run

t_apparmor_rootless() {
  aa_load
  echo "$aa_try" >"$W/aa-args.json"
  echo '.process.terminal = false | .process.args = $a[0] | .process.apparmorProfile = $p' >"$W/aa-rootless.jq"
  chmod 644 "$W/aa-args.json" "$W/aa-rootless.jq"
  local out; out=$(as_tester 'set -e; cd ~; rm -rf aa; mkdir aa; cd aa; mkdir rootfs; tar -xzf '$W'/alpine.tar.gz -C rootfs
    bunc spec --rootless
    jq --slurpfile a '$W'/aa-args.json --arg p '$AA_PROFILE' -f '$W'/aa-rootless.jq config.json > c && mv c config.json
    bunc run aa-$$ </dev/null' 2>&1) || fail "exit $?: $out"
  echo "rootless: $out"; aa_expect "rootless (Bun init, then the native init)" "$out"
}
check "apparmor: a rootless container gets its profile too" t_apparmor_rootless

t_apparmor_exec() {
  aa_load
  local d; d=$(mkb aaex "$sleeper" ".process.apparmorProfile = \"$AA_PROFILE\"")
  rund "$d" aaex
  trap 'cleanup aaex; cleanup aaexu' EXIT
  local cur='["sh","-c","tr -d \"\\\\0\" </proc/self/attr/current"]'
  expect_eq "the init, seen from the host" "$(tr -d '\0' </proc/"$(pid_of aaex)"/attr/current)" "$AA_PROFILE (enforce)"
  local out; out=$(bunc exec aaex sh -c "$(echo "$aa_try" | jq -r '.[2]')" 2>&1) || fail "exec: $out"
  aa_expect "exec" "$out"
  out=$(BUNC_NATIVE_INIT=0 bunc exec aaex sh -c "$(echo "$aa_try" | jq -r '.[2]')" 2>&1) || fail "exec (Bun): $out"
  aa_expect "exec (BUNC_NATIVE_INIT=0)" "$out"
  jq -n --argjson a "$cur" '{args: $a, cwd: "/", env: ["PATH=/usr/bin:/bin"]}' >"$W/aa-process.json"
  expect_eq "exec -p without a profile gets the container's" "$(bunc exec -p "$W/aa-process.json" aaex)" "$AA_PROFILE (enforce)"
  expect_eq "exec --apparmor unconfined" "$(bunc exec --apparmor unconfined aaex sh -c 'tr -d "\0" </proc/self/attr/current')" unconfined
  local err; err=$(bunc exec --apparmor bunc-no-such-profile aaex true 2>&1) && fail "exec with an unknown profile succeeded"
  echo "unknown profile at exec: $err"
  expect_eq "lines of exec's error" "$(echo "$err" | wc -l)" 1
  echo "$err" | grep -q '"bunc-no-such-profile"' || fail "the profile is not named: $err"
  d=$(mkb aaexu "$sleeper" ".process.apparmorProfile = \"$AA_PROFILE\"" \
    '.linux.namespaces += [{type:"user"}] | .linux.uidMappings = [{containerID:0,hostID:100000,size:65536}] | .linux.gidMappings = [{containerID:0,hostID:100000,size:65536}]')
  rund "$d" aaexu
  expect_eq "exec into a user namespace" "$(bunc exec aaexu sh -c 'tr -d "\0" </proc/self/attr/current')" "$AA_PROFILE (enforce)"
}
check "apparmor: exec gets the container's profile, or its own (--apparmor, -p)" t_apparmor_exec

t_apparmor_unknown() {
  aa_load
  create_refused aaunk '.process.apparmorProfile = "bunc-no-such-profile"' '"bunc-no-such-profile"'
}
check "apparmor: an unknown profile fails create with one line, nothing left" t_apparmor_unknown

t_apparmor_podman() {
  aa_load
  podman image exists localhost/alpine:bunc || podman import -q "$SHARE/alpine.tar.gz" localhost/alpine:bunc >/dev/null || fail "podman import"
  local R="podman --runtime runc --cgroup-manager cgroupfs --events-backend file"
  local theirs; theirs=$($R run --rm --network none localhost/alpine:bunc sh -c 'tr -d "\0" </proc/self/attr/current' </dev/null 2>&1)
  local out; out=$($P run --rm --network none localhost/alpine:bunc sh -c 'tr -d "\0" </proc/self/attr/current' </dev/null 2>&1) || fail "podman run: exit $?: $out"
  echo "bunc: $out; runc: $theirs"
  case $out in containers-default-*" (enforce)") ;; *) fail "podman's default profile not applied: $out" ;; esac
  expect_eq "the same as with runc" "$out" "$theirs"
  trap '$P rm -f -t 0 paa >/dev/null 2>&1' EXIT
  $P run -d --name paa --network none localhost/alpine:bunc sleep 1000 </dev/null >/dev/null || fail "podman run -d"
  expect_eq "podman exec" "$($P exec paa sh -c 'tr -d "\0" </proc/self/attr/current' </dev/null 2>&1)" "$out"
}
check "apparmor: podman's default profile with --runtime bunc (as with runc)" t_apparmor_podman
# --- end of AppArmor ---------------------------------------------------------------------------

# --- SELinux (issue 22): labels as runc applies them, in a guest booted with SELinux --------------
# Debian 12 with Debian's reference policy, permissive (the files are not relabelled): a label is
# applied or refused by the kernel all the same, and a process reads its own in attr/current.
# Whether the policy has a type: the kernel validates a context written to selinuxfs' context file.
se_valid() { (exec 3<>/sys/fs/selinux/context && printf %s "$1" >&3) 2>/dev/null; }
se_labels() {
  [ "$(cat /sys/fs/selinux/enforce 2>/dev/null)" ] || fail "SELinux is not on in this guest (cmdline: $(cat /proc/cmdline))"
  local t; for t in container_t svirt_lxc_net_t unconfined_t; do se_valid "system_u:system_r:$t:s0:c1,c2" && break; done
  se_valid "system_u:system_r:$t:s0:c1,c2" || fail "no container type in the loaded policy"
  SE_PROC="system_u:system_r:$t:s0:c1,c2"
  for t in container_file_t svirt_sandbox_file_t tmpfs_t; do se_valid "system_u:object_r:$t:s0:c1,c2" && break; done
  SE_FILE="system_u:object_r:$t:s0:c1,c2"
  echo "policy $(cat /sys/fs/selinux/policyvers), enforce $(cat /sys/fs/selinux/enforce); process label $SE_PROC, mount label $SE_FILE"
}
t_selinux_run() {
  se_labels
  local probe='["sh","-c","tr -d \"\\\\0\" </proc/self/attr/current; echo"]' d out theirs
  d=$(mkb serun "$(args "$probe")" ".process.selinuxLabel = \"$SE_PROC\"")
  out=$(bunc run -b "$d" serun 2>&1) || fail "run: $out"
  expect_eq "the label inside (native init)" "$out" "$SE_PROC"
  out=$(BUNC_NATIVE_INIT=0 bunc run -b "$d" serun 2>&1) || fail "run (Bun init): $out"
  expect_eq "the label inside (Bun init)" "$out" "$SE_PROC"
  theirs=$(runc run -b "$d" serun-runc 2>&1)
  expect_eq "the same as with runc" "$out" "$theirs"
  # the mount label: context= on the tmpfs mounts bunc makes (/dev), seen from the host
  d=$(mkb semnt "$sleeper" ".process.selinuxLabel = \"$SE_PROC\" | .linux.mountLabel = \"$SE_FILE\"")
  rund "$d" semnt
  trap 'cleanup semnt; cleanup seex' EXIT
  expect_eq "the init's label, from the host" "$(tr -d '\0' </proc/"$(pid_of semnt)"/attr/current)" "$SE_PROC"
  expect_eq "/dev's label (linux.mountLabel)" "$(stat -c %C /proc/"$(pid_of semnt)"/root/dev)" "$SE_FILE"
  expect_eq "exec gets the container's label" "$(bunc exec semnt sh -c 'tr -d "\0" </proc/self/attr/current')" "$SE_PROC"
  local other="${SE_PROC%:*}:c3,c4"
  expect_eq "exec --process-label" "$(bunc exec --process-label "$other" semnt sh -c 'tr -d "\0" </proc/self/attr/current')" "$other"
}
check "selinux: process.selinuxLabel and linux.mountLabel applied (native and Bun init, exec), as runc" t_selinux_run

t_selinux_bad() {
  se_labels
  create_refused sebad '.process.selinuxLabel = "system_u:system_r:bunc_no_such_t:s0"' '"system_u:system_r:bunc_no_such_t:s0"'
  expect_eq "features" "$(bunc features | jq -c '.linux.selinux.enabled')" true
}
check "selinux: a label the policy does not have fails create with one line, nothing left" t_selinux_bad
# --- end of SELinux ------------------------------------------------------------------------------

# --- systemd cgroup driver (--systemd-cgroup) ----------------------------------------------------
export SD="bunc --systemd-cgroup"
t_sd_run() {
  local d; d=$(mkb sdrun "$sleeper" '.linux.cgroupsPath = "system.slice:bunc:sdrun" | .linux.resources = {memory: {limit: 33554432}, pids: {limit: 64}}')
  trap 'cleanup sdrun' EXIT
  $SD run -d -b "$d" sdrun </dev/null >/dev/null 2>"$W/sdrun.err" || { cat "$W/sdrun.err"; fail "run -d"; }
  expect_eq "is-active" "$(systemctl is-active bunc-sdrun.scope)" active
  expect_eq "MemoryMax" "$(systemctl show -p MemoryMax --value bunc-sdrun.scope)" 33554432
  expect_eq "TasksMax" "$(systemctl show -p TasksMax --value bunc-sdrun.scope)" 64
  expect_eq "Delegate" "$(systemctl show -p Delegate --value bunc-sdrun.scope)" yes
  expect_eq "the init's cgroup" "$(sed -n 's/^0:://p' /proc/"$(pid_of sdrun)"/cgroup)" /system.slice/bunc-sdrun.scope
  expect_eq "memory.max" "$(cat $CG/system.slice/bunc-sdrun.scope/memory.max)" 33554432
  expect_eq "exec's cgroup" "$(bunc exec sdrun cat /proc/self/cgroup)" "0::/"
  bunc ps sdrun | grep -q sleep || fail "ps: $(bunc ps sdrun)"
  bunc pause sdrun || fail pause
  expect_eq "paused" "$(state sdrun)" paused
  expect_eq "cgroup.freeze" "$(cat $CG/system.slice/bunc-sdrun.scope/cgroup.freeze)" 1
  bunc resume sdrun || fail resume
  expect_eq "resumed" "$(state sdrun)" running
  bunc update --memory 64m sdrun || fail "update"
  expect_eq "MemoryMax after update" "$(systemctl show -p MemoryMax --value bunc-sdrun.scope)" 67108864
  expect_eq "memory.max after update" "$(cat $CG/system.slice/bunc-sdrun.scope/memory.max)" 67108864
  bunc delete --force sdrun || fail delete
  systemctl is-active -q bunc-sdrun.scope && fail "the scope is still active after delete"
  [ -d $CG/system.slice/bunc-sdrun.scope ] && fail "the scope's cgroup is left" || true
}
check "systemd cgroup: run in a scope with MemoryMax, exec, pause/resume, update, delete" t_sd_run

t_sd_default() {
  # runc's org.systemd.property.* annotations: <name>Sec in seconds becomes <name>USec, values in GVariant's text
  local d; d=$(mkb sddef "$sleeper" 'del(.linux.cgroupsPath) | .linux.resources = {cpu: {shares: 512, quota: 50000, period: 100000}} | .annotations = {"org.systemd.property.TimeoutStopSec": "42", "org.systemd.property.CollectMode": "\u0027inactive-or-failed\u0027"}')
  trap 'cleanup sddef' EXIT
  $SD run -d -b "$d" sddef </dev/null >/dev/null 2>"$W/sddef.err" || { cat "$W/sddef.err"; fail "run -d"; }
  expect_eq "default unit" "$(systemctl is-active bunc-sddef.scope)" active
  expect_eq "Slice" "$(systemctl show -p Slice --value bunc-sddef.scope)" system.slice
  expect_eq "CPUQuotaPerSecUSec" "$(systemctl show -p CPUQuotaPerSecUSec --value bunc-sddef.scope)" 500ms
  expect_eq "cpu.max" "$(cat $CG/system.slice/bunc-sddef.scope/cpu.max)" "50000 100000"
  expect_eq "cpu.weight" "$(cat $CG/system.slice/bunc-sddef.scope/cpu.weight)" 20
  expect_eq "TimeoutStopUSec (annotation)" "$(systemctl show -p TimeoutStopUSec --value bunc-sddef.scope)" 42s
  expect_eq "CollectMode (annotation)" "$(systemctl show -p CollectMode --value bunc-sddef.scope)" inactive-or-failed
  # a nested slice, expanded as systemd does
  d=$(mkb sdpod "$sleeper" '.linux.cgroupsPath = "bunctest-burstable-pod1.slice:cri:sdpod"')
  trap 'cleanup sddef; cleanup sdpod; systemctl stop bunctest.slice >/dev/null 2>&1' EXIT
  $SD run -d -b "$d" sdpod </dev/null >/dev/null 2>"$W/sdpod.err" || { cat "$W/sdpod.err"; fail "run -d sdpod"; }
  expect_eq "nested slice" "$(sed -n 's/^0:://p' /proc/"$(pid_of sdpod)"/cgroup)" /bunctest.slice/bunctest-burstable.slice/bunctest-burstable-pod1.slice/cri-sdpod.scope
}
check "systemd cgroup: default cgroupsPath (system.slice:bunc:<id>), cpu properties, org.systemd.property.* annotations, nested slices" t_sd_default

# sd_notify through the container (NOTIFY_SOCKET), as a service of Type=notify runs it: systemd
# waits for the container's READY=1, which bunc passes on with the container's init as MAINPID.
t_sd_notify() {
  [ -x "$SHARE/sd-notify" ] || skip "no sd_notify sender in the share (boot.ts builds it with the host's cc -static)"
  mkdir -p "$W/sdn" && rm -f "$W/sdn/ready" && cp "$SHARE/sd-notify" "$W/sdn/"
  local d; d=$(mkb sdn '.process.args = ["sh", "-c", "trap \"exit 0\" TERM; while [ ! -e /mnt/ready ]; do sleep 0.1; done; /mnt/sd-notify READY=1; sleep 1000 & wait"]' \
    "$(printf '.mounts += [{destination: "/mnt", source: "%s", type: "bind", options: ["rbind"]}]' "$W/sdn")")
  trap 'systemctl stop bunc-sdn.service >/dev/null 2>&1; cleanup sdn' EXIT
  systemd-run --no-block --collect --unit=bunc-sdn -p Type=notify -p NotifyAccess=all "$(command -v bunc)" run -b "$d" sdn || fail "systemd-run"
  local i
  for i in $(seq 600); do [ "$(state sdn 2>/dev/null)" = running ] && break; sleep 0.1; done
  expect_eq "the container is running" "$(state sdn)" running
  expect_eq "the unit before READY" "$(systemctl show -p ActiveState --value bunc-sdn.service)" activating
  expect_eq "the container's NOTIFY_SOCKET" "$(bunc exec sdn sh -c 'echo $NOTIFY_SOCKET; test -S $NOTIFY_SOCKET && echo socket')" "/run/notify/notify.sock
socket"
  touch "$W/sdn/ready"
  for i in $(seq 600); do [ "$(systemctl show -p ActiveState --value bunc-sdn.service)" = active ] && break; sleep 0.1; done
  expect_eq "the unit after READY" "$(systemctl show -p ActiveState --value bunc-sdn.service)" active
  expect_eq "MainPID (the container's init)" "$(systemctl show -p MainPID --value bunc-sdn.service)" "$(pid_of sdn)"
  # the init (PID 1 of its namespace) ends on TERM by its trap; bunc, in the unit, deletes the container
  systemctl stop bunc-sdn.service || fail "systemctl stop"
  for i in $(seq 300); do bunc state sdn >/dev/null 2>&1 || break; sleep 0.1; done
  bunc state sdn >/dev/null 2>&1 && fail "the container outlived the unit" || true
}
check "systemd notify: a Type=notify service runs bunc run; the container's READY=1 makes it active, its init the MainPID" t_sd_notify

# The same through podman (--sdnotify=container, as a quadlet's Notify=true runs it): podman hands
# NOTIFY_SOCKET to its runtime, which makes the container's READY=1 reach systemd.
t_sd_notify_podman() {
  [ -x "$SHARE/sd-notify" ] || skip "no sd_notify sender in the share (boot.ts builds it with the host's cc -static)"
  podman image exists localhost/alpine:bunc || podman import -q "$SHARE/alpine.tar.gz" localhost/alpine:bunc >/dev/null || fail "podman import"
  mkdir -p "$W/sdp" && rm -f "$W/sdp/ready" && cp "$SHARE/sd-notify" "$W/sdp/"
  trap 'systemctl stop bunc-sdp.service >/dev/null 2>&1; podman --runtime /usr/local/bin/bunc rm -f -t 0 sdp >/dev/null 2>&1' EXIT
  systemd-run --no-block --collect --unit=bunc-sdp -p Type=notify -p NotifyAccess=all \
    podman --runtime /usr/local/bin/bunc --events-backend file run --name sdp --network none --sdnotify=container -v "$W/sdp:/mnt" localhost/alpine:bunc \
    sh -c 'trap "exit 0" TERM; while [ ! -e /mnt/ready ]; do sleep 0.1; done; /mnt/sd-notify READY=1; sleep 1000 & wait' || fail "systemd-run"
  local i
  for i in $(seq 900); do [ "$(podman --runtime /usr/local/bin/bunc inspect -f '{{.State.Running}}' sdp 2>/dev/null)" = true ] && break; sleep 0.1; done
  expect_eq "the unit before READY" "$(systemctl show -p ActiveState --value bunc-sdp.service)" activating
  touch "$W/sdp/ready"
  for i in $(seq 900); do [ "$(systemctl show -p ActiveState --value bunc-sdp.service)" = active ] && break; sleep 0.1; done
  expect_eq "the unit after READY" "$(systemctl show -p ActiveState --value bunc-sdp.service)" active
  # podman then names conmon the main PID (it does so with runc too: checked once, 2026-12-06)
  expect_eq "MainPID (podman's conmon)" "$(systemctl show -p MainPID --value bunc-sdp.service)" "$(podman --runtime /usr/local/bin/bunc inspect -f '{{.State.ConmonPid}}' sdp)"
  systemctl stop bunc-sdp.service || fail "systemctl stop"
}
check "systemd notify: podman run --sdnotify=container --runtime bunc as a Type=notify service: READY=1 reaches systemd" t_sd_notify_podman

t_sd_fail() {
  local d err; d=$(mkb sdbad "$sleeper" '.linux.cgroupsPath = "system.slice:bunc:sdbad"')
  DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent $SD create -b "$d" sdbad </dev/null >/dev/null 2>"$W/sdbad.err" && fail "create succeeded"
  err=$(cat "$W/sdbad.err"); echo "$err"
  expect_eq "lines of the error" "$(echo "$err" | wc -l)" 1
  echo "$err" | grep -q 'systemd' || fail "systemd not named"
  bunc state sdbad >/dev/null 2>&1 && fail "a container was left"
  systemctl is-active -q bunc-sdbad.scope && fail "a scope was left"
  [ -d $CG/system.slice/bunc-sdbad.scope ] && fail "a cgroup was left" || true
}
check "systemd cgroup: unreachable systemd fails create with one line, nothing left" t_sd_fail

t_sd_podman() {
  podman image exists localhost/alpine:bunc || podman import -q "$SHARE/alpine.tar.gz" localhost/alpine:bunc >/dev/null || fail "podman import"
  local R="podman --runtime runc --cgroup-manager systemd --events-backend file"
  local theirs; theirs=$($R run --rm --network none --memory 32m localhost/alpine:bunc sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup; tr -d "\0" </proc/self/attr/current' </dev/null 2>&1)
  local B="podman --runtime /usr/local/bin/bunc --cgroup-manager systemd --events-backend file"
  local out; out=$($B run --rm --network none --memory 32m localhost/alpine:bunc sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup; tr -d "\0" </proc/self/attr/current' </dev/null 2>&1) || fail "podman run: exit $?: $out (runc: $theirs)"
  echo "bunc: $out; runc: $theirs"
  expect_eq "memory.max in the container" "$(echo "$out" | head -1)" 33554432
  case $(echo "$out" | tail -1) in containers-default-*" (enforce)") ;; *) fail "podman's default profile not applied: $out" ;; esac
  expect_eq "the same as with runc" "$out" "$theirs"
  trap '$B rm -f -t 0 psd >/dev/null 2>&1' EXIT
  local id; id=$($B run -d --name psd --network none --memory 32m localhost/alpine:bunc sleep 1000 </dev/null) || fail "podman run -d"
  expect_eq "the scope's MemoryMax" "$(systemctl show -p MemoryMax --value "libpod-$id.scope")" 33554432
  expect_eq "the scope's cgroup" "$(sed -n 's/^0:://p' /proc/"$($B inspect -f '{{.State.Pid}}' psd)"/cgroup)" "/machine.slice/libpod-$id.scope"
  expect_eq "podman exec's profile" "$($B exec psd sh -c 'tr -d "\0" </proc/self/attr/current' </dev/null)" "$(echo "$out" | tail -1)"
  $B pause psd >/dev/null && $B unpause psd >/dev/null || fail "pause/unpause"
  $B stop -t 1 psd >/dev/null || fail stop
  $B rm psd >/dev/null || fail rm
  systemctl is-active -q "libpod-$id.scope" && fail "the scope outlived rm" || true
}
check "systemd cgroup: podman's defaults (systemd manager, its AppArmor profile) --runtime bunc, --memory 32m (as runc)" t_sd_podman
# Rootless: the unit in the user's own systemd instance (runc's systemdUser). The user's shell runs
# in a cgroup of its instance, as a desktop session's terminal does (user@1000.service/...): the
# instance moves the init from there into its scope itself (from elsewhere it asks PID 1 over
# the system bus, which this guest does not have).
t_sd_user() {
  local uc=$CG/user.slice/user-1000.slice/user@1000.service
  # No logind here (no D-Bus daemon), so user-runtime-dir@ cannot ask it for the tmpfs size and
  # pam_systemd does not set XDG_RUNTIME_DIR: the runtime directory is the tmpfs mounted above,
  # as logind would have made it, and the instance is told where it is.
  mkdir -p /run/systemd/system/user-runtime-dir@1000.service.d /run/systemd/system/user@1000.service.d
  printf '[Service]\nExecStart=\nExecStart=/bin/true\nExecStop=\nExecStop=/bin/true\n' >/run/systemd/system/user-runtime-dir@1000.service.d/no-logind.conf
  printf '[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/1000\n' >/run/systemd/system/user@1000.service.d/no-logind.conf
  systemctl daemon-reload
  systemctl start user@1000.service || fail "systemctl start user@1000.service: $(systemctl status user@1000.service 2>&1 | tail -5)"
  trap 'systemctl stop user@1000.service >/dev/null 2>&1; mountpoint -q /run/user/1000 || mount -t tmpfs -o mode=700,uid=1000,gid=1000,nosuid,nodev,size=25% tmpfs /run/user/1000' EXIT
  [ -S /run/user/1000/systemd/private ] || fail "the user's instance has no private socket in /run/user/1000/systemd"
  mkdir -p "$uc/bunc-checks" && chown tester: "$uc/bunc-checks" "$uc/bunc-checks/cgroup.procs"
  cat >"$W/sd-user.sh" <<EOS
set -e
cd ~; rm -rf sdu; mkdir sdu; cd sdu; mkdir rootfs; tar -xzf $W/alpine.tar.gz -C rootfs
bunc spec --rootless
jq '.process.terminal = false | .process.args = ["sleep", "1000"] | .linux.resources = {memory: {limit: 33554432}, pids: {limit: 40}}' config.json >c && mv c config.json
bunc --systemd-cgroup run -d sdu </dev/null >/dev/null
pid=\$(bunc state sdu | jq .pid)
echo "cgroup \$(sed -n 's/^0:://p' /proc/\$pid/cgroup)"
echo "MemoryMax \$(systemctl --user show -p MemoryMax --value bunc-sdu.scope)"
echo "TasksMax \$(systemctl --user show -p TasksMax --value bunc-sdu.scope)"
echo "memory.max \$(cat $uc/user.slice/bunc-sdu.scope/memory.max)"
echo "exec \$(bunc exec sdu id -u)"
bunc pause sdu; echo "paused \$(bunc state sdu | jq -r .status)"; bunc resume sdu
bunc update --memory 64m sdu; echo "updated \$(systemctl --user show -p MemoryMax --value bunc-sdu.scope)"
bunc delete --force sdu
echo "deleted \$(systemctl --user is-active bunc-sdu.scope)"
EOS
  chmod 755 "$W/sd-user.sh"
  local out; out=$(bash -c "echo \$\$ >$uc/bunc-checks/cgroup.procs && exec runuser -u tester -- env -i HOME=/home/tester USER=tester PATH=$PATH XDG_RUNTIME_DIR=/run/user/1000 bash $W/sd-user.sh" 2>&1) || fail "exit $?: $out"
  echo "$out"
  expect_eq "the init's cgroup" "$(echo "$out" | sed -n 's/^cgroup //p')" "/user.slice/user-1000.slice/user@1000.service/user.slice/bunc-sdu.scope"
  expect_eq "MemoryMax" "$(echo "$out" | sed -n 's/^MemoryMax //p')" 33554432
  expect_eq "TasksMax" "$(echo "$out" | sed -n 's/^TasksMax //p')" 40
  expect_eq "memory.max" "$(echo "$out" | sed -n 's/^memory.max //p')" 33554432
  expect_eq "exec" "$(echo "$out" | sed -n 's/^exec //p')" 0
  expect_eq "paused" "$(echo "$out" | sed -n 's/^paused //p')" paused
  expect_eq "MemoryMax after update" "$(echo "$out" | sed -n 's/^updated //p')" 67108864
  expect_eq "the scope after delete" "$(echo "$out" | sed -n 's/^deleted //p')" inactive
}
check "systemd cgroup: rootless, in the user's own systemd instance (systemdUser)" t_sd_user
# --- end of systemd cgroup driver ----------------------------------------------------------------

# --- done --------------------------------------------------------------------------------------
log "done: $N checks, $(grep -c '^not ok' "$TAP") failed"
bunc list
ls $CG/bunc-checks 2>/dev/null
exit 0
