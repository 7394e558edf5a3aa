/* render_line.h — wttr.in's one-line answers (for tmux, status bars,
 * prompts): ?format=1..4 and ?format=<text with %-codes>.
 *
 * Presets, as wttr.in defines them:
 *   1  "%c %t\n"                 ☁️  +4°C
 *   2  "%c 🌡️%t 🌬️%w\n"          ☁️  🌡️+4°C 🌬️↙11km/h
 *   3  "%l: %c %t\n"             Berlin: ☁️  +4°C
 *   4  "%l: %c 🌡️%t 🌬️%w\n"      Berlin: ☁️  🌡️+4°C 🌬️↙11km/h
 *
 * Codes (a '%' and one letter; each is filled from the api's document, in
 * its units; a value the document lacks gives nothing, an unknown letter
 * gives nothing, as on wttr.in):
 *   %c condition emoji, padded to 3 columns    %C condition text
 *   %x condition as plain ASCII ("o", "mm", "/")
 *   %t temperature "+4°C"   %f feels like "-1°C"   %h humidity "81%"
 *   %w wind: arrow (where it blows to) and speed "↙11km/h"
 *   %l the place as asked   %p precipitation "0.2mm"   %P pressure "1015hPa"
 *   %o chance of precipitation this hour "40%"     %u UV index (today's maximum)
 *   %S sunrise "07:45:00"   %s sunset "15:59:00"   %Z time zone "Europe/Berlin"
 *   %m moon phase emoji     %M moon day (days since new moon)
 *   %R nimbus: will it rain in the next hours? The highest hourly chance of
 *      precipitation in the next 6 hours (hours=1..48 sets how many) and
 *      when it is first reached: "70%@15:00"; "0%" when none
 * "\n" (backslash, n) is a line break; anything else is copied as safe text.
 *
 * Pure functions over borrowed inputs; results malloc'd (caller frees) or
 * NULL on allocation failure. Thread-safe. */
#ifndef FRONT_RENDER_LINE_H
#define FRONT_RENDER_LINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tpl.h"

#define FR_LINE_FORMAT_MAX 1024 /* bytes of a %-format */
#define FR_LINE_TEXT_MAX 256    /* bytes of one code's text (%l %C %Z), cut beyond */

/* The %-format a format= value stands for: a preset for "1".."4", the value
 * itself when it holds a '%' (and is at most FR_LINE_FORMAT_MAX bytes), else
 * NULL (not a one-line format). */
const char *fr_line_format(const char *format);

/* The line(s) for format (at most FR_LINE_FORMAT_MAX bytes: the answer
 * stays under 256 KiB) from the api's weather document, as a template
 * (tpl.h: the moon, %m and %M, is a slot; today's values as of the local
 * date at now_ms). place: the place as the reader wrote it (%l); rain_hours:
 * the hours %R looks at (0: 6). NULL only when out of memory or format is
 * longer. */
fr_tpl *fr_line_weather_tpl(const json_t *doc, const char *format, const char *place,
                            int rain_hours, int64_t now_ms);
/* The line(s) filled at now_ms. */
char *fr_line_weather(const json_t *doc, const char *format, const char *place, int rain_hours,
                      int64_t now_ms, size_t *len);

#endif
