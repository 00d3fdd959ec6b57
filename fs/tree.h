/*
 * tree.h - the tree's shape (one table) and the path router: a mount path
 * to the node it names.
 *
 * Pure and allocation-free: the route points into the path it was given,
 * so it is valid only as long as that string. Every handler in fs/ starts
 * from a route; the fuzzers drive this function directly.
 */
#ifndef MGDCFS_FS_TREE_H
#define MGDCFS_FS_TREE_H

#include <stddef.h>

enum node_kind {
	N_NONE = 0,         /* no such path */
	N_ROOT,             /* / */
	N_README,           /* /README */
	N_TENANT,           /* /tenant */
	N_TENANT_JSON,      /* /tenant/tenant.json */
	N_DATA_CONNECT,     /* /tenant/data-connect */
	N_CATALOG,          /* /catalog */
	N_CATALOG_FILE,     /* /catalog/<Dataset>.json        name */
	N_APPS,             /* /apps */
	N_APP,              /* /apps/<name>                   name */
	N_APP_SPEC,         /* /apps/<name>.json              name */
	N_APP_REG,          /* /apps/<name>/registration.json name */
	N_APP_CONSENT,      /* /apps/<name>/consent           name */
	N_APP_CONSENT_JSON, /* /apps/<name>/consent.json   name */
	N_APP_PORTAL,       /* /apps/<name>/portal.txt     name (portal-only tenants) */
	N_PIPES,            /* /pipelines */
	N_PIPE,             /* /pipelines/<name>              name */
	N_PIPE_SPECFILE,    /* /pipelines/<name>.json         name */
	N_PIPE_SPEC,        /* /pipelines/<name>/spec.json    name */
	N_PIPE_JSON,        /* /pipelines/<name>/pipeline.json name */
	N_PIPE_TRIGGER,     /* /pipelines/<name>/trigger      name */
	N_PIPE_SCHEDULE,    /* /pipelines/<name>/schedule     name */
	N_PIPE_ESTIMATE,    /* /pipelines/<name>/estimate     name: a write starts a sampled run */
	N_PIPE_ESTIMATE_JSON, /* /pipelines/<name>/estimate.json name */
	N_RUNS,               /* /pipelines/<name>/runs         name */
	N_RUNS_LATEST,        /* /pipelines/<name>/runs/latest  name (symlink) */
	N_RUN,                /* /pipelines/<name>/runs/<id>    name, run */
	N_RUN_STATUS,         /* .../runs/<id>/status */
	N_RUN_JSON,           /* .../runs/<id>/run.json */
	N_RUN_ACTIVITIES,     /* .../runs/<id>/activities.json */
	N_RUN_COST,           /* .../runs/<id>/cost.json */
	N_RUN_CANCEL,         /* .../runs/<id>/cancel */
	N_RUN_OUTPUT,         /* .../runs/<id>/output (symlink) */
	N_DATASETS,           /* /datasets */
	N_DS_CONTAINER,       /* /datasets/<container>          container */
	N_DS_PATH,            /* /datasets/<container>/<path>   container, path (no leading '/') */
	N_META,               /* /.mgdcfs */
	N_META_STATS,         /* /.mgdcfs/stats.json */
	N_META_METRICS,       /* /.mgdcfs/metrics: stats.json in Prometheus text format */
	N_META_ERRORS,        /* /.mgdcfs/errors */
	N_META_CONFIG,        /* /.mgdcfs/config.json */
	N_META_REFRESH,       /* /.mgdcfs/refresh: a write drops cached metadata and listings */
	N_SCRATCH, /* an editor's temp or swap file in /apps or /pipelines: name = file */
};

struct route {
	enum node_kind kind;
	const char *name; /* app, pipeline or dataset name, or scratch file name */
	size_t name_len;
	const char *run; /* run id */
	size_t run_len;
	const char *container;
	size_t container_len;
	const char *path; /* blob path under the container (N_DS_PATH) */
	size_t path_len;
	int in_pipelines; /* N_SCRATCH: 1 when under /pipelines, 0 under /apps */
};

/*
 * The tree's shape, in one table (tree.c) that routing, listing (ctl.c) and
 * the FUSE adapter (ops.c) all read: each node's parent, its fixed name (or
 * none, for a name that comes from a service), and what it is.
 */
enum tree_flag {
	TF_DIR = 1 << 0,   /* a directory */
	TF_LINK = 1 << 1,  /* a symbolic link */
	TF_SMALL = 1 << 2, /* a small value: a write acts (data-connect, consent, ...) */
	TF_SPEC = 1 << 3,  /* a spec: commits when closed (apps/NAME.json, pipelines/NAME.json) */
	TF_SPEC_DIR = 1 << 4, /* files created here are specs or an editor's (apps/, pipelines/) */
	TF_CONTRACT = 1 << 5, /* listed only with the registration contract */
	TF_PORTAL = 1 << 6,   /* listed only without it (a portal-only tenant) */
	TF_IF_SPEC = 1 << 7,  /* listed only for a pipeline made from a spec */
	TF_IF_RUNS = 1 << 8,  /* listed only when the pipeline has runs */
	TF_WRITABLE = 1 << 9, /* mode 0644: written by users (specs, small values) */
	TF_IF_ESTIMATE = 1 << 10, /* listed only when the pipeline has been estimated */
};

struct tree_node {
	enum node_kind kind;
	enum node_kind parent; /* N_NONE for the root */
	const char *name;      /* the fixed name; NULL for a named component */
	unsigned flags;        /* enum tree_flag */
};

/* tree_node - the table's row of kind `k`, or NULL for N_NONE and N_SCRATCH. Pure. */
const struct tree_node *tree_node(enum node_kind k);

/*
 * tree_child - the i-th fixed child of `parent` in listing order (i from 0),
 * or NULL past the last. Named children (apps, pipelines, runs) are the
 * handlers' to list. Pure.
 */
const struct tree_node *tree_child(enum node_kind parent, size_t i);

/* tree_flags - the flags of kind `k` (0 for N_NONE and N_SCRATCH). */
unsigned tree_flags(enum node_kind k);

/*
 * tree_spec_dir_entry - 1 if `path` names a direct entry of a directory
 * whose new files are specs (apps/, pipelines/), whatever the name.
 */
int tree_spec_dir_entry(const char *path);

/*
 * tree_route - classify `path` (absolute, as FUSE gives it). Returns the
 * node kind (also in r->kind); N_NONE for a path that can never exist.
 * Existence of named things (an app, a run) is checked by the caller.
 */
enum node_kind tree_route(const char *path, struct route *r);

/* tree_is_dir - 1 for kinds that are directories (TF_DIR). */
int tree_is_dir(enum node_kind k);

/* tree_is_scratch_name - 1 if `name` looks like an editor's temp/swap/backup file. */
int tree_is_scratch_name(const char *name, size_t len);

/* tree_name_ok - 1 if a component from a server can be shown as is (no '/', NUL, control
 * characters, not "." or "..", valid UTF-8, at most 255 bytes). */
int tree_name_ok(const char *name, size_t len);

#endif
