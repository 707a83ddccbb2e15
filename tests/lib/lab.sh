# shellcheck shell=bash
# tests/lib/lab.sh - network-namespace lab for dlrd integration tests and demos.
#
# Source it from a bash script that runs as root:
#
#   . "$abs_top_srcdir/tests/lib/lab.sh"
#   lab_init                      # temp dir, cleanup trap, prerequisite checks
#   lab_host hostA 192.0.2.1 eth1 # netns + VTEP + uplink + private bus + dlrd
#   dlr_call hostA CreateRouter su blue 0
#
# Everything the lab creates is named after a per-run prefix ($LAB_PFX,
# "dlt<pid>-" by default) and recorded; the EXIT trap kills only the pids it
# started (dbus-daemon, dlrd, monitors), deletes only its own namespaces and
# removes only its own temp dir.  Set LAB_KEEP=1 to keep the temp dir (logs,
# state) after the run.
#
# Environment:
#   abs_top_builddir, abs_top_srcdir  as exported by automake's test harness;
#                       both default to the repository root.
#   DLRD                path of the dlrd binary (default $abs_top_builddir/dlrd)
#   LAB_READY_TIMEOUT   seconds to wait for dlrd to own org.dlrd1 (default 30)
#   LAB_DLRD_ARGS       extra arguments for every dlrd (word-split)
#   LAB_DLRD_DEBUG=1    start dlrd with --debug (its log: $LAB_DIR/HOST/dlrd.log)
#   LAB_VERBOSE=1       echo every D-Bus call made through dlr_call
#   LAB_KEEP=1          keep $LAB_DIR after exit

# ---------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------
_lab_self_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_lab_root=$(cd "$_lab_self_dir/../.." && pwd)
: "${abs_top_srcdir:=$_lab_root}"
: "${abs_top_builddir:=$_lab_root}"
export abs_top_srcdir abs_top_builddir
: "${DLRD:=$abs_top_builddir/dlrd}"
: "${LAB_READY_TIMEOUT:=30}"
: "${LAB_BUS_CONF:=$_lab_self_dir/test-bus.conf}"
: "${LAB_CALL_TIMEOUT:=180}"

# The name dlrd owns and its manager object.
DLR_NAME=org.dlrd1
DLR_PATH=/org/dlrd1
DLR_IFACE=org.dlrd1.Manager

LAB_PFX=${LAB_PFX:-dlt$$-}
LAB_DIR=""
LAB_PIDS=()              # every background pid we started (any kind)
LAB_NETNS=()             # every namespace we created
LAB_MOUNTS=()            # every file system we mounted
declare -A LAB_NS=()     # logical name -> netns name (hosts, VMs, underlay)
declare -A LAB_BUS=()    # host -> bus address
declare -A LAB_BUS_PID=()
declare -A LAB_VTEP=()   # host -> VTEP address (no prefix length)
declare -A LAB_UPLINK=() # host -> uplink ifname ("" if none)
declare -A LAB_DLRD_PID=()
declare -A LAB_HDIR=()   # host -> per-host directory in $LAB_DIR
LAB_HOST_COUNT=0
LAB_UNDERLAY=""

# ---------------------------------------------------------------------------
# Output and assertions
# ---------------------------------------------------------------------------
LAB_CHECKS=0

note() { printf '# %s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
ok() { LAB_CHECKS=$((LAB_CHECKS + 1)); printf 'ok %d - %s\n' "$LAB_CHECKS" "$*"; }

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

skip() {
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
	local what=${3:-value}
	if [[ "$1" == "$2" ]]; then
		ok "$what = $(_lab_short "$2")"
	else
		fail "$what: expected [$2], got [$1]"
	fi
}

# assert_ne ACTUAL UNEXPECTED [WHAT]
assert_ne() {
	local what=${3:-value}
	[[ "$1" != "$2" ]] || fail "$what: did not expect [$2]"
	ok "$what != $(_lab_short "$2")"
}

# assert_match ACTUAL ERE [WHAT]
assert_match() {
	local what=${3:-value}
	[[ "$1" =~ $2 ]] || fail "$what: [$1] does not match /$2/"
	ok "$what =~ /$2/"
}

# assert_jq JSON FILTER EXPECTED [WHAT] - jq -r FILTER applied to JSON must
# print exactly EXPECTED (multi-line output compared as a whole).
assert_jq() {
	local json=$1 filter=$2 expected=$3 what=${4:-$2} got
	got=$(jq -r "$filter" <<<"$json" 2>&1) || fail "$what: jq '$filter' failed: $got"
	if [[ "$got" == "$expected" ]]; then
		ok "$what = $(_lab_short "$expected")"
	else
		fail "$what: jq '$filter': expected [$expected], got [$got]"
	fi
}

# assert_jqs JSON WHAT FILTER EXPECTED [WHAT FILTER EXPECTED]... - several
# assert_jq checks on one document with a single jq run (jq is slow to start
# under software emulation).
assert_jqs() {
	local json=$1 prog="" sep="" i got
	local -a got_a
	shift
	(($# % 3 == 0)) || fail "assert_jqs: arguments must come in threes"
	for ((i = 2; i <= $#; i += 3)); do
		prog+="$sep([${!i}] | map(if type == \"string\" then . else tojson end) | join(\"\\n\"))"
		sep=", "
	done
	got=$(jq -r -j "[$prog] | join(\"\\u001e\")" <<<"$json" 2>&1) || fail "assert_jqs: jq failed: $got"
	mapfile -t -d $'\x1e' got_a <<<"$got"$'\x1e'
	for ((i = 0; i < $# / 3; i++)); do
		local what_i=$((3 * i + 1)) filt_i=$((3 * i + 2)) exp_i=$((3 * i + 3))
		if [[ ${got_a[$i]-} == "${!exp_i}" ]]; then
			ok "${!what_i} = $(_lab_short "${!exp_i}")"
		else
			fail "${!what_i}: jq '${!filt_i}': expected [${!exp_i}], got [${got_a[$i]-}]"
		fi
	done
}

# assert_true WHAT CMD... - CMD must succeed.
assert_true() {
	local what=$1
	shift
	"$@" || fail "$what (command failed: $*)"
	ok "$what"
}

_lab_short() {
	local s=${1//$'\n'/ }
	((${#s} > 70)) && s="${s:0:67}..."
	printf '%s' "$s"
}

# wait_until TIMEOUT CMD... - poll CMD (every 0.2 s) until it succeeds or
# TIMEOUT seconds have passed.  Returns CMD's success.
wait_until() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		((SECONDS >= deadline)) && break
		sleep 0.2
	done
	"$@" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# Setup and cleanup
# ---------------------------------------------------------------------------

# lab_init [KERNEL_FEATURE...] - must be called once, before anything else.
# Features default to "vrf vlan vxlan bridge veth"; missing ones skip (77).
lab_init() {
	[[ $(id -u) == 0 ]] || skip "needs root"
	local tool
	for tool in ip bridge busctl dbus-daemon jq sysctl sha256sum; do
		command -v "$tool" >/dev/null 2>&1 || skip "needs $tool"
	done
	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dlt.XXXXXX") || fail "mktemp failed"
	trap _lab_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	(($# > 0)) || set -- vrf vlan vxlan bridge veth
	lab_require_kernel "$@"
}

# lab_require_kernel FEATURE... - skip (77) unless the kernel can create each
# kind of link (vrf, vlan, vxlan, bridge, veth, dummy) in a scratch namespace.
lab_require_kernel() {
	local probe="${LAB_PFX}probe" f missing=()
	lab_netns_add "$probe"
	ip -n "$probe" link add lbase type bridge 2>/dev/null
	for f in "$@"; do
		case $f in
		vrf) ip -n "$probe" link add lvrf type vrf table 4242 ;;
		vlan) ip -n "$probe" link add link lbase name lvlan type vlan id 7 ;;
		vxlan) ip -n "$probe" link add lvx type vxlan id 7 dstport 4789 ;;
		bridge) ip -n "$probe" link add lbr type bridge ;;
		veth) ip -n "$probe" link add lve0 type veth peer name lve1 ;;
		dummy) ip -n "$probe" link add ldum type dummy ;;
		*) fail "lab_require_kernel: unknown feature $f" ;;
		esac >/dev/null 2>&1 || missing+=("$f")
	done
	lab_netns_del "$probe"
	((${#missing[@]} == 0)) || skip "kernel lacks: ${missing[*]}"
}

lab_netns_add() {
	ip netns add "$1" || fail "ip netns add $1 failed"
	LAB_NETNS+=("$1")
	ip -n "$1" link set lo up || fail "lo up in $1 failed"
}

lab_netns_del() {
	local i
	ip netns del "$1" 2>/dev/null
	for i in "${!LAB_NETNS[@]}"; do
		[[ ${LAB_NETNS[$i]} == "$1" ]] && unset 'LAB_NETNS[i]'
	done
}

# lab_bg LOGFILE CMD... - start CMD in the background, remember its pid for
# cleanup, and set LAB_LAST_PID.  Must not be called from a subshell.
lab_bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_kill PID [--kill9] - stop one of our pids and reap it (bounded).
# bash's "Killed"/"Terminated" job notices are silenced.
lab_kill() {
	_lab_kill "$@" 2>/dev/null
}

_lab_kill() {
	local pid=$1 sig=TERM i
	[[ ${2:-} == --kill9 ]] && sig=KILL
	kill -0 "$pid" 2>/dev/null || { { wait "$pid"; } 2>/dev/null; _lab_forget "$pid"; return 0; }
	kill -s "$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		printf '# pid %s ignored SIG%s for 10 s, sending SIGKILL\n' "$pid" "$sig"
		kill -s KILL "$pid" 2>/dev/null
	fi
	{ wait "$pid"; } 2>/dev/null
	_lab_forget "$pid"
	return 0
}

_lab_forget() {
	local i
	for i in "${!LAB_PIDS[@]}"; do
		[[ ${LAB_PIDS[$i]} == "$1" ]] && unset 'LAB_PIDS[i]'
	done
}

_lab_cleanup() {
	local rc=$? pid ns i h
	trap - EXIT INT TERM
	set +e
	if ((rc != 0 && rc != 77)) && [[ -n $LAB_DIR && -d $LAB_DIR ]]; then
		for h in "${!LAB_HDIR[@]}"; do
			if [[ -s ${LAB_HDIR[$h]}/dlrd.log ]]; then
				printf '\n--- last lines of dlrd log of %s ---\n' "$h" >&2
				tail -n 40 "${LAB_HDIR[$h]}/dlrd.log" >&2
			fi
		done
	fi
	exec 3>&2 2>/dev/null # no job notices for what we kill; fd 3 keeps the real stderr for reports
	# Newest first: dlrd before its bus, monitors before anything.
	for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${LAB_PIDS[$i]:-}
		[[ -n $pid ]] && kill -s TERM "$pid" 2>/dev/null
	done
	for pid in "${LAB_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -s KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
	done
	LAB_PIDS=()
	# A sanitized dlrd reports leaks only when it exits, after the test's own checks: any report fails it.
	if [[ -n $LAB_DIR && -d $LAB_DIR ]]; then
		for h in "${!LAB_HDIR[@]}"; do
			if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "${LAB_HDIR[$h]}/dlrd.log" 2>/dev/null; then
				printf '\n--- sanitizer report in the dlrd log of %s ---\n' "$h" >&3
				grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "${LAB_HDIR[$h]}/dlrd.log" >&3
				echo "FAIL: sanitizer report from dlrd on $h" >&3
				((rc == 0 || rc == 77)) && rc=1
			fi
		done
	fi
	for ns in "${LAB_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	LAB_NETNS=()
	for ((i = ${#LAB_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${LAB_MOUNTS[$i]}" 2>/dev/null
	done
	LAB_MOUNTS=()
	if [[ -n $LAB_DIR && -d $LAB_DIR ]]; then
		if [[ ${LAB_KEEP:-0} == 1 ]]; then
			printf '# kept %s\n' "$LAB_DIR"
		else
			rm -rf -- "$LAB_DIR"
		fi
	fi
	exit "$rc"
}

# lab_mount_tmpfs DIR SIZE - a tmpfs of SIZE (e.g. 1m) on DIR, which keeps its
# files; unmounted by cleanup.
lab_mount_tmpfs() {
	local dir=$1 size=$2 keep
	keep=$(mktemp -d "$LAB_DIR/keep.XXXXXX") || fail "mktemp"
	cp -a "$dir/." "$keep/" && mount -t tmpfs -o "size=$size,mode=0700" tmpfs "$dir" &&
		cp -a "$keep/." "$dir/" || fail "tmpfs on $dir"
	LAB_MOUNTS+=("$dir")
	rm -rf -- "$keep"
}

# ---------------------------------------------------------------------------
# Underlay: one namespace with two plain bridges: "ulbr" joins every host's
# VTEP interface (ul0), "ulvl" joins every host's uplink (802.1Q-transparent).
# ---------------------------------------------------------------------------
lab_underlay() {
	[[ -n $LAB_UNDERLAY ]] && return 0
	LAB_UNDERLAY="${LAB_PFX}ul"
	lab_netns_add "$LAB_UNDERLAY"
	LAB_NS[underlay]=$LAB_UNDERLAY
	ip -n "$LAB_UNDERLAY" link add ulbr type bridge stp_state 0 forward_delay 0 &&
		ip -n "$LAB_UNDERLAY" link set ulbr up &&
		ip -n "$LAB_UNDERLAY" link add ulvl type bridge stp_state 0 forward_delay 0 &&
		ip -n "$LAB_UNDERLAY" link set ulvl up || fail "underlay bridges"
}

# lab_ns NAME - the netns name of a host or VM.
lab_ns() {
	[[ -n ${LAB_NS[$1]:-} ]] || fail "no such lab node: $1"
	printf '%s\n' "${LAB_NS[$1]}"
}

# hx NODE CMD... - run CMD inside NODE's namespace.
hx() {
	local ns
	ns=$(lab_ns "$1") || exit 1
	shift
	ip netns exec "$ns" "$@"
}

# hip NODE ARGS... - `ip -n NS ARGS...` (cheaper than hx for ip itself).
hip() {
	local ns
	ns=$(lab_ns "$1") || exit 1
	shift
	ip -n "$ns" "$@"
}

# hbridge NODE ARGS... - `bridge -n NS ARGS...`.
hbridge() {
	local ns
	ns=$(lab_ns "$1") || exit 1
	shift
	bridge -n "$ns" "$@"
}

# lab_host NAME VTEP_ADDR[/PLEN] [UPLINK] - a host namespace with lo up, its
# VTEP address on "ul0" (a veth into the underlay), optionally an uplink veth
# named UPLINK (also into the underlay), a private dbus-daemon and a running,
# ready dlrd.
lab_host() {
	local name=$1 vtep=$2 uplink=${3:-} ns dir plen=24 idx
	[[ -n $LAB_DIR ]] || fail "lab_init was not called"
	[[ -z ${LAB_NS[$name]:-} ]] || fail "lab node $name exists"
	if [[ $vtep == */* ]]; then
		plen=${vtep#*/}
		vtep=${vtep%/*}
	fi
	lab_underlay
	LAB_HOST_COUNT=$((LAB_HOST_COUNT + 1))
	idx=$LAB_HOST_COUNT
	ns="${LAB_PFX}$name"
	lab_netns_add "$ns"
	LAB_NS[$name]=$ns
	dir="$LAB_DIR/$name"
	mkdir -p "$dir/state" || fail "mkdir $dir"
	LAB_HDIR[$name]=$dir
	LAB_VTEP[$name]=$vtep
	LAB_UPLINK[$name]=$uplink

	# VTEP interface.
	ip -n "$LAB_UNDERLAY" link add "h${idx}u" type veth peer name ul0 netns "$ns" &&
		ip -n "$LAB_UNDERLAY" link set "h${idx}u" master ulbr up &&
		ip -n "$ns" addr add "$vtep/$plen" dev ul0 &&
		ip -n "$ns" link set ul0 up || fail "$name: VTEP interface"
	# Uplink for VLAN LIFs.
	if [[ -n $uplink ]]; then
		ip -n "$LAB_UNDERLAY" link add "h${idx}v" type veth peer name "$uplink" netns "$ns" &&
			ip -n "$LAB_UNDERLAY" link set "h${idx}v" master ulvl up &&
			ip -n "$ns" link set "$uplink" up || fail "$name: uplink $uplink"
	fi

	lab_bus_start "$name"
	dlrd_start "$name"
}

# lab_bus_start HOST - private dbus-daemon for HOST (unix socket in $LAB_DIR).
lab_bus_start() {
	local name=$1 dir=${LAB_HDIR[$1]} sock i
	sock="$dir/bus.sock"
	((${#sock} < 100)) || fail "socket path too long: $sock"
	lab_bg "$dir/dbus.log" dbus-daemon --config-file="$LAB_BUS_CONF" \
		--address="unix:path=$sock" --nofork --print-address=1
	# shellcheck disable=SC2034 # for tests that want to stop a bus
	LAB_BUS_PID[$name]=$LAB_LAST_PID # dbus-daemon of HOST (killed by cleanup)
	LAB_BUS[$name]="unix:path=$sock"
	for ((i = 0; i < 100; i++)); do
		[[ -S $sock ]] && busctl --address="${LAB_BUS[$name]}" status org.freedesktop.DBus \
			>/dev/null 2>&1 && return 0
		kill -0 "$LAB_LAST_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/dbus.log" >&2
	fail "$name: dbus-daemon did not come up"
}

lab_bus() { printf '%s\n' "${LAB_BUS[$1]:?no bus for $1}"; }

# lab_vm NAME HOST LIF_BRIDGE IP/PLEN GW - a "VM": a namespace whose eth0 is
# a veth whose other end ("tap-NAME", in HOST) is made a port of LIF_BRIDGE.
lab_vm() {
	local name=$1 host=$2 br=$3 addr=$4 gw=$5 ns hns tap
	[[ -z ${LAB_NS[$name]:-} ]] || fail "lab node $name exists"
	hns=$(lab_ns "$host") || exit 1
	ns="${LAB_PFX}$name"
	tap="tap-$name"
	tap=${tap:0:15}
	lab_netns_add "$ns"
	LAB_NS[$name]=$ns
	ip -n "$hns" link add "$tap" type veth peer name eth0 netns "$ns" &&
		ip -n "$hns" link set "$tap" master "$br" &&
		ip -n "$hns" link set "$tap" up &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" addr add "$addr" dev eth0 &&
		ip -n "$ns" route add default via "$gw" || fail "$name: VM setup"
}

# ---------------------------------------------------------------------------
# dlrd process control
# ---------------------------------------------------------------------------

# dlrd_start HOST - start dlrd in HOST's netns and wait until it is ready.
dlrd_start() {
	local name=$1 dir=${LAB_HDIR[$1]} args
	[[ -x $DLRD ]] || fail "dlrd binary not found: $DLRD (set DLRD or abs_top_builddir)"
	args=(--host-id "$name" --vtep "${LAB_VTEP[$name]}" --bus "${LAB_BUS[$name]}"
		--state-dir "$dir/state" --peer-socket "$dir/peer.sock")
	[[ ${LAB_DLRD_DEBUG:-0} == 1 ]] && args+=(--debug)
	[[ -n ${LAB_UPLINK[$name]} ]] && args+=(--uplink "${LAB_UPLINK[$name]}")
	# shellcheck disable=SC2206
	[[ -n ${LAB_DLRD_ARGS:-} ]] && args+=($LAB_DLRD_ARGS)
	printf '\n=== dlrd start %s\n' "$(date +%T.%N)" >>"$dir/dlrd.log"
	# `ip netns exec` execs dlrd, so the pid is dlrd's own.
	ip netns exec "${LAB_NS[$name]}" "$DLRD" "${args[@]}" >>"$dir/dlrd.log" 2>&1 &
	LAB_DLRD_PID[$name]=$!
	LAB_PIDS+=("$!")
	dlrd_wait_ready "$name"
}

# dlrd_ready HOST - true when org.dlrd1 has an owner on HOST's bus.
dlrd_ready() {
	local out
	out=$(busctl --address="${LAB_BUS[$1]}" call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus NameHasOwner s "$DLR_NAME" 2>/dev/null) || return 1
	[[ $out == "b true" ]]
}

dlrd_wait_ready() {
	local name=$1 pid=${LAB_DLRD_PID[$1]} deadline=$((SECONDS + LAB_READY_TIMEOUT))
	while ((SECONDS < deadline)); do
		dlrd_ready "$name" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 40 "${LAB_HDIR[$name]}/dlrd.log" >&2
			fail "$name: dlrd (pid $pid) exited before owning $DLR_NAME"
		fi
		sleep 0.2
	done
	dlrd_ready "$name" && return 0
	tail -n 40 "${LAB_HDIR[$name]}/dlrd.log" >&2
	fail "$name: dlrd not ready after ${LAB_READY_TIMEOUT}s"
}

# dlrd_stop HOST [--kill9] - SIGTERM (or SIGKILL) dlrd and reap it.
dlrd_stop() {
	local name=$1 pid=${LAB_DLRD_PID[$1]:-}
	[[ -n $pid ]] || return 0
	lab_kill "$pid" "${2:-}"
	LAB_DLRD_PID[$name]=""
	# The bus must have dropped the name before we start another dlrd.
	wait_until 10 _lab_not dlrd_ready "$name" || fail "$name: $DLR_NAME still owned after dlrd exit"
}

_lab_not() { ! "$@"; }

# dlrd_restart HOST [--kill9]
dlrd_restart() {
	dlrd_stop "$@"
	dlrd_start "$1"
}

dlrd_pid() { printf '%s\n' "${LAB_DLRD_PID[$1]}"; }

# dlrd_alive HOST
dlrd_alive() { [[ -n ${LAB_DLRD_PID[$1]:-} ]] && kill -0 "${LAB_DLRD_PID[$1]}" 2>/dev/null; }

# state_files HOST - "sha256  ./path" of every file in the state dir, sorted.
state_files() {
	(
		cd "${LAB_HDIR[$1]}/state" || exit 1
		shopt -s globstar nullglob dotglob
		files=()
		for f in **; do
			[[ -f $f && ! -L $f ]] && files+=("./$f")
		done
		((${#files[@]})) && LC_ALL=C sha256sum -- "${files[@]}"
		exit 0
	)
}

# state_sum HOST - one checksum over the names and contents of every file in
# the state dir.
state_sum() {
	state_files "$1" | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------------------
# D-Bus
# ---------------------------------------------------------------------------
_lab_busctl() {
	local host=$1
	shift
	busctl --address="${LAB_BUS[$host]:?no bus for $host}" --timeout="$LAB_CALL_TIMEOUT" "$@"
}

_lab_show_call() {
	local host=$1 m=$2 a
	shift 2
	printf '$ busctl --address=%s call %s %s %s %s' "${LAB_BUS[$host]}" "$DLR_NAME" "$DLR_PATH" \
		"$DLR_IFACE" "$m"
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:+=@-]+$ ]]; then printf ' %s' "$a"; else printf " '%s'" "$a"; fi
	done
	printf '\n'
}

# dlr_call HOST METHOD SIG ARGS... - call org.dlrd1.Manager.METHOD; prints the
# reply in busctl's text form; fails like busctl.
dlr_call() {
	local host=$1 m=$2
	shift 2
	[[ ${LAB_VERBOSE:-0} == 1 ]] && _lab_show_call "$host" "$m" "$@" >&2
	_lab_busctl "$host" call "$DLR_NAME" "$DLR_PATH" "$DLR_IFACE" "$m" "$@"
}

# dlr_callj HOST METHOD SIG ARGS... - same, reply as busctl --json=short.
dlr_callj() {
	local host=$1 m=$2
	shift 2
	[[ ${LAB_VERBOSE:-0} == 1 ]] && _lab_show_call "$host" "$m" "$@" >&2
	_lab_busctl "$host" --json=short call "$DLR_NAME" "$DLR_PATH" "$DLR_IFACE" "$m" "$@"
}

# dlr_ok HOST METHOD SIG ARGS... - the call must succeed (else fail).
dlr_ok() {
	local out
	[[ ${LAB_VERBOSE:-0} == 1 ]] && _lab_show_call "$@" >&2
	out=$(LAB_VERBOSE=0 dlr_call "$@" 2>&1) || fail "$2 failed: $out"
	printf '%s\n' "$out"
}

# dlr_error HOST METHOD SIG ARGS... - make the call; print the D-Bus error
# name it failed with, or "OK" if it succeeded.  busctl only prints the error
# message, so the name is read from sd-bus' debug log of the reply.
dlr_error() {
	local host=$1 m=$2 err out line
	shift 2
	[[ ${LAB_VERBOSE:-0} == 1 ]] && _lab_show_call "$host" "$m" "$@" >&2
	err=$(SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console _lab_busctl "$host" \
		call "$DLR_NAME" "$DLR_PATH" "$DLR_IFACE" "$m" "$@" 2>&1 >/dev/null) && {
		echo OK
		return 0
	}
	out=""
	while IFS= read -r line; do
		[[ $line =~ ^Got\ message\ type=error\ .*\ error-name=([^ ]+) ]] && out=${BASH_REMATCH[1]}
	done <<<"$err"
	if [[ -z $out ]]; then
		printf 'NO-ERROR-NAME(%s)\n' "${err##*$'\n'}"
	else
		printf '%s\n' "$out"
	fi
}

# dlr_expect_error HOST ERRNAME METHOD SIG ARGS... - the call must fail with
# exactly org.dlrd1.Error.ERRNAME (ERRNAME may also be a full name).
dlr_expect_error() {
	local host=$1 want=$2 got
	shift 2
	[[ $want == *.* ]] || want="org.dlrd1.Error.$want"
	got=$(dlr_error "$host" "$@")
	[[ $got == "$want" ]] || fail "$1 $(_lab_short "${*:2}"): expected $want, got $got"
	ok "$1 $(_lab_short "${*:3}") -> $want"
}

# dlr_prop HOST PROP - the value of an org.dlrd1.Manager property, printed
# plain (42, hostA; arrays as JSON).
dlr_prop() {
	dlr_obj_prop "$1" "$DLR_PATH" "$DLR_IFACE" "$2"
}

# dlr_obj_prop HOST PATH IFACE PROP - property of any object.  Numbers and
# plain strings are parsed from busctl's text output (jq is slow to start
# under emulation); anything else goes through busctl --json and jq.
dlr_obj_prop() {
	local out
	out=$(_lab_busctl "$1" get-property "$DLR_NAME" "$2" "$3" "$4") || return 1
	case $out in
	[ybnqiuxtd]" "*)
		printf '%s\n' "${out#* }"
		return 0
		;;
	's "'*'"')
		out=${out#s \"}
		out=${out%\"}
		if [[ $out != *\\* && $out != *\"* ]]; then
			printf '%s\n' "$out"
			return 0
		fi
		;;
	esac
	_lab_busctl "$1" --json=short get-property "$DLR_NAME" "$2" "$3" "$4" | jq -r '.data'
}

# dlr_export HOST - the Export() JSON document, compacted and key-sorted.
dlr_export() {
	local out
	out=$(dlr_callj "$1" Export) || return 1
	jq -S -c '.data[0] | fromjson' <<<"$out"
}

# dlr_apply HOST JSON - Apply(JSON); prints the new generation.
dlr_apply() {
	local out
	out=$(dlr_call "$1" Apply s "$2") || return 1
	[[ $out == "t "* ]] || { echo "unexpected Apply reply: $out" >&2; return 1; }
	printf '%s\n' "${out#t }"
}

# dlr_objects HOST - GetManagedObjects as JSON (busctl --json=short).
dlr_objects() {
	_lab_busctl "$1" --json=short call "$DLR_NAME" "$DLR_PATH" \
		org.freedesktop.DBus.ObjectManager GetManagedObjects
}

# ---------------------------------------------------------------------------
# A bus like the system bus, callers that are not root, and a polkit stand-in
# ---------------------------------------------------------------------------

# lab_system_bus - hosts made after this get a bus that behaves like the system bus: the default policy of
# dbus's system.conf (tests/lib/system-bus.conf), then only dlrd's bus policy (policies/org.dlrd1.conf) and
# the policy polkit's package ships (root owns org.freedesktop.PolicyKit1, anyone calls it). polkit itself
# cannot be activated there: it is "installed" only while a test runs the stand-in (fake_polkit_start).
lab_system_bus() {
	local sys=$LAB_DIR/sysbus
	mkdir -p "$sys/system.d" || fail "mkdir $sys"
	cp "$abs_top_srcdir/tests/lib/system-bus.conf" "$sys/bus.conf" &&
		cp "$abs_top_srcdir/policies/org.dlrd1.conf" "$sys/system.d/" || fail "bus configuration"
	cat >"$sys/system.d/fake-polkit.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
</busconfig>
EOF
	LAB_BUS_CONF=$sys/bus.conf
}

LAB_NOBODY=65534

# as_nobody CMD... - CMD as uid and gid 65534, with no supplementary groups and no capabilities.
as_nobody() { setpriv --reuid=$LAB_NOBODY --regid=$LAB_NOBODY --clear-groups --inh-caps=-all "$@"; }

# lab_open_to_nobody HOST - let uid 65534 reach HOST's bus socket (the lab's directories are private).
lab_open_to_nobody() { chmod o+x "$LAB_DIR" "${LAB_HDIR[$1]}" || fail "chmod"; }

# lab_error_name CMD... - run CMD (busctl, or another sd-bus client) with sd-bus's debug log; print the
# D-Bus error name of the error reply it got, or "OK" when it succeeded. (busctl prints only the error's
# message; the name is read from the debug log of the reply.)
lab_error_name() {
	local err line name=""
	err=$(SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console "$@" 2>&1 >/dev/null) && { echo OK; return 0; }
	while IFS= read -r line; do
		[[ $line =~ ^Got\ message\ type=error\ .*\ error-name=([^ ]+) ]] && name=${BASH_REMATCH[1]}
	done <<<"$err"
	printf '%s\n' "${name:-NO-ERROR-NAME(${err##*$'\n'})}"
}

# fake_polkit_start HOST ARGS... - tests/fake-polkit on HOST's bus with these options (--allow, --deny,
# --challenge, --delay S) until fake_polkit_stop; its log, a line per question and per answer, in FP_LOG.
FP_N=0
fake_polkit_start() {
	local host=$1 bin=${FAKE_POLKIT:-$abs_top_builddir/tests/fake-polkit}
	shift
	[[ -x $bin ]] || fail "test program not built: $bin (make builds tests/fake-polkit)"
	FP_N=$((FP_N + 1))
	FP_LOG=$LAB_DIR/fake-polkit.$FP_N.log
	lab_bg "$FP_LOG" "$bin" --bus "${LAB_BUS[$host]}" "$@"
	FP_PID=$LAB_LAST_PID
	wait_until 20 grep -qx ready "$FP_LOG" || { cat "$FP_LOG" >&2; fail "fake-polkit did not come up"; }
}
fake_polkit_stop() { lab_kill "$FP_PID"; }
# fake_polkit_checks - how many questions the running stand-in has been asked.
fake_polkit_checks() { grep -c '^check ' "$FP_LOG"; }

# ---------------------------------------------------------------------------
# Kernel views
# ---------------------------------------------------------------------------

# link_json HOST IFNAME - `ip -j -d link show dev IFNAME` as one object
# (empty output and failure if it does not exist).
link_json() {
	local out
	out=$(hip "$1" -j -d link show dev "$2" 2>/dev/null) || return 1
	jq -c '.[0] // empty' <<<"$out"
}

link_exists() { hip "$1" link show dev "$2" >/dev/null 2>&1; }
link_absent() { ! link_exists "$@"; }

# link_ifindex HOST IFNAME
link_ifindex() { hip "$1" -j link show dev "$2" | jq -r '.[0].ifindex'; }

# dl_ifindexes HOST - "name ifindex" of every dl* link, sorted.
dl_ifindexes() {
	hip "$1" -j link show | jq -r '.[] | select(.ifname | startswith("dl")) | "\(.ifname) \(.ifindex)"' |
		LC_ALL=C sort
}

# routes_json HOST TABLE [FAMILY] - dlrd's routes (proto 201) of TABLE.
# FAMILY: -4 (default) or -6.
routes_json() {
	hip "$1" -j "${3:--4}" route show table "$2" proto 201
}

# route_json HOST TABLE PREFIX - one route (proto 201) as an object, or empty.
route_json() {
	local fam=-4
	[[ $3 == *:* ]] && fam=-6
	hip "$1" -j "$fam" route show table "$2" proto 201 | jq -c --arg p "$3" \
		'[.[] | select(.dst == $p or (.dst + "/32") == $p or (.dst + "/128") == $p)] | .[0] // empty'
}

route_present() { [[ -n $(route_json "$@") ]]; }
route_absent() { [[ -z $(route_json "$@") ]]; }

# hsysctl HOST KEY - sysctl value inside HOST.
hsysctl() { hx "$1" sysctl -n "$2"; }

# Timers in `ip -d link` output of bridges and bridge ports tick on their
# own (gc_timer always runs); they are cut out of snapshots.  sed, not jq:
# jq takes half a second to start under software emulation.
_lab_notimers() {
	sed -E 's/"(hello_timer|tcn_timer|topology_change_timer|gc_timer|message_age_timer|forward_delay_timer|hold_timer)":[0-9.]+,?//g'
}

# kernel_snapshot HOST - everything dlrd could touch, as text: links and
# addresses (with details), IPv4 and IPv6 routes of all tables, bridge
# ports; raw `ip -j` output but for the bridge timers.  (One `ip -batch`
# for three dumps: every process start is slow under emulation.)
kernel_snapshot() {
	local h=$1
	echo "## links, addresses, IPv4 routes of all tables"
	hip "$h" -j -d -batch - <<<$'link show\naddr show\nroute show table all' | _lab_notimers
	echo "## IPv6 routes of all tables"
	hip "$h" -j -6 route show table all
	echo "## bridge ports"
	hbridge "$h" -j -d link show | _lab_notimers
}

_lab_no_tentative() {
	[[ -z $(hip "$1" -6 addr show tentative 2>/dev/null) ]]
}

_lab_snapshot_stable() {
	local a b
	a=$(kernel_snapshot "$1")
	sleep 0.5
	b=$(kernel_snapshot "$1")
	[[ $a == "$b" ]]
}

# kernel_settle HOST - wait (bounded) until IPv6 DAD is over and two
# snapshots half a second apart are identical.
kernel_settle() {
	wait_until 20 _lab_no_tentative "$1" || note "$1: tentative IPv6 addresses remain"
	wait_until 20 _lab_snapshot_stable "$1" || note "$1: kernel state keeps changing"
}

# ---------------------------------------------------------------------------
# dlrd configuration shorthands (each fails the test if the call fails)
# ---------------------------------------------------------------------------

# dlr_create_router HOST NAME TABLE - prints the object path.
dlr_create_router() {
	dlr_ok "$1" CreateRouter su "$2" "$3" | sed -n 's/^o "\(.*\)"$/\1/p'
}

# dlr_create_lif HOST ROUTER LIF KIND SEGMENT MTU [ADDR...] - prints the path.
dlr_create_lif() {
	local h=$1 r=$2 l=$3 k=$4 s=$5 m=$6
	shift 6
	dlr_ok "$h" CreateLif sssuasu "$r" "$l" "$k" "$s" $# "$@" "$m" | sed -n 's/^o "\(.*\)"$/\1/p'
}

# dlr_add_route HOST ROUTER PREFIX [GATEWAY LIF]... - no pair: blackhole.
dlr_add_route() {
	local h=$1 r=$2 p=$3
	shift 3
	(($# % 2 == 0)) || fail "dlr_add_route: odd nexthop list"
	dlr_ok "$h" AddRoute 'ssa(ss)' "$r" "$p" $(($# / 2)) "$@" >/dev/null
}

# dlr_gen HOST - the Generation property.
dlr_gen() { dlr_prop "$1" Generation; }

# lab_summary - closing line for a test that passed.
lab_summary() {
	printf '\n# %s: all %d checks passed\n' "$(basename "$0")" "$LAB_CHECKS"
}

# ---------------------------------------------------------------------------
# Netlink event monitor
# ---------------------------------------------------------------------------

# lab_monitor_start HOST - run `ip -ts monitor link route address` in HOST
# and wait until it demonstrably receives events: a marker link "mark0" is
# created (again and again until the monitor reports it: it may not have
# subscribed yet) and deleted.  Only one monitor at a time.
lab_monitor_start() {
	local h=$1 i seen=0
	LAB_MON_LOG=$LAB_DIR/monitor.$h.$SECONDS.log
	lab_bg "$LAB_MON_LOG" ip -n "$(lab_ns "$h")" -ts monitor link route address
	LAB_MON_PID=$LAB_LAST_PID
	for ((i = 0; i < 60; i++)); do
		hip "$h" link add mark0 type bridge || fail "marker link"
		if wait_until 1 grep -q ': mark0: ' "$LAB_MON_LOG"; then
			seen=1
			break
		fi
		hip "$h" link del mark0
	done
	((seen)) || fail "ip monitor shows nothing"
	hip "$h" link del mark0
	wait_until 20 grep -q 'Deleted [0-9]*: mark0: ' "$LAB_MON_LOG" ||
		fail "ip monitor missed the marker deletion"
	LAB_MON_CUT=$(wc -l <"$LAB_MON_LOG")
	LAB_MON_KNOWN=$(hip "$h" -j link show | jq -r '.[].ifindex' | sort -n)
}

# lab_monitor_stop - stop the monitor; LAB_MON_EVENTS gets the event lines
# seen since lab_monitor_start returned (timestamps stripped).
lab_monitor_stop() {
	lab_kill "$LAB_MON_PID"
	LAB_MON_EVENTS=$(tail -n +"$((LAB_MON_CUT + 1))" "$LAB_MON_LOG" | sed 's/^\[[^]]*\] //')
}

# lab_monitor_assert_quiet WHAT - after lab_monitor_stop: no deletion of any
# link, route or address, and no event about a link whose ifindex did not
# exist when the monitor started.
lab_monitor_assert_quiet() {
	local deleted newidx
	note "$(grep -c . <<<"$LAB_MON_EVENTS") netlink event lines during $1"
	deleted=$(grep '^Deleted' <<<"$LAB_MON_EVENTS")
	[[ -z $deleted ]] || fail "deletions seen during $1:
$deleted"
	ok "no link, route or address deleted during $1"
	newidx=$(grep -oE '^[0-9]+: [^ :@]+' <<<"$LAB_MON_EVENTS" | sort -u | while read -r idx name; do
		grep -qx "${idx%:}" <<<"$LAB_MON_KNOWN" || echo "$idx $name"
	done)
	[[ -z $newidx ]] || fail "links with new ifindexes appeared during $1: $newidx"
	ok "no link with a new ifindex appeared during $1"
}
