/* The HTTP engine on libcurl (include/xport/sys/http.h): the engine object,
 * its set-up and its teardown.
 *
 * Every request, single or batched, runs on the calling thread's own multi
 * handle (core/http_multi.c): it keeps that thread's idle connections for
 * reuse, because libcurl's shared connection cache is not safe across
 * concurrent threads. DNS answers and TLS sessions are shared by all threads
 * through a locked share handle. Redirects are followed by the engine, not
 * by libcurl, so that the credentials decision is taken again for every URL
 * (core/http_xfer.c, core/http_auth.c). The other pieces are listed in
 * core/http_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_int.h"
#include "xport/error.h"

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
    /* 32 MiB: with the buffer's growth and the rest of the process, an
     * endless JSON answer stops under 64 MiB of peak RSS (at 64 MiB it
     * peaked at 76; issue 16, tests/faults/test_hostile.py); a dense one
     * under the cap is refused before json-c builds it (the budget of
     * xp_json_parse_answer, include/xport/json.h) */
    c->max_body = (size_t)32 << 20;
    c->max_redirects = 10;
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
    h->cfg.user_agent = xp_strdup(cfg->user_agent);
    h->cfg.ca_file = xp_strdup(cfg->ca_file);
    h->ua = xp_strdup(cfg->user_agent ? cfg->user_agent
                                      : "xport/" XPORT_VERSION);
    h->budget = cfg->retry_budget;
    pthread_rwlock_init(&h->cred_mu, NULL);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    pthread_mutex_init(&h->log_mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->share_mu[i], NULL);
    pthread_key_create(&h->key, xp__http_tmulti_gone);
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

void xp_http_free(struct xp_http *h)
{
    if (!h)
        return;
    /* Callers have joined their workers: no transfer is running. */
    pthread_key_delete(h->key);
    xp__http_multis_free(h);
    if (h->share)
        curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->share_mu[i]);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->log_mu);
    xp_bucket_destroy(&h->rate);
    xp_bucket_destroy(&h->hourly);
    xp__http_creds_free(h);
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
