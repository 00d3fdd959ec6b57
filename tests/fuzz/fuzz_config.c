/*
 * fuzz_config.c - libFuzzer target: config files through config_load(),
 * then config_to_json() on what loaded.
 *
 * Design decision: config_load() reads a path, so each input is written to
 * a real file (mode 0600) in a private directory that also holds a good
 * secret file, a secret file with loose permissions and an empty one; the
 * seeds name them relatively, so the secret-file checks run too. The
 * environment is cleared of AZURE_* and points HOME and XDG_* at that
 * directory, so nothing outside it is used. The first byte picks the
 * profile argument; the rest is the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SECRET "fuzz-secret-value-0123456789abcdef"

static char fuzz_dir[256];
static char fuzz_path[300];

static void fuzz_write(const char *name, const char *text, mode_t mode)
{
	char p[320];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", fuzz_dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) < 0)
		abort();
	close(fd);
}

static void fuzz_cleanup(void)
{
	static const char *const names[] = {"config.json", "secret", "loose", "empty", "key"};
	char p[320];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fuzz_dir, names[i]);
		unlink(p);
	}
	rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz-config.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(fuzz_dir))
		abort();
	atexit(fuzz_cleanup);
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/config.json", fuzz_dir);
	fuzz_write("secret", FUZZ_SECRET "\n", 0600);
	fuzz_write("key", "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleQ==\n", 0600);
	fuzz_write("loose", "loose-secret\n", 0644);
	fuzz_write("empty", "\n", 0600);
	unsetenv("AZURE_TENANT_ID");
	unsetenv("AZURE_CLIENT_ID");
	unsetenv("AZURE_CLIENT_SECRET");
	unsetenv("AZURE_CLIENT_CERTIFICATE_PATH");
	setenv("HOME", fuzz_dir, 1);
	setenv("XDG_CONFIG_HOME", fuzz_dir, 1);
	setenv("XDG_CACHE_HOME", fuzz_dir, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[4] = {NULL, "default", "developer", "admin"};
	struct config c;
	char err[512], *json;
	int fd, rc;

	if (size < 1)
		return 0;
	fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(fd);
	rc = config_load(&c, fuzz_path, profiles[data[0] & 3], err, sizeof(err));
	if (rc == 0) {
		json = config_to_json(&c);
		/* The effective configuration is shown in the tree: never a secret in it
		 * (unless the file itself spelled it out as some other value). */
		if (json && strstr(json, FUZZ_SECRET) &&
		    !memmem(data, size, FUZZ_SECRET, strlen(FUZZ_SECRET)))
			abort();
		free(json);
		config_release(&c);
	} else {
		if (rc > 0 || !err[0] || !memchr(err, '\0', sizeof(err)))
			abort();
	}
	return 0;
}
