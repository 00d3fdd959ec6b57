/*
 * azcli.c - a token from `az account get-access-token`.
 *
 * Key decision: the CLI is spawned with posix_spawnp and an argument vector
 * (never through a shell), in its own process group, with stdin from
 * /dev/null and both outputs read through pipes with poll() against one
 * deadline. At the deadline the group is killed (az is a script that starts
 * Python), so a CLI that waits for a login prompt or a dead network can
 * never hold a FUSE worker longer than the timeout. Its outputs are capped.
 */
#include "net/azcli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base/clock.h"
#include "base/log.h"

extern char **environ;

#define AZCLI_OUT_MAX   (64u << 10)
#define AZCLI_ERR_MAX   (8u << 10)
#define AZCLI_TOKEN_MAX 16384

static int azcli_fail(struct net_error *e, int err, const char *msg)
{
	if (e) {
		e->err = err;
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	}
	return -err;
}

int azcli_parse_output(const char *out, size_t len, long now, char **token, long *life_s,
                       struct net_error *e)
{
	cJSON *root = cJSON_ParseWithLengthOpts(out, len, NULL, 0);
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "accessToken");
	const cJSON *on = cJSON_GetObjectItemCaseSensitive(root, "expires_on");
	const cJSON *local = cJSON_GetObjectItemCaseSensitive(root, "expiresOn");
	double exp = -1;
	int res = 0;

	*token = NULL;
	*life_s = 0;
	if (cJSON_IsNumber(on)) {
		exp = on->valuedouble;
	} else if (cJSON_IsString(local)) {
		struct tm tm;

		/* Older CLIs give only the local time of expiry. */
		memset(&tm, 0, sizeof(tm));
		tm.tm_isdst = -1;
		if (strptime(local->valuestring, "%Y-%m-%d %H:%M:%S", &tm))
			exp = (double)mktime(&tm);
	}
	if (!cJSON_IsString(tok) || !tok->valuestring[0] ||
	    strlen(tok->valuestring) >= AZCLI_TOKEN_MAX) {
		res = azcli_fail(e, EIO, "Azure CLI: output without an accessToken");
	} else {
		for (const char *p = tok->valuestring; *p && !res; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				res = azcli_fail(e, EIO,
				                 "Azure CLI: a token with characters a "
				                 "header cannot hold");
	}
	if (!res && !(exp - (double)now >= 1 && exp - (double)now <= 366.0 * 86400))
		res = azcli_fail(e, EIO,
		                 "Azure CLI: output without a usable expires_on or expiresOn");
	if (!res) {
		*life_s = (long)(exp - (double)now);
		*token = strdup(tok->valuestring);
		if (!*token)
			res = azcli_fail(e, ENOMEM, "out of memory");
	}
	if (cJSON_IsString(tok))
		OPENSSL_cleanse(tok->valuestring, strlen(tok->valuestring));
	cJSON_Delete(root);
	return res;
}

/* Read both pipes until both close or the deadline passes. Returns 0 or -ETIMEDOUT. */
static int azcli_collect(int fds[2], char *bufs[2], size_t lens[2], const size_t caps[2],
                         long deadline)
{
	int open_n = 2;

	while (open_n > 0) {
		struct pollfd p[2];
		int np = 0, idx[2];
		long left = deadline - clock_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		for (int i = 0; i < 2; i++) {
			if (fds[i] < 0)
				continue;
			p[np] = (struct pollfd){.fd = fds[i], .events = POLLIN};
			idx[np++] = i;
		}
		if (poll(p, (nfds_t)np, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int k = 0; k < np; k++) {
			int i = idx[k];
			char chunk[4096];
			ssize_t n;

			if (!p[k].revents)
				continue;
			n = read(fds[i], chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(fds[i]);
				fds[i] = -1;
				open_n--;
				continue;
			}
			/* Past the cap the rest is read and dropped, so the CLI never blocks. */
			if (lens[i] < caps[i]) {
				size_t take =
				    (size_t)n < caps[i] - lens[i] ? (size_t)n : caps[i] - lens[i];

				memcpy(bufs[i] + lens[i], chunk, take);
				lens[i] += take;
			}
			OPENSSL_cleanse(chunk, sizeof(chunk));
		}
	}
	return 0;
}

/* The CLI's first error line ("ERROR: ..."), escaped, for messages. */
static void azcli_first_line(const char *err, char *out, size_t n)
{
	const char *s = err, *nl;

	while (*s && isspace((unsigned char)*s))
		s++;
	nl = strchr(s, '\n');
	log_escape(out, n, s, nl ? (size_t)(nl - s) : (size_t)-1);
}

int azcli_token(const struct azcli_opts *o, const char *scope, char **token, long *life_s,
                struct net_error *e)
{
	const char *az = o->az ? o->az : "az";
	char *argv[10], *resource = NULL, *azcopy = NULL, *tenant = NULL, *bufs[2] = {NULL, NULL},
	                line[300], msg[480];
	size_t lens[2] = {0, 0}, caps[2] = {AZCLI_OUT_MAX, AZCLI_ERR_MAX}, n = strlen(scope);
	int out[2] = {-1, -1}, err[2] = {-1, -1}, fds[2], argc = 0, res = -ENOMEM, status = 0;
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	pid_t pid = -1;

	*token = NULL;
	*life_s = 0;
	if (e)
		memset(e, 0, sizeof(*e));
	if (n > 9 && strcmp(scope + n - 9, "/.default") == 0)
		n -= 9;
	resource = strndup(scope, n);
	azcopy = strdup(az);
	tenant = o->tenant ? strdup(o->tenant) : NULL;
	bufs[0] = malloc(AZCLI_OUT_MAX + 1);
	bufs[1] = malloc(AZCLI_ERR_MAX + 1);
	if (!resource || !azcopy || (o->tenant && !tenant) || !bufs[0] || !bufs[1])
		goto out;
	argv[argc++] = azcopy;
	argv[argc++] = "account";
	argv[argc++] = "get-access-token";
	argv[argc++] = "--output";
	argv[argc++] = "json";
	argv[argc++] = "--resource";
	argv[argc++] = resource;
	if (o->tenant) {
		argv[argc++] = "--tenant";
		argv[argc++] = tenant;
	}
	argv[argc] = NULL;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		res = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawnattr_init(&attr);
	/* Its own process group (killed whole at the deadline), no signal blocked (FUSE
	 * workers block them all), SIGPIPE back to its default (we ignore it). */
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGPIPE);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	res = posix_spawnp(&pid, az, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (res) {
		snprintf(msg, sizeof(msg),
		         "'%s' could not be run (%s): install the Azure CLI or "
		         "put it on PATH",
		         az, strerror(res));
		res = azcli_fail(e, ENXIO, msg);
		pid = -1;
		goto out;
	}
	fds[0] = out[0];
	fds[1] = err[0];
	out[0] = err[0] = -1;
	res = azcli_collect(fds, bufs, lens, caps, clock_ms() + timeout);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (res == -ETIMEDOUT)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	bufs[0][lens[0]] = '\0';
	bufs[1][lens[1]] = '\0';
	if (res == -ETIMEDOUT) {
		snprintf(msg, sizeof(msg),
		         "'%s account get-access-token' did not finish within %g s and was stopped",
		         az, (double)timeout / 1000);
		res = azcli_fail(e, ENXIO, msg);
		goto out;
	}
	if (res < 0) {
		res = azcli_fail(e, EIO, "Azure CLI: reading its output failed");
		goto out;
	}
	azcli_first_line(bufs[1], line, sizeof(line));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Not signed in: the CLI asks for "az login"; a missing program exits 127. */
		int unavailable = (WIFEXITED(status) && WEXITSTATUS(status) == 127) ||
		                  strstr(bufs[1], "az login") || strstr(bufs[1], "az account set");

		snprintf(msg, sizeof(msg), "'%s account get-access-token' failed%s: %s", az,
		         unavailable ? " (run 'az login')" : "", line[0] ? line : "(no message)");
		res = azcli_fail(e, unavailable ? ENXIO : EACCES, msg);
		goto out;
	}
	res = azcli_parse_output(bufs[0], lens[0], (long)time(NULL), token, life_s, e);
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (bufs[0]) {
		OPENSSL_cleanse(bufs[0], AZCLI_OUT_MAX + 1);
		free(bufs[0]);
	}
	free(bufs[1]);
	free(resource);
	free(azcopy);
	free(tenant);
	return res;
}
