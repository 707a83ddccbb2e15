/* Bounds on learning from tenant traffic. A VM decides what its frames say, so what dlrd learns from them is
 * hostile input: every change it causes costs a journal record (an fdatasync) and a push to every peer.
 *
 * - Per port and per LIF, a token bucket: a burst, then a steady rate of learned changes; past it changes
 *   are dropped (and learned again from later traffic once the bucket refills).
 * - Per address, a hold time after a move: an address that moved from one MAC to another stays with the
 *   MAC it moved to for the hold time, whatever the traffic says, so an address flapping between two MACs
 *   settles and costs a change per hold time at most, not one per packet.
 *
 * State lives in a fixed-size table keyed by a keyed hash of the names, so memory does not grow with what
 * tenants send; when a set is full the least recently touched entry goes, which at worst forgets a limit
 * early. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEARN_PORT_BURST 32
#define LEARN_PORT_PER_SEC 4
#define LEARN_LIF_BURST 128
#define LEARN_LIF_PER_SEC 16
#define LEARN_MOVE_HOLD_USEC (30ULL * 1000000)
#define LEARN_SLOTS 4096
#define LEARN_WAYS 4 /* slots per set: a key evicts the least recently touched of its set */

typedef struct LearnSlot {
        uint64_t key;    /* 0: free */
        uint64_t at;     /* bucket: time of the last refill; move: time of the last move */
        uint32_t tokens; /* bucket only, in thousandths of a change */
} LearnSlot;

typedef struct LearnLimit {
        LearnSlot slots[LEARN_SLOTS];
        uint64_t secret[2];
        uint64_t dropped; /* changes refused by a bucket */
        uint64_t held;    /* moves refused by the hold time */
} LearnLimit;

/* Empties the table; the hash key comes from seed (two words, for tests) or, NULL, the kernel's random
 * source. */
void learn_limit_init(LearnLimit *ll, const uint64_t *seed);

/* Whether a learned change on this port of this LIF may go ahead at time now (µs, monotonic); takes a token
 * from both buckets when it may. */
bool learn_limit_take(LearnLimit *ll, const char *router, const char *lif, const char *port, uint64_t now);

/* Whether address (its textual form) of router/lif may move to another MAC now; records the move when it
 * may. */
bool learn_limit_move(LearnLimit *ll, const char *router, const char *lif, const char *address, uint64_t now);
