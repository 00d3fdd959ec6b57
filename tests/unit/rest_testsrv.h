/*
 * rest_testsrv.h - start tests/unit/rest_server.py for a unit test and give
 * it a real struct http + struct auth pointed at it, so the clients under
 * test go through the real token path (the server's token endpoint answers
 * client_credentials with a fixed fake JWT and every other route demands it).
 */
#ifndef MGDCFS_TESTS_REST_TESTSRV_H
#define MGDCFS_TESTS_REST_TESTSRV_H

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "net/auth.h"
#include "net/http.h"

struct testsrv {
	pid_t pid;
	int port;
	char base[64]; /* http://127.0.0.1:PORT */
	struct http *http;
	struct auth *auth;
};

/* The server script: next to this header in the source tree (cwd or ../../ of the binary). */
static inline int testsrv_script(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	snprintf(out, len, "tests/unit/rest_server.py");
	if (access(out, R_OK) == 0)
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int i = 0; i < 2 && (slash = strrchr(exe, '/')); i++)
		*slash = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	snprintf(out, len, "%s/tests/unit/rest_server.py", exe);
	return access(out, R_OK) == 0 ? 0 : -1;
}

/* Start the server and the clients. Returns 0, or -1 with a diagnostic printed. */
static inline int testsrv_start(struct testsrv *s)
{
	char script[PATH_MAX + 64], line[64];
	struct http_opts ho = {0};
	struct auth_opts ao = {0};
	char login[96];
	struct pollfd pfd;
	int fds[2];
	ssize_t n;
	size_t got = 0;

	memset(s, 0, sizeof(*s));
	if (testsrv_script(script, sizeof(script)) < 0 || pipe(fds) < 0) {
		printf("# cannot find tests/unit/rest_server.py\n");
		return -1;
	}
	s->pid = fork();
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = read(fds[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	line[got] = '\0';
	if (sscanf(line, "PORT %d", &s->port) != 1) {
		printf("# test server did not start\n");
		return -1;
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	ho.max_retries = 2;
	ho.backoff_base_ms = 10;
	ho.backoff_max_ms = 50;
	ho.deadline_ms = 20000;
	if (http_new(&s->http, &ho) < 0)
		return -1;
	snprintf(login, sizeof(login), "%s/login", s->base);
	ao.login_url = login;
	ao.tenant = "tenant-1";
	ao.client_id = "client-1";
	ao.secret = "test-secret";
	return auth_new(&s->auth, s->http, &ao) < 0 ? -1 : 0;
}

static inline void testsrv_stop(struct testsrv *s)
{
	auth_free(s->auth);
	http_free(s->http);
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	memset(s, 0, sizeof(*s));
}

/* "http://127.0.0.1:PORT/<path>" into a static-free caller buffer. */
static inline const char *testsrv_url(const struct testsrv *s, char *buf, size_t len,
                                      const char *path)
{
	snprintf(buf, len, "%s%s", s->base, path);
	return buf;
}

/* How many requests scenario `name` has seen, or -1. Uses no token. */
static inline int testsrv_count(const struct testsrv *s, const char *name)
{
	char url[128];
	struct http_req req = {0};
	struct http_resp resp;
	cJSON *j;
	int n = -1;

	snprintf(url, sizeof(url), "%s/_count/%s", s->base, name);
	req.url = url;
	req.idempotent = 1;
	if (http_do(s->http, &req, &resp) == 0 && resp.status == 200 && resp.body) {
		j = cJSON_Parse(resp.body);
		if (cJSON_IsNumber(cJSON_GetObjectItem(j, "count")))
			n = cJSON_GetObjectItem(j, "count")->valueint;
		cJSON_Delete(j);
	}
	http_resp_release(&resp);
	return n;
}

/*
 * testsrv_fixture - the fixture `name` of tests/unit/fixtures/real/<dir>/
 * (beside the scripted server), parsed; NULL (with a diagnostic) if
 * unreadable. Caller frees.
 */
static inline cJSON *testsrv_fixture(const char *dir, const char *name)
{
	char script[PATH_MAX], path[PATH_MAX + 128], *buf = NULL, *slash;
	cJSON *doc = NULL;
	size_t n = 0;
	FILE *f;

	if (testsrv_script(script, sizeof(script)) < 0 || !(slash = strrchr(script, '/')))
		goto out;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/fixtures/real/%s/%s", script, dir, name);
	f = fopen(path, "r");
	if (!f)
		goto out;
	buf = malloc((1 << 20) + 1);
	if (buf)
		n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		doc = cJSON_Parse(buf);
	}
out:
	if (!doc)
		printf("# cannot read fixture %s/%s\n", dir, name);
	free(buf);
	return doc;
}

/* testsrv_secret - a secret file's first line, malloc'd; NULL if unreadable. */
static inline char *testsrv_secret(const char *file)
{
	char buf[4096], *nl;
	FILE *f = file ? fopen(file, "r") : NULL;

	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	if ((nl = strchr(buf, '\n')))
		*nl = '\0';
	return buf[0] ? strdup(buf) : NULL;
}

/*
 * testsrv_live_auth - an identity of the sandbox (scripts/sandbox env): the
 * client id in env `id_var`, its secret in the file env `secret_var` names,
 * MGDC_LOGIN_URL and MGDC_TENANT_ID. 0, or a negative errno.
 */
static inline int testsrv_live_auth(struct auth **out, struct http *h, const char *id_var,
                                    const char *secret_var)
{
	struct auth_opts ao = {0};
	char *secret = testsrv_secret(getenv(secret_var));
	int rc;

	ao.login_url = getenv("MGDC_LOGIN_URL");
	ao.tenant = getenv("MGDC_TENANT_ID");
	ao.client_id = getenv(id_var);
	ao.secret = secret;
	rc = secret && ao.client_id ? auth_new(out, h, &ao) : -EINVAL;
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	return rc;
}

#endif
