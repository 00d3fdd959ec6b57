/*
 * cred.c - from the profile and the environment to a net/auth identity.
 *
 * Key decision: the environment is read here, once, and net/ gets plain
 * options, so the net layer stays testable without touching getenv. The
 * DefaultAzureCredential order (environment, workload identity, managed
 * identity, Azure CLI) is built here; a source that cannot work on this
 * machine is still a member, with the reason, so the error that ends the
 * chain lists all four in order.
 */
#include "fs/cred.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/auth.h"

static const char *cred_env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* The options every Entra source shares (client credentials, workload identity). */
static void cred_entra(const struct config *c, struct auth_opts *o)
{
	o->login_url = c->login_url;
	o->tenant = c->tenant_id;
	o->client_id = c->client_id;
	o->secret = c->client_secret;
	o->cert_file = c->cert_file;
	o->key_file = c->key_file;
	o->cert_password = c->cert_password;
	o->send_chain = c->send_cert_chain;
	o->alg = c->assertion_rs256 ? AUTH_ALG_RS256 : AUTH_ALG_PS256;
}

/* Managed identity: App Service's endpoint when its variables say so, else IMDS. */
static void cred_msi(const struct config *c, struct auth_opts *o, int probe)
{
	const char *ep = cred_env("IDENTITY_ENDPOINT"), *hdr = cred_env("IDENTITY_HEADER");

	o->kind = AUTH_MANAGED;
	o->label = "managed identity";
	o->msi.probe = probe;
	o->msi.imds_host = cred_env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
	if (c->mi_client_id) {
		o->msi.id_kind = MSI_CLIENT_ID;
		o->msi.id = c->mi_client_id;
	} else if (c->mi_object_id) {
		o->msi.id_kind = MSI_OBJECT_ID;
		o->msi.id = c->mi_object_id;
	} else if (c->mi_resource_id) {
		o->msi.id_kind = MSI_RESOURCE_ID;
		o->msi.id = c->mi_resource_id;
	}
	if (ep && hdr && cred_env("IDENTITY_SERVER_THUMBPRINT")) {
		o->unavailable = "Service Fabric's managed identity endpoint is not supported";
	} else if (ep && cred_env("IMDS_ENDPOINT")) {
		o->unavailable = "Azure Arc's managed identity endpoint is not supported";
	} else if (ep && hdr) {
		o->msi.appsvc_endpoint = ep;
		o->msi.appsvc_header = hdr;
	} else if (ep) {
		o->unavailable = "IDENTITY_ENDPOINT is set without IDENTITY_HEADER";
	} else if (cred_env("MSI_ENDPOINT")) {
		o->unavailable = "the MSI_ENDPOINT (Cloud Shell, old App Service) protocol is not "
		                 "supported";
	}
}

static void cred_one(const struct config *c, enum config_cred kind, struct auth_opts *o,
                     int in_chain)
{
	memset(o, 0, sizeof(*o));
	switch (kind) {
	case CRED_SECRET:
	case CRED_CERT:
	case CRED_ENV:
		cred_entra(c, o);
		o->kind = AUTH_APP;
		o->label = kind == CRED_ENV ? "environment" : config_cred_name(kind);
		break;
	case CRED_WORKLOAD:
		cred_entra(c, o);
		o->kind = AUTH_WORKLOAD;
		o->label = "workload identity";
		o->token_file = c->federated_token_file;
		if (!c->federated_token_file)
			o->unavailable = "AZURE_FEDERATED_TOKEN_FILE is not set";
		else if (!c->client_id)
			o->unavailable = "no client id (AZURE_CLIENT_ID or \"client_id\")";
		break;
	case CRED_MSI:
		cred_msi(c, o, in_chain);
		break;
	case CRED_AZCLI:
		o->kind = AUTH_AZCLI;
		o->label = "Azure CLI";
		o->azcli.tenant = c->tenant_id;
		o->azcli.timeout_ms = (long)c->azcli_timeout_s * 1000;
		break;
	default:
		break;
	}
}

int cred_new(struct auth **out, struct http *h, const struct config *c, enum config_cred kind)
{
	struct auth_opts o, m[4];

	if (kind != CRED_DEFAULT) {
		cred_one(c, kind, &o, 0);
		return auth_new(out, h, &o);
	}
	/* Only reached when the environment holds no secret or certificate (config.c
	 * settles on the environment credential when it does). */
	memset(&m[0], 0, sizeof(m[0]));
	m[0].kind = AUTH_APP;
	m[0].label = "environment";
	m[0].unavailable = "AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH are not set";
	cred_one(c, CRED_WORKLOAD, &m[1], 1);
	cred_one(c, CRED_MSI, &m[2], 1);
	cred_one(c, CRED_AZCLI, &m[3], 1);
	memset(&o, 0, sizeof(o));
	o.kind = AUTH_CHAIN;
	o.label = "DefaultAzureCredential chain";
	o.members = m;
	o.nmembers = 4;
	return auth_new(out, h, &o);
}
