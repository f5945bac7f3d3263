/* A reader run one step ahead on its own thread, so that decoding the
 * source (parsing JSON, protobuf, HTTP bodies) overlaps with the
 * destination's formatting and writing: one experiment then uses two cores.
 *
 * Only point batches are read ahead (copied into a few bounded slots);
 * every other record is handed over as the inner reader made it, and the
 * inner reader is not called again until the caller asks for the next
 * record, so borrowed documents and file bodies stay valid as the reader
 * interface promises. The inner reader must not call back into the
 * destination (xp_read_opts.have_item): callers leave such readers alone.
 *
 * Ownership: the wrapper owns the inner reader from a successful call on;
 * its free() stops the thread and frees both. */
#ifndef XPORT_READAHEAD_H
#define XPORT_READAHEAD_H

struct xp_reader;

/* *out wraps inner. On failure inner is untouched and still the caller's. */
int xp_readahead_wrap(struct xp_reader **out, struct xp_reader *inner);

#endif
