/* Feeds bytes as a page of Neptune series values (getFloatSeriesValues /
 * getStringSeriesValues) to both of its parsers (adapters/neptune/npa_page.c):
 * the in-place scan and json-c. Oracle beyond the sanitizers: when both take
 * the page, they give the same points, floats to the bit. The first byte
 * chooses a float or a string series. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/neptune/npa.h"
#include "xport/error.h"

static int same_double(double a, double b)
{
    return isnan(a) ? isnan(b) : !memcmp(&a, &b, sizeof(a));
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    int is_float = data[0] & 1;
    struct npa_page a, b;
    npa_page_init(&a);
    npa_page_init(&b);
    xp_buf_put(&a.body, data + 1, size - 1);
    xp_buf_put(&b.body, data + 1, size - 1);
    int ra = npa_page_scan(&a, is_float);
    int rb = npa_page_json(&b, is_float, "fuzz page");
    xp_error_clear();
    if (ra == 0 && rb == 0) {
        if (a.n != b.n || a.total != b.total)
            abort();
        for (size_t i = 0; i < a.n; i++) {
            const struct npa_pt *x = &a.v[i], *y = &b.v[i];
            if (x->ms != y->ms || x->has_step != y->has_step ||
                (x->has_step && !same_double(x->step, y->step)))
                abort();
            if (is_float ? !same_double(x->d, y->d)
                         : x->slen != y->slen || memcmp(x->s, y->s, x->slen))
                abort();
        }
    }
    npa_page_release(&a);
    npa_page_release(&b);
    return 0;
}
