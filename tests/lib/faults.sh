# tests/lib/faults.sh - helpers shared by the fault tests (tests/mount/50-faults-*.sh),
# sourced after tests/lib/mount.sh (which has the /_faults API and cfg): test
# configs that point one endpoint elsewhere, tests/lib/proxy.py, figures and errno
# of a read.

# figure NAME VALUE: a measured figure, as a TAP comment a report can collect.
figure() { echo "# figure: $1=$2"; }
ms() { date +%s%3N; }
# sha FILE: sha256 of a file's bytes, or "unreadable".
sha() { sha256sum <"$1" 2>/dev/null | cut -d' ' -f1 || echo unreadable; }

# read_errno FILE: read it whole like a program; "0" or the errno name.
read_errno() { /usr/bin/python3 "$T_ROOT/tests/lib/fsop.py" read "$1" | cut -d' ' -f1; }

# rule_hits TEXT: hits of the rules whose route contains TEXT.
rule_hits() { faults_get | jq --arg t "$1" '[.rules[] | select(.route | contains($t)) | .hits] | add // 0'; }
# wait_hit TEXT: wait (at most 20 s) until a rule whose route contains TEXT was hit.
wait_hit() {
	local deadline=$((SECONDS + 20))
	while [ "$(rule_hits "$1")" -lt 1 ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
}
# kill9_mid NAME TEXT WHAT CMD...: run CMD (a command written through mount NAME) in the
# background, kill -9 the daemon once a rule matching TEXT (held by latency) was hit, and
# check that the command reached WHAT and that fusermount3 -u cleared the mount.
kill9_mid() {
	local name=$1 text=$2 what=$3 wp
	shift 3
	("$@" >/dev/null 2>&1) &
	wp=$!
	wait_hit "$text"
	check "the commit reached $what before the kill" test "$(rule_hits "$text")" -ge 1
	kill9_fs "$name"
	wait $wp 2>/dev/null
	check "after kill -9, fusermount3 -u cleared the mount" bash -c "! mountpoint -q '$T_DIR/$name'"
}

# expire_mid TEXT CMD...: run CMD (a command written through a mount; a rule matching TEXT
# holds one of its requests) in the background, expire every token once that rule was hit,
# and print CMD's output when it has finished.
expire_mid() {
	local text=$1 out=$T_DIR/expire_mid.out wp
	shift
	("$@" >"$out") &
	wp=$!
	wait_hit "$text"
	fault_post /expire-tokens
	wait $wp
	cat "$out"
}

# fails_within WANT NAME DESC CMD...: CMD prints WANT (e.g. "EIO close"), within the
# configured deadline; its time is reported as figure NAME.
fails_within() {
	local want=$1 name=$2 desc=$3 t el
	shift 3
	t=$(ms)
	is "$("$@")" "$want" "$desc"
	el=$(($(ms) - t))
	figure "$name" "$el"
	check "  within the configured deadline ($el ms)" test "$el" -le "$DEADLINE_MS"
}

DEADLINE_MS=$(jq -r '.profiles.developer.timeouts.deadline_ms // 30000' "$MGDC_CONFIG")
MGDC_CONFIG_ORIG=$MGDC_CONFIG # cfg (tests/lib/mount.sh) starts from this one

# cfg_blob NAME BLOB-URL CHUNK-KB: the developer profile reading storage at BLOB-URL.
cfg_blob() { cfg "$1" ".endpoints.blob = \"$2\" | .cache.chunk_kb = $3"; }

# tests/lib/proxy.py: proxy_start NAME tcp|tls TARGET-PORT; proxy_port NAME;
# proxy_ctl NAME COMMAND...; proxy_stop_all (also run by t_done).
declare -A PROXY_PIDS=()
proxy_start() {
	local f=$T_DIR/proxy-$1.ports deadline=$((SECONDS + 10))
	/usr/bin/python3 "$T_ROOT/tests/lib/proxy.py" serve --mode "$2" --target "$3" --port-file "$f" \
		--cert "$MGDC_SANDBOX_DIR/tls/server.pem" --key "$MGDC_SANDBOX_DIR/tls/server.key" \
		--ca "$MGDC_SANDBOX_CA" --max-seconds 600 &
	PROXY_PIDS[$1]=$!
	while [ ! -s "$f" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	[ -s "$f" ] || not_ok "proxy $1 did not start"
}
proxy_port() { cut -d' ' -f1 "$T_DIR/proxy-$1.ports"; }
proxy_ctl() {
	local n=$1
	shift
	/usr/bin/python3 "$T_ROOT/tests/lib/proxy.py" ctl "$T_DIR/proxy-$n.ports" "$@"
}
# proxy_mount NAME tcp|tls: a proxy in front of Azurite, and a mount (4 MiB chunks) through it.
proxy_mount() {
	proxy_start "$1" "$2" "$(blob_port)"
	cfg_blob "$1" "https://127.0.0.1:$(proxy_port "$1")/$MGDC_STORAGE_ACCOUNT" 4096
	mount_fs "$1" developer
}
# proxy_arm NAME corrupt|cut N OFFSET; proxy_stat NAME conns|corrupted|cut
proxy_arm() { [ "$(proxy_ctl "$@")" = ok ] || not_ok "proxy $1 refused: $*"; }
proxy_stat() { proxy_ctl "$1" stats | tr ' ' '\n' | sed -n "s/^$2=//p"; }
proxy_stop_all() {
	local n
	for n in "${!PROXY_PIDS[@]}"; do
		kill "${PROXY_PIDS[$n]}" 2>/dev/null
		wait "${PROXY_PIDS[$n]}" 2>/dev/null
		unset "PROXY_PIDS[$n]"
	done
}
eval "t_done_plain() $(declare -f t_done | tail -n +2)"
t_done() {
	proxy_stop_all
	fault_reset
	t_done_plain
}
trap 'proxy_stop_all; t_cleanup' EXIT

# blob_port: Azurite's own port (no faults there).
blob_port() {
	local b=${MGDC_BLOB_URL#https://127.0.0.1:}
	echo "${b%%/*}"
}
