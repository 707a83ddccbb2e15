/* Kernel objects dlrd owns, as the kernel reports them, and the requests that change them. Each request is
 * appended to the caller's netlink batch; nothing here decides what should exist. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "nl/nl.h"
#include "shared/addr.h"

#define DLRD_RTPROT 201 /* dlrd's rtm_protocol: the routes it owns */
#define DLRD_VXLAN_PORT 4789

/* A link as dumped. Integer attributes the kernel did not report are -1. */
typedef struct KLink {
        int ifindex;
        char name[IFNAMSIZ];
        char kind[16];       /* IFLA_INFO_KIND: "vrf", "bridge", "vxlan", "vlan", ... or "" */
        char slave_kind[16]; /* IFLA_INFO_SLAVE_KIND, "bridge" for a bridge port */
        char alias[128];
        int master;
        int link; /* lower device (vlan); a veth's peer */
        bool link_other_netns; /* IFLA_LINK_NETNSID: link is an ifindex of another namespace */
        unsigned mtu;
        unsigned flags;
        uint8_t mac[6];
        bool has_mac;
        int64_t vrf_table;
        int64_t vxlan_id;
        int64_t vxlan_port;
        int vxlan_learning;
        IpPrefix vxlan_local; /* family 0 when absent */
        int64_t vlan_id;
        int brport_learning;
        int brport_neigh_suppress;
        int ipv4_forwarding;
} KLink;

typedef struct KAddr {
        int ifindex;
        IpPrefix addr; /* address with its prefix length */
        uint8_t scope;
        uint32_t flags;
} KAddr;

typedef struct KLinks {
        KLink *v;
        size_t n;
} KLinks;

typedef struct KAddrs {
        KAddr *v;
        size_t n;
} KAddrs;

void klinks_done(KLinks *l);
void kaddrs_done(KAddrs *a);
const KLink *klinks_by_name(const KLinks *l, const char *name);
const KLink *klinks_by_index(const KLinks *l, int ifindex);

/* Dumps every link / every address of the namespace. -EINTR: retry. */
int kernel_dump_links(Netlink *nl, KLinks *ret);
int kernel_dump_addrs(Netlink *nl, KAddrs *ret);

/* What a link should look like. Fields at zero/NULL are left alone when changing an existing link. */
typedef struct LinkSpec {
        const char *name;
        const char *kind; /* creation only */
        const char *alias;
        const uint8_t *mac;
        unsigned mtu;
        int master; /* 0 = leave, -1 = none */
        bool up;
        bool ipv4_forwarding;
        uint32_t vrf_table;
        uint32_t vxlan_id;
        const IpPrefix *vxlan_local;
        int vlan_link;
        uint16_t vlan_id;
} LinkSpec;

/* Appends a request creating the link (NLM_F_EXCL), with every attribute of spec except master. */
int kernel_link_create(Netlink *nl, const LinkSpec *spec);
/* Appends a request changing an existing link's generic attributes (master, mtu, mac, alias, up,
 * IPv4 forwarding). */
int kernel_link_change(Netlink *nl, int ifindex, const LinkSpec *spec);
int kernel_link_delete(Netlink *nl, int ifindex);
/* Appends a request setting bridge-port options of an enslaved link. */
int kernel_brport_set(Netlink *nl, int ifindex, bool learning, bool neigh_suppress);
/* IPv6 per-device forwarding has no netlink setter (inet6_set_link_af takes only token and addr_gen_mode),
 * so it goes through /proc/sys. */
int kernel_ipv6_forwarding_set(const char *ifname, bool on);
/* 1 or 0, or negative errno; "all" is the namespace-wide switch. */
int kernel_ipv6_forwarding_get(const char *ifname);

int kernel_addr_add(Netlink *nl, int ifindex, const IpPrefix *addr);
int kernel_addr_delete(Netlink *nl, int ifindex, const IpPrefix *addr);

/* Routes. */
typedef struct KNexthop {
        uint8_t gw[16];
        bool has_gw;
        int ifindex; /* 0 = any */
} KNexthop;

#define KROUTE_NEXTHOPS_MAX 64

typedef struct KRoute {
        uint8_t family;
        uint8_t plen;
        uint8_t type; /* RTN_UNICAST, RTN_BLACKHOLE, ... */
        uint8_t protocol;
        uint8_t dst[16];
        uint32_t table;
        uint8_t n_nexthops;
        KNexthop nh[KROUTE_NEXTHOPS_MAX];
} KRoute;

/* Appends an add-or-replace for the route (protocol DLRD_RTPROT). */
int kernel_route_replace(Netlink *nl, const KRoute *rt);
int kernel_route_delete(Netlink *nl, uint32_t table, uint8_t family, const uint8_t *dst, uint8_t plen);

typedef int (*kroute_cb_t)(const KRoute *rt, void *userdata);
/* Dumps the routes of protocol DLRD_RTPROT of one family in every table (table 0) or one table. */
int kernel_dump_routes(Netlink *nl, uint8_t family, uint32_t table, kroute_cb_t cb, void *userdata);

/* Neighbours (AF_INET/AF_INET6 on a bridge) and forwarding entries (AF_BRIDGE) as dumped. */
typedef struct KNeigh {
        int ifindex;
        int master;      /* NDA_MASTER: set on the bridge's own entries (the kernel leaves NTF_MASTER out) */
        uint8_t family;
        uint8_t flags;   /* NTF_SELF, NTF_MASTER, ... */
        uint16_t state;  /* NUD_* */
        IpPrefix dst;    /* the neighbour's address, or an FDB entry's remote VTEP; family 0 when absent */
        uint8_t mac[6];
        bool has_mac;
} KNeigh;

typedef struct KNeighs {
        KNeigh *v;
        size_t n;
} KNeighs;

void kneighs_done(KNeighs *n);
int kernel_parse_neigh(const struct nlmsghdr *h, KNeigh *ret);
/* Dumps neighbours of one family: AF_INET, AF_INET6, or AF_BRIDGE for forwarding entries. */
int kernel_dump_neighs(Netlink *nl, uint8_t family, KNeighs *ret);

/* A permanent neighbour entry (replacing whatever is there). */
int kernel_neigh_replace(Netlink *nl, int ifindex, const IpPrefix *ip, const uint8_t mac[6]);
int kernel_neigh_delete(Netlink *nl, int ifindex, const IpPrefix *ip);
/* A static bridge entry (master) or a VXLAN device entry towards dst (self; the all-zero MAC appends). */
int kernel_fdb_add(Netlink *nl, int ifindex, const uint8_t mac[6], bool master, const IpPrefix *dst);
int kernel_fdb_delete(Netlink *nl, int ifindex, const uint8_t mac[6], bool master, const IpPrefix *dst);
