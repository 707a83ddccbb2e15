/* The only code that maps the desired configuration onto kernel objects: dump, diff, change what differs,
 * delete what is stale and ours. A full pass is always correct; the incremental route entry points are an
 * optimisation for the bulk path. */
#pragma once

#include <stdbool.h>

#include "nl/nl.h"
#include "shared/error.h"
#include "state/config.h"

typedef struct LifIndex {
        const Lif *lif;
        int bridge_ifindex;
} LifIndex;

typedef struct Nft Nft;

typedef struct Reconciler {
        Netlink *nl;
        Nft *nft; /* dlrd's nftables tables; NULL: no firewall pass */
        IpPrefix vtep;
        const char *host_id; /* which endpoints are local */
        char uplink[16]; /* "" = none */
        /* Bridge ifindexes of the LIFs as of the last link pass, for encoding routes. */
        LifIndex *lif_index;
        size_t n_lif_index;
        bool warned_ipv6_forwarding;
        /* Tables of dlrd VRFs seen in the kernel, configured or stale: with dlrd's own range, the only tables
         * whose proto-201 routes it may sweep. */
        uint32_t *vrf_tables;
        size_t n_vrf_tables;
} Reconciler;

int reconciler_init(Reconciler *rc, const IpPrefix *vtep, const char *uplink);
void reconciler_done(Reconciler *rc);

/* Makes links, bridge ports and addresses match c, adopting what is already right. Sets *ret_changed when
 * any link was created or deleted (routes through it may then be missing). */
int reconcile_links(Reconciler *rc, const Config *c, bool *ret_changed, DlrError *e);

/* Makes the kernel's dlrd routes (every table) match c: adds missing, replaces different, deletes stale ones
 * in descending order (ascending deletion is quadratic in the kernel). */
int reconcile_routes(Reconciler *rc, const Config *c, DlrError *e);

/* Endpoint bindings and head-end replication: permanent neighbours on LIF bridges, static bridge entries
 * and VXLAN remotes on LIF ports; stale ones of dlrd's removed, learned ones left alone. */
int reconcile_neighbours(Reconciler *rc, const Config *c, DlrError *e);
/* Plugs this host's attached ports into their LIF bridges; one that may not be a port (ports.h) is left
 * alone, with a warning. */
int reconcile_ports(Reconciler *rc, const Config *c, DlrError *e);

/* A port's place before dlrd plugged it in. */
typedef struct PortState {
        int ifindex;
        int master; /* 0: none */
        bool up;
} PortState;

/* Whether the link named ifname (or an alternative name of it) may be attached as a VM port: 0, or
 * org.dlrd1.Error.NotFound when there is no such link, InvalidArgument saying why not (ports.h). When it may,
 * *ret_prev (if not NULL) gets where it is now. */
int reconcile_check_port(Reconciler *rc, const char *ifname, PortState *ret_prev, DlrError *e);

/* Puts a port back as reconcile_check_port found it (its master, or none; up or down), if it is still the
 * same link. */
int reconcile_restore_port(Reconciler *rc, const char *ifname, const PortState *prev, DlrError *e);

/* Takes a port out of whatever bridge it is in. -ENODEV when it does not exist. */
int reconcile_detach_port(Reconciler *rc, const char *ifname, DlrError *e);

/* All of the above, and the whole nftables ruleset (gateway protection and every router's firewall). */
int reconcile_all(Reconciler *rc, const Config *c, DlrError *e);

/* Installs routes[0..n) of router r (add or replace). On any kernel error, every route of the call that went
 * in is undone: replaced ones get old[i] back (old[i].n_nexthops == UINT8_MAX... see has_old), new ones are
 * deleted. has_old[i] tells whether old[i] holds the previous route. */
int reconcile_routes_install(Reconciler *rc, const Router *r, const Route *routes, const Route *old,
                const bool *has_old, size_t n, DlrError *e);

/* Deletes one route of router r from the kernel; absent is fine. */
int reconcile_route_remove(Reconciler *rc, const Router *r, const IpPrefix *p, DlrError *e);
