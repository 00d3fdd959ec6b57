/*
 * spec_fixtures.h - reading the fixtures of test_catalog and test_spec
 * (tests/unit/fixtures/spec/, paths relative to the repo root, where
 * tests/run starts the unit tests).
 */
#ifndef MGDCFS_TESTS_SPEC_FIXTURES_H
#define MGDCFS_TESTS_SPEC_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>

#define FIX "tests/unit/fixtures/spec/"

/* The whole file, NUL-terminated, with its length in *len; NULL if unreadable. */
static inline char *fixture_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

#endif
