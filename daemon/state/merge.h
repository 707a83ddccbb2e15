/* Merging a peer's document (a change or its whole state) into the local configuration. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define MERGE_ROUTES_MAX 4096u /* beyond this the kernel gets a full route pass instead of single routes */

typedef struct MergeRoute {
        char *router;
        IpPrefix prefix; /* its desired state is whatever the configuration now holds for it */
} MergeRoute;

typedef struct MergeObject {
        char *router;
        char *lif; /* NULL: the router itself */
        bool added;
} MergeObject;

typedef struct MergeResult {
        bool changed;         /* anything at all */
        bool links;           /* routers, LIFs or members: a link pass is due */
        bool members;         /* the set of hosts changed */
        bool endpoints;       /* bindings changed: a neighbour/FDB pass is due */
        bool routes_overflow; /* too many routes (or a router replaced): a full route pass is due */
        MergeRoute *routes;
        size_t n_routes;
        MergeObject *objects; /* routers and LIFs that appeared or went, for the bus */
        size_t n_objects;
        bool firewall;        /* a rule or a default action changed (not only its stamp) */
        char **fw_routers;    /* the routers whose firewall changed, each once; routers that went included */
        size_t n_fw_routers;
} MergeResult;

/* Merges in (parsed and validated like local input) into c: for every object the higher stamp wins,
 * tombstones included; then conflicts are settled by stamp. Never fails on content, only -ENOMEM, and
 * every step is a complete last-writer-wins update, so even then c stays a valid configuration. now is the
 * local time stored with new tombstones. */
int config_merge(Config *c, const Config *in, uint64_t now, MergeResult *ret);
void merge_result_done(MergeResult *res);
