/*
 * spec.h - validation and translation of what users write into the tree:
 * registration specs (apps/<name>.json), pipeline specs
 * (pipelines/<name>.json) and the small command values (tenant/data-connect,
 * apps/<name>/consent, pipelines/<name>/trigger).
 *
 * Everything here is pure: cJSON and the catalog in, cJSON and one line of
 * error text out; no network, no FUSE, no global state, so every function is
 * safe from any thread. A refused input returns -EINVAL and writes exactly
 * one line into the caller's buffer:
 *
 *     <file>: <field path>: <what is wrong>; <what would be valid>
 *
 * where the field path is "$" for the whole document, "line L, column C"
 * for malformed JSON, otherwise e.g. "datasets[0].columns[2]" or
 * "dateFilter.column". Other errors: -ENOMEM, -EFBIG (over SPEC_MAX_BYTES;
 * the line is written too).
 */
#ifndef MGDCFS_FS_SPEC_H
#define MGDCFS_FS_SPEC_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "fs/catalog.h"
#include "fs/plan.h"

/* Size cap of one spec file or command value. */
#define SPEC_MAX_BYTES (64u << 10)
/*
 * App and pipeline names: at most 63 characters. ADF allows 260, but mgdcfs
 * derives linked-service and dataset names from the pipeline name
 * ("mgdcfs_<name>_o365", fs/plan.h), and 63 keeps every derived name inside
 * every ADF and Synapse limit and readable in `ls`.
 */
#define SPEC_NAME_MAX 63
/* allowedGroups: the service takes at most 10 group ids. */
#define SPEC_MAX_GROUPS   10
#define SPEC_MAX_DATASETS 64
#define SPEC_MAX_PARAMS   32
#define SPEC_FOLDER_MAX   1024
#define SPEC_URI_MAX      2048
/*
 * A sample ("sample": N) asks for at most N objects. MGDC documents no
 * bound; 2^31 - 1 is the largest integer Data Factory's typed values and
 * the service's 32-bit counts carry, so anything above is refused here.
 */
#define SPEC_SAMPLE_MAX 2147483647LL

/*
 * Defaults taken from the mounted profile. Any pointer may be NULL (no
 * default). None of these is a secret.
 */
struct spec_profile {
	const char *client_id; /* default appId */
	const char *tenant_id;
	const char *subscription_id; /* default destination.subscriptionId */
	const char *resource_group;  /* default destination.resourceGroup */
	const char *storage_account; /* default destination.storageAccount */
	const char *blob_endpoint; /* e.g. https://acct.blob.core.windows.net/ (or the sandbox's) */
	const char *keyvault;      /* Key Vault linked service in the factory, or NULL */
	const char *keyvault_secret; /* secret name in it; NULL: "mgdcfs-<appId>" */
	/*
	 * The clock SharePoint snapshot dates are checked against (seconds since
	 * the epoch): which dates MGDC still keeps depends on today. 0 means the
	 * system clock; tests set it to check the window on dates of their choosing.
	 */
	long long now;
};

/*
 * spec_parse_registration - validate the registration spec `buf` (`len`
 * bytes) written to `file` (e.g. "apps/mail.json"; the app name is its base
 * name without ".json") and build the body of PUT /registrations/{appId}.
 * "columns": "all" expands to every catalog column; appId and the
 * destination's subscription, resource group, account and uri default to
 * the profile's. Returns 0 and *body_out (caller frees with cJSON_Delete),
 * or -EINVAL/-EFBIG/-ENOMEM with one line in err.
 */
int spec_parse_registration(const char *file, const char *buf, size_t len,
                            const struct spec_profile *p, const struct catalog *cat,
                            cJSON **body_out, char *err, size_t errlen);

/*
 * spec_parse_pipeline - validate the pipeline spec `buf` written to `file`
 * (e.g. "pipelines/week45.json") against the catalog and, when
 * `registration` is not NULL, against the app's registration as the
 * contract returns it (its approvedSnapshot when the status is
 * UpdateAvailable), and plan the ADF resources. `secret` is the app's
 * client secret: it is copied into the Office 365 linked service's
 * servicePrincipalKey SecureString and nowhere else; it may be NULL when the
 * profile names a Key Vault. A spec that is already an ADF pipeline
 * resource (has properties.activities) is passed through as the only
 * resource. Returns 0 with *plan filled (release with plan_free), or
 * -EINVAL/-EFBIG/-ENOMEM with one line in err and *plan empty.
 */
int spec_parse_pipeline(const char *file, const char *buf, size_t len, const struct spec_profile *p,
                        const struct catalog *cat, const cJSON *registration, const char *secret,
                        struct pipeline_plan *plan, char *err, size_t errlen);

/*
 * spec_output_ok - 1 if (container, folder) pass the checks a spec's output
 * passes (a container name; a folder of plain segments, no "." or ".."),
 * for outputs read back from a service. Pure.
 */
int spec_output_ok(const char *container, const char *folder);

/*
 * spec_parse_data_connect - "enabled" or "disabled", surrounding whitespace
 * allowed. Returns 0 with *enabled set, or -EINVAL with one line in err.
 */
int spec_parse_data_connect(const char *file, const char *buf, size_t len, int *enabled, char *err,
                            size_t errlen);

/* spec_parse_consent - "approve" (*approve = 1) or "decline" (0), as above. */
int spec_parse_consent(const char *file, const char *buf, size_t len, int *approve, char *err,
                       size_t errlen);

/*
 * spec_parse_trigger - the body of createRun: an empty (or blank) write is
 * {}, otherwise a JSON object of pipeline parameters. When `pipeline` (the
 * ADF pipeline resource) is given, every name must be one it declares in
 * properties.parameters. Returns 0 and *params_out (cJSON_Delete it), or
 * -EINVAL/-EFBIG/-ENOMEM with one line in err.
 */
int spec_parse_trigger(const char *file, const char *buf, size_t len, const cJSON *pipeline,
                       cJSON **params_out, char *err, size_t errlen);

#endif
