/* The HTTP engine on libcurl (include/xport/sys/http.h).
 *
 * Every request, single or batched, runs on the calling thread's own multi
 * handle: it keeps that thread's idle connections for reuse, because
 * libcurl's shared connection cache is not safe across concurrent threads.
 * DNS answers and TLS sessions are shared by all threads through a locked
 * share handle. Redirects are followed here, not by libcurl, so that the
 * credentials decision is taken again for every URL. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"
#include "xport/fs.h"
#include "xport/hash.h"
#include "xport/sys/http.h"

struct tmulti {
    struct tmulti *next;
    struct xp_http *h;
    CURLM *multi;
};

/* One host's credentials. Never freed before the engine, so a pointer
 * taken under cred_mu stays valid without it. */
struct xp_http_cred {
    char *origin;   /* "scheme://host:port" they may go to */
    char *line;     /* the whole header line */
    char *name;     /* the header's name */
    char *secret;   /* as given, and as it may show up in echoes: */
    char *encoded;  /* Basic's base64, or NULL */
};

struct xp_http {
    struct xp_http_config cfg; /* strings owned; secret NULL */
    pthread_rwlock_t cred_mu;
    struct xp_http_cred **creds;
    size_t ncreds;
    char *ua;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_key_t key;         /* -> this thread's struct tmulti */
    pthread_mutex_t mu;        /* in_flight, budget, multis */
    pthread_cond_t cv;
    int in_flight;
    long budget;
    struct tmulti *multis;
    struct xp_bucket rate, hourly;
    pthread_mutex_t log_mu;
};

enum sink { SINK_MEM, SINK_FILE, SINK_CB };

struct part_src {
    struct xfer *x;
    FILE *fp;
    curl_off_t size;
};

struct xfer {
    struct xp_http *h;
    const struct xp_http_request *req;
    struct xp_http_response *resp;
    CURL *easy;
    struct curl_slist *hdrs;
    curl_mime *mime;
    char errbuf[CURL_ERROR_SIZE];

    char *url, *rurl; /* current URL and its redacted form */
    char *first_origin;
    const char *method;
    int send_body;
    enum sink sink;
    size_t cap;
    struct xp_afile af;
    FILE *body_fp;
    curl_off_t body_size, body_off;
    struct part_src *parts;

    int attempts, max_attempts, redirects, verify_retried;
    int running, done, authed;
    double t0, attempt_t0, not_before;
    int64_t delivered; /* bytes passed to on_data, all attempts */

    /* the current attempt */
    long status;
    int64_t content_length, bytes;
    double retry_after;
    char *location;
    int want_sha, want_md5;
    struct xp_sha256 sha;
    struct xp_md5 md5;
    char srv_md5[40], srv_sha[64];
    const char *srv_md5_from, *srv_sha_from;
    int sink_code;
    struct xp_buf sink_msg;
};

/* ---- setup -------------------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void xp_http_config_init(struct xp_http_config *c)
{
    memset(c, 0, sizeof(*c));
    c->max_connections = 8;
    c->max_retries = 5;
    c->retry_budget = 1000;
    c->backoff_base_ms = 500;
    c->backoff_max_ms = 30000;
    c->retry_after_max_ms = 120000;
    c->connect_timeout_ms = 30000;
    c->low_speed_limit = 1;
    c->low_speed_time_s = 60;
    c->max_body = (size_t)64 << 20;
    c->max_redirects = 10;
}

static char *dup_or_null(const char *s)
{
    return s ? xp_strdup(s) : NULL;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    for (volatile char *p = s; *p; p++)
        *p = 0;
    free(s);
}

static void share_lock(CURL *e, curl_lock_data d, curl_lock_access a,
                       void *ud)
{
    struct xp_http *h = ud;
    if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&h->share_mu[d]);
}

static void share_unlock(CURL *e, curl_lock_data d, void *ud)
{
    struct xp_http *h = ud;
    if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&h->share_mu[d]);
}

static void tmulti_gone(void *p)
{
    struct tmulti *t = p;
    struct xp_http *h = t->h;
    pthread_mutex_lock(&h->mu);
    for (struct tmulti **pp = &h->multis; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    curl_multi_cleanup(t->multi);
    free(t);
}

int xp_http_new(struct xp_http **out, const struct xp_http_config *cfg)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc)
        return xp_error_set(XP_ERROR, "cannot initialise libcurl: %s",
                            curl_easy_strerror(global_rc));
    if (cfg->max_connections < 1)
        return xp_error_set(XP_EINVALID, "max connections must be at least 1");
    struct xp_http *h = xp_calloc(1, sizeof(*h));
    h->cfg = *cfg;
    h->cfg.api_base = NULL;
    h->cfg.secret = NULL;
    h->cfg.auth_header = NULL;
    h->cfg.user_agent = dup_or_null(cfg->user_agent);
    h->cfg.ca_file = dup_or_null(cfg->ca_file);
    h->ua = xp_strdup(cfg->user_agent ? cfg->user_agent
                                      : "xport/" XPORT_VERSION);
    h->budget = cfg->retry_budget;
    pthread_rwlock_init(&h->cred_mu, NULL);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    pthread_mutex_init(&h->log_mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->share_mu[i], NULL);
    pthread_key_create(&h->key, tmulti_gone);
    double r = (double)cfg->limit_rate;
    xp_bucket_init(&h->rate, r, r / 10 > 1 ? r / 10 : 1);
    double bph = (double)cfg->bytes_per_hour;
    xp_bucket_init(&h->hourly, bph / 3600.0, bph / 60.0);

    h->share = curl_share_init();
    if (!h->share) {
        xp_http_free(h);
        return xp_error_set(XP_ENOMEM, "cannot create a curl share handle");
    }
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (cfg->auth != XP_HTTP_AUTH_NONE || cfg->api_base) {
        int rc = xp_http_add_cred(h, NULL, cfg->api_base, cfg->auth,
                                  cfg->auth_header, cfg->secret);
        if (rc) {
            xp_http_free(h);
            return rc;
        }
    }
    *out = h;
    return 0;
}

int xp_http_add_cred(struct xp_http *h, const struct xp_http_cred **out,
                     const char *api_base, enum xp_http_auth auth,
                     const char *auth_header, const char *secret)
{
    if (out)
        *out = NULL;
    if (!api_base)
        return xp_error_set(XP_EINVALID, "credentials need an API base URL");
    char *origin = xp__http_origin(api_base);
    if (!origin) {
        char *r = xp_http_redact_url(api_base);
        int rc = xp_error_set(XP_EINVALID, "invalid API base URL '%s'", r);
        free(r);
        return rc;
    }
    if (auth != XP_HTTP_AUTH_NONE && (!secret || !*secret)) {
        int rc = xp_error_set(XP_EAUTH, "no credentials given for '%s'",
                              origin);
        free(origin);
        return rc;
    }
    if (secret && strpbrk(secret, "\r\n")) {
        int rc = xp_error_set(XP_EINVALID, "the secret for '%s' contains a "
                              "line break", origin);
        free(origin);
        return rc;
    }
    if (auth == XP_HTTP_AUTH_HEADER &&
        (!auth_header || !*auth_header ||
         strpbrk(auth_header, ": \t\r\n"))) {
        free(origin);
        return xp_error_set(XP_EINVALID, "invalid auth header name '%s'",
                            auth_header ? auth_header : "");
    }
    struct xp_http_cred *c = xp_calloc(1, sizeof(*c));
    c->origin = origin;
    struct xp_buf line = XP_BUF_INIT;
    switch (auth) {
    case XP_HTTP_AUTH_BEARER:
        xp_buf_printf(&line, "Authorization: Bearer %s", secret);
        c->name = xp_strdup("Authorization");
        break;
    case XP_HTTP_AUTH_BASIC: {
        size_t n = strlen(secret);
        c->encoded = xp_malloc(4 * ((n + 2) / 3) + 1);
        xp_base64(c->encoded, (const unsigned char *)secret, n);
        xp_buf_printf(&line, "Authorization: Basic %s", c->encoded);
        c->name = xp_strdup("Authorization");
        break;
    }
    case XP_HTTP_AUTH_HEADER:
        xp_buf_printf(&line, "%s: %s", auth_header, secret);
        c->name = xp_strdup(auth_header);
        break;
    case XP_HTTP_AUTH_NONE:
        break;
    }
    c->line = line.len ? xp_buf_detach(&line) : NULL;
    xp_buf_release(&line);
    c->secret = c->line ? xp_strdup(secret) : NULL;
    pthread_rwlock_wrlock(&h->cred_mu);
    h->creds = xp_realloc(h->creds, (h->ncreds + 1) * sizeof(*h->creds));
    h->creds[h->ncreds++] = c;
    pthread_rwlock_unlock(&h->cred_mu);
    if (out)
        *out = c;
    return 0;
}

/* The credentials a request to origin gets: the request's own when they
 * are for that origin, else the first registered for it. */
static const struct xp_http_cred *cred_for(struct xp_http *h,
                                           const struct xp_http_cred *want,
                                           const char *origin)
{
    if (!origin)
        return NULL;
    if (want)
        return !strcmp(want->origin, origin) && want->line ? want : NULL;
    const struct xp_http_cred *found = NULL;
    pthread_rwlock_rdlock(&h->cred_mu);
    for (size_t i = 0; i < h->ncreds && !found; i++)
        if (h->creds[i]->line && !strcmp(h->creds[i]->origin, origin))
            found = h->creds[i];
    pthread_rwlock_unlock(&h->cred_mu);
    return found;
}

/* Append s to out with every known secret replaced. */
static void scrub(struct xp_http *h, struct xp_buf *out, const char *s)
{
    struct xp_buf a = XP_BUF_INIT, b = XP_BUF_INIT;
    xp_buf_puts(&a, s);
    pthread_rwlock_rdlock(&h->cred_mu);
    for (size_t i = 0; i < h->ncreds; i++) {
        const char *sec[2] = {h->creds[i]->secret, h->creds[i]->encoded};
        for (int k = 0; k < 2; k++) {
            if (!sec[k])
                continue;
            xp_buf_reset(&b);
            xp__http_put_scrubbed(&b, a.ptr, sec[k]);
            struct xp_buf t = a;
            a = b;
            b = t;
        }
    }
    pthread_rwlock_unlock(&h->cred_mu);
    xp_buf_puts(out, a.ptr);
    xp_buf_release(&a);
    xp_buf_release(&b);
}

static int header_secret(struct xp_http *h, const char *name)
{
    int yes = xp__http_header_secret(name, NULL);
    pthread_rwlock_rdlock(&h->cred_mu);
    for (size_t i = 0; i < h->ncreds && !yes; i++)
        yes = h->creds[i]->name && !strcasecmp(h->creds[i]->name, name);
    pthread_rwlock_unlock(&h->cred_mu);
    return yes;
}

void xp_http_free(struct xp_http *h)
{
    if (!h)
        return;
    /* Callers have joined their workers: no transfer is running. */
    pthread_key_delete(h->key);
    while (h->multis) {
        struct tmulti *t = h->multis;
        h->multis = t->next;
        curl_multi_cleanup(t->multi);
        free(t);
    }
    if (h->share)
        curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->share_mu[i]);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->log_mu);
    xp_bucket_destroy(&h->rate);
    xp_bucket_destroy(&h->hourly);
    for (size_t i = 0; i < h->ncreds; i++) {
        struct xp_http_cred *c = h->creds[i];
        free(c->origin);
        wipe_free(c->line);
        free(c->name);
        wipe_free(c->secret);
        wipe_free(c->encoded);
        free(c);
    }
    free(h->creds);
    pthread_rwlock_destroy(&h->cred_mu);
    free((char *)h->cfg.user_agent);
    free((char *)h->cfg.ca_file);
    free(h->ua);
    free(h);
}

long xp_http_retries_left(const struct xp_http *h)
{
    struct xp_http *m = (struct xp_http *)h;
    pthread_mutex_lock(&m->mu);
    long b = m->budget;
    pthread_mutex_unlock(&m->mu);
    return b;
}

/* ---- responses ------------------------------------------------------------ */

void xp_http_response_init(struct xp_http_response *r)
{
    memset(r, 0, sizeof(*r));
    xp_buf_init(&r->body);
    xp_buf_init(&r->headers);
}

void xp_http_response_release(struct xp_http_response *r)
{
    if (r->body.ptr)
        xp_buf_release(&r->body);
    if (r->headers.ptr)
        xp_buf_release(&r->headers);
    free(r->error);
    free(r->url);
    xp_http_response_init(r);
}

int xp_http_response_header(struct xp_buf *out,
                            const struct xp_http_response *r,
                            const char *name)
{
    size_t nlen = strlen(name);
    const char *p = r->headers.ptr;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nlen + 1 && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
            const char *v = p + nlen + 1;
            while (*v == ' ')
                v++;
            xp_buf_reset(out);
            xp_buf_put(out, v, len - (size_t)(v - p));
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    return XP_ENOTFOUND;
}

/* ---- logging --------------------------------------------------------------- */

static void hlog(struct xp_http *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void hlog(struct xp_http *h, int level, const char *fmt, ...)
{
    if (h->cfg.verbose < level)
        return;
    struct xp_buf raw = XP_BUF_INIT, line = XP_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    /* Belt and braces: whatever path a secret took into the text. */
    scrub(h, &line, raw.ptr);
    pthread_mutex_lock(&h->log_mu);
    if (h->cfg.log)
        h->cfg.log(h->cfg.log_payload, line.ptr);
    else
        fprintf(stderr, "xport: http: %s\n", line.ptr);
    pthread_mutex_unlock(&h->log_mu);
    xp_buf_release(&raw);
    xp_buf_release(&line);
}

static void log_header(struct xp_http *h, char dir, const char *line)
{
    if (h->cfg.verbose < 2)
        return;
    const char *colon = strchr(line, ':');
    if (colon) {
        char name[128];
        size_t n = (size_t)(colon - line);
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, line, n);
        name[n] = '\0';
        if (header_secret(h, name)) {
            hlog(h, 2, "%c %s: <redacted>", dir, name);
            return;
        }
    }
    hlog(h, 2, "%c %s", dir, line);
}

/* ---- connection slots shared by all threads ------------------------------- */

static int cancelled(const struct xp_http *h)
{
    return h->cfg.cancel && *h->cfg.cancel;
}

static int slot_get(struct xp_http *h, int block)
{
    pthread_mutex_lock(&h->mu);
    while (h->in_flight >= h->cfg.max_connections) {
        if (!block || cancelled(h)) {
            pthread_mutex_unlock(&h->mu);
            return 0;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    h->in_flight++;
    pthread_mutex_unlock(&h->mu);
    return 1;
}

static void slot_put(struct xp_http *h)
{
    pthread_mutex_lock(&h->mu);
    h->in_flight--;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static int budget_take(struct xp_http *h)
{
    int ok = 1;
    pthread_mutex_lock(&h->mu);
    if (h->budget == 0)
        ok = 0;
    else if (h->budget > 0)
        h->budget--;
    pthread_mutex_unlock(&h->mu);
    return ok;
}

/* ---- curl callbacks -------------------------------------------------------- */

static void throttle(struct xfer *x, size_t n)
{
    double a = xp_bucket_take(&x->h->rate, (double)n);
    double b = xp_bucket_take(&x->h->hourly, (double)n);
    double w = a > b ? a : b;
    if (w > 0)
        xp__sleep(w, x->h->cfg.cancel);
}

static void sink_fail(struct xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sink_fail(struct xfer *x, int code, const char *fmt, ...)
{
    if (x->sink_code)
        return;
    x->sink_code = code;
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&x->sink_msg, fmt, ap);
    va_end(ap);
}

static int is_2xx(long s)
{
    return s >= 200 && s < 300;
}

static void copy_token(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == ':')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == ' ' || v[n - 1] == ':'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Digest (RFC 3230), Repr-Digest (RFC 9530) and X-Goog-Hash all list
 * "algo=base64" items separated by commas. */
static void parse_digests(struct xfer *x, const char *hdr, const char *v)
{
    while (*v) {
        size_t len = strcspn(v, ",");
        const char *eq = memchr(v, '=', len);
        if (eq) {
            const char *name = v;
            while (*name == ' ')
                name++;
            size_t nlen = (size_t)(eq - name);
            size_t vlen = len - (size_t)(eq + 1 - v);
            if (nlen == 7 && !strncasecmp(name, "sha-256", 7)) {
                copy_token(x->srv_sha, sizeof(x->srv_sha), eq + 1, vlen);
                x->srv_sha_from = hdr;
            } else if (nlen == 3 && !strncasecmp(name, "md5", 3)) {
                copy_token(x->srv_md5, sizeof(x->srv_md5), eq + 1, vlen);
                x->srv_md5_from = hdr;
            }
        }
        v += len;
        if (*v == ',')
            v++;
    }
}

static void attempt_reset_response(struct xfer *x)
{
    x->status = 0;
    x->content_length = -1;
    x->retry_after = -1;
    free(x->location);
    x->location = NULL;
    x->srv_md5[0] = x->srv_sha[0] = '\0';
    x->srv_md5_from = x->srv_sha_from = NULL;
    xp_buf_reset(&x->resp->headers);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nitems;
    if (len >= 5 && !memcmp(buf, "HTTP/", 5)) {
        /* a new response: 1xx interim ones are followed by the real one */
        attempt_reset_response(x);
        const char *sp = memchr(buf, ' ', len);
        if (sp)
            x->status = strtol(sp + 1, NULL, 10);
        return len;
    }
    size_t n = len;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    const char *colon = memchr(buf, ':', n);
    if (!n || !colon)
        return len;
    char *line = xp_strndup(buf, n);
    char *name = line, *value = line + (colon - buf) + 1;
    line[colon - buf] = '\0';
    while (*value == ' ' || *value == '\t')
        value++;
    if (x->resp->headers.len < 65536)
        xp_buf_printf(&x->resp->headers, "%s: %s\n", name, value);
    if (!strcasecmp(name, "content-length")) {
        x->content_length = strtoll(value, NULL, 10);
    } else if (!strcasecmp(name, "retry-after")) {
        x->retry_after = xp__http_retry_after(value);
    } else if (!strcasecmp(name, "location")) {
        free(x->location);
        x->location = xp_strdup(value);
    } else if (!strcasecmp(name, "content-md5")) {
        copy_token(x->srv_md5, sizeof(x->srv_md5), value, strlen(value));
        x->srv_md5_from = "Content-MD5";
    } else if (!strcasecmp(name, "digest")) {
        parse_digests(x, "Digest", value);
    } else if (!strcasecmp(name, "repr-digest")) {
        parse_digests(x, "Repr-Digest", value);
    } else if (!strcasecmp(name, "x-goog-hash")) {
        parse_digests(x, "X-Goog-Hash", value);
    }
    if (x->h->cfg.verbose >= 2) {
        line[colon - buf] = ':';
        log_header(x->h, '<', line);
    }
    free(line);
    return len;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nmemb;
    struct xp_buf *body = &x->resp->body;
    if (!is_2xx(x->status)) {
        /* keep the start of an error body for the message */
        if (body->len < 4096)
            xp_buf_put(body, data, len < 4096 - body->len ? len : 4096 - body->len);
        return len;
    }
    if (x->bytes == 0) {
        x->want_sha = x->req->expect_sha256 || x->srv_sha[0];
        x->want_md5 = x->req->expect_md5 || x->srv_md5[0];
    }
    x->bytes += (int64_t)len;
    if (x->want_sha)
        xp_sha256_update(&x->sha, data, len);
    if (x->want_md5)
        xp_md5_update(&x->md5, data, len);
    switch (x->sink) {
    case SINK_MEM:
        if (body->len + len > x->cap) {
            sink_fail(x, XP_ERROR, "%s '%s' failed: response is larger than "
                      "%zu bytes", x->method, x->rurl, x->cap);
            return 0;
        }
        /* size the buffer once: doubling a 10 MB body copies it twice over */
        if (body->len == 0 && x->content_length > 0 && (size_t)x->content_length <= x->cap)
            xp_buf_grow(body, (size_t)x->content_length);
        xp_buf_put(body, data, len);
        break;
    case SINK_FILE:
        xp_afile_write(&x->af, data, len);
        if (x->af.err) {
            sink_fail(x, x->af.err, "%s", xp_error_last()->message);
            return 0;
        }
        break;
    case SINK_CB: {
        int rc = x->req->on_data(x->req->payload, data, len);
        if (rc) {
            sink_fail(x, rc < 0 ? rc : XP_EUSER,
                      "%s '%s': the consumer stopped the transfer",
                      x->method, x->rurl);
            return 0;
        }
        x->delivered += (int64_t)len;
        break;
    }
    }
    throttle(x, len);
    return len;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t want = size * nitems, got;
    if (x->body_fp) {
        got = fread(buf, 1, want, x->body_fp);
        if (!got && ferror(x->body_fp)) {
            sink_fail(x, XP_EIO, "cannot read '%s'", x->req->body_path);
            return CURL_READFUNC_ABORT;
        }
    } else {
        size_t left = (size_t)(x->body_size - x->body_off);
        got = want < left ? want : left;
        memcpy(buf, (const char *)x->req->body + x->body_off, got);
        x->body_off += (curl_off_t)got;
    }
    throttle(x, got);
    return got;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
    struct xfer *x = ud;
    if (origin != SEEK_SET || off < 0 || off > x->body_size)
        return CURL_SEEKFUNC_CANTSEEK;
    if (x->body_fp)
        return fseeko(x->body_fp, (off_t)off, SEEK_SET) ? CURL_SEEKFUNC_FAIL
                                                         : CURL_SEEKFUNC_OK;
    x->body_off = off;
    return CURL_SEEKFUNC_OK;
}

static size_t part_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct part_src *p = ud;
    size_t got = fread(buf, 1, size * nitems, p->fp);
    if (!got && ferror(p->fp))
        return CURL_READFUNC_ABORT;
    throttle(p->x, got);
    return got;
}

static int part_seek(void *ud, curl_off_t off, int origin)
{
    struct part_src *p = ud;
    return fseeko(p->fp, (off_t)off, origin) ? CURL_SEEKFUNC_FAIL
                                             : CURL_SEEKFUNC_OK;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    struct xfer *x = ud;
    return cancelled(x->h);
}

/* ---- one transfer: set-up, attempts, verdicts ---------------------------- */

static void xfer_fail(struct xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void xfer_fail(struct xfer *x, int code, const char *fmt, ...)
{
    struct xp_buf raw = XP_BUF_INIT, msg = XP_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xp_buf_vprintf(&raw, fmt, ap);
    va_end(ap);
    scrub(x->h, &msg, raw.ptr);
    xp_buf_release(&raw);
    free(x->resp->error);
    x->resp->error = xp_buf_detach(&msg);
    x->resp->code = code;
    x->done = 1;
}

static void set_url(struct xfer *x, char *url)
{
    free(x->url);
    free(x->rurl);
    x->url = url;
    x->rurl = xp_http_redact_url(url);
}

static void xfer_init(struct xfer *x, struct xp_http *h,
                      const struct xp_http_request *rq,
                      struct xp_http_response *resp)
{
    memset(x, 0, sizeof(*x));
    x->h = h;
    x->req = rq;
    x->resp = resp;
    xp_buf_init(&x->sink_msg);
    if (!resp->body.ptr)
        xp_buf_init(&resp->body);
    if (!resp->headers.ptr)
        xp_buf_init(&resp->headers);
    xp_buf_reset(&resp->body);
    xp_buf_reset(&resp->headers);
    free(resp->error);
    free(resp->url);
    resp->error = resp->url = NULL;
    resp->status = 0;
    resp->code = 0;
    resp->bytes = 0;
    resp->attempts = 0;
    resp->seconds = 0;
    x->t0 = xp__mono();
    x->send_body = 1;
    x->max_attempts = (rq->flags & XP_HTTP_NO_RETRY) ? 1 : 1 + h->cfg.max_retries;
    x->cap = rq->max_body ? rq->max_body : h->cfg.max_body;

    int bodies = (rq->body != NULL) + (rq->body_path != NULL) + (rq->nparts > 0);
    x->method = rq->method ? rq->method : bodies ? "POST" : "GET";
    set_url(x, xp_strdup(rq->url ? rq->url : ""));
    if (!rq->url || !(x->first_origin = xp__http_origin(rq->url))) {
        xfer_fail(x, XP_EINVALID, "%s '%s': not an http(s) URL", x->method,
                  x->rurl);
        return;
    }
    if (bodies > 1 || (rq->out_path && rq->on_data)) {
        xfer_fail(x, XP_EINVALID, "%s '%s': more than one request body or "
                  "response sink given", x->method, x->rurl);
        return;
    }
    x->sink = rq->out_path ? SINK_FILE : rq->on_data ? SINK_CB : SINK_MEM;
    if (rq->body) {
        x->body_size = (curl_off_t)rq->body_len;
    } else if (rq->body_path) {
        struct stat st;
        x->body_fp = fopen(rq->body_path, "rb");
        if (!x->body_fp || fstat(fileno(x->body_fp), &st)) {
            xp_error_set_os(XP_EIO, "cannot open '%s'", rq->body_path);
            xfer_fail(x, XP_EIO, "%s", xp_error_last()->message);
            return;
        }
        x->body_size = (curl_off_t)st.st_size;
    }
    if (rq->nparts) {
        x->parts = xp_calloc(rq->nparts, sizeof(*x->parts));
        for (size_t i = 0; i < rq->nparts; i++) {
            const struct xp_http_part *p = &rq->parts[i];
            x->parts[i].x = x;
            if (!p->path)
                continue;
            struct stat st;
            x->parts[i].fp = fopen(p->path, "rb");
            if (!x->parts[i].fp || fstat(fileno(x->parts[i].fp), &st)) {
                xp_error_set_os(XP_EIO, "cannot open '%s'", p->path);
                xfer_fail(x, XP_EIO, "%s", xp_error_last()->message);
                return;
            }
            x->parts[i].size = (curl_off_t)st.st_size;
        }
    }
    if (x->sink == SINK_FILE && xp_afile_open(&x->af, rq->out_path)) {
        xfer_fail(x, XP_EIO, "%s", xp_error_last()->message);
        return;
    }
}

static int build_mime(struct xfer *x)
{
    x->mime = curl_mime_init(x->easy);
    if (!x->mime)
        return -1;
    for (size_t i = 0; i < x->req->nparts; i++) {
        const struct xp_http_part *p = &x->req->parts[i];
        curl_mimepart *mp = curl_mime_addpart(x->mime);
        if (!mp || curl_mime_name(mp, p->name))
            return -1;
        if (p->path) {
            struct part_src *src = &x->parts[i];
            if (fseeko(src->fp, 0, SEEK_SET) ||
                curl_mime_data_cb(mp, src->size, part_read, part_seek, NULL,
                                  src))
                return -1;
            const char *base = strrchr(p->path, '/');
            const char *fn = p->filename ? p->filename
                                         : base ? base + 1 : p->path;
            if (curl_mime_filename(mp, fn))
                return -1;
        } else {
            if (curl_mime_data(mp, p->data ? p->data : "", p->len))
                return -1;
            if (p->filename && curl_mime_filename(mp, p->filename))
                return -1;
        }
        if (p->content_type && curl_mime_type(mp, p->content_type))
            return -1;
    }
    return 0;
}

static int xfer_start(struct xfer *x)
{
    struct xp_http *h = x->h;
    const struct xp_http_request *rq = x->req;
    x->attempts++;
    x->resp->attempts = x->attempts;
    x->attempt_t0 = xp__mono();
    attempt_reset_response(x);
    x->bytes = 0;
    x->sink_code = 0;
    xp_buf_reset(&x->sink_msg);
    xp_buf_reset(&x->resp->body);
    xp_sha256_init(&x->sha);
    xp_md5_init(&x->md5);
    x->errbuf[0] = '\0';
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;

    if (!x->easy && !(x->easy = curl_easy_init()))
        return -1;
    CURL *e = x->easy;
    curl_easy_reset(e);
    curl_mime_free(x->mime);
    x->mime = NULL;

    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, h->ua);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->cfg.connect_timeout_ms);
    long tmo = rq->timeout_ms ? rq->timeout_ms : h->cfg.timeout_ms;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, h->cfg.low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->cfg.low_speed_time_s);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->cfg.insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->cfg.insecure ? 0L : 2L);
    if (h->cfg.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->cfg.ca_file);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);

    /* Headers the caller chose stay with the origin they were meant for;
     * credentials go to the API origin only. */
    char *origin = xp__http_origin(x->url);
    int home = origin && !strcmp(origin, x->first_origin);
    const struct xp_http_cred *cred =
        rq->flags & XP_HTTP_NO_AUTH ? NULL : cred_for(h, rq->cred, origin);
    x->authed = cred != NULL;
    free(origin);
    struct curl_slist *l = NULL;
    for (size_t i = 0; home && i < rq->nheaders; i++) {
        struct xp_buf hb = XP_BUF_INIT;
        xp_buf_printf(&hb, "%s: %s", rq->headers[i].name,
                      rq->headers[i].value);
        l = curl_slist_append(l, hb.ptr);
        xp_buf_release(&hb);
    }
    l = curl_slist_append(l, "Expect:"); /* no 1 s stall on 100-continue */
    if (x->authed)
        l = curl_slist_append(l, cred->line);
    x->hdrs = l;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);

    int has_body = rq->body || rq->body_path || rq->nparts;
    int is_post = !strcmp(x->method, "POST");
    if (x->send_body && has_body) {
        if (rq->nparts) {
            if (build_mime(x))
                return -1;
            curl_easy_setopt(e, CURLOPT_MIMEPOST, x->mime);
        } else {
            x->body_off = 0;
            if (x->body_fp && fseeko(x->body_fp, 0, SEEK_SET))
                return -1;
            curl_easy_setopt(e, CURLOPT_POST, 1L);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, x->body_size);
            curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(e, CURLOPT_READDATA, x);
            curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
            curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
        }
        if (!is_post)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    } else if (!strcmp(x->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(x->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (is_post) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
    }

    if (h->cfg.verbose >= 2) {
        hlog(h, 2, "%s '%s' (attempt %d)", x->method, x->rurl, x->attempts);
        for (struct curl_slist *s = l; s; s = s->next)
            if (strcmp(s->data, "Expect:"))
                log_header(h, '>', s->data);
    }
    return 0;
}

static void sink_rewind(struct xfer *x)
{
    xp_buf_reset(&x->resp->body);
    if (x->sink == SINK_FILE && x->af.fp) {
        fflush(x->af.fp);
        if (ftruncate(fileno(x->af.fp), 0) || fseeko(x->af.fp, 0, SEEK_SET))
            x->af.err = xp_error_set_os(XP_EIO, "cannot truncate '%s'",
                                        x->af.tmp);
    }
}

/* A failure that another attempt may cure: schedule one or give up. */
static void xfer_transient(struct xfer *x, double retry_after,
                           const char *reason)
{
    struct xp_http *h = x->h;
    const char *m = x->method;
    if (x->attempts >= x->max_attempts) {
        xfer_fail(x, XP_ERETRY, "%s '%s' failed: %s after %d attempt%s", m,
                  x->rurl, reason, x->attempts, x->attempts == 1 ? "" : "s");
        return;
    }
    if (x->sink == SINK_CB && x->delivered && !x->req->on_reset) {
        xfer_fail(x, XP_ERETRY, "%s '%s' failed: %s; cannot retry after %lld "
                  "bytes were passed on", m, x->rurl, reason,
                  (long long)x->delivered);
        return;
    }
    double cap = (double)h->cfg.retry_after_max_ms / 1000.0;
    if (retry_after > cap) {
        xfer_fail(x, XP_ERETRY, "%s '%s' failed: %s; the server asks to retry "
                  "after %.0f s (limit %.0f s)", m, x->rurl, reason,
                  retry_after, cap);
        return;
    }
    if (!budget_take(h)) {
        xfer_fail(x, XP_ERETRY, "%s '%s' failed: %s; the run's retry budget "
                  "of %ld is used up", m, x->rurl, reason, h->cfg.retry_budget);
        return;
    }
    sink_rewind(x);
    if (x->af.err) {
        xfer_fail(x, x->af.err, "%s", xp_error_last()->message);
        return;
    }
    if (x->sink == SINK_CB && x->req->on_reset) {
        int rc = x->req->on_reset(x->req->payload);
        if (rc) {
            xfer_fail(x, rc < 0 ? rc : XP_EUSER, "%s '%s': the consumer "
                      "refused a retry after: %s", m, x->rurl, reason);
            return;
        }
        x->delivered = 0;
    }
    double wait = retry_after >= 0
                      ? retry_after
                      : xp__http_backoff(x->attempts - 1, h->cfg.backoff_base_ms,
                                         h->cfg.backoff_max_ms);
    x->not_before = xp__mono() + wait;
    hlog(h, 1, "%s '%s': %s; retry %d of %d in %.2f s", m, x->rurl, reason,
         x->attempts, x->max_attempts - 1, wait);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode hex (exactly 2n digits) or base64 into n bytes; -1 if neither. */
static int decode_digest(unsigned char *out, size_t n, const char *s,
                         int *was_hex)
{
    size_t len = strlen(s);
    *was_hex = 0;
    if (len == 2 * n) {
        size_t i;
        for (i = 0; i < n; i++) {
            int a = hexval((unsigned char)s[2 * i]);
            int b = hexval((unsigned char)s[2 * i + 1]);
            if (a < 0 || b < 0)
                break;
            out[i] = (unsigned char)(a << 4 | b);
        }
        if (i == n) {
            *was_hex = 1;
            return 0;
        }
    }
    unsigned char tmp[64];
    long got = xp_base64_decode(tmp, sizeof(tmp), s, len);
    if (got != (long)n)
        return -1;
    memcpy(out, tmp, n);
    return 0;
}

/* Compare a computed digest with an expected one (hex or base64); on a
 * mismatch put "expected <algo> X, got Y" into why. */
static int digest_ok(struct xp_buf *why, const char *algo,
                     const unsigned char *got, size_t n, const char *expect,
                     const char *source)
{
    unsigned char want[32];
    int hex;
    char shown[90];
    if (decode_digest(want, n, expect, &hex)) {
        xp_buf_printf(why, "%s gives an unreadable %s '%s'", source, algo,
                      expect);
        return 0;
    }
    if (!memcmp(want, got, n))
        return 1;
    if (hex)
        xp_hex(shown, got, n);
    else
        xp_base64(shown, got, n);
    xp_buf_printf(why, "%s %s %s, got %s", source, algo, expect, shown);
    return 0;
}

/* Check a finished 2xx body; returns 0 or puts the reason into why. */
static int verify_body(struct xfer *x, struct xp_buf *why)
{
    const struct xp_http_request *rq = x->req;
    if (strcmp(x->method, "HEAD") && x->content_length >= 0 &&
        x->bytes != x->content_length) {
        xp_buf_printf(why, "body cut short: received %lld of %lld bytes",
                      (long long)x->bytes, (long long)x->content_length);
        return -1;
    }
    if ((rq->flags & XP_HTTP_CHECK_SIZE) && x->bytes != rq->expect_size) {
        xp_buf_printf(why, "size mismatch for '%s': expected %lld bytes, got "
                      "%lld", x->rurl, (long long)rq->expect_size,
                      (long long)x->bytes);
        return 1;
    }
    if (x->bytes == 0) { /* on_write never ran to decide */
        x->want_sha = rq->expect_sha256 || x->srv_sha[0];
        x->want_md5 = rq->expect_md5 || x->srv_md5[0];
    }
    unsigned char sha[32], md5[16];
    if (x->want_sha)
        xp_sha256_final(&x->sha, sha);
    if (x->want_md5)
        xp_md5_final(&x->md5, md5);
    struct xp_buf d = XP_BUF_INIT;
    int ok = 1;
    if (ok && rq->expect_sha256)
        ok = digest_ok(&d, "sha256", sha, 32, rq->expect_sha256, "expected");
    if (ok && rq->expect_md5)
        ok = digest_ok(&d, "md5", md5, 16, rq->expect_md5, "expected");
    if (ok && x->srv_sha[0])
        ok = digest_ok(&d, "sha256", sha, 32, x->srv_sha, x->srv_sha_from);
    if (ok && x->srv_md5[0])
        ok = digest_ok(&d, "md5", md5, 16, x->srv_md5, x->srv_md5_from);
    if (!ok)
        xp_buf_printf(why, "checksum mismatch for '%s': %s", x->rurl, d.ptr);
    xp_buf_release(&d);
    return ok ? 0 : 1;
}

static void xfer_redirect(struct xfer *x)
{
    long st = x->status;
    if (!x->location) {
        xfer_fail(x, XP_ERROR, "%s '%s' failed: HTTP %ld without a Location",
                  x->method, x->rurl, st);
        return;
    }
    if (++x->redirects > x->h->cfg.max_redirects) {
        xfer_fail(x, XP_ERROR, "%s '%s' failed: more than %d redirects",
                  x->method, x->rurl, x->h->cfg.max_redirects);
        return;
    }
    char *next = xp__http_resolve(x->url, x->location);
    char *origin = next ? xp__http_origin(next) : NULL;
    if (!origin) {
        char *r = xp_http_redact_url(x->location);
        xfer_fail(x, XP_ERROR, "%s '%s' failed: redirect to unsupported URL "
                  "'%s'", x->method, x->rurl, r);
        free(r);
        free(next);
        return;
    }
    free(origin);
    /* What browsers and curl do: 303 always, and 301/302 after a POST,
     * turn into a GET without the body. */
    if (st == 303 || ((st == 301 || st == 302) && !strcmp(x->method, "POST"))) {
        if (strcmp(x->method, "HEAD"))
            x->method = "GET";
        x->send_body = 0;
    }
    char *rnext = xp_http_redact_url(next);
    hlog(x->h, 1, "%s '%s' -> %ld, to '%s'", x->method, x->rurl, st, rnext);
    free(rnext);
    set_url(x, next);
    x->attempts--; /* following a redirect is not another try */
    x->not_before = 0;
}

static void xfer_end(struct xfer *x, CURLcode res)
{
    struct xp_http *h = x->h;
    const char *m = x->method;
    double dt = xp__mono() - x->attempt_t0;
    x->resp->status = x->status;
    x->resp->bytes = x->bytes;
    curl_mime_free(x->mime);
    x->mime = NULL;

    if (x->sink_code) {
        hlog(h, 1, "%s '%s' -> failed after %.3f s: %s", m, x->rurl, dt,
             x->sink_msg.ptr);
        xfer_fail(x, x->sink_code, "%s", x->sink_msg.ptr);
        return;
    }
    if (res != CURLE_OK) {
        const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
        hlog(h, 1, "%s '%s' -> error after %.3f s (attempt %d): %s", m,
             x->rurl, dt, x->attempts, why);
        if (res == CURLE_ABORTED_BY_CALLBACK && cancelled(h))
            xfer_fail(x, XP_ECANCEL, "%s '%s' interrupted", m, x->rurl);
        else if (xp__http_curl_retryable(res))
            xfer_transient(x, -1, why);
        else
            xfer_fail(x, XP_ERROR, "%s '%s' failed: %s", m, x->rurl, why);
        return;
    }
    long st = x->status;
    hlog(h, 1, "%s '%s' -> %ld, %lld bytes in %.3f s (attempt %d)", m,
         x->rurl, st, (long long)x->bytes, dt, x->attempts);
    if (is_2xx(st)) {
        struct xp_buf why = XP_BUF_INIT;
        int v = verify_body(x, &why);
        if (v == 0 && x->sink == SINK_MEM && x->req->retry_2xx &&
            x->req->retry_2xx(x->req->retry_2xx_payload, &x->resp->body,
                              &why)) {
            xfer_transient(x, x->retry_after,
                           why.len ? why.ptr : "the answer asks to retry");
        } else if (v == 0) {
            x->done = 1;
        } else if (v < 0 || !x->verify_retried) {
            /* a cut-off body is transient; a mismatch gets one more try */
            if (v > 0)
                x->verify_retried = 1;
            xfer_transient(x, -1, why.ptr);
        } else {
            xfer_fail(x, XP_ERROR, "%s", why.ptr);
        }
        xp_buf_release(&why);
        return;
    }
    if (st == 301 || st == 302 || st == 303 || st == 307 || st == 308) {
        xfer_redirect(x);
        return;
    }
    char reason[64];
    snprintf(reason, sizeof(reason), "HTTP %ld", st);
    if (xp__http_status_retryable(st)) {
        xfer_transient(x, st == 429 || st == 503 ? x->retry_after : -1, reason);
        return;
    }
    struct xp_buf ex = XP_BUF_INIT;
    struct xp_buf clean = XP_BUF_INIT; /* before cutting: no half secrets */
    scrub(h, &clean, x->resp->body.ptr);
    xp__http_excerpt(&ex, clean.ptr, clean.len, 200, NULL);
    xp_buf_release(&clean);
    const char *sep = ex.len ? ": " : "";
    if (st == 401 || st == 403)
        xfer_fail(x, XP_EAUTH, "%s '%s' failed: HTTP %ld%s%s%s", m, x->rurl,
                  st, sep, ex.ptr,
                  x->authed ? "" : " (no credentials were sent)");
    else if (st == 404 || st == 410)
        xfer_fail(x, XP_ENOTFOUND, "%s '%s' failed: HTTP %ld%s%s", m, x->rurl,
                  st, sep, ex.ptr);
    else
        xfer_fail(x, XP_ERROR, "%s '%s' failed: HTTP %ld%s%s", m, x->rurl, st,
                  sep, ex.ptr);
    xp_buf_release(&ex);
}

/* After the last attempt: commit or drop the output, fill the response. */
static void xfer_close(struct xfer *x)
{
    struct xp_http_response *r = x->resp;
    if (x->sink == SINK_FILE && x->af.path) {
        if (!r->code && xp_afile_commit(&x->af)) {
            r->code = xp_error_last()->code;
            free(r->error);
            r->error = xp_strdup(xp_error_last()->message);
        } else if (r->code) {
            xp_afile_abort(&x->af);
        }
    }
    r->url = x->url;
    x->url = NULL;
    r->seconds = xp__mono() - x->t0;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->hdrs);
    curl_mime_free(x->mime);
    if (x->body_fp)
        fclose(x->body_fp);
    for (size_t i = 0; x->parts && i < x->req->nparts; i++)
        if (x->parts[i].fp)
            fclose(x->parts[i].fp);
    free(x->parts);
    free(x->rurl);
    free(x->first_origin);
    free(x->location);
    xp_buf_release(&x->sink_msg);
}

/* ---- the driver ------------------------------------------------------------- */

static CURLM *thread_multi(struct xp_http *h)
{
    struct tmulti *t = pthread_getspecific(h->key);
    if (t)
        return t->multi;
    CURLM *m = curl_multi_init();
    if (!m)
        return NULL;
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)h->cfg.max_connections);
    t = xp_calloc(1, sizeof(*t));
    t->h = h;
    t->multi = m;
    pthread_mutex_lock(&h->mu);
    t->next = h->multis;
    h->multis = t;
    pthread_mutex_unlock(&h->mu);
    pthread_setspecific(h->key, t);
    return m;
}

/* Start x if a slot is free; returns 0 when none was (x stays queued). */
static int try_start(struct xp_http *h, CURLM *m, struct xfer *x,
                     size_t *held, size_t *left)
{
    /* Block for a slot only while holding none, so that threads waiting on
     * each other always have one that can go on. */
    if (!slot_get(h, *held == 0))
        return 0;
    if (xfer_start(x) || curl_multi_add_handle(m, x->easy)) {
        slot_put(h);
        xfer_fail(x, XP_ERROR, "%s '%s': cannot set up the transfer",
                  x->method, x->rurl);
        (*left)--;
        return 1;
    }
    x->running = 1;
    (*held)++;
    return 1;
}

/* Drive xs to completion on this thread's multi handle. Never-started
 * transfers are taken in order from `next`; the few that wait to go again
 * (retry, redirect) sit in `again`, so a loop costs what is moving, not n. */
static void run(struct xp_http *h, struct xfer *xs, size_t n)
{
    CURLM *m = thread_multi(h);
    size_t left = 0, held = 0, next = 0, nagain = 0;
    struct xfer **again = xp_calloc(n, sizeof(*again));
    for (size_t i = 0; i < n; i++) {
        if (!m && !xs[i].done)
            xfer_fail(&xs[i], XP_ENOMEM, "cannot create a curl multi handle");
        left += !xs[i].done;
    }
    while (left) {
        double now = xp__mono(), wake = 1.0;
        int starved = 0, stop = cancelled(h);
        size_t keep = 0;
        for (size_t i = 0; i < nagain; i++) {
            struct xfer *x = again[i];
            if (stop) {
                xfer_fail(x, XP_ECANCEL, "%s '%s' interrupted", x->method,
                          x->rurl);
                left--;
            } else if (x->not_before > now) {
                if (x->not_before - now < wake)
                    wake = x->not_before - now;
                again[keep++] = x;
            } else if (!try_start(h, m, x, &held, &left)) {
                starved = 1;
                again[keep++] = x;
            }
        }
        nagain = keep;
        while (next < n && !starved) {
            struct xfer *x = &xs[next];
            if (x->done) {
                next++;
            } else if (stop) {
                xfer_fail(x, XP_ECANCEL, "%s '%s' interrupted", x->method,
                          x->rurl);
                left--;
                next++;
            } else if (try_start(h, m, x, &held, &left)) {
                next++;
            } else {
                starved = 1;
            }
        }
        if (!held) {
            if (left && !starved)
                xp__sleep(wake, h->cfg.cancel);
            continue;
        }
        int still = 0, msgs = 0, finished = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &msgs))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            CURLcode res = msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(m, x->easy);
            x->running = 0;
            held--;
            slot_put(h);
            xfer_end(x, res);
            if (x->done)
                left--;
            else
                again[nagain++] = x;
            finished = 1;
        }
        if (finished)
            continue;
        int tmo = starved ? 10 : (int)(wake * 1000) + 1;
        curl_multi_poll(m, NULL, 0, tmo > 1000 ? 1000 : tmo, NULL);
    }
    free(again);
}

static int finish(struct xfer *xs, struct xp_http_response *resps, size_t n)
{
    int first = -1;
    for (size_t i = 0; i < n; i++) {
        xfer_close(&xs[i]);
        if (resps[i].code && first < 0)
            first = (int)i;
    }
    if (first < 0)
        return 0;
    return xp_error_set_http(resps[first].code, resps[first].status, "%s",
                             resps[first].error);
}

int xp_http_request(struct xp_http *h, const struct xp_http_request *req,
                    struct xp_http_response *resp)
{
    struct xfer x;
    xfer_init(&x, h, req, resp);
    run(h, &x, 1);
    return finish(&x, resp, 1);
}

int xp_http_batch(struct xp_http *h, const struct xp_http_request *reqs,
                  struct xp_http_response *resps, size_t n)
{
    if (!n)
        return 0;
    struct xfer *xs = xp_calloc(n, sizeof(*xs));
    for (size_t i = 0; i < n; i++)
        xfer_init(&xs[i], h, &reqs[i], &resps[i]);
    run(h, xs, n);
    int rc = finish(xs, resps, n);
    free(xs);
    return rc;
}
