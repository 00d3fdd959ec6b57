/*
 * memo.c - TTL cache of cJSON documents with single-flight fetches.
 *
 * A linked list is enough: the control plane of one tenant has at most a few
 * thousand documents, and lookups are dominated by the network anyway. A
 * fetch in progress marks its entry busy; other threads wanting the same key
 * wait on the condition variable instead of fetching again.
 */
#include "fs/memo.h"

#include "base/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	char *key;
	cJSON *doc; /* NULL when the last fetch failed */
	int err;    /* -errno of the last failed fetch */
	char errmsg[512];
	time_t fetched;
	long long fetched_ms; /* monotonic; 0: never fetched or must refetch */
	int refs;             /* references held by callers, plus 1 while in the table */
	int busy;             /* a fetch is running */
	int dropped;          /* dropped while busy: the running fetch may be stale */
};

struct memo {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct entry *head; /* protected by lock */
};

int memo_new(struct memo **out)
{
	struct memo *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	*out = m;
	return 0;
}

static void entry_unref_n(struct entry *e, int n)
{
	e->refs -= n;
	if (e->refs > 0)
		return;
	cJSON_Delete(e->doc);
	free(e->key);
	free(e);
}

static void entry_unref(struct entry *e)
{
	entry_unref_n(e, 1);
}

void memo_free(struct memo *m)
{
	struct entry *e, *next;

	if (!m)
		return;
	for (e = m->head; e; e = next) {
		next = e->next;
		entry_unref(e);
	}
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct entry *find(struct memo *m, const char *key)
{
	struct entry *e;

	for (e = m->head; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Milliseconds, not seconds: "never older than its TTL" must hold to the TTL. */
static int fresh(const struct entry *e, int ttl_s, long long now)
{
	long long ttl = 1000LL * (e->doc ? ttl_s : (ttl_s < 2 ? ttl_s : 2));

	return e->fetched_ms && now - e->fetched_ms < ttl;
}

int memo_get(struct memo *m, const char *key, int ttl_s, memo_fetch_fn fn, void *ud,
             struct memo_ref *ref, char *err, size_t errlen)
{
	struct entry *e;
	cJSON *doc = NULL;
	char msg[512] = "";
	long long fetched_at;
	int rc;

	memset(ref, 0, sizeof(*ref));
	pthread_mutex_lock(&m->lock);
	for (;;) {
		e = find(m, key);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e || !(e->key = strdup(key))) {
				free(e);
				pthread_mutex_unlock(&m->lock);
				return -ENOMEM;
			}
			e->refs = 1;
			e->next = m->head;
			m->head = e;
		}
		if (fresh(e, ttl_s, clock_ms()) || !e->busy)
			break;
		pthread_cond_wait(&m->cond, &m->lock);
	}
	if (!fresh(e, ttl_s, clock_ms())) {
		e->busy = 1;
		e->dropped = 0;
		e->refs++; /* keep it alive while unlocked even if dropped */
		pthread_mutex_unlock(&m->lock);
		/* The document is as old as the request that fetched it. */
		fetched_at = clock_ms();
		rc = fn(ud, key, &doc, msg, sizeof(msg));
		pthread_mutex_lock(&m->lock);
		e->busy = 0;
		if (rc == 0) {
			/* Readers holding the old document keep it through their own entry
			 * reference; swap in a new entry so their pointer stays valid. */
			struct entry *n = calloc(1, sizeof(*n));

			if (n && (n->key = strdup(key))) {
				struct entry **pp;

				n->doc = doc;
				n->fetched = time(NULL);
				n->fetched_ms = e->dropped ? 0 : fetched_at;
				n->refs = 1;
				for (pp = &m->head; *pp; pp = &(*pp)->next)
					if (*pp == e)
						break;
				if (*pp) {
					n->next = e->next;
					*pp = n;
					/* the table's reference and our keep-alive */
					entry_unref_n(e, 2);
				} else {
					n->next = m->head;
					m->head = n;
					entry_unref(e); /* our keep-alive */
				}
				e = n;
			} else {
				free(n);
				cJSON_Delete(doc);
				entry_unref(e);
				pthread_cond_broadcast(&m->cond);
				pthread_mutex_unlock(&m->lock);
				return -ENOMEM;
			}
		} else {
			e->err = rc;
			snprintf(e->errmsg, sizeof(e->errmsg), "%s", msg);
			e->fetched = time(NULL);
			e->fetched_ms = clock_ms(); /* a failure is remembered from when it ended */
			cJSON_Delete(e->doc);
			e->doc = NULL;
			entry_unref(e);
		}
		pthread_cond_broadcast(&m->cond);
	}
	if (!e->doc) {
		rc = e->err ? e->err : -EIO;
		snprintf(err, errlen, "%s", e->errmsg);
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	e->refs++;
	ref->doc = e->doc;
	ref->fetched = e->fetched;
	ref->entry_ = e;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void memo_put(struct memo *m, struct memo_ref *ref)
{
	if (!ref->entry_)
		return;
	pthread_mutex_lock(&m->lock);
	entry_unref(ref->entry_);
	pthread_mutex_unlock(&m->lock);
	memset(ref, 0, sizeof(*ref));
}

void memo_drop_prefix(struct memo *m, const char *prefix)
{
	struct entry **pp, *e;
	size_t n = strlen(prefix);

	pthread_mutex_lock(&m->lock);
	for (pp = &m->head; (e = *pp);) {
		if (strncmp(e->key, prefix, n) == 0 && !e->busy) {
			*pp = e->next;
			entry_unref(e);
		} else {
			if (strncmp(e->key, prefix, n) == 0)
				e->dropped = 1; /* refetch after the running fetch */
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&m->lock);
}
