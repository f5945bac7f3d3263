/* Monotonic time, interruptible sleeps and the shared token bucket
 * (core/http_int.h). */
#include <time.h>

#include "http_int.h"

double xp__mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int xp__sleep(double seconds, volatile sig_atomic_t *cancel)
{
    double end = xp__mono() + seconds;
    for (;;) {
        if (cancel && *cancel)
            return 1;
        double left = end - xp__mono();
        if (left <= 0)
            return 0;
        if (left > 0.05)
            left = 0.05;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

void xp_bucket_init(struct xp_bucket *b, double rate, double burst)
{
    pthread_mutex_init(&b->mu, NULL);
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last = xp__mono();
}

void xp_bucket_destroy(struct xp_bucket *b)
{
    pthread_mutex_destroy(&b->mu);
}

double xp_bucket_take(struct xp_bucket *b, double n)
{
    if (b->rate <= 0)
        return 0;
    pthread_mutex_lock(&b->mu);
    double now = xp__mono();
    b->tokens += (now - b->last) * b->rate;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last = now;
    b->tokens -= n;
    double wait = b->tokens < 0 ? -b->tokens / b->rate : 0;
    pthread_mutex_unlock(&b->mu);
    return wait;
}
