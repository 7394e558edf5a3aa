/* assets.c — lookup table over the embedded browser assets (see assets.h). */
#include "assets.h"

#include <pthread.h>
#include <string.h>

extern const fr_asset_blob fr_blob_app_js;
extern const fr_asset_blob fr_blob_style_css;

static const fr_asset assets[] = {
    {"app.js", "text/javascript; charset=utf-8", &fr_blob_app_js},
    {"style.css", "text/css; charset=utf-8", &fr_blob_style_css},
};

const fr_asset *fr_asset_find(const char *name)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
        if (strcmp(assets[i].name, name) == 0) return &assets[i];
    return NULL;
}

static char version[16];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void build_version(void)
{
    memcpy(version, fr_blob_app_js.version, 6);
    memcpy(version + 6, fr_blob_style_css.version, 6);
    version[12] = '\0';
}

const char *fr_assets_version(void)
{
    /* Both hashes side by side would be long; the first 6 hex digits of each
     * are plenty to bust caches. Built once; the table is immutable. */
    pthread_once(&version_once, build_version);
    return version;
}
