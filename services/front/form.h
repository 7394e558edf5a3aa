/* form.h — reading application/x-www-form-urlencoded bodies (HTML forms
 * posted without JavaScript, RFC 8058 one-click bodies).
 * Pure functions, thread-safe. */
#ifndef FRONT_FORM_H
#define FRONT_FORM_H

#include <stdbool.h>
#include <stddef.h>

/* The decoded value of the first field `name` in body[0..len) ('+' is a
 * space, %XX a byte) into out (NUL-terminated). false when the field is
 * absent, its value does not fit in outlen, or it holds a NUL or a bad
 * escape. */
bool fr_form_get(const char *body, size_t len, const char *name, char *out, size_t outlen);

#endif
