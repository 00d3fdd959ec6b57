/*
 * tree.c - map mount paths to nodes.
 *
 * The tree is fixed in shape (DESIGN.md §2), so routing is a walk over path
 * components with a switch per level rather than a table of patterns. The
 * route borrows slices of the input path; nothing is allocated, which keeps
 * it cheap on every FUSE call and easy to fuzz.
 */
#include "fs/tree.h"

#include <string.h>

#define MAX_COMPONENTS 8

struct comp {
	const char *s;
	size_t n;
};

static int eq(const struct comp *c, const char *lit)
{
	size_t n = strlen(lit);

	return c->n == n && memcmp(c->s, lit, n) == 0;
}

static int ends_with(const struct comp *c, const char *suffix, size_t *stem)
{
	size_t n = strlen(suffix);

	if (c->n <= n || memcmp(c->s + c->n - n, suffix, n) != 0)
		return 0;
	*stem = c->n - n;
	return 1;
}

int tree_name_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > 255 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len, k;

		if (c < 0x20 || c == 0x7f || c == '/')
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return 0;
		/* Overlong 3/4-byte forms and surrogates. */
		if (len == 3 && ((c == 0xe0 && (unsigned char)s[i + 1] < 0xa0) ||
		                 (c == 0xed && (unsigned char)s[i + 1] >= 0xa0)))
			return 0;
		if (len == 4 && ((c == 0xf0 && (unsigned char)s[i + 1] < 0x90) ||
		                 (c == 0xf4 && (unsigned char)s[i + 1] >= 0x90)))
			return 0;
		i += len;
	}
	return 1;
}

int tree_is_scratch_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	/* vim: .name.swp/.swx, 4913 probe; emacs: #name#, .#name; backups: name~; sed -i:
	 * sedXXXXXX; generic: anything starting with '.', or ending in .tmp / .bak */
	if (s[0] == '.' || s[0] == '#' || s[n - 1] == '~')
		return 1;
	if (n == 4 && memcmp(s, "4913", 4) == 0)
		return 1;
	/* GNU sed -i writes "sed" + mkostemp's six letters or digits; nothing longer, so
	 * an app or pipeline called "sedan" or "sediments" stays a name. */
	if (n == 9 && memcmp(s, "sed", 3) == 0) {
		for (i = 3; i < n && ((s[i] >= 'a' && s[i] <= 'z') ||
		                      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'));
		     i++)
			;
		if (i == n)
			return 1;
	}
	if (n > 4 && (memcmp(s + n - 4, ".tmp", 4) == 0 || memcmp(s + n - 4, ".bak", 4) == 0 ||
	              memcmp(s + n - 4, ".swp", 4) == 0))
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] == '.')
			break;
	/* A name without ".json" that is not a plain app name is scratch (e.g. "foo.json.1234"). */
	if (i < n && !(n > 5 && memcmp(s + n - 5, ".json", 5) == 0))
		return 1;
	return 0;
}

static enum node_kind set(struct route *r, enum node_kind k)
{
	r->kind = k;
	return k;
}

static enum node_kind route_app(const struct comp *c, int nc, struct route *r)
{
	size_t stem;

	if (nc == 1)
		return set(r, N_APPS);
	if (nc == 2) {
		if (tree_is_scratch_name(c[1].s, c[1].n)) {
			r->name = c[1].s;
			r->name_len = c[1].n;
			return set(r, N_SCRATCH);
		}
		r->name = c[1].s;
		r->name_len = c[1].n;
		if (ends_with(&c[1], ".json", &stem)) {
			r->name_len = stem;
			return set(r, N_APP_SPEC);
		}
		return set(r, N_APP);
	}
	if (nc != 3 || tree_is_scratch_name(c[1].s, c[1].n) || memchr(c[1].s, '.', c[1].n))
		return set(r, N_NONE);
	r->name = c[1].s;
	r->name_len = c[1].n;
	if (eq(&c[2], "registration.json"))
		return set(r, N_APP_REG);
	if (eq(&c[2], "consent"))
		return set(r, N_APP_CONSENT);
	if (eq(&c[2], "consent.json"))
		return set(r, N_APP_CONSENT_JSON);
	return set(r, N_NONE);
}

static enum node_kind route_pipe(const struct comp *c, int nc, struct route *r)
{
	size_t stem;

	if (nc == 1)
		return set(r, N_PIPES);
	r->in_pipelines = 1;
	r->name = c[1].s;
	r->name_len = c[1].n;
	if (nc == 2) {
		if (tree_is_scratch_name(c[1].s, c[1].n))
			return set(r, N_SCRATCH);
		if (ends_with(&c[1], ".json", &stem)) {
			r->name_len = stem;
			return set(r, N_PIPE_SPECFILE);
		}
		return set(r, N_PIPE);
	}
	if (tree_is_scratch_name(c[1].s, c[1].n) || memchr(c[1].s, '.', c[1].n))
		return set(r, N_NONE);
	if (nc == 3) {
		if (eq(&c[2], "spec.json"))
			return set(r, N_PIPE_SPEC);
		if (eq(&c[2], "pipeline.json"))
			return set(r, N_PIPE_JSON);
		if (eq(&c[2], "trigger"))
			return set(r, N_PIPE_TRIGGER);
		if (eq(&c[2], "runs"))
			return set(r, N_RUNS);
		return set(r, N_NONE);
	}
	if (!eq(&c[2], "runs"))
		return set(r, N_NONE);
	if (eq(&c[3], "latest"))
		return set(r, nc == 4 ? N_RUNS_LATEST : N_NONE);
	r->run = c[3].s;
	r->run_len = c[3].n;
	if (nc == 4)
		return set(r, N_RUN);
	if (nc != 5)
		return set(r, N_NONE);
	if (eq(&c[4], "status"))
		return set(r, N_RUN_STATUS);
	if (eq(&c[4], "run.json"))
		return set(r, N_RUN_JSON);
	if (eq(&c[4], "activities.json"))
		return set(r, N_RUN_ACTIVITIES);
	if (eq(&c[4], "cancel"))
		return set(r, N_RUN_CANCEL);
	if (eq(&c[4], "output"))
		return set(r, N_RUN_OUTPUT);
	return set(r, N_NONE);
}

enum node_kind tree_route(const char *path, struct route *r)
{
	struct comp c[MAX_COMPONENTS];
	const char *p = path, *slash;
	int nc = 0;
	size_t stem;

	memset(r, 0, sizeof(*r));
	if (!path || path[0] != '/')
		return set(r, N_NONE);
	/* Datasets may be deep: split only the first two components there. */
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		if (nc == 2 && eq(&c[0], "datasets")) {
			size_t n = strlen(p);

			while (n > 0 && p[n - 1] == '/')
				n--;
			r->container = c[1].s;
			r->container_len = c[1].n;
			r->path = p;
			r->path_len = n;
			return set(r, N_DS_PATH);
		}
		if (nc == MAX_COMPONENTS)
			return set(r, N_NONE);
		slash = strchr(p, '/');
		c[nc].s = p;
		c[nc].n = slash ? (size_t)(slash - p) : strlen(p);
		if (!tree_name_ok(c[nc].s, c[nc].n))
			return set(r, N_NONE);
		nc++;
		p += c[nc - 1].n;
	}
	if (nc == 0)
		return set(r, N_ROOT);
	if (eq(&c[0], "README"))
		return set(r, nc == 1 ? N_README : N_NONE);
	if (eq(&c[0], "tenant")) {
		if (nc == 1)
			return set(r, N_TENANT);
		if (nc == 2 && eq(&c[1], "tenant.json"))
			return set(r, N_TENANT_JSON);
		if (nc == 2 && eq(&c[1], "data-connect"))
			return set(r, N_DATA_CONNECT);
		return set(r, N_NONE);
	}
	if (eq(&c[0], "catalog")) {
		if (nc == 1)
			return set(r, N_CATALOG);
		/* The stem must be a name too: "..json" is no dataset "." (found by
		 * tests/fuzz/fuzz_tree). */
		if (nc == 2 && ends_with(&c[1], ".json", &stem) && tree_name_ok(c[1].s, stem)) {
			r->name = c[1].s;
			r->name_len = stem;
			return set(r, N_CATALOG_FILE);
		}
		return set(r, N_NONE);
	}
	if (eq(&c[0], "apps"))
		return route_app(c, nc, r);
	if (eq(&c[0], "pipelines"))
		return route_pipe(c, nc, r);
	if (eq(&c[0], "datasets")) {
		if (nc == 1)
			return set(r, N_DATASETS);
		r->container = c[1].s;
		r->container_len = c[1].n;
		return set(r, N_DS_CONTAINER);
	}
	if (eq(&c[0], ".mgdcfs")) {
		if (nc == 1)
			return set(r, N_META);
		if (nc == 2 && eq(&c[1], "stats.json"))
			return set(r, N_META_STATS);
		if (nc == 2 && eq(&c[1], "metrics"))
			return set(r, N_META_METRICS);
		if (nc == 2 && eq(&c[1], "errors"))
			return set(r, N_META_ERRORS);
		if (nc == 2 && eq(&c[1], "config.json"))
			return set(r, N_META_CONFIG);
		if (nc == 2 && eq(&c[1], "refresh"))
			return set(r, N_META_REFRESH);
		return set(r, N_NONE);
	}
	return set(r, N_NONE);
}

int tree_is_dir(enum node_kind k)
{
	switch (k) {
	case N_ROOT:
	case N_TENANT:
	case N_CATALOG:
	case N_APPS:
	case N_APP:
	case N_PIPES:
	case N_PIPE:
	case N_RUNS:
	case N_RUN:
	case N_DATASETS:
	case N_DS_CONTAINER:
	case N_META:
		return 1;
	default:
		return 0;
	}
}
