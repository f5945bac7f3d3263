/* The neptune adapter's internals (a Neptune 2.x server, the API the 1.x
 * client speaks): the connection and its OAuth tokens (npa_auth.c), the
 * listing of projects and runs (npa_list.c), the reader (npa_read.c) and
 * its file bodies (npa_files.c). */
#ifndef XPORT_NPA_H
#define XPORT_NPA_H

#include <pthread.h>
#include <stdint.h>

#include "xport/buf.h"
#include "xport/location.h"
#include "xport/stream.h"
#include "xport/sys/adapter.h"
#include "xport/sys/http.h"

struct json_object;

struct npa {
    struct xp_adapter base;
    struct xp_location sel;
    char *api;      /* apiUrl of clients/config, no trailing '/' */
    char *app;      /* applicationUrl, for run links (may be NULL) */
    char *query;    /* --opt query: NQL AND-ed to the listing's */
    int trashed;    /* --opt trashed=include */
    int page;       /* runs per search page */
    /* tokens: the API token goes only to the token's own address (client
     * config) and to apiUrl (exchange); the access token only to apiUrl */
    pthread_mutex_t mu;
    const struct xp_http_cred *api_cred; /* X-Neptune-Api-Token at apiUrl */
    const struct xp_http_cred *bearer;   /* the current access token */
    char *refresh;  /* single-use refresh token */
    char *refresh_url, *client_id;
    int64_t exp;    /* access token expiry, epoch seconds (0: unknown) */
    int64_t life;   /* its lifetime (exp - iat), s, or 0 */
    unsigned gen;   /* bumped on every new access token */
    int64_t trashed_left_out;
    int64_t runs_listed;
};

/* ---- npa_auth.c ---- */
/* Decode the token, ask clients/config, exchange for an access token. */
int npa_connect(struct npa *n, const char *token);
/* One API call with the access token, refreshed ahead of expiry and once
 * more on a 401 (then XP_EAUTH). rq->cred is set here. */
int npa_call(struct npa *n, struct xp_http_request *rq, struct xp_http_response *resp);
/* GET or POST (body != NULL, JSON) url and parse a JSON object. */
int npa_json(struct npa *n, const char *url, const struct xp_buf *body,
             struct json_object **out);
/* url = apiUrl + path + query built from printf arguments. */
void npa_url(struct xp_buf *b, const struct npa *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append s percent-encoded as a query value. */
void npa_qs(struct xp_buf *b, const char *s);

/* ---- npa_list.c ---- */
int npa_list_experiments(struct xp_adapter *a, xp_experiment_cb cb, void *payload);

/* ---- npa_read.c ---- */
int npa_read_experiment(struct xp_reader **out, struct xp_adapter *a,
                        const struct xp_experiment_ref *ref,
                        const struct xp_read_opts *ro);

/* ---- npa_page.c ---- */
struct npa_pt {
    double d;          /* float series */
    const char *s;     /* string series: into the page */
    size_t slen;
    double step;
    int has_step;
    int64_t ms;        /* timestampMillis */
};
struct npa_page {
    struct xp_buf body, scan;
    struct json_object *tree; /* when json-c parsed it */
    struct npa_pt *v;
    size_t n, cap;
    int64_t total;     /* totalItemCount */
};
/* A double from JSON: a number, or NaN/Infinity/-Infinity as a string
 * (json-c reads them as number tokens already); -1 when it is neither. */
int npa_jdouble(struct json_object *v, double *out);
void npa_page_init(struct npa_page *p);
void npa_page_release(struct npa_page *p);
/* GET url (a getFloatSeriesValues or getStringSeriesValues page) into p;
 * what names the series in messages. */
int npa_page_fetch(struct npa *n, struct npa_page *p, const char *url, int is_float,
                   const char *what);
/* p->body into p's points: npa_page_scan (in place, 0 or -1 when it does not
 * take the page), else npa_page_json (json-c; 0 or an error naming what).
 * Separate for tests/fuzz/fuzz_neptune_page.c, which checks that they agree. */
int npa_page_parse(struct npa_page *p, int is_float, const char *what);
int npa_page_scan(struct npa_page *p, int is_float);
int npa_page_json(struct npa_page *p, int is_float, const char *what);

/* ---- npa_files.c ---- */
struct npa_files;
/* A file-like attribute (file, fileSet, imageSeries) of experiment id. */
int npa_files_new(struct npa_files **out, struct npa *n, const char *id,
                  const char *run_name);
void npa_files_free(struct npa_files *f);
/* Queue one attribute; props is its <type>Properties object. */
void npa_files_add(struct npa_files *f, const char *path, const char *type,
                   struct json_object *props);
/* The next file: 1 with *meta and *body set (valid until the next call),
 * 0 at the end, or an error. have_item/payload as in xp_read_opts. */
int npa_files_next(struct npa_files *f, const struct xp_read_opts *ro,
                   struct xp_file_meta *meta, struct xp_stream **body);

#endif
