/*
 * test_http_netns.c - net/http against name lookups and routes it does not
 * control: a host name that does not resolve and then does, and a network
 * with no route to an address.
 *
 * The test moves itself into a private mount and network namespace (root
 * only; anything else skips with the reason): only loopback is up, and a
 * hosts file of the test's own is bound over /etc/hosts (and a resolv.conf
 * naming a resolver on loopback where nothing listens, so a name missing
 * from the file fails at once). The machine's own files and network are not
 * touched. A TLS server from tests/unit/http_server.py answers on loopback
 * with a certificate for the test's name.
 *
 * The first case is the handle-pool bug of issue 15: after a transfer failed
 * at the resolve step, libcurl 7.88 refuses CURLOPT_BUFFERSIZE on the reset
 * handle, and a client that pooled the handle again answered "A libcurl
 * function was given a bad argument" for that origin forever.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "net/http.h"
#include "tap.h"
#include "testsrv.h"

#define NAME "origin.mgdc.test"

static char dir[] = "/tmp/mgdcfs-netns-XXXXXX";
static char hosts[256];

/* A private mount and network namespace with loopback up. Returns 0, or -1 with why in `why`. */
static int enter_namespaces(char *why, size_t n)
{
	struct ifreq ifr = {0};
	int fd, rc = -1;

	if (geteuid() != 0) {
		snprintf(why, n, "needs root for a private mount and network namespace");
		return -1;
	}
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0) {
		snprintf(why, n, "unshare: %s", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(why, n, "making / private: %s", strerror(errno));
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0)
		snprintf(why, n, "bringing up lo: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int write_file(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);
	int rc;

	if (!f)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) == 0 ? rc : -1;
}

/* Bind a file of the test's over `target`, private to this mount namespace. */
static int bind_over(const char *name, const char *text, const char *target, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dir, name);
	if (write_file(out, text, "w") < 0)
		return -1;
	return mount(out, target, NULL, MS_BIND, NULL);
}

static int get(struct http *h, const char *url, struct http_resp *r)
{
	struct http_req q = {.url = url, .idempotent = 1};

	return http_do(h, &q, r);
}

static void test_resolve_then_success(struct http *h, int port)
{
	struct http_resp r;
	char url[128];
	int rc;

	snprintf(url, sizeof(url), "https://" NAME ":%d/status/200", port);
	rc = get(h, url, &r);
	TAP_EQ_INT(rc, -EHOSTUNREACH, "a name that does not resolve -> -EHOSTUNREACH");
	TAP_OK(strstr(r.error, "resolve") != NULL, "error text says so: '%s'", r.error);
	TAP_OK(r.attempts > 1, "the lookup was retried (%d attempts)", r.attempts);
	http_resp_release(&r);
	rc = get(h, url, &r);
	TAP_EQ_INT(rc, -EHOSTUNREACH, "still not resolving: the same error, not another");
	http_resp_release(&r);

	TAP_EQ_INT(write_file(hosts, "127.0.0.1 " NAME "\n", "a"), 0, "the name now resolves");
	rc = get(h, url, &r);
	TAP_OK(rc == 0 && r.status == 200,
	       "the same origin answers once its name resolves (rc %d: %s)", rc, r.error);
	TAP_EQ_STR(r.body, "status 200", "with its body");
	http_resp_release(&r);
	/* Every handle a failure touched is gone: several in a row, and concurrent ones,
	 * all work. */
	for (int i = 0; i < 5; i++) {
		rc = get(h, url, &r);
		if (rc != 0 || r.status != 200)
			break;
		http_resp_release(&r);
	}
	TAP_OK(rc == 0 && r.status == 200, "five more requests to it succeed (rc %d: %s)", rc,
	       r.error);
	http_resp_release(&r);
}

static void test_no_route(struct http *h, int port)
{
	struct http_resp r;
	char url[128];
	int rc;

	/* Only loopback is up in this namespace: there is no route to 10.0.0.0/8. */
	snprintf(url, sizeof(url), "https://10.77.0.1:%d/status/200", port);
	rc = get(h, url, &r);
	TAP_EQ_INT(rc, -ENETUNREACH, "no route to the address -> -ENETUNREACH");
	TAP_OK(r.attempts > 1, "a connection that never left is retried (%d attempts)", r.attempts);
	http_resp_release(&r);
	{
		struct http_req q = {.method = "POST", .url = url, .body = "x", .body_len = 1};

		rc = http_do(h, &q, &r);
		TAP_OK(rc == -ENETUNREACH && r.attempts > 1,
		       "also for a POST: no route means the server never saw it (rc %d, %d "
		       "attempts)",
		       rc, r.attempts);
		http_resp_release(&r);
	}
	snprintf(url, sizeof(url), "https://" NAME ":%d/status/200", port);
	rc = get(h, url, &r);
	TAP_OK(rc == 0 && r.status == 200, "the named origin is unaffected (rc %d)", rc);
	http_resp_release(&r);
}

int main(int argc, char **argv)
{
	char why[256], cmd[4096], cert[512], key[512], ca[512], resolv[512];
	struct testsrv srv = {.pid = -1};
	struct http_opts o = {.max_retries = 2, .backoff_base_ms = 20, .deadline_ms = 5000};
	struct http *h = NULL;

	(void)argc;
	if (enter_namespaces(why, sizeof(why)) < 0) {
		printf("ok 1 # SKIP %s\n", why);
		tap_n = 1;
		return tap_done();
	}
	if (!mkdtemp(dir) || testsrv_locate(argv[0]) < 0) {
		TAP_OK(0, "temp dir and test server script");
		return tap_done();
	}
	TAP_EQ_INT(bind_over("hosts", "127.0.0.1 localhost\n", "/etc/hosts", hosts, sizeof(hosts)),
	           0, "a hosts file of the test's own over /etc/hosts (private mount)");
	TAP_EQ_INT(bind_over("resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
	                     "/etc/resolv.conf", resolv, sizeof(resolv)),
	           0, "a resolver on loopback where nothing listens");
	snprintf(cmd, sizeof(cmd),
	         "cd %s && "
	         "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
	         "-subj /CN=mgdcfs-netns-test-ca && "
	         "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
	         "-subj /CN=" NAME " && "
	         "printf 'subjectAltName=DNS:" NAME ",IP:10.77.0.1\\n' > ext.cnf && "
	         "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	         "-out srv.pem -days 2 -extfile ext.cnf",
	         dir);
	TAP_EQ_INT(testsrv_sh(cmd), 0, "openssl CLI made a CA and a certificate for " NAME);
	snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
	snprintf(key, sizeof(key), "%s/srv.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	if (testsrv_start(&srv, cert, key) < 0) {
		TAP_OK(0, "TLS test server started in the namespace");
		goto out;
	}
	o.ca_file = ca;
	TAP_EQ_INT(http_new(&h, &o), 0, "client with the test CA");
	if (!h)
		goto out;
	test_resolve_then_success(h, srv.port);
	test_no_route(h, srv.port);
out:
	http_free(h);
	testsrv_stop(&srv);
	umount("/etc/hosts");
	umount("/etc/resolv.conf");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	testsrv_sh(cmd);
	curl_global_cleanup();
	return tap_done();
}
