/* Vectors of changes seen: per host, the newest of its changes (by seq, the Lamport time it was made at)
 * that a host holds. Pushes arrive in order per origin, and a whole state carries the vector it covers, so a
 * vector tells what a host has; two hosts comparing theirs can tell a difference that changes on their way
 * explain from one only a whole-state exchange repairs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "state/config.h"

#define SEEN_MAX (DLR_MEMBERS_MAX + 1u) /* entries a peer may send in one vector: every member, at most */

typedef struct SeqSeen {
        char *host;
        uint64_t seq;
} SeqSeen;

typedef struct SeenVec {
        SeqSeen *v;
        size_t n;
} SeenVec;

void seen_clear(SeenVec *s);
SeqSeen *seen_find(const SeenVec *s, const char *host);
/* host's seq, 0 when absent. */
uint64_t seen_get(const SeenVec *s, const char *host);
/* The entry for host, added with seq 0 if missing; NULL when out of memory. */
SeqSeen *seen_for(SeenVec *s, const char *host);
/* Raises host's seq to at least seq: 0 or -ENOMEM. */
int seen_raise(SeenVec *s, const char *host, uint64_t seq);
/* Whether a holds everything b held: every entry of b at most a's. */
bool seen_covers(const SeenVec *a, const SeenVec *b);
/* As a(st), and back: at most SEEN_MAX distinct valid host ids, else -EBADMSG. */
int seen_append(sd_bus_message *m, const SeenVec *s);
int seen_read(sd_bus_message *m, SeenVec *ret);
/* A comparison found two digests different, with these vectors now (mine, theirs) and, if suspect, at the
 * previous comparison too. True when pushes on their way cannot explain it, so whole states must be
 * exchanged: what either side had at the previous comparison has still not reached the other, or neither
 * side was waiting for anything then or now and the two still differ. False for a first difference. */
bool seen_difference_is_real(bool suspect, const SeenVec *mine_then, const SeenVec *theirs_then, const SeenVec *mine,
                const SeenVec *theirs);
