/* gen_wmo_js.c — build tool: writes libcommon's WMO table as JavaScript
 * (nb_wmo_js) to the file named by its argument, so that front's script uses
 * the same table as the daemons. */
#include <stdio.h>
#include <stdlib.h>

#include "nimbus/wmo.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-wmo-js <out.js>\n");
        return 2;
    }
    char *js = nb_wmo_js();
    FILE *f = js ? fopen(argv[1], "w") : NULL;
    int rc = f && fputs(js, f) != EOF ? 0 : 1;
    if (f && fclose(f) != 0) rc = 1;
    free(js);
    return rc;
}
