/*
 * azcli.h - tokens from the Azure CLI's signed-in account: runs
 * `az account get-access-token --output json --resource R [--tenant T]`
 * directly (no shell, so nothing in the arguments is interpreted), with a
 * timeout after which the whole process group is killed.
 */
#ifndef MGDCFS_NET_AZCLI_H
#define MGDCFS_NET_AZCLI_H

#include <stddef.h>

#include "net/http.h"

struct azcli_opts {
	const char *az;     /* program name or path; NULL: "az", looked up on PATH */
	const char *tenant; /* --tenant, or NULL */
	long timeout_ms;    /* 0: 10000 */
};

/*
 * azcli_token - a token for `scope`. Returns 0 with *token (malloc'd, wipe
 * and free) and *life_s; -ENXIO when the CLI cannot help (not installed, not
 * signed in, timed out: e->msg says which); -EACCES when it ran and refused
 * (its first error line in e->msg); -EIO for output that is not its JSON.
 * Blocks up to the timeout. Thread-safe.
 */
int azcli_token(const struct azcli_opts *o, const char *scope, char **token, long *life_s,
                struct net_error *e);

/*
 * azcli_parse_output - parse the CLI's JSON: accessToken, and expires_on
 * (seconds since the epoch) or else expiresOn (local time
 * "YYYY-MM-DD HH:MM:SS[.ffffff]") read against `now`. Returns 0 or -EIO.
 * For unit tests.
 */
int azcli_parse_output(const char *out, size_t len, long now, char **token, long *life_s,
                       struct net_error *e);

#endif
