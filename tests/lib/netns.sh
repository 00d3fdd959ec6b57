# shellcheck shell=bash
# tests/lib/netns.sh - network faults beyond loopback, in network namespaces
# the test makes for itself.
#
# Source it FIRST (before tests/lib/mount.sh): as root it runs the test file
# again in a private mount namespace (unshare --mount --propagation private),
# so the hosts file it binds over /etc/hosts, its /run/netns and every FUSE
# mount it makes are seen by the test's own processes only; without root,
# ip, nft, unshare or nsenter the file is one skipped check. Then, after
# mount.sh (and faults.sh), `net_up` builds the network:
#
#   client netns (mgdcfs runs here)          server netns (tests/lib/netfwd.py)
#   vc1 10.77.1.2/30  <--- veth --->  vs1 10.77.1.1  login.mgdc.test:PORT
#   vc2 10.77.2.2/30  <--- veth --->  vs2 10.77.2.1  graph.mgdc.test:PORT
#   vc3 10.77.3.2/30  <--- veth --->  vs3 10.77.3.1  arm.mgdc.test:PORT
#   vc4 10.77.4.2/30  <--- veth --->  vs4 10.77.4.1  reg.mgdc.test:PORT
#   vc5 10.77.5.2/30  <--- veth --->  vs5 10.77.5.1  blob.mgdc.test:BLOBPORT
#
# One link and one address per endpoint, so every fault can hit one endpoint
# and leave the others alone. The forwarder relays each address to the
# sandbox on 127.0.0.1 (TLS end to end: the client checks the sandbox's
# certificate under the endpoint's name). The links and addresses exist only
# in the two namespaces; nothing of them reaches the machine's network.
# `net_cfg` writes a config whose endpoints use the names, and mount_fs then
# starts the daemon in the client namespace (MGDCFS_WRAP); the test's own
# commands (cat, ls, direct REST calls to 127.0.0.1) run where they always do.
#
# Faults, each for one endpoint (login graph arm reg blob), each undone by
# its pair or by net_heal:
#   net_dns_off / net_dns_on      the name stops / starts resolving (hosts file)
#   net_route_off / net_route_on  the client's route to it is gone (ENETUNREACH)
#   net_reject EP                 the server side answers every TCP segment with RST
#   net_blackhole EP              the server side drops every packet (timeouts)
#   net_loss EP PCT               the server side drops PCT% of packets each way
#   net_delay EP MS               the forwarder holds every chunk MS ms each way
#   net_link_off / net_link_on    the server end of the link goes down (cut)
#   net_reset EP                  every open connection to it gets a TCP reset
#   net_pass EP                   drop the reject/blackhole/loss rules of EP
# (The kernel this was written on has no sch_netem, so loss is nftables'
# numgen and latency is the forwarder's; both act per endpoint.)

if [ "${MGDC_NETNS_PRIVATE:-}" != 1 ]; then
	net_why=
	[ "$(id -u)" = 0 ] || net_why="needs root (network namespaces and a private /etc/hosts)"
	for net_c in ip nft unshare nsenter; do
		command -v "$net_c" >/dev/null 2>&1 || net_why=${net_why:-"$net_c is not installed (scripts/deps installs it)"}
	done
	if [ -z "$net_why" ] && ! unshare --mount --net --propagation private true 2>/dev/null; then
		net_why="unshare of a mount and network namespace is not permitted here"
	fi
	if [ -z "$net_why" ]; then
		MGDC_NETNS_PRIVATE=1 exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
	fi
	echo "ok 1 - $(basename "$0" .sh) # SKIP $net_why"
	echo "1..1"
	exit 0
fi

NET_EPS=(login graph arm reg blob)
declare -A NET_IDX=([login]=1 [graph]=2 [arm]=3 [reg]=4 [blob]=5)
NET_C=mgdcfs-client
NET_S=mgdcfs-server
NET_FWD_PID=

# net_addr EP: the endpoint's address on the server side.
net_addr() { echo "10.77.${NET_IDX[$1]}.1"; }
# net_name EP: the endpoint's host name.
net_name() { echo "$1.mgdc.test"; }
# net_port_of URL: the port of an https://127.0.0.1:PORT/... URL.
net_port_of() {
	local p=${1#https://127.0.0.1:}
	echo "${p%%/*}"
}

# net_up: the two namespaces, a link per endpoint, the hosts file, the
# forwarder; mgdcfs mounts run in the client namespace from now on. Returns
# non-zero (with a not ok line) if any part fails.
net_up() {
	local ep i emu blob up map=() deadline
	mkdir -p /run/netns && mount -t tmpfs -o size=1m,mode=0755 mgdcfs-netns /run/netns ||
		{ not_ok "a private /run/netns"; return 1; }
	ip netns add "$NET_C" && ip netns add "$NET_S" || { not_ok "ip netns add"; return 1; }
	ip -n "$NET_C" link set lo up && ip -n "$NET_S" link set lo up
	ip netns exec "$NET_S" nft -f - <<-EOF || { not_ok "nft table in the server namespace"; return 1; }
		add table inet mgdcfs
		add chain inet mgdcfs in { type filter hook input priority 0; }
		add chain inet mgdcfs out { type filter hook output priority 0; }
	EOF
	emu=$(net_port_of "$MGDC_LOGIN_URL")
	blob=$(net_port_of "$MGDC_BLOB_URL")
	printf '127.0.0.1 localhost\n' >"$T_DIR/hosts"
	for ep in "${NET_EPS[@]}"; do
		i=${NET_IDX[$ep]}
		ip -n "$NET_C" link add "vc$i" type veth peer name "vs$i" netns "$NET_S" &&
			ip -n "$NET_C" addr add "10.77.$i.2/30" dev "vc$i" &&
			ip -n "$NET_S" addr add "10.77.$i.1/30" dev "vs$i" &&
			ip -n "$NET_C" link set "vc$i" up && ip -n "$NET_S" link set "vs$i" up ||
			{ not_ok "veth pair for $ep"; return 1; }
		ip netns exec "$NET_S" nft -f - <<-EOF || { not_ok "nft chains for $ep"; return 1; }
			add chain inet mgdcfs in_$ep
			add chain inet mgdcfs out_$ep
			add rule inet mgdcfs in ip daddr $(net_addr "$ep") jump in_$ep
			add rule inet mgdcfs out ip saddr $(net_addr "$ep") jump out_$ep
		EOF
		printf '%s %s\n' "$(net_addr "$ep")" "$(net_name "$ep")" >>"$T_DIR/hosts"
		up=$emu
		[ "$ep" = blob ] && up=$blob
		map+=(--map "$(net_addr "$ep"):$up=$up")
	done
	# A name missing from the hosts file goes to a resolver on loopback where
	# nothing listens: it fails at once, never reaching the machine's DNS.
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T_DIR/resolv.conf"
	mount --bind "$T_DIR/hosts" /etc/hosts && mount --bind "$T_DIR/resolv.conf" /etc/resolv.conf ||
		{ not_ok "hosts and resolv.conf bound in the private mount namespace"; return 1; }
	/usr/bin/python3 "$T_ROOT/tests/lib/netfwd.py" serve --netns "/run/netns/$NET_S" \
		--ctl "$T_DIR/netfwd.sock" --max-seconds 900 "${map[@]}" >"$T_DIR/netfwd.out" 2>&1 &
	NET_FWD_PID=$!
	deadline=$((SECONDS + 10))
	while ! grep -q ready "$T_DIR/netfwd.out" 2>/dev/null; do
		if ! kill -0 "$NET_FWD_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			not_ok "forwarder started"
			sed 's/^/#   /' "$T_DIR/netfwd.out"
			return 1
		fi
		sleep 0.05
	done
	MGDCFS_WRAP=(nsenter "--net=/run/netns/$NET_C")
	# Chain the cleanup in front of what mount.sh and faults.sh registered.
	eval "net_t_done_prev() $(declare -f t_done | tail -n +2)"
	t_done() {
		net_down
		net_t_done_prev
	}
	NET_EXIT_PREV=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT$/\1/")
	trap 'net_down; eval "$NET_EXIT_PREV"' EXIT
	return 0
}

# net_down: unmount what runs in the client namespace, stop the forwarder,
# delete both namespaces (idempotent).
net_down() {
	local name
	for name in "${!T_PIDS[@]}"; do unmount_fs "$name" >/dev/null; done
	if [ -n "$NET_FWD_PID" ]; then
		kill "$NET_FWD_PID" 2>/dev/null
		wait "$NET_FWD_PID" 2>/dev/null
		NET_FWD_PID=
	fi
	ip netns del "$NET_C" 2>/dev/null
	ip netns del "$NET_S" 2>/dev/null
}

# net_cfg NAME [JQ-FILTER]: like cfg (faults.sh), with every endpoint under its
# mgdc.test name, and the filter applied after that.
net_cfg() {
	cfg "$1" '{"login":"login","graph":"graph","arm":"arm","registration":"reg","blob":"blob"} as $n
		| .endpoints |= with_entries(.key as $k | .value |= sub("://127\\.0\\.0\\.1:"; "://\($n[$k]).mgdc.test:"))'"${2:+ | $2}"
}

# net_in_client CMD...: run CMD in the client namespace (where mgdcfs runs).
net_in_client() { nsenter "--net=/run/netns/$NET_C" "$@"; }

# The hosts line of EP starts with its address ("1" of 10.77...) when the name
# resolves and with "#" when it does not: one byte written in place, so the
# bind mount keeps its file and a reader never sees it half written.
net_hosts_mark() {
	/usr/bin/python3 - "$T_DIR/hosts" "$(net_addr "$1") $(net_name "$1")" "$2" <<'PY'
import sys
path, line, mark = sys.argv[1], sys.argv[2], sys.argv[3].encode()
with open(path, "r+b") as f:
    text = f.read()
    at = text.find(line[1:].encode() + b"\n")
    if at < 1:
        sys.exit("no hosts line for " + line)
    f.seek(at - 1)
    f.write(mark)
PY
}
net_dns_off() { net_hosts_mark "$1" "#"; }
net_dns_on() { net_hosts_mark "$1" 1; }

net_route_off() { ip -n "$NET_C" route del "10.77.${NET_IDX[$1]}.0/30" dev "vc${NET_IDX[$1]}"; }
net_route_on() {
	ip -n "$NET_C" route add "10.77.${NET_IDX[$1]}.0/30" dev "vc${NET_IDX[$1]}" proto kernel \
		scope link src "10.77.${NET_IDX[$1]}.2"
}

net_link_off() { ip -n "$NET_S" link set "vs${NET_IDX[$1]}" down; }
net_link_on() { ip -n "$NET_S" link set "vs${NET_IDX[$1]}" up; }

# net_nft EP RULE-IN [RULE-OUT]: rules of EP's chains in the server namespace.
net_nft() {
	ip netns exec "$NET_S" nft add rule inet mgdcfs "in_$1" $2 &&
		{ [ -z "${3:-}" ] || ip netns exec "$NET_S" nft add rule inet mgdcfs "out_$1" $3; }
}
net_reject() { net_nft "$1" "meta l4proto tcp reject with tcp reset"; }
net_blackhole() { net_nft "$1" "drop"; }
net_loss() { net_nft "$1" "numgen random mod 100 < $2 drop" "numgen random mod 100 < $2 drop"; }
net_pass() {
	ip netns exec "$NET_S" nft flush chain inet mgdcfs "in_$1" &&
		ip netns exec "$NET_S" nft flush chain inet mgdcfs "out_$1"
}

# net_fwd COMMAND...: a command to the forwarder; prints its answer.
net_fwd() { /usr/bin/python3 "$T_ROOT/tests/lib/netfwd.py" ctl "$T_DIR/netfwd.sock" "$@"; }
net_delay() { [[ "$(net_fwd delay "$(net_addr "$1")" "$2")" == ok* ]]; }
net_reset() { [[ "$(net_fwd reset "$(net_addr "$1")")" == ok* ]]; }

# net_heal: every fault of every endpoint undone (the names resolve, routes,
# links and rules as net_up made them, no delay).
net_heal() {
	local ep
	for ep in "${NET_EPS[@]}"; do
		net_dns_on "$ep"
		ip -n "$NET_C" route show "10.77.${NET_IDX[$ep]}.0/30" | grep -q . || net_route_on "$ep"
		net_link_on "$ep"
		net_pass "$ep"
		net_delay "$ep" 0
	done
}
