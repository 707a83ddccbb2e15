/* Netlink batching: DESIGN §6 measured ~1k messages per sendmsg without per-message acks as the practical
 * floor; errors still arrive, capped (NETLINK_CAP_ACK), and each chunk ends with an acknowledged barrier so
 * the receive queue never has to hold more than one chunk's errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "nl.h"
#include "shared/array.h"
#include "shared/cleanup.h"

#define CHUNK_MESSAGES 1024
#define RCVBUF (8 * 1024 * 1024)

struct Netlink {
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t seq;
        char *buf;          /* the batch: messages back to back */
        size_t len, cap;
        size_t *offsets;    /* start of each message */
        size_t n, cap_offsets;
        char *rx;
        char dump_error[128]; /* extended-ack text of the last failed dump */
        bool uncertain;       /* a batch's outcome is partly unknown since the last netlink_take_uncertain */
};

void netlink_result_done(NetlinkResult *r)
{
        free(r->errors);
        *r = (NetlinkResult) {};
}

static int setopt(struct mnl_socket *s, int opt)
{
        int one = 1;
        if (mnl_socket_setsockopt(s, opt, &one, sizeof one) < 0)
                return -errno;
        return 0;
}

int netlink_open(Netlink **ret)
{
        Netlink *nl = calloc(1, sizeof *nl);
        int r, size = RCVBUF;

        if (!nl)
                return -ENOMEM;
        nl->rx = malloc(MNL_SOCKET_BUFFER_SIZE * 4);
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->rx || !nl->sock) {
                r = nl->rx ? -errno : -ENOMEM;
                netlink_close(nl);
                return r;
        }
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                netlink_close(nl);
                return r;
        }
        (void) setopt(nl->sock, NETLINK_EXT_ACK);
        (void) setopt(nl->sock, NETLINK_CAP_ACK);
        (void) setopt(nl->sock, NETLINK_GET_STRICT_CHK);
        /* FORCE needs CAP_NET_ADMIN, which dlrd has; fall back to the ordinary limit otherwise. */
        if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void) setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        nl->portid = mnl_socket_get_portid(nl->sock);
        nl->seq = (uint32_t) time(NULL) << 8;
        *ret = nl;
        return 0;
}

Netlink *netlink_close(Netlink *nl)
{
        if (!nl)
                return NULL;
        if (nl->sock)
                mnl_socket_close(nl->sock);
        free(nl->buf);
        free(nl->offsets);
        free(nl->rx);
        free(nl);
        return NULL;
}

void netlink_closep(Netlink **nl)
{
        netlink_close(*nl);
}

void netlink_batch_reset(Netlink *nl)
{
        nl->len = 0;
        nl->n = 0;
}

size_t netlink_batch_count(const Netlink *nl)
{
        return nl->n;
}

static int reserve(Netlink *nl, size_t more)
{
        if (nl->len + more > nl->cap) {
                size_t cap = nl->cap ? nl->cap : 65536;
                while (nl->len + more > cap)
                        cap *= 2;
                char *b = realloc(nl->buf, cap);
                if (!b)
                        return -ENOMEM;
                nl->buf = b;
                nl->cap = cap;
        }
        return ARRAY_GROW(nl->offsets, nl->cap_offsets, nl->n, 1024);
}

/* The previous message's final length is only known once its attributes are in; fix up len lazily. */
static void seal_last(Netlink *nl)
{
        if (nl->n > 0) {
                struct nlmsghdr *h = (struct nlmsghdr *) (nl->buf + nl->offsets[nl->n - 1]);
                nl->len = nl->offsets[nl->n - 1] + MNL_ALIGN(h->nlmsg_len);
        }
}

struct nlmsghdr *netlink_batch_add(Netlink *nl, uint16_t type, uint16_t flags, size_t hdrlen, void **ret_hdr)
{
        struct nlmsghdr *h;

        seal_last(nl);
        if (reserve(nl, NETLINK_MSG_MAX + MNL_ALIGN(hdrlen) + MNL_NLMSG_HDRLEN) < 0)
                return NULL;
        memset(nl->buf + nl->len, 0, MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen));
        h = mnl_nlmsg_put_header(nl->buf + nl->len);
        h->nlmsg_type = type;
        h->nlmsg_flags = (uint16_t) (NLM_F_REQUEST | flags);
        void *fh = mnl_nlmsg_put_extra_header(h, hdrlen);
        if (ret_hdr)
                *ret_hdr = fh;
        nl->offsets[nl->n++] = nl->len;
        nl->len += MNL_ALIGN(h->nlmsg_len);
        return h;
}

int netlink_batch_add_copy(Netlink *nl, const struct nlmsghdr *m)
{
        seal_last(nl);
        if (m->nlmsg_len > NETLINK_MSG_MAX || reserve(nl, MNL_ALIGN(m->nlmsg_len)) < 0)
                return -ENOMEM;
        memcpy(nl->buf + nl->len, m, m->nlmsg_len);
        ((struct nlmsghdr *) (nl->buf + nl->len))->nlmsg_flags |= NLM_F_REQUEST;
        nl->offsets[nl->n++] = nl->len;
        nl->len += MNL_ALIGN(m->nlmsg_len);
        return 0;
}

void netlink_extack_text(const struct nlmsghdr *h, char *buf, size_t size)
{
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
        size_t off = sizeof(*e);

        buf[0] = 0;
        if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(h->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (MNL_NLMSG_HDRLEN + off > h->nlmsg_len)
                return;
        const struct nlattr *attr;
        mnl_attr_for_each_payload((const void *) ((const char *) mnl_nlmsg_get_payload(h) + off),
                h->nlmsg_len - MNL_NLMSG_HDRLEN - off) {
                if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                                mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
                        snprintf(buf, size, "%s", mnl_attr_get_str(attr));
                        return;
                }
        }
}

static int add_error(NetlinkResult *res, size_t index, int error, const struct nlmsghdr *h)
{
        NetlinkError *n = realloc(res->errors, (res->n_errors + 1) * sizeof(NetlinkError));
        if (!n)
                return -ENOMEM;
        res->errors = n;
        n[res->n_errors] = (NetlinkError) { .index = index, .error = error };
        netlink_extack_text(h, n[res->n_errors].msg, sizeof n[res->n_errors].msg);
        res->n_errors++;
        return 0;
}

/* Reads until the ack for barrier_seq arrives, recording errors of messages first_seq..barrier_seq. */
static int drain(Netlink *nl, uint32_t first_seq, uint32_t barrier_seq, size_t first_index, NetlinkResult *res)
{
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, nl->rx, MNL_SOCKET_BUFFER_SIZE * 4);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                res->lost = true;
                                continue;
                        }
                        return -errno;
                }
                const struct nlmsghdr *h = (const struct nlmsghdr *) nl->rx;
                int len = (int) n;
                for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
                        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_pid != nl->portid)
                                continue;
                        if (h->nlmsg_seq - first_seq > barrier_seq - first_seq)
                                continue; /* stale: from an earlier, abandoned exchange */
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        if (e->error != 0) {
                                int r = add_error(res, first_index + (h->nlmsg_seq - first_seq), e->error, h);
                                if (r < 0)
                                        return r;
                        }
                        if (h->nlmsg_seq == barrier_seq)
                                return 0;
                }
        }
}

int netlink_batch_commit(Netlink *nl, NetlinkResult *res)
{
        int r = 0;

        *res = (NetlinkResult) {};
        seal_last(nl);
        for (size_t start = 0; start < nl->n; start += CHUNK_MESSAGES) {
                size_t end = MIN(nl->n, start + CHUNK_MESSAGES);
                uint32_t first = nl->seq + 1;

                for (size_t i = start; i < end; i++) {
                        struct nlmsghdr *h = (struct nlmsghdr *) (nl->buf + nl->offsets[i]);
                        h->nlmsg_seq = ++nl->seq;
                        h->nlmsg_flags &= (uint16_t) ~NLM_F_ACK;
                        if (i == end - 1)
                                h->nlmsg_flags |= NLM_F_ACK;
                }
                size_t from = nl->offsets[start];
                size_t to = end < nl->n ? nl->offsets[end] : nl->len;
                /* One sendmsg carries the whole chunk; netlink processes each message in order. */
                if (mnl_socket_sendto(nl->sock, nl->buf + from, to - from) < 0) {
                        r = -errno;
                        break;
                }
                r = drain(nl, first, nl->seq, start, res);
                if (r < 0)
                        break;
        }
        /* Part of the batch may have gone in: what the kernel holds is no longer known for sure. */
        if (r < 0 || res->lost)
                nl->uncertain = true;
        netlink_batch_reset(nl);
        return r;
}

bool netlink_take_uncertain(Netlink *nl)
{
        bool u = nl->uncertain;
        nl->uncertain = false;
        return u;
}

int netlink_dump(Netlink *nl, mnl_cb_t cb, void *userdata)
{
        struct nlmsghdr *h;
        bool intr = false;
        int r;

        seal_last(nl);
        nl->dump_error[0] = 0;
        if (nl->n != 1)
                return -EINVAL;
        h = (struct nlmsghdr *) nl->buf;
        h->nlmsg_seq = ++nl->seq;
        r = mnl_socket_sendto(nl->sock, nl->buf, nl->len) < 0 ? -errno : 0;
        netlink_batch_reset(nl);
        if (r < 0)
                return r;

        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, nl->rx, MNL_SOCKET_BUFFER_SIZE * 4);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                const struct nlmsghdr *m = (const struct nlmsghdr *) nl->rx;
                int len = (int) n;
                for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
                        if (m->nlmsg_seq != nl->seq)
                                continue;
                        if (m->nlmsg_flags & NLM_F_DUMP_INTR)
                                intr = true;
                        if (m->nlmsg_type == NLMSG_DONE)
                                return intr ? -EINTR : 0;
                        if (m->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
                                if (e->error != 0) {
                                        netlink_extack_text(m, nl->dump_error, sizeof nl->dump_error);
                                        return e->error;
                                }
                                continue;
                        }
                        r = cb(m, userdata);
                        if (r == MNL_CB_ERROR)
                                return -EIO;
                }
        }
}

/* Drops, in the kernel, route notifications caused by one netlink socket (the notification carries the
 * requester's port id): a bulk install of a million routes would otherwise echo a million notifications back
 * at the daemon that sent them, while a route changed by anyone else still wakes it. Route notifications come
 * one message per skb, so the header is at offset 0. */
static int attach_route_echo_filter(int fd, uint32_t portid)
{
        /* Absolute loads convert from network byte order; the header is in host order, so compare swapped. */
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWROUTE), 1, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_DELROUTE), 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(portid), 0, 1),
                BPF_STMT(BPF_RET | BPF_K, 0),
                BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(code), .filter = code };

        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
                return -errno;
        return 0;
}

const char *netlink_dump_error(const Netlink *nl)
{
        return nl->dump_error;
}

uint32_t netlink_portid(const Netlink *nl)
{
        return nl->portid;
}

int netlink_monitor_open(const unsigned *groups, size_t n_groups, uint32_t ignore_newroute_portid,
                struct mnl_socket **ret)
{
        struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
        int size = RCVBUF, r;

        if (!s)
                return -errno;
        if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
                goto fail;
        for (size_t i = 0; i < n_groups; i++) {
                int g = (int) groups[i];
                if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0)
                        goto fail;
        }
        if (setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void) setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        if (ignore_newroute_portid != 0 && attach_route_echo_filter(mnl_socket_get_fd(s), ignore_newroute_portid) < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        r = -errno;
        mnl_socket_close(s);
        return r;
}
