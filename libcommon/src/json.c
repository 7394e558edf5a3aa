/* json.c — null-or-number helpers (see json.h). */
#include "nimbus/json.h"

#include <math.h>

json_t *nb_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *nb_json_int(double v)
{
    return isfinite(v) ? json_integer((json_int_t)llround(v)) : json_null();
}

json_t *nb_json_bool(double v)
{
    return isnan(v) ? json_null() : json_boolean(v != 0);
}

double nb_json_get_num(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : NAN;
}
