/*
 * config.c - parse and check one profile of the mgdcfs config file.
 *
 * The file is small, so it is read whole (capped at 1 MiB) and parsed with
 * cJSON. Every key is checked: an unknown key is an error that lists the
 * valid ones, because a misspelt "budget_mb" silently ignored would be worse
 * than a refused mount. Relative paths resolve against the config file's
 * directory. Secrets are read from files (mode checked) or the environment
 * and are wiped on release.
 */
#include "fs/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base/text.h"
#include "fs/jsonkeys.h"
#include "net/http.h"

#define CONFIG_MAX_BYTES (1 << 20)
#define SECRET_MAX_BYTES (16 << 10)

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Open a secret file and check it: returns the fd (st filled) or -errno with err set. */
static int secret_open(const char *file, struct stat *st, char *err, size_t errlen)
{
	int fd, res;

	/* Look before opening: opening a FIFO would block the start for good, and
	 * opening a device may act on it. The fstat below still decides. */
	if (lstat(file, st) == 0 && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
		return fail(err, errlen, -EINVAL, "secret file %s: not a regular file", file);
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fail(err, errlen, -errno, "secret file %s: %s", file, strerror(errno));
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))
		res = fail(err, errlen, -EINVAL, "secret file %s: not a regular file", file);
	else if (st->st_mode & 077)
		res = fail(err, errlen, -EACCES,
		           "secret file %s has mode %04o: group and others must have no access; "
		           "run: chmod 600 %s",
		           file, (unsigned)(st->st_mode & 07777), file);
	else if (st->st_uid != geteuid())
		res = fail(err, errlen, -EACCES, "secret file %s is not owned by uid %u", file,
		           (unsigned)geteuid());
	else
		return fd;
	close(fd);
	return res;
}

/*
 * config_check_secret_file - the checks of config_read_secret (a regular
 * file, owned by us, no access for group or others) without reading it, for
 * files the credential code reads itself (private keys, PKCS#12). Returns 0,
 * -EACCES/-EINVAL/-errno with the reason and the chmod to run in err.
 */
static int config_check_secret_file(const char *file, char *err, size_t errlen)
{
	struct stat st;
	int fd = secret_open(file, &st, err, errlen);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int config_read_secret(const char *file, char **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, res = -EIO;

	*out = NULL;
	fd = secret_open(file, &st, err, errlen);
	if (fd < 0)
		return fd;
	if (st.st_size > SECRET_MAX_BYTES) {
		res = fail(err, errlen, -EFBIG, "secret file %s is over %d bytes", file,
		           SECRET_MAX_BYTES);
		goto out;
	}
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf) {
		res = -ENOMEM;
		goto out;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		res = fail(err, errlen, -errno, "secret file %s: %s", file, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n == 0) {
		res = fail(err, errlen, -EINVAL, "secret file %s is empty", file);
		goto out;
	}
	*out = buf;
	buf = NULL;
	res = 0;
out:
	if (buf)
		wipe_free(buf);
	close(fd);
	return res;
}

/* The keys a level accepts; NULL-terminated. */
static const char *const profile_keys[] = {"tenant_id",
                                           "client_id",
                                           "client_secret_file",
                                           "client_certificate_file",
                                           "client_key_file",
                                           "assertion_alg",
                                           "subscription_id",
                                           "resource_group",
                                           "factory",
                                           "key_vault",
                                           "storage",
                                           "endpoints",
                                           "registration_scope",
                                           "ca_file",
                                           "cache",
                                           "ttl",
                                           "timeouts",
                                           "description",
                                           "apps",
                                           "credential",
                                           "client_certificate_password_file",
                                           "send_certificate_chain",
                                           "federated_token_file",
                                           "managed_identity",
                                           "azure_cli",
                                           "pipelines",
                                           NULL};
static const char *const mi_keys[] = {"client_id", "object_id", "resource_id", NULL};
static const char *const azcli_keys[] = {"timeout_s", NULL};
static const char *const storage_keys[] = {"account",  "auth",       "key_file",
                                           "sas_file", "containers", NULL};
static const char *const endpoint_keys[] = {"login", "graph", "arm", "registration", "blob", NULL};
static const char *const cache_keys[] = {"dir", "budget_mb", "chunk_kb", "readahead_chunks", NULL};
static const char *const ttl_keys[] = {"metadata_s", "status_s", "listing_s", NULL};
static const char *const timeout_keys[] = {"connect_ms",  "io_s",        "retries",
                                           "deadline_ms", "dns_cache_s", NULL};
static const char *const pipelines_keys[] = {"host",           "factory",     "subscription_id",
                                             "resource_group", "workspace",   "endpoint",
                                             "lakehouse",      "onelake_url", NULL};
static const char *const top_keys[] = {"default_profile", "profiles", NULL};
static const char *const app_keys[] = {"client_secret_file", "key_vault_secret", NULL};

static int check_keys(const cJSON *obj, const char *const *keys, const char *where, char *err,
                      size_t errlen)
{
	const cJSON *it;
	char list[512];
	size_t o = 0;
	int i;

	cJSON_ArrayForEach(it, obj)
	{
		for (i = 0; keys[i]; i++)
			if (strcmp(it->string, keys[i]) == 0)
				break;
		if (keys[i])
			continue;
		list[0] = '\0';
		for (i = 0; keys[i] && o < sizeof(list); i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
			                      keys[i]);
		return fail(err, errlen, -EINVAL, "%s: unknown key '%s'; valid keys: %s", where,
		            it->string, list);
	}
	return 0;
}

/* Resolve `v` against the config file's directory unless absolute. */
static char *resolve_path(const char *dir, const char *v)
{
	char *p;

	if (v[0] == '/' || !dir)
		return strdup(v);
	if (asprintf(&p, "%s/%s", dir, v) < 0)
		return NULL;
	return p;
}

static int get_str(const cJSON *obj, const char *key, const char *where, char **out, char *err,
                   size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return fail(err, errlen, -EINVAL, "%s.%s: expected a non-empty string", where, key);
	free(*out);
	*out = strdup(v->valuestring);
	return *out ? 0 : -ENOMEM;
}

static int get_path(const cJSON *obj, const char *key, const char *where, const char *dir,
                    char **out, char *err, size_t errlen)
{
	char *raw = NULL;
	int rc = get_str(obj, key, where, &raw, err, errlen);

	if (rc || !raw)
		return rc;
	free(*out);
	*out = resolve_path(dir, raw);
	free(raw);
	return *out ? 0 : -ENOMEM;
}

static int get_num(const cJSON *obj, const char *key, const char *where, double lo, double hi,
                   double *out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return 0;
	/* Every number here is a count or a size: a fraction would be cut silently. */
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return fail(err, errlen, -EINVAL,
		            "%s.%s: expected a whole number from %.0f to %.0f", where, key, lo, hi);
	*out = v->valuedouble;
	return 0;
}

static int get_obj(const cJSON *obj, const char *key, const char *where, const char *const *keys,
                   const cJSON **out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char sub[128];

	*out = NULL;
	if (!v)
		return 0;
	snprintf(sub, sizeof(sub), "%s.%s", where, key);
	if (!cJSON_IsObject(v))
		return fail(err, errlen, -EINVAL, "%s: expected an object", sub);
	*out = v;
	return check_keys(v, keys, sub, err, errlen);
}

static int check_url(const char *name, const char *url, char *err, size_t errlen)
{
	if (!url)
		return 0;
	if (http_url_check(url) < 0)
		return fail(err, errlen, -EINVAL,
		            "%s: '%s' is not allowed: use https://, or http:// only to "
		            "127.0.0.0/8, ::1 or localhost",
		            name, url);
	return 0;
}

#define SYSTEM_CONFIG "/etc/mgdcfs/config.json"
#define SYSTEM_CACHE  "/var/cache/mgdcfs"

/* $HOME, else the user's home directory from the password database (services have no
 * HOME). NULL when neither is known. */
static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && home[0] == '/')
		return home;
	pw = getpwuid(geteuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

/* The user's config file (XDG), or NULL when there is no home to look in. */
static char *user_config_path(void)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = home_dir();
	char *p = NULL;

	if (x && x[0] == '/') {
		if (asprintf(&p, "%s/mgdcfs/config.json", x) < 0)
			p = NULL;
	} else if (home && asprintf(&p, "%s/.config/mgdcfs/config.json", home) < 0) {
		p = NULL;
	}
	return p;
}

/*
 * The cache of a profile: $XDG_CACHE_HOME/mgdcfs/PROFILE; for root (a system mount,
 * from fstab or a unit) /var/cache/mgdcfs/PROFILE; else ~/.cache/mgdcfs/PROFILE. NULL
 * when none applies: never a folder under /tmp, which others share and boots clear.
 */
static char *default_cache_dir(const char *profile)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = home_dir();
	char *p = NULL;
	int w = -1;

	if (x && x[0] == '/')
		w = asprintf(&p, "%s/mgdcfs/%s", x, profile);
	else if (geteuid() == 0)
		w = asprintf(&p, SYSTEM_CACHE "/%s", profile);
	else if (home)
		w = asprintf(&p, "%s/.cache/mgdcfs/%s", home, profile);
	return w < 0 ? NULL : p;
}

static int read_file_capped(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	*out = NULL;
	if (!f)
		return fail(err, errlen, -errno, "config %s: %s", path, strerror(errno));
	buf = malloc(CONFIG_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
	fclose(f);
	if (n > CONFIG_MAX_BYTES) {
		free(buf);
		return fail(err, errlen, -EFBIG, "config %s is over %d bytes", path,
		            CONFIG_MAX_BYTES);
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* The config file holds no secret itself, but it names them: refuse one others may write. */
static int check_config_mode(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail(err, errlen, -errno, "config %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -EINVAL, "config %s: not a regular file", path);
	if (st.st_mode & 022)
		return fail(err, errlen, -EACCES,
		            "config %s has mode %04o: group and others must not be able to write "
		            "it; run: chmod 600 %s",
		            path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

static int dup_default(char **dst, const char *val);

/* Names of the credentials in "credential" and storage.auth (which also takes blobfuse2's). */
static const struct {
	const char *name;
	enum config_cred cred;
	int storage_only;
} cred_names[] = {
    {"default", CRED_DEFAULT, 0},
    {"environment", CRED_ENV, 0},
    {"workload_identity", CRED_WORKLOAD, 0},
    {"managed_identity", CRED_MSI, 0},
    {"azure_cli", CRED_AZCLI, 0},
    {"client_secret", CRED_SECRET, 0},
    {"client_certificate", CRED_CERT, 0},
    {"msi", CRED_MSI, 1},
    {"azcli", CRED_AZCLI, 1},
};

const char *config_cred_name(enum config_cred c)
{
	static const char *const names[] = {"the profile's credential",
	                                    "client secret",
	                                    "client certificate",
	                                    "environment",
	                                    "workload identity",
	                                    "managed identity",
	                                    "Azure CLI",
	                                    "DefaultAzureCredential chain"};

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

/* The credential called `name` (storage: also "msi", "azcli"), or CRED_NONE. */
static enum config_cred cred_by_name(const char *name, int storage)
{
	for (size_t i = 0; i < sizeof(cred_names) / sizeof(cred_names[0]); i++)
		if ((storage || !cred_names[i].storage_only) &&
		    strcmp(name, cred_names[i].name) == 0)
			return cred_names[i].cred;
	return CRED_NONE;
}

static int parse_credential(struct config *c, const cJSON *prof, const char *where, const char *dir,
                            char *err, size_t errlen)
{
	const cJSON *o, *v;
	char *name = NULL, *pwfile = NULL, sub[128];
	double t;
	int rc;

	if ((rc = get_str(prof, "credential", where, &name, err, errlen)) ||
	    (rc = get_path(prof, "client_certificate_password_file", where, dir, &pwfile, err,
	                   errlen)) ||
	    (rc = get_path(prof, "federated_token_file", where, dir, &c->federated_token_file, err,
	                   errlen)))
		goto out;
	if (name && (c->credential = cred_by_name(name, 0)) == CRED_NONE) {
		rc = fail(err, errlen, -EINVAL,
		          "%s.credential: '%s' is not valid; use \"default\", \"environment\", "
		          "\"workload_identity\", \"managed_identity\", \"azure_cli\", "
		          "\"client_secret\" or \"client_certificate\"",
		          where, name);
		goto out;
	}
	if (pwfile && (rc = config_read_secret(pwfile, &c->cert_password, err, errlen)))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(prof, "send_certificate_chain");
	if (v && !cJSON_IsBool(v)) {
		rc = fail(err, errlen, -EINVAL, "%s.send_certificate_chain: expected true or false",
		          where);
		goto out;
	}
	c->send_cert_chain = cJSON_IsTrue(v);
	if ((rc = get_obj(prof, "managed_identity", where, mi_keys, &o, err, errlen)))
		goto out;
	snprintf(sub, sizeof(sub), "%s.managed_identity", where);
	if (o && ((rc = get_str(o, "client_id", sub, &c->mi_client_id, err, errlen)) ||
	          (rc = get_str(o, "object_id", sub, &c->mi_object_id, err, errlen)) ||
	          (rc = get_str(o, "resource_id", sub, &c->mi_resource_id, err, errlen))))
		goto out;
	if (!!c->mi_client_id + !!c->mi_object_id + !!c->mi_resource_id > 1) {
		rc =
		    fail(err, errlen, -EINVAL,
		         "%s: give one of client_id, object_id and resource_id (they name the same "
		         "identity)",
		         sub);
		goto out;
	}
	if ((rc = get_obj(prof, "azure_cli", where, azcli_keys, &o, err, errlen)))
		goto out;
	snprintf(sub, sizeof(sub), "%s.azure_cli", where);
	t = c->azcli_timeout_s;
	if (o && (rc = get_num(o, "timeout_s", sub, 1, 600, &t, err, errlen)))
		goto out;
	c->azcli_timeout_s = (int)t;
out:
	free(name);
	free(pwfile);
	return rc;
}

/*
 * Settle the credential once the profile and the environment are known: which one
 * (DefaultAzureCredential's first, the environment, when the profile names none),
 * what it needs, and the 0600 rule for every file that holds a key.
 */
static int settle_credential(struct config *c, char *err, size_t errlen)
{
	const char *certp = getenv("AZURE_CLIENT_CERTIFICATE_PATH");
	const char *envsec = getenv("AZURE_CLIENT_SECRET");
	const char *pw = getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD");
	const char *fed = getenv("AZURE_FEDERATED_TOKEN_FILE");
	const char *chain = getenv("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN");
	int rc = 0, env = (envsec && envsec[0]) || (certp && certp[0]);

	if (c->credential == CRED_NONE)
		c->credential = c->client_secret ? CRED_SECRET
		                : c->cert_file   ? CRED_CERT
		                : env            ? CRED_ENV
		                                 : CRED_DEFAULT;
	if (c->credential == CRED_ENV) {
		if (!env)
			return fail(err, errlen, -EINVAL,
			            "profile '%s': credential \"environment\" needs "
			            "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH",
			            c->profile);
		free(c->cert_file);
		c->cert_file = NULL;
		if ((rc = dup_default(&c->client_secret, envsec && envsec[0] ? envsec : NULL)) ||
		    (rc = dup_default(&c->cert_file,
		                      !c->client_secret && certp && certp[0] ? certp : NULL)))
			return rc;
		if (chain && (strcmp(chain, "1") == 0 || strcasecmp(chain, "true") == 0))
			c->send_cert_chain = 1;
	}
	if (c->credential == CRED_SECRET && !c->client_secret)
		return fail(err, errlen, -EINVAL,
		            "profile '%s': credential \"client_secret\" needs "
		            "\"client_secret_file\"",
		            c->profile);
	if (c->credential == CRED_CERT && !c->cert_file)
		return fail(err, errlen, -EINVAL,
		            "profile '%s': credential \"client_certificate\" needs "
		            "\"client_certificate_file\"",
		            c->profile);
	if ((c->credential == CRED_WORKLOAD || c->credential == CRED_DEFAULT ||
	     c->storage_credential == CRED_WORKLOAD || c->storage_credential == CRED_DEFAULT) &&
	    (rc = dup_default(&c->federated_token_file, fed && fed[0] ? fed : NULL)))
		return rc;
	if (c->credential == CRED_WORKLOAD && !c->federated_token_file)
		return fail(err, errlen, -EINVAL,
		            "profile '%s': credential \"workload_identity\" needs "
		            "\"federated_token_file\" or AZURE_FEDERATED_TOKEN_FILE",
		            c->profile);
	/* DefaultAzureCredential gives its managed identity AZURE_CLIENT_ID as well. */
	if ((c->credential == CRED_DEFAULT || c->storage_credential == CRED_DEFAULT) &&
	    !c->mi_object_id && !c->mi_resource_id &&
	    (rc = dup_default(&c->mi_client_id, getenv("AZURE_CLIENT_ID"))))
		return rc;
	if (c->cert_file && !c->cert_password &&
	    (rc = dup_default(&c->cert_password, pw && pw[0] ? pw : NULL)))
		return rc;
	if (!c->azcli_timeout_s)
		c->azcli_timeout_s = 10;
	/* A private key is a secret: the file holding it (the key file, else the certificate
	 * file, or a PKCS#12 file) gets the 0600 rule too. */
	if (c->cert_file && (c->credential == CRED_CERT || c->credential == CRED_ENV) &&
	    (rc = config_check_secret_file(c->key_file ? c->key_file : c->cert_file, err, errlen)))
		return rc;
	if (!c->client_id && (c->credential == CRED_SECRET || c->credential == CRED_CERT ||
	                      c->credential == CRED_ENV || c->credential == CRED_WORKLOAD))
		return fail(err, errlen, -EINVAL,
		            "profile '%s': no client: set \"client_id\" or AZURE_CLIENT_ID",
		            c->profile);
	return 0;
}

static int parse_storage(struct config *c, const cJSON *prof, const char *where, const char *dir,
                         char *err, size_t errlen)
{
	const cJSON *st, *cont, *it;
	char *auth = NULL, *key_file = NULL, *sas_file = NULL, sub[128];
	size_t n = 0;
	int rc;

	rc = get_obj(prof, "storage", where, storage_keys, &st, err, errlen);
	if (rc || !st)
		return rc;
	snprintf(sub, sizeof(sub), "%s.storage", where);
	if ((rc = get_str(st, "account", sub, &c->storage_account, err, errlen)) ||
	    (rc = get_str(st, "auth", sub, &auth, err, errlen)) ||
	    (rc = get_path(st, "key_file", sub, dir, &key_file, err, errlen)) ||
	    (rc = get_path(st, "sas_file", sub, dir, &sas_file, err, errlen)))
		goto out;
	if (!auth || strcmp(auth, "shared_key") == 0) {
		c->storage_auth = key_file || !sas_file ? STORAGE_SHARED_KEY : STORAGE_SAS;
	} else if (strcmp(auth, "sas") == 0) {
		c->storage_auth = STORAGE_SAS;
	} else if (strcmp(auth, "entra") == 0) {
		c->storage_auth = STORAGE_ENTRA;
	} else if ((c->storage_credential = cred_by_name(auth, 1)) != CRED_NONE) {
		/* Storage signs in on its own (blobfuse2's "msi", "azcli", ...). */
		c->storage_auth = STORAGE_ENTRA;
	} else {
		rc = fail(err, errlen, -EINVAL,
		          "%s.auth: '%s' is not valid; use \"shared_key\", \"sas\", \"entra\" "
		          "(the profile's credential), \"msi\", \"azcli\", \"workload_identity\", "
		          "\"environment\" or \"default\"",
		          sub, auth);
		goto out;
	}
	if (c->storage_auth == STORAGE_SHARED_KEY && key_file)
		rc = config_read_secret(key_file, &c->storage_key, err, errlen);
	else if (c->storage_auth == STORAGE_SHARED_KEY)
		rc = fail(err, errlen, -EINVAL, "%s: auth \"shared_key\" needs \"key_file\"", sub);
	else if (c->storage_auth == STORAGE_SAS && sas_file)
		rc = config_read_secret(sas_file, &c->storage_sas, err, errlen);
	else if (c->storage_auth == STORAGE_SAS)
		rc = fail(err, errlen, -EINVAL, "%s: auth \"sas\" needs \"sas_file\"", sub);
	if (rc)
		goto out;
	if (c->storage_sas && c->storage_sas[0] == '?')
		memmove(c->storage_sas, c->storage_sas + 1, strlen(c->storage_sas));
	cont = cJSON_GetObjectItemCaseSensitive(st, "containers");
	if (cont) {
		if (!cJSON_IsArray(cont)) {
			rc = fail(err, errlen, -EINVAL,
			          "%s.containers: expected an array of container names", sub);
			goto out;
		}
		c->containers = calloc((size_t)cJSON_GetArraySize(cont) + 1, sizeof(char *));
		if (!c->containers) {
			rc = -ENOMEM;
			goto out;
		}
		cJSON_ArrayForEach(it, cont)
		{
			if (!cJSON_IsString(it) || !it->valuestring[0] ||
			    strchr(it->valuestring, '/')) {
				rc = fail(err, errlen, -EINVAL,
				          "%s.containers[%zu]: expected a container name", sub, n);
				goto out;
			}
			c->containers[n++] = strdup(it->valuestring);
		}
	}
out:
	free(auth);
	free(key_file);
	free(sas_file);
	return rc;
}

/*
 * "apps": {"<name or appId>": {"client_secret_file": F, "key_vault_secret": S}}:
 * how pipelines sign in as apps other than the profile's client.
 */
static int parse_apps(struct config *c, const cJSON *prof, const char *where, const char *dir,
                      char *err, size_t errlen)
{
	const cJSON *apps = cJSON_GetObjectItemCaseSensitive(prof, "apps"), *it;
	char sub[320], *file = NULL;
	int rc = 0;

	if (!apps)
		return 0;
	if (!cJSON_IsObject(apps))
		return fail(err, errlen, -EINVAL,
		            "%s.apps: expected an object of app names or appIds, each "
		            "{\"client_secret_file\": ...} or {\"key_vault_secret\": ...}",
		            where);
	c->apps = calloc((size_t)cJSON_GetArraySize(apps) + 1, sizeof(*c->apps));
	if (!c->apps)
		return -ENOMEM;
	cJSON_ArrayForEach(it, apps)
	{
		struct config_app *a = &c->apps[c->n_apps];

		snprintf(sub, sizeof(sub), "%s.apps.%.100s", where, it->string);
		if (!it->string[0] || strlen(it->string) > 128)
			return fail(err, errlen, -EINVAL,
			            "%s.apps: an app name or appId of 1 to 128 characters", where);
		if (!cJSON_IsObject(it))
			return fail(err, errlen, -EINVAL, "%s: expected an object", sub);
		if ((rc = check_keys(it, app_keys, sub, err, errlen)))
			return rc;
		if (!(a->key = strdup(it->string)))
			return -ENOMEM;
		c->n_apps++;
		if ((rc = get_path(it, "client_secret_file", sub, dir, &file, err, errlen)) ||
		    (rc = get_str(it, "key_vault_secret", sub, &a->keyvault_secret, err, errlen)))
			break;
		if (file && (rc = config_read_secret(file, &a->client_secret, err, errlen)))
			break;
		if (a->keyvault_secret && !c->keyvault) {
			rc = fail(
			    err, errlen, -EINVAL,
			    "%s.key_vault_secret: needs the profile's \"key_vault\" (the Key Vault "
			    "linked service that holds it)",
			    sub);
			break;
		}
		if (!a->client_secret && !a->keyvault_secret) {
			rc = fail(err, errlen, -EINVAL,
			          "%s: give \"client_secret_file\" or \"key_vault_secret\"", sub);
			break;
		}
		free(file);
		file = NULL;
	}
	free(file);
	return rc;
}

const struct config_app *config_app_find(const struct config *c, const char *name,
                                         const char *app_id)
{
	/* An entry keyed by the appId wins over one keyed by the name. */
	for (size_t i = 0; app_id && i < c->n_apps; i++)
		if (strcasecmp(c->apps[i].key, app_id) == 0)
			return &c->apps[i];
	for (size_t i = 0; name && i < c->n_apps; i++)
		if (strcmp(c->apps[i].key, name) == 0)
			return &c->apps[i];
	return NULL;
}

const char *config_host_name(enum config_host h)
{
	return h == HOST_SYNAPSE ? "synapse" : h == HOST_FABRIC ? "fabric" : "adf";
}

/* A name that is one DNS label: Synapse's workspace is the first label of its endpoint. */
static int config_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

/* 8-4-4-4-12 hexadecimal digits: how Fabric names a workspace. */
static int config_guid(const char *s)
{
	static const int dash[] = {8, 13, 18, 23};
	size_t i, d = 0;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (d < 4 && (size_t)dash[d] == i) {
			if (s[i] != '-')
				return 0;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* A key of `keys` that is set in `o`, or NULL: for "only for host X" errors. */
static const char *config_present(const cJSON *o, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(o, keys[i]))
			return keys[i];
	return NULL;
}

/*
 * The profile's "pipelines" object: the host and what it needs. ADF's
 * factory keys may be given here or at the profile's top level (not both).
 */
static int parse_pipelines(struct config *c, const cJSON *prof, const char *where, char *err,
                           size_t errlen)
{
	static const char *const adf_only[] = {"factory", "subscription_id", "resource_group",
	                                       NULL};
	static const char *const fabric_only[] = {"lakehouse", "onelake_url", NULL};
	static const char *const not_adf[] = {"workspace", "endpoint", "lakehouse", "onelake_url",
	                                      NULL};
	const cJSON *o;
	const char *bad;
	char sub[128], *host = NULL;
	int rc;

	if ((rc = get_obj(prof, "pipelines", where, pipelines_keys, &o, err, errlen)) || !o)
		return rc;
	snprintf(sub, sizeof(sub), "%s.pipelines", where);
	if ((rc = get_str(o, "host", sub, &host, err, errlen)))
		return rc;
	if (!host || strcmp(host, "adf") == 0)
		c->host = HOST_ADF;
	else if (strcmp(host, "synapse") == 0)
		c->host = HOST_SYNAPSE;
	else if (strcmp(host, "fabric") == 0)
		c->host = HOST_FABRIC;
	else
		rc = fail(err, errlen, -EINVAL,
		          "%s.host: '%s' is not a pipeline host; use \"adf\" (Azure Data Factory), "
		          "\"synapse\" (an Azure Synapse workspace) or \"fabric\" (a Microsoft "
		          "Fabric workspace)",
		          sub, host);
	free(host);
	if (rc)
		return rc;
	bad = c->host == HOST_ADF ? config_present(o, not_adf)
	      : c->host == HOST_SYNAPSE
	          ? (config_present(o, adf_only) ? config_present(o, adf_only)
	                                         : config_present(o, fabric_only))
	          : config_present(o, adf_only);
	if (bad)
		return fail(err, errlen, -EINVAL, "%s.%s: not a key of host \"%s\"; it needs %s",
		            sub, bad, config_host_name(c->host),
		            c->host == HOST_ADF ? "factory, subscription_id and resource_group"
		            : c->host == HOST_SYNAPSE
		                ? "workspace (the workspace's name) and optionally endpoint"
		                : "workspace (the workspace's id), optionally lakehouse, endpoint "
		                  "and onelake_url");
	for (size_t i = 0; c->host == HOST_ADF && adf_only[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(prof, adf_only[i]) &&
		    cJSON_GetObjectItemCaseSensitive(o, adf_only[i]))
			return fail(err, errlen, -EINVAL,
			            "%s.%s: also given at the profile's top level; keep one", sub,
			            adf_only[i]);
	if ((rc = get_str(o, "subscription_id", sub, &c->subscription_id, err, errlen)) ||
	    (rc = get_str(o, "resource_group", sub, &c->resource_group, err, errlen)) ||
	    (rc = get_str(o, "factory", sub, &c->factory, err, errlen)) ||
	    (rc = get_str(o, "workspace", sub, &c->workspace, err, errlen)) ||
	    (rc = get_str(o, "endpoint", sub, &c->pipelines_url, err, errlen)) ||
	    (rc = get_str(o, "lakehouse", sub, &c->lakehouse, err, errlen)) ||
	    (rc = get_str(o, "onelake_url", sub, &c->onelake_url, err, errlen)))
		return rc;
	if (c->host != HOST_ADF && !c->workspace)
		return fail(err, errlen, -EINVAL, "%s: host \"%s\" needs \"workspace\": %s", sub,
		            config_host_name(c->host),
		            c->host == HOST_SYNAPSE
		                ? "the Synapse workspace's name (the first label of "
		                  "https://<workspace>.dev.azuresynapse.net)"
		                : "the Fabric workspace's id, a GUID");
	if (c->host == HOST_SYNAPSE && !config_dns_label(c->workspace))
		return fail(
		    err, errlen, -EINVAL,
		    "%s.workspace: '%s' is not a Synapse workspace name; it is the first label "
		    "of https://<workspace>.dev.azuresynapse.net: letters, digits and '-', at "
		    "most 63, not starting or ending with '-'",
		    sub, c->workspace);
	if (c->host == HOST_FABRIC && !config_guid(c->workspace))
		return fail(err, errlen, -EINVAL,
		            "%s.workspace: '%s' is not a Fabric workspace id; give the workspace's "
		            "GUID (8-4-4-4-12 hexadecimal digits, as in the workspace's URL)",
		            sub, c->workspace);
	return 0;
}

static int parse_profile(struct config *c, const cJSON *prof, const char *dir, char *err,
                         size_t errlen)
{
	const cJSON *o;
	char where[96], *secret_file = NULL, *alg = NULL;
	double v;
	int rc;

	snprintf(where, sizeof(where), "profiles.%s", c->profile);
	if (!cJSON_IsObject(prof))
		return fail(err, errlen, -EINVAL, "%s: expected an object", where);
	if ((rc = check_keys(prof, profile_keys, where, err, errlen)))
		return rc;
	if ((rc = get_str(prof, "tenant_id", where, &c->tenant_id, err, errlen)) ||
	    (rc = get_str(prof, "client_id", where, &c->client_id, err, errlen)) ||
	    (rc = get_path(prof, "client_secret_file", where, dir, &secret_file, err, errlen)) ||
	    (rc = get_path(prof, "client_certificate_file", where, dir, &c->cert_file, err,
	                   errlen)) ||
	    (rc = get_path(prof, "client_key_file", where, dir, &c->key_file, err, errlen)) ||
	    (rc = get_str(prof, "assertion_alg", where, &alg, err, errlen)) ||
	    (rc = get_str(prof, "subscription_id", where, &c->subscription_id, err, errlen)) ||
	    (rc = get_str(prof, "resource_group", where, &c->resource_group, err, errlen)) ||
	    (rc = get_str(prof, "factory", where, &c->factory, err, errlen)) ||
	    (rc = get_str(prof, "key_vault", where, &c->keyvault, err, errlen)) ||
	    (rc =
	         get_str(prof, "registration_scope", where, &c->registration_scope, err, errlen)) ||
	    (rc = get_path(prof, "ca_file", where, dir, &c->ca_file, err, errlen)))
		goto out;
	if (alg && strcmp(alg, "PS256") && strcmp(alg, "RS256")) {
		rc = fail(err, errlen, -EINVAL,
		          "%s.assertion_alg: '%s' is not valid; use \"PS256\" or \"RS256\"", where,
		          alg);
		goto out;
	}
	c->assertion_rs256 = alg && strcmp(alg, "RS256") == 0;
	if (secret_file && (rc = config_read_secret(secret_file, &c->client_secret, err, errlen)))
		goto out;
	if ((rc = parse_storage(c, prof, where, dir, err, errlen)) ||
	    (rc = parse_pipelines(c, prof, where, err, errlen)) ||
	    (rc = parse_apps(c, prof, where, dir, err, errlen)) ||
	    (rc = parse_credential(c, prof, where, dir, err, errlen)))
		goto out;

	if ((rc = get_obj(prof, "endpoints", where, endpoint_keys, &o, err, errlen)))
		goto out;
	if (o) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s.endpoints", where);
		if ((rc = get_str(o, "login", sub, &c->login_url, err, errlen)) ||
		    (rc = get_str(o, "graph", sub, &c->graph_url, err, errlen)) ||
		    (rc = get_str(o, "arm", sub, &c->arm_url, err, errlen)) ||
		    (rc = get_str(o, "registration", sub, &c->registration_url, err, errlen)) ||
		    (rc = get_str(o, "blob", sub, &c->blob_url, err, errlen)))
			goto out;
	}
	if ((rc = get_obj(prof, "cache", where, cache_keys, &o, err, errlen)))
		goto out;
	if (o) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s.cache", where);
		if ((rc = get_path(o, "dir", sub, dir, &c->cache_dir, err, errlen)))
			goto out;
		v = (double)(c->cache_budget >> 20);
		if ((rc = get_num(o, "budget_mb", sub, 16, 16 << 20, &v, err, errlen)))
			goto out;
		c->cache_budget = (uint64_t)v << 20;
		v = c->chunk_size >> 10;
		if ((rc = get_num(o, "chunk_kb", sub, 64, 64 << 10, &v, err, errlen)))
			goto out;
		c->chunk_size = (uint32_t)v << 10;
		v = c->readahead_chunks;
		if ((rc = get_num(o, "readahead_chunks", sub, 0, 64, &v, err, errlen)))
			goto out;
		c->readahead_chunks = (uint32_t)v;
	}
	if ((rc = get_obj(prof, "ttl", where, ttl_keys, &o, err, errlen)))
		goto out;
	if (o) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s.ttl", where);
		v = c->ttl_metadata_s;
		if ((rc = get_num(o, "metadata_s", sub, 0, 86400, &v, err, errlen)))
			goto out;
		c->ttl_metadata_s = (int)v;
		v = c->ttl_status_s;
		if ((rc = get_num(o, "status_s", sub, 0, 86400, &v, err, errlen)))
			goto out;
		c->ttl_status_s = (int)v;
		v = c->ttl_listing_s;
		if ((rc = get_num(o, "listing_s", sub, 0, 86400, &v, err, errlen)))
			goto out;
		c->ttl_listing_s = (int)v;
	}
	if ((rc = get_obj(prof, "timeouts", where, timeout_keys, &o, err, errlen)))
		goto out;
	if (o) {
		char sub[128];

		snprintf(sub, sizeof(sub), "%s.timeouts", where);
		v = (double)c->connect_ms;
		if ((rc = get_num(o, "connect_ms", sub, 100, 600000, &v, err, errlen)))
			goto out;
		c->connect_ms = (long)v;
		v = (double)c->io_s;
		if ((rc = get_num(o, "io_s", sub, 1, 3600, &v, err, errlen)))
			goto out;
		c->io_s = (long)v;
		v = c->retries;
		if ((rc = get_num(o, "retries", sub, 0, 20, &v, err, errlen)))
			goto out;
		c->retries = (int)v;
		v = (double)c->deadline_ms;
		if ((rc = get_num(o, "deadline_ms", sub, 1000, 3600000, &v, err, errlen)))
			goto out;
		c->deadline_ms = (long)v;
		v = (double)c->dns_cache_s;
		if ((rc = get_num(o, "dns_cache_s", sub, 1, 3600, &v, err, errlen)))
			goto out;
		c->dns_cache_s = (long)v;
	}
out:
	free(secret_file);
	free(alg);
	return rc;
}

static void set_defaults(struct config *c)
{
	c->cache_budget = 2ULL << 30;
	c->chunk_size = 8u << 20;
	c->readahead_chunks = 4;
	c->ttl_metadata_s = 30;
	c->ttl_status_s = 5;
	c->ttl_listing_s = 60;
	c->connect_ms = 5000;
	c->io_s = 15;
	c->retries = 4;
	c->deadline_ms = 60000;
	c->dns_cache_s = 60;
}

static int dup_default(char **dst, const char *val)
{
	if (*dst || !val)
		return 0;
	*dst = strdup(val);
	return *dst ? 0 : -ENOMEM;
}

/* Fill what is still missing from the environment and the public-cloud defaults. */
static int fill_from_env(struct config *c, char *err, size_t errlen)
{
	const char *authority = getenv("AZURE_AUTHORITY_HOST");
	char *blob = NULL;
	int rc = 0;

	if ((rc = dup_default(&c->tenant_id, getenv("AZURE_TENANT_ID"))) ||
	    (rc = dup_default(&c->client_id, getenv("AZURE_CLIENT_ID"))))
		return rc;
	if ((rc = settle_credential(c, err, errlen)))
		return rc;
	/* A sovereign cloud's login host (azure-identity's variable); the profile's wins. */
	if (authority && authority[0] && (rc = dup_default(&c->login_url, authority)))
		return rc;
	if ((rc = dup_default(&c->login_url, "https://login.microsoftonline.com")) ||
	    (rc = dup_default(&c->graph_url, "https://graph.microsoft.com")) ||
	    (rc = dup_default(&c->arm_url, "https://management.azure.com")) ||
	    (rc = dup_default(&c->registration_scope, "api://mgdc-registration/.default")))
		return rc;
	if (c->host == HOST_SYNAPSE && !c->pipelines_url) {
		if (asprintf(&c->pipelines_url, "https://%s.dev.azuresynapse.net", c->workspace) <
		    0) {
			c->pipelines_url = NULL;
			return -ENOMEM;
		}
	}
	if (c->host == HOST_FABRIC &&
	    ((rc = dup_default(&c->pipelines_url, "https://api.fabric.microsoft.com/v1")) ||
	     (rc = dup_default(&c->onelake_url, "https://onelake.blob.fabric.microsoft.com"))))
		return rc;
	if (!c->blob_url && c->storage_account) {
		if (asprintf(&blob, "https://%s.blob.core.windows.net", c->storage_account) < 0)
			return -ENOMEM;
		c->blob_url = blob;
	}
	/* NULL when no default applies (no HOME, not root): main.c asks for --cache-dir. */
	if (!c->cache_dir)
		c->cache_dir = default_cache_dir(c->profile);
	if (!c->tenant_id)
		return fail(err, errlen, -EINVAL,
		            "profile '%s': no tenant: set \"tenant_id\" or AZURE_TENANT_ID",
		            c->profile);
	if ((rc = check_url("endpoints.login", c->login_url, err, errlen)) ||
	    (rc = check_url("endpoints.graph", c->graph_url, err, errlen)) ||
	    (rc = check_url("endpoints.arm", c->arm_url, err, errlen)) ||
	    (rc = check_url("endpoints.registration", c->registration_url, err, errlen)) ||
	    (rc = check_url("endpoints.blob", c->blob_url, err, errlen)) ||
	    (rc = check_url("pipelines.endpoint", c->pipelines_url, err, errlen)) ||
	    (rc = check_url("pipelines.onelake_url", c->onelake_url, err, errlen)))
		return rc;
	return 0;
}

int config_load(struct config *c, const char *path, const char *profile, char *err, size_t errlen)
{
	char *text = NULL, *dpath = NULL, *dir = NULL, *slash;
	cJSON *root = NULL;
	const cJSON *profs, *prof = NULL, *def;
	int rc;

	memset(c, 0, sizeof(*c));
	set_defaults(c);
	err[0] = '\0';
	if (!path) {
		/* The user's file, else the system's (a mount from fstab or a unit has no HOME). */
		dpath = user_config_path();
		if (dpath && access(dpath, F_OK) == 0)
			path = dpath;
		else if (access(SYSTEM_CONFIG, F_OK) == 0)
			path = SYSTEM_CONFIG;
	}
	if (path) {
		if ((rc = check_config_mode(path, err, errlen)) ||
		    (rc = read_file_capped(path, &text, err, errlen)))
			goto out;
		root = cJSON_Parse(text);
		if (!cJSON_IsObject(root)) {
			rc = fail(err, errlen, -EINVAL,
			          "config %s: not a JSON object (near byte %ld)", path,
			          root ? 0L : (long)(cJSON_GetErrorPtr() - text));
			goto out;
		}
		if ((rc = check_keys(root, top_keys, "config", err, errlen)))
			goto out;
		{
			char dup[400];

			rc = jsonkeys_duplicate(text, dup, sizeof(dup));
			if (rc > 0)
				rc =
				    fail(err, errlen, -EINVAL,
				         "config %s: a key given twice in one object, %s; keep one",
				         path, dup);
			if (rc)
				goto out;
		}
		def = cJSON_GetObjectItemCaseSensitive(root, "default_profile");
		if (def && (!cJSON_IsString(def) || !def->valuestring[0])) {
			rc = fail(err, errlen, -EINVAL,
			          "config %s: \"default_profile\": expected the name of a profile",
			          path);
			goto out;
		}
		if (!profile && def)
			profile = def->valuestring;
		profs = cJSON_GetObjectItemCaseSensitive(root, "profiles");
		if (!cJSON_IsObject(profs)) {
			rc = fail(err, errlen, -EINVAL,
			          "config %s: \"profiles\": expected an object of named profiles",
			          path);
			goto out;
		}
		/* No name anywhere: a file with one profile means that one. */
		if (!profile && cJSON_GetArraySize(profs) == 1 && profs->child->string)
			profile = profs->child->string;
		if (!profile)
			profile = "default";
		prof = cJSON_GetObjectItemCaseSensitive(profs, profile);
		if (!prof) {
			char names[256] = "";
			const cJSON *it;
			size_t o = 0;

			/* Stop at the buffer's end: names + o past it is undefined even with
			 * a zero size (found by tests/fuzz/fuzz_config). */
			cJSON_ArrayForEach(it, profs)
			{
				if (o >= sizeof(names) - 1)
					break;
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
				                      o ? ", " : "", it->string);
			}
			rc = fail(err, errlen, -EINVAL,
			          "config %s: no profile '%s'; profiles in the file: %s", path,
			          profile, names[0] ? names : "(none)");
			goto out;
		}
		/* Absolute, because relative paths in it resolve against its directory and
		 * libfuse changes to / when it goes into the background. */
		c->path = realpath(path, NULL);
		if (!c->path) {
			rc = fail(err, errlen, -errno, "config %s: %s", path, strerror(errno));
			goto out;
		}
		dir = strdup(c->path);
		slash = dir ? strrchr(dir, '/') : NULL;
		if (slash)
			*slash = '\0';
	}
	c->profile = strdup(profile ? profile : "default");
	if (!c->profile) {
		rc = -ENOMEM;
		goto out;
	}
	if (prof && (rc = parse_profile(c, prof, dir, err, errlen)))
		goto out;
	if (!prof && !getenv("AZURE_TENANT_ID")) {
		rc = fail(err, errlen, -ENOENT,
		          "no config file (looked for %s%s" SYSTEM_CONFIG
		          "; use --config FILE) and no AZURE_TENANT_ID in the environment",
		          dpath ? dpath : "", dpath ? " and " : "");
		goto out;
	}
	rc = fill_from_env(c, err, errlen);
out:
	if (rc)
		config_release(c);
	cJSON_Delete(root);
	free(text);
	free(dpath);
	free(dir);
	return rc;
}

void config_release(struct config *c)
{
	size_t i;

	wipe_free(c->client_secret);
	wipe_free(c->storage_key);
	wipe_free(c->storage_sas);
	for (i = 0; i < c->n_apps; i++) {
		wipe_free(c->apps[i].client_secret);
		free(c->apps[i].key);
		free(c->apps[i].keyvault_secret);
	}
	free(c->apps);
	wipe_free(c->cert_password);
	free(c->federated_token_file);
	free(c->mi_client_id);
	free(c->mi_object_id);
	free(c->mi_resource_id);
	free(c->path);
	free(c->profile);
	free(c->tenant_id);
	free(c->client_id);
	free(c->cert_file);
	free(c->key_file);
	free(c->subscription_id);
	free(c->resource_group);
	free(c->factory);
	free(c->workspace);
	free(c->lakehouse);
	free(c->pipelines_url);
	free(c->onelake_url);
	free(c->keyvault);
	free(c->storage_account);
	for (i = 0; c->containers && c->containers[i]; i++)
		free(c->containers[i]);
	free(c->containers);
	free(c->login_url);
	free(c->graph_url);
	free(c->arm_url);
	free(c->registration_url);
	free(c->blob_url);
	free(c->registration_scope);
	free(c->ca_file);
	free(c->cache_dir);
	memset(c, 0, sizeof(*c));
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

char *config_to_json(const struct config *c)
{
	static const char *const auth_names[] = {"shared_key", "sas", "entra"};
	cJSON *o = cJSON_CreateObject(), *s, *e, *x;
	char *out;
	size_t i;

	if (!o)
		return NULL;
	add_str(o, "config_file", c->path);
	add_str(o, "profile", c->profile);
	add_str(o, "tenant_id", c->tenant_id);
	add_str(o, "client_id", c->client_id);
	cJSON_AddStringToObject(o, "credential", config_cred_name(c->credential));
	if (c->credential == CRED_SECRET || c->credential == CRED_ENV)
		cJSON_AddStringToObject(o, "client_secret", c->client_secret ? "(set)" : "(unset)");
	if (c->cert_file)
		cJSON_AddStringToObject(o, "assertion_alg", c->assertion_rs256 ? "RS256" : "PS256");
	if (c->mi_client_id || c->mi_object_id || c->mi_resource_id)
		add_str(o, "managed_identity",
		        c->mi_client_id   ? c->mi_client_id
		        : c->mi_object_id ? c->mi_object_id
		                          : c->mi_resource_id);
	add_str(o, "federated_token_file", c->federated_token_file);
	add_str(o, "client_certificate_file", c->cert_file);
	add_str(o, "subscription_id", c->subscription_id);
	add_str(o, "resource_group", c->resource_group);
	add_str(o, "factory", c->factory);
	x = cJSON_AddObjectToObject(o, "pipelines");
	cJSON_AddStringToObject(x, "host", config_host_name(c->host));
	if (c->host != HOST_ADF) {
		add_str(x, "workspace", c->workspace);
		add_str(x, "endpoint", c->pipelines_url);
	}
	if (c->host == HOST_FABRIC) {
		add_str(x, "lakehouse", c->lakehouse);
		add_str(x, "onelake_url", c->onelake_url);
	}
	add_str(o, "key_vault", c->keyvault);
	x = cJSON_AddObjectToObject(o, "apps");
	for (i = 0; i < c->n_apps; i++) {
		cJSON *a = cJSON_AddObjectToObject(x, c->apps[i].key);

		if (c->apps[i].client_secret)
			cJSON_AddStringToObject(a, "client_secret", "(set)");
		if (c->apps[i].keyvault_secret)
			cJSON_AddStringToObject(a, "key_vault_secret", c->apps[i].keyvault_secret);
	}
	s = cJSON_AddObjectToObject(o, "storage");
	add_str(s, "account", c->storage_account);
	cJSON_AddStringToObject(s, "auth", auth_names[c->storage_auth]);
	if (c->storage_credential != CRED_NONE)
		cJSON_AddStringToObject(s, "credential", config_cred_name(c->storage_credential));
	cJSON_AddStringToObject(s, "secret",
	                        (c->storage_key || c->storage_sas) ? "(set)" : "(unset)");
	x = cJSON_AddArrayToObject(s, "containers");
	for (i = 0; c->containers && c->containers[i]; i++)
		cJSON_AddItemToArray(x, cJSON_CreateString(c->containers[i]));
	e = cJSON_AddObjectToObject(o, "endpoints");
	add_str(e, "login", c->login_url);
	add_str(e, "graph", c->graph_url);
	add_str(e, "arm", c->arm_url);
	add_str(e, "registration", c->registration_url);
	add_str(e, "blob", c->blob_url);
	add_str(o, "registration_scope", c->registration_scope);
	add_str(o, "ca_file", c->ca_file);
	x = cJSON_AddObjectToObject(o, "cache");
	add_str(x, "dir", c->cache_dir);
	cJSON_AddNumberToObject(x, "budget_mb", (double)(c->cache_budget >> 20));
	cJSON_AddNumberToObject(x, "chunk_kb", c->chunk_size >> 10);
	cJSON_AddNumberToObject(x, "readahead_chunks", c->readahead_chunks);
	x = cJSON_AddObjectToObject(o, "ttl");
	cJSON_AddNumberToObject(x, "metadata_s", c->ttl_metadata_s);
	cJSON_AddNumberToObject(x, "status_s", c->ttl_status_s);
	cJSON_AddNumberToObject(x, "listing_s", c->ttl_listing_s);
	x = cJSON_AddObjectToObject(o, "timeouts");
	cJSON_AddNumberToObject(x, "connect_ms", (double)c->connect_ms);
	cJSON_AddNumberToObject(x, "io_s", (double)c->io_s);
	cJSON_AddNumberToObject(x, "retries", c->retries);
	cJSON_AddNumberToObject(x, "deadline_ms", (double)c->deadline_ms);
	cJSON_AddNumberToObject(x, "dns_cache_s", (double)c->dns_cache_s);
	out = text_json(o, NULL);
	cJSON_Delete(o);
	return out;
}
