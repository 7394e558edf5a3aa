/* assets.h — the browser assets (app.js, style.css) compiled into the binary.
 *
 * The bytes come from services/front/assets/ through a build step
 * (cmake/embed_asset.cmake), so the page needs nothing from elsewhere and
 * works offline. Each asset has a content version (a hash prefix) that goes
 * into its URL (/static/app.js?v=<version>), which lets the answer carry a
 * year-long immutable Cache-Control.
 * Everything here is static, read-only data: any thread may call. */
#ifndef FRONT_ASSETS_H
#define FRONT_ASSETS_H

#include <stddef.h>

typedef struct fr_asset_blob {
    const unsigned char *data;
    size_t len;
    const char *version; /* 12 hex characters */
} fr_asset_blob;

typedef struct fr_asset {
    const char *name;         /* "app.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const fr_asset_blob *blob;
} fr_asset;

/* The asset called name ("app.js", "style.css"), or NULL. Borrowed, static. */
const fr_asset *fr_asset_find(const char *name);

/* One version for the whole asset set (changes when any asset changes), used
 * in the URLs the pages link to. Static string. */
const char *fr_assets_version(void);

#endif
