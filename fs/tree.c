/*
 * tree.c - the tree's shape and the mapping of mount paths to its nodes.
 *
 * The shape (DESIGN.md §2) is the table below: every node, its parent and
 * its fixed name, in listing order. Routing walks the path's components and
 * looks fixed names up in the table; only the named components (an app, a
 * pipeline, a run, a catalog entry, a container and blob path) and editors'
 * scratch files need code of their own. The route borrows slices of the
 * input path; nothing is allocated, which keeps it cheap on every FUSE call
 * and easy to fuzz.
 */
#include "fs/tree.h"

#include <string.h>

#define MAX_COMPONENTS 8

#define W TF_WRITABLE
static const struct tree_node nodes[] = {
    {N_ROOT, N_NONE, "", TF_DIR},
    {N_README, N_ROOT, "README", 0},
    {N_TENANT, N_ROOT, "tenant", TF_DIR},
    {N_CATALOG, N_ROOT, "catalog", TF_DIR},
    {N_APPS, N_ROOT, "apps", TF_DIR | TF_SPEC_DIR},
    {N_PIPES, N_ROOT, "pipelines", TF_DIR | TF_SPEC_DIR},
    {N_DATASETS, N_ROOT, "datasets", TF_DIR},
    {N_META, N_ROOT, ".mgdcfs", TF_DIR},
    {N_TENANT_JSON, N_TENANT, "tenant.json", 0},
    {N_DATA_CONNECT, N_TENANT, "data-connect", TF_SMALL | W},
    {N_CATALOG_FILE, N_CATALOG, NULL, 0},
    {N_APP, N_APPS, NULL, TF_DIR},
    {N_APP_SPEC, N_APPS, NULL, TF_SPEC | W},
    {N_APP_REG, N_APP, "registration.json", 0},
    {N_APP_CONSENT, N_APP, "consent", TF_SMALL | W},
    {N_APP_CONSENT_JSON, N_APP, "consent.json", 0},
    {N_APP_PORTAL, N_APP, "portal.txt", TF_PORTAL},
    {N_PIPE, N_PIPES, NULL, TF_DIR},
    {N_PIPE_SPECFILE, N_PIPES, NULL, TF_SPEC | W},
    {N_PIPE_SPEC, N_PIPE, "spec.json", TF_IF_SPEC},
    {N_PIPE_JSON, N_PIPE, "pipeline.json", 0},
    {N_PIPE_TRIGGER, N_PIPE, "trigger", TF_SMALL | W},
    {N_PIPE_SCHEDULE, N_PIPE, "schedule", TF_SMALL | W},
    {N_PIPE_ESTIMATE, N_PIPE, "estimate", TF_SMALL | W | TF_IF_SPEC},
    {N_PIPE_ESTIMATE_JSON, N_PIPE, "estimate.json", TF_IF_ESTIMATE},
    {N_RUNS, N_PIPE, "runs", TF_DIR},
    {N_RUNS_LATEST, N_RUNS, "latest", TF_LINK | TF_IF_RUNS},
    {N_RUN, N_RUNS, NULL, TF_DIR},
    {N_RUN_STATUS, N_RUN, "status", 0},
    {N_RUN_JSON, N_RUN, "run.json", 0},
    {N_RUN_ACTIVITIES, N_RUN, "activities.json", 0},
    {N_RUN_COST, N_RUN, "cost.json", TF_IF_SPEC},
    {N_RUN_CANCEL, N_RUN, "cancel", TF_SMALL | W},
    {N_RUN_OUTPUT, N_RUN, "output", TF_LINK | TF_IF_SPEC},
    {N_DS_CONTAINER, N_DATASETS, NULL, TF_DIR},
    {N_DS_PATH, N_DS_CONTAINER, NULL, 0},
    {N_META_STATS, N_META, "stats.json", 0},
    {N_META_METRICS, N_META, "metrics", 0},
    {N_META_ERRORS, N_META, "errors", 0},
    {N_META_CONFIG, N_META, "config.json", 0},
    {N_META_REFRESH, N_META, "refresh", TF_SMALL | W},
};
#undef W

const struct tree_node *tree_node(enum node_kind k)
{
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (nodes[i].kind == k)
			return &nodes[i];
	return NULL;
}

unsigned tree_flags(enum node_kind k)
{
	const struct tree_node *n = tree_node(k);

	return n ? n->flags : 0;
}

const struct tree_node *tree_child(enum node_kind parent, size_t i)
{
	for (size_t j = 0; j < sizeof(nodes) / sizeof(nodes[0]); j++)
		if (nodes[j].parent == parent && nodes[j].name && i-- == 0)
			return &nodes[j];
	return NULL;
}

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

/* The fixed child of `parent` named `c`, or N_NONE. */
static enum node_kind fixed(enum node_kind parent, const struct comp *c)
{
	const struct tree_node *n;

	for (size_t i = 0; (n = tree_child(parent, i)); i++)
		if (eq(c, n->name))
			return n->kind;
	return N_NONE;
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
	return set(r, fixed(N_APP, &c[2]));
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
	if (nc == 3)
		return set(r, fixed(N_PIPE, &c[2]));
	if (fixed(N_PIPE, &c[2]) != N_RUNS)
		return set(r, N_NONE);
	if (fixed(N_RUNS, &c[3]) != N_NONE) /* latest: a name no run id can take */
		return set(r, nc == 4 ? fixed(N_RUNS, &c[3]) : N_NONE);
	r->run = c[3].s;
	r->run_len = c[3].n;
	if (nc == 4)
		return set(r, N_RUN);
	return set(r, nc == 5 ? fixed(N_RUN, &c[4]) : N_NONE);
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
	switch (fixed(N_ROOT, &c[0])) {
	case N_README:
		return set(r, nc == 1 ? N_README : N_NONE);
	case N_TENANT:
		return set(r, nc == 1 ? N_TENANT : nc == 2 ? fixed(N_TENANT, &c[1]) : N_NONE);
	case N_META:
		return set(r, nc == 1 ? N_META : nc == 2 ? fixed(N_META, &c[1]) : N_NONE);
	case N_APPS:
		return route_app(c, nc, r);
	case N_PIPES:
		return route_pipe(c, nc, r);
	case N_DATASETS:
		if (nc == 1)
			return set(r, N_DATASETS);
		r->container = c[1].s;
		r->container_len = c[1].n;
		return set(r, N_DS_CONTAINER);
	case N_CATALOG:
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
	default:
		return set(r, N_NONE);
	}
}

int tree_is_dir(enum node_kind k)
{
	return (tree_flags(k) & TF_DIR) != 0;
}

int tree_spec_dir_entry(const char *path)
{
	const struct tree_node *n;
	size_t len;

	if (!path || path[0] != '/')
		return 0;
	for (size_t i = 0; (n = tree_child(N_ROOT, i)); i++) {
		len = strlen(n->name);
		if ((n->flags & TF_SPEC_DIR) && strncmp(path + 1, n->name, len) == 0 &&
		    path[1 + len] == '/')
			return path[2 + len] != '\0' && !strchr(path + 2 + len, '/');
	}
	return 0;
}
