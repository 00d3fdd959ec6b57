# shellcheck shell=bash
# tests/lib/sandbox.sh - a private sandbox for one test file (sourced after
# tests/lib/mount.sh): its own state dir under $T_DIR, free ports, started
# with the given `scripts/sandbox up` arguments and stopped by the test's
# EXIT trap or by sbx_private_down. Its `scripts/sandbox env` is exported, so
# MGDC_CONFIG, the URLs and the identities are this sandbox's from then on.

SBX_PRIVATE=

# free_port: a TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# sbx_private_up [up args...]: start it (e.g. --portal-only); 1 if it did not start.
sbx_private_up() {
	local dir=$T_DIR/sandbox out
	export MGDC_SANDBOX_DIR=$dir MGDC_SANDBOX_PORT MGDC_SANDBOX_BLOB_PORT MGDC_SANDBOX_BLOB_PROXY_PORT
	MGDC_SANDBOX_PORT=$(free_port)
	MGDC_SANDBOX_BLOB_PORT=$(free_port)
	MGDC_SANDBOX_BLOB_PROXY_PORT=$(free_port)
	SBX_PRIVATE=$dir
	trap 'sbx_private_down; t_cleanup' EXIT
	# A loaded machine may take long to start Node twice: give it time.
	if ! out=$(MGDC_SANDBOX_START_TIMEOUT_S=${MGDC_SANDBOX_START_TIMEOUT_S:-120} "$T_ROOT/scripts/sandbox" up "$@" 2>&1); then
		not_ok "private sandbox up $*"
		diag "$out"
		return 1
	fi
	eval "$("$T_ROOT/scripts/sandbox" env)"
}

# sbx_private_down: stop it (idempotent).
sbx_private_down() {
	[ -n "$SBX_PRIVATE" ] || return 0
	MGDC_SANDBOX_DIR=$SBX_PRIVATE "$T_ROOT/scripts/sandbox" down >/dev/null 2>&1
	SBX_PRIVATE=
}
