/* json.h — jansson helpers for values that may be missing: nimbus keeps a
 * missing number as NAN in its structs and writes it as JSON null.
 * Every json_t returned is a new reference (hand it to a *_set_new / *_new
 * call). Pure, thread-safe. */
#ifndef NIMBUS_JSON_H
#define NIMBUS_JSON_H

#include <jansson.h>

/* null for NAN or infinity, else a real. */
json_t *nb_json_num(double v);
/* null for NAN or infinity, else the nearest integer. */
json_t *nb_json_int(double v);
/* null for NAN, else true when v != 0. */
json_t *nb_json_bool(double v);
/* The number at obj[key] (integer or real); NAN when obj is not an object or
 * the value is absent, null or not a number. */
double nb_json_get_num(const json_t *obj, const char *key);

#endif
