/* sim_tz.c — time zone offsets from the system tzdata. See sim_tz.h. */
#include "sim_tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

void ws_tz_init(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

bool ws_tz_valid(const char *name)
{
    char path[256];
    if (!name || !name[0] || strlen(name) > 64 || name[0] == '/' || strstr(name, ".."))
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    return access(path, R_OK) == 0;
}

bool ws_tz_offset(const char *name, int64_t t, int *offset_s)
{
    struct tm tm;
    time_t tt = (time_t)t;
    bool ok;

    if (strcmp(name, "GMT") == 0 || strcmp(name, "UTC") == 0) {
        *offset_s = 0;
        return true;
    }
    if (!ws_tz_valid(name)) return false;
    pthread_mutex_lock(&tz_lock);
    setenv("TZ", name, 1);
    tzset();
    ok = localtime_r(&tt, &tm) != NULL;
    if (ok) *offset_s = (int)tm.tm_gmtoff;
    setenv("TZ", "UTC", 1);
    tzset();
    pthread_mutex_unlock(&tz_lock);
    return ok;
}

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
