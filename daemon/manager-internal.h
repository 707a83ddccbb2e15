/* What the manager's files share among themselves (manager.c holds the machinery, manager-firewall.c the
 * firewall's changes); nothing outside the manager includes this. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "manager.h"

/* The stamp of a new local change: the next Lamport time, this host. */
Stamp next_stamp(Manager *m);
/* Records the tombstone a deletion leaves; taken back by the caller if the deletion fails. */
int put_tomb(Manager *m, TombKind kind, const char *router, const char *key, DlrError *e);

/* A mirrored change document, saved as a journal record (build_merge) and pushed to peers (publish). */
typedef struct MergeRecord {
        const char *doc;
        size_t len;
} MergeRecord;
int build_merge(Manager *m, void *arg, char **ret, size_t *ret_len);
/* Bumps the generation, has the record built with it and appends it to the journal; on failure the
 * generation goes back and the caller undoes its change. */
int commit_record(Manager *m, int (*build)(Manager *m, void *arg, char **ret, size_t *ret_len), void *arg,
                DlrError *e);
/* Sends one committed change to every peer. */
void publish(Manager *m, const char *doc);
/* A refused change leaves the Lamport clock where it was: returns k. */
int keep_clock(Manager *m, uint64_t lamport, int k);

/* Firewall changes merged from a peer (manager-firewall.c): the rules of the routers a document touches,
 * noted before the merge, let only what changed be realised after it. */
typedef struct FirewallNotes FirewallNotes;
int firewall_notes_take(const Config *c, const Config *in, FirewallNotes **ret);
void firewall_notes_free(FirewallNotes *f);
static inline void firewall_notes_freep(FirewallNotes **f)
{
        firewall_notes_free(*f);
}
int firewall_apply_merge(Manager *m, const FirewallNotes *notes, const char *const *routers, size_t n_routers,
                DlrError *e);
