/* What the files of the nftables module share: the Nft object, the transaction batch (batch.c), the
 * expression and set builders (expr.c) and the compiler from configuration to kernel objects (compile.c).
 * Not for use outside daemon/nft/ (the unit test reads it for its test hook). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* libnftnl's headers use FILE */

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>

#include "nft.h"
#include "shared/cleanup.h"

/* nft's data types of set keys (its src/datatype.h numbering). */
#define TYPE_INTEGER 4
#define TYPE_IPADDR 7
#define TYPE_IP6ADDR 8
#define TYPE_ETHERADDR 9
#define TYPE_ETHERTYPE 10
#define TYPE_INET_SERVICE 13
#define TYPE_IFNAME 41
#define CONCAT(a, b) (((a) << 6) | (b)) /* nft's encoding of a concatenated key type */
#define ETH_P_IP_ 0x0800
#define ETH_P_ARP_ 0x0806
#define ETH_P_IPV6_ 0x86dd

/* Returns from the calling function what x returned if it failed (< 0). */
#define RETURN_IF(x)                                                                                          \
        do {                                                                                                  \
                int _r_ = (x);                                                                                \
                if (_r_ < 0)                                                                                  \
                        return _r_;                                                                           \
        } while (0)

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_rule *, nftnl_rule_free)

#define NFT_TABLE "dlrd"
#define NFT_RX_SIZE ((size_t) 64 << 10)
#define NFT_DEFAULT_COMMENT "(default)" /* no rule name has parentheses */

/* The two chains of a router: packets sent by its VMs (bridge prerouting, where reject works) and packets
 * delivered to them (bridge postrouting). */
typedef enum NftChain {
        NFT_CHAIN_FROM_VM,
        NFT_CHAIN_TO_VM,
        _NFT_CHAIN_MAX,
} NftChain;

/* A router's rules live in chunks: chains "<router chain>/<id>" of at most NFT_CHUNK_MAX dlrd rules, which the
 * router chain jumps to in order. nf_tables rebuilds the whole rule blob of every chain a transaction touches
 * (nf_tables_commit_chain_prepare copies every rule), so one 10,000-rule chain makes adding a rule cost
 * ~20 ms; a chunk bounds that to a few dozen rules, and a packet pays only a jump per chunk. */
#define NFT_CHUNK_FILL 32 /* rules per chunk as nft_sync() lays them out */
#define NFT_CHUNK_MAX 64  /* a chunk that would grow past this is split in two */

typedef struct NftChunk {
        uint32_t id;
        uint32_t n;                     /* dlrd rules in it */
        uint64_t jump[_NFT_CHAIN_MAX];  /* the jump to it in each router chain */
} NftChunk;

/* Where the kernel rules of one dlrd rule are: one per address family it matches addresses of, or a single
 * one when it matches no address; in chunk `chunk` of both router chains. */
typedef struct NftRuleHandles {
        char *name;
        uint8_t n;
        uint32_t chunk;
        uint64_t handle[_NFT_CHAIN_MAX][2];
} NftRuleHandles;

typedef struct NftRouterState {
        char *name;
        NftRuleHandles *rules; /* sorted by name */
        size_t n_rules, cap;
        NftChunk *chunks;      /* in rule order */
        size_t n_chunks, cap_chunks;
        uint32_t next_chunk;
        uint64_t default_handle[_NFT_CHAIN_MAX];
} NftRouterState;

/* Whom a message of a batch belongs to, so that a refusal names it. */
typedef struct NftOwner {
        const char *router;
        const char *rule;
        const char *what; /* when not a rule: "gateway protection", "table", ... */
} NftOwner;

typedef struct NftMsg {
        NftOwner owner;
        uint64_t *echo; /* where the handle of the created rule goes, or NULL */
        size_t off;     /* in NftBatch.buf */
        int error;      /* the kernel's answer: 0 or a negative errno */
        bool replied;
} NftMsg;

typedef struct NftBatch {
        char *buf;
        size_t len, cap;
        NftMsg *msgs; /* index = seq - first_seq */
        size_t n, cap_msgs;
        uint32_t first_seq;
        bool open;
} NftBatch;

/* Counters carried over when dlrd recreates kernel rules that stand for unchanged dlrd rules (a full or
 * router pass, a chunk split): read just before the transaction, then given to the first recreated kernel
 * rule of each dlrd rule, so that RuleCounters does not start again from zero after a change to another
 * rule, a LIF or a restart. Sorted by (router, rule) once read. */
typedef struct NftCarried {
        char *router, *rule;
        uint64_t packets, bytes;
        bool used;
} NftCarried;

typedef struct NftCarry {
        NftCarried *v;
        size_t n, cap;
} NftCarry;

struct Nft {
        struct mnl_socket *sock; /* transactions and dumps */
        struct mnl_socket *mon;  /* NFNLGRP_NFTABLES */
        uint32_t portid;
        uint32_t seq;
        uint32_t set_id;
        NftBatch batch;
        char *rx;
        NftRouterState **routers;
        size_t n_routers;
        char *host_id;   /* from the last nft_sync(), for the fallback of nft_rule_put() */
        bool synced;     /* the handles match the kernel */
        bool uncertain;  /* a transaction's outcome is unknown since the last nft_take_uncertain */
        bool dirty;      /* someone else changed our tables since */
        bool probed;
        unsigned features;
        NftCarry *carry;   /* while compiling a pass or split: counters to carry over, or NULL */
        char *test_poison; /* test hook: compile this rule with an expression the kernel refuses */
        uint32_t test_features_mask;
};

/* batch.c */
int nft_socket_open(struct mnl_socket **ret, bool monitor);
void nft_batch_done(NftBatch *b);
/* Starts a transaction (drops anything unsent). */
int nft_batch_begin(Nft *n);
/* Appends a message; fill its payload with nftnl_*_nlmsg_build_payload() before the next call. At most
 * NFT_MSG_ROOM bytes of payload. With echo, the kernel's copy of a created rule is asked for and its handle
 * stored there when the transaction commits. NULL on allocation failure. */
#define NFT_MSG_ROOM ((size_t) 128 << 10)
struct nlmsghdr *nft_batch_msg(Nft *n, uint16_t cmd, uint16_t family, uint16_t flags, const NftOwner *o,
                uint64_t *echo);
/* Sends the transaction and reads every answer. 0 when committed; else the first refusal, named after its
 * owner in e (DLR_ERROR_KERNEL), and the kernel has aborted the whole transaction. */
int nft_batch_commit(Nft *n, DlrError *e);
/* Dumps the rules (NFT_MSG_GETRULE) or chains (NFT_MSG_GETCHAIN) of dlrd's table of a family, calling cb for
 * each answer. -EINTR when the ruleset changed meanwhile: start over. */
int nft_dump(Nft *n, uint16_t cmd, uint16_t family, int (*cb)(const struct nlmsghdr *h, void *userdata),
                void *userdata);
/* The rules of one chain of dlrd's table (the kernel filters them). */
int nft_dump_chain(Nft *n, uint16_t family, const char *chain, int (*cb)(const struct nlmsghdr *h, void *userdata),
                void *userdata);

/* expr.c: expressions appended to a rule; -ENOMEM. Registers are NFT_REG_*. */
int nft_expr_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
int nft_expr_meta_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg);
int nft_expr_cmp(struct nftnl_rule *r, uint32_t op, uint32_t sreg, const void *data, uint32_t len);
int nft_expr_cmp_u8(struct nftnl_rule *r, uint32_t op, uint32_t sreg, uint8_t v);
int nft_expr_cmp_be16(struct nftnl_rule *r, uint32_t op, uint32_t sreg, uint16_t v);
int nft_expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
int nft_expr_payload_write(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t sreg);
int nft_expr_bitwise(struct nftnl_rule *r, uint32_t reg, const void *mask, uint32_t len);
int nft_expr_lookup(struct nftnl_rule *r, uint32_t sreg, uint32_t dreg, const char *set, uint32_t set_id,
                bool invert);
int nft_expr_ct(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
int nft_expr_ct_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg);
int nft_expr_immediate_data(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len);
int nft_expr_verdict(struct nftnl_rule *r, int verdict, const char *chain);
/* A counter starting at packets/bytes (0, 0 for a new rule). */
int nft_expr_counter(struct nftnl_rule *r, uint64_t packets, uint64_t bytes);
int nft_expr_reject(struct nftnl_rule *r, uint32_t type, uint8_t code);
int nft_rule_comment(struct nftnl_rule *r, const char *comment);

/* One element of a set or map: key (and data for maps, or the chain a verdict map jumps to). */
typedef struct NftElem {
        uint8_t key[32];
        uint32_t flags; /* NFT_SET_ELEM_INTERVAL_END */
        uint8_t data[16];
        const char *jump;
} NftElem;

typedef struct NftSetSpec {
        const char *name; /* NULL: anonymous, bound to the next rule that looks it up */
        uint16_t family;
        uint32_t flags; /* NFT_SET_* */
        uint32_t key_type, key_len;
        uint32_t data_type, data_len; /* maps */
        const NftElem *elems;
        size_t n_elems;
        /* For `nft list`: keys and data in host byte order (interface names, zones), and for a map of ct
         * zones, the expressions that fill it (nft's "typeof"): the meta key of its key. */
        bool key_host_order;
        uint32_t zone_map_meta_key; /* 0: not a zone map */
} NftSetSpec;

/* Creates a set with its elements (split over as many messages as needed). ret_id: the transaction-local id
 * that a lookup of an anonymous set refers to. */
int nft_add_set(Nft *n, const NftOwner *o, const NftSetSpec *s, uint32_t *ret_id);
/* The name a lookup uses for an anonymous set created in this transaction. */
#define NFT_ANON_SET "__set%d"

/* Interval elements for sets of addresses or ports: merges overlapping and adjacent ranges (first..last,
 * inclusive, big-endian numbers of len bytes, sorted by first) into start/end elements the way nft encodes
 * them. ret must have room for 2 * n + 1. Returns the number of elements. */
typedef struct NftRange {
        uint8_t first[16], last[16];
} NftRange;
size_t nft_interval_elems(NftRange *ranges, size_t n, uint32_t len, NftElem *ret);

/* compile.c and base.c */
/* The whole ruleset of c, into the open batch; states (one per router, in c->routers order, already
 * allocated with their rule names) receive the handles. */
int nft_compile_all(Nft *n, const Config *c, const char *host_id, NftRouterState **states);
/* Both chains of a router, which exist and are empty: chunks of its rules, then the fixed head, a jump per
 * chunk and the default. st has the rule names and no chunks; it receives chunks and handles. */
int nft_compile_router(Nft *n, const Router *r, NftRouterState *st);
/* The kernel rules of one dlrd rule in chunk `chunk`, inserted before the kernel rule with handle position
 * (0: appended). */
int nft_compile_rule(Nft *n, const Router *r, const Rule *rule, NftChain chain, uint32_t chunk, uint64_t position,
                uint64_t handles[2], uint8_t *ret_n);
/* The default rule of a chain; with replace, the rule with that handle is replaced. */
int nft_compile_default(Nft *n, const Router *r, NftChain chain, uint64_t replace, uint64_t *echo);
/* A chunk's chain (both router chains), and the jump to it inserted before position (0: appended). */
int nft_compile_chunk_chain(Nft *n, const Router *r, NftChain chain, uint32_t chunk);
int nft_compile_jump(Nft *n, const Router *r, NftChain chain, uint32_t chunk, uint64_t position, uint64_t *echo);
/* Deletes a kernel rule of a router chain (chunk UINT32_MAX) or chunk; a chunk chain with its rules. */
int nft_compile_delrule(Nft *n, const Router *r, const char *rule, NftChain chain, uint32_t chunk, uint64_t handle);
int nft_compile_delchunk(Nft *n, const Router *r, NftChain chain, uint32_t chunk);
void nft_chain_name(const Router *r, NftChain chain, char *buf, size_t size);
void nft_chunk_name(const Router *r, NftChain chain, uint32_t chunk, char *buf, size_t size);
/* Whether a chain name is one of router r's chains or chunks; the chunk id through ret_chunk (UINT32_MAX for
 * the router chain itself). */
bool nft_chain_of_router(const char *chain, const char *router, uint32_t *ret_chunk);
/* The router a chain or chunk of the firewall belongs to (not NUL-terminated: ret_len), or false. */
bool nft_chain_router(const char *chain, const char **ret_router, size_t *ret_len);

/* nft.c */
NftRouterState *nft_router_state_new(const Router *r);
NftRouterState *nft_router_state_free(NftRouterState *st);
NftRuleHandles *nft_router_state_find(const NftRouterState *st, const char *name);
NftRuleHandles *nft_router_state_insert(NftRouterState *st, const char *name);
void nft_router_state_remove(NftRouterState *st, NftRuleHandles *h);
/* Chunks: index of an id (SIZE_MAX if none); a new chunk at index i with the next id. */
size_t nft_chunk_index(const NftRouterState *st, uint32_t id);
NftChunk *nft_chunk_insert(NftRouterState *st, size_t i, uint32_t id);
void nft_chunk_remove(NftRouterState *st, size_t i);
NftRouterState **nft_router_state_slot(Nft *n, const char *router);
int nft_oom(DlrError *e);
/* rules.c: reads the counters of dlrd's kernel rules into carry (sorted), of one router (NULL: all) and,
 * given chains (n_chains > 0), of those chains only. Nothing to read (no table yet) is not an error. */
int nft_carry_read(Nft *n, const char *router, const char *const *chains, size_t n_chains, NftCarry *carry);
void nft_carry_done(NftCarry *carry);
/* nft.c: reads them (a failure only costs the counters: logged) and has compile.c use them until _end(). Not
 * inside an open batch: a dump takes a sequence number. */
void nft_carry_begin(Nft *n, const char *router, const char *const *chains, size_t n_chains, NftCarry *carry);
void nft_carry_end(Nft *n, NftCarry *carry);
/* compile.c: the carried counters of a rule (first call only; later kernel rules of it start at zero). */
const NftCarried *nft_carry_take(Nft *n, const char *router, const char *rule);
/* The recomputations the incremental calls fall back to: everything, or one router's chains. */
int nft_full_pass(Nft *n, const Config *c, DlrError *e);
int nft_router_pass(Nft *n, const Router *r, DlrError *e);

/* monitor.c: opens n->mon, ignoring what n->sock's transactions cause. */
int nft_monitor_open(Nft *n);

/* Test hooks: the next compiled kernel rules of the dlrd rule with this name (NULL: none) carry an expression
 * the kernel refuses; and a mask applied to the features the probe finds. */
int nft_test_poison_rule(Nft *n, const char *name);
void nft_test_mask_features(Nft *n, unsigned mask);
