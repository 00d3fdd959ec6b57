/*
 * test_cmdline.c - fs/cmdline (both spellings of every option, the -o names,
 * what fstab adds, the mount(8) SOURCE, the refusals) and the mount-point
 * checks on real directories; fs/daemon's syslog line. The expectations are
 * mgdcfs(1): OPTIONS, EXIT STATUS, FSTAB AND SYSTEMD.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/cmdline.h"
#include "fs/daemon.h"
#include "tap.h"

static char err[1024];

static int parse(struct cmdline *cl, struct fuse_args *args, const char *const *argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return cmdline_parse(argc, (char **)(uintptr_t)argv, cl, args, err, sizeof(err));
}

/* The libfuse arguments joined with spaces (argv[0] left out). */
static void joined(const struct fuse_args *a, char *out, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 1; i < a->argc && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%s", i > 1 ? " " : "", a->argv[i]);
}

static void test_spellings(void)
{
	const char *eq[] = {"mgdcfs",          "--config=/c.json",  "--profile=dev", "--log=/l",
	                    "--cache-dir=/cd", "--log-level=debug", "/mnt",          NULL};
	const char *sp[] = {"mgdcfs", "--config", "/c.json",     "--profile", "dev",
	                    "--log",  "/l",       "--cache-dir", "/cd",       "--log-level",
	                    "debug",  "/mnt",     NULL};
	const char *const *forms[] = {eq, sp};

	for (int i = 0; i < 2; i++) {
		struct fuse_args a;
		struct cmdline cl;
		int rc = parse(&cl, &a, forms[i]);
		const char *what = i ? "--opt VALUE" : "--opt=VALUE";

		TAP_EQ_INT(rc, 0, "%s parses", what);
		TAP_EQ_STR(cl.config, "/c.json", "%s: config (not '=/c.json')", what);
		TAP_EQ_STR(cl.profile, "dev", "%s: profile", what);
		TAP_EQ_STR(cl.log, "/l", "%s: log", what);
		TAP_EQ_STR(cl.cache_dir, "/cd", "%s: cache dir", what);
		TAP_EQ_INT(cl.log_level, LOG_DEBUG, "%s: log level", what);
		TAP_EQ_STR(cl.mountpoint, "/mnt", "%s: mount point", what);
		cmdline_release(&cl);
		fuse_opt_free_args(&a);
	}
}

static void test_o_names(void)
{
	const char *argv[] = {"mgdcfs",
	                      "-o",
	                      "config=/c.json,profile=dev,log=syslog,log_level=warn,cache_dir=/cd,"
	                      "_netdev,nofail,noauto,x-systemd.automount,comment=x,nonempty,"
	                      "attr_timeout=60,entry_timeout=2.5,allow_other,fsname=mine",
	                      "-f",
	                      "/mnt",
	                      NULL};
	struct fuse_args a;
	struct cmdline cl;
	char j[512];
	int rc = parse(&cl, &a, argv);

	TAP_EQ_INT(rc, 0, "-o with mgdcfs's names, fstab's words and libfuse's options parses");
	TAP_EQ_STR(cl.config, "/c.json", "-o config=");
	TAP_EQ_STR(cl.profile, "dev", "-o profile=");
	TAP_EQ_STR(cl.log, "syslog", "-o log=");
	TAP_EQ_INT(cl.log_level, LOG_WARN, "-o log_level=");
	TAP_EQ_STR(cl.cache_dir, "/cd", "-o cache_dir=");
	TAP_EQ_INT(cl.nonempty, 1, "-o nonempty is mgdcfs's");
	TAP_OK(cl.attr_timeout == 60 && cl.entry_timeout == 2.5 && cl.negative_timeout < 0,
	       "-o attr_timeout= / entry_timeout= are kept for the kernel config");
	TAP_EQ_INT(cl.has_fsname, 1, "the user's fsname= is seen");
	TAP_EQ_INT(cl.has_subtype, 0, "no subtype= given");
	TAP_EQ_INT(cl.foreground, 1, "-f");
	joined(&a, j, sizeof(j));
	TAP_OK(strstr(j, "allow_other,fsname=mine") && !strstr(j, "_netdev") &&
	           !strstr(j, "config=") && !strstr(j, "nonempty") && !strstr(j, "x-systemd") &&
	           !strstr(j, "attr_timeout"),
	       "only libfuse's options reach libfuse: %s", j);
	cmdline_release(&cl);
	fuse_opt_free_args(&a);
}

static void test_source(void)
{
	static const struct {
		const char *src, *extra, *profile, *config;
	} cases[] = {
	    {"dev@/etc/x.json", NULL, "dev", "/etc/x.json"},
	    {"mgdcfs:dev", NULL, "dev", NULL},
	    {"mgdcfs", NULL, NULL, NULL},
	    {"dev", NULL, "dev", NULL},
	    {"dev@/etc/x.json", "--profile=other", "other", "/etc/x.json"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[5] = {"mgdcfs", cases[i].src, "/mnt", NULL, NULL};
		struct fuse_args a;
		struct cmdline cl;
		int rc;

		if (cases[i].extra) {
			argv[3] = argv[2];
			argv[2] = argv[1];
			argv[1] = cases[i].extra;
		}
		rc = parse(&cl, &a, argv);
		TAP_EQ_INT(rc, 0, "SOURCE %s%s%s parses", cases[i].src,
		           cases[i].extra ? " with " : "", cases[i].extra ? cases[i].extra : "");
		TAP_OK(cases[i].profile ? cl.profile && !strcmp(cl.profile, cases[i].profile)
		                        : !cl.profile,
		       "  profile %s", cl.profile ? cl.profile : "(none)");
		TAP_OK(cases[i].config ? cl.config && !strcmp(cl.config, cases[i].config)
		                       : !cl.config,
		       "  config %s", cl.config ? cl.config : "(none)");
		TAP_EQ_STR(cl.mountpoint, "/mnt", "  the mount point is the last argument");
		cmdline_release(&cl);
		fuse_opt_free_args(&a);
	}
}

static void test_refusals(void)
{
	static const struct {
		const char *argv[6];
		const char *needle;
	} cases[] = {
	    {{"mgdcfs", "--config", NULL}, "--config needs a value"},
	    {{"mgdcfs", "--profile=", "/m", NULL}, "--profile needs a value"},
	    {{"mgdcfs", "--log-level", "loud", "/m", NULL}, "use error, warn, info or debug"},
	    {{"mgdcfs", "-o", "log_level=chatty", "/m", NULL}, "use error, warn, info or debug"},
	    {{"mgdcfs", "-o", "config", "/m", NULL}, "-o config needs a value"},
	    {{"mgdcfs", "-o", "entry_timeout=-1", "/m", NULL}, "expected seconds"},
	    {{"mgdcfs", "a", "b", "/m", NULL}, "too many arguments"},
	    {{"mgdcfs", "-o", NULL}, "-o needs a list"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fuse_args a;
		struct cmdline cl;
		int rc = parse(&cl, &a, cases[i].argv);

		TAP_EQ_INT(rc, EXIT_USAGE, "refused with exit status 2: %s", cases[i].needle);
		TAP_OK(strstr(err, cases[i].needle) != NULL, "  message: %s", err);
		cmdline_release(&cl);
		fuse_opt_free_args(&a);
	}
}

static void test_mountpoint(void)
{
	char dir[] = "/tmp/mgdcfs-test-cmdline.XXXXXX", p[256], f[300];

	if (!mkdtemp(dir)) {
		TAP_OK(0, "mkdtemp");
		return;
	}
	TAP_EQ_INT(cmdline_check_mountpoint(dir, 0, err, sizeof(err)), 0, "an empty directory");
	snprintf(p, sizeof(p), "%s/missing", dir);
	TAP_EQ_INT(cmdline_check_mountpoint(p, 0, err, sizeof(err)), EXIT_USAGE,
	           "a missing directory");
	TAP_OK(strstr(err, "does not exist; create it: mkdir -p") != NULL, "  %s", err);
	snprintf(f, sizeof(f), "%s/file", dir);
	fclose(fopen(f, "w"));
	TAP_EQ_INT(cmdline_check_mountpoint(f, 0, err, sizeof(err)), EXIT_USAGE, "a regular file");
	TAP_OK(strstr(err, "is not a directory") != NULL, "  %s", err);
	TAP_EQ_INT(cmdline_check_mountpoint(dir, 0, err, sizeof(err)), EXIT_USAGE,
	           "a directory that is not empty");
	TAP_OK(strstr(err, "holds 'file'") && strstr(err, "-o nonempty"), "  %s", err);
	TAP_EQ_INT(cmdline_check_mountpoint(dir, 1, err, sizeof(err)), 0, "the same with nonempty");
	TAP_EQ_INT(cmdline_check_mountpoint("/proc", 1, err, sizeof(err)), EXIT_USAGE,
	           "a directory that is already a mount point (/proc)");
	TAP_OK(strstr(err, "already a mount point (proc, type proc)") != NULL, "  %s", err);
	TAP_EQ_INT(cmdline_check_mountpoint(NULL, 0, err, sizeof(err)), EXIT_USAGE, "none at all");
	unlink(f);
	rmdir(dir);
}

static void test_syslog_line(void)
{
	char buf[512];
	size_t n;

	n = daemon_syslog_line(buf, sizeof(buf), LOG_WARN, "contoso", "cannot reach", 0, 4242);
	TAP_OK(n == strlen(buf), "the length is returned");
	TAP_OK(strncmp(buf, "<28>", 4) == 0, "warning: facility daemon (3), severity 4: %s", buf);
	TAP_OK(strstr(buf, " mgdcfs[4242]: [contoso] warning: cannot reach") != NULL,
	       "ident mgdcfs[PID], the profile, the level, the line");
	daemon_syslog_line(buf, sizeof(buf), LOG_ERR, "p", "x", 0, 1);
	TAP_OK(strncmp(buf, "<27>", 4) == 0, "error is severity 3");
	daemon_syslog_line(buf, sizeof(buf), LOG_INFO, "p", "x", 0, 1);
	TAP_OK(strncmp(buf, "<30>", 4) == 0, "info is severity 6");
	daemon_syslog_line(buf, sizeof(buf), LOG_DEBUG, "p", "x", 0, 1);
	TAP_OK(strncmp(buf, "<31>", 4) == 0, "debug is severity 7");
	TAP_EQ_INT(cmdline_log_level("warning"), LOG_WARN, "'warning' is accepted for warn");
}

int main(void)
{
	test_spellings();
	test_o_names();
	test_source();
	test_refusals();
	test_mountpoint();
	test_syslog_line();
	return tap_done();
}
