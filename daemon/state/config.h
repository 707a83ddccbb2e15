/* The desired configuration: routers, LIFs and routes as operators and peers asked for them. Pure data and
 * validation; nothing here talks to the kernel or the bus. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/addr.h"

#define DLR_NAME_MAX 64             /* router and LIF names */
#define DLR_TABLE_AUTO_MIN 1000u     /* dlrd's own table-id range, used when CreateRouter gets table 0 */
#define DLR_TABLE_AUTO_MAX 9999u
#define DLR_VNI_MAX 16777215u
#define DLR_VLAN_MAX 4094u
#define DLR_VXLAN_OVERHEAD 50u
#define DLR_MTU_DEFAULT_UNDERLAY 1500u
#define DLR_MTU_MIN 1280u           /* IPv6 minimum: a LIF may carry IPv6 at any time */
#define DLR_MTU_MAX 9000u
#define DLR_ADDRESSES_MAX 16u       /* gateway addresses per LIF */
#define DLR_NEXTHOPS_MAX 32u
#define DLR_LIFS_MAX 4096u          /* per router */

typedef enum LifKind {
        LIF_KIND_VXLAN,
        LIF_KIND_VLAN,
        _LIF_KIND_MAX,
        _LIF_KIND_INVALID = -EINVAL,
} LifKind;

const char *lif_kind_to_string(LifKind k);
LifKind lif_kind_from_string(const char *s);

/* Who wrote an object last, for last-writer-wins between hosts. host indexes Config.hosts. */
typedef struct Stamp {
        uint64_t lamport;
        uint32_t host;
} Stamp;

typedef struct Lif {
        char *name;
        LifKind kind;
        uint32_t segment;    /* VNI or VLAN id */
        uint32_t mtu_config; /* as given; 0 = derive */
        uint32_t mtu;        /* effective */
        uint16_t id;         /* stable within its router; routes refer to LIFs by it */
        uint8_t mac[6];      /* the shared gateway MAC, derived from router and LIF names */
        IpPrefix *addresses; /* gateway addresses with their subnet length */
        size_t n_addresses;
        Stamp stamp;
} Lif;

typedef struct Nexthop {
        uint8_t gw[16];
        uint16_t lif; /* Lif.id, 0 = none */
        uint8_t has_gw;
} Nexthop;

/* Kept small: a router may hold a million of these. */
typedef struct Route {
        IpPrefix prefix;
        uint8_t n_nexthops; /* 0 = blackhole */
        uint8_t used;       /* slot in use (RouteTable internal) */
        uint32_t stamp_host;
        uint64_t stamp_lamport;
        union {
                Nexthop one;   /* n_nexthops == 1 */
                Nexthop *many; /* n_nexthops > 1, sorted */
        } nh;
} Route;

/* Open addressing, linear probing, backward-shift deletion; routes are stored inline. */
typedef struct RouteTable {
        Route *slots;
        size_t capacity; /* power of two, or 0 */
        size_t n;
} RouteTable;

/* A VM's binding (the controller's MAC/ARP/VTEP tables): its MAC on a LIF, its addresses, and the host it
 * lives on. Keyed by (LIF, MAC) within a router. */
typedef struct Endpoint {
        uint16_t lif;        /* Lif.id */
        uint8_t mac[6];
        uint8_t n_addresses;
        IpPrefix *addresses; /* plen 32/128 */
        uint32_t host;       /* index into Config.hosts */
        Stamp stamp;
} Endpoint;

#define DLR_ENDPOINT_ADDRESSES_MAX 16u
#define DLR_ENDPOINTS_PER_LIF_MAX 4096u

/* The distributed firewall (DESIGN §3 AddRule): per router, rules ordered by (priority, name), first match
 * wins, then the router's default action. */
typedef enum RuleProtocol {
        RULE_PROTO_ANY,
        RULE_PROTO_TCP,
        RULE_PROTO_UDP,
        RULE_PROTO_ICMP,
        RULE_PROTO_ICMPV6,
        _RULE_PROTO_MAX,
        _RULE_PROTO_INVALID = -EINVAL,
} RuleProtocol;

typedef enum RuleAction {
        RULE_ACTION_ALLOW,
        RULE_ACTION_DROP,
        RULE_ACTION_REJECT,
        _RULE_ACTION_MAX,
        _RULE_ACTION_INVALID = -EINVAL,
} RuleAction;

const char *rule_protocol_to_string(RuleProtocol p);
RuleProtocol rule_protocol_from_string(const char *s);
const char *rule_action_to_string(RuleAction a);
RuleAction rule_action_from_string(const char *s);

typedef struct PortRange {
        uint16_t first, last; /* first <= last; 1..65535 */
} PortRange;

#define DLR_RULES_MAX 65536u          /* per router */
#define DLR_RULE_ADDRESSES_MAX 4096u  /* per source or destination list */
#define DLR_RULE_PORTS_MAX 256u       /* ranges per rule */
#define DLR_RULE_PRIORITY_DEFAULT 1000u

typedef struct Rule {
        char *name;
        uint32_t priority; /* lower first; equal priorities ordered by name */
        IpPrefix *source;  /* canonical (no host bits), sorted, without duplicates; none = any */
        size_t n_source;
        IpPrefix *destination;
        size_t n_destination;
        RuleProtocol protocol;
        PortRange *ports; /* destination ports, sorted, not overlapping; tcp and udp only; none = any */
        size_t n_ports;
        RuleAction action;
        Stamp stamp;
} Rule;

#define RULE_FAMILY_IPV4 1u
#define RULE_FAMILY_IPV6 2u

/* A router's rules by name (open addressing over the same Rule pointers), so that finding one does not scan
 * up to DLR_RULES_MAX of them: a merge or a state file looks up every rule it brings. Kept by
 * router_put_rule and router_detach_rule, the only ways to change Router.rules. */
typedef struct RuleIndex {
        Rule **slots;
        size_t capacity; /* power of two, or 0 */
} RuleIndex;

typedef struct Router {
        char *name;
        uint32_t table_config; /* as given; 0 = allocate */
        uint32_t table;
        Stamp stamp;
        Lif **lifs;
        size_t n_lifs;
        uint16_t next_lif_id;
        RouteTable routes;
        Endpoint **endpoints;
        size_t n_endpoints;
        Rule **rules; /* sorted by (priority, name); changed through router_put_rule/router_detach_rule only */
        size_t n_rules, cap_rules;
        RuleIndex rule_index; /* the same rules by name */
        RuleAction default_action; /* initially allow */
        Stamp default_stamp;       /* {0, 0} while never set */
} Router;

/* A host of the cluster: mirrored configuration like everything else. */
typedef struct Member {
        char *host;
        IpPrefix vtep;  /* its VXLAN tunnel endpoint (plen 32 or 128) */
        char *address;  /* how its peer socket is reached: a peer address (state/peer-address.h) */
        char *key;      /* its public key ("ed25519:" and 64 hex digits), "" until pinned */
        Stamp stamp;
} Member;

#define DLR_MEMBERS_MAX 1024u

typedef enum TombKind {
        TOMB_ROUTER,
        TOMB_LIF,
        TOMB_ROUTE,
        TOMB_MEMBER,
        TOMB_ENDPOINT, /* key: "<lif>/<mac>" */
        TOMB_RULE,     /* key: the rule name */
        _TOMB_KIND_MAX,
        _TOMB_KIND_INVALID = -EINVAL,
} TombKind;

const char *tomb_kind_to_string(TombKind k);
TombKind tomb_kind_from_string(const char *s);

/* What a deletion leaves behind so that an older copy arriving later cannot bring the object back. */
typedef struct Tombstone {
        TombKind kind;
        char *router; /* "" for members */
        char *key;    /* LIF name, canonical route prefix, member host, endpoint key or rule name */
        Stamp stamp;
        uint64_t since; /* host-local realtime usec when this host made or learned it: for collection */
} Tombstone;

typedef struct TombSet {
        Tombstone *slots; /* open addressing; key == NULL marks a free slot */
        size_t capacity, n;
} TombSet;

/* A local VM port plugged into a LIF's bridge: a fact of this host only, never mirrored. */
typedef struct Port {
        char *ifname;
        char *router;
        char *lif;
} Port;

typedef struct Config {
        Router **routers;
        size_t n_routers;
        Member **members;
        size_t n_members;
        TombSet tombs;
        uint64_t generation; /* bumped on every accepted change */
        uint64_t lamport;
        char **hosts; /* interned host ids for stamps */
        size_t n_hosts;
        Port *ports; /* host-local */
        size_t n_ports;
        bool members_given; /* set by the parser: the document had a "members" list */
        uint64_t max_lamport; /* set by the parser: the largest Lamport time the document holds */
} Config;

/* The largest counter (Lamport time, generation) a document may hold: far beyond what any cluster reaches
 * (one tick per change), and far enough below 2^64 that no arithmetic on it wraps. */
#define DLR_COUNTER_MAX (UINT64_C(1) << 62)
/* How far ahead of this host's Lamport clock a peer's stamps may be. An honest member is ahead by at most the
 * number of changes made where this host has not seen them yet (one tick per change, a bulk call included);
 * 2^30 is more than a cluster makes in years apart, and running the 2^62 clock out takes a compromised member
 * 2^32 accepted documents. */
#define DLR_STAMP_AHEAD_MAX (UINT64_C(1) << 30)

Config *config_new(void);
Config *config_free(Config *c);
void config_freep(Config **c);

/* Interns a host id and returns its index; -ENOMEM on allocation failure. */
int config_host_index(Config *c, const char *host);

/* Validation of names: 1..DLR_NAME_MAX characters of [A-Za-z0-9_.-], not starting with '.' or '-'. */
int dlr_name_check(const char *name);

Router *config_find_router(const Config *c, const char *name);
Router *config_find_router_by_table(const Config *c, uint32_t table);
Lif *router_find_lif(const Router *r, const char *name);
Lif *router_find_lif_by_id(const Router *r, uint16_t id);
/* Finds a LIF of any router with this kind and segment. */
Lif *config_find_segment(const Config *c, LifKind kind, uint32_t segment, Router **ret_router);

/* Picks the lowest free table id in dlrd's own range; -ENOSPC when none is left. */
int config_allocate_table(const Config *c, uint32_t *ret);

/* Table ids the kernel reserves (unspec, compat, default, main, local) are refused. */
int dlr_table_check(uint32_t table);

/* Derives the gateway MAC shared by every host for this LIF: locally administered, unicast, never zero. */
void lif_derive_mac(const char *router, const char *lif, uint8_t ret[6]);
/* Derives a MAC for the LIF's underlay-facing port (VXLAN/VLAN device), distinct from the gateway MAC. */
void lif_derive_port_mac(const char *router, const char *lif, uint8_t ret[6]);

/* Effective MTU of a LIF. */
uint32_t lif_effective_mtu(LifKind kind, uint32_t mtu_config);

/* Builds a Lif from operator input after checking every argument against the router it would join (names,
 * segment range, address syntax and overlap, MTU) and the cluster-wide segment uniqueness.
 * Errors: -EINVAL malformed (including gateway subnets of this LIF overlapping each other), -EEXIST name
 * taken, -EADDRINUSE segment used anywhere or a subnet overlapping another LIF of the router.
 * On error, *ret_error points at a static explanation. */
int lif_new_checked(const Config *c, const Router *r, const char *name, const char *kind, uint32_t segment,
                char *const *addresses, size_t n_addresses, uint32_t mtu, Lif **ret, const char **ret_error);
Lif *lif_free(Lif *l);
Lif *lif_copy(const Lif *l);

/* Adds a checked LIF to a router, assigning an id when it has none. The router takes ownership. */
int router_add_lif(Router *r, Lif *l);
/* Adds a LIF keeping its id as is, even 0; router_assign_lif_ids() then gives every id-less LIF one. */
int router_append_lif(Router *r, Lif *l);
int router_assign_lif_ids(Router *r);
/* Detaches a LIF from its router without freeing it. */
Lif *router_detach_lif(Router *r, const char *name);
/* True when any route of r uses the LIF with this id. */
bool router_lif_in_use(const Router *r, uint16_t id);

Router *router_new(const char *name, uint32_t table_config, uint32_t table);
Router *router_free(Router *r);
int config_add_router(Config *c, Router *r);
Router *config_detach_router(Config *c, const char *name);

/* Routes. */
typedef struct NexthopSpec {
        const char *gateway; /* "" = none */
        const char *lif;     /* "" = none */
} NexthopSpec;

/* Builds a route for router r from operator input. Checks: prefix syntax, no host bits, gateways of the
 * prefix's family and usable, LIFs that exist, no duplicate next hop, at most DLR_NEXTHOPS_MAX.
 * Errors: -EINVAL, -ENOENT (unknown LIF). *ret_error explains. */
int route_build(const Router *r, const char *prefix, const NexthopSpec *nh, size_t n_nh, Route *ret,
                const char **ret_error);
void route_done(Route *rt);
/* Deep copy; -ENOMEM. */
int route_copy(const Route *src, Route *ret);
const Nexthop *route_nexthops(const Route *rt);
/* The order of a route's next hops: gateway bytes, then gateway-less first, then LIF id. */
int nexthop_compare(const Nexthop *x, const Nexthop *y);
bool route_equal(const Route *a, const Route *b); /* same prefix and next hops; stamps ignored */

void route_table_done(RouteTable *t);
Route *route_table_get(const RouteTable *t, const IpPrefix *p);
/* Inserts or replaces, taking ownership of rt's next-hop array. If ret_old is given and a route was replaced,
 * the old route is moved there (caller frees), else it is freed. Returns 1 if inserted, 0 if replaced. */
int route_table_put(RouteTable *t, Route *rt, Route *ret_old);
/* Removes; moves the removed route to ret_old if given (caller frees), else frees it. -ENOENT if absent. */
int route_table_remove(RouteTable *t, const IpPrefix *p, Route *ret_old);
/* Pre-sizes for n more routes. */
int route_table_reserve(RouteTable *t, size_t more);

/* Visits every route of a table; rt names the loop variable, so it cannot be parenthesised. The used field:
 * bit 0 = slot taken; bit 1 = the kernel was seen to hold this route in the last full pass. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ROUTE_TABLE_FOREACH(rt, t)                                                                            \
        for (Route *rt = (t)->slots; (t)->slots && rt < (t)->slots + (t)->capacity; rt++)                     \
                if (rt->used)
// NOLINTEND(bugprone-macro-parentheses)

/* Stamps: Lamport counter first, then the host id as a string, so every host orders them alike. */
int stamp_compare(const Config *c, Stamp a, Stamp b);
/* Re-interns a stamp of configuration from in c. */
int stamp_rehost(Config *c, const Config *from, Stamp s, Stamp *ret);

/* key NULL or "": not pinned yet. */
Member *member_new(const char *host, const IpPrefix *vtep, const char *address, const char *key);
/* A member's public key in its textual form, or "": 0 or -EINVAL. */
int member_key_check(const char *key);
/* Same host, VTEP, address and key (stamps aside). */
bool member_same(const Member *a, const Member *b);
Member *member_free(Member *m);
Member *config_find_member(const Config *c, const char *host);
Member *config_find_member_by_vtep(const Config *c, const IpPrefix *vtep);
int config_add_member(Config *c, Member *m);
Member *config_detach_member(Config *c, const char *host);
/* Checks AddPeer's arguments and a member record from a peer alike: host id, a unicast VTEP address and a peer
 * address of one of the two grammars of peer-address.h (unix:path=/… or ssh:[user@]host[:port]; never
 * unixexec: or TCP). -EINVAL with *ret_error explaining. */
int member_check(const char *host, const char *vtep, const char *address, IpPrefix *ret_vtep, const char **ret_error);

const Tombstone *config_find_tomb(const Config *c, TombKind kind, const char *router, const char *key);
/* Records a tombstone, or raises the stamp of the one already there; -ENOMEM. */
int config_put_tomb(Config *c, TombKind kind, const char *router, const char *key, Stamp stamp, uint64_t since);
/* Takes back a tombstone of a change that failed; -ENOENT. */
int config_drop_tomb(Config *c, TombKind kind, const char *router, const char *key);
/* Drops tombstones made or learned before the given time; returns how many went. */
size_t config_collect_tombs(Config *c, uint64_t before);
void tomb_set_done(TombSet *t);
/* Visits every tombstone; t names the loop variable. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TOMB_SET_FOREACH(t, set)                                                                              \
        for (Tombstone *t = (set)->slots; (set)->slots && t < (set)->slots + (set)->capacity; t++)            \
                if (t->key)
// NOLINTEND(bugprone-macro-parentheses)

/* Endpoints. */
int mac_parse(const char *s, uint8_t ret[6]);
void mac_format(const uint8_t mac[6], char ret[18]);
/* Builds an endpoint from operator input: the LIF must exist, the MAC be unicast, non-zero and not a gateway
 * MAC, addresses plain unicast addresses inside one of the LIF's subnets and not its gateway address. host is
 * checked by the caller. -EINVAL/-ENOENT with *ret_error. */
int endpoint_build(const Router *r, const char *lif, const char *mac, char *const *addresses, size_t n_addresses,
                Endpoint **ret, const char **ret_error);
/* Re-checks what of endpoint_build depends on the LIF (and the router's other LIFs): the LIF exists, the MAC
 * is no gateway MAC, every address lies inside one of the LIF's subnets and is not its gateway address.
 * A newer value of the LIF merged from a peer can break this. -ENOENT/-EINVAL with *ret_error. */
int endpoint_check_lif(const Router *r, const Endpoint *e, const char **ret_error);
Endpoint *endpoint_free(Endpoint *e);
Endpoint *endpoint_copy(const Endpoint *e);
Endpoint *router_find_endpoint(const Router *r, uint16_t lif, const uint8_t mac[6]);
/* Another endpoint of the same LIF holding one of e's addresses, or NULL. */
Endpoint *router_find_endpoint_address_clash(const Router *r, const Endpoint *e);
size_t router_count_endpoints(const Router *r, uint16_t lif);
int router_add_endpoint(Router *r, Endpoint *e);
Endpoint *router_detach_endpoint(Router *r, uint16_t lif, const uint8_t mac[6]);
/* The tombstone key of an endpoint: "<lif name>/<mac>". */
void endpoint_key(const char *lif, const uint8_t mac[6], char ret[DLR_NAME_MAX + 20]);

/* Firewall rules. */
/* Operator input for one rule (AddRule, every rule of Apply). Strings are borrowed. */
typedef struct RuleInput {
        bool has_priority;
        uint32_t priority; /* else DLR_RULE_PRIORITY_DEFAULT */
        bool has_source;   /* else any source; a given list must not be empty */
        char **source;     /* "ADDRESS/LENGTH" or a plain address (/32, /128) */
        size_t n_source;
        bool has_destination;
        char **destination;
        size_t n_destination;
        const char *protocol; /* NULL = any */
        const char *ports;    /* NULL = none (any port) */
        const char *action;   /* required */
} RuleInput;

/* Builds a rule from operator input: name checked, prefixes parsed (host bits refused), each list sorted with
 * duplicates and prefixes inside another prefix of the list dropped (nftables interval sets refuse overlapping
 * elements), ports parsed, then rule_check(). The stamp is left zero for the caller. -EINVAL with *ret_error,
 * -ENOMEM (*ret_error NULL). */
int rule_build(const char *name, const RuleInput *in, Rule **ret, const char **ret_error);
/* Parses "22,80,8000-8080" (ports 1..65535, ranges first-last) into sorted, merged ranges; -EINVAL with
 * *ret_error. An empty string is refused. */
int rule_ports_parse(const char *s, PortRange **ret, size_t *ret_n, const char **ret_error);
/* The canonical text of a port list ("22,80,8000-8080"); -ENOMEM. */
int rule_ports_format(const PortRange *p, size_t n, char **ret);
/* The address families a rule can match: RULE_FAMILY_* bits; 0 when it can match nothing (refused). */
unsigned rule_families(const Rule *r);
/* Checks a rule built from input (names, lists, protocol/ports/family consistency, limits). -EINVAL with
 * *ret_error. */
int rule_check(const Rule *r, const char **ret_error);
Rule *rule_free(Rule *r);
Rule *rule_copy(const Rule *r);
bool rule_equal(const Rule *a, const Rule *b); /* everything but the stamp */
Rule *router_find_rule(const Router *r, const char *name);
/* Index of a rule in r->rules, or -ENOENT. */
int router_rule_index(const Router *r, const char *name);
/* Inserts a rule in (priority, name) order, replacing one of the same name (moved to *ret_old if given, else
 * freed; *ret_old is NULL when the name was new). The router takes ownership only on success. -ENOSPC beyond
 * DLR_RULES_MAX, -ENOMEM. */
int router_put_rule(Router *r, Rule *rule, Rule **ret_old);
/* router_put_rule without the limit: a merge lets hosts' rules add up and settles the limit afterwards, the
 * same way on every host (mirror.c). */
int router_put_rule_unlimited(Router *r, Rule *rule, Rule **ret_old);
/* Takes a rule out of its router without freeing it; NULL when there is none of that name. */
Rule *router_detach_rule(Router *r, const char *name);

Port *config_find_port(const Config *c, const char *ifname);
int config_add_port(Config *c, const char *ifname, const char *router, const char *lif);
int config_remove_port(Config *c, const char *ifname);

/* Deep copy of a whole configuration; -ENOMEM. */
int config_copy(const Config *c, Config **ret);
