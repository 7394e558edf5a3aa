/* flight.h — coalescing: one fetch or read per id at a time, many requests
 * waiting for it, and the results just obtained.
 *
 * An entry per id ("w:<key>" weather fetch, "g:<query>" geocoding fetch,
 * "r:<key>" / "q:<query>" persistence reads) is RUNNING while one fetch or
 * read is under way and DONE once it has a result, kept until its keep time
 * (or api_fl_forget()). Results are immutable and reference counted: every
 * waiter gets a reference to the same one, nothing is copied per waiter.
 *
 * Waiting: a request attaches an fl_waiter to a RUNNING entry. Exactly one of
 * {completion, deadline} takes it off — decided under the table's lock — and
 * calls its resume function once, without the lock, on the completing thread
 * or the timer thread. resume must only hand the request over to where it
 * continues (e.g. nb_req_to_worker); the waiter's owner may run and free it
 * from then on.
 *
 * Bounds: at most max_entries entries (RUNNING + DONE) and max_waiters
 * waiters. A new entry in a full table takes the place of the kept result due
 * first; only when every entry is RUNNING, or past max_waiters, are joins
 * refused (FL_FULL). DONE entries leave at their keep time exactly (a timer
 * heap, not a periodic sweep).
 *
 * Threads: every function is thread-safe. One timer thread. */
#ifndef API_FLIGHT_H
#define API_FLIGHT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "nimbus/err.h"
#include "nimbus/heap.h"
#include "nimbus/record.h"

/* ---- results -------------------------------------------------------- */

typedef enum fl_kind {
    FL_ERROR,  /* only err, retry_after_s, reason */
    FL_RECORD, /* + u.rec: a weather record */
    FL_PLACE,  /* + u.geo: a geocoding outcome */
} fl_kind;

typedef struct fl_record {
    nb_record rec;
    char source[16]; /* "cache", "database", "upstream" */
} fl_record;

typedef struct fl_place {
    bool found;
    int64_t expires_at_ms; /* wall clock, 0 = never */
    nb_place place;
} fl_place;

typedef struct fl_result {
    atomic_long refs;
    fl_kind kind;
    nb_err err; /* NB_OK or why it failed (NB_ERR_NOT_FOUND: nothing stored) */
    int retry_after_s;
    char reason[200];
    /* The payload of its kind, in the same allocation (sized to it); NULL otherwise. */
    fl_record *rec; /* FL_RECORD */
    fl_place *geo;  /* FL_PLACE */
} fl_result;

/* A new result with one reference (the caller's), zeroed; NULL on no memory. */
fl_result *api_fl_result_new(fl_kind kind);
/* A new FL_ERROR result; never NULL (on no memory: a shared "out of memory"
 * result). */
fl_result *api_fl_result_error(nb_err err, int retry_after_s, const char *reason);
/* Adds a reference; returns r. */
fl_result *api_fl_result_ref(fl_result *r);
/* Drops a reference (NULL is fine); the last one frees it. */
void api_fl_result_unref(fl_result *r);

/* ---- the table ------------------------------------------------------ */

typedef struct fl_waiter fl_waiter;
typedef struct fl_entry fl_entry;
typedef void (*fl_resume_fn)(fl_waiter *w);

struct fl_waiter {
    /* Set by the owner before joining. */
    int64_t deadline_ms; /* monotonic */
    fl_resume_fn resume;
    /* Set by the table before resume: a reference (now the owner's), or NULL
     * when the deadline passed first or the table stopped. */
    fl_result *res;
    /* The table's. */
    nb_heap_node timer;
    fl_waiter *prev, *next;
    fl_entry *entry;
};

typedef enum fl_state {
    FL_STARTED, /* no entry existed: one was made RUNNING (the waiter NOT attached);
                   the caller must run the fetch or read and complete it */
    FL_RUNNING, /* one is under way; the waiter, if given, is attached */
    FL_DONE,    /* a result is there: *res gets a reference (waiter not attached) */
    FL_NONE,    /* no entry, and start was false */
    FL_FULL,    /* refused: all entries running, too many waiters, or stopped (nothing attached) */
} fl_state;

typedef struct flights flights;

/* NULL on no memory. Registers the nimbus_flight_* metrics. */
flights *api_fl_new(long max_entries, long max_waiters);
/* Stops the timer thread and resumes every waiter still attached with NULL;
 * joins are refused from then on. Completions still work. */
void api_fl_stop(flights *f);
/* Stops if needed and frees everything. */
void api_fl_free(flights *f);

/* See fl_state. w may be NULL (just look, or start without waiting). */
fl_state api_fl_join(flights *f, const char *id, fl_waiter *w, bool start, fl_result **res);
/* Publishes res (borrowed: the table takes its own references) for the
 * RUNNING entry id, resumes its waiters, and keeps it for keep_ms (0: the
 * entry goes at once). */
void api_fl_complete(flights *f, const char *id, fl_result *res, int64_t keep_ms);
/* Stores a DONE result without a fetch (e.g. a geocoding entry read from
 * persistence); replaces a DONE entry, leaves a RUNNING one alone, does
 * nothing when the table is full of RUNNING entries. */
void api_fl_put(flights *f, const char *id, fl_result *res, int64_t keep_ms);
/* Drops a DONE FL_RECORD entry if it still holds the record fetched at fetched_at_ms. */
void api_fl_forget(flights *f, const char *id, int64_t fetched_at_ms);
/* Drops a DONE entry, whatever it holds (a RUNNING one stays). */
void api_fl_drop(flights *f, const char *id);

/* Gauges (also exported as metrics). */
long api_fl_running(flights *f);
long api_fl_done(flights *f);
long api_fl_waiters(flights *f);

#endif
