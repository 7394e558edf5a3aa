/* sim_fmt.h — JSON number printing the way Open-Meteo prints them.
 *
 * Open-Meteo is written in Swift and prints Float values in their shortest
 * round-trip form: a snapped grid coordinate comes out as 13.419998, a whole
 * value as 38.0. These helpers append such text to an nb_buf (strings go
 * through libcommon's nb_buf_add_json_str, which keeps UTF-8 as Open-Meteo
 * does).
 * Thread-safe (pure); the buffer belongs to the caller. */
#ifndef WS_FMT_H
#define WS_FMT_H

#include <stddef.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"

/* Shortest text that reads back as the same float32, with ".0" when whole
 * ("13.419998", "52.52", "38.0"). NaN/inf print as null. */
nb_err ws_fmt_f32(nb_buf *b, float v);
/* v rounded to `decimals` places, printed shortest; decimals == 0 prints an
 * integer ("81"), otherwise at least one decimal ("4.0", "0.25"). NaN -> null. */
nb_err ws_fmt_num(nb_buf *b, double v, int decimals);
/* The float32 shortest text into out (>= 32 bytes), for tests and logs. */
void ws_fmt_f32_text(float v, char *out, size_t outlen);

#endif
