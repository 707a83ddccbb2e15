/* nftables: dlrd's own tables, programmed with libnftnl batches over libmnl. Two jobs (DESIGN §2, §3):
 *
 * - gateway protection, always on: no ARP/ND for a gateway address leaves a host towards the overlay or a
 *   VLAN uplink, frames from the overlay whose source MAC is a gateway MAC are dropped, on VLAN LIFs only the
 *   designated instance answers for the LIF address; ICMP "fragmentation needed" / "packet too big" are
 *   never dropped;
 * - each router's distributed firewall, enforced at VM ports (the ports of a LIF bridge other than its
 *   VXLAN/VLAN port), stateful, one conntrack zone per router, rules first match by (priority, name), then
 *   the router's default action.
 *
 * Every call is one atomic nf_tables transaction: all acknowledgements are drained and a failure is mapped
 * back to the rule that caused it; a refused transaction changes nothing. dlrd touches only its own tables
 * (named "dlrd" in the bridge and inet families). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/error.h"
#include "state/config.h"

typedef struct Nft Nft;

/* Opens the netlink sockets: one for transactions, one listening to nf_tables notifications. -errno. */
int nft_new(Nft **ret);
Nft *nft_free(Nft *n);
void nft_freep(Nft **n);

/* The notification socket: readable when nf_tables changed. */
int nft_monitor_fd(const Nft *n);

/* Whether a transaction since the last call was sent without its answers all read (lost, or the socket
 * failed), so the tables may differ from what dlrd rolled back to: a full firewall pass must follow. Clears
 * it. */
bool nft_take_uncertain(Nft *n);
/* Reads pending notifications without blocking. Returns 1 when something in dlrd's tables changed that dlrd
 * did not do itself, or notifications were lost (ENOBUFS) — a full nft_sync() is due —, 0 otherwise, -errno
 * on failure. */
int nft_monitor_process(Nft *n);

/* Whether this host is the designated instance of the VLAN LIFs of c: the one host that answers ARP/ND for
 * their gateway addresses on the VLAN. host_id is this host. */
bool nft_designated(const Config *c, const char *host_id);

/* Replaces dlrd's tables with the complete ruleset for c (every router's LIFs and firewall), in one
 * transaction; also what restores them after someone else deleted or changed them. */
int nft_sync(Nft *n, const Config *c, const char *host_id, DlrError *e);

/* One rule of r added or replaced (r already holds it, in order), touching only that rule's kernel rules and
 * sets: the cost does not grow with the number of rules. */
int nft_rule_put(Nft *n, const Config *c, const Router *r, const Rule *rule, DlrError *e);
/* One rule of r deleted (r no longer holds it). */
int nft_rule_delete(Nft *n, const Router *r, const char *name, DlrError *e);
/* r's default action changed. */
int nft_default_action(Nft *n, const Router *r, DlrError *e);

/* Optional kernel features the ruleset uses, found by a probe transaction (that always aborts) before the first
 * nft_sync(). Where one is missing the ruleset degrades, and nft_sync() logs a warning once:
 * - NFT_FEATURE_BRIDGE_META (nft_meta_bridge, `meta ibrname`): without it VM ports are recognised by name,
 *   from the ports attached through dlrd (Config.ports) only;
 * - NFT_FEATURE_BRIDGE_CT (nf_conntrack_bridge): without it the firewall cannot be stateful: no per-router
 *   conntrack zone in the bridge family and no "established" shortcut, every packet goes through the rules;
 * - NFT_FEATURE_BRIDGE_REJECT (nft_reject_bridge): without it "reject" drops. */
#define NFT_FEATURE_BRIDGE_META 1u
#define NFT_FEATURE_BRIDGE_CT 2u
#define NFT_FEATURE_BRIDGE_REJECT 4u
#define NFT_FEATURES_ALL (NFT_FEATURE_BRIDGE_META | NFT_FEATURE_BRIDGE_CT | NFT_FEATURE_BRIDGE_REJECT)
/* The features found (0 before the first nft_sync()). */
unsigned nft_features(const Nft *n);

/* The conntrack zone of each router of c, in c->routers order (ret has c->n_routers entries): the table id when
 * it fits 1..65535, else a free zone derived from it, so that no two routers of c share one. */
void nft_router_zones(const Config *c, uint16_t *ret);

/* Per-rule counters of r, summed over the kernel rules each compiles to: ret_packets and ret_bytes have
 * r->n_rules + 1 entries, in r->rules order, the last one for the default action. */
int nft_counters(Nft *n, const Router *r, uint64_t *ret_packets, uint64_t *ret_bytes, DlrError *e);
