/*
 * fuzz_blob_list.c - libFuzzer target: one List Blobs / List Containers XML
 * page through blob_parse_list_page(), the expat-based parser every Blob
 * listing goes through; the same bytes as a Blob error body through
 * blob_error_body() (expat too).
 *
 * Design decision: the first byte is the knobs (which listing, how many
 * entries are allowed, which entry the callback stops at), the rest is the
 * page, so the corpus stays plain XML after one byte. The callback checks
 * the promises blob.h makes about each entry, and a broken promise aborts:
 * a wrong length or an unsafe name passed off as safe is as much a bug as a
 * crash.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_state {
	size_t seen;
	size_t stop_at; /* 1-based entry the callback stops at; 0: never */
};

/* A byte the fs layer could not show as is: NUL, C0 controls and DEL. */
static int fuzz_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int fuzz_entry(void *ud, const struct blob_entry *ent)
{
	struct fuzz_state *st = ud;

	if (!ent->name || ent->name_len == 0 || ent->name_len > BLOB_NAME_MAX ||
	    ent->name[ent->name_len] != '\0')
		abort();
	if (!memchr(ent->etag, '\0', sizeof(ent->etag)))
		abort();
	if (!ent->name_unsafe)
		for (size_t i = 0; i < ent->name_len; i++)
			if (fuzz_control((unsigned char)ent->name[i]))
				abort();
	if (ent->is_prefix && ent->size)
		abort();
	if (++st->seen == st->stop_at)
		return 7;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = {5000, 1, 2, 16};
	struct fuzz_state st = {0, 0};
	struct blob_page *page;
	struct net_error e;
	int containers, rc;

	if (size < 1)
		return 0;
	containers = data[0] & 1;
	st.stop_at = (data[0] >> 3) & 7;
	page = malloc(sizeof(*page));
	if (!page)
		return 0;
	memset(&e, 0, sizeof(e));
	rc = blob_parse_list_page((const char *)data + 1, size - 1, containers,
	                          caps[(data[0] >> 1) & 3], fuzz_entry, &st, page, &e);
	if (rc != 0 && rc != 7 && rc != -EFBIG && rc != -EIO && rc != -ENOMEM)
		abort();
	if (rc == 0 && page->entries != st.seen)
		abort();
	if (st.seen > caps[(data[0] >> 1) & 3])
		abort();
	if (!memchr(page->next_marker, '\0', sizeof(page->next_marker)))
		abort();
	/* Error text goes into one line of .mgdcfs/errors. */
	if (!memchr(e.msg, '\0', sizeof(e.msg)) || strchr(e.msg, '\n') ||
	    !memchr(e.code, '\0', sizeof(e.code)))
		abort();
	/* The same bytes as an error body: one escaped line each, NUL-terminated. */
	memset(&e, 0, sizeof(e));
	blob_error_body(&e, (const char *)data + 1, size - 1);
	if (!memchr(e.msg, '\0', sizeof(e.msg)) || strchr(e.msg, '\n') || strchr(e.msg, '\r') ||
	    !memchr(e.code, '\0', sizeof(e.code)) || strchr(e.code, '\n'))
		abort();
	free(page);
	return 0;
}
