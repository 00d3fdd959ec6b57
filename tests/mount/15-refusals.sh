#!/usr/bin/env bash
# 15-refusals.sh - what mgdcfs refuses before it mounts, and how it says so.
#
# Each case starts the real binary against the real sandbox with one thing
# wrong (a CA that did not sign the server, a secret file others can read,
# an http:// endpoint off loopback, a profile that is not in the file, a
# secret on the command line, ...) and checks the exit status, that stderr
# names the problem and the fix, that no secret value is printed, and that
# nothing is left mounted. The truth is the config we wrote and the CA we
# made with openssl. Then --help against the man page: every option it lists
# is in the SYNOPSIS and under OPTIONS of man/mgdcfs.1, and the reverse.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox

umask 077
SECRET_VALUE=$(cat "$MGDC_DEV_CLIENT_SECRET_FILE")
MP=$T_DIR/mnt
mkdir -p "$MP"



# ---- a CA that did not sign the server ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_DIR/wrong-ca.key" -out "$T_DIR/wrong-ca.pem" \
	-days 1 -subj "/CN=mgdcfs test wrong CA" >/dev/null 2>&1
c=$(profile_only wrongca ".ca_file = \"$T_DIR/wrong-ca.pem\"")
refused "wrong CA" 1 "certificate" --config "$c" "$MP"
check "wrong CA: the message names the tenant it could not sign in to" grep -qF "$MGDC_TENANT_ID" "$T_DIR/refused.err"
check "wrong CA: the message points at ca_file" grep -qF '"ca_file"' "$T_DIR/refused.err"

# A ca_file that is not a certificate bundle is named, also when the log goes to a file.
printf 'not a certificate\n' >"$T_DIR/junk.pem"
c=$(profile_only junkca ".ca_file = \"$T_DIR/junk.pem\"")
refused "ca_file without a certificate" 1 "ca_file $T_DIR/junk.pem: not a readable PEM certificate bundle" \
	--config "$c" --log "$T_DIR/junkca.log" "$MP"
c=$(profile_only missingca ".ca_file = \"$T_DIR/missing.pem\"")
refused "ca_file that does not exist" 1 "ca_file $T_DIR/missing.pem" --config "$c" "$MP"

# Without ca_file the system store does not know the sandbox's CA either.
c=$(profile_only noca 'del(.ca_file)')
refused "no ca_file for a private CA" 1 "ca_file" --config "$c" "$MP"

# ---- secret files others can read ----
cp "$MGDC_DEV_CLIENT_SECRET_FILE" "$T_DIR/loose.secret"
chmod 644 "$T_DIR/loose.secret"
c=$(profile_only loose ".client_secret_file = \"$T_DIR/loose.secret\"")
refused "0644 secret file" 1 "run: chmod 600 $T_DIR/loose.secret" --config "$c" "$MP"
check "0644 secret file: the message gives the mode" grep -qF "mode 0644" "$T_DIR/refused.err"
chmod 640 "$T_DIR/loose.secret"
refused "0640 secret file" 1 "group and others must have no access" --config "$c" "$MP"
cp "$MGDC_STORAGE_KEY_FILE" "$T_DIR/loose.key"
chmod 604 "$T_DIR/loose.key"
c=$(profile_only loosekey ".storage.key_file = \"$T_DIR/loose.key\"")
refused "0604 storage key file" 1 "chmod 600 $T_DIR/loose.key" --config "$c" "$MP"

# ---- the config file itself ----
c=$(profile_only writable '.')
chmod 666 "$c"
refused "world-writable config file" 1 "chmod 600 $c" --config "$c" "$MP"
c=$(profile_only typo '. + {budget_mb: 64}')
refused "unknown key" 1 "unknown key 'budget_mb'; valid keys: tenant_id" --config "$c" "$MP"
c=$(profile_only badalg '. + {assertion_alg: "HS256"}')
refused "bad assertion_alg" 1 'use "PS256" or "RS256"' --config "$c" "$MP"
refused "missing --config file" 1 "$T_DIR/none.json" --config "$T_DIR/none.json" "$MP"

# ---- http:// only to loopback ----
c=$(profile_only plainhttp '.endpoints.graph = "http://graph.example.com/v1"')
refused "http:// graph endpoint off loopback" 1 "endpoints.graph: 'http://graph.example.com/v1' is not allowed" --config "$c" "$MP"
check "http:// refusal says what is allowed" grep -qF "use https://, or http:// only to" "$T_DIR/refused.err"
c=$(profile_only plainblob '.endpoints.blob = "http://10.1.2.3:10000/acct"')
refused "http:// blob endpoint to a private address" 1 "endpoints.blob" --config "$c" "$MP"

# ---- profiles ----
refused "missing profile" 1 "no profile 'nope'; profiles in the file: developer, admin" \
	--config "$MGDC_CONFIG" --profile nope "$MP"
c=$(profile_only nocred 'del(.client_secret_file)')
refused "profile without a credential" 1 "no credential" --config "$c" "$MP"

# ---- a wrong secret: the service refuses, the message is the service's ----
printf 'not-the-secret\n' >"$T_DIR/wrong.secret"
c=$(profile_only wrongsecret ".client_secret_file = \"$T_DIR/wrong.secret\"")
refused "wrong client secret" 1 "cannot sign in to tenant $MGDC_TENANT_ID" --config "$c" "$MP"
check "wrong client secret: Entra's error code is shown" grep -qE 'AADSTS[0-9]+' "$T_DIR/refused.err"

# ---- secrets on the command line ----
refused "-o client_secret=..." 2 "secrets are not accepted on the command line" \
	--config "$MGDC_CONFIG" -o "client_secret=$SECRET_VALUE" "$MP"
refused "--client-secret" 2 "secrets are not accepted on the command line" \
	--config "$MGDC_CONFIG" --client-secret=x "$MP"

# A path that merely contains the word is not a secret: mount at .../my-secrets.
if mount_fs my-secrets developer; then
	tenant=$(jq -r .id "$MNT/tenant/tenant.json")
	is "$tenant" "$MGDC_TENANT_ID" "a mount point named my-secrets mounts and serves the tenant"
	unmount_fs my-secrets && ok "and unmounts with status 0"
fi

# An unreachable token endpoint is not a refusal: the mount comes up (cached data stays
# readable offline) and says so in the log.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
c=$(profile_only offline ".endpoints.login = \"https://127.0.0.1:$port/login\" | .timeouts = {connect_ms: 500, io_s: 2, retries: 0, deadline_ms: 2000}")
MGDC_CONFIG_SAVED=$MGDC_CONFIG
MGDC_CONFIG=$c
if mount_fs offline offline; then
	check "token endpoint unreachable: mounted anyway, README readable" grep -q mgdcfs "$MNT/README"
	check "token endpoint unreachable: the log says why" grep -q "cannot reach the token endpoint" "${T_LOGS[offline]}"
	unmount_fs offline
fi
MGDC_CONFIG=$MGDC_CONFIG_SAVED

# Relative paths survive going into the background (libfuse changes to /, and the
# cache opens after that): a daemonized mount with --cache-dir rel puts the cache
# under the directory it was started from.
mkdir -p "$T_DIR/bg"
rel=relcache-$$
(cd "$T_DIR" && timeout 60 "$MGDCFS" --config "$MGDC_CONFIG" --profile developer \
	--cache-dir "$rel" --log "$T_DIR/bg.log" bg)
rc=$?
is "$rc" 0 "daemonized mount with a relative --cache-dir starts"
deadline=$((SECONDS + 30))
while [ "$rc" -eq 0 ] && ! [ -f "$T_DIR/$rel/data.mdb" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
check "the cache is under the starting directory" test -f "$T_DIR/$rel/data.mdb"
if [ -e "/$rel" ]; then
	not_ok "and not under /"
	rm -rf "/${rel:?}" # ours: the name has this test's pid
else
	ok "and not under /"
fi
check "the daemonized mount serves the tenant" grep -qF "$MGDC_TENANT_ID" "$T_DIR/bg/tenant/tenant.json"
fusermount3 -u "$T_DIR/bg" 2>/dev/null || fusermount3 -uz "$T_DIR/bg"
deadline=$((SECONDS + 20))
while pgrep -f -- "--log $T_DIR/bg.log" >/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
if pgrep -f -- "--log $T_DIR/bg.log" >/dev/null; then
	not_ok "the daemonized mount exits after fusermount3 -u"
else
	ok "the daemonized mount exits after fusermount3 -u"
fi

# ---- --help, --version and the man page ----
help=$("$MGDCFS" --help 2>&1)
rc=$?
is "$rc" 0 "--help exits 0"
check "--help starts with the usage line" grep -q "^usage: .*mgdcfs \[options\] MOUNTPOINT" <<<"$help"
ver=$("$MGDCFS" --version 2>/dev/null | head -1)
check "--version prints the version" grep -Eq '^mgdcfs [0-9]+\.[0-9]+\.[0-9]+$' <<<"$ver"
"$MGDCFS" -h >/dev/null 2>&1
is "$?" 0 "-h exits 0"

# Option names: every -x / --long token at the start of an option line of --help.
help_opts=$(sed -n 's/^    \(-[^ ,]*\(, -[^ ]*\)\?\).*/\1/p' <<<"$help" | tr ',' '\n' | tr -d ' ' | sort -u)
MAN=$T_ROOT/man/mgdcfs.1
if [ ! -f "$MAN" ]; then
	not_ok "man/mgdcfs.1 exists"
else
	page=$(MANWIDTH=200 man -l "$MAN" 2>/dev/null | col -b)
	synopsis=$(awk '/^SYNOPSIS/{f=1;next} /^[A-Z]/{f=0} f' <<<"$page")
	options=$(awk '/^OPTIONS/{f=1;next} /^[A-Z]/{f=0} f' <<<"$page")
	man_opts=$(grep -oE '(^|[][ |])-(-[a-z][a-z-]*|[a-zA-Z])\b' <<<"$synopsis" | sed 's/^[][ |]*//' | sort -u)
	n=$(wc -w <<<"$help_opts")
	[ "$n" -ge 8 ] && ok "--help lists $n options" || not_ok "--help lists options (found $n)"
	missing=""
	for o in $help_opts; do
		grep -qxF -- "$o" <<<"$man_opts" || missing+=" $o(SYNOPSIS)"
		grep -qE -- "(^|[ ,])$o([ ,=]|$)" <<<"$options" || missing+=" $o(OPTIONS)"
	done
	is "$missing" "" "every --help option is in the man page's SYNOPSIS and OPTIONS"
	extra=""
	for o in $man_opts; do
		grep -qxF -- "$o" <<<"$help_opts" || extra+=" $o"
	done
	is "$extra" "" "the SYNOPSIS has no option --help does not list"
fi

t_done
