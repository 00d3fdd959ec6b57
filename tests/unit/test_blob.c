/*
 * test_blob.c - net/blob: Shared Key signing, listing XML, ranges, dates,
 * and (when a sandbox is configured) live calls against Azurite.
 *
 * Expected values come from outside the module: the StringToSign strings
 * captured from Azurite in reference/blob-storage.md, the openssl and date
 * command-line tools, and the bytes this test uploaded itself.
 */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fakehttp.h"
#include "net/blob.h"
#include "tap.h"

#define DEV_KEY                                                                                    \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define FIX "tests/unit/fixtures/blob/"

/* run - first line of a shell command's output, stripped; "" on failure. */
static void run(const char *cmd, char *out, size_t n)
{
	FILE *f = popen(cmd, "r");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, (int)n, f))
		out[0] = '\0';
	pclose(f);
	out[strcspn(out, "\r\n")] = '\0';
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)n + 1);
		if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		}
		if (p) {
			p[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return p;
}

static void test_string_to_sign(void)
{
	const char *h1[] = {"x-ms-date: Fri, 27 Nov 2026 05:54:21 GMT", "x-ms-range: bytes=0-1",
	                    "x-ms-version: 2021-08-06", NULL};
	const char *h2[] = {"x-ms-version: 2021-08-06", "Content-Length: 0",
	                    "x-ms-date: Fri, 27 Nov 2026 05:45:16 GMT", NULL};
	const char *h3[] = {"X-MS-Version:   2021-08-06",
	                    "Content-Length: 27",
	                    "If-Match: \"0x8D1\"",
	                    "Content-Type: text/plain",
	                    "x-ms-meta-note:  two   spaces\tand tab ",
	                    "x-ms-blob-type: BlockBlob",
	                    "Expect:",
	                    "Authorization: none",
	                    NULL};
	char *s;

	/* Captured from Azurite's debug log (reference §1.2): path-style, account twice. */
	s = blob_string_to_sign(
	    "GET", "devstoreaccount1",
	    "http://127.0.0.1:10000/devstoreaccount1/abc?restype=container&comp=list&prefix=a%20b",
	    h1);
	TAP_EQ_STR(s,
	           "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 27 Nov 2026 05:54:21 "
	           "GMT\nx-ms-range:bytes=0-1\n"
	           "x-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/"
	           "abc\ncomp:list\nprefix:a b\n"
	           "restype:container",
	           "StringToSign of a path-style list equals Azurite's");
	free(s);
	s = blob_string_to_sign("PUT", "devstoreaccount1",
	                        "http://127.0.0.1:10000/devstoreaccount1/c1?restype=container", h2);
	TAP_EQ_STR(s,
	           "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 27 Nov 2026 05:45:16 "
	           "GMT\nx-ms-version:2021-08-06\n"
	           "/devstoreaccount1/devstoreaccount1/c1\nrestype:container",
	           "Content-Length 0 is signed as an empty line");
	free(s);
	s = blob_string_to_sign(
	    "GET", "myacct",
	    "https://myacct.blob.core.windows.net/mycontainer/dir/a.txt?comp=metadata", NULL);
	TAP_EQ_STR(s, "GET\n\n\n\n\n\n\n\n\n\n\n\n/myacct/mycontainer/dir/a.txt\ncomp:metadata",
	           "product-style URL: account once");
	free(s);
	s = blob_string_to_sign(
	    "GET", "devstoreaccount1",
	    "http://127.0.0.1:10000/devstoreaccount1/c/a%20b%2Bc/%C3%BC%23%3F.txt", NULL);
	TAP_EQ_STR(s,
	           "GET\n\n\n\n\n\n\n\n\n\n\n\n/devstoreaccount1/devstoreaccount1/c/a%20b%2Bc/"
	           "%C3%BC%23%3F.txt",
	           "the path is signed still percent-encoded");
	free(s);
	s = blob_string_to_sign(
	    "PUT", "acct",
	    "https://acct.blob.core.windows.net/c/b?comp=block&blockid=dG1wLTAwMDAwMQ%3D%3D", h3);
	TAP_EQ_STR(s,
	           "PUT\n\n\n27\n\ntext/plain\n\n\n\"0x8D1\"\n\n\n\nx-ms-blob-type:BlockBlob\n"
	           "x-ms-meta-note:two spaces and tab\nx-ms-version:2021-08-06\n"
	           "/acct/c/b\nblockid:dG1wLTAwMDAwMQ==\ncomp:block",
	           "standard slots, lowercased and folded x-ms headers, decoded query values");
	free(s);
	s = blob_string_to_sign(
	    "GET", "a", "https://a.blob.core.windows.net/?comp=list&Include=b&include=a", NULL);
	TAP_EQ_STR(s, "GET\n\n\n\n\n\n\n\n\n\n\n\n/a/\ncomp:list\ninclude:a,b",
	           "account root; repeated parameter names lowercased and comma-joined");
	free(s);
	s = blob_string_to_sign(
	    "GET", "a", "https://a.blob.core.windows.net/c?prefix=a%2Bb+c&marker=x%26y", NULL);
	TAP_EQ_STR(s, "GET\n\n\n\n\n\n\n\n\n\n\n\n/a/c\nmarker:x&y\nprefix:a+b c",
	           "an encoded '+' and '&' decode; a raw '+' is a space, as the service reads it");
	free(s);
	s = blob_string_to_sign("GET", "a", "https://a.blob.core.windows.net", NULL);
	TAP_EQ_STR(s, "GET\n\n\n\n\n\n\n\n\n\n\n\n/a/", "URL without a path signs '/'");
	free(s);
	TAP_OK(blob_string_to_sign("GET", "a", "no-scheme", NULL) == NULL,
	       "URL without :// refused");
}

static void test_hmac(void)
{
	unsigned char key[128];
	char sig[45], want[128], cmd[2048], hex[129], *p;
	const char *sts =
	    "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 27 Nov 2026 05:54:21 GMT\n"
	    "x-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/abc\ncomp:list";
	int n, i;

	n = blob_b64_decode(DEV_KEY, key, sizeof(key));
	TAP_EQ_INT(n, 64, "the dev account key decodes to 64 bytes");
	TAP_EQ_INT(blob_b64_decode("QQ==", key, sizeof(key)), 1, "one padded byte");
	TAP_EQ_INT(key[0], 'A', "decoded value");
	TAP_EQ_INT(blob_b64_decode("QUI=", key, sizeof(key)), 2, "two bytes, one pad");
	TAP_EQ_INT(blob_b64_decode("not base64!", key, sizeof(key)), -EINVAL, "bad base64 refused");
	TAP_EQ_INT(blob_b64_decode("QUJD", key, 2), -EINVAL, "no room refused");
	n = blob_b64_decode(DEV_KEY, key, sizeof(key));
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	/* the message goes through printf(1) as octal escapes, which any sh understands */
	p = cmd + snprintf(cmd, sizeof(cmd), "printf '");
	for (i = 0; sts[i]; i++)
		p += snprintf(p, 5, "\\%03o", (unsigned char)sts[i]);
	snprintf(p, sizeof(cmd) - (size_t)(p - cmd),
	         "' | openssl dgst -sha256 -mac HMAC -macopt hexkey:%s -binary | base64", hex);
	run(cmd, want, sizeof(want));
	TAP_EQ_INT(blob_hmac_b64(key, (size_t)n, sts, sig), 0, "HMAC computed");
	TAP_OK(strlen(want) == 44, "openssl produced a signature");
	TAP_EQ_STR(sig, want, "HMAC-SHA256 signature equals openssl's");
}

static void test_range(void)
{
	char b[64];

	TAP_EQ_INT(blob_range_header(b, sizeof(b), 0, 1), 0, "range 0+1");
	TAP_EQ_STR(b, "bytes=0-0", "one byte is bytes=0-0");
	blob_range_header(b, sizeof(b), 5, 10);
	TAP_EQ_STR(b, "bytes=5-14", "inclusive end");
	blob_range_header(b, sizeof(b), (uint64_t)1 << 40, (uint64_t)8 << 20);
	TAP_EQ_STR(b, "bytes=1099511627776-1099520016383", "64-bit offsets");
	TAP_EQ_INT(blob_range_header(b, sizeof(b), 7, 0), -EINVAL, "empty range refused");
	TAP_EQ_INT(blob_range_header(b, sizeof(b), UINT64_MAX, 2), -EINVAL, "overflow refused");
}

static void test_dates(void)
{
	static const char *const good[] = {
	    "Fri, 27 Nov 2026 05:47:53 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
	    "Tue, 29 Feb 2028 12:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"};
	static const char *const bad[] = {"",
	                                  "garbage",
	                                  "Fri, 27 Nov 2026 05:47:53",
	                                  "Fri, 27 Nov 2026 05:47:53 UTC",
	                                  "Fri, 27 Foo 2026 05:47:53 GMT",
	                                  "Fri, 32 Nov 2026 05:47:53 GMT",
	                                  "Fri, 27 Nov 2026 25:47:53 GMT",
	                                  "Fri, 27 Nov 2026 05:47:53 GMT trailing"};
	char cmd[128], want[64], fmt[64];
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(cmd, sizeof(cmd), "date -u -d '%s' +%%s", good[i]);
		run(cmd, want, sizeof(want));
		t = 0;
		TAP_EQ_INT(blob_parse_http_date(good[i], &t), 0, "parses '%s'", good[i]);
		TAP_EQ_INT(t, atoll(want), "'%s' is %s as date(1) says", good[i], want);
		blob_format_http_date(t, fmt, sizeof(fmt));
		TAP_EQ_STR(fmt, good[i], "formats back to the same text");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TAP_EQ_INT(blob_parse_http_date(bad[i], &t), -EINVAL, "refuses '%s'", bad[i]);
}

static void test_codes(void)
{
	TAP_EQ_INT(blob_code_errno("BlobNotFound", 404), ENOENT, "BlobNotFound");
	TAP_EQ_INT(blob_code_errno("ContainerNotFound", 404), ENOENT, "ContainerNotFound");
	TAP_EQ_INT(blob_code_errno("ConditionNotMet", 412), ESTALE, "ConditionNotMet");
	TAP_EQ_INT(blob_code_errno("ConditionNotMet", 304), ESTALE, "ConditionNotMet on 304");
	TAP_EQ_INT(blob_code_errno("AuthorizationFailure", 403), EACCES, "AuthorizationFailure");
	TAP_EQ_INT(blob_code_errno("AuthenticationFailed", 403), EACCES, "AuthenticationFailed");
	TAP_EQ_INT(blob_code_errno("InvalidRange", 416), ERANGE, "InvalidRange");
	TAP_EQ_INT(blob_code_errno("SomethingNew", 500), EIO, "unknown 500 is EIO");
	TAP_EQ_INT(blob_code_errno(NULL, 404), ENOENT, "no code: from the status");
}

/* ---- listing pages ---- */

struct seen {
	int n;
	struct blob_entry e[8];
	char names[8][64];
	int stop_at;
};

static int seen_cb(void *ud, const struct blob_entry *ent)
{
	struct seen *s = ud;

	if (s->n < 8) {
		s->e[s->n] = *ent;
		memcpy(s->names[s->n], ent->name, ent->name_len < 63 ? ent->name_len + 1 : 63);
		s->names[s->n][63] = '\0';
		s->e[s->n].name = s->names[s->n];
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static int parse_fixture(const char *file, int containers, size_t max, struct seen *s,
                         struct blob_page *pg, struct net_error *e)
{
	size_t len = 0;
	char *xml = slurp(file, &len);
	int rc;

	if (!xml) {
		printf("# cannot read %s\n", file);
		return -9999;
	}
	rc = blob_parse_list_page(xml, len, containers, max, seen_cb, s, pg, e);
	free(xml);
	return rc;
}

static void test_pages(void)
{
	static const unsigned char md5[16] = {0x44, 0xe0, 0x74, 0x0b, 0xc5, 0x82, 0xeb, 0x82,
	                                      0x53, 0x93, 0x7f, 0xbd, 0x96, 0xe3, 0xdb, 0xe9};
	struct blob_page pg;
	struct net_error e;
	struct seen s;
	char want[64];
	int rc;

	memset(&s, 0, sizeof(s));
	rc = parse_fixture(FIX "page_normal.xml", 0, 1000, &s, &pg, &e);
	TAP_EQ_INT(rc, 0, "normal page parses");
	TAP_EQ_INT(s.n, 2, "two blobs");
	TAP_EQ_INT(pg.entries, 2, "entries counted");
	TAP_EQ_STR(s.names[0], "dir005/file00500.txt", "first name (not the metadata <Name>)");
	TAP_EQ_INT(s.e[0].size, 27, "Content-Length");
	TAP_EQ_STR(s.e[0].etag, "\"0x239B2CA774E6A20\"", "unquoted Etag gets the header's quotes");
	TAP_OK(s.e[0].has_md5 && memcmp(s.e[0].md5, md5, 16) == 0, "Content-MD5 decoded");
	run("date -u -d 'Fri, 27 Nov 2026 05:47:54 GMT' +%s", want, sizeof(want));
	TAP_EQ_INT(s.e[0].mtime, atoll(want), "Last-Modified");
	run("date -u -d 'Fri, 27 Nov 2026 05:47:53 GMT' +%s", want, sizeof(want));
	TAP_EQ_INT(s.e[0].ctime, atoll(want), "Creation-Time");
	TAP_EQ_INT(s.e[0].is_prefix, 0, "a blob is not a prefix");
	TAP_EQ_INT(s.e[1].size, 6000000000LL, "64-bit Content-Length");
	TAP_EQ_STR(s.e[1].etag, "\"0x239B2CA774E6A21\"", "quoted Etag kept");
	TAP_EQ_INT(s.e[1].has_md5, 0, "empty Content-MD5 is absent");
	TAP_EQ_INT(s.e[1].ctime, 0, "missing Creation-Time is 0");
	TAP_EQ_STR(pg.next_marker, "2!80!ZGlyMDA1L2ZpbGUwMDUwMi50eHQ-/+=&x",
	           "NextMarker with entities");

	memset(&s, 0, sizeof(s));
	rc = parse_fixture(FIX "page_prefix.xml", 0, 1000, &s, &pg, &e);
	TAP_EQ_INT(rc, 0, "prefix page parses");
	TAP_EQ_INT(s.n, 3, "two prefixes and a blob");
	TAP_OK(s.e[0].is_prefix && strcmp(s.names[0], "mail/") == 0, "BlobPrefix mail/");
	TAP_OK(!s.e[1].is_prefix && s.e[1].size == 0, "0-byte blob");
	TAP_OK(s.e[2].is_prefix && strcmp(s.names[2], "users/") == 0, "BlobPrefix users/");
	TAP_EQ_STR(pg.next_marker, "", "empty NextMarker ends the listing");

	memset(&s, 0, sizeof(s));
	rc = parse_fixture(FIX "page_odd_names.xml", 0, 1000, &s, &pg, &e);
	TAP_EQ_INT(rc, 0, "odd names parse");
	TAP_EQ_STR(s.names[0], "a & b <c> \"d\" 'e'.json", "XML entities resolved");
	TAP_EQ_INT(s.e[0].name_unsafe, 0, "entities make no unsafe name");
	TAP_EQ_STR(s.names[1], "caf\xc3\xa9/\xf0\x9f\x98\x80.txt", "character references to UTF-8");
	TAP_EQ_INT(s.e[1].name_unsafe, 0, "valid UTF-8 is safe");
	TAP_EQ_INT(s.e[2].name_len, 18, "Encoded name decoded, NUL included in the length");
	TAP_OK(memcmp(s.names[2], "nul\0byte\nline\xff.bin", 18) == 0, "Encoded name bytes");
	TAP_EQ_INT(s.e[2].name_unsafe, 1, "NUL/newline/invalid UTF-8 flagged");
	TAP_EQ_STR(s.names[3], "plain%41", "Encoded=false is taken literally");
	TAP_EQ_INT(s.e[4].name_unsafe, 1, "a tab is flagged");
	TAP_EQ_STR(s.e[4].etag, "", "an ETag with a quote inside is dropped");

	memset(&s, 0, sizeof(s));
	rc = parse_fixture(FIX "page_containers.xml", 1, 1000, &s, &pg, &e);
	TAP_EQ_INT(rc, 0, "container page parses");
	TAP_EQ_INT(s.n, 2, "two containers");
	TAP_OK(s.e[1].is_prefix && strcmp(s.names[1], "mail-week45") == 0, "container name");
	TAP_EQ_STR(s.e[0].etag, "\"0x8DCF1\"", "container ETag");
	TAP_EQ_STR(pg.next_marker, "mail-week45", "container NextMarker");

	memset(&s, 0, sizeof(s));
	rc = parse_fixture(FIX "page_malformed.xml", 0, 1000, &s, &pg, &e);
	TAP_EQ_INT(rc, -EIO, "malformed page: -EIO");
	TAP_OK(strstr(e.msg, "mismatched tag") != NULL, "expat's reason in the message: %s", e.msg);
	TAP_EQ_INT(s.n, 1, "entries before the fault were passed");

	memset(&s, 0, sizeof(s));
	rc = parse_fixture(FIX "page_dtd.xml", 0, 1000, &s, &pg, &e);
	TAP_EQ_INT(rc, -EIO, "a DTD (entity expansion) is refused");
	TAP_EQ_INT(s.n, 0, "nothing passed from it");

	memset(&s, 0, sizeof(s));
	TAP_EQ_INT(parse_fixture(FIX "page_wrong_root.xml", 0, 1000, &s, &pg, &e), -EIO,
	           "an <Error> document is not a listing");
	TAP_EQ_INT(parse_fixture(FIX "page_nameless.xml", 0, 1000, &s, &pg, &e), -EIO,
	           "an entry without a name: -EIO");
	TAP_EQ_INT(parse_fixture(FIX "page_bad_size.xml", 0, 1000, &s, &pg, &e), -EIO,
	           "a negative Content-Length: -EIO");
	TAP_EQ_INT(blob_parse_list_page("", 0, 0, 10, seen_cb, &s, &pg, &e), -EIO,
	           "empty body: -EIO");
	TAP_EQ_INT(
	    blob_parse_list_page("<EnumerationResults><Blobs>", 27, 0, 10, seen_cb, &s, &pg, &e),
	    -EIO, "truncated body: -EIO");

	memset(&s, 0, sizeof(s));
	TAP_EQ_INT(parse_fixture(FIX "page_normal.xml", 0, 1, &s, &pg, &e), -EFBIG,
	           "more entries than the cap: -EFBIG");
	TAP_EQ_INT(s.n, 1, "exactly the cap was passed");
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	TAP_EQ_INT(parse_fixture(FIX "page_normal.xml", 0, 100, &s, &pg, &e), 42,
	           "the callback's value stops the parse and is returned");
	TAP_EQ_INT(s.n, 1, "no entry after the stop");
}

/* A page with an over-long name, and one claiming ten million entries. */
static void test_huge_pages(void)
{
	static const char head[] = "<EnumerationResults><MaxResults>10000000</MaxResults><Blobs>";
	static const char item[] = "<Blob><Name>a</Name></Blob>";
	static const char tail[] = "</Blobs><NextMarker>more</NextMarker></EnumerationResults>";
	size_t n = 1000001, len, i;
	struct blob_page pg;
	struct net_error e;
	struct seen s;
	char *x, *p;

	x = malloc(20000);
	p = x + sprintf(x, "%s<Blob><Name>", head);
	for (i = 0; i < BLOB_NAME_MAX + 1; i++)
		*p++ = 'n';
	p += sprintf(p, "</Name></Blob>%s", tail);
	memset(&s, 0, sizeof(s));
	TAP_EQ_INT(blob_parse_list_page(x, (size_t)(p - x), 0, 10, seen_cb, &s, &pg, &e), -EIO,
	           "a name over BLOB_NAME_MAX: -EIO");
	TAP_OK(strstr(e.msg, "name") != NULL, "the message says so: %s", e.msg);
	free(x);

	len = sizeof(head) - 1 + n * (sizeof(item) - 1) + sizeof(tail);
	x = malloc(len);
	p = x + sprintf(x, "%s", head);
	for (i = 0; i < n; i++) {
		memcpy(p, item, sizeof(item) - 1);
		p += sizeof(item) - 1;
	}
	p += sprintf(p, "%s", tail);
	memset(&s, 0, sizeof(s));
	TAP_EQ_INT(blob_parse_list_page(x, (size_t)(p - x), 0, 1000000, seen_cb, &s, &pg, &e),
	           -EFBIG, "a page with 1,000,001 entries stops at the 1,000,000 cap");
	TAP_EQ_INT(s.n, 1000000, "1,000,000 entries were passed, not more");
	free(x);
}

/* ---- a scripted in-process server for the paths Azurite cannot fake ---- */

enum fake_mode {
	FAKE_ENDLESS,  /* every page: one blob and a new NextMarker */
	FAKE_REPEAT,   /* every page: the same NextMarker */
	FAKE_EMPTY,    /* every page: no entry and a new NextMarker */
	FAKE_BIGPAGE,  /* one page of 8 KiB */
	FAKE_MD5_ONCE, /* first range reply carries a wrong Content-MD5 */
	FAKE_MD5_BAD,  /* every range reply carries a wrong Content-MD5 */
	FAKE_SHORT,    /* first range reply holds only half the range */
	FAKE_SHRUNK,   /* the blob is now shorter than the range */
	FAKE_WRONG_CR, /* Content-Range starts elsewhere */
	FAKE_AT_EOF,   /* Azurite's reply to a start at EOF: 206, bytes S-(S-1)/S, no body */
};

#define FAKE_SIZE 1000

static struct {
	pthread_mutex_t lock;
	int fd;
	int port;
	enum fake_mode mode;
	int hits;
	char last_range[128];
	char last_if_match[128];
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static unsigned char fake_byte(uint64_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* fake_header - copy the value of header `name` in the request `req` into out. */
static void fake_send(int c, const char *status, const char *extra, const void *body, size_t len)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
	                 status, len, extra);

	if (write(c, head, (size_t)n) != n || (len && write(c, body, len) != (ssize_t)len))
		return;
}

static void fake_list(int c, enum fake_mode mode, int k)
{
	char body[9000];
	int n;

	if (mode == FAKE_BIGPAGE) {
		memset(body, ' ', 8192);
		memcpy(body, "<EnumerationResults>", 20);
		fake_send(c, "200 OK", "", body, 8192);
		return;
	}
	n = snprintf(body, sizeof(body), "<EnumerationResults><Blobs>");
	if (mode == FAKE_ENDLESS || mode == FAKE_REPEAT)
		n += snprintf(
		    body + n, sizeof(body) - (size_t)n,
		    "<Blob><Name>b%06d</Name><Properties><Content-Length>1</Content-Length>"
		    "</Properties></Blob>",
		    k);
	n += snprintf(body + n, sizeof(body) - (size_t)n,
	              "</Blobs><NextMarker>%s%d</NextMarker></EnumerationResults>",
	              mode == FAKE_REPEAT ? "same" : "m", mode == FAKE_REPEAT ? 0 : k + 1);
	fake_send(c, "200 OK", "", body, (size_t)n);
}

static void fake_range(int c, enum fake_mode mode, int k, const char *range)
{
	unsigned long long a = 0, b = 0;
	unsigned char body[FAKE_SIZE], md5[16];
	char extra[512], md5b64[32];
	unsigned int ml;
	uint64_t i, total = mode == FAKE_SHRUNK ? 500 : FAKE_SIZE;

	if (mode == FAKE_AT_EOF) {
		fake_send(c, "206 Partial Content", "Content-Range: bytes 1000-999/1000\r\n", "",
		          0);
		return;
	}
	if (sscanf(range, "bytes=%llu-%llu", &a, &b) != 2 || b >= FAKE_SIZE || a > b) {
		fake_send(c, "416 Range Not Satisfiable", "x-ms-error-code: InvalidRange\r\n", "",
		          0);
		return;
	}
	if (mode == FAKE_SHORT && k == 1)
		b = a + (b - a) / 2;
	if (mode == FAKE_SHRUNK && b >= total)
		b = total - 1;
	for (i = a; i <= b; i++)
		body[i - a] = fake_byte(i);
	EVP_Digest(body, b - a + 1, md5, &ml, EVP_md5(), NULL);
	if (mode == FAKE_MD5_BAD || (mode == FAKE_MD5_ONCE && k == 1))
		md5[0] ^= 1;
	EVP_EncodeBlock((unsigned char *)md5b64, md5, 16);
	snprintf(extra, sizeof(extra),
	         "Content-Range: bytes %llu-%llu/%llu\r\nETag: \"0xFAKE\"\r\nContent-MD5: %s\r\n",
	         mode == FAKE_WRONG_CR ? a + 1 : a, b, (unsigned long long)total, md5b64);
	fake_send(c, "206 Partial Content", extra, body, b - a + 1);
}

static void *fake_main(void *arg)
{
	for (;;) {
		char req[16384], range[128];
		enum fake_mode mode;
		int c = accept(fake.fd, NULL, NULL), k;

		if (c < 0)
			break;
		fakehttp_read_head(c, req, sizeof(req));
		fakehttp_header(req, "x-ms-range:", range, sizeof(range));
		pthread_mutex_lock(&fake.lock);
		mode = fake.mode;
		k = ++fake.hits;
		snprintf(fake.last_range, sizeof(fake.last_range), "%s", range);
		fakehttp_header(req, "If-Match:", fake.last_if_match, sizeof(fake.last_if_match));
		pthread_mutex_unlock(&fake.lock);
		if (strstr(req, "comp=list"))
			fake_list(c, mode, k);
		else
			fake_range(c, mode, k, range);
		close(c);
	}
	return arg;
}

static void fake_set(enum fake_mode m)
{
	pthread_mutex_lock(&fake.lock);
	fake.mode = m;
	fake.hits = 0;
	fake.last_range[0] = fake.last_if_match[0] = '\0';
	pthread_mutex_unlock(&fake.lock);
}

static int fake_hits(void)
{
	int n;

	pthread_mutex_lock(&fake.lock);
	n = fake.hits;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

static int count_cb(void *ud, const struct blob_entry *ent)
{
	(*(int *)ud)++;
	return 0;
}

static void test_fake_server(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct blob_client *bc = NULL;
	struct http_opts ho = {.max_retries = 0};
	struct blob_opts o = {.account = "acct", .auth = BLOB_AUTH_SHARED_KEY, .key = DEV_KEY};
	struct blob_stats st;
	struct net_error e;
	struct http *h = NULL;
	unsigned char buf[FAKE_SIZE], want[FAKE_SIZE];
	char url[64];
	pthread_t th;
	int n, i;
	ssize_t r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fake.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fake.fd < 0 || bind(fake.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fake.fd, 16) < 0 || getsockname(fake.fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    pthread_create(&th, NULL, fake_main, NULL) != 0) {
		TAP_OK(0, "fake server started");
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/acct", ntohs(sa.sin_port));
	o.url = url;
	o.max_entries = 50;
	o.max_page_bytes = 4096;
	TAP_EQ_INT(http_new(&h, &ho), 0, "http client for the fake server");
	TAP_EQ_INT(h ? blob_client_new(&bc, h, &o) : -1, 0, "client with small caps");
	if (!bc)
		goto out;
	for (i = 0; i < FAKE_SIZE; i++)
		want[i] = fake_byte((uint64_t)i);

	fake_set(FAKE_ENDLESS);
	n = 0;
	TAP_EQ_INT(blob_list(bc, "c", NULL, "/", count_cb, &n, &e), -EFBIG,
	           "a NextMarker that never ends stops at the entry cap: -EFBIG");
	TAP_EQ_INT(n, 50, "exactly max_entries passed");
	TAP_OK(strstr(e.msg, "50") != NULL, "message names the cap: %s", e.msg);
	fake_set(FAKE_REPEAT);
	n = 0;
	TAP_EQ_INT(blob_list(bc, "c", NULL, NULL, count_cb, &n, &e), -EIO,
	           "a repeated NextMarker: -EIO");
	TAP_EQ_INT(fake_hits(), 2, "after the second page");
	TAP_OK(strstr(e.msg, "repeated") != NULL, "message: %s", e.msg);
	fake_set(FAKE_EMPTY);
	TAP_EQ_INT(blob_list(bc, "c", NULL, NULL, count_cb, &n, &e), -EIO,
	           "empty pages with new markers forever: -EIO");
	TAP_EQ_INT(fake_hits(), 101, "after 101 empty pages");
	fake_set(FAKE_BIGPAGE);
	TAP_EQ_INT(blob_list(bc, "c", NULL, NULL, count_cb, &n, &e), -EFBIG,
	           "a page over max_page_bytes: -EFBIG");

	fake_set(FAKE_MD5_ONCE);
	blob_get_stats(bc, &st);
	r = blob_get_range(bc, "c", "b", 100, 300, buf, NULL, NULL, &e);
	TAP_EQ_INT(r, 300, "one MD5 mismatch is retried");
	TAP_OK(memcmp(buf, want + 100, 300) == 0, "and the retry's bytes are returned");
	TAP_EQ_INT(fake_hits(), 2, "two requests");
	fake_set(FAKE_MD5_BAD);
	r = blob_get_range(bc, "c", "b", 0, 10, buf, NULL, NULL, &e);
	TAP_EQ_INT(r, -EIO, "a persistent MD5 mismatch: -EIO");
	TAP_EQ_INT(fake_hits(), 2, "after one retry");
	{
		struct blob_stats st2;

		blob_get_stats(bc, &st2);
		TAP_EQ_INT(st2.md5_mismatch - st.md5_mismatch, 3, "three mismatches counted");
		TAP_EQ_INT(st2.md5_verified - st.md5_verified, 1, "one verified");
	}
	fake_set(FAKE_SHORT);
	blob_get_stats(bc, &st);
	memset(buf, 0, sizeof(buf));
	r = blob_get_range(bc, "c", "b", 11, 400, buf, NULL, NULL, &e);
	TAP_EQ_INT(r, 400, "a short reply: the remainder is fetched");
	TAP_OK(memcmp(buf, want + 11, 400) == 0, "bytes of both replies in place");
	TAP_EQ_INT(fake_hits(), 2, "two requests");
	TAP_EQ_STR(fake.last_range, "bytes=211-410", "the second asks for the remainder only");
	TAP_EQ_STR(fake.last_if_match, "\"0xFAKE\"", "bound to the first reply's ETag");
	{
		struct blob_stats st2;

		blob_get_stats(bc, &st2);
		TAP_EQ_INT(st2.md5_verified - st.md5_verified, 2, "both pieces MD5-verified");
		TAP_EQ_INT(st2.short_bodies - st.short_bodies, 1, "one short reply counted");
	}
	fake_set(FAKE_AT_EOF);
	r = blob_get_range(bc, "c", "b", 1000, 10, buf, NULL, NULL, &e);
	TAP_EQ_INT(r, -ESTALE, "a read from past the real EOF (Azurite's 206 form): -ESTALE");
	fake_set(FAKE_SHRUNK);
	r = blob_get_range(bc, "c", "b", 400, 200, buf, NULL, NULL, &e);
	TAP_EQ_INT(r, -ESTALE, "the blob is now shorter than the range: -ESTALE");
	fake_set(FAKE_WRONG_CR);
	r = blob_get_range(bc, "c", "b", 0, 10, buf, NULL, NULL, &e);
	TAP_EQ_INT(r, -EIO, "a Content-Range for other bytes: -EIO");
	fake_set(FAKE_ENDLESS);
	r = blob_get_range(bc, "c", "b", 990, 20, buf, NULL, NULL, &e);
	TAP_EQ_INT(r, -ERANGE, "416 InvalidRange: -ERANGE");
	TAP_EQ_STR(e.code, "InvalidRange", "code from the header");
	TAP_EQ_INT(blob_get_range(bc, "c", "b", 5, 0, buf, NULL, NULL, &e), 0, "len 0: 0");
	TAP_EQ_INT(fake_hits(), 1, "without a request");
	TAP_EQ_INT(blob_get_range(bc, "c", "b", 5, 1, buf, "bad\"etag", NULL, &e), -EINVAL,
	           "an ETag that cannot go into a header is refused");
out:
	shutdown(fake.fd, SHUT_RDWR);
	close(fake.fd);
	pthread_join(th, NULL);
	blob_client_free(bc);
	http_free(h);
}

/*
 * Storage that refuses connections: the first request spends its retries,
 * the next ones within the hold fail at once without a request (no waiting
 * out a deadline per request while storage is known to be gone).
 */
static void test_unreachable(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct http_opts ho = {.max_retries = 1, .backoff_base_ms = 1};
	struct blob_opts o = {.account = "acct", .auth = BLOB_AUTH_SHARED_KEY, .key = DEV_KEY};
	struct blob_client *bc = NULL;
	struct blob_props p;
	struct http_stats hs0, hs1;
	struct net_error e;
	struct http *h = NULL;
	char url[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was just free: bound, then closed, so connections are refused. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		TAP_OK(0, "a free port");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/acct", ntohs(sa.sin_port));
	o.url = url;
	if (http_new(&h, &ho) != 0 || blob_client_new(&bc, h, &o) != 0) {
		TAP_OK(0, "client for a closed port");
		goto out;
	}
	TAP_EQ_INT(blob_get_props(bc, "c", "b", &p, &e), -ECONNREFUSED, "refused: -ECONNREFUSED");
	http_get_stats(h, &hs0);
	TAP_EQ_INT(blob_get_props(bc, "c", "b", &p, &e), -ECONNREFUSED,
	           "again at once: the same errno");
	TAP_OK(strstr(e.msg, "unreachable") != NULL, "saying storage is unreachable: %s", e.msg);
	TAP_EQ_INT(blob_list(bc, "c", NULL, "/", count_cb, &(int){0}, &e), -ECONNREFUSED,
	           "a listing too");
	http_get_stats(h, &hs1);
	TAP_EQ_INT(hs1.requests - hs0.requests, 0, "without sending a request");
out:
	blob_client_free(bc);
	http_free(h);
}

/*
 * The one definition of "storage unreachable" (serve from the cache): every
 * errno this client returns, against the list in net/blob.h and mgdcfs.1.
 */
static void test_unreachable_set(void)
{
	static const struct {
		int err, want;
	} t[] = {
	    {ETIMEDOUT, 1},  {ECONNREFUSED, 1}, {EHOSTUNREACH, 1}, {ENETUNREACH, 1},
	    {ECONNRESET, 1}, {EAGAIN, 1},       {EIO, 1},          {ENOENT, 0},
	    {EACCES, 0},     {ESTALE, 0},       {EINVAL, 0},       {ERANGE, 0},
	    {EPROTO, 0},     {EFBIG, 0},        {ENOMEM, 0},       {ECANCELED, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		TAP_EQ_INT(blob_unreachable(-t[i].err), t[i].want, "%s is %sunreachable",
		           strerror(t[i].err), t[i].want ? "" : "not ");
	TAP_EQ_INT(blob_unreachable(0), 0, "success is not unreachable");
}

/* ---- live tests against Azurite ---- */

struct names {
	int n;
	char v[64][96];
	uint64_t size[64];
	int prefix[64];
};

static int names_cb(void *ud, const struct blob_entry *ent)
{
	struct names *s = ud;

	if (s->n < 64) {
		snprintf(s->v[s->n], sizeof(s->v[0]), "%s", ent->name);
		s->size[s->n] = ent->size;
		s->prefix[s->n] = ent->is_prefix;
	}
	s->n++;
	return 0;
}

static char *read_secret(const char *file)
{
	size_t len = 0;
	char *s = slurp(file, &len);

	if (s)
		s[strcspn(s, "\r\n")] = '\0';
	return s;
}

/* iso8601 - "YYYY-MM-DDTHH:MM:SSZ" for now + delta. */
static void iso8601(char *out, size_t n, long delta)
{
	time_t t = time(NULL) + delta;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* make_sas - a container service SAS (sr=c, sp=rl) signed with the account key. */
static char *make_sas(const unsigned char *key, size_t keylen, const char *account,
                      const char *container)
{
	char st[32], se[32], sts[512], sig[45], *esig, *tok;
	const char *sv = "2021-08-06";

	iso8601(st, sizeof(st), -300);
	iso8601(se, sizeof(se), 3600);
	snprintf(sts, sizeof(sts), "rl\n%s\n%s\n/blob/%s/%s\n\n\nhttps,http\n%s\nc\n\n\n\n\n\n\n",
	         st, se, account, container, sv);
	if (blob_hmac_b64(key, keylen, sts, sig) < 0)
		return NULL;
	esig = http_urlencode(sig, 0);
	tok = malloc(1024);
	snprintf(tok, 1024, "sv=%s&sr=c&sp=rl&st=%s&se=%s&spr=https%%2Chttp&sig=%s", sv, st, se,
	         esig);
	free(esig);
	return tok;
}

static int has_name(const struct names *s, const char *name, int prefix)
{
	int i;

	for (i = 0; i < s->n && i < 64; i++)
		if (strcmp(s->v[i], name) == 0 && s->prefix[i] == prefix)
			return 1;
	return 0;
}

static void check_read(struct blob_client *bc, const char *c, const char *name,
                       const unsigned char *data, uint64_t off, size_t len, const char *what)
{
	unsigned char *buf = malloc(len ? len : 1);
	struct net_error e;
	ssize_t n = blob_get_range(bc, c, name, off, len, buf, NULL, NULL, &e);

	TAP_EQ_INT(n, (long long)len, "%s: %zu bytes at %llu", what, len, (unsigned long long)off);
	if (n != (ssize_t)len)
		printf("#   %s\n", e.msg);
	TAP_OK(n == (ssize_t)len && memcmp(buf, data + off, len) == 0, "%s: bytes equal the upload",
	       what);
	free(buf);
}

/* Parallel readers sharing one client: each checks its own ranges. */
struct par {
	struct blob_client *bc;
	const char *container;
	const unsigned char *data;
	size_t len;
	unsigned seed;
	int bad;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	unsigned char buf[70000];
	struct net_error e;
	int i;

	for (i = 0; i < 25; i++) {
		size_t n = 1 + (size_t)rand_r(&p->seed) % sizeof(buf);
		uint64_t off = (uint64_t)rand_r(&p->seed) % (p->len - n);

		if (blob_get_range(p->bc, p->container, "top.bin", off, n, buf, NULL, NULL, &e) !=
		        (ssize_t)n ||
		    memcmp(buf, p->data + off, n) != 0)
			p->bad++;
	}
	return NULL;
}

static void check_parallel(struct blob_client *bc, const char *container, const unsigned char *data,
                           size_t len)
{
	struct par p[4];
	pthread_t th[4];
	int i, started = 0, bad = 0;

	for (i = 0; i < 4; i++) {
		p[i] = (struct par){bc, container, data, len, (unsigned)i + 1, 0};
		if (pthread_create(&th[i], NULL, par_main, &p[i]) == 0)
			started++;
		else
			break;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		bad += p[i].bad;
	}
	TAP_EQ_INT(started, 4, "four reader threads");
	TAP_EQ_INT(bad, 0, "100 parallel random range reads through one client are exact");
}

/* check_dir_list - a flat listing of dir/ through `bc` finds the three blobs put there. */
static void check_dir_list(struct blob_client *bc, const char *container, const char *what)
{
	struct net_error e;
	struct names s;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = blob_list(bc, container, "dir/", NULL, names_cb, &s, &e);
	TAP_EQ_INT(rc, 0, "%s list", what);
	if (rc)
		printf("#   %s %s\n", e.code, e.msg);
	TAP_EQ_INT(s.n, 3, "%s list sees dir/'s three blobs", what);
}

/* test_bearer - the same reads with an Entra token from the sandbox's login endpoint. */
static void test_bearer(struct http *h, const char *container, const unsigned char *big)
{
	const char *login = getenv("MGDC_LOGIN_URL"), *tenant = getenv("MGDC_TENANT_ID");
	const char *cid = getenv("MGDC_DEV_CLIENT_ID"), *sf = getenv("MGDC_DEV_CLIENT_SECRET_FILE");
	struct auth_opts ao = {.login_url = login, .tenant = tenant, .client_id = cid};
	struct blob_opts o = {.account = getenv("MGDC_STORAGE_ACCOUNT"),
	                      .url = getenv("MGDC_BLOB_URL"),
	                      .auth = BLOB_AUTH_BEARER};
	struct blob_client *bc = NULL;
	struct auth *a = NULL;
	char *secret;

	if (!login || !tenant || !cid || !sf || !(secret = read_secret(sf))) {
		printf("ok %d # SKIP no Entra identity in the sandbox environment\n", ++tap_n);
		return;
	}
	ao.secret = secret;
	TAP_EQ_INT(auth_new(&a, h, &ao), 0, "Entra identity for bearer auth");
	memset(secret, 0, strlen(secret));
	free(secret);
	o.auth_id = a;
	TAP_EQ_INT(a ? blob_client_new(&bc, h, &o) : -1, 0, "bearer client");
	if (!bc)
		goto out;
	check_dir_list(bc, container, "bearer");
	check_read(bc, container, "top.bin", big, 4096, 65536, "bearer range read");
	blob_client_free(bc);
	bc = NULL;
	auth_free(a);
	a = NULL;
	ao.secret = "not-the-secret";
	TAP_EQ_INT(auth_new(&a, h, &ao), 0, "identity with a wrong secret");
	o.auth_id = a;
	if (a && blob_client_new(&bc, h, &o) == 0) {
		struct net_error e;
		int rc;

		rc = blob_list(bc, container, NULL, NULL, names_cb, NULL, &e);
		TAP_EQ_INT(rc, -EACCES, "a refused client secret: -EACCES");
		TAP_OK(strncmp(e.code, "AADSTS", 6) == 0, "the token endpoint's code is kept: %s",
		       e.code);
	}
out:
	blob_client_free(bc);
	auth_free(a);
}

static void test_live(void)
{
	const char *url = getenv("MGDC_BLOB_URL"), *acct = getenv("MGDC_STORAGE_ACCOUNT");
	const char *keyf = getenv("MGDC_STORAGE_KEY_FILE"), *ca = getenv("MGDC_SANDBOX_CA");
	static const char *const small[] = {"dir/a.txt", "dir/b.txt", "dir/sub/c.txt",
	                                    "odd name + \xc3\xbc#?.txt", "empty.bin"};
	size_t big_len = ((size_t)5 << 20) + 3, i;
	struct blob_client *bc = NULL, *pg = NULL, *sas = NULL;
	struct http_opts ho = {0};
	struct http_stats h0, h1;
	struct blob_stats bs;
	struct blob_opts o = {0};
	struct blob_props p, p2;
	struct net_error e;
	struct names s;
	struct http *h = NULL;
	unsigned char *big = NULL, key[128], md5[16], buf[64];
	char container[64], *key64 = NULL, *tok = NULL, *u, want[512];
	unsigned int ml;
	int rc, keylen;

	if (!url || !acct || !keyf) {
		printf("ok %d # SKIP no sandbox (MGDC_BLOB_URL, MGDC_STORAGE_ACCOUNT, "
		       "MGDC_STORAGE_KEY_FILE)\n",
		       ++tap_n);
		return;
	}
	key64 = read_secret(keyf);
	ho.ca_file = ca;
	TAP_OK(key64 != NULL, "storage key file readable");
	TAP_EQ_INT(http_new(&h, &ho), 0, "http client");
	if (!key64 || !h)
		goto out;
	o.account = acct;
	o.url = url;
	o.auth = BLOB_AUTH_SHARED_KEY;
	o.key = key64;
	TAP_EQ_INT(blob_client_new(&bc, h, &o), 0, "shared-key client");
	o.max_results = 2;
	TAP_EQ_INT(blob_client_new(&pg, h, &o), 0, "client with 2 entries per page");
	if (!bc || !pg)
		goto out;
	snprintf(container, sizeof(container), "mgdcfs-unit-%d-%ld", (int)getpid(),
	         (long)time(NULL) % 100000);
	TAP_EQ_INT(blob_container_create(bc, container, &e), 0, "container created");
	TAP_EQ_INT(blob_container_create(bc, container, &e), 0, "creating it again is fine");

	big = malloc(big_len);
	RAND_bytes(big, (int)big_len);
	TAP_EQ_INT(blob_put(bc, container, "top.bin", big, big_len, &e), 0, "put 5 MiB + 3");
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		rc = blob_put(bc, container, small[i], small[i], i == 4 ? 0 : strlen(small[i]), &e);
		TAP_EQ_INT(rc, 0, "put %s", small[i]);
		if (rc)
			printf("#   %s %s\n", e.code, e.msg);
	}

	memset(&s, 0, sizeof(s));
	http_get_stats(h, &h0);
	rc = blob_list(pg, container, NULL, "/", names_cb, &s, &e);
	http_get_stats(h, &h1);
	TAP_EQ_INT(rc, 0, "list root with delimiter, 2 per page");
	TAP_EQ_INT(s.n, 4, "dir/, empty.bin, the odd name and top.bin");
	TAP_OK(has_name(&s, "dir/", 1) && has_name(&s, "empty.bin", 0) &&
	           has_name(&s, "top.bin", 0) && has_name(&s, small[3], 0),
	       "the uploaded names, dir/ as a prefix");
	TAP_OK(h1.requests - h0.requests >= 2, "paged: %llu requests",
	       (unsigned long long)(h1.requests - h0.requests));
	memset(&s, 0, sizeof(s));
	TAP_EQ_INT(blob_list(pg, container, "dir/", "/", names_cb, &s, &e), 0, "list dir/");
	TAP_OK(s.n == 3 && has_name(&s, "dir/a.txt", 0) && has_name(&s, "dir/b.txt", 0) &&
	           has_name(&s, "dir/sub/", 1),
	       "dir/ holds a.txt, b.txt and sub/");
	memset(&s, 0, sizeof(s));
	blob_client_free(pg);
	pg = NULL;
	/* one entry per page: every name, the odd one too, comes back as a marker */
	o.max_results = 1;
	TAP_EQ_INT(blob_client_new(&pg, h, &o), 0, "client with 1 entry per page");
	http_get_stats(h, &h0);
	TAP_EQ_INT(pg ? blob_list(pg, container, NULL, NULL, names_cb, &s, &e) : -1, 0,
	           "flat listing, one entry per page");
	http_get_stats(h, &h1);
	TAP_EQ_INT(s.n, 6, "all six blobs");
	TAP_OK(h1.requests - h0.requests >= 6, "one page each (%llu requests)",
	       (unsigned long long)(h1.requests - h0.requests));
	TAP_OK(has_name(&s, small[3], 0), "the odd name survived being a marker");
	for (i = 0; (int)i < s.n && i < 64; i++)
		if (strcmp(s.v[i], "top.bin") == 0)
			TAP_EQ_INT(s.size[i], big_len, "listed size of top.bin");
	{
		struct blob_listing l;

		TAP_EQ_INT(blob_list_collect(bc, NULL, NULL, NULL, &l, &e), 0, "list containers");
		for (i = 0, rc = 0; i < l.n; i++)
			rc |= strcmp(l.v[i].name, container) == 0 && l.v[i].is_prefix;
		TAP_OK(rc, "our container is listed");
		blob_listing_release(&l);
	}

	TAP_EQ_INT(blob_get_props(bc, container, "top.bin", &p, &e), 0, "HEAD top.bin");
	TAP_EQ_INT(p.size, big_len, "size");
	TAP_OK(p.etag[0] == '"', "quoted ETag %s", p.etag);
	EVP_Digest(big, big_len, md5, &ml, EVP_md5(), NULL);
	TAP_OK(p.has_md5 && memcmp(p.md5, md5, 16) == 0, "stored Content-MD5 equals ours");

	check_read(bc, container, "top.bin", big, 0, 1, "first byte");
	check_read(bc, container, "top.bin", big, 12345, 777, "odd offset");
	check_read(bc, container, "top.bin", big, big_len - 1, 1, "last byte");
	check_read(bc, container, "top.bin", big, 3, (size_t)4 << 20, "4 MiB at 3 (MD5 checked)");
	check_read(bc, container, "top.bin", big, 0, big_len, "whole 5 MiB + 3 (no MD5)");
	check_parallel(bc, container, big, big_len);
	check_read(bc, container, "dir/a.txt", (const unsigned char *)small[0], 0, strlen(small[0]),
	           "whole small blob");
	check_read(bc, container, small[3], (const unsigned char *)small[3], 5, 4, "odd name");
	http_get_stats(h, &h0);
	TAP_EQ_INT(blob_get_range(bc, container, "empty.bin", 0, 0, buf, NULL, NULL, &e), 0,
	           "0 bytes of the empty blob");
	http_get_stats(h, &h1);
	TAP_EQ_INT(h1.requests - h0.requests, 0, "... without a request");
	blob_get_stats(bc, &bs);
	TAP_OK(bs.md5_verified >= 5, "MD5 verified on small ranges (%llu)",
	       (unsigned long long)bs.md5_verified);
	TAP_EQ_INT(bs.md5_mismatch, 0, "no MD5 mismatch");

	TAP_EQ_INT(blob_get_range(bc, container, "top.bin", 10, 10, buf, p.etag, &p2, &e), 10,
	           "If-Match with the current ETag");
	TAP_EQ_STR(p2.etag, p.etag, "reply ETag");
	TAP_EQ_INT(p2.size, big_len, "size from Content-Range");
	big[10] ^= 0xff;
	TAP_EQ_INT(blob_put(bc, container, "top.bin", big, big_len, &e), 0, "overwrite top.bin");
	rc = (int)blob_get_range(bc, container, "top.bin", 10, 10, buf, p.etag, NULL, &e);
	TAP_EQ_INT(rc, -ESTALE, "old ETag after an overwrite: -ESTALE");
	TAP_EQ_STR(e.code, "ConditionNotMet", "service code kept");
	check_read(bc, container, "top.bin", big, 8, 4, "new bytes without If-Match");

	rc = blob_get_props(bc, container, "no-such-blob", &p, &e);
	TAP_EQ_INT(rc, -ENOENT, "HEAD of a missing blob: -ENOENT");
	TAP_EQ_STR(e.code, "BlobNotFound", "code from x-ms-error-code");
	rc = (int)blob_get_range(bc, "no-such-container", "x", 0, 4, buf, NULL, NULL, &e);
	TAP_EQ_INT(rc, -ENOENT, "GET in a missing container: -ENOENT");
	TAP_EQ_STR(e.code, "ContainerNotFound", "ContainerNotFound");
	memset(&s, 0, sizeof(s));
	TAP_EQ_INT(blob_list(bc, "no-such-container", NULL, "/", names_cb, &s, &e), -ENOENT,
	           "listing a missing container: -ENOENT");

	keylen = blob_b64_decode(key64, key, sizeof(key));
	tok = make_sas(key, (size_t)keylen, acct, container);
	o.auth = BLOB_AUTH_SAS;
	o.key = NULL;
	o.sas = tok;
	o.max_results = 0;
	TAP_EQ_INT(blob_client_new(&sas, h, &o), 0, "SAS client");
	if (sas) {
		check_dir_list(sas, container, "SAS");
		check_read(sas, container, "top.bin", big, 1000, 5000, "SAS range read");
		TAP_EQ_INT(blob_put(sas, container, "denied.txt", "x", 1, &e), -EACCES,
		           "SAS without write permission: -EACCES");
		u = blob_url_https(sas, container, "dir/a b.txt");
		snprintf(want, sizeof(want), "%s/%s/dir/a%%20b.txt", url, container);
		TAP_EQ_STR(u, want, "https URL carries no SAS");
		free(u);
	}
	test_bearer(h, container, big);
	u = blob_url_abfss(bc, container, "dir/a b.txt");
	snprintf(want, sizeof(want), "abfss://%s@%s.dfs.core.windows.net/dir/a%%20b.txt", container,
	         acct);
	TAP_EQ_STR(u, want, "abfss URL");
	free(u);

	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		blob_delete(bc, container, small[i], &e);
	TAP_EQ_INT(blob_delete(bc, container, "top.bin", &e), 0, "delete a blob");
	TAP_EQ_INT(blob_container_delete(bc, container, &e), 0, "delete the container");
out:
	blob_client_free(sas);
	blob_client_free(pg);
	blob_client_free(bc);
	http_free(h);
	free(tok);
	free(big);
	if (key64) {
		memset(key64, 0, strlen(key64));
		free(key64);
	}
}

int main(void)
{
	test_string_to_sign();
	test_hmac();
	test_range();
	test_dates();
	test_codes();
	test_pages();
	test_huge_pages();
	test_fake_server();
	test_unreachable();
	test_unreachable_set();
	test_live();
	return tap_done();
}
