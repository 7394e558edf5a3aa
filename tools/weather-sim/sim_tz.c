/* sim_tz.c — Open-Meteo's offset abbreviations. See sim_tz.h. */
#include "sim_tz.h"

#include <stdio.h>

void ws_tz_abbrev(int offset_s, char *out, size_t outlen)
{
    int a = offset_s < 0 ? -offset_s : offset_s;
    int h = a / 3600, m = (a % 3600) / 60;
    if (offset_s == 0)
        snprintf(out, outlen, "GMT");
    else if (m)
        snprintf(out, outlen, "GMT%c%d:%02d", offset_s < 0 ? '-' : '+', h, m);
    else
        snprintf(out, outlen, "GMT%c%d", offset_s < 0 ? '-' : '+', h);
}
