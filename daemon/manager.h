/* The one place that knows every module: it owns the desired configuration, turns accepted changes into
 * kernel reconciliation and saved state, and tells the bus what changed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libmnl/libmnl.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "reconcile/learnlimit.h"
#include "reconcile/reconcile.h"
#include "shared/error.h"
#include "state/config.h"

typedef struct ManagerOptions {
        const char *host_id;
        const char *vtep;
        const char *bus_address; /* NULL = system bus */
        const char *peer_socket;
        const char *state_dir;
        const char *uplink;
        const char *peer_address; /* how peers reach this host's peer socket; NULL = unix:path=<peer_socket> */
        const uid_t *peer_allow;  /* uids besides root and our own that may connect to the peer socket */
        size_t n_peer_allow;
        unsigned peer_rate;       /* calls per second a peer connection may make; 0 = default */
        const char *peer_ssh_config; /* ssh -F for ssh: peers; NULL = /etc/dlrd/ssh_config if it exists */
} ManagerOptions;

typedef struct Peers Peers;
typedef struct HostKey HostKey;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Config *config;
        Reconciler rc;

        char *host_id;
        char *vtep;
        char *bus_address;
        char *peer_socket;
        char *state_dir;
        char *uplink;
        char *peer_address;
        bool peer_address_given;
        char *peer_ssh_config; /* ssh -F for ssh: peers; NULL = none */
        unsigned peer_rate;
        uid_t *peer_allow;
        size_t n_peer_allow;
        Peers *peers;
        HostKey *hostkey; /* this host's key pair (state dir), which proves it to peers */

        struct mnl_socket *monitor;
        sd_event_source *monitor_source;
        sd_event_source *resync_source;
        sd_event_source *periodic_source;
        sd_event_source *post_source; /* after each dispatch: resync when a kernel change's outcome is unknown */
        bool resync_links, resync_routes, resync_neigh, resync_firewall;
        sd_event_source *nft_source;

        LearnLimit learn; /* bounds on what tenant traffic makes this host learn */

        size_t snapshot_bytes, journal_bytes;
        sd_event_source *save_retry_source; /* retries a snapshot while need_snapshot, with backoff */
        uint64_t save_retry_usec;

        char digest[65];
        uint64_t digest_generation;
        bool digest_valid;
        bool ready;
        /* The saved state may differ from memory (a merged change that could not be saved, a journal that could
         * not be cut back after a failed append): the next write is a whole snapshot, retried until one is. */
        bool need_snapshot;
} Manager;

/* Validates options, loads saved state (refusing a corrupt file), and opens netlink. */
int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);

/* First full reconcile, then the bus name, then READY=1. */
int manager_start(Manager *m);

typedef struct RouteSpec {
        const char *prefix;
        NexthopSpec *nexthops;
        size_t n_nexthops;
} RouteSpec;

/* Changes. Each is validated completely first, then realised in the kernel, then saved; on any failure the
 * kernel and saved state are left as before and e says why. */
int manager_create_router(Manager *m, const char *name, uint32_t table, DlrError *e);
int manager_delete_router(Manager *m, const char *name, DlrError *e);
int manager_create_lif(Manager *m, const char *router, const char *name, const char *kind, uint32_t segment,
                char *const *addresses, size_t n_addresses, uint32_t mtu, DlrError *e);
int manager_delete_lif(Manager *m, const char *router, const char *name, DlrError *e);
int manager_add_routes(Manager *m, const char *router, const RouteSpec *routes, size_t n, DlrError *e);
int manager_delete_route(Manager *m, const char *router, const char *prefix, DlrError *e);
int manager_apply(Manager *m, const char *json, uint64_t *ret_generation, DlrError *e);

/* Endpoint bindings (mirrored) and this host's VM ports (not mirrored). */
int manager_set_endpoint(Manager *m, const char *router, const char *lif, const char *mac, char *const *addresses,
                size_t n_addresses, const char *host, DlrError *e);
int manager_delete_endpoint(Manager *m, const char *router, const char *lif, const char *mac, DlrError *e);
int manager_attach_port(Manager *m, const char *router, const char *lif, const char *ifname, DlrError *e);
int manager_detach_port(Manager *m, const char *ifname, DlrError *e);

/* Cluster membership: mirrored like the rest. */
int manager_add_peer(Manager *m, const char *host, const char *vtep, const char *address, DlrError *e);
int manager_remove_peer(Manager *m, const char *host, DlrError *e);
/* AddPeer with the host's public key given up front (pinned); key "" leaves it to be pinned at first contact. */
int manager_add_peer_with_key(Manager *m, const char *host, const char *vtep, const char *address, const char *key,
                DlrError *e);
/* First contact through a member's address: records the key it proved, when none is pinned yet. */
int manager_pin_key(Manager *m, const char *host, const char *key);
/* This host's own member record was removed by a peer and not added again. */
bool manager_removed(const Manager *m);

/* A document from peer origin (one change or its whole state): validated like local input, merged by stamp,
 * realised and saved. Content the merge decides against is not an error; only a malformed document is. */
int manager_peer_merge(Manager *m, const char *origin, const char *doc, size_t len, DlrError *e);
/* Forgets tombstones every member has confirmed. */
void manager_collect_tombs(Manager *m);

/* The distributed firewall (mirrored). */
int manager_add_rule(Manager *m, const char *router, const char *name, const RuleInput *in, DlrError *e);
int manager_delete_rule(Manager *m, const char *router, const char *name, DlrError *e);
int manager_set_default_action(Manager *m, const char *router, const char *action, DlrError *e);
/* Packets and bytes per rule of the router (r->n_rules + 1 entries, the last for the default action); the
 * caller frees both arrays. */
int manager_rule_counters(Manager *m, const char *router, const Router **ret_router, uint64_t **ret_packets,
                uint64_t **ret_bytes, DlrError *e);

/* The configuration as Export returns it; redacted: members' addresses as callers that are not root may see
 * them (state/redact.h). */
int manager_export(Manager *m, bool redacted, char **ret);
/* Hex SHA-256 of the canonical configuration; cached per generation. */
const char *manager_digest(Manager *m);
