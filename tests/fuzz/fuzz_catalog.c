/*
 * fuzz_catalog.c - libFuzzer target: catalog documents through
 * catalog_parse(), then every lookup the validator makes on the result
 * (find, suggest, column, date column, render).
 *
 * Design decision: the catalog ships with the binary, but the parser's
 * contract is "any bytes, need not be NUL-terminated", so the text is copied
 * into a buffer of exactly its length; the names to look up are taken from
 * the catalog itself and mangled, which drives the did-you-mean engine with
 * near misses rather than random strings.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_dataset(const struct catalog *cat, const struct catalog_dataset *ds)
{
	char buf[512], name[300];
	char *text;

	if (!ds->name || catalog_find(cat, ds->name) == NULL)
		abort();
	/* A near miss: the name with its last byte changed. */
	snprintf(name, sizeof(name), "%s", ds->name);
	if (name[0])
		name[strlen(name) - 1] ^= 1;
	catalog_suggest(cat, name, buf, sizeof(buf));
	if (!memchr(buf, '\0', sizeof(buf)))
		abort();
	for (size_t i = 0; i < ds->n_columns; i++) {
		const char *c = ds->columns[i].name;

		if (!c || catalog_column(ds, c) == NULL)
			abort();
		(void)catalog_type_name(ds->columns[i].type);
		snprintf(name, sizeof(name), "%sx", c);
		catalog_suggest_column(ds, name, buf, sizeof(buf));
	}
	for (size_t i = 0; i < ds->n_date_columns; i++)
		if (!ds->date_columns[i] || !catalog_date_column(ds, ds->date_columns[i]))
			abort();
	(void)catalog_scope_name(ds->scope);
	if (!catalog_scope_kinds(ds->scope))
		abort();
	/* Snapshot rules leave at least one date, at any time, even near the epoch's ends. */
	for (long long now = -4000000000LL; now <= 4000000000LL; now += 1999999999LL) {
		long long first, last;

		if (catalog_snapshot_window(ds, now, &first, &last) == 0 && first > last)
			abort();
	}
	for (size_t i = 0; i < ds->n_delta_key; i++)
		if (!catalog_column(ds, ds->delta_key[i]))
			abort();
	if (ds->form_prefix) {
		const struct catalog_dataset *f;

		snprintf(name, sizeof(name), "%sQ1", ds->form_prefix);
		f = catalog_find(cat, name);
		if (!f || !(f->form_prefix || strcmp(f->name, name) == 0) ||
		    !catalog_column_ok(ds, "any metric"))
			abort();
	}
	text = catalog_render(ds);
	if (text && (!text[0] || text[strlen(text) - 1] != '\n'))
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = malloc(size ? size : 1), err[256];
	struct catalog *cat = NULL;
	int rc;

	if (!json)
		return 0;
	memcpy(json, data, size);
	err[0] = '\0';
	rc = catalog_parse(json, size, &cat, err, sizeof(err));
	if (rc == 0) {
		size_t n = catalog_count(cat);

		if (!cat || n > CATALOG_MAX_DATASETS)
			abort();
		for (size_t i = 0; i < n; i++)
			fuzz_dataset(cat, catalog_at(cat, i));
		catalog_free(cat);
	} else {
		if (cat || (rc != -EINVAL && rc != -ENOMEM && rc != -EFBIG))
			abort();
		/* The reason is one line naming the entry. */
		if (!err[0] || !memchr(err, '\0', sizeof(err)) || strchr(err, '\n'))
			abort();
	}
	free(json);
	return 0;
}
