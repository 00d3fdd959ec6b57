/*
 * test_tree.c - fs/tree: the path router, editor scratch names and the
 * check on names that come from a server.
 *
 * The source of truth is the tree of DESIGN.md §2 written out here as a
 * table of paths: each must route to its node kind with exactly the slices
 * (name, run, container, blob path) a handler would use. Then the paths
 * that must never route anywhere, the names editors and sed use for their
 * temp files, and UTF-8 edge cases taken from RFC 3629's table of
 * well-formed byte sequences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/tree.h"
#include "tap.h"

struct want {
	const char *path;
	enum node_kind kind;
	const char *name; /* NULL: r.name must be NULL */
	const char *run;
	const char *container;
	const char *blob;
};

/* A slice of the route equals `want` (NULL: the slice is absent). */
static int slice_is(const char *s, size_t n, const char *want)
{
	if (!want)
		return s == NULL && n == 0;
	return s && n == strlen(want) && memcmp(s, want, n) == 0;
}

static void check_route(const struct want *w)
{
	struct route r;
	enum node_kind k = tree_route(w->path, &r);

	TAP_EQ_INT(k, w->kind, "route %s: kind", w->path);
	TAP_EQ_INT(r.kind, k, "route %s: r.kind equals the return value", w->path);
	TAP_OK(slice_is(r.name, r.name_len, w->name) && slice_is(r.run, r.run_len, w->run) &&
	           slice_is(r.container, r.container_len, w->container) &&
	           slice_is(r.path, r.path_len, w->blob),
	       "route %s: name '%.*s' run '%.*s' container '%.*s' path '%.*s'", w->path,
	       (int)r.name_len, r.name ? r.name : "", (int)r.run_len, r.run ? r.run : "",
	       (int)r.container_len, r.container ? r.container : "", (int)r.path_len,
	       r.path ? r.path : "");
}

static void test_every_node(void)
{
	static const struct want tree[] = {
	    {"/", N_ROOT, NULL, NULL, NULL, NULL},
	    {"/README", N_README, NULL, NULL, NULL, NULL},
	    {"/tenant", N_TENANT, NULL, NULL, NULL, NULL},
	    {"/tenant/tenant.json", N_TENANT_JSON, NULL, NULL, NULL, NULL},
	    {"/tenant/data-connect", N_DATA_CONNECT, NULL, NULL, NULL, NULL},
	    {"/catalog", N_CATALOG, NULL, NULL, NULL, NULL},
	    {"/catalog/BasicDataSet_v0.Message_v1.json", N_CATALOG_FILE,
	     "BasicDataSet_v0.Message_v1", NULL, NULL, NULL},
	    {"/apps", N_APPS, NULL, NULL, NULL, NULL},
	    {"/apps/mail", N_APP, "mail", NULL, NULL, NULL},
	    {"/apps/mail.json", N_APP_SPEC, "mail", NULL, NULL, NULL},
	    {"/apps/mail/registration.json", N_APP_REG, "mail", NULL, NULL, NULL},
	    {"/apps/mail/consent", N_APP_CONSENT, "mail", NULL, NULL, NULL},
	    {"/apps/mail/consent.json", N_APP_CONSENT_JSON, "mail", NULL, NULL, NULL},
	    {"/pipelines", N_PIPES, NULL, NULL, NULL, NULL},
	    {"/pipelines/week45", N_PIPE, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45.json", N_PIPE_SPECFILE, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/spec.json", N_PIPE_SPEC, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/pipeline.json", N_PIPE_JSON, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/trigger", N_PIPE_TRIGGER, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/schedule", N_PIPE_SCHEDULE, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/estimate", N_PIPE_ESTIMATE, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/estimate.json", N_PIPE_ESTIMATE_JSON, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/runs", N_RUNS, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/runs/latest", N_RUNS_LATEST, "week45", NULL, NULL, NULL},
	    {"/pipelines/week45/runs/0f1e2d3c-aaaa-bbbb-cccc-000000000001", N_RUN, "week45",
	     "0f1e2d3c-aaaa-bbbb-cccc-000000000001", NULL, NULL},
	    {"/pipelines/week45/runs/r1/status", N_RUN_STATUS, "week45", "r1", NULL, NULL},
	    {"/pipelines/week45/runs/r1/run.json", N_RUN_JSON, "week45", "r1", NULL, NULL},
	    {"/pipelines/week45/runs/r1/activities.json", N_RUN_ACTIVITIES, "week45", "r1", NULL,
	     NULL},
	    {"/pipelines/week45/runs/r1/cost.json", N_RUN_COST, "week45", "r1", NULL, NULL},
	    {"/pipelines/week45/runs/r1/cancel", N_RUN_CANCEL, "week45", "r1", NULL, NULL},
	    {"/pipelines/week45/runs/r1/output", N_RUN_OUTPUT, "week45", "r1", NULL, NULL},
	    {"/datasets", N_DATASETS, NULL, NULL, NULL, NULL},
	    {"/datasets/exports", N_DS_CONTAINER, NULL, NULL, "exports", NULL},
	    {"/datasets/exports/mail", N_DS_PATH, NULL, NULL, "exports", "mail"},
	    {"/datasets/exports/mail/week45/r1/part-0.json", N_DS_PATH, NULL, NULL, "exports",
	     "mail/week45/r1/part-0.json"},
	    {"/.mgdcfs", N_META, NULL, NULL, NULL, NULL},
	    {"/.mgdcfs/stats.json", N_META_STATS, NULL, NULL, NULL, NULL},
	    {"/.mgdcfs/errors", N_META_ERRORS, NULL, NULL, NULL, NULL},
	    {"/.mgdcfs/config.json", N_META_CONFIG, NULL, NULL, NULL, NULL},
	    {"/.mgdcfs/refresh", N_META_REFRESH, NULL, NULL, NULL, NULL},
	    {"/apps/.mail.json.swp", N_SCRATCH, ".mail.json.swp", NULL, NULL, NULL},
	    {"/pipelines/4913", N_SCRATCH, "4913", NULL, NULL, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		check_route(&tree[i]);
}

/* Slashes in odd places: FUSE never sends them, but a fuzzer or a future caller may. */
static void test_slashes(void)
{
	static const struct want odd[] = {
	    {"/apps/", N_APPS, NULL, NULL, NULL, NULL},
	    {"//apps//mail", N_APP, "mail", NULL, NULL, NULL},
	    {"/pipelines/week45/runs/r1/", N_RUN, "week45", "r1", NULL, NULL},
	    {"/datasets/", N_DATASETS, NULL, NULL, NULL, NULL},
	    {"/datasets/exports/", N_DS_CONTAINER, NULL, NULL, "exports", NULL},
	    /* Trailing slashes are not part of the blob path; inner ones are kept as given. */
	    {"/datasets/exports/mail/week45///", N_DS_PATH, NULL, NULL, "exports", "mail/week45"},
	    {"/datasets/exports//mail", N_DS_PATH, NULL, NULL, "exports", "mail"},
	    {"////", N_ROOT, NULL, NULL, NULL, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		check_route(&odd[i]);
}

/* Dataset paths are as deep as the storage's folders; the router must not cap them. */
static void test_deep_dataset(void)
{
	char path[4096], want[4096];
	struct route r;
	size_t o = 0, w = 0;
	int i;

	o += (size_t)snprintf(path + o, sizeof(path) - o, "/datasets/exports");
	for (i = 0; i < 40; i++) {
		o += (size_t)snprintf(path + o, sizeof(path) - o, "/d%02d", i);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%sd%02d", i ? "/" : "", i);
	}
	TAP_EQ_INT(tree_route(path, &r), N_DS_PATH, "a 40-level dataset path routes");
	TAP_OK(slice_is(r.path, r.path_len, want) &&
	           slice_is(r.container, r.container_len, "exports"),
	       "the 40-level blob path is the whole rest of the path");
	/* Blob names may hold '.', spaces and non-ASCII; the router passes them through. */
	TAP_EQ_INT(tree_route("/datasets/exports/a b/ü.json.1", &r), N_DS_PATH,
	           "blob names with spaces, dots and UTF-8 route");
	TAP_OK(slice_is(r.path, r.path_len, "a b/ü.json.1"), "and keep their bytes");
	/* Control-plane paths are shallow: more components than the tree has are refused. */
	TAP_EQ_INT(tree_route("/pipelines/p/runs/r/status/a/b/c/d/e", &r), N_NONE,
	           "a control-plane path deeper than the tree is N_NONE");
}

static void test_never(void)
{
	static const char *const never[] = {
	    "",
	    "README",
	    "apps/mail",
	    "/nope",
	    "/README/x",
	    "/READMEx",
	    "/tenant/x",
	    "/tenant/tenant.json/x",
	    "/catalog/Message",
	    "/catalog/.json",
	    "/catalog/a/b.json",
	    "/apps/mail/x",
	    "/apps/mail/consent/x",
	    "/apps/mail.json/consent",
	    "/apps/.hidden/consent",
	    "/apps/mail/registration.json/x",
	    "/pipelines/p/x",
	    "/pipelines/p.json/spec.json",
	    "/pipelines/p/runs/latest/status",
	    "/pipelines/p/runs/r1/x",
	    "/pipelines/p/runs/r1/status/x",
	    "/pipelines/p/trigger/x",
	    "/.mgdcfs/x",
	    "/.mgdcfs/stats.json/x",
	    "/.mgdcfs/refresh/x",
	    "/apps/..",
	    "/apps/../tenant",
	    "/./apps",
	    "/apps/\x01x",
	    "/apps/a\x7f",
	    "/apps/\xff",
	    "/pipelines/p/runs/\xc3(",
	    "/datasets/\x1b[31m",
	    "/datasets/..",
	};
	struct route r;
	size_t i;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		char shown[64];
		size_t k, o = 0;

		for (k = 0; never[i][k] && o + 5 < sizeof(shown); k++) {
			unsigned char c = (unsigned char)never[i][k];

			o += (size_t)(c < 0x20 || c >= 0x7f
			                  ? snprintf(shown + o, sizeof(shown) - o, "\\x%02x", c)
			                  : snprintf(shown + o, sizeof(shown) - o, "%c", c));
		}
		shown[o] = '\0';
		TAP_EQ_INT(tree_route(never[i], &r), N_NONE, "'%s' routes nowhere", shown);
	}
	TAP_EQ_INT(tree_route(NULL, &r), N_NONE, "NULL routes nowhere");
	TAP_EQ_INT(r.kind, N_NONE, "and r is cleared");
}

static int scratch(const char *s)
{
	return tree_is_scratch_name(s, strlen(s));
}

static void test_scratch(void)
{
	static const char *const yes[] = {
	    ".mail.json.swp", /* vim swap */
	    ".mail.json.swx", /* vim's second swap */
	    ".mail.json.swo",
	    "4913",        /* vim's "can I create a file here" probe */
	    "mail.json~",  /* vim/emacs backup */
	    "#mail.json#", /* emacs auto-save */
	    ".#mail.json", /* emacs lock link */
	    "sedAbC123",   /* GNU sed -i: "sed" + mkostemp's six characters */
	    "sed0xYz9Q",
	    "mail.json.tmp",
	    "mail.json.bak",
	    "mail.json.1234", /* Python/atomicwrites-style temp names */
	    ".goutputstream-X1Y2Z3",
	};
	static const char *const no[] = {
	    "mail",  "mail.json", "week45",        "week45.json", "4914", "49130",     "sed",
	    "sedan", "sediment",  "sedimentation", "sedan.json",  "a",    "4913.json",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		TAP_OK(scratch(yes[i]), "'%s' is an editor's scratch name", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		TAP_OK(!scratch(no[i]), "'%s' is not a scratch name", no[i]);
	TAP_OK(!tree_is_scratch_name("", 0), "the empty name is not a scratch name");
	/* Only the given length counts: "mail.json" cut to "mail" is a plain name. */
	TAP_OK(!tree_is_scratch_name("mail.json~", 4), "the length bounds the check");

	/* Scratch names route as N_SCRATCH in both writable folders, and know which. */
	{
		struct route r;

		TAP_EQ_INT(tree_route("/apps/sedXy12Ab", &r), N_SCRATCH, "sed's temp in apps/");
		TAP_EQ_INT(r.in_pipelines, 0, "knows it is under apps/");
		TAP_EQ_INT(tree_route("/pipelines/#week45.json#", &r), N_SCRATCH,
		           "emacs' auto-save in pipelines/");
		TAP_EQ_INT(r.in_pipelines, 1, "knows it is under pipelines/");
		TAP_EQ_INT(tree_route("/pipelines/sedan", &r), N_PIPE,
		           "a pipeline named 'sedan' is a pipeline, not sed's temp file");
		TAP_EQ_INT(tree_route("/apps/sediment.json", &r), N_APP_SPEC,
		           "apps/sediment.json is a spec");
		TAP_EQ_INT(tree_route("/catalog/.x.swp", &r), N_NONE,
		           "scratch files exist only in apps/ and pipelines/");
		TAP_EQ_INT(tree_route("/apps/.mail.json.swp/x", &r), N_NONE,
		           "a scratch file has no children");
	}
}

static int name_ok(const char *s)
{
	return tree_name_ok(s, strlen(s));
}

static void test_name_ok(void)
{
	static const char *const good[] = {
	    "a",
	    "mail",
	    "...",
	    ".hidden",
	    "a b",
	    "é",
	    "日本語",
	    "\xf0\x9f\x98\x80" /* U+1F600 */,
	    "\xed\x9f\xbf" /* U+D7FF, last before the surrogates */,
	    "\xee\x80\x80" /* U+E000, first after */,
	    "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
	    "\xc2\x80" /* U+0080 */,
	    "~",
	    "#x#",
	};
	static const char *const bad[] = {
	    "",
	    ".",
	    "..",
	    "a/b",
	    "/",
	    "\x01",
	    "a\tb",
	    "a\nb",
	    "\x7f",
	    "\x1b[0m",
	    "\x80" /* lone continuation byte */,
	    "\xc0\x80" /* overlong NUL */,
	    "\xc1\xbf" /* overlong */,
	    "\xe0\x80\x80" /* overlong 3-byte */,
	    "\xe0\x9f\xbf" /* overlong 3-byte, upper edge */,
	    "\xed\xa0\x80" /* U+D800 */,
	    "\xed\xbf\xbf" /* U+DFFF */,
	    "\xf0\x8f\xbf\xbf" /* overlong 4-byte */,
	    "\xf4\x90\x80\x80" /* above U+10FFFF */,
	    "\xf5\x80\x80\x80",
	    "\xff",
	    "\xfe",
	    "\xe6\x97" /* cut short */,
	    "a\xc3" /* cut at the end */,
	    "\xc3(" /* bad continuation */,
	};
	char longest[257];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		TAP_OK(name_ok(good[i]), "good name %zu is shown as is", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TAP_OK(!name_ok(bad[i]), "bad name %zu is refused", i);
	TAP_OK(!tree_name_ok("a\0b", 3), "an embedded NUL is refused");
	memset(longest, 'x', sizeof(longest) - 1);
	longest[256] = '\0';
	TAP_OK(tree_name_ok(longest, 255), "255 bytes is the longest name");
	TAP_OK(!tree_name_ok(longest, 256), "256 bytes is too long");
	/* Lengths count bytes, not characters: 85 three-byte characters fit, 86 do not. */
	{
		char cjk[86 * 3 + 1];

		for (i = 0; i < 86; i++)
			memcpy(cjk + 3 * i, "\xe6\x97\xa5", 3);
		TAP_OK(tree_name_ok(cjk, 85 * 3), "85 CJK characters (255 bytes) fit");
		TAP_OK(!tree_name_ok(cjk, 86 * 3), "86 CJK characters (258 bytes) do not");
	}
}

static void test_is_dir(void)
{
	static const enum node_kind dirs[] = {N_ROOT, N_TENANT,   N_CATALOG,      N_APPS,
	                                      N_APP,  N_PIPES,    N_PIPE,         N_RUNS,
	                                      N_RUN,  N_DATASETS, N_DS_CONTAINER, N_META};
	static const enum node_kind files[] = {
	    N_NONE,          N_README,        N_TENANT_JSON,
	    N_DATA_CONNECT,  N_CATALOG_FILE,  N_APP_SPEC,
	    N_APP_REG,       N_APP_CONSENT,   N_APP_CONSENT_JSON,
	    N_PIPE_SPECFILE, N_PIPE_SPEC,     N_PIPE_JSON,
	    N_PIPE_TRIGGER,  N_PIPE_SCHEDULE, N_RUNS_LATEST,
	    N_RUN_STATUS,    N_RUN_JSON,      N_RUN_ACTIVITIES,
	    N_RUN_CANCEL,    N_RUN_OUTPUT,    N_META_STATS,
	    N_META_ERRORS,   N_META_CONFIG,   N_META_REFRESH,
	    N_SCRATCH,       N_PIPE_ESTIMATE, N_PIPE_ESTIMATE_JSON,
	    N_RUN_COST,
	    /* N_DS_PATH may be either; data.c decides from the listing. */
	};
	size_t i, bad = 0;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		bad += !tree_is_dir(dirs[i]);
	TAP_EQ_INT(bad, 0, "the %zu directory kinds are directories",
	           sizeof(dirs) / sizeof(dirs[0]));
	bad = 0;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		bad += tree_is_dir(files[i]);
	TAP_EQ_INT(bad, 0, "the %zu file kinds are not", sizeof(files) / sizeof(files[0]));
}

/* The route borrows the input: its slices point into the very string given. */
static void test_borrows(void)
{
	const char *p = "/pipelines/week45/runs/r7/status";
	struct route r;

	tree_route(p, &r);
	TAP_OK(r.name == p + 11 && r.run == p + 23, "slices point into the caller's path");
}

/* The table is the shape: every fixed node's path, built from the table, routes to it. */
static void test_table(void)
{
	static const struct {
		enum node_kind parent;
		const char *prefix;
	} parents[] = {{N_ROOT, ""},
	               {N_TENANT, "/tenant"},
	               {N_APP, "/apps/mail"},
	               {N_PIPE, "/pipelines/week45"},
	               {N_RUNS, "/pipelines/week45/runs"},
	               {N_RUN, "/pipelines/week45/runs/r1"},
	               {N_META, "/.mgdcfs"}};
	const struct tree_node *n;
	size_t total = 0;

	for (size_t p = 0; p < sizeof(parents) / sizeof(parents[0]); p++) {
		for (size_t i = 0; (n = tree_child(parents[p].parent, i)); i++) {
			char path[300];
			struct route r;

			snprintf(path, sizeof(path), "%s/%s", parents[p].prefix, n->name);
			TAP_EQ_INT(tree_route(path, &r), n->kind, "table: %s routes to its row",
			           path);
			TAP_EQ_INT(tree_is_dir(n->kind), (n->flags & TF_DIR) != 0,
			           "table: %s is a directory as the table says", path);
			total++;
		}
	}
	TAP_EQ_INT(total, 32, "table: 32 fixed nodes under those parents");
	TAP_OK(tree_child(N_ROOT, 0) && strcmp(tree_child(N_ROOT, 0)->name, "README") == 0 &&
	           strcmp(tree_child(N_ROOT, 6)->name, ".mgdcfs") == 0 && !tree_child(N_ROOT, 7),
	       "table: the root lists README ... .mgdcfs in order");
	TAP_OK((tree_flags(N_APP_CONSENT) & TF_SMALL) && (tree_flags(N_PIPE_SPECFILE) & TF_SPEC) &&
	           (tree_flags(N_RUN_OUTPUT) & TF_LINK) && (tree_flags(N_APP_PORTAL) & TF_PORTAL) &&
	           (tree_flags(N_PIPE_ESTIMATE) & TF_SMALL) &&
	           (tree_flags(N_PIPE_ESTIMATE_JSON) & TF_IF_ESTIMATE) &&
	           (tree_flags(N_RUN_COST) & TF_IF_SPEC) && !tree_flags(N_NONE) &&
	           !tree_flags(N_SCRATCH),
	       "table: flags of small values, specs, links, portal-only and conditional files");
	TAP_OK(tree_spec_dir_entry("/apps/x y") && tree_spec_dir_entry("/pipelines/\x01") &&
	           !tree_spec_dir_entry("/apps/") && !tree_spec_dir_entry("/apps/a/b") &&
	           !tree_spec_dir_entry("/tenant/x") && !tree_spec_dir_entry("/appsx/y") &&
	           !tree_spec_dir_entry("apps/x"),
	       "tree_spec_dir_entry: direct entries of apps/ and pipelines/ only");
}

int main(void)
{
	test_table();
	test_every_node();
	test_slashes();
	test_deep_dataset();
	test_never();
	test_scratch();
	test_name_ok();
	test_is_dir();
	test_borrows();
	return tap_done();
}
