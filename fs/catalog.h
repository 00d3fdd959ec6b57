/*
 * catalog.h - the MGDC dataset catalog: names, columns and types, date-filter
 * rules, scope kind, price class, SharePoint snapshot and delta rules, and
 * the public source of every dataset mgdcfs knows.
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

/*
 * What one row of the dataset describes, and so which scope kinds apply:
 * users or groups (the run selects them), or SharePoint/OneDrive sites and
 * Viva Insights reports, which Microsoft's scope table marks "NA" (no user
 * or group selection at all).
 */
enum catalog_scope {
	CATALOG_SCOPE_USER = 0,
	CATALOG_SCOPE_GROUP,
	CATALOG_SCOPE_SITE,
	CATALOG_SCOPE_TENANT,
};

/* How extraction is billed: free, or per `price_unit` objects rounded up per run. */
enum catalog_price { CATALOG_PRICE_UNKNOWN = 0, CATALOG_PRICE_FREE, CATALOG_PRICE_BILLED };

/* Whether a run between two different snapshot dates returns a delta. */
enum catalog_delta { CATALOG_DELTA_NA = 0, CATALOG_DELTA_YES, CATALOG_DELTA_NO };

struct catalog_column {
	const char *name;
	enum catalog_type type;
	int filterable;
	const char *format; /* documented structure, e.g. "STRUCT<Id: STRING>"; "" if none */
};

struct catalog_dataset {
	const char *name;          /* e.g. "BasicDataSet_v0.Message_v1" */
	const char *documented_as; /* the name its source page uses, e.g. "Message_v1" */
	const char *category;      /* e.g. "Mail"; "" when the catalog gives none */
	enum catalog_scope scope;
	int date_required;               /* a run must carry a date filter */
	int window_only;                 /* start/end required, but no column (CalendarView) */
	const char *const *date_columns; /* allowed date-filter columns */
	size_t n_date_columns;
	const struct catalog_column *columns; /* never NULL: every dataset has its schema */
	size_t n_columns;
	/* Where the schema comes from: repository, path and commit. */
	const char *source_repo, *source_path, *source_commit;
	enum catalog_price price;
	unsigned price_unit;      /* objects per billed unit (1000, 50000); 0 when free */
	const char *price_source; /* where the price class is documented */
	/*
	 * The published price of one unit of this class, in millionths of a US dollar (0 for
	 * free datasets), from the catalog's "prices" table: where it is published, the date
	 * of that page and the official pricing page. price_usd_source is "" when the catalog
	 * has no price for the class (the USD amount is then unknown, not zero).
	 */
	unsigned long long price_micro_usd;
	const char *price_usd_source, *price_as_of, *price_official;
	/* Sampling (the Copy source's AdditionalDataSetProperties.top): 1 when MGDC samples this
	 * dataset, with where that is shown; sample_source is "" otherwise. */
	int sample;
	const char *sample_source;
	/* SharePoint snapshots: dates are available this many hours late and kept this many days
	 * (both 0: the dataset is not filtered on snapshot dates). */
	int available_after_hours, retention_days;
	enum catalog_delta delta;
	const char *no_delta_reason;  /* delta == CATALOG_DELTA_NO: why, as documented */
	const char *const *delta_key; /* delta == CATALOG_DELTA_YES: the natural key columns */
	size_t n_delta_key;
	/* A name form (Viva Insights reports): names are form_prefix + a query name, and any
	 * column not listed is a query metric of type open_type. NULL: an ordinary name. */
	const char *form_prefix;
	enum catalog_type open_type;
};

struct catalog;

/* Largest price of one unit a catalog may give, in millionths of a US dollar ($1,000). */
#define CATALOG_MAX_MICRO_USD 1000000000ull

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

/*
 * catalog_find - the dataset named exactly `name`, else the name form it
 * matches (form_prefix followed by a query name of letters, digits, '_' and
 * '-', at most CATALOG_QUERY_MAX), else NULL. A form's entry keeps the form
 * as its name: callers that need the requested name keep it themselves.
 */
#define CATALOG_QUERY_MAX 128
const struct catalog_dataset *catalog_find(const struct catalog *cat, const char *name);

/*
 * catalog_suggest - write the names nearest to `name` (edit distance, ignoring
 * case, or a name ending in `name`) as "'A' or 'B'" into buf. Returns the
 * number of suggestions (0: buf is ""). Never more than three.
 */
int catalog_suggest(const struct catalog *cat, const char *name, char *buf, size_t n);

/*
 * catalog_column - the column named exactly `name`, or NULL. A name form
 * (form_prefix set) has columns beyond those listed: catalog_column_ok()
 * says whether `name` may be requested at all.
 */
const struct catalog_column *catalog_column(const struct catalog_dataset *ds, const char *name);

/* catalog_column_ok - `name` is a listed column, or any name for a form's open columns. */
int catalog_column_ok(const struct catalog_dataset *ds, const char *name);

/*
 * catalog_snapshot_window - for a dataset with snapshot rules, the first and
 * last snapshot dates (days since 1970-01-01, UTC) that can be asked for at
 * time `now` (seconds since the epoch): data of date D is available from
 * D + available_after_hours and kept retention_days, so the dates are
 * [today - retention_days, day of (now - available_after_hours)]. Returns 0,
 * or -EINVAL when the dataset has no snapshot rules.
 */
int catalog_snapshot_window(const struct catalog_dataset *ds, long long now, long long *first,
                            long long *last);

/*
 * catalog_sample_list - the names of the datasets MGDC can sample, as
 * "A, B, C" (truncated to fit), into buf. Returns how many there are.
 */
int catalog_sample_list(const struct catalog *cat, char *buf, size_t n);

/* catalog_suggest_column - like catalog_suggest, over the dataset's columns. */
int catalog_suggest_column(const struct catalog_dataset *ds, const char *name, char *buf, size_t n);

/*
 * catalog_date_column - the catalog's spelling of date-filter column `name`,
 * matched ignoring case (the service matches these case-insensitively), or
 * NULL when the dataset does not allow it.
 */
const char *catalog_date_column(const struct catalog_dataset *ds, const char *name);

/* catalog_type_name / catalog_scope_name / catalog_price_name - the catalog's own spellings. */
const char *catalog_type_name(enum catalog_type t);
const char *catalog_scope_name(enum catalog_scope s);
const char *catalog_price_name(enum catalog_price p);

/*
 * catalog_scope_kinds - the registration scope kinds valid for a dataset of
 * scope `s` (NULL-terminated; the first is the default).
 */
const char *const *catalog_scope_kinds(enum catalog_scope s);

/*
 * catalog_render - the text of catalog/<Dataset>.json: name, documented name,
 * category, scope, scope kinds, date-filter rules, snapshot and delta rules,
 * price class, source and columns with types, pretty-printed with a final
 * newline. Returns malloc'd text, or NULL on out of memory.
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
