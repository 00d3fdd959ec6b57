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
#include "fs/cmdline.h"
#include "fs/cred.h"
#include "fs/daemon.h"
#include "fs/data_i.h"
#include "fs/fs_i.h"
#include "fs/memo.h"
#include "fs/ops.h"
#include <cjson/cJSON.h>
#include <fuse_lowlevel.h>
#include "net/auth.h"
#include "net/adf.h"
#include "net/fabric.h"
#include "net/billing.h"
#include "net/blob.h"
#include "net/graph.h"
#include "net/http.h"
#include "net/rbac.h"
#include "net/reg.h"
#include "net/http.h"

struct mgdcfs *g_fs;

/* The command line, kept for fs_init (kernel timeouts, the mount point in messages). */
static struct cmdline cl;
static char mnt_abs[PATH_MAX];

static void usage(const char *prog)
{
	printf(
	    "usage: %s [options] MOUNTPOINT\n"
	    "       %s [options] SOURCE MOUNTPOINT      (SOURCE: PROFILE[@CONFIG], as mount(8) "
	    "gives it)\n"
	    "\n"
	    "Mount a Microsoft Graph Data Connect tenant as a directory.\n"
	    "\n"
	    "options (each also as --opt=VALUE, and as -o opt=VALUE with _ for -):\n"
	    "    --config FILE          config file (default $XDG_CONFIG_HOME/mgdcfs/config.json,\n"
	    "                           else /etc/mgdcfs/config.json)\n"
	    "    --profile NAME         profile in the config file (default: its default_profile,\n"
	    "                           or its only profile)\n"
	    "    --log FILE|syslog|stderr\n"
	    "                           where the log goes (default: syslog in the background,\n"
	    "                           stderr with -f); a FILE is created 0600, reopened on "
	    "SIGHUP\n"
	    "    --log-level LEVEL      error, warn, info or debug (default: warn on a terminal,\n"
	    "                           else info; debug with -d)\n"
	    "    --cache-dir DIR        cache directory (default from the profile, else\n"
	    "                           $XDG_CACHE_HOME/mgdcfs/PROFILE, /var/cache/mgdcfs/PROFILE\n"
	    "                           for root)\n"
	    "    -f                     stay in the foreground\n"
	    "    -d                     debug: foreground, FUSE request tracing, debug log\n"
	    "    -s                     single-threaded\n"
	    "    -o OPT[,OPT...]        mount options: nonempty, fsname=, subtype=, "
	    "attr_timeout=,\n"
	    "                           entry_timeout=, allow_other, ro, ...; fstab's _netdev,\n"
	    "                           nofail, noauto, x-* are accepted and ignored\n"
	    "    -h, --help             this text\n"
	    "    -V, --version          version\n"
	    "\n"
	    "Secrets are read from files named in the config (mode 0600) or from\n"
	    "AZURE_* variables; never from the command line. Without a credential in the\n"
	    "profile, DefaultAzureCredential's sources are tried. See mgdcfs(1).\n",
	    prog, prog);
}

/* libfuse's own messages go where ours go (syslog or a file in the background). */
static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level > FUSE_LOG_INFO && log_level_cur < LOG_DEBUG)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	daemon_log_sink(level <= FUSE_LOG_ERR       ? LOG_ERR
	                : level == FUSE_LOG_WARNING ? LOG_WARN
	                : level <= FUSE_LOG_INFO    ? LOG_INFO
	                                            : LOG_DEBUG,
	                line);
}

/* SIGHUP, like a write to .mgdcfs/refresh: the chunk cache stays (it is keyed by ETag). */
static void on_reload(void)
{
	if (g_fs && g_fs->memo)
		memo_drop_prefix(g_fs->memo, "");
	data_drop_listings();
}

/* SIGUSR1: the counters of stats.json, on one log line. */
static void on_dump(void)
{
	char *s, *flat = NULL;
	cJSON *doc;
	size_t n;

	if (!g_fs)
		return;
	s = stats_render(g_fs, &n);
	doc = s ? cJSON_Parse(s) : NULL;
	if (doc)
		flat = cJSON_PrintUnformatted(doc);
	if (flat)
		log_info("SIGUSR1: counters: %s", flat);
	cJSON_Delete(doc);
	free(flat);
	free(s);
}

void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct cache_opts co = {0};
	int rc;

	cfg->entry_timeout = g_fs->cfg.ttl_metadata_s > 0 ? 1.0 : 0;
	cfg->attr_timeout = cfg->entry_timeout;
	cfg->negative_timeout = 1.0;
	/* The user's -o attr_timeout= / entry_timeout= / negative_timeout= win. */
	if (cl.attr_timeout >= 0)
		cfg->attr_timeout = cl.attr_timeout;
	if (cl.entry_timeout >= 0)
		cfg->entry_timeout = cl.entry_timeout;
	if (cl.negative_timeout >= 0)
		cfg->negative_timeout = cl.negative_timeout;
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
	/* Before any request is served: undo a pipeline command a killed daemon left
	 * half-done (its journal names what it created). */
	cmd_recover(g_fs);
	ops_start(fuse_get_context()->fuse);
	log_info("mounted: profile %s, tenant %s, at %s", g_fs->cfg.profile,
	         g_fs->cfg.tenant_id ? g_fs->cfg.tenant_id : "(from the token)", mnt_abs);
	daemon_notify("READY=1\nSTATUS=Serving profile %s at %s", g_fs->cfg.profile, mnt_abs);
	return g_fs;
}

void fs_destroy(void *private_data)
{
	(void)private_data;
	ops_release_all();
	ops_stop();
	data_stop(g_fs);
	if (g_fs->cache)
		cache_close(g_fs->cache);
	g_fs->cache = NULL;
	log_info("unmounted");
}

/* Probe a credential and the TLS set-up before mounting. */
static int probe(struct mgdcfs *fs, struct auth *a, const char *scope)
{
	struct net_error e = {0};
	char tok[8192];
	int rc;

	rc = auth_token(a, scope, tok, sizeof(tok), &e);
	memset(tok, 0, sizeof(tok));
	if (rc == 0)
		return 0;
	if (rc == -EACCES || rc == -EINVAL || rc == -EPROTO || rc == -ENXIO) {
		fprintf(stderr, "mgdcfs: cannot sign in to tenant %s with the %s%s%s%s: %s\n",
		        fs->cfg.tenant_id, auth_label(a), fs->cfg.client_id ? " (client " : "",
		        fs->cfg.client_id ? fs->cfg.client_id : "", fs->cfg.client_id ? ")" : "",
		        e.msg[0] ? e.msg : strerror(-rc));
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
	rc = cred_new(&fs->auth, fs->http, &fs->cfg, fs->cfg.credential);
	if (rc == 0 && fs->cfg.storage_credential != CRED_NONE)
		rc = cred_new(&fs->storage_auth, fs->http, &fs->cfg, fs->cfg.storage_credential);
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
	if (fs->cfg.host == HOST_FABRIC) {
		rc = fabric_new(&fs->fabric, fs->auth, fs->cfg.pipelines_url, fs->cfg.workspace);
		if (rc) {
			fprintf(stderr, "mgdcfs: Fabric workspace %s at %s: %s\n",
			        fs->cfg.workspace, fs->cfg.pipelines_url, strerror(-rc));
			return rc;
		}
	} else if (fs->cfg.host == HOST_SYNAPSE) {
		rc = adf_new_synapse(&fs->adf, fs->auth, fs->cfg.pipelines_url);
		if (rc) {
			fprintf(stderr, "mgdcfs: Synapse workspace %s at %s: %s\n",
			        fs->cfg.workspace, fs->cfg.pipelines_url, strerror(-rc));
			return rc;
		}
	} else if (fs->cfg.subscription_id && fs->cfg.resource_group && fs->cfg.factory) {
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
		bo.auth_id = fs->storage_auth ? fs->storage_auth : fs->auth;
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
	rc = probe(fs, fs->auth, "https://management.azure.com/.default");
	if (rc == 0 && fs->storage_auth)
		rc = probe(fs, fs->storage_auth, "https://storage.azure.com/.default");
	return rc;
}

static void teardown(struct mgdcfs *fs)
{
	memo_free(fs->memo);
	if (fs->adf)
		adf_free(fs->adf);
	if (fs->fabric)
		fabric_free(fs->fabric);
	billing_free(fs->billing);
	rbac_free(fs->rbac);
	if (fs->reg)
		reg_free(fs->reg);
	if (fs->graph)
		graph_free(fs->graph);
	if (fs->blob)
		blob_client_free(fs->blob);
	auth_free(fs->storage_auth);
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

/*
 * Check the libfuse options (-o ..., -d, clone_fd ...) by building a session that is
 * never mounted, so a typo is refused before the config is read or a token asked for.
 */
static int fuse_options_ok(const struct fuse_args *args)
{
	static const struct fuse_operations none;
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	int ok = 1;

	for (int i = 0; i < args->argc && ok; i++)
		ok = fuse_opt_add_arg(&copy, args->argv[i]) == 0;
	if (ok) {
		f = fuse_new(&copy, &none, sizeof(none), NULL);
		ok = f != NULL;
	}
	if (f)
		fuse_destroy(f);
	fuse_opt_free_args(&copy);
	return ok;
}

/* --cache-dir: the cache opens after libfuse has changed to /, so the path is made absolute. */
static int set_cache_dir(struct config *c, const char *dir)
{
	char cwd[PATH_MAX];

	free(c->cache_dir);
	c->cache_dir = NULL;
	if (dir[0] == '/')
		c->cache_dir = strdup(dir);
	else if (getcwd(cwd, sizeof(cwd)) && asprintf(&c->cache_dir, "%s/%s", cwd, dir) < 0)
		c->cache_dir = NULL;
	if (c->cache_dir)
		return 0;
	fprintf(stderr, "mgdcfs: --cache-dir %s: %s\n", dir, strerror(errno ? errno : ENOMEM));
	return -1;
}

/* The session whose end http's cancel hook watches (set before the loop runs). */
static struct fuse_session *stop_session;

/*
 * http's cancel hook: the mount is going away, by SIGTERM/SIGINT or because the
 * kernel ended the session at unmount. A transfer in flight then ends at once
 * instead of holding the loop (and the unmount) until its deadline. Any thread.
 */
static int mount_going_away(void)
{
	struct fuse_session *se = __atomic_load_n(&stop_session, __ATOMIC_ACQUIRE);

	return daemon_stop_signal() || (se && fuse_session_exited(se));
}

/* The FUSE loop, as fuse_main runs it, with the options of the command line. */
static int run_loop(struct fuse *f)
{
	struct fuse_loop_config *lc;
	int rc;

	if (cl.singlethread)
		return fuse_loop(f);
	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(lc, cl.clone_fd);
	/* libfuse's own "not given" values are left to its defaults. */
	if (cl.max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(lc, cl.max_idle_threads);
	if (cl.max_threads > 0 && cl.max_threads <= 100000)
		fuse_loop_cfg_set_max_threads(lc, cl.max_threads);
	rc = fuse_loop_mt(f, lc);
	fuse_loop_cfg_destroy(lc);
	return rc;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	static struct mgdcfs fs;
	struct fuse *fuse = NULL;
	char err[1024], note[512], opt[300];
	int rc, level, ret = EXIT_CONFIG, set_up = 0, mounted = 0;

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
		return EXIT_USAGE;
	}
	rc = cmdline_parse(argc, argv, &cl, &args, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mgdcfs: %s\n", rc < 0 ? strerror(-rc) : err);
		ret = rc < 0 ? EXIT_CONFIG : EXIT_USAGE;
		goto out;
	}
	if (cl.show_version) {
		printf("mgdcfs %s\n", MGDCFS_VERSION);
		/* libfuse runs fusermount3, which writes straight to fd 1: ours first. */
		fflush(stdout);
		fuse_lowlevel_version();
		ret = EXIT_OK;
		goto out;
	}
	if (cl.show_help) {
		usage(argv[0]);
		ret = EXIT_OK;
		goto out;
	}
	/* Everything on the command line is checked before any file or network is read. */
	ret = EXIT_USAGE;
	if (!fuse_options_ok(&args)) {
		fprintf(stderr, "mgdcfs: unknown or malformed option (above); see mgdcfs --help\n");
		goto out;
	}
	if (cmdline_check_mountpoint(cl.mountpoint, cl.nonempty, err, sizeof(err))) {
		fprintf(stderr, "mgdcfs: %s\n", err);
		goto out;
	}
	if (!realpath(cl.mountpoint, mnt_abs))
		snprintf(mnt_abs, sizeof(mnt_abs), "%s", cl.mountpoint);

	ret = EXIT_CONFIG;
	rc = config_load(&fs.cfg, cl.config, cl.profile, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mgdcfs: %s\n", err);
		goto out;
	}
	set_up = 1;
	if (cl.cache_dir && set_cache_dir(&fs.cfg, cl.cache_dir))
		goto out;
	if (!fs.cfg.cache_dir) {
		fprintf(stderr, "mgdcfs: no cache directory: there is no HOME and no "
		                "XDG_CACHE_HOME; set \"cache\": {\"dir\": ...} in the profile, "
		                "or give --cache-dir DIR\n");
		goto out;
	}
	if (daemon_log_open(cl.log, !cl.foreground, fs.cfg.profile, err, sizeof(err), note,
	                    sizeof(note))) {
		fprintf(stderr, "mgdcfs: %s\n", err);
		goto out;
	}
	if (note[0])
		fprintf(stderr, "mgdcfs: %s\n", note);
	/* Quiet on success: a terminal gets warnings and errors only, unless asked. */
	level = cl.log_level >= 0          ? cl.log_level
	        : cl.debug                 ? LOG_DEBUG
	        : daemon_log_is_terminal() ? LOG_WARN
	                                   : LOG_INFO;
	log_set_level(level);
	log_set_sink(daemon_log_sink);
	fuse_set_log_func(fuse_log_to_ours);

	fs.uid = getuid();
	fs.gid = getgid();
	fs.started = time(NULL);
	fs.debug = cl.debug;
	g_fs = &fs;
	fuse_opt_add_arg(&args, "-odefault_permissions");
	/* fsname tells mounts of two profiles apart in mount(8) and df; the user's wins. */
	if (!cl.has_fsname) {
		snprintf(opt, sizeof(opt), "-ofsname=mgdcfs:%s", fs.cfg.profile);
		fuse_opt_add_arg(&args, opt);
	}
	if (!cl.has_subtype)
		fuse_opt_add_arg(&args, "-osubtype=mgdcfs");
	daemon_notify("STATUS=Signing in (profile %s)", fs.cfg.profile);
	if (setup(&fs))
		goto out;
	fuse = fuse_new(&args, fs_operations(), sizeof(struct fuse_operations), NULL);
	if (!fuse) {
		ret = EXIT_USAGE;
		goto out;
	}
	ret = EXIT_MOUNT;
	/* Absolute: libfuse changes to / (also in the foreground), and unmounts by this path. */
	if (fuse_mount(fuse, mnt_abs) != 0)
		goto out;
	mounted = 1;
	if (fuse_daemonize(cl.foreground) != 0)
		goto out;
	if ((rc = daemon_signals_start(fuse_get_session(fuse), on_reload, on_dump))) {
		log_err("signal handlers: %s", strerror(-rc));
		goto out;
	}
	__atomic_store_n(&stop_session, fuse_get_session(fuse), __ATOMIC_RELEASE);
	http_set_cancel(mount_going_away);
	rc = run_loop(fuse);
	daemon_notify("STOPPING=1\nSTATUS=Unmounting");
	daemon_signals_stop();
	/* A stop asked for by SIGTERM or SIGINT is a clean stop, as an unmount is. */
	ret = daemon_stop_signal() || rc == 0 ? EXIT_OK : EXIT_SESSION;
	if (ret)
		log_err("the FUSE session ended with an error (%d)", rc);
out:
	if (mounted)
		fuse_unmount(fuse);
	if (fuse)
		fuse_destroy(fuse);
	if (set_up)
		teardown(&fs);
	fuse_opt_free_args(&args);
	cmdline_release(&cl);
	daemon_log_close();
	return ret;
}
