/*
 * lmdb_layout.h - everything the cache knows of LMDB beyond lmdb.h, in one
 * place, so that a change in LMDB shows up here and in one test
 * (tests/unit/test_cache_layout.c), not as wrong reads or a broken budget.
 *
 * Two facts, each measured or checked against the LMDB actually linked:
 *
 * Where a value lies in data.mdb. Without MDB_WRITEMAP, LMDB maps the whole
 * file read-only and shared from offset 0, and a value returned inside a
 * read transaction points into that map and stays put until the transaction
 * ends. So the value's address minus the map's start is its offset in the
 * file, and the cache copies values with pread(2) from there (kernel
 * read-ahead instead of a page fault per 64 KiB, and no payload pages mapped
 * into the daemon; see cache.c). The start is found once, from
 * /proc/self/maps (the mapping that holds a value), and checked with pread.
 *
 * How many bytes a value occupies, which the byte budget must know before a
 * put: LMDB 0.9 keeps a node (8-byte header, key, value) in its leaf page
 * while it fits in half a page minus the page header (16 bytes), and moves
 * larger values to a run of whole overflow pages whose first page starts with
 * that header.
 *
 * Nothing here allocates or keeps LMDB handles; all functions may be called
 * from any thread once lmdb_layout_init has returned.
 */
#ifndef MGDCFS_CACHE_LMDB_LAYOUT_H
#define MGDCFS_CACHE_LMDB_LAYOUT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lmdb_layout {
	const unsigned char *map; /* where LMDB mapped data.mdb; fixed while the env is open */
	size_t mapsize;           /* bytes of that map (mdb_env_info) */
	size_t psize;             /* LMDB's page size (mdb_env_stat) */
	size_t nodemax;           /* largest leaf node; a larger one goes to overflow pages */
};

/*
 * lmdb_layout_init - fill *l for env, which must be open without
 * MDB_WRITEMAP. v is a value that mdb_get returned in a read transaction
 * still open, and fd is data.mdb (mdb_env_get_fd). Returns 0, or -EIO if the
 * mapping cannot be found or its page holding v differs from the file's
 * bytes at the computed offset (logged, with the LMDB version): the cache
 * must then not read through the file. Call once, before other threads use
 * the env.
 */
int lmdb_layout_init(struct lmdb_layout *l, MDB_env *env, int fd, const MDB_val *v);

/*
 * lmdb_layout_offset - where value v lies in data.mdb, into *off. v must come
 * from a read transaction that is still open (the offset is good only while
 * it is). Returns 0, or -EIO (logged) if v is not inside the map.
 */
int lmdb_layout_offset(const struct lmdb_layout *l, const MDB_val *v, off_t *off);

/*
 * lmdb_layout_unmap - drop this process's page-table entries for the whole
 * map (MADV_DONTNEED). LMDB reads its B-tree pages through the map, and the
 * kernel maps the cached pages around each page faulted in (fault-around,
 * 64 KiB): values the cache wrote and reads with pread would pile up in the
 * daemon's RSS (measured: 123 MiB after streaming 8 GiB through a 512 MiB
 * store, 5 MiB with this after each chunk put). Safe at any time, from any
 * thread, even while others read through the map: the mapping is read-only
 * and shared, so the next access maps the same page of the page cache
 * again. Measured at 37-60 us a call on a 3 GiB map, next to a 4-8 MiB put
 * that takes milliseconds.
 */
void lmdb_layout_unmap(const struct lmdb_layout *l);

/*
 * lmdb_layout_pages - the overflow pages a value of vsize bytes under a key of
 * ksize bytes takes, or 0 if it stays in its leaf page.
 */
uint64_t lmdb_layout_pages(const struct lmdb_layout *l, size_t ksize, size_t vsize);

/*
 * lmdb_layout_bytes - bytes such a value occupies in data.mdb: its overflow
 * pages, or its node and the leaf page's 2-byte slot for it.
 */
uint64_t lmdb_layout_bytes(const struct lmdb_layout *l, size_t ksize, size_t vsize);

#endif
