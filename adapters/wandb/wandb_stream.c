/* file_stream batches (wandb_stream.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xport/error.h"
#include "xport/json.h"
#include "xport/sys/http.h"
#include "wandb_stream.h"

/* Well under the ~10 MiB request limit, and large enough that a
 * million-row run needs few requests against the 2 requests/s per run. */
#define BATCH_BYTES (4u * 1024 * 1024)

void wstream_init(struct wstream *s, struct wapi *api, const char *entity,
                  const char *project, const char *run)
{
    memset(s, 0, sizeof(*s));
    s->api = api;
    struct xp_buf u = XP_BUF_INIT;
    xp_buf_printf(&u, "%s/files/", api->base);
    xp_http_put_segment(&u, entity);
    xp_buf_putc(&u, '/');
    xp_http_put_segment(&u, project);
    xp_buf_putc(&u, '/');
    xp_http_put_segment(&u, run);
    xp_buf_puts(&u, "/file_stream");
    s->url = xp_buf_detach(&u);
    xp_buf_init(&s->body);
}

void wstream_release(struct wstream *s)
{
    free(s->url);
    xp_buf_release(&s->body);
    memset(s, 0, sizeof(*s));
}

static int post(struct wstream *s, const char *body, size_t len)
{
    const struct xp_http_header hdr[] = {{"Content-Type", "application/json"}};
    struct xp_http_request req = {
        .method = "POST",
        .url = s->url,
        .headers = hdr,
        .nheaders = 1,
        .body = body,
        .body_len = len,
        .timeout_ms = 180000,
        .cred = s->api->cred,
    };
    struct xp_http_response resp = XP_HTTP_RESPONSE_INIT;
    int rc = xp_http_request(s->api->http, &req, &resp);
    if (rc == XP_EAUTH)
        rc = xp_error_set_http(XP_EAUTH, resp.status,
                               "W&B refused the API key at '%s' (HTTP %ld)",
                               s->api->base, resp.status);
    else if (rc)
        rc = xp_error_wrap(rc, "W&B file_stream");
    xp_http_response_release(&resp);
    s->requests++;
    return rc;
}

int wstream_flush(struct wstream *s)
{
    if (!s->nlines)
        return 0;
    xp_buf_puts(&s->body, "]}}}");
    int rc = post(s, s->body.ptr, s->body.len);
    if (!rc)
        s->offset += (int64_t)s->nlines;
    s->nlines = 0;
    xp_buf_reset(&s->body);
    return rc;
}

int wstream_begin(struct wstream *s, const char *file, int64_t offset)
{
    int rc = wstream_flush(s);
    s->file = file;
    s->offset = offset;
    return rc;
}

int wstream_line(struct wstream *s, const char *line, size_t len)
{
    if (s->nlines && s->body.len + len + 64 > BATCH_BYTES) {
        int rc = wstream_flush(s);
        if (rc)
            return rc;
    }
    if (!s->nlines) {
        xp_buf_reset(&s->body);
        xp_buf_puts(&s->body, "{\"files\":{");
        xp_json_put_str(&s->body, s->file, strlen(s->file), "file");
        xp_buf_printf(&s->body, ":{\"offset\":%" PRId64 ",\"content\":[",
                      s->offset);
    } else {
        xp_buf_putc(&s->body, ',');
    }
    int rc = xp_json_put_str(&s->body, line, len, "line");
    if (rc)
        return rc;
    s->nlines++;
    return 0;
}

int wstream_finish(struct wstream *s, const char *summary_json, int complete,
                   int exitcode)
{
    int rc = wstream_flush(s);
    if (rc)
        return rc;
    struct xp_buf b = XP_BUF_INIT;
    xp_buf_putc(&b, '{');
    if (summary_json) {
        xp_buf_puts(&b, "\"files\":{\"wandb-summary.json\":{\"offset\":0,"
                        "\"content\":[");
        rc = xp_json_put_str(&b, summary_json, strlen(summary_json),
                             "summary");
        xp_buf_puts(&b, "]}}");
    }
    if (complete)
        xp_buf_printf(&b, "%s\"complete\":true,\"exitcode\":%d",
                      summary_json ? "," : "", exitcode);
    xp_buf_putc(&b, '}');
    if (!rc && (summary_json || complete))
        rc = post(s, b.ptr, b.len);
    xp_buf_release(&b);
    return rc;
}
