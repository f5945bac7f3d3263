/* --shard K/N: which of N shards an experiment belongs to, from a hash
 * that is the same on every platform and in every run, so that N workers
 * on N machines split a source without talking to each other. */
#ifndef XPORT_SHARD_H
#define XPORT_SHARD_H

#include <stdint.h>

/* The shard (1..n) of the experiment the source lists as (workspace,
 * project, key): the first 8 bytes of SHA-256("ws\0project\0key"), read
 * big-endian, modulo n, plus 1. n <= 1 gives 1. */
int xp_shard_of(const char *workspace, const char *project, const char *key, int n);

/* The source id to hash: the listing's key, but for an on-disk source
 * (root: its path) a key under root loses root, so that the same layout
 * mounted elsewhere, or named ./a rather than /x/a, splits the same way. */
const char *xp_shard_key(const char *root, const char *key);

/* Parse "K/N" (1 <= K <= N <= 1000000) into *k and *n; XP_EINVALID with
 * a message that says what is wrong otherwise. */
int xp_shard_parse(const char *s, int *k, int *n);

#endif
