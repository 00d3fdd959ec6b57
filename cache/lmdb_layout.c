/*
 * lmdb_layout.c - the cache's knowledge of LMDB beyond lmdb.h (see the header
 * for the two facts and why the cache needs them).
 *
 * The design decision: nothing is read from LMDB's pages. The map's start
 * comes from the kernel's list of this process's mappings (the mapping that
 * holds a value LMDB returned), and the sizes from LMDB 0.9's rules, which
 * tests/unit/test_cache_layout.c checks against mdb_stat and pread on the
 * LMDB that is linked.
 */
#include "cache/lmdb_layout.h"

#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* LMDB 0.9's page header (PAGEHDRSZ) and leaf node header (NODESIZE) in bytes. */
#define LMDB_PAGEHDR 16
#define LMDB_NODEHDR 8

/*
 * The address at which the mapping holding p maps file offset 0, from
 * /proc/self/maps ("start-end perms offset dev inode path"). NULL if p is
 * in no shared, readable file mapping.
 */
static const unsigned char *lmdb_layout_find_map(const void *p)
{
	unsigned long long lo, hi, off;
	uintptr_t a = (uintptr_t)p, base = 0;
	char *line = NULL, perms[8];
	size_t cap = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return NULL;
	/* getline: a line with a long path must not be read as two. */
	while (!base && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%llx-%llx %7s %llx", &lo, &hi, perms, &off) != 4)
			continue;
		if (a >= lo && a < hi && perms[0] == 'r' && perms[3] == 's' && off <= lo)
			base = (uintptr_t)(lo - off);
	}
	free(line);
	fclose(f);
	return (const unsigned char *)base;
}

int lmdb_layout_init(struct lmdb_layout *l, MDB_env *env, int fd, const MDB_val *v)
{
	unsigned char *copy = NULL;
	const unsigned char *page;
	MDB_envinfo info;
	MDB_stat st;
	off_t off;
	int res = -EIO;

	memset(l, 0, sizeof(*l));
	if (mdb_env_info(env, &info) || mdb_env_stat(env, &st))
		goto out;
	l->psize = st.ms_psize;
	l->nodemax = (((l->psize - LMDB_PAGEHDR) / 2) & ~(size_t)1) - sizeof(uint16_t);
	l->mapsize = info.me_mapsize;
	l->map = lmdb_layout_find_map(v->mv_data);
	if (!l->map || lmdb_layout_offset(l, v, &off) < 0)
		goto out;
	/* The whole page that holds v, read both ways: the mapping is data.mdb's, at 0. */
	page = (const unsigned char *)((uintptr_t)v->mv_data & ~(uintptr_t)(l->psize - 1));
	copy = malloc(l->psize);
	if (copy && pread(fd, copy, l->psize, (off_t)(page - l->map)) == (ssize_t)l->psize &&
	    memcmp(copy, page, l->psize) == 0)
		res = 0;
out:
	if (res)
		log_err("cache: cannot tell where LMDB mapped data.mdb (%s)",
		        mdb_version(NULL, NULL, NULL));
	free(copy);
	return res;
}

int lmdb_layout_offset(const struct lmdb_layout *l, const MDB_val *v, off_t *off)
{
	uintptr_t p = (uintptr_t)v->mv_data, m = (uintptr_t)l->map;

	if (p < m || p - m > l->mapsize || v->mv_size > l->mapsize - (p - m)) {
		log_err("cache: a value lies outside the map of data.mdb");
		return -EIO;
	}
	*off = (off_t)(p - m);
	return 0;
}

void lmdb_layout_unmap(const struct lmdb_layout *l)
{
	madvise((void *)(uintptr_t)l->map, l->mapsize, MADV_DONTNEED);
}

uint64_t lmdb_layout_pages(const struct lmdb_layout *l, size_t ksize, size_t vsize)
{
	if (LMDB_NODEHDR + ksize + vsize <= l->nodemax)
		return 0;
	return (LMDB_PAGEHDR - 1 + vsize) / l->psize + 1;
}

uint64_t lmdb_layout_bytes(const struct lmdb_layout *l, size_t ksize, size_t vsize)
{
	uint64_t pages = lmdb_layout_pages(l, ksize, vsize);

	return pages ? pages * l->psize : LMDB_NODEHDR + ksize + vsize + sizeof(uint16_t);
}
