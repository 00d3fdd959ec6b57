/*
 * testsrv.h - spawn tests/unit/http_server.py for the net/ unit tests.
 *
 * The server is started on a free loopback port (it prints "PORT n" when it
 * listens), and killed by testsrv_stop(). The script is found relative to
 * the working directory (tests run from the repo root) or to argv[0]
 * (build/tests/test_x -> ../../tests/unit).
 */
#ifndef MGDCFS_TESTS_TESTSRV_H
#define MGDCFS_TESTS_TESTSRV_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct testsrv {
	pid_t pid;
	int port;
};

static char testsrv_script[4096];

/* testsrv_locate - find http_server.py; returns 0 or -1. */
static int testsrv_locate(const char *argv0)
{
	const char *env = getenv("MGDC_TEST_SRCDIR");
	char dir[2048];
	char *slash;

	if (env) {
		snprintf(testsrv_script, sizeof(testsrv_script), "%s/tests/unit/http_server.py",
		         env);
		if (access(testsrv_script, R_OK) == 0)
			return 0;
	}
	snprintf(testsrv_script, sizeof(testsrv_script), "tests/unit/http_server.py");
	if (access(testsrv_script, R_OK) == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", argv0);
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(testsrv_script, sizeof(testsrv_script), "%s/../../tests/unit/http_server.py", dir);
	return access(testsrv_script, R_OK) == 0 ? 0 : -1;
}

/* testsrv_start - start the server (TLS when cert and key are given). Returns 0 or -1. */
static int testsrv_start(struct testsrv *s, const char *cert, const char *key)
{
	int fds[2];
	FILE *f;
	char line[64];

	s->pid = -1;
	s->port = 0;
	if (pipe(fds) < 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (cert)
			execlp("python3", "python3", testsrv_script, "--tls", cert, key,
			       (char *)NULL);
		else
			execlp("python3", "python3", testsrv_script, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f && fgets(line, sizeof(line), f))
		sscanf(line, "PORT %d", &s->port);
	if (f)
		fclose(f);
	return s->port > 0 ? 0 : -1;
}

static void testsrv_stop(struct testsrv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
}

/* testsrv_sh - run a shell command quietly; returns its exit status (or -1). */
static int testsrv_sh(const char *cmd)
{
	char full[8192];
	int st;

	snprintf(full, sizeof(full), "( %s ) >/dev/null 2>&1", cmd);
	st = system(full);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

#endif
