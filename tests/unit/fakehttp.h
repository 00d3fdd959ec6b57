/*
 * fakehttp.h - the request side of the small HTTP servers that unit tests
 * run in their own process (test_blob's scripted Blob replies, test_chunks'
 * Blob-like server): read one request's head, pick a header out of it.
 */
#ifndef MGDCFS_TESTS_FAKEHTTP_H
#define MGDCFS_TESTS_FAKEHTTP_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* fakehttp_read_head - read from c until the blank line (or cap - 1 bytes); NUL-terminated. */
static void fakehttp_read_head(int c, char *req, size_t cap)
{
	size_t len = 0;

	req[0] = '\0';
	while (len < cap - 1) {
		ssize_t n = read(c, req + len, cap - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
}

/* fakehttp_header - the value of header `name` ("Name:", any case) in req, or "". */
static void fakehttp_header(const char *req, const char *name, char *out, size_t n)
{
	const char *p = strcasestr(req, name);

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(name);
	while (*p == ' ')
		p++;
	snprintf(out, n, "%.*s", (int)strcspn(p, "\r\n"), p);
}

#endif
