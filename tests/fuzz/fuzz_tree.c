/*
 * fuzz_tree.c - libFuzzer target: the path router (tree_route) and the two
 * name predicates it relies on (tree_name_ok, tree_is_scratch_name).
 *
 * Design decision: the router only borrows slices of its input, so the
 * input is copied into a buffer ending at its NUL and every slice the route
 * returns is checked to lie inside it; a name the router hands to the
 * command and listing code must also pass tree_name_ok(), which is what the
 * tree promises about names it shows.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A slice is either absent (NULL, 0) or inside [path, path + len). */
static void fuzz_slice(const char *path, size_t len, const char *s, size_t n)
{
	if (!s) {
		if (n)
			abort();
		return;
	}
	if (s < path || s + n > path + len || n == 0)
		abort();
}

/* A component the router accepted as a name must be one the tree can show. */
static void fuzz_component(const char *s, size_t n)
{
	if (s && (!tree_name_ok(s, n) || memchr(s, '/', n)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 1);
	struct route r;
	enum node_kind k;
	size_t len;

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	len = strlen(path);
	/* The predicates take (pointer, length) and may see any bytes, NUL included. */
	(void)tree_is_scratch_name((const char *)data, size);
	if (tree_name_ok((const char *)data, size) &&
	    (size == 0 || size > 255 || memchr(data, '/', size) || memchr(data, '\0', size)))
		abort();
	k = tree_route(path, &r);
	if (k != r.kind)
		abort();
	if (k == N_NONE) {
		free(path);
		return 0;
	}
	if (path[0] != '/')
		abort();
	fuzz_slice(path, len, r.name, r.name_len);
	fuzz_slice(path, len, r.run, r.run_len);
	fuzz_slice(path, len, r.container, r.container_len);
	fuzz_slice(path, len, r.path, r.path_len);
	fuzz_component(r.name, r.name_len);
	fuzz_component(r.run, r.run_len);
	fuzz_component(r.container, r.container_len);
	/* A blob path under a container is relative and never empty. */
	if (k == N_DS_PATH && (!r.path || r.path[0] == '/' || !r.container))
		abort();
	/* App and pipeline directories are names without '.', so <name>/ and <name>.json stay
	 * apart. */
	if ((k == N_APP || k == N_PIPE) && (!r.name || memchr(r.name, '.', r.name_len)))
		abort();
	(void)tree_is_dir(k);
	free(path);
	return 0;
}
