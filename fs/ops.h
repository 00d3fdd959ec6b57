/*
 * ops.h - the FUSE operations table of mgdcfs (ops.c) and the init/destroy
 * hooks it calls (main.c). The only header besides ops.c and main.c that
 * needs FUSE.
 */
#ifndef MGDCFS_FS_OPS_H
#define MGDCFS_FS_OPS_H

/*
 * 3.12: the API of fuse_loop_cfg_create, which main.c's loop uses. Below 312
 * fuse_loop_mt is fuse_loop_mt_32, which reads the opaque config as the old
 * public struct {clone_fd, max_idle_threads}: clone_fd became its version tag
 * (true) and max_idle_threads its clone_fd (0), so every request ran on a new
 * thread with a new /dev/fuse clone (a third of a warm 4 KiB read's time).
 */
#define FUSE_USE_VERSION 312
#include <fuse.h>

/* fs_operations - the operations table; static storage. */
const struct fuse_operations *fs_operations(void);

/*
 * ops_release_all - release the file handles the kernel never released (the session
 * ended by a signal first). From fs_destroy, after the loop's threads are gone and
 * before the dataset threads stop.
 */
void ops_release_all(void);

/* ops_start / ops_stop - start and stop the kernel-cache invalidation thread (from fs_init,
 * after cmd_recover, / fs_destroy). Nothing else. */
void ops_start(struct fuse *f);
void ops_stop(void);

/* fs_init - called by libfuse after daemonizing: opens the cache, sets kernel timeouts. */
void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg);

/* fs_destroy - called by libfuse at unmount: closes the cache. */
void fs_destroy(void *private_data);

#endif
