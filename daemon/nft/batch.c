/* nf_tables transactions over libmnl: one batch (NFNL_MSG_BATCH_BEGIN ... END) per change, sent with one
 * sendmsg. The kernel processes the whole batch inside that sendmsg, so when it returns every answer —
 * errors, acknowledgements, echoed rules — is already queued on the socket: reading until EAGAIN collects
 * them all. A refused message aborts the whole transaction; its sequence number names the dlrd object it was
 * built for. */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libnftnl/common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "nft-internal.h"
#include "nl/nl.h"
#include "shared/array.h"
#include "shared/cleanup.h"

/* Success acknowledgements of an all-or-nothing transaction tell nothing that the absence of an error does
 * not, and each costs the receive queue an skb (~700 bytes of truesize); errors are delivered whether asked
 * for or not (nfnetlink_rcv_batch: "if (err || nlh->nlmsg_flags & NLM_F_ACK)"). So small batches — every
 * incremental change — have every message acknowledged, and large ones (a full sync of thousands of rules)
 * only the last, which still proves the batch was read to its end. */
#define ACK_ALL_MAX 2048
#define BUF_MIN ((size_t) 1 << 20)

static int setopt(struct mnl_socket *s, int opt)
{
        int one = 1;

        if (mnl_socket_setsockopt(s, opt, &one, sizeof one) < 0)
                return -errno;
        return 0;
}

static void set_buffer(int fd, int opt_force, int opt, size_t size)
{
        int v = size > (size_t) (INT32_MAX / 2) ? INT32_MAX / 2 : (int) size;

        /* FORCE needs CAP_NET_ADMIN, which changing nf_tables needs anyway; fall back to the usual limit. */
        if (setsockopt(fd, SOL_SOCKET, opt_force, &v, sizeof v) < 0)
                (void) setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

int nft_socket_open(struct mnl_socket **ret, bool monitor)
{
        struct mnl_socket *s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | (monitor ? SOCK_NONBLOCK : 0));
        int r;

        if (!s)
                return -errno;
        if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                mnl_socket_close(s);
                return r;
        }
        if (monitor) {
                int g = NFNLGRP_NFTABLES;
                if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0) {
                        r = -errno;
                        mnl_socket_close(s);
                        return r;
                }
                set_buffer(mnl_socket_get_fd(s), SO_RCVBUFFORCE, SO_RCVBUF, (size_t) 8 << 20);
        } else {
                (void) setopt(s, NETLINK_EXT_ACK);
                (void) setopt(s, NETLINK_CAP_ACK);
                set_buffer(mnl_socket_get_fd(s), SO_RCVBUFFORCE, SO_RCVBUF, BUF_MIN);
        }
        *ret = s;
        return 0;
}

void nft_batch_done(NftBatch *b)
{
        free(b->buf);
        free(b->msgs);
        *b = (NftBatch) {};
}

static int reserve(NftBatch *b, size_t more)
{
        if (b->len + more > b->cap) {
                size_t cap = b->cap ? b->cap : (size_t) 256 << 10;
                while (b->len + more > cap)
                        cap *= 2;
                char *p = realloc(b->buf, cap);
                if (!p)
                        return -ENOMEM;
                /* Builders leave alignment padding untouched: let it be zeros, not whatever was there. */
                memset(p + b->cap, 0, cap - b->cap);
                b->buf = p;
                b->cap = cap;
        }
        return ARRAY_GROW(b->msgs, b->cap_msgs, b->n, 256);
}

/* The last message's length is known once its payload is in. */
static void seal(NftBatch *b)
{
        if (b->n > 0) {
                const struct nlmsghdr *h = (const struct nlmsghdr *) (b->buf + b->msgs[b->n - 1].off);
                b->len = b->msgs[b->n - 1].off + MNL_ALIGN(h->nlmsg_len);
        }
}

static struct nlmsghdr *append(Nft *n, const NftOwner *o, uint64_t *handle_slot)
{
        NftBatch *b = &n->batch;
        struct nlmsghdr *h;

        seal(b);
        if (reserve(b, NFT_MSG_ROOM + 256) < 0)
                return NULL;
        memset(b->buf + b->len, 0, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)));
        h = (struct nlmsghdr *) (b->buf + b->len);
        b->msgs[b->n] = (NftMsg) { .owner = o ? *o : (NftOwner) {}, .echo = handle_slot, .off = b->len };
        b->n++;
        return h;
}

int nft_batch_begin(Nft *n)
{
        NftBatch *b = &n->batch;
        struct nlmsghdr *h;

        b->len = b->n = 0;
        b->first_seq = n->seq + 1;
        h = append(n, &(NftOwner) { .what = "transaction" }, NULL);
        if (!h)
                return -ENOMEM;
        nftnl_batch_begin((char *) h, ++n->seq);
        b->open = true;
        return 0;
}

struct nlmsghdr *nft_batch_msg(Nft *n, uint16_t cmd, uint16_t family, uint16_t flags, const NftOwner *o,
                uint64_t *echo)
{
        struct nlmsghdr *h;

        assert(n->batch.open);
        h = append(n, o, echo);
        if (!h)
                return NULL;
        if (echo)
                flags |= NLM_F_ECHO;
        return nftnl_nlmsg_build_hdr((char *) h, cmd, family, flags, ++n->seq);
}

static int rule_handle_cb(const struct nlattr *a, void *data)
{
        if (mnl_attr_get_type(a) == NFTA_RULE_HANDLE && mnl_attr_validate(a, MNL_TYPE_U64) == 0)
                *(uint64_t *) data = be64toh(mnl_attr_get_u64(a));
        return MNL_CB_OK;
}

typedef struct Outcome {
        size_t error_index; /* the refused message with the lowest sequence number */
        int error;
        char extack[256];
        bool lost;
} Outcome;

static void handle_reply(Nft *n, const struct nlmsghdr *h, Outcome *out)
{
        NftBatch *b = &n->batch;
        size_t i = h->nlmsg_seq - b->first_seq;

        if (h->nlmsg_seq < b->first_seq || i >= b->n)
                return; /* not of this transaction */
        if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                if (h->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof *e)
                        return;
                b->msgs[i].replied = true;
                b->msgs[i].error = e->error;
                if (e->error != 0 && (out->error == 0 || i < out->error_index)) {
                        out->error = e->error;
                        out->error_index = i;
                        netlink_extack_text(h, out->extack, sizeof out->extack);
                }
        } else if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE) && b->msgs[i].echo) {
                uint64_t handle = 0;
                (void) mnl_attr_parse(h, sizeof(struct nfgenmsg), rule_handle_cb, &handle);
                *b->msgs[i].echo = handle;
        }
}

static int drain(Nft *n, Outcome *out)
{
        int fd = mnl_socket_get_fd(n->sock);

        for (;;) {
                ssize_t len = recv(fd, n->rx, NFT_RX_SIZE, MSG_DONTWAIT);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == ENOBUFS) {
                                out->lost = true;
                                continue;
                        }
                        return -errno;
                }
                const struct nlmsghdr *h = (const struct nlmsghdr *) n->rx;
                int left = (int) len;
                for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
                        if (h->nlmsg_pid == n->portid)
                                handle_reply(n, h, out);
        }
}

static int owner_error(const NftOwner *o, int error, const char *extack, DlrError *e)
{
        char what[160];

        if (o->router && o->rule)
                snprintf(what, sizeof what, "dlr=%s rule=%s", o->router, o->rule);
        else if (o->router)
                snprintf(what, sizeof what, "dlr=%s %s", o->router, o->what ? o->what : "firewall");
        else
                snprintf(what, sizeof what, "nftables %s", o->what ? o->what : "ruleset");
        if (extack && *extack)
                return dlr_error_set(e, DLR_ERROR_KERNEL, error, "%s: %s (%s)", what, strerror(-error), extack);
        return dlr_error_set(e, DLR_ERROR_KERNEL, error, "%s: %s", what, strerror(-error));
}

int nft_batch_commit(Nft *n, DlrError *e)
{
        NftBatch *b = &n->batch;
        Outcome out = {};
        struct nlmsghdr *h;
        size_t acked = 0, echo_bytes = 0;
        int r;

        assert(b->open);
        b->open = false;
        h = append(n, &(NftOwner) { .what = "transaction" }, NULL);
        if (!h)
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOMEM, "nftables: out of memory");
        nftnl_batch_end((char *) h, ++n->seq);
        seal(b);

        bool ack_all = b->n - 2 <= ACK_ALL_MAX;
        for (size_t i = 1; i + 1 < b->n; i++) {
                struct nlmsghdr *m = (struct nlmsghdr *) (b->buf + b->msgs[i].off);
                if (ack_all || i + 2 == b->n) {
                        m->nlmsg_flags |= NLM_F_ACK;
                        acked++;
                }
                if (b->msgs[i].echo)
                        echo_bytes += m->nlmsg_len;
        }

        /* Everything the kernel answers is queued before sendmsg returns: make room for all of it. */
        int fd = mnl_socket_get_fd(n->sock);
        set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, b->len + 4096 > BUF_MIN ? b->len + 4096 : BUF_MIN);
        size_t need = acked * (size_t) 1024 + echo_bytes * 3 + ((size_t) 64 << 10);
        set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, need > BUF_MIN ? need : BUF_MIN);

        if (mnl_socket_sendto(n->sock, b->buf, b->len) < 0) {
                r = -errno;
                n->uncertain = true;
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "nftables: sending the transaction: %s", strerror(-r));
        }
        r = drain(n, &out);
        if (b->len > BUF_MIN)
                set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, BUF_MIN);
        if (need > BUF_MIN)
                set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, BUF_MIN);
        if (r < 0) {
                n->synced = false;
                n->uncertain = true;
                return dlr_error_set(e, DLR_ERROR_KERNEL, r, "nftables: reading the answers: %s", strerror(-r));
        }
        if (out.error != 0)
                return owner_error(&b->msgs[out.error_index].owner, out.error, out.extack, e);
        if (out.lost) {
                n->synced = false; /* the record of handles may be off: the next change does a full pass */
                n->uncertain = true; /* and the tables may not be what the caller rolls back to: resync */
                return dlr_error_set(e, DLR_ERROR_INTERNAL, -ENOBUFS,
                                "nftables: answers to a transaction were lost; its outcome is unknown");
        }
        for (size_t i = 1; i + 1 < b->n; i++)
                if ((ack_all || i + 2 == b->n) && !b->msgs[i].replied)
                        return owner_error(&b->msgs[i].owner, -EIO, "the kernel did not answer", e);
        return 0;
}

static int dump(Nft *n, uint16_t cmd, uint16_t family, const char *chain,
                int (*cb)(const struct nlmsghdr *h, void *userdata), void *userdata)
{
        char buf[512] = {};
        struct nlmsghdr *h;
        uint32_t seq = ++n->seq;
        bool intr = false;
        int r;

        h = nftnl_nlmsg_build_hdr(buf, cmd, family, NLM_F_DUMP, seq);
        if (cmd == NFT_MSG_GETRULE) {
                /* The kernel filters rule dumps by table, and by chain. */
                mnl_attr_put_strz(h, NFTA_RULE_TABLE, NFT_TABLE);
                if (chain)
                        mnl_attr_put_strz(h, NFTA_RULE_CHAIN, chain);
        }
        if (mnl_socket_sendto(n->sock, h, h->nlmsg_len) < 0)
                return -errno;

        for (;;) {
                ssize_t len = mnl_socket_recvfrom(n->sock, n->rx, NFT_RX_SIZE);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                const struct nlmsghdr *m = (const struct nlmsghdr *) n->rx;
                int left = (int) len;
                for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
                        if (m->nlmsg_seq != seq || m->nlmsg_pid != n->portid)
                                continue;
                        if (m->nlmsg_flags & NLM_F_DUMP_INTR)
                                intr = true;
                        if (m->nlmsg_type == NLMSG_DONE)
                                return intr ? -EINTR : 0;
                        if (m->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
                                if (e->error != 0)
                                        return e->error;
                                continue;
                        }
                        r = cb(m, userdata);
                        if (r < 0)
                                return r;
                }
        }
}

int nft_dump(Nft *n, uint16_t cmd, uint16_t family, int (*cb)(const struct nlmsghdr *h, void *userdata),
                void *userdata)
{
        return dump(n, cmd, family, NULL, cb, userdata);
}

int nft_dump_chain(Nft *n, uint16_t family, const char *chain, int (*cb)(const struct nlmsghdr *h, void *userdata),
                void *userdata)
{
        return dump(n, NFT_MSG_GETRULE, family, chain, cb, userdata);
}
