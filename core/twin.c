/* A second thread for one job at a time (include/xport/twin.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport/buf.h"
#include "xport/error.h"
#include "xport/twin.h"

struct xp_twin {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int (*fn)(void *arg); /* the pending job, NULL when none */
    void *arg;
    int busy, done, quit;
    int rc;
    char msg[1024];
};

static void *loop(void *p)
{
    struct xp_twin *t = p;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->busy && !t->quit)
            pthread_cond_wait(&t->cv, &t->mu);
        if (t->quit)
            break;
        pthread_mutex_unlock(&t->mu);
        int rc = t->fn(t->arg);
        pthread_mutex_lock(&t->mu);
        t->rc = rc;
        /* error messages are per thread: carry this one to the caller */
        if (rc < 0)
            snprintf(t->msg, sizeof(t->msg), "%s", xp_error_last()->message);
        t->busy = 0;
        t->done = 1;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int xp_twin_new(struct xp_twin **out)
{
    struct xp_twin *t = xp_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->th, NULL, loop, t)) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        *out = NULL;
        return xp_error_set(XP_ERROR, "cannot start a thread");
    }
    *out = t;
    return 0;
}

void xp_twin_run(struct xp_twin *t, int (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&t->mu);
    t->fn = fn;
    t->arg = arg;
    t->busy = 1;
    t->done = 0;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

int xp_twin_wait(struct xp_twin *t)
{
    pthread_mutex_lock(&t->mu);
    while (!t->done)
        pthread_cond_wait(&t->cv, &t->mu);
    t->done = 0;
    int rc = t->rc;
    pthread_mutex_unlock(&t->mu);
    if (rc < 0)
        xp_error_set(rc, "%s", t->msg);
    return rc;
}

void xp_twin_free(struct xp_twin *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->quit = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
