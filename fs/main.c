/*
 * main.c - mgdcfs's entry point: options, configuration, the net objects,
 * and fuse_main.
 *
 * Everything that can be checked before mounting is checked before
 * mounting: the config, the secret files' modes, the certificate, the CA and
 * the credential (one token request). A wrong CA or a refused secret stops
 * here with a clear message instead of giving a mount whose every file
 * fails; a service that is merely unreachable does not, so a cached dataset
 * stays readable offline. The cache (LMDB) opens in init, after libfuse has
 * daemonized, as LMDB requires.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "cache/cache.h"
#include "fs/catalog.h"
#include "fs/data_i.h"
#include "fs/fs_i.h"
#include "fs/memo.h"
#include "fs/ops.h"
#include <fuse_lowlevel.h>
#include "net/auth.h"
#include "net/adf.h"
#include "net/billing.h"
#include "net/blob.h"
#include "net/graph.h"
#include "net/rbac.h"
#include "net/reg.h"
#include "net/http.h"

struct mgdcfs *g_fs;

static struct options {
	const char *config;
	const char *profile;
	const char *log_file;
	const char *cache_dir;
	int show_help;
	int show_version;
	int debug;
} opts;

#define OPT(t, p)                                                                                  \
	{                                                                                          \
		t, offsetof(struct options, p), 1                                                  \
	}
static const struct fuse_opt option_spec[] = {OPT("--config=%s", config),
                                              OPT("--config %s", config),
                                              OPT("--profile=%s", profile),
                                              OPT("--profile %s", profile),
                                              OPT("--log=%s", log_file),
                                              OPT("--log %s", log_file),
                                              OPT("--cache-dir=%s", cache_dir),
                                              OPT("--cache-dir %s", cache_dir),
                                              OPT("-h", show_help),
                                              OPT("--help", show_help),
                                              OPT("-V", show_version),
                                              OPT("--version", show_version),
                                              FUSE_OPT_END};

static void usage(const char *prog)
{
	printf(
	    "usage: %s [options] MOUNTPOINT\n"
	    "\n"
	    "Mount a Microsoft Graph Data Connect tenant as a directory.\n"
	    "\n"
	    "options:\n"
	    "    --config FILE          config file (default $XDG_CONFIG_HOME/mgdcfs/config.json)\n"
	    "    --profile NAME         profile in the config file (default: its default_profile)\n"
	    "    --log FILE             append the log to FILE (created 0600)\n"
	    "    --cache-dir DIR        cache directory (default from the profile, else\n"
	    "                           $XDG_CACHE_HOME/mgdcfs/PROFILE)\n"
	    "    -f                     stay in the foreground\n"
	    "    -d                     debug: foreground, FUSE and mgdcfs debug output\n"
	    "    -s                     single-threaded\n"
	    "    -o OPT[,OPT...]        FUSE mount options (allow_other, ro, ...)\n"
	    "    -h, --help             this text\n"
	    "    -V, --version          version\n"
	    "\n"
	    "Secrets are read from files named in the config (mode 0600) or from\n"
	    "AZURE_CLIENT_SECRET; never from the command line. See mgdcfs(1).\n",
	    prog);
}

static FILE *log_fp;

static void log_to_file(int level, const char *line)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char when[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (log_fp) {
		fprintf(log_fp, "%s %s: %s\n", when, names[level < 0 || level > 3 ? 3 : level],
		        line);
		fflush(log_fp);
	} else {
		fuse_log(level == LOG_ERR    ? FUSE_LOG_ERR
		         : level == LOG_WARN ? FUSE_LOG_WARNING
		         : level == LOG_INFO ? FUSE_LOG_INFO
		                             : FUSE_LOG_DEBUG,
		         "mgdcfs: %s: %s\n", names[level < 0 || level > 3 ? 3 : level], line);
	}
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		fprintf(stderr, "mgdcfs: cannot open log file %s: %s\n", path, strerror(errno));
		return -1;
	}
	log_fp = fdopen(fd, "a");
	return log_fp ? 0 : -1;
}

void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct cache_opts co = {0};
	int rc;

	cfg->entry_timeout = g_fs->cfg.ttl_metadata_s > 0 ? 1.0 : 0;
	cfg->attr_timeout = cfg->entry_timeout;
	cfg->negative_timeout = 1.0;
	cfg->use_ino = 0;
	cfg->kernel_cache = 0;
	cfg->hard_remove = 1;
	conn->max_readahead = 4u << 20;
	/* No FUSE_CAP_SPLICE_WRITE: our replies are memory buffers, which libfuse would
	 * write() into a pipe and then splice, two copies instead of writev's one. */
	conn->want &= ~FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	/* Always READDIRPLUS, not the kernel's heuristic: the kernel's entries time out
	 * after 1 s, and a plain readdir followed by one LOOKUP per name made a repeated
	 * `ls -l` of 10,000 files 10,000 round trips instead of a few hundred. */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* The page cache of a dataset file is dropped by us, when its ETag changes at open
	 * (inval_queue); the kernel's own check, on every attribute refresh, dropped all of
	 * it each time the 1 s attribute timeout had passed, so "hot" reads went to the
	 * daemon again. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;

	/* LMDB mallocs a chunk-sized page buffer for every put: keep it in an arena for
	 * reuse instead of a fresh mmap per put (a fault for every page, then a munmap with
	 * its TLB shootdown: 40% more daemon CPU on a cold read). Two arenas at most, so
	 * the 1 MiB reply buffers of many FUSE threads are reused across threads instead of
	 * being kept per thread (chunk buffers themselves are mapped, see data.c). */
	if (g_fs->cfg.chunk_size + (1u << 20) <= (32u << 20)) {
		mallopt(M_MMAP_THRESHOLD, (int)(g_fs->cfg.chunk_size + (1u << 20)));
		mallopt(M_TRIM_THRESHOLD, (int)(g_fs->cfg.chunk_size + (1u << 20)));
		mallopt(M_ARENA_MAX, 2);
	}
	co.dir = g_fs->cfg.cache_dir;
	co.budget_bytes = g_fs->cfg.cache_budget;
	co.chunk_size = g_fs->cfg.chunk_size;
	rc = cache_open(&g_fs->cache, &co);
	if (rc) {
		log_warn("cache %s could not be opened (%s); datasets are read without a cache",
		         co.dir, strerror(-rc));
		g_fs->cache = NULL;
	}
	data_start(g_fs);
	ops_start(fuse_get_context()->fuse);
	log_info("mounted: profile %s, tenant %s", g_fs->cfg.profile, g_fs->cfg.tenant_id);
	return g_fs;
}

void fs_destroy(void *private_data)
{
	(void)private_data;
	ops_stop();
	data_stop(g_fs);
	if (g_fs->cache)
		cache_close(g_fs->cache);
	g_fs->cache = NULL;
	log_info("unmounted");
}

/* Probe the credential and the TLS set-up before mounting. */
static int probe(struct mgdcfs *fs)
{
	struct net_error e = {0};
	char tok[8192];
	int rc;

	rc = auth_token(fs->auth, "https://management.azure.com/.default", tok, sizeof(tok), &e);
	memset(tok, 0, sizeof(tok));
	if (rc == 0)
		return 0;
	if (rc == -EACCES || rc == -EINVAL || rc == -EPROTO) {
		fprintf(stderr, "mgdcfs: cannot sign in to tenant %s as %s: %s\n",
		        fs->cfg.tenant_id, fs->cfg.client_id, e.msg[0] ? e.msg : strerror(-rc));
		if (rc == -EPROTO)
			fprintf(stderr, "mgdcfs: if the server uses a private CA, name its "
			                "certificate in the profile's \"ca_file\"\n");
		return rc;
	}
	log_warn("cannot reach the token endpoint (%s); mounting anyway, cached data stays "
	         "readable and the tree fills in when it is back",
	         e.msg[0] ? e.msg : strerror(-rc));
	return 0;
}

static int setup(struct mgdcfs *fs)
{
	struct http_opts ho = {0};
	struct auth_opts ao = {0};
	struct blob_opts bo = {0};
	int rc;

	ho.ca_file = fs->cfg.ca_file;
	ho.connect_timeout_ms = fs->cfg.connect_ms;
	ho.low_speed_time_s = fs->cfg.io_s;
	ho.deadline_ms = fs->cfg.deadline_ms;
	ho.dns_cache_s = fs->cfg.dns_cache_s;
	ho.max_retries = fs->cfg.retries;
	rc = http_new(&fs->http, &ho);
	if (rc == -EINVAL && fs->cfg.ca_file) {
		/* The details went to the log, which may be a file: say it here too. */
		fprintf(stderr, "mgdcfs: ca_file %s: not a readable PEM certificate bundle\n",
		        fs->cfg.ca_file);
		return rc;
	}
	if (rc) {
		fprintf(stderr, "mgdcfs: HTTP client: %s\n", strerror(-rc));
		return rc;
	}
	ao.login_url = fs->cfg.login_url;
	ao.tenant = fs->cfg.tenant_id;
	ao.client_id = fs->cfg.client_id;
	ao.secret = fs->cfg.client_secret;
	ao.cert_file = fs->cfg.cert_file;
	ao.key_file = fs->cfg.key_file;
	ao.alg = fs->cfg.assertion_rs256 ? AUTH_ALG_RS256 : AUTH_ALG_PS256;
	rc = auth_new(&fs->auth, fs->http, &ao);
	if (rc) {
		fprintf(stderr, "mgdcfs: credential of profile '%s': %s\n", fs->cfg.profile,
		        strerror(-rc));
		return rc;
	}
	rc = graph_new(&fs->graph, fs->auth, fs->cfg.graph_url);
	if (rc) {
		fprintf(stderr, "mgdcfs: Graph endpoint %s: %s\n", fs->cfg.graph_url,
		        strerror(-rc));
		return rc;
	}
	if (fs->cfg.registration_url) {
		rc = reg_new(&fs->reg, fs->auth, fs->cfg.registration_url, fs->cfg.tenant_id,
		             fs->cfg.registration_scope);
		if (rc) {
			fprintf(stderr, "mgdcfs: registration endpoint %s: %s\n",
			        fs->cfg.registration_url, strerror(-rc));
			return rc;
		}
	}
	if (fs->cfg.subscription_id && fs->cfg.resource_group && fs->cfg.factory) {
		rc = adf_new(&fs->adf, fs->auth, fs->cfg.arm_url, fs->cfg.subscription_id,
		             fs->cfg.resource_group, fs->cfg.factory);
		if (rc) {
			fprintf(stderr, "mgdcfs: data factory %s: %s\n", fs->cfg.factory,
			        strerror(-rc));
			return rc;
		}
	}
	/* The public ARM resources of MGDC and the storage roles: what apps/ shows on a
	 * tenant without the registration contract. */
	if (fs->cfg.subscription_id && fs->cfg.resource_group &&
	    (rc = billing_new(&fs->billing, fs->auth, fs->cfg.arm_url, fs->cfg.subscription_id,
	                      fs->cfg.resource_group))) {
		fprintf(stderr, "mgdcfs: ARM endpoint %s: %s\n", fs->cfg.arm_url, strerror(-rc));
		return rc;
	}
	if ((rc = rbac_new(&fs->rbac, fs->auth, fs->cfg.arm_url))) {
		fprintf(stderr, "mgdcfs: ARM endpoint %s: %s\n", fs->cfg.arm_url, strerror(-rc));
		return rc;
	}
	if (fs->cfg.storage_account && fs->cfg.blob_url) {
		bo.account = fs->cfg.storage_account;
		bo.url = fs->cfg.blob_url;
		bo.auth = fs->cfg.storage_auth == STORAGE_SHARED_KEY ? BLOB_AUTH_SHARED_KEY
		          : fs->cfg.storage_auth == STORAGE_SAS      ? BLOB_AUTH_SAS
		                                                     : BLOB_AUTH_BEARER;
		bo.key = fs->cfg.storage_key;
		bo.sas = fs->cfg.storage_sas;
		bo.auth_id = fs->auth;
		/* A folder is held in memory while listed (about 200 bytes an entry): 200,000
		 * entries bound one listing to ~40 MB and 40 pages, where the library default
		 * (1,000,000) let an endless listing from a hostile server take 200 MB. */
		bo.max_entries = 200000;
		rc = blob_client_new(&fs->blob, fs->http, &bo);
		if (rc) {
			fprintf(stderr, "mgdcfs: storage account %s: %s\n", fs->cfg.storage_account,
			        strerror(-rc));
			return rc;
		}
	}
	rc = memo_new(&fs->memo);
	if (rc)
		return rc;
	fs->catalog = catalog_builtin();
	if (!fs->catalog) {
		rc = -EIO;
		fprintf(stderr, "mgdcfs: the embedded dataset catalog is unreadable\n");
		return rc;
	}
	return probe(fs);
}

static void teardown(struct mgdcfs *fs)
{
	memo_free(fs->memo);
	if (fs->adf)
		adf_free(fs->adf);
	billing_free(fs->billing);
	rbac_free(fs->rbac);
	if (fs->reg)
		reg_free(fs->reg);
	if (fs->graph)
		graph_free(fs->graph);
	if (fs->blob)
		blob_client_free(fs->blob);
	auth_free(fs->auth);
	http_free(fs->http);
	config_release(&fs->cfg);
}

/*
 * An option name (up to '=') that asks for a secret: a client secret, a
 * password, a storage key, a SAS or its signature, a token or credential.
 * No mgdcfs or libfuse option has these words in its name; libfuse's
 * "unknown option" message would echo the value, so we refuse first.
 */
static int secret_name(const char *s, size_t n)
{
	static const char *const words[] = {"secret", "password", "passwd", "key", "token",
	                                    "sas",    "sig",      "cred",   NULL};
	char name[128];

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	for (int i = 0; words[i]; i++)
		if (strcasestr(name, words[i]))
			return 1;
	return 0;
}

/*
 * Secrets never come from the command line (other users see it in
 * /proc/PID/cmdline). Refuse an option or -o name that asks for one; paths
 * (a mount point or config file in a folder called "secrets") are not options.
 */
static int secret_on_cmdline(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *o = NULL;

		if (strcmp(a, "-o") == 0 && i + 1 < argc)
			o = argv[++i];
		else if (strncmp(a, "-o", 2) == 0)
			o = a + 2;
		else if (a[0] == '-' && secret_name(a, strcspn(a, "=")))
			return 1;
		while (o && *o) {
			size_t n = strcspn(o, ","), eq = strcspn(o, "=");

			if (secret_name(o, eq < n ? eq : n))
				return 1;
			o += n + (o[n] == ',');
		}
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	static struct mgdcfs fs;
	char err[1024];
	int rc, i;

	/*
	 * Chunk buffers (MiBs each) are malloc'd and freed by many threads. glibc raises
	 * its mmap threshold after the first such free, and from then on they come from
	 * per-thread arenas that fragment: 16 readers held 190 MB RSS in the soak test.
	 * A fixed threshold keeps them mmap'd and given back on free (57 MB).
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	if (secret_on_cmdline(argc, argv)) {
		fprintf(stderr, "mgdcfs: secrets are not accepted on the command line; name a "
		                "0600 file in the config (client_secret_file) or set "
		                "AZURE_CLIENT_SECRET\n");
		return 2;
	}
	if (fuse_opt_parse(&args, &opts, option_spec, NULL) == -1)
		return 2;
	if (opts.show_version) {
		printf("mgdcfs %s\n", MGDCFS_VERSION);
		/* libfuse runs fusermount3, which writes straight to fd 1: ours first. */
		fflush(stdout);
		fuse_lowlevel_version();
		fuse_opt_free_args(&args);
		return 0;
	}
	if (opts.show_help) {
		usage(argv[0]);
		fuse_opt_free_args(&args);
		return 0;
	}
	for (i = 1; i < args.argc; i++)
		if (strcmp(args.argv[i], "-d") == 0 || strcmp(args.argv[i], "--debug") == 0)
			opts.debug = 1;
	log_set_level(opts.debug ? LOG_DEBUG : LOG_INFO);
	if (opts.log_file && open_log(opts.log_file) < 0)
		return 1;
	log_set_sink(log_to_file);

	rc = config_load(&fs.cfg, opts.config, opts.profile, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mgdcfs: %s\n", err);
		fuse_opt_free_args(&args);
		return 1;
	}
	if (opts.cache_dir) {
		char cwd[PATH_MAX];

		/* The cache opens after libfuse has changed to /: make the path absolute. */
		free(fs.cfg.cache_dir);
		fs.cfg.cache_dir = NULL;
		if (opts.cache_dir[0] == '/')
			fs.cfg.cache_dir = strdup(opts.cache_dir);
		else if (getcwd(cwd, sizeof(cwd)) &&
		         asprintf(&fs.cfg.cache_dir, "%s/%s", cwd, opts.cache_dir) < 0)
			fs.cfg.cache_dir = NULL;
		if (!fs.cfg.cache_dir) {
			fprintf(stderr, "mgdcfs: --cache-dir %s: %s\n", opts.cache_dir,
			        strerror(errno ? errno : ENOMEM));
			config_release(&fs.cfg);
			fuse_opt_free_args(&args);
			return 1;
		}
	}
	fs.uid = getuid();
	fs.gid = getgid();
	fs.started = time(NULL);
	fs.debug = opts.debug;
	g_fs = &fs;
	if (setup(&fs)) {
		teardown(&fs);
		fuse_opt_free_args(&args);
		return 1;
	}
	fuse_opt_add_arg(&args, "-odefault_permissions");
	fuse_opt_add_arg(&args, "-ofsname=mgdcfs");
	fuse_opt_add_arg(&args, "-osubtype=mgdcfs");
	rc = fuse_main(args.argc, args.argv, fs_operations(), NULL);
	teardown(&fs);
	fuse_opt_free_args(&args);
	if (log_fp)
		fclose(log_fp);
	return rc;
}
