/*
 * test_config.c - fs/config: parsing one profile of the config file, and
 * every way a config is refused.
 *
 * Each case writes a real config file (and real secret files with real
 * modes) into a fresh temp dir, with the environment cleared of AZURE_* and
 * XDG_* pointing into that dir, so nothing on the machine leaks in. The
 * expectations are the documented contract (mgdcfs(1), CONFIGURATION): the
 * errno, and that the one error line names the key and what would be valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fs/config.h"
#include "tap.h"

#define TENANT "00000000-0000-0000-0000-0000000000aa"
#define CLIENT "11111111-1111-1111-1111-1111111111bb"
/* Distinct secrets, so a leak of any one of them is recognisable. */
#define SECRET  "cs-Secret~Value.0123456789"
#define SKEY    "c3RvcmFnZS1rZXktc2VjcmV0LXZhbHVlLTAxMjM0NTY3ODk="
#define SAS     "sv=2021-08-06&ss=b&srt=co&sp=rl&sig=SasSignatureValue%3D"
#define ENV_SEC "env-secret-value-should-not-show"

static char dir[PATH_MAX];
static char cfgpath[PATH_MAX];
static char err[1024];

static void write_file(const char *name, mode_t mode, const char *text)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

/* Write the config: a document with `profiles` built from the printf arguments. */
static void write_config(mode_t mode, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void write_config(mode_t mode, const char *fmt, ...)
{
	char text[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	write_file("config.json", mode, text);
}

/* A minimal valid profile body; `extra` is spliced in (starts with ',' or is ""). */
static void write_profile(const char *extra)
{
	write_config(0600,
	             "{\"default_profile\": \"p\", \"profiles\": {\"p\": {"
	             "\"tenant_id\": \"" TENANT "\", \"client_id\": \"" CLIENT "\","
	             "\"client_secret_file\": \"client.secret\"%s}}}",
	             extra);
}

static int load(struct config *c, const char *profile)
{
	return config_load(c, cfgpath, profile, err, sizeof(err));
}

/* Load the minimal profile plus `extra`; expect `want`; the error names `needle`. */
static void expect(const char *extra, int want, const char *needle, const char *what)
{
	struct config c;
	int rc;

	write_profile(extra);
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, want, "%s", what);
	if (rc == 0)
		config_release(&c);
	if (needle)
		TAP_OK(strstr(err, needle) != NULL, "%s: the message says '%s'", what, needle);
	if (needle && !strstr(err, needle))
		printf("#   message: %s\n", err);
}

static void clear_env(void)
{
	char p[PATH_MAX * 2];

	unsetenv("AZURE_TENANT_ID");
	unsetenv("AZURE_CLIENT_ID");
	unsetenv("AZURE_CLIENT_SECRET");
	unsetenv("AZURE_CLIENT_CERTIFICATE_PATH");
	snprintf(p, sizeof(p), "%s/xdg-config", dir);
	setenv("XDG_CONFIG_HOME", p, 1);
	snprintf(p, sizeof(p), "%s/xdg-cache", dir);
	setenv("XDG_CACHE_HOME", p, 1);
	setenv("HOME", dir, 1);
}

static void test_full_profile(void)
{
	struct config c;
	char want[PATH_MAX * 2];
	int rc;

	write_file("client.secret", 0600, SECRET "\n");
	write_file("storage.key", 0600, SKEY "\n");
	write_config(
	    0600,
	    "{\"default_profile\": \"dev\", \"profiles\": {"
	    "\"other\": {\"tenant_id\": \"x\"},"
	    "\"dev\": {\"description\": \"the sandbox\", \"tenant_id\": \"" TENANT "\","
	    "\"client_id\": \"" CLIENT "\", \"client_secret_file\": \"client.secret\","
	    "\"subscription_id\": \"sub\", \"resource_group\": \"rg\", \"factory\": \"adf\","
	    "\"key_vault\": \"kv\", \"registration_scope\": \"api://reg/.default\","
	    "\"ca_file\": \"tls/ca.pem\","
	    "\"storage\": {\"account\": \"acct\", \"auth\": \"shared_key\", \"key_file\": "
	    "\"storage.key\", \"containers\": [\"exports\", \"more\"]},"
	    "\"endpoints\": {\"login\": \"https://login.example/\", \"graph\": "
	    "\"https://graph.example\", \"arm\": \"https://arm.example\", \"registration\": "
	    "\"http://127.0.0.1:8080/mgdc\", \"blob\": \"http://localhost:10000/acct\"},"
	    "\"cache\": {\"dir\": \"cache\", \"budget_mb\": 64, \"chunk_kb\": 1024, "
	    "\"readahead_chunks\": 2},"
	    "\"ttl\": {\"metadata_s\": 1, \"status_s\": 0, \"listing_s\": 2},"
	    "\"timeouts\": {\"connect_ms\": 250, \"io_s\": 3, \"retries\": 0, \"deadline_ms\": "
	    "1500, \"dns_cache_s\": 2}}}}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "a full profile loads");
	if (rc) {
		printf("#   %s\n", err);
		return;
	}
	TAP_EQ_STR(c.profile, "dev", "default_profile picks the profile");
	TAP_EQ_STR(c.path, cfgpath, "the config path is kept");
	TAP_EQ_STR(c.tenant_id, TENANT, "tenant_id");
	TAP_EQ_STR(c.client_id, CLIENT, "client_id");
	TAP_EQ_STR(c.client_secret, SECRET, "the client secret is read, its newline stripped");
	TAP_EQ_STR(c.storage_key, SKEY, "the storage key is read");
	TAP_EQ_INT(c.storage_auth, STORAGE_SHARED_KEY, "storage.auth shared_key");
	TAP_OK(c.containers && c.containers[0] && c.containers[1] && !c.containers[2] &&
	           strcmp(c.containers[0], "exports") == 0 && strcmp(c.containers[1], "more") == 0,
	       "storage.containers, in order, NULL-terminated");
	TAP_EQ_STR(c.subscription_id, "sub", "subscription_id");
	TAP_EQ_STR(c.resource_group, "rg", "resource_group");
	TAP_EQ_STR(c.factory, "adf", "factory");
	TAP_EQ_STR(c.keyvault, "kv", "key_vault");
	TAP_EQ_STR(c.registration_scope, "api://reg/.default", "registration_scope");
	snprintf(want, sizeof(want), "%s/tls/ca.pem", dir);
	TAP_EQ_STR(c.ca_file, want, "a relative ca_file resolves against the config's directory");
	snprintf(want, sizeof(want), "%s/cache", dir);
	TAP_EQ_STR(c.cache_dir, want,
	           "a relative cache.dir resolves against the config's directory");
	TAP_EQ_STR(c.login_url, "https://login.example/", "endpoints.login");
	TAP_EQ_STR(c.graph_url, "https://graph.example", "endpoints.graph");
	TAP_EQ_STR(c.arm_url, "https://arm.example", "endpoints.arm");
	TAP_EQ_STR(c.registration_url, "http://127.0.0.1:8080/mgdc",
	           "http:// to 127.0.0.1 is accepted");
	TAP_EQ_STR(c.blob_url, "http://localhost:10000/acct", "http:// to localhost is accepted");
	TAP_EQ_INT(c.cache_budget, 64ULL << 20, "cache.budget_mb in bytes");
	TAP_EQ_INT(c.chunk_size, 1024u << 10, "cache.chunk_kb in bytes");
	TAP_EQ_INT(c.readahead_chunks, 2, "cache.readahead_chunks");
	TAP_OK(c.ttl_metadata_s == 1 && c.ttl_status_s == 0 && c.ttl_listing_s == 2, "ttl.*");
	TAP_OK(c.connect_ms == 250 && c.io_s == 3 && c.retries == 0 && c.deadline_ms == 1500 &&
	           c.dns_cache_s == 2,
	       "timeouts.*");
	TAP_EQ_INT(c.assertion_rs256, 0, "assertion_alg defaults to PS256");
	config_release(&c);
	TAP_OK(c.client_secret == NULL && c.tenant_id == NULL, "config_release clears the struct");

	/* A profile that names no credential gets DefaultAzureCredential's chain. */
	rc = load(&c, "other");
	TAP_EQ_INT(rc, 0, "--profile wins over default_profile");
	TAP_EQ_STR(rc ? NULL : c.profile, "other", "the profile named by --profile is loaded");
	TAP_EQ_INT(rc ? -1 : (int)c.credential, CRED_DEFAULT,
	           "a profile without a credential gets the DefaultAzureCredential chain");
	if (rc == 0)
		config_release(&c);
}

static void test_defaults(void)
{
	struct config c;
	char want[PATH_MAX * 2];
	int rc;

	write_file("client.secret", 0600, SECRET);
	write_config(0600, "{\"profiles\": {\"default\": {\"tenant_id\": \"" TENANT
	                   "\", \"client_id\": \"" CLIENT
	                   "\", \"client_secret_file\": \"client.secret\", "
	                   "\"storage\": {\"account\": \"contosomgdc\", \"auth\": \"entra\"}}}}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "without default_profile, the profile called 'default' is used");
	if (rc) {
		printf("#   %s\n", err);
		return;
	}
	TAP_EQ_STR(c.profile, "default", "its name");
	TAP_EQ_STR(c.client_secret, SECRET, "a secret without a newline is read as is");
	TAP_EQ_STR(c.login_url, "https://login.microsoftonline.com", "default login endpoint");
	TAP_EQ_STR(c.graph_url, "https://graph.microsoft.com", "default Graph endpoint");
	TAP_EQ_STR(c.arm_url, "https://management.azure.com", "default ARM endpoint");
	TAP_EQ_STR(c.blob_url, "https://contosomgdc.blob.core.windows.net",
	           "the blob endpoint derives from the account");
	TAP_OK(c.registration_url == NULL, "no registration endpoint unless one is named");
	TAP_EQ_STR(c.registration_scope, "api://mgdc-registration/.default",
	           "default registration scope");
	TAP_EQ_INT(c.storage_auth, STORAGE_ENTRA, "storage.auth entra needs no secret file");
	TAP_OK(c.storage_key == NULL && c.storage_sas == NULL, "and reads none");
	TAP_OK(c.containers == NULL, "no containers: all of the account's");
	snprintf(want, sizeof(want), "%s/xdg-cache/mgdcfs/default", dir);
	TAP_EQ_STR(c.cache_dir, want, "cache dir defaults to $XDG_CACHE_HOME/mgdcfs/PROFILE");
	TAP_EQ_INT(c.cache_budget, 2ULL << 30, "cache budget defaults to 2048 MiB");
	TAP_EQ_INT(c.chunk_size, 8u << 20, "chunk size defaults to 8 MiB");
	TAP_EQ_INT(c.readahead_chunks, 4, "read-ahead defaults to 4 chunks");
	TAP_OK(c.ttl_metadata_s == 30 && c.ttl_status_s == 5 && c.ttl_listing_s == 60,
	       "TTL defaults 30/5/60 s");
	TAP_OK(c.connect_ms == 5000 && c.io_s == 15 && c.retries == 4 && c.deadline_ms == 60000 &&
	           c.dns_cache_s == 60,
	       "timeout defaults 5000 ms / 15 s / 4 / 60000 ms / 60 s");
	TAP_OK(c.ca_file == NULL && c.cert_file == NULL && c.keyvault == NULL,
	       "optional paths unset");
	config_release(&c);

	/* $XDG_CACHE_HOME unset: ~/.cache, or for root (a system mount) /var/cache. */
	unsetenv("XDG_CACHE_HOME");
	rc = load(&c, NULL);
	if (geteuid() == 0)
		snprintf(want, sizeof(want), "/var/cache/mgdcfs/default");
	else
		snprintf(want, sizeof(want), "%s/.cache/mgdcfs/default", dir);
	TAP_EQ_STR(rc ? NULL : c.cache_dir, want,
	           "without XDG_CACHE_HOME: ~/.cache/mgdcfs/PROFILE, /var/cache/mgdcfs/PROFILE "
	           "for root");
	if (rc == 0)
		config_release(&c);
	clear_env();

	/* No --config: $XDG_CONFIG_HOME/mgdcfs/config.json. */
	{
		char p[PATH_MAX * 2], q[PATH_MAX * 2];

		snprintf(p, sizeof(p), "%s/xdg-config", dir);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/xdg-config/mgdcfs", dir);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/xdg-config/mgdcfs/config.json", dir);
		snprintf(q, sizeof(q), "%s/xdg-config/mgdcfs/client.secret", dir);
		rename(cfgpath, p);
		write_file("xdg-config/mgdcfs/client.secret", 0600, SECRET);
		rc = config_load(&c, NULL, NULL, err, sizeof(err));
		TAP_EQ_INT(rc, 0, "without --config, $XDG_CONFIG_HOME/mgdcfs/config.json is read");
		TAP_EQ_STR(rc ? NULL : c.path, p, "and named as the config used");
		if (rc == 0)
			config_release(&c);
		unlink(p);
		unlink(q);
	}
}

static void test_unknown_keys(void)
{
	struct config c;
	int rc;

	write_file("client.secret", 0600, SECRET);
	expect(",\"tenant\": \"x\"", -EINVAL, "unknown key 'tenant'", "a misspelt profile key");
	expect(",\"tenant\": \"x\"", -EINVAL, "valid keys: tenant_id, client_id",
	       "the message lists the valid profile keys");
	expect(",\"storage\": {\"account\": \"a\", \"auth\": \"entra\", \"kind\": \"x\"}", -EINVAL,
	       "valid keys: account, auth, key_file, sas_file, containers",
	       "an unknown storage key lists storage's keys");
	expect(",\"endpoints\": {\"blobs\": \"https://x\"}", -EINVAL,
	       "profiles.p.endpoints: unknown key 'blobs'",
	       "an unknown endpoint is named with its path");
	expect(",\"cache\": {\"budget\": 10}", -EINVAL, "budget_mb, chunk_kb, readahead_chunks",
	       "an unknown cache key lists cache's keys");
	expect(",\"ttl\": {\"status\": 1}", -EINVAL, "metadata_s, status_s, listing_s",
	       "an unknown ttl key lists ttl's keys");
	expect(",\"timeouts\": {\"connect\": 1}", -EINVAL, "connect_ms, io_s, retries, deadline_ms",
	       "an unknown timeouts key lists its keys");

	write_config(0600, "{\"profile\": {}, \"profiles\": {}}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, -EINVAL, "an unknown top-level key");
	TAP_OK(strstr(err, "'profile'") && strstr(err, "default_profile, profiles"),
	       "names it and the valid ones: %s", err);
}

static void test_wrong_types(void)
{
	struct config c;
	int rc;

	write_file("client.secret", 0600, SECRET);
	expect(",\"subscription_id\": 42", -EINVAL,
	       "profiles.p.subscription_id: expected a non-empty string",
	       "a number where a string belongs");
	expect(",\"factory\": \"\"", -EINVAL, "factory: expected a non-empty string",
	       "an empty string");
	expect(",\"cache\": {\"budget_mb\": \"64\"}", -EINVAL,
	       "cache.budget_mb: expected a whole number from 16 to",
	       "a string where a number belongs");
	expect(",\"cache\": {\"budget_mb\": 8}", -EINVAL,
	       "budget_mb: expected a whole number from 16", "a budget under 16 MiB");
	expect(",\"cache\": {\"chunk_kb\": 32}", -EINVAL,
	       "chunk_kb: expected a whole number from 64 to 65536", "a chunk under 64 KiB");
	expect(",\"cache\": {\"readahead_chunks\": 65}", -EINVAL, "from 0 to 64",
	       "read-ahead over 64 chunks");
	expect(",\"timeouts\": {\"dns_cache_s\": 0}", -EINVAL,
	       "dns_cache_s: expected a whole number from 1 to 3600",
	       "timeouts.dns_cache_s below its range");
	expect(",\"timeouts\": {\"retries\": 21}", -EINVAL,
	       "retries: expected a whole number from 0 to 20", "more than 20 retries");
	expect(",\"timeouts\": {\"connect_ms\": 50}", -EINVAL,
	       "connect_ms: expected a whole number from 100", "a connect timeout under 100 ms");
	expect(",\"ttl\": {\"status_s\": -1}", -EINVAL,
	       "status_s: expected a whole number from 0 to 86400", "a negative TTL");
	expect(",\"cache\": {\"budget_mb\": 64.5}", -EINVAL, "budget_mb: expected a whole number",
	       "a fraction where a count belongs");
	expect(",\"cache\": 5", -EINVAL, "profiles.p.cache: expected an object",
	       "cache not an object");
	expect(",\"endpoints\": []", -EINVAL, "profiles.p.endpoints: expected an object",
	       "endpoints not an object");
	expect(
	    ",\"storage\": {\"account\": \"a\", \"auth\": \"entra\", \"containers\": \"exports\"}",
	    -EINVAL, "containers: expected an array", "containers not an array");
	expect(",\"storage\": {\"account\": \"a\", \"auth\": \"entra\", \"containers\": [\"a/b\"]}",
	       -EINVAL, "containers[0]: expected a container name", "a container name with '/'");
	expect(
	    ",\"storage\": {\"account\": \"a\", \"auth\": \"entra\", \"containers\": [\"ok\", 3]}",
	    -EINVAL, "containers[1]", "a container name that is not a string");

	write_config(0600, "{\"profiles\": [1]}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, -EINVAL, "profiles not an object");
	TAP_OK(strstr(err, "expected an object of named profiles") != NULL, "says so: %s", err);
	write_config(0600, "{\"profiles\": {\"default\": \"x\"}}");
	TAP_EQ_INT(load(&c, NULL), -EINVAL, "a profile that is not an object");
	TAP_OK(strstr(err, "profiles.default: expected an object") != NULL, "says so: %s", err);
	write_config(0600, "{\"profiles\": {\"p\": {\"tenant_id\": \"t\",}}}");
	TAP_EQ_INT(load(&c, "p"), -EINVAL, "malformed JSON");
	TAP_OK(strstr(err, "not a JSON object (near byte") != NULL, "says where: %s", err);
	write_config(0600, "[]");
	TAP_EQ_INT(load(&c, "p"), -EINVAL, "a JSON array is not a config");
	write_config(0600, "{\"default_profile\": 1, \"profiles\": {}}");
	TAP_EQ_INT(load(&c, NULL), -EINVAL, "a default_profile that is not a name");
	TAP_OK(strstr(err, "\"default_profile\": expected the name of a profile") != NULL,
	       "says so: %s", err);
	unlink(cfgpath);
	if (mkfifo(cfgpath, 0600) == 0) {
		/* A FIFO would block the mount forever if it were read. */
		TAP_EQ_INT(load(&c, NULL), -EINVAL, "a config that is a FIFO is refused unread");
		TAP_OK(strstr(err, "not a regular file") != NULL, "says so: %s", err);
		unlink(cfgpath);
	}
}

/*
 * A relative --config: the paths in it resolve against its directory, and
 * stay right after libfuse changes to / when it goes into the background.
 */
static void test_relative_config(void)
{
	char want[PATH_MAX * 2], cwd[PATH_MAX];
	struct config c;
	int rc;

	write_file("client.secret", 0600, SECRET);
	write_profile(",\"ca_file\": \"ca.pem\", \"cache\": {\"dir\": \"../cache-rel\"}");
	if (!getcwd(cwd, sizeof(cwd)) || chdir(dir) < 0) {
		printf("ok %d - relative --config # SKIP cannot chdir\n", ++tap_n);
		return;
	}
	rc = config_load(&c, "config.json", NULL, err, sizeof(err));
	if (chdir(cwd) < 0)
		perror("chdir");
	TAP_EQ_INT(rc, 0, "a relative --config loads");
	if (rc) {
		printf("#   %s\n", err);
		return;
	}
	TAP_EQ_STR(c.path, cfgpath, "its path is made absolute");
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	TAP_EQ_STR(c.ca_file, want, "ca_file resolves to an absolute path");
	snprintf(want, sizeof(want), "%s/../cache-rel", dir);
	TAP_EQ_STR(c.cache_dir, want, "cache.dir resolves to an absolute path");
	config_release(&c);
}

static void test_enums(void)
{
	write_file("client.secret", 0600, SECRET);
	expect(",\"assertion_alg\": \"HS256\"", -EINVAL, "use \"PS256\" or \"RS256\"",
	       "assertion_alg HS256 is refused with the valid values");
	expect(",\"storage\": {\"account\": \"a\", \"auth\": \"password\"}", -EINVAL,
	       "use \"shared_key\", \"sas\", \"entra\" (the profile's credential), \"msi\"",
	       "storage.auth 'password' is refused with the valid values");
	expect(",\"storage\": {\"account\": \"a\", \"auth\": \"shared_key\"}", -EINVAL,
	       "auth \"shared_key\" needs \"key_file\"", "shared_key without key_file");
	expect(",\"storage\": {\"account\": \"a\", \"auth\": \"sas\"}", -EINVAL,
	       "auth \"sas\" needs \"sas_file\"", "sas without sas_file");
	expect(",\"storage\": {\"account\": \"a\"}", -EINVAL, "needs \"key_file\"",
	       "storage without auth defaults to shared_key, which needs a key file");
	{
		struct config c;
		int rc;

		write_file("cert.pem", 0600, "not read at load time\n");
		write_profile(
		    ",\"client_certificate_file\": \"cert.pem\", \"assertion_alg\": \"RS256\"");
		rc = load(&c, NULL);
		TAP_EQ_INT(rc, 0, "assertion_alg RS256 is accepted");
		TAP_EQ_INT(rc ? -1 : c.assertion_rs256, 1, "and selects RS256");
		if (rc == 0)
			config_release(&c);

		/* A SAS file may hold the token with its leading '?'. */
		write_file("sas.token", 0600, "?" SAS "\n");
		write_profile(",\"storage\": {\"account\": \"a\", \"sas_file\": \"sas.token\"}");
		rc = load(&c, NULL);
		TAP_EQ_INT(rc, 0, "a sas_file without auth means auth sas");
		TAP_EQ_INT(rc ? -1 : (int)c.storage_auth, STORAGE_SAS, "storage_auth is SAS");
		TAP_EQ_STR(rc ? NULL : c.storage_sas, SAS, "the SAS loses its '?' and newline");
		if (rc == 0)
			config_release(&c);
	}
}

static void test_missing(void)
{
	struct config c;
	int rc;

	write_file("client.secret", 0600, SECRET);
	write_config(0600, "{\"profiles\": {\"p\": {\"client_id\": \"" CLIENT
	                   "\", \"client_secret_file\": \"client.secret\"}}}");
	rc = load(&c, "p");
	TAP_EQ_INT(rc, -EINVAL, "no tenant");
	TAP_OK(strstr(err, "no tenant: set \"tenant_id\" or AZURE_TENANT_ID") != NULL, "%s", err);
	write_config(0600, "{\"profiles\": {\"p\": {\"tenant_id\": \"" TENANT
	                   "\", \"client_secret_file\": \"client.secret\"}}}");
	TAP_EQ_INT(load(&c, "p"), -EINVAL, "no client");
	TAP_OK(strstr(err, "no client: set \"client_id\" or AZURE_CLIENT_ID") != NULL, "%s", err);
	write_config(0600, "{\"profiles\": {\"p\": {\"tenant_id\": \"" TENANT
	                   "\", \"client_id\": \"" CLIENT "\"}}}");
	rc = load(&c, "p");
	TAP_EQ_INT(rc, 0, "no credential named: the profile loads");
	TAP_EQ_INT(rc ? -1 : (int)c.credential, CRED_DEFAULT,
	           "and signs in with DefaultAzureCredential's chain");
	if (rc == 0)
		config_release(&c);

	write_profile("");
	rc = load(&c, "nope");
	TAP_EQ_INT(rc, -EINVAL, "a missing profile");
	TAP_OK(strstr(err, "no profile 'nope'; profiles in the file: p") != NULL,
	       "lists the profiles in the file: %s", err);
	write_config(0600, "{\"profiles\": {}}");
	TAP_EQ_INT(load(&c, "nope"), -EINVAL, "a file without profiles");
	TAP_OK(strstr(err, "(none)") != NULL, "says there are none: %s", err);

	rc = config_load(&c, "/nonexistent/mgdcfs.json", NULL, err, sizeof(err));
	TAP_EQ_INT(rc, -ENOENT, "a --config that does not exist");
	TAP_OK(strstr(err, "/nonexistent/mgdcfs.json") != NULL, "is named: %s", err);
	rc = config_load(&c, NULL, NULL, err, sizeof(err));
	TAP_EQ_INT(rc, -ENOENT, "no config file and no AZURE_TENANT_ID");
	TAP_OK(strstr(err, "--config FILE") && strstr(err, "AZURE_TENANT_ID"),
	       "says how to give one: %s", err);
}

static void test_secret_files(void)
{
	char p[PATH_MAX * 2], *out = NULL, big[20 << 10];
	struct config c;
	int rc;

	write_file("client.secret", 0644, SECRET);
	write_profile("");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, -EACCES, "a 0644 secret file is refused");
	snprintf(p, sizeof(p), "run: chmod 600 %s/client.secret", dir);
	TAP_OK(strstr(err, "has mode 0644") && strstr(err, p), "with its mode and the chmod: %s",
	       err);
	TAP_OK(strstr(err, SECRET) == NULL, "without the secret in the message");
	write_file("client.secret", 0640, SECRET);
	TAP_EQ_INT(load(&c, NULL), -EACCES, "a 0640 secret file is refused");
	write_file("client.secret", 0602, SECRET);
	TAP_EQ_INT(load(&c, NULL), -EACCES, "a 0602 (other-writable) secret file is refused");
	write_file("client.secret", 0400, SECRET);
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "a 0400 secret file is accepted");
	if (rc == 0)
		config_release(&c);

	write_file("client.secret", 0600, "\n");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, -EINVAL, "a secret file holding only a newline is refused");
	TAP_OK(strstr(err, "is empty") != NULL, "as empty: %s", err);
	write_file("client.secret", 0600, "");
	TAP_EQ_INT(load(&c, NULL), -EINVAL, "an empty secret file is refused");

	snprintf(p, sizeof(p), "%s/client.secret", dir);
	unlink(p);
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, -ENOENT, "a missing secret file");
	TAP_OK(strstr(err, p) != NULL, "is named: %s", err);

	write_file("real.secret", 0600, SECRET);
	snprintf(big, sizeof(big), "%s/real.secret", dir);
	if (symlink(big, p) == 0) {
		TAP_EQ_INT(load(&c, NULL), -ELOOP, "a secret file that is a symlink is refused");
		unlink(p);
	}
	mkdir(p, 0700);
	TAP_EQ_INT(load(&c, NULL), -EINVAL, "a secret 'file' that is a directory is refused");
	rmdir(p);

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file("client.secret", 0600, big);
	TAP_EQ_INT(load(&c, NULL), -EFBIG, "a secret file over 16 KiB is refused");

	write_file("client.secret", 0600, SECRET "\r\n");
	rc = config_read_secret(p, &out, err, sizeof(err));
	TAP_EQ_STR(rc ? NULL : out, SECRET, "config_read_secret strips a CRLF");
	free(out);

	if (geteuid() == 0) {
		write_file("client.secret", 0600, SECRET);
		if (chown(p, 65534, 65534) == 0) {
			rc = load(&c, NULL);
			TAP_EQ_INT(rc, -EACCES, "a secret file owned by another user is refused");
			TAP_OK(strstr(err, "is not owned by uid 0") != NULL, "says so: %s", err);
		} else {
			printf("ok %d - a secret file owned by another user # SKIP chown failed\n",
			       ++tap_n);
		}
	} else {
		printf("ok %d - a secret file owned by another user # SKIP needs root\n", ++tap_n);
	}
	write_file("client.secret", 0600, SECRET);

	/* The config file names the secrets: one that others may write is refused. */
	write_profile("");
	chmod(cfgpath, 0666);
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, -EACCES, "a world-writable config file is refused");
	TAP_OK(strstr(err, "chmod 600") != NULL, "with the chmod: %s", err);
	chmod(cfgpath, 0644);
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "a 0644 config file (no secret in it) is accepted");
	if (rc == 0)
		config_release(&c);
}

/* "apps": how pipelines sign in as other apps; secrets by file, or names in a Key Vault. */
static void test_apps(void)
{
	const struct config_app *a;
	struct config c;
	char *json;
	int rc;

	write_file("reports.secret", 0600, "reports-" SECRET);
	write_profile(",\"key_vault\": \"kv\", \"apps\": {\"reports\": {\"client_secret_file\": "
	              "\"reports.secret\"}, \"22222222-2222-2222-2222-2222222222cc\": "
	              "{\"key_vault_secret\": \"hr-secret\"}}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "apps: two entries accepted (%s)", err);
	if (rc)
		return;
	TAP_EQ_INT(c.n_apps, 2, "apps: two entries");
	a = config_app_find(&c, "reports", NULL);
	TAP_EQ_STR(a ? a->client_secret : NULL, "reports-" SECRET,
	           "apps: found by name, secret read");
	a = config_app_find(&c, "hr", "22222222-2222-2222-2222-2222222222CC");
	TAP_EQ_STR(a ? a->keyvault_secret : NULL, "hr-secret",
	           "apps: found by appId, case-insensitively");
	a = config_app_find(&c, "reports", "22222222-2222-2222-2222-2222222222cc");
	TAP_EQ_STR(a ? a->keyvault_secret : NULL, "hr-secret",
	           "apps: an entry keyed by the appId wins over one keyed by the name");
	TAP_OK(config_app_find(&c, "nosuch", NULL) == NULL, "apps: an unknown app is NULL");
	json = config_to_json(&c);
	TAP_OK(json && !strstr(json, "reports-" SECRET) &&
	           strstr(json, "\"client_secret\":\t\"(set)\""),
	       "apps: config.json shows (set), never the secret");
	free(json);
	config_release(&c);

	write_file("reports.secret", 0644, "reports-" SECRET);
	expect(",\"apps\": {\"reports\": {\"client_secret_file\": \"reports.secret\"}}", -EACCES,
	       "chmod 600", "apps: a 0644 app secret file is refused");
	expect(",\"apps\": {\"reports\": {\"key_vault_secret\": \"x\"}}", -EINVAL,
	       "needs the profile's \"key_vault\"", "apps: key_vault_secret without key_vault");
	expect(",\"apps\": {\"reports\": {}}", -EINVAL,
	       "give \"client_secret_file\" or \"key_vault_secret\"", "apps: an empty entry");
	expect(",\"apps\": {\"reports\": {\"secret\": \"x\"}}", -EINVAL, "unknown key 'secret'",
	       "apps: an unknown key, listing the valid ones");
	expect(",\"apps\": [\"reports\"]", -EINVAL, "expected an object", "apps: not an object");
}

static void test_urls(void)
{
	static const char *const refused[] = {
	    "http://login.example",          "http://10.0.0.1:8080",
	    "http://localhost.example",      "http://127.0.0.1.example",
	    "http://localhost@evil.example", "ftp://127.0.0.1",
	    "login.microsoftonline.com",     "http://[::2]:80",
	};
	static const char *const accepted[] = {
	    "https://login.example",   "HTTPS://LOGIN.EXAMPLE", "http://127.0.0.1:9/x",
	    "http://127.1.2.3",        "http://localhost",      "http://LOCALHOST:1/",
	    "http://[::1]:10000/acct",
	};
	char extra[512];
	size_t i;

	write_file("client.secret", 0600, SECRET);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(extra, sizeof(extra), ",\"endpoints\": {\"graph\": \"%s\"}", refused[i]);
		expect(extra, -EINVAL, "endpoints.graph", refused[i]);
	}
	expect(",\"endpoints\": {\"login\": \"http://login.example\"}", -EINVAL,
	       "use https://, or http:// only to", "the refusal says what is allowed");
	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		snprintf(extra, sizeof(extra), ",\"endpoints\": {\"blob\": \"%s\"}", accepted[i]);
		expect(extra, 0, NULL, accepted[i]);
	}
	/* The derived blob endpoint is checked too: an account name cannot smuggle http://. */
	expect(",\"storage\": {\"account\": \"a\", \"auth\": \"entra\"}", 0, NULL,
	       "the derived https blob endpoint is accepted");
}

/* "pipelines": the host and its keys, each mistake named with what is valid. */
static void test_pipelines(void)
{
	struct config c;
	char *json;

	write_file("client.secret", 0600, SECRET);
	expect(",\"pipelines\": {\"host\": \"databricks\"}", -EINVAL,
	       "pipelines.host: 'databricks' is not a pipeline host; use \"adf\"", "unknown host");
	expect(",\"pipelines\": {\"host\": \"synapse\"}", -EINVAL,
	       "host \"synapse\" needs \"workspace\"", "synapse without a workspace");
	expect(",\"pipelines\": {\"host\": \"fabric\"}", -EINVAL,
	       "host \"fabric\" needs \"workspace\": the Fabric workspace's id, a GUID",
	       "fabric without a workspace");
	expect(",\"pipelines\": {\"host\": \"fabric\", \"workspace\": \"sales\"}", -EINVAL,
	       "'sales' is not a Fabric workspace id", "fabric workspace by name");
	expect(",\"pipelines\": {\"host\": \"fabric\", \"workspace\": "
	       "\"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0\", \"lakehouse\": \"\"}",
	       -EINVAL, "lakehouse: expected a non-empty string", "fabric lakehouse empty");
	expect(",\"pipelines\": {\"host\": \"synapse\", \"workspace\": \"my ws\"}", -EINVAL,
	       "'my ws' is not a Synapse workspace name", "synapse workspace not a DNS label");
	expect(",\"pipelines\": {\"host\": \"synapse\", \"workspace\": \"w\", \"factory\": \"f\"}",
	       -EINVAL, "pipelines.factory: not a key of host \"synapse\"",
	       "a factory key on synapse");
	expect(",\"pipelines\": {\"host\": \"adf\", \"workspace\": \"w\"}", -EINVAL,
	       "pipelines.workspace: not a key of host \"adf\"", "a workspace on adf");
	expect(",\"factory\": \"f\", \"pipelines\": {\"factory\": \"g\"}", -EINVAL,
	       "pipelines.factory: also given at the profile's top level; keep one",
	       "the factory twice");
	expect(",\"pipelines\": {\"host\": \"synapse\", \"workspace\": \"w\", "
	       "\"endpoint\": \"http://evil.example\"}",
	       -EINVAL, "pipelines.endpoint: 'http://evil.example' is not allowed",
	       "a plain-http endpoint");
	expect(",\"pipelines\": {\"colour\": 1}", -EINVAL, "unknown key 'colour'",
	       "an unknown key of pipelines");

	write_profile(",\"pipelines\": {\"host\": \"synapse\", \"workspace\": \"contoso-syn\"}");
	TAP_EQ_INT(load(&c, NULL), 0, "synapse with a workspace loads (%s)", err);
	TAP_OK(c.host == HOST_SYNAPSE, "  host synapse");
	TAP_EQ_STR(c.pipelines_url, "https://contoso-syn.dev.azuresynapse.net",
	           "  the default endpoint is the workspace's development endpoint");
	json = config_to_json(&c);
	TAP_OK(json && strstr(json, "\"host\":\t\"synapse\"") &&
	           strstr(json, "\"endpoint\":\t\"https://contoso-syn.dev.azuresynapse.net\""),
	       "  config_to_json shows the host and endpoint");
	free(json);
	config_release(&c);

	write_profile(",\"pipelines\": {\"subscription_id\": \"s\", \"resource_group\": \"g\", "
	              "\"factory\": \"f\"}");
	TAP_EQ_INT(load(&c, NULL), 0, "adf keys under pipelines load (%s)", err);
	TAP_OK(c.host == HOST_ADF && c.factory && strcmp(c.factory, "f") == 0 &&
	           c.subscription_id && strcmp(c.subscription_id, "s") == 0,
	       "  the host defaults to adf and the factory keys are taken");
	config_release(&c);

	write_profile(",\"pipelines\": {\"host\": \"fabric\", \"workspace\": "
	              "\"0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0\"}");
	TAP_EQ_INT(load(&c, NULL), 0, "fabric with a workspace id loads (%s)", err);
	TAP_EQ_STR(c.pipelines_url, "https://api.fabric.microsoft.com/v1", "  Fabric's REST base");
	TAP_OK(c.onelake_url != NULL, "  and a OneLake endpoint");
	config_release(&c);
}

static void test_env(void)
{
	struct config c;
	char p[PATH_MAX * 2];
	int rc;

	/* No config file at all: the azure-identity variables make up a profile. */
	setenv("AZURE_TENANT_ID", TENANT, 1);
	setenv("AZURE_CLIENT_ID", CLIENT, 1);
	setenv("AZURE_CLIENT_SECRET", ENV_SEC, 1);
	rc = config_load(&c, NULL, NULL, err, sizeof(err));
	TAP_EQ_INT(rc, 0, "AZURE_* alone make a profile");
	if (rc == 0) {
		TAP_OK(c.path == NULL, "with no config file");
		TAP_EQ_STR(c.profile, "default", "called 'default'");
		TAP_EQ_STR(c.tenant_id, TENANT, "tenant from AZURE_TENANT_ID");
		TAP_EQ_STR(c.client_id, CLIENT, "client from AZURE_CLIENT_ID");
		TAP_EQ_STR(c.client_secret, ENV_SEC, "secret from AZURE_CLIENT_SECRET");
		config_release(&c);
	}

	/* The profile wins; the environment fills only its gaps. */
	write_file("client.secret", 0600, SECRET);
	write_config(0600, "{\"profiles\": {\"p\": {\"client_id\": \"profile-client\", "
	                   "\"client_secret_file\": \"client.secret\"}}}");
	rc = load(&c, "p");
	TAP_EQ_INT(rc, 0, "a profile without tenant_id, with AZURE_TENANT_ID set");
	if (rc == 0) {
		TAP_EQ_STR(c.tenant_id, TENANT, "AZURE_TENANT_ID fills the gap");
		TAP_EQ_STR(c.client_id, "profile-client", "the profile's client_id wins");
		TAP_EQ_STR(c.client_secret, SECRET, "the profile's secret file wins");
		config_release(&c);
	}
	write_profile("");
	rc = load(&c, NULL);
	TAP_OK(rc == 0 && strcmp(c.tenant_id, TENANT) == 0 && strcmp(c.client_id, CLIENT) == 0,
	       "a complete profile ignores the environment");
	if (rc == 0)
		config_release(&c);

	/* A certificate from the environment, when the profile names no credential. */
	unsetenv("AZURE_CLIENT_SECRET");
	snprintf(p, sizeof(p), "%s/env-cert.pem", dir);
	write_file("env-cert.pem", 0600, "x");
	setenv("AZURE_CLIENT_CERTIFICATE_PATH", p, 1);
	write_config(0600, "{\"profiles\": {\"p\": {\"tenant_id\": \"t\"}}}");
	rc = load(&c, "p");
	TAP_EQ_INT(rc, 0, "AZURE_CLIENT_CERTIFICATE_PATH gives the credential");
	TAP_EQ_STR(rc ? NULL : c.cert_file, p, "as the certificate file");
	TAP_OK(rc == 0 && c.client_secret == NULL, "and no secret");
	if (rc == 0)
		config_release(&c);
	/* ...but not when the profile names its own certificate. */
	write_file("cert.pem", 0600, "x");
	write_config(0600, "{\"profiles\": {\"p\": {\"tenant_id\": \"t\", "
	                   "\"client_certificate_file\": \"cert.pem\"}}}");
	rc = load(&c, "p");
	snprintf(p, sizeof(p), "%s/cert.pem", dir);
	TAP_EQ_STR(rc ? NULL : c.cert_file, p, "the profile's certificate wins");
	if (rc == 0)
		config_release(&c);
	clear_env();
}

static void test_to_json(void)
{
	struct config c;
	char *j;
	cJSON *doc;
	int rc;

	write_file("client.secret", 0600, SECRET);
	write_file("storage.key", 0600, SKEY);
	write_file("sas.token", 0600, SAS);
	write_profile(",\"storage\": {\"account\": \"a\", \"auth\": \"shared_key\", \"key_file\": "
	              "\"storage.key\"}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "a profile with a client secret and a storage key");
	if (rc)
		return;
	j = config_to_json(&c);
	doc = j ? cJSON_Parse(j) : NULL;
	TAP_OK(doc != NULL, "config_to_json is JSON");
	TAP_OK(j && !strstr(j, SECRET) && !strstr(j, SKEY), "and holds neither secret");
	TAP_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "tenant_id")), TENANT,
	           "it shows the tenant");
	TAP_EQ_STR(cJSON_GetStringValue(
	               cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "storage"), "secret")),
	           "(set)", "the storage secret shows as (set)");
	TAP_EQ_INT(cJSON_GetNumberValue(
	               cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "cache"), "budget_mb")),
	           2048, "the cache budget in MiB");
	cJSON_Delete(doc);
	free(j);
	config_release(&c);

	write_profile(",\"storage\": {\"account\": \"a\", \"auth\": \"sas\", \"sas_file\": "
	              "\"sas.token\"}");
	rc = load(&c, NULL);
	j = rc ? NULL : config_to_json(&c);
	TAP_OK(j && !strstr(j, SECRET) && !strstr(j, SAS) && !strstr(j, "SasSignatureValue"),
	       "a SAS profile's JSON holds neither the secret nor the SAS");
	free(j);
	if (rc == 0)
		config_release(&c);

	setenv("AZURE_TENANT_ID", TENANT, 1);
	setenv("AZURE_CLIENT_ID", CLIENT, 1);
	setenv("AZURE_CLIENT_SECRET", ENV_SEC, 1);
	rc = config_load(&c, NULL, NULL, err, sizeof(err));
	j = rc ? NULL : config_to_json(&c);
	TAP_OK(j && !strstr(j, ENV_SEC), "a secret from AZURE_CLIENT_SECRET is not shown either");
	free(j);
	if (rc == 0)
		config_release(&c);
	clear_env();
}

/* Issue 14: duplicates with their lines, a lone profile, numbers as numbers, key files. */
static void test_system_tool(void)
{
	struct config c;
	int rc;

	write_file("client.secret", 0600, SECRET);
	write_config(0600, "{\"profiles\": {\"p\": {\n"
	                   "  \"tenant_id\": \"" TENANT "\",\n"
	                   "  \"cache\": {\"budget_mb\": 64,\n"
	                   "            \"budget_mb\": 128},\n"
	                   "  \"client_id\": \"" CLIENT "\"}}}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, -EINVAL, "a key given twice is refused");
	TAP_OK(strstr(err, "profiles.p.cache.budget_mb: on lines 3 and 4") != NULL,
	       "with its path and both line numbers: %s", err);
	write_config(0600, "{\"profiles\": {\"p\": {}},\n\"profiles\": {}}");
	TAP_EQ_INT(load(&c, NULL), -EINVAL, "a top-level key given twice is refused");
	TAP_OK(strstr(err, "profiles: on lines 1 and 2") != NULL, "%s", err);

	write_config(0600, "{\"profiles\": {\"only\": {\"tenant_id\": \"" TENANT
	                   "\", \"client_id\": \"" CLIENT "\"}}}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "one profile and no default_profile: it is used");
	TAP_EQ_STR(rc ? NULL : c.profile, "only", "the lone profile");
	if (rc == 0)
		config_release(&c);

	expect(", \"cache\": {\"budget_mb\": 1}", -EINVAL, "from 16 to 16777216",
	       "ranges are printed as whole numbers");

	/* The file holding a private key is a secret file. */
	write_file("cert.pem", 0644, "cert and key");
	write_profile(", \"client_certificate_file\": \"cert.pem\", \"credential\": "
	              "\"client_certificate\"");
	TAP_EQ_INT(load(&c, NULL), -EACCES, "a certificate file holding the key at 0644");
	TAP_OK(strstr(err, "chmod 600") != NULL, "names the chmod: %s", err);
	write_file("key.pem", 0640, "key");
	write_profile(", \"client_certificate_file\": \"cert.pem\", \"client_key_file\": "
	              "\"key.pem\", \"credential\": \"client_certificate\"");
	TAP_EQ_INT(load(&c, NULL), -EACCES, "a key file at 0640");
	TAP_OK(strstr(err, "key.pem has mode 0640") != NULL, "names the key file: %s", err);
}

static void test_credentials(void)
{
	static const struct {
		const char *name;
		enum config_cred want;
	} names[] = {{"default", CRED_DEFAULT},
	             {"environment", CRED_ENV},
	             {"workload_identity", CRED_WORKLOAD},
	             {"managed_identity", CRED_MSI},
	             {"azure_cli", CRED_AZCLI},
	             {"client_secret", CRED_SECRET}};
	struct config c;
	char extra[256];
	int rc;

	write_file("client.secret", 0600, SECRET);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(extra, sizeof(extra), ", \"credential\": \"%s\"%s", names[i].name,
		         names[i].want == CRED_WORKLOAD ? ", \"federated_token_file\": \"t.jwt\""
		                                        : "");
		if (names[i].want == CRED_ENV)
			setenv("AZURE_CLIENT_SECRET", ENV_SEC, 1);
		write_profile(extra);
		rc = load(&c, NULL);
		TAP_EQ_INT(rc, 0, "credential \"%s\" is accepted", names[i].name);
		TAP_EQ_INT(rc ? -1 : (int)c.credential, names[i].want, "  and chosen");
		if (rc == 0)
			config_release(&c);
		unsetenv("AZURE_CLIENT_SECRET");
	}
	expect(", \"credential\": \"msi\"", -EINVAL,
	       "use \"default\", \"environment\", \"workload_identity\"",
	       "credential \"msi\" (storage's word) is not a profile credential");
	expect(", \"credential\": \"workload_identity\"", -EINVAL,
	       "needs \"federated_token_file\" or AZURE_FEDERATED_TOKEN_FILE",
	       "workload identity without a token file");
	expect(", \"managed_identity\": {\"client_id\": \"a\", \"object_id\": \"b\"}", -EINVAL,
	       "give one of client_id, object_id and resource_id",
	       "a managed identity named twice");
	expect(", \"azure_cli\": {\"timeout_s\": 0}", -EINVAL, "from 1 to 600",
	       "azure_cli.timeout_s out of range");
	expect(", \"send_certificate_chain\": \"yes\"", -EINVAL, "expected true or false",
	       "send_certificate_chain must be a boolean");

	write_profile(", \"managed_identity\": {\"resource_id\": \"/subscriptions/x\"}, "
	              "\"azure_cli\": {\"timeout_s\": 3}, \"storage\": {\"account\": \"acct\", "
	              "\"auth\": \"msi\"}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc, 0, "storage.auth \"msi\" with a managed identity by resource id");
	if (rc == 0) {
		TAP_EQ_INT(c.storage_auth, STORAGE_ENTRA, "storage uses bearer tokens");
		TAP_EQ_INT(c.storage_credential, CRED_MSI, "from its own managed identity");
		TAP_EQ_INT(c.credential, CRED_SECRET, "while the profile keeps its secret");
		TAP_EQ_STR(c.mi_resource_id, "/subscriptions/x", "managed_identity.resource_id");
		TAP_EQ_INT(c.azcli_timeout_s, 3, "azure_cli.timeout_s");
		config_release(&c);
	}
	write_profile(", \"storage\": {\"account\": \"acct\", \"auth\": \"azcli\"}");
	rc = load(&c, NULL);
	TAP_EQ_INT(rc ? -1 : (int)c.storage_credential, CRED_AZCLI, "storage.auth \"azcli\"");
	TAP_EQ_INT(rc ? -1 : c.azcli_timeout_s, 10, "the CLI's default timeout is 10 s");
	if (rc == 0)
		config_release(&c);

	/* AZURE_AUTHORITY_HOST gives the login endpoint; the profile's wins. */
	setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us", 1);
	write_profile("");
	rc = load(&c, NULL);
	TAP_EQ_STR(rc ? NULL : c.login_url, "https://login.microsoftonline.us",
	           "AZURE_AUTHORITY_HOST replaces the public cloud's login");
	if (rc == 0)
		config_release(&c);
	write_profile(", \"endpoints\": {\"login\": \"https://login.example\"}");
	rc = load(&c, NULL);
	TAP_EQ_STR(rc ? NULL : c.login_url, "https://login.example",
	           "the profile's endpoints.login wins over AZURE_AUTHORITY_HOST");
	if (rc == 0)
		config_release(&c);
	unsetenv("AZURE_AUTHORITY_HOST");
}

int main(void)
{
	char cmd[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/mgdcfs-test-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(cfgpath, sizeof(cfgpath), "%.*s/config.json", PATH_MAX - 16, dir);
	umask(077);
	clear_env();

	test_full_profile();
	test_defaults();
	test_unknown_keys();
	test_wrong_types();
	test_enums();
	test_missing();
	test_relative_config();
	test_secret_files();
	test_apps();
	test_urls();
	test_pipelines();
	test_env();
	test_to_json();
	test_system_tool();
	test_credentials();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
