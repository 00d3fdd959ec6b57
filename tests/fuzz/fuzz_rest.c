/*
 * fuzz_rest.c - libFuzzer target: Graph, registration-contract and ADF
 * replies through the real clients (graph.c, reg.c, adf.c) and rest.c's
 * reply handling: rest_parse, status mapping, net_error_set on error
 * bodies, ETags, and the paging logic of rest_list (nextLink origin checks,
 * continuation tokens, loops, page and item caps).
 *
 * Design decision: the program is linked with -Wl,--wrap=auth_do, so every
 * request rest.c makes lands in __wrap_auth_do() below, which answers it
 * with the next reply cut from the input instead of the network. The input
 * is one byte choosing the client call, then replies separated by the line
 * "\n~~\n"; each reply is a status byte, a header byte and the body. When
 * the replies run out (or one is shorter than two bytes) the "connection"
 * drops. Each request is checked on the
 * way out: it must go to the client's own origin (a hostile nextLink must
 * never carry our token elsewhere) and carry no CR/LF in its URL or headers.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/adf.h"
#include "net/auth.h"
#include "net/graph.h"
#include "net/http.h"
#include "net/reg.h"
#include "net/rest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_auth_do(struct auth *a, const char *scope, const struct http_req *req,
                   struct http_resp *resp, struct net_error *e);

#define GRAPH_BASE "https://graph.fuzz.example"
#define REG_BASE   "https://reg.fuzz.example/mgdc"
#define ARM_BASE   "https://arm.fuzz.example"
#define SEP        "\n~~\n"
#define MAX_CALLS  64

static struct graph *fz_graph;
static struct reg *fz_reg;
static struct adf *fz_adf;

/* The replies of the current input, consumed one per request. */
static const uint8_t *fz_cur, *fz_end;
static const char *fz_origin; /* base URL the current call must stay on */
static int fz_calls;

static const long fz_status[16] = {200, 200, 200, 201, 204, 202, 400, 401,
                                   403, 404, 409, 412, 429, 500, 503, 302};

static void fz_header(struct http_resp *resp, const char *name, const char *value)
{
	struct http_header *h = realloc(resp->headers, (resp->n_headers + 1) * sizeof(*h));

	if (!h)
		abort();
	resp->headers = h;
	h[resp->n_headers].name = strdup(name);
	h[resp->n_headers].value = strdup(value);
	if (!h[resp->n_headers].name || !h[resp->n_headers].value)
		abort();
	resp->n_headers++;
}

/* Nothing the client sends may split a header line or leave its origin. */
static void fz_check_request(const struct http_req *req)
{
	if (!req->url || strpbrk(req->url, "\r\n") || !rest_same_origin(req->url, fz_origin))
		abort();
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		if (strpbrk(req->headers[i], "\r\n"))
			abort();
}

int __wrap_auth_do(struct auth *a, const char *scope, const struct http_req *req,
                   struct http_resp *resp, struct net_error *e)
{
	const uint8_t *seg, *next;
	size_t n;
	uint8_t hdr = 0;

	(void)a;
	(void)scope;
	(void)e;
	fz_check_request(req);
	memset(resp, 0, sizeof(*resp));
	if (++fz_calls > MAX_CALLS) /* the clients' own caps must stop them first */
		abort();
	seg = fz_cur;
	next = seg ? memmem(seg, (size_t)(fz_end - seg), SEP, strlen(SEP)) : NULL;
	n = seg ? (next ? (size_t)(next - seg) : (size_t)(fz_end - seg)) : 0;
	fz_cur = next ? next + strlen(SEP) : NULL;
	/* No reply left, or one too short for its status: the connection drops. */
	if (n < 2) {
		snprintf(resp->error, sizeof(resp->error), "connection dropped (fuzz)");
		return -ECONNRESET;
	}
	resp->status = fz_status[seg[0] & 15];
	hdr = seg[1];
	seg += 2;
	n -= 2;
	if (req->max_body && n > req->max_body) {
		snprintf(resp->error, sizeof(resp->error), "reply body over its cap (fuzz)");
		return -EFBIG;
	}
	/* As http_do leaves it: a malloc'd, NUL-terminated body. */
	resp->body = malloc(n + 1);
	if (!resp->body)
		abort();
	memcpy(resp->body, seg, n);
	resp->body[n] = '\0';
	resp->body_len = n;
	resp->body_owned = 1;
	resp->attempts = 1;
	if (hdr & 1)
		fz_header(resp, "ETag", "\"0x8DCFUZZ\"");
	if (hdr & 2)
		fz_header(resp, "x-ms-error-code", "FuzzErrorCode");
	if (hdr & 4)
		fz_header(resp, "Content-Type", "application/json; charset=utf-8");
	if (hdr & 8)
		fz_header(resp, "Retry-After", "1");
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Never dereferenced: auth_do is ours. */
	static char fake_auth[64];
	struct auth *a = (struct auth *)(void *)fake_auth;

	if (graph_new(&fz_graph, a, GRAPH_BASE) || reg_new(&fz_reg, a, REG_BASE, "tenant", NULL) ||
	    adf_new(&fz_adf, a, ARM_BASE, "sub", "rg", "factory"))
		abort();
	/* Low caps, so the fuzzer reaches them with a handful of replies. */
	graph_rest(fz_graph)->max_pages = 6;
	graph_rest(fz_graph)->max_items = 20;
	reg_rest(fz_reg)->max_pages = 6;
	reg_rest(fz_reg)->max_items = 20;
	adf_rest(fz_adf)->max_pages = 6;
	adf_rest(fz_adf)->max_items = 20;
	adf_rest(fz_adf)->max_body = 1 << 16;
	return 0;
}

/* Run the client call chosen by `op`; every result it returns is freed here. */
static int fz_call(uint8_t op, struct net_error *e)
{
	cJSON *doc = NULL, *spec;
	char *etag = NULL, *id = NULL;
	int rc, created = -1;

	switch (op % 16) {
	case 0:
		fz_origin = GRAPH_BASE;
		rc = graph_get_organization(fz_graph, &doc, e);
		break;
	case 1:
		fz_origin = GRAPH_BASE;
		rc = graph_list_applications(fz_graph, "app'id", "id,appId", 5, &doc, e);
		break;
	case 2:
		fz_origin = GRAPH_BASE;
		rc = graph_list_service_principals(fz_graph, NULL, NULL, 0, &doc, e);
		break;
	case 3:
		fz_origin = REG_BASE;
		rc = reg_get_data_connect(fz_reg, &doc, e);
		break;
	case 4:
		fz_origin = REG_BASE;
		rc = reg_set_data_connect(fz_reg, op & 0x10, &doc, e);
		break;
	case 5:
		fz_origin = REG_BASE;
		rc = reg_list(fz_reg, 3, &doc, e);
		break;
	case 6:
		fz_origin = REG_BASE;
		rc = reg_get(fz_reg, "11111111-2222-3333-4444-555555555555", &doc, &etag, e);
		break;
	case 7:
		fz_origin = REG_BASE;
		spec = cJSON_CreateObject();
		rc = reg_put(fz_reg, "app/../x", spec, op & 0x10 ? "\"0x1\"" : NULL, &doc, &etag,
		             &created, e);
		cJSON_Delete(spec);
		if (rc == 0 && created != 0 && created != 1)
			abort();
		break;
	case 8:
		fz_origin = REG_BASE;
		rc = op & 0x10 ? reg_approve(fz_reg, "app", &doc, e)
		               : reg_decline(fz_reg, "app", &doc, e);
		break;
	case 9:
		fz_origin = REG_BASE;
		rc = reg_delete(fz_reg, "app", e);
		break;
	case 10:
		fz_origin = ARM_BASE;
		rc = adf_get(fz_adf, ADF_PIPELINE, "pipe", &doc, &etag, e);
		break;
	case 11:
		fz_origin = ARM_BASE;
		rc = adf_list(fz_adf, ADF_DATASET, &doc, e);
		break;
	case 12:
		fz_origin = ARM_BASE;
		rc = adf_create_run(fz_adf, "pipe", NULL, &id, e);
		if (rc == 0 && (!id || !id[0]))
			abort();
		break;
	case 13:
		fz_origin = ARM_BASE;
		rc = op & 0x10 ? adf_query_runs(fz_adf, "pipe", NULL, NULL, &doc, e)
		               : adf_query_activity_runs(fz_adf, NULL, "run", NULL, NULL, &doc, e);
		if (rc == 0 && !cJSON_IsArray(doc))
			abort();
		break;
	case 14:
		fz_origin = ARM_BASE;
		rc = adf_get_run(fz_adf, "run", &doc, e);
		break;
	default:
		fz_origin = ARM_BASE;
		rc = adf_cancel_run(fz_adf, "run", op & 0x10, e);
		break;
	}
	if (rc < 0 && (doc || etag || id))
		abort();
	cJSON_Delete(doc);
	free(etag);
	free(id);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_error e;
	int rc;

	if (size < 1)
		return 0;
	fz_cur = data + 1;
	fz_end = data + size;
	fz_calls = 0;
	memset(&e, 0, sizeof(e));
	rc = fz_call(data[0], &e);
	if (rc > 0 || (rc < 0 && e.err != -rc))
		abort();
	/* The error text becomes one line of .mgdcfs/errors. */
	if (!memchr(e.msg, '\0', sizeof(e.msg)) || strchr(e.msg, '\n') ||
	    !memchr(e.code, '\0', sizeof(e.code)) || strchr(e.code, '\n'))
		abort();
	return 0;
}
