/*
 * fuzz_token.c - libFuzzer target: Entra token replies through
 * auth_parse_token_reply(), success and error shapes alike.
 *
 * Design decision: the body is copied into a buffer of exactly its length
 * (no NUL after it), as the parser promises to read only `len` bytes; what
 * it accepts must be usable as a header value, since the token goes
 * straight into "Authorization: Bearer ...".
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size ? size : 1), *token = NULL;
	struct net_error e;
	long life = -1;
	int rc;

	if (!body)
		return 0;
	memcpy(body, data, size);
	rc = auth_parse_token_reply(body, size, &token, &life, &e);
	if (rc == 0) {
		if (!token || !token[0] || life < 1)
			abort();
		for (const char *p = token; *p; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				abort();
	} else {
		if (token ||
		    (rc != -EACCES && rc != -EINVAL && rc != -EAGAIN && rc != -EIO &&
		     rc != -ENOMEM) ||
		    e.err != -rc)
			abort();
	}
	if (!memchr(e.msg, '\0', sizeof(e.msg)) || strchr(e.msg, '\n') ||
	    !memchr(e.code, '\0', sizeof(e.code)))
		abort();
	free(token);
	free(body);
	return 0;
}
