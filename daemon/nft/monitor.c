/* Watching nf_tables for changes to dlrd's tables made by anyone else (an operator's `nft flush ruleset`,
 * another firewall manager): they are what a full nft_sync() must repair. dlrd's own transactions are told
 * apart by the port id every notification carries: that of the socket whose request caused it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/filter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-internal.h"
#include "shared/cleanup.h"


/* Drops, in the kernel, notifications caused by our transaction socket: a sync of thousands of rules would
 * otherwise flood this socket with its own echo (and its ENOBUFS would ask for another sync, forever).
 * nf_tables coalesces the notifications of one transaction into shared skbs (nft_commit_notify), all with
 * the same port id, so looking at the first message of each skb is enough. */
static int attach_filter(int fd, uint32_t portid)
{
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
                /* Absolute loads convert from network byte order; the header is in host order. */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(portid), 0, 1),
                BPF_STMT(BPF_RET | BPF_K, 0),
                BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(code), .filter = code };

        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
                return -errno;
        return 0;
}

int nft_monitor_open(Nft *n)
{
        int r = nft_socket_open(&n->mon, true);

        if (r < 0)
                return r;
        return attach_filter(mnl_socket_get_fd(n->mon), n->portid);
}

bool nft_take_uncertain(Nft *n)
{
        bool u = n && n->uncertain;
        if (n)
                n->uncertain = false;
        return u;
}

int nft_monitor_fd(const Nft *n)
{
        return mnl_socket_get_fd(n->mon);
}

/* Whether a notification is about table dlrd of the bridge or inet family. Every nf_tables object message
 * names its table in attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, ...). */
static bool touches_ours(const struct nlmsghdr *h)
{
        const struct nfgenmsg *g;
        const struct nlattr *a;

        if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES || (h->nlmsg_type & 0xff) == NFT_MSG_NEWGEN)
                return false;
        if (h->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof *g)
                return false;
        g = mnl_nlmsg_get_payload(h);
        if (g->nfgen_family != NFPROTO_BRIDGE && g->nfgen_family != NFPROTO_INET)
                return false;
        mnl_attr_for_each(a, h, sizeof *g)
                if (mnl_attr_get_type(a) == 1)
                        return mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 && streq(mnl_attr_get_str(a), NFT_TABLE);
        return false;
}

int nft_monitor_process(Nft *n)
{
        int fd = mnl_socket_get_fd(n->mon);
        bool changed = false;

        for (;;) {
                ssize_t len = recv(fd, n->rx, NFT_RX_SIZE, MSG_DONTWAIT);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        if (errno == ENOBUFS) {
                                changed = true; /* notifications were lost: anything may have happened */
                                continue;
                        }
                        return -errno;
                }
                const struct nlmsghdr *h = (const struct nlmsghdr *) n->rx;
                int left = (int) len;
                for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
                        if (h->nlmsg_pid != n->portid && touches_ours(h))
                                changed = true;
        }
        if (changed)
                n->dirty = true;
        return changed;
}
