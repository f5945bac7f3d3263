/* A second thread that runs one job at a time beside its caller: the caller
 * hands a job with xp_twin_run, does its own share of the work, then joins
 * the job with xp_twin_wait. Used where one batch splits into two halves
 * that can be done apart (the layout writer formats half of a point batch
 * on the twin). A job's error (code and message) comes back through
 * xp_twin_wait, set in the caller's thread.
 *
 * Ownership: the caller owns the twin (xp_twin_free joins the thread) and
 * everything a job's arg points to; the twin borrows it until xp_twin_wait
 * returns. */
#ifndef XPORT_TWIN_H
#define XPORT_TWIN_H

struct xp_twin;

int xp_twin_new(struct xp_twin **out);
/* Start fn(arg) on the twin; the previous job must have been waited for. */
void xp_twin_run(struct xp_twin *t, int (*fn)(void *arg), void *arg);
/* Wait for the job: its return value, with its error message moved into
 * this thread when it is negative. */
int xp_twin_wait(struct xp_twin *t);
void xp_twin_free(struct xp_twin *t);

#endif
