/*
 * cred.h - turn the profile's credential (fs/config.h) and the environment
 * azure-identity reads into a net/auth identity: which source, with what,
 * and for DefaultAzureCredential's chain, why each source that cannot be
 * tried here is left out (for the error that lists them).
 */
#ifndef MGDCFS_FS_CRED_H
#define MGDCFS_FS_CRED_H

#include "fs/config.h"

struct auth;
struct http;

/*
 * cred_new - the identity for credential `kind` of profile `c` (the
 * profile's own, or storage's). Reads the managed identity variables
 * (IDENTITY_ENDPOINT, IDENTITY_HEADER, AZURE_POD_IDENTITY_AUTHORITY_HOST,
 * IMDS_ENDPOINT, MSI_ENDPOINT, IDENTITY_SERVER_THUMBPRINT). Returns 0 or the
 * -errno of auth_new (the reason logged). Call before threads start.
 */
int cred_new(struct auth **out, struct http *h, const struct config *c, enum config_cred kind);

#endif
