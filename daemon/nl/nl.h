/* Netlink transport: batched requests with errors mapped back to the message that caused them, dumps, and
 * a notification socket. Knows nothing about DLRs. All errors are returned as negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

typedef struct Netlink Netlink;

/* One failed message of a batch: its index in the batch, the kernel's errno (negative) and the extended-ack
 * text when the kernel gave one. */
typedef struct NetlinkError {
        size_t index;
        int error;
        char msg[128];
} NetlinkError;

typedef struct NetlinkResult {
        NetlinkError *errors; /* sorted by index */
        size_t n_errors;
        bool lost; /* the receive queue overflowed: some outcomes are unknown, resync */
} NetlinkResult;

void netlink_result_done(NetlinkResult *r);

/* Opens a NETLINK_ROUTE request socket with extended acks, capped acks and strict dump checking. */
int netlink_open(Netlink **ret);
Netlink *netlink_close(Netlink *nl);
void netlink_closep(Netlink **nl);

/* Starts a new batch, dropping any unsent messages. */
void netlink_batch_reset(Netlink *nl);
/* Appends a message header of this type and flags (NLM_F_REQUEST is added) with a zeroed family header of
 * hdrlen bytes; fill it with mnl_attr_put*() before the next call. Returns NULL on allocation failure. */
struct nlmsghdr *netlink_batch_add(Netlink *nl, uint16_t type, uint16_t flags, size_t hdrlen, void **ret_hdr);
/* Appends a copy of a message built elsewhere (e.g. by libnl). */
int netlink_batch_add_copy(Netlink *nl, const struct nlmsghdr *m);
/* Room left guarantee: callers may put at most this many attribute bytes into one message. */
#define NETLINK_MSG_MAX 8192
size_t netlink_batch_count(const Netlink *nl);

/* Sends the batch in chunks (many messages per sendmsg, no per-message ack; each chunk ends with an acked
 * barrier that is awaited) and collects every error. Returns 0 when sent (check result->n_errors), or a
 * negative errno when the socket itself failed. The batch is reset afterwards. */
int netlink_batch_commit(Netlink *nl, NetlinkResult *result);

/* Whether a batch since the last call failed on the socket or lost answers, so that the kernel may hold
 * something other than what its callers believe (and roll back to): a full resync must follow. Clears it. */
bool netlink_take_uncertain(Netlink *nl);

/* Runs a dump request built with netlink_batch_add (flags NLM_F_DUMP) as the only message of the batch, calling cb
 * for each reply message. -EINTR when the kernel flagged the dump as interrupted (retry it). */
int netlink_dump(Netlink *nl, mnl_cb_t cb, void *userdata);

/* The extended-ack text the kernel gave with the error of the last failed netlink_dump(), or "". */
const char *netlink_dump_error(const Netlink *nl);
/* The extended-ack text (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR message into buf, or "" when it has none. Any
 * netlink family's acknowledgements have this shape (nf_tables' too). */
void netlink_extack_text(const struct nlmsghdr *h, char *buf, size_t size);
/* Separator and text for messages: "%s%s", NETLINK_EXTACK(text) gives ": text", or nothing for "". */
#define NETLINK_EXTACK(text) (text)[0] ? ": " : "", (text)

/* The port id the kernel puts into notifications caused by this socket's requests. */
uint32_t netlink_portid(const Netlink *nl);

/* A non-blocking socket subscribed to the given RTNLGRP_* groups, for notifications. With a non-zero
 * ignore_newroute_portid, RTM_NEWROUTE and RTM_DELROUTE notifications caused by that socket are filtered out in the kernel. */
int netlink_monitor_open(const unsigned *groups, size_t n_groups, uint32_t ignore_newroute_portid,
                struct mnl_socket **ret);
