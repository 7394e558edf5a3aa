/* wmo.h — the one table of WMO weather codes (as Open-Meteo uses them): the
 * condition text, the icon name the page draws (#i-<name> in front's SVG
 * sprite) and an emoji for terminals, by day and by night.
 *
 * front's browser script gets the same table at build time (nb_wmo_js(),
 * printed by front's gen-wmo-js tool into the embedded app.js), so the code
 * is written once. Static data and pure functions: thread-safe. */
#ifndef NIMBUS_WMO_H
#define NIMBUS_WMO_H

#include <stddef.h>

typedef struct nb_wmo {
    int code;
    const char *condition;           /* "Overcast" */
    const char *icon, *icon_night;   /* "sun" / "moon" */
    const char *emoji, *emoji_night; /* UTF-8 */
} nb_wmo;

/* The entry for a code, or NULL when the code is not a WMO weather code. */
const nb_wmo *nb_wmo_find(int code);
/* Readable condition ("Overcast"); "Unknown" for an unknown code. */
const char *nb_wmo_condition(int code);
/* Condition for a code that may be missing (NAN): "Unknown" then. */
const char *nb_wmo_condition_of(double code);
/* Icon name for a code that may be missing (NAN → "unknown"); is_day 0 picks
 * the night icon, 1 or NAN the day one. */
const char *nb_wmo_icon(double code, double is_day);
/* Emoji for terminals, same rules ("🌡️" when unknown). */
const char *nb_wmo_emoji(double code, double is_day);
/* The table as a JavaScript statement defining NB_WMO, for front's script:
 * var NB_WMO = {"0":{"condition":"Clear sky","icon":"sun","night":"moon"},...};
 * Caller frees; NULL on no memory. */
char *nb_wmo_js(void);

#endif
