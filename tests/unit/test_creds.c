/*
 * test_creds.c - net/msi, net/azcli and the credential chain of net/auth:
 * the public reply shapes of IMDS, App Service and `az account
 * get-access-token`; the CLI run for real (stand-in scripts written here:
 * one that answers, one not signed in, one that fails, one that hangs and
 * must be stopped with its children); DefaultAzureCredential's rules (an
 * unavailable source passes, a refusing one stops, the error names all in
 * order); and the x5c header of a certificate assertion, checked with
 * openssl against the certificates it was built from.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "net/auth.h"
#include "net/azcli.h"
#include "net/http.h"
#include "net/msi.h"
#include "tap.h"

static char dir[] = "/tmp/mgdcfs-test-creds.XXXXXX";

static void write_script(const char *name, const char *body)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(2);
	}
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	chmod(p, 0755);
}

static void test_msi_parse(void)
{
	const char *imds = "{\"access_token\":\"eyJ0.abc.def\",\"client_id\":\"c\",\"expires_in\":"
	                   "\"86399\",\"expires_on\":\"1700086399\",\"resource\":\"https://"
	                   "management.azure.com/\",\"token_type\":\"Bearer\"}";
	const char *app =
	    "{\"access_token\":\"tok\",\"expires_on\":\"1700003600\",\"resource\":\"r\","
	    "\"token_type\":\"Bearer\"}";
	struct net_error e;
	char *tok = NULL;
	long life = 0;
	int rc;

	rc = msi_parse_reply(imds, strlen(imds), 1700000000, &tok, &life, &e);
	TAP_EQ_INT(rc, 0, "IMDS reply parses");
	TAP_EQ_STR(tok, "eyJ0.abc.def", "IMDS access_token");
	TAP_EQ_INT(life, 86399, "IMDS expires_in is a string of seconds");
	free(tok);
	rc = msi_parse_reply(app, strlen(app), 1700000000, &tok, &life, &e);
	TAP_EQ_INT(rc, 0, "App Service reply parses");
	TAP_EQ_INT(life, 3600, "App Service expires_on (epoch seconds) read against now");
	free(tok);
	rc = msi_parse_reply("{\"expires_in\":\"10\"}", 19, 0, &tok, &life, &e);
	TAP_EQ_INT(rc, -EIO, "a reply without access_token is -EIO");
	TAP_OK(strstr(e.msg, "access_token") != NULL, "and says so: %s", e.msg);
	rc = msi_parse_reply("{\"access_token\":\"a b\",\"expires_in\":\"10\"}", 40, 0, &tok, &life,
	                     &e);
	TAP_EQ_INT(rc, -EIO, "a token that cannot go into a header is refused");
	rc = msi_parse_reply("{\"access_token\":\"ab\",\"expires_on\":\"5\"}", 37, 100, &tok, &life,
	                     &e);
	TAP_EQ_INT(rc, -EIO, "an expires_on in the past is refused");
}

static void test_azcli_parse(void)
{
	const char *out = "{\"accessToken\":\"tokA\",\"expiresOn\":\"2023-01-01 00:00:00.000000\","
	                  "\"expires_on\":1700001000,\"subscription\":\"s\",\"tenant\":\"t\","
	                  "\"tokenType\":\"Bearer\"}";
	char old[200], *tok = NULL;
	struct net_error e;
	struct tm tm = {0};
	long life = 0, exp;
	int rc;

	rc = azcli_parse_output(out, strlen(out), 1700000000, &tok, &life, &e);
	TAP_EQ_INT(rc, 0, "az output parses");
	TAP_EQ_STR(tok, "tokA", "accessToken");
	TAP_EQ_INT(life, 1000, "expires_on (epoch) wins over expiresOn");
	free(tok);
	/* Older CLIs: only expiresOn, local time. */
	tm.tm_year = 2030 - 1900;
	tm.tm_mon = 0;
	tm.tm_mday = 2;
	tm.tm_hour = 3;
	tm.tm_isdst = -1;
	exp = (long)mktime(&tm);
	snprintf(old, sizeof(old),
	         "{\"accessToken\":\"tokB\",\"expiresOn\":\"2030-01-02 03:00:00.123\"}");
	rc = azcli_parse_output(old, strlen(old), exp - 600, &tok, &life, &e);
	TAP_EQ_INT(rc, 0, "older output with expiresOn only parses");
	TAP_EQ_INT(life, 600, "expiresOn is local time");
	free(tok);
	rc = azcli_parse_output("[]", 2, 0, &tok, &life, &e);
	TAP_EQ_INT(rc, -EIO, "output that is not the CLI's JSON is -EIO");
}

static void test_azcli_run(void)
{
	struct azcli_opts o = {.timeout_ms = 5000};
	struct net_error e;
	char path[512], args[512], child[64] = "";
	char *tok = NULL;
	long life = 0;
	FILE *f;
	int rc;

	write_script("az-ok",
	             "printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n"
	             "echo '{\"accessToken\":\"from-cli\",\"expires_on\":'$(( $(date +%s) + "
	             "3000 ))',\"tokenType\":\"Bearer\"}'\n");
	snprintf(path, sizeof(path), "%s/az-ok", dir);
	o.az = path;
	o.tenant = "contoso.onmicrosoft.com";
	rc = azcli_token(&o, "https://management.azure.com/.default", &tok, &life, &e);
	TAP_EQ_INT(rc, 0, "a CLI that answers gives a token");
	TAP_EQ_STR(tok, "from-cli", "the CLI's accessToken");
	TAP_OK(life > 2900 && life <= 3000, "its lifetime (%ld)", life);
	free(tok);
	snprintf(path, sizeof(path), "%s/args", dir);
	f = fopen(path, "r");
	args[0] = '\0';
	if (f) {
		size_t n = fread(args, 1, sizeof(args) - 1, f);

		args[n] = '\0';
		fclose(f);
	}
	TAP_EQ_STR(args,
	           "account\nget-access-token\n--output\njson\n--resource\nhttps://"
	           "management.azure.com\n--tenant\ncontoso.onmicrosoft.com\n",
	           "argv: account get-access-token --output json --resource R --tenant T "
	           "(/.default cut off, no shell)");

	write_script("az-nologin",
	             "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n");
	snprintf(path, sizeof(path), "%s/az-nologin", dir);
	o.az = path;
	rc = azcli_token(&o, "https://graph.microsoft.com/.default", &tok, &life, &e);
	TAP_EQ_INT(rc, -ENXIO, "not signed in: -ENXIO (the chain goes on)");
	TAP_OK(strstr(e.msg, "run 'az login'") != NULL, "and says to run az login: %s", e.msg);

	write_script("az-fail", "echo 'ERROR: AADSTS70043: The refresh token has expired.' >&2\n"
	                        "exit 1\n");
	snprintf(path, sizeof(path), "%s/az-fail", dir);
	o.az = path;
	rc = azcli_token(&o, "https://graph.microsoft.com/.default", &tok, &life, &e);
	TAP_EQ_INT(rc, -EACCES, "a CLI that refuses: -EACCES");
	TAP_OK(strstr(e.msg, "AADSTS70043") != NULL, "with its first error line: %s", e.msg);

	snprintf(path, sizeof(path), "%s/no-such-az", dir);
	o.az = path;
	rc = azcli_token(&o, "https://graph.microsoft.com/.default", &tok, &life, &e);
	TAP_EQ_INT(rc, -ENXIO, "a CLI that is not installed: -ENXIO");

	write_script("az-hang", "sleep 60 &\necho $! > \"$(dirname \"$0\")/child\"\nsleep 60\n");
	snprintf(path, sizeof(path), "%s/az-hang", dir);
	o.az = path;
	o.timeout_ms = 300;
	rc = azcli_token(&o, "https://graph.microsoft.com/.default", &tok, &life, &e);
	TAP_EQ_INT(rc, -ENXIO, "a CLI that hangs is stopped at the timeout: -ENXIO");
	TAP_OK(strstr(e.msg, "did not finish") != NULL, "and says so: %s", e.msg);
	snprintf(path, sizeof(path), "%s/child", dir);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(child, sizeof(child), f))
			child[0] = '\0';
		child[strcspn(child, "\n")] = '\0';
		fclose(f);
	}
	/* The group was killed with SIGKILL; the child is gone once init reaps it. */
	for (int i = 0; i < 100 && child[0] && kill(atoi(child), 0) == 0; i++)
		usleep(20000);
	TAP_OK(child[0] && kill(atoi(child), 0) != 0, "its own child was stopped too (pid %s)",
	       child);
}

static void test_chain(struct http *h)
{
	char ok[512], bad[512], tok[256];
	struct auth_opts m[3], o;
	struct net_error e;
	struct auth *a = NULL;
	int rc;

	snprintf(ok, sizeof(ok), "%s/az-ok", dir);
	snprintf(bad, sizeof(bad), "%s/az-fail", dir);
	memset(m, 0, sizeof(m));
	m[0].kind = AUTH_APP;
	m[0].label = "environment";
	m[0].unavailable = "AZURE_CLIENT_SECRET is not set";
	m[1].kind = AUTH_AZCLI;
	m[1].label = "first CLI";
	m[1].azcli.az = "/nonexistent/az";
	m[2].kind = AUTH_AZCLI;
	m[2].label = "second CLI";
	m[2].azcli.az = ok;
	memset(&o, 0, sizeof(o));
	o.kind = AUTH_CHAIN;
	o.members = m;
	o.nmembers = 3;
	TAP_EQ_INT(auth_new(&a, h, &o), 0, "a chain of three");
	rc = auth_token(a, "https://graph.microsoft.com/.default", tok, sizeof(tok), &e);
	TAP_EQ_INT(rc, 0, "unavailable members pass to the next, which gives the token");
	TAP_EQ_STR(tok, "from-cli", "the token of the member that answered");
	TAP_EQ_STR(auth_label(a), "second CLI", "the chain keeps that member");
	auth_free(a);

	/* A member that answers with an error stops the chain. */
	m[1].azcli.az = bad;
	TAP_EQ_INT(auth_new(&a, h, &o), 0, "a chain whose second member refuses");
	rc = auth_token(a, "https://graph.microsoft.com/.default", tok, sizeof(tok), &e);
	TAP_EQ_INT(rc, -EACCES, "a refusing member stops the chain");
	TAP_OK(strstr(e.msg, "environment: AZURE_CLIENT_SECRET is not set; first CLI:") != NULL &&
	           strstr(e.msg, "second CLI") == NULL,
	       "the error lists what was tried, not what was not: %s", e.msg);
	auth_free(a);

	/* Nothing works: every member, in order, with why. */
	m[1].azcli.az = "/nonexistent/az1";
	m[2].azcli.az = "/nonexistent/az2";
	TAP_EQ_INT(auth_new(&a, h, &o), 0, "a chain where nothing works");
	rc = auth_token(a, "https://graph.microsoft.com/.default", tok, sizeof(tok), &e);
	TAP_EQ_INT(rc, -EACCES, "nothing works: -EACCES");
	TAP_OK(strstr(e.msg, "no credential worked") != NULL &&
	           strstr(e.msg, "environment:") < strstr(e.msg, "first CLI:") &&
	           strstr(e.msg, "first CLI:") < strstr(e.msg, "second CLI:"),
	       "every member in order: %s", e.msg);
	auth_free(a);
}

/* The x5c header: base64 DER of the certificate, then the chain, in file order. */
static void test_x5c(struct http *h)
{
	char cmd[2048], cp[512], *jwt, *dot1, *dot2, hdr[4096];
	unsigned char raw[4096];
	struct auth_opts o = {.login_url = "https://login.example",
	                      .tenant = "contoso.onmicrosoft.com",
	                      .client_id = "11111111-2222-4333-8444-555555555555",
	                      .send_chain = 1};
	struct auth *a = NULL;
	cJSON *j, *x5c;
	int rc, n;

	snprintf(
	    cmd, sizeof(cmd),
	    "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.pem "
	    "-days 1 -subj /CN=leaf >/dev/null 2>&1 && openssl req -x509 -newkey rsa:2048 "
	    "-nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=ca >/dev/null 2>&1 && "
	    "cat leaf.pem ca.pem leaf.key > chain.pem && "
	    "openssl x509 -in leaf.pem -outform DER | base64 -w0 > leaf.b64 && "
	    "openssl x509 -in ca.pem -outform DER | base64 -w0 > ca.b64",
	    dir);
	if (system(cmd) != 0) {
		TAP_OK(0, "openssl made the test certificates");
		return;
	}
	snprintf(cp, sizeof(cp), "%s/chain.pem", dir);
	o.cert_file = cp;
	rc = auth_new(&a, h, &o);
	TAP_EQ_INT(rc, 0, "a certificate file with its chain");
	if (rc)
		return;
	jwt = auth_build_assertion(a, "https://login.example/t/oauth2/v2.0/token", 600, &rc);
	dot1 = jwt ? strchr(jwt, '.') : NULL;
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	hdr[0] = '\0';
	if (dot1 && dot2) {
		char b64[4096];
		size_t l = (size_t)(dot1 - jwt);

		/* base64url -> base64 with padding, then decode. */
		memcpy(b64, jwt, l);
		for (size_t i = 0; i < l; i++)
			b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
		while (l % 4)
			b64[l++] = '=';
		b64[l] = '\0';
		n = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)l);
		if (n > 0) {
			memcpy(hdr, raw, (size_t)n);
			hdr[n] = '\0';
		}
	}
	j = cJSON_Parse(hdr);
	x5c = cJSON_GetObjectItemCaseSensitive(j, "x5c");
	TAP_EQ_INT(cJSON_GetArraySize(x5c), 2, "x5c holds the certificate and its chain");
	for (int i = 0; i < 2; i++) {
		char want[4096] = "", p[600];
		FILE *f;

		snprintf(p, sizeof(p), "%s/%s.b64", dir, i ? "ca" : "leaf");
		f = fopen(p, "r");
		if (f) {
			if (!fgets(want, sizeof(want), f))
				want[0] = '\0';
			fclose(f);
		}
		TAP_EQ_STR(cJSON_GetStringValue(cJSON_GetArrayItem(x5c, i)), want,
		           "x5c[%d] is the base64 DER of the %s certificate (as openssl writes it)",
		           i, i ? "CA" : "leaf");
	}
	cJSON_Delete(j);
	free(jwt);
	auth_free(a);
}

int main(void)
{
	struct http_opts ho = {0};
	struct http *h = NULL;
	char cmd[600];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_msi_parse();
	test_azcli_parse();
	test_azcli_run();
	if (http_new(&h, &ho) == 0) {
		test_chain(h);
		test_x5c(h);
		http_free(h);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return tap_done();
}
