/* flight.h — coalescing of upstream fetches, and the results just fetched.
 *
 * An entry per id ("w:<key>" for weather, "g:<query>" for geocoding) is
 * RUNNING while one fetch is under way and DONE once it has a result, which
 * is kept until flights_forget() (the write reached persistence) or its
 * keep-until time. Requests that must wait attach a waiter: its done callback
 * runs exactly once — with the result when the fetch completes, or with NULL
 * when the waiter's deadline passes first (a timer thread checks every 20 ms).
 * Callbacks run without the table lock, on the completing or timer thread.
 * All functions are thread-safe. */
#ifndef API_FLIGHT_H
#define API_FLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "nimbus/err.h"
#include "nimbus/record.h"

typedef struct fl_result {
    nb_err err; /* NB_OK or why the fetch failed */
    int retry_after_s;
    char reason[256];
    nb_record rec;  /* weather */
    bool geo_found; /* geocoding */
    nb_place place;
} fl_result;

typedef struct fl_waiter fl_waiter;
typedef void (*fl_done_fn)(fl_waiter *w, const fl_result *res);
struct fl_waiter {
    fl_waiter *next;
    int64_t deadline_ms; /* monotonic */
    fl_done_fn done;
};

typedef enum fl_state {
    FL_STARTED, /* no entry existed: one was made RUNNING, the caller must fetch */
    FL_RUNNING, /* a fetch is under way (the waiter, if any, is attached) */
    FL_DONE,    /* a recent result was copied out (the waiter is not attached) */
    FL_NONE,    /* nothing, and start was false */
} fl_state;

typedef struct flights flights;

flights *flights_new(void);
/* Stops the timer thread; every waiter still attached gets done(NULL). */
void flights_free(flights *f);

/* See fl_state. res receives the result for FL_DONE (may be NULL if unneeded). */
fl_state flights_join(flights *f, const char *id, fl_waiter *w, bool start, fl_result *res);
/* Sets the result of a RUNNING entry, answers its waiters, and keeps the
 * result until keep_until_ms (monotonic; 0 = drop it now). */
void flights_complete(flights *f, const char *id, const fl_result *res, int64_t keep_until_ms);
/* Stores a DONE result (no fetch involved), e.g. a geocoding entry read from
 * persistence; replaces a DONE entry, leaves a RUNNING one alone. */
void flights_put(flights *f, const char *id, const fl_result *res, int64_t keep_until_ms);
/* Drops a DONE weather entry if it still holds the record fetched at fetched_at_ms. */
void flights_forget(flights *f, const char *id, int64_t fetched_at_ms);
/* Number of RUNNING entries (renewals and misses in flight). */
long flights_running(flights *f);

#endif
