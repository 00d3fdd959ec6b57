/*
 * cost.h - what a run costs, as MGDC bills it: the objects a run extracts
 * (the JobMetadata's NumberOfRowsExtracted), in units of the dataset's price
 * class (1,000 objects, or 50,000 for SharePoint Files; nothing for the free
 * datasets), each run rounded up to whole units on its own (the Data
 * Connect FAQ), at the catalog's published price per unit. A sampled run
 * (AdditionalDataSetProperties.top) also reports the JobMetadata's
 * TotalRowCount: the objects of the full run, so its cost can be estimated
 * before paying for it.
 *
 * Pure: cJSON in, cJSON out; amounts are integers (millionths of a US
 * dollar) until they are written; every function is safe from any thread.
 */
#ifndef MGDCFS_FS_COST_H
#define MGDCFS_FS_COST_H

#include <cjson/cJSON.h>

#include "fs/catalog.h"

/* Caps on the JobMetadata of one run (its folder metadata/JobMetadata/ holds the files). */
#define COST_META_MAX_FILES 16
#define COST_META_MAX_BYTES (64u << 10)

/* What the JobMetadata files of one run say, summed over the files. */
struct cost_meta {
	unsigned long long rows;  /* NumberOfRowsExtracted */
	unsigned long long total; /* TotalRowCount (when has_total) */
	int has_total;            /* every file gave TotalRowCount */
	unsigned files;           /* JobMetadata documents read (0: none found) */
	const char *table;        /* TableName of the first file, or NULL; points into the docs */
	const char *mode;         /* ExtractionMode (Full, Delta) of the first file, or NULL */
};

/*
 * cost_meta_of - sum the JobMetadata documents in array `docs` (each an
 * object as MGDC writes it) into m, whose strings then point into docs.
 * Returns 0, or -EINVAL naming nothing when a document has no whole
 * NumberOfRowsExtracted (a count must be a number from 0 to 2^53, or such a
 * number as text) or gives a TotalRowCount below it.
 */
int cost_meta_of(const cJSON *docs, struct cost_meta *m);

/*
 * cost_units - the units MGDC bills for `objects` objects of one run at
 * `unit_objects` objects per unit: rounded up, so 1 object is 1 unit and
 * 1,001 are 2; 0 objects, or a free class (unit_objects 0), are 0 units.
 */
unsigned long long cost_units(unsigned long long objects, unsigned unit_objects);

/*
 * cost_micro_usd - `units` at `micro_usd_per_unit` (millionths of a US
 * dollar), saturating at ULLONG_MAX instead of wrapping.
 */
unsigned long long cost_micro_usd(unsigned long long units, unsigned long long micro_usd_per_unit);

/* One run, as cost_add_run() describes it. */
struct cost_run {
	const char *run_id;
	const char *status;   /* Queued, InProgress, Succeeded, Failed, ... */
	const char *message;  /* why it failed, or NULL */
	const char *dataset;  /* the dataset as the run requested it */
	long long sample;     /* AdditionalDataSetProperties.top, 0 for a full run */
	const char *meta_dir; /* container/folder/ of its JobMetadata, for people to check */
	const struct cost_meta *meta; /* NULL: no JobMetadata (the run has not succeeded) */
	const char *why;              /* with meta NULL: why there is none, or NULL */
};

/*
 * cost_add_run - add to object `o` what run `r` of dataset `ds` (its catalog
 * entry) costs: runId, status, dataset, sample, rowsExtracted, totalRows,
 * extractionMode, billed {objects, units, usd}, for a sample estimate
 * {objects, units, usd} of the full run, price {class, unitObjects,
 * usdPerUnit, rounding, source, asOf, official, classSource}, jobMetadata,
 * and a note when something is not known (usd is null when the catalog has
 * no price for the class). Returns 0 or -ENOMEM.
 */
int cost_add_run(cJSON *o, const struct catalog_dataset *ds, const struct cost_run *r);

#endif
