/*
 * config.h - the mgdcfs configuration: one profile of a JSON config file,
 * completed by the azure-identity environment variables.
 *
 * Precedence: a value in the profile wins; AZURE_TENANT_ID, AZURE_CLIENT_ID,
 * AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH fill what the profile
 * leaves out (and make up a whole profile when there is no config file).
 * Secrets come only from files that no group or other user can read, or
 * from the environment; never from the command line.
 */
#ifndef MGDCFS_FS_CONFIG_H
#define MGDCFS_FS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum storage_auth { STORAGE_SHARED_KEY = 0, STORAGE_SAS = 1, STORAGE_ENTRA = 2 };

/*
 * How pipelines sign in as an app other than the profile's own client: one
 * entry of the profile's "apps" object, keyed by the app's name under apps/
 * or by its appId.
 */
struct config_app {
	char *key;             /* app name or appId */
	char *client_secret;   /* secret (from client_secret_file): wiped on release; or NULL */
	char *keyvault_secret; /* secret name in the profile's Key Vault, or NULL */
};

/*
 * Which credential signs in (mgdcfs(1), Credentials). CRED_DEFAULT tries, in
 * DefaultAzureCredential's order, the environment, workload identity,
 * managed identity and the Azure CLI; the first that gives a token is kept.
 */
enum config_cred {
	CRED_NONE = 0, /* storage only: the profile's own credential */
	CRED_SECRET,
	CRED_CERT,
	CRED_ENV, /* AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH */
	CRED_WORKLOAD,
	CRED_MSI,
	CRED_AZCLI,
	CRED_DEFAULT,
};

/* Where pipelines run (mgdcfs(1), CONFIGURATION: "pipelines"). */
enum config_host { HOST_ADF = 0, HOST_SYNAPSE = 1, HOST_FABRIC = 2 };

struct config {
	char *path;    /* config file used, or NULL when built from the environment */
	char *profile; /* profile name */
	char *tenant_id;
	char *client_id;
	char *client_secret; /* secret: wiped on release */
	char *cert_file;     /* client certificate (PEM), or NULL */
	char *key_file;      /* its key (PEM); NULL: in cert_file */
	int assertion_rs256; /* 1: RS256 + x5t; 0: PS256 + x5t#S256 */
	char *subscription_id;
	char *resource_group;
	char *factory;
	enum config_host host; /* pipelines.host; HOST_ADF when absent */
	char *workspace;       /* Synapse workspace name, or Fabric workspace id (GUID) */
	char *lakehouse;       /* Fabric: the Lakehouse output lands in, or NULL */
	char *pipelines_url;   /* Synapse development endpoint, or Fabric REST base; NULL for ADF */
	char *onelake_url;     /* Fabric: OneLake's Blob-compatible endpoint, or NULL */
	char *keyvault;        /* Key Vault linked service for the app's secret, or NULL */
	struct config_app *apps; /* n_apps entries, or NULL */
	size_t n_apps;
	char *storage_account;
	enum storage_auth storage_auth;
	char *storage_key; /* secret (base64 account key) */
	char *storage_sas; /* secret (SAS token without '?') */
	char **containers; /* NULL-terminated, or NULL for all */
	char *login_url, *graph_url, *arm_url, *registration_url, *blob_url;
	char *registration_scope;
	char *ca_file;
	char *cache_dir;
	uint64_t cache_budget; /* bytes */
	uint32_t chunk_size;   /* bytes */
	uint32_t readahead_chunks;
	int ttl_metadata_s, ttl_status_s, ttl_listing_s;
	long connect_ms, io_s, deadline_ms;
	long dns_cache_s; /* how long a looked-up address is reused */
	int retries;
	/* Credentials beyond the secret and certificate files above. */
	enum config_cred credential;
	enum config_cred storage_credential; /* storage.auth "msi", "azcli", ...; else CRED_NONE */
	char *cert_password;                 /* secret: PKCS#12 or encrypted-key password */
	int send_cert_chain;                 /* x5c: send the certificate chain */
	char *federated_token_file;          /* workload identity's client assertion */
	char *mi_client_id, *mi_object_id, *mi_resource_id; /* user-assigned managed identity */
	int azcli_timeout_s;
};

/*
 * config_load - load profile `profile` (NULL: the file's default_profile,
 * else "default") from `path` (NULL: $XDG_CONFIG_HOME/mgdcfs/config.json,
 * which may be absent when the environment supplies a profile). Returns 0,
 * or -EINVAL/-EACCES/-ENOENT with one line in err naming the key and what
 * would be valid. On failure nothing needs releasing. Not thread-safe; call
 * once at start-up.
 */
int config_load(struct config *c, const char *path, const char *profile, char *err, size_t errlen);

/*
 * config_app_find - the "apps" entry for app `name` (may be NULL) or
 * `app_id` (may be NULL; compared case-insensitively), or NULL.
 */
const struct config_app *config_app_find(const struct config *c, const char *name,
                                         const char *app_id);

/* config_release - wipe secrets and free everything. */
void config_release(struct config *c);

/*
 * config_read_secret - read a secret file: refuses (-EACCES) a file readable
 * or writable by group or others or not owned by us, strips one trailing
 * newline, caps the size at 16 KiB. *out is malloc'd; wipe and free it.
 */
int config_read_secret(const char *file, char **out, char *err, size_t errlen);

/* config_host_name - "adf", "synapse" or "fabric", as the profile spells the host. */
const char *config_host_name(enum config_host h);

/* config_cred_name - "client secret", "managed identity", ... for messages. */
const char *config_cred_name(enum config_cred c);

/*
 * config_to_json - the effective configuration without any secret (secrets
 * are shown as "(set)" / "(unset)"), pretty-printed with a final newline,
 * malloc'd.
 */
char *config_to_json(const struct config *c);

#endif
