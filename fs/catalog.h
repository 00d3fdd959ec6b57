/*
 * catalog.h - the MGDC dataset catalog: names, columns and types, date-filter
 * rules and scope kind of every dataset mgdcfs knows.
 *
 * The catalog is `scripts/sandbox.d/catalog.json` (shared with the sandbox
 * emulator), embedded in the binary at build time. It is parsed once into an
 * immutable structure; every pointer handed out stays valid until
 * catalog_free() (never, for the built-in catalog), and every function here
 * is safe from any thread once the catalog exists.
 */
#ifndef MGDCFS_FS_CATALOG_H
#define MGDCFS_FS_CATALOG_H

#include <stddef.h>

/* Caps on what the catalog file may contain (it is ours, but still input). */
#define CATALOG_MAX_BYTES    (4u << 20)
#define CATALOG_MAX_DATASETS 1024
#define CATALOG_MAX_COLUMNS  512

enum catalog_type {
	CATALOG_STRING = 0,
	CATALOG_DATETIME,
	CATALOG_BOOLEAN,
	CATALOG_INT32,
	CATALOG_INT64,
	CATALOG_DOUBLE,
	CATALOG_OBJECT,
	CATALOG_ARRAY,
};

/* What one row of the dataset describes, and so which scope kinds apply. */
enum catalog_scope { CATALOG_SCOPE_USER = 0, CATALOG_SCOPE_GROUP, CATALOG_SCOPE_SITE };

struct catalog_column {
	const char *name;
	enum catalog_type type;
	int filterable;
};

struct catalog_dataset {
	const char *name;     /* e.g. "BasicDataSet_v0.Message_v1" */
	const char *category; /* e.g. "Outlook"; "" when the catalog gives none */
	enum catalog_scope scope;
	int date_required;               /* a run must carry a date filter */
	int window_only;                 /* start/end required, but no column (CalendarView) */
	const char *const *date_columns; /* allowed date-filter columns */
	size_t n_date_columns;
	const struct catalog_column *columns; /* NULL: dataset listed by name only */
	size_t n_columns;
};

struct catalog;

/*
 * catalog_parse - parse a catalog document (`len` bytes of JSON, need not be
 * NUL-terminated). Returns 0 and *out (free with catalog_free), or -EINVAL
 * with one line in err naming the offending entry, -ENOMEM, -EFBIG when the
 * text exceeds CATALOG_MAX_BYTES.
 */
int catalog_parse(const char *json, size_t len, struct catalog **out, char *err, size_t errlen);

/*
 * catalog_builtin - the catalog embedded at build time, parsed on first use
 * (thread-safe, once). Returns NULL only if the embedded text is broken, which
 * is logged once; the build's own test catches that.
 */
const struct catalog *catalog_builtin(void);

/* catalog_free - free a catalog from catalog_parse(). NULL is a no-op. */
void catalog_free(struct catalog *cat);

/* catalog_count / catalog_at - iterate the datasets in catalog order. */
size_t catalog_count(const struct catalog *cat);
const struct catalog_dataset *catalog_at(const struct catalog *cat, size_t i);

/* catalog_find - the dataset named exactly `name`, or NULL. */
const struct catalog_dataset *catalog_find(const struct catalog *cat, const char *name);

/*
 * catalog_suggest - write the names nearest to `name` (edit distance, ignoring
 * case, or a name ending in `name`) as "'A' or 'B'" into buf. Returns the
 * number of suggestions (0: buf is ""). Never more than three.
 */
int catalog_suggest(const struct catalog *cat, const char *name, char *buf, size_t n);

/* catalog_column - the column named exactly `name`, or NULL. */
const struct catalog_column *catalog_column(const struct catalog_dataset *ds, const char *name);

/* catalog_suggest_column - like catalog_suggest, over the dataset's columns. */
int catalog_suggest_column(const struct catalog_dataset *ds, const char *name, char *buf, size_t n);

/*
 * catalog_date_column - the catalog's spelling of date-filter column `name`,
 * matched ignoring case (the service matches these case-insensitively), or
 * NULL when the dataset does not allow it.
 */
const char *catalog_date_column(const struct catalog_dataset *ds, const char *name);

/* catalog_type_name / catalog_scope_name - the catalog's own spellings. */
const char *catalog_type_name(enum catalog_type t);
const char *catalog_scope_name(enum catalog_scope s);

/*
 * catalog_scope_kinds - the registration scope kinds valid for a dataset of
 * scope `s` (NULL-terminated; the first is the default).
 */
const char *const *catalog_scope_kinds(enum catalog_scope s);

/*
 * catalog_render - the text of catalog/<Dataset>.json: name, category, scope,
 * scope kinds, date-filter rules and columns with types, pretty-printed with
 * a final newline. Returns malloc'd text, or NULL on out of memory.
 */
char *catalog_render(const struct catalog_dataset *ds);

/*
 * catalog_nearest - the shared did-you-mean engine: of the `n` strings
 * reached through get(ctx, i), write up to three nearest to `name` into buf
 * as "'A' or 'B'". Returns how many were written.
 */
int catalog_nearest(const char *name, size_t n, const char *(*get)(const void *ctx, size_t i),
                    const void *ctx, char *buf, size_t buflen);

#endif
