/* Convergence benchmark client (bench/convergence): sends one AddRoute at a time to the accepting host's
 * dlrd and times, from just before the send, when the kernel of every lab host announces that route. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <systemd/sd-bus.h>

#include "kernel/kernel.h"
#include "shared/cleanup.h"
#include "shared/time.h"

#define USEC_PER_MSEC 1000ULL
#define NOT_SEEN UINT64_MAX
#define RCVBUF (8 * 1024 * 1024)
/* The changes are /32s counted up from 198.18.0.0, the benchmarking range (RFC 2544), which is /15. */
#define PREFIX_BASE 0xc6120000u
#define PREFIX_COUNT (1u << 17)
#define TICK_USEC 10000ULL
/* epoll tags beyond the watches' indexes */
#define TAG_BUS(b) ((b)->n_watches)
#define TAG_TICK(b) ((b)->n_watches + 1)

/* One lab host: a route-notification socket created inside its network namespace. */
typedef struct Watch {
        const char *netns;
        struct mnl_socket *nl;
        uint64_t seen; /* usec from the send to the notification, NOT_SEEN until then */
} Watch;

typedef struct Bench {
        sd_bus *bus;
        int epoll_fd;
        Watch *watches; /* [0] is the accepting host */
        size_t n_watches;
        uint32_t table;
        uint32_t want; /* the prefix of the change in flight, network byte order */
        uint64_t start; /* monotonic usec when the first round began */
        uint64_t sent;  /* monotonic usec just before the call went out */
        uint64_t replied;
        bool reply_failed;
        unsigned overruns;
        /* This process runs a 10 ms tick throughout. At real-time priority no ordinary process delays it,
         * so a tick that comes late means the machine (a VM's CPU, or the kernel itself) was held up, and
         * every time measured in that round contains the stall. */
        int tick_fd;
        uint64_t tick_last, stall;
} Bench;

static void help(void)
{
        printf("Usage: convergence-watch --bus ADDRESS [OPTIONS] NETNS...\n\n"
               "Sends ROUNDS AddRoute calls to the dlrd at ADDRESS, one at a time, each a fresh /32 from\n"
               "198.18.0.0/15, and times when each network namespace's kernel announces it (the first\n"
               "NETNS is the accepting host's). Prints one line per round:\n"
               "  ROUND AT PREFIX REPLY LOCAL PEERS-MAX STALL HOST1 HOST2 ...\n"
               "AT is when the call was sent, in ms since the first round; STALL the longest time in the\n"
               "round this program could not run (a 10 ms tick came late); the others are ms from the\n"
               "send, \"-\" for what did not come within the timeout.\n\n"
               "  --bus ADDRESS      the accepting host's bus\n"
               "  --router NAME      router (default blue)\n"
               "  --table ID         its kernel table (default 1001)\n"
               "  --lif NAME         the next hop's LIF (default web)\n"
               "  --gateway IP       the next hop (default 10.0.0.254)\n"
               "  --rounds N         measured rounds (default 200)\n"
               "  --warmup N         unmeasured rounds before them (default 3)\n"
               "  --first N          index of the first prefix (default 0)\n"
               "  --timeout-ms MS    per round (default 5000)\n"
               "  --gap-ms MS        pause between rounds (default 20)\n");
}

/* Sockets belong to the namespace they were created in, whatever the process does later, so one process can
 * listen to every host: enter the host's namespace, create and subscribe the socket, go back. */
static int watch_open(const char *netns, int home_fd, struct mnl_socket **ret)
{
        _cleanup_close_ int fd = -EBADF;
        struct mnl_socket *nl = NULL;
        char path[4096];
        int group = RTNLGRP_IPV4_ROUTE, size = RCVBUF, r = 0;

        if (strchr(netns, '/') || strlen(netns) >= sizeof path - strlen("/run/netns/"))
                return -EINVAL;
        snprintf(path, sizeof path, "/run/netns/%s", netns);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (setns(fd, CLONE_NEWNET) < 0)
                return -errno;
        nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (!nl)
                r = -errno;
        if (r >= 0 && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                r = -errno;
        if (r >= 0 && mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
                r = -errno;
        /* Big enough that a burst of other notifications never pushes out the one being waited for. */
        if (r >= 0) {
                int sfd = mnl_socket_get_fd(nl);
                if (setsockopt(sfd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0 &&
                                setsockopt(sfd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
                        r = -errno;
        }
        /* Staying would put every later socket in the wrong namespace: fatal, not an error to return. */
        if (setns(home_fd, CLONE_NEWNET) < 0) {
                fprintf(stderr, "returning to the original network namespace: %s\n", strerror(errno));
                abort();
        }
        if (r < 0) {
                if (nl)
                        mnl_socket_close(nl);
                return r;
        }
        *ret = nl;
        return 0;
}

/* True when the message announces the change in flight: dlrd's IPv4 /32 for that prefix in that table. */
static bool is_wanted(const Bench *b, const struct nlmsghdr *h)
{
        const struct rtmsg *rtm;
        const struct nlattr *a;
        uint32_t table;
        bool dst = false;

        if (h->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(h) < sizeof(struct rtmsg))
                return false;
        rtm = mnl_nlmsg_get_payload(h);
        if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 32 || rtm->rtm_protocol != DLRD_RTPROT)
                return false;
        table = rtm->rtm_table; /* only a table id below 256 fits here; RTA_TABLE carries any */
        mnl_attr_for_each(a, h, sizeof(struct rtmsg)) {
                uint16_t type = mnl_attr_get_type(a);
                if (type == RTA_TABLE && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                        table = mnl_attr_get_u32(a);
                else if (type == RTA_DST && mnl_attr_get_payload_len(a) == sizeof(uint32_t)) {
                        uint32_t addr;
                        memcpy(&addr, mnl_attr_get_payload(a), sizeof addr);
                        dst = addr == b->want;
                }
        }
        return dst && table == b->table;
}

/* Reads everything queued on one host's socket. The time is taken as each datagram arrives. */
static int watch_drain(Bench *b, Watch *w)
{
        static char buf[65536];

        for (;;) {
                ssize_t n = mnl_socket_recvfrom(w->nl, buf, sizeof buf);
                uint64_t t = now(CLOCK_MONOTONIC);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                /* Notifications were lost; a round that loses its own shows as a timeout. */
                                b->overruns++;
                                continue;
                        }
                        return -errno;
                }
                const struct nlmsghdr *h = (const struct nlmsghdr *) buf;
                int len = (int) n;
                for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len))
                        if (w->seen == NOT_SEEN && b->sent != 0 && is_wanted(b, h))
                                w->seen = t - b->sent;
        }
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Bench *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        b->replied = now(CLOCK_MONOTONIC) - b->sent;
        if (e) {
                b->reply_failed = true;
                fprintf(stderr, "AddRoute failed: %s\n", e->message ? e->message : e->name);
        }
        return 0;
}

static bool round_done(const Bench *b)
{
        if (b->reply_failed)
                return true; /* nothing is coming */
        if (b->replied == NOT_SEEN)
                return false;
        for (size_t i = 0; i < b->n_watches; i++)
                if (b->watches[i].seen == NOT_SEEN)
                        return false;
        return true;
}

static void tick(Bench *b)
{
        uint64_t expirations, t = now(CLOCK_MONOTONIC);

        if (read(b->tick_fd, &expirations, sizeof expirations) != (ssize_t) sizeof expirations)
                return;
        if (b->tick_last != 0 && t - b->tick_last > TICK_USEC)
                b->stall = MAX(b->stall, t - b->tick_last - TICK_USEC);
        b->tick_last = t;
}

/* Serves the sockets and the bus until the deadline, or until the round is complete if until_done. */
static int pump(Bench *b, uint64_t deadline, bool until_done)
{
        int bus_fd = sd_bus_get_fd(b->bus);

        for (;;) {
                struct epoll_event ev[64];
                struct epoll_event want = { .data.u64 = TAG_BUS(b) };
                uint64_t t = now(CLOCK_MONOTONIC);
                int r, n;

                for (;;) {
                        r = sd_bus_process(b->bus, NULL);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                }
                if ((until_done && round_done(b)) || t >= deadline)
                        return 0;
                r = sd_bus_get_events(b->bus);
                if (r < 0)
                        return r;
                want.events = (uint32_t) r;
                if (epoll_ctl(b->epoll_fd, EPOLL_CTL_MOD, bus_fd, &want) < 0)
                        return -errno;
                /* Rounded up, so a wait never ends just short of the deadline and spins. */
                n = epoll_wait(b->epoll_fd, ev, (int) ELEMENTSOF(ev), (int) ((deadline - t + 999) / 1000));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n; i++) {
                        if (ev[i].data.u64 == TAG_TICK(b)) {
                                tick(b);
                                continue;
                        }
                        if (ev[i].data.u64 == TAG_BUS(b))
                                continue; /* processed at the top */
                        r = watch_drain(b, &b->watches[ev[i].data.u64]);
                        if (r < 0)
                                return r;
                }
        }
}

static void print_ms(uint64_t usec)
{
        if (usec == NOT_SEEN)
                fputs(" -", stdout);
        else
                printf(" %.3f", (double) usec / 1e3);
}

static int run_round(Bench *b, const char *router, const char *lif, const char *gateway, unsigned index,
                uint64_t timeout, bool report)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        uint32_t addr = PREFIX_BASE + index;
        char prefix[INET_ADDRSTRLEN + 3];
        uint64_t peers = 0, at;
        int r;

        snprintf(prefix, sizeof prefix, "%u.%u.%u.%u/32", addr >> 24, (addr >> 16) & 0xff,
                (addr >> 8) & 0xff, addr & 0xff);
        r = sd_bus_message_new_method_call(b->bus, &m, "org.dlrd1", "/org/dlrd1", "org.dlrd1.Manager",
                "AddRoute");
        if (r >= 0)
                r = sd_bus_message_append(m, "ssa(ss)", router, prefix, 1, gateway, lif);
        if (r < 0)
                return r;

        b->want = htonl(addr);
        b->replied = NOT_SEEN;
        b->reply_failed = false;
        for (size_t i = 0; i < b->n_watches; i++)
                b->watches[i].seen = NOT_SEEN;
        b->stall = 0;
        b->sent = now(CLOCK_MONOTONIC);
        if (b->start == 0)
                b->start = b->sent;
        r = sd_bus_call_async(b->bus, &slot, m, on_reply, b, timeout);
        if (r < 0)
                return r;
        r = pump(b, b->sent + timeout, true);
        if (r < 0)
                return r;
        /* A round that timed out must not report into the next one: dropping the slot drops the callback. */
        slot = sd_bus_slot_unref(slot);
        at = b->sent - b->start;
        b->sent = 0;
        if (!report)
                return 0;

        for (size_t i = 1; i < b->n_watches; i++)
                peers = b->watches[i].seen == NOT_SEEN ? NOT_SEEN : MAX(peers, b->watches[i].seen);
        printf("%u %.3f %s", index, (double) at / 1e3, prefix);
        print_ms(b->reply_failed ? NOT_SEEN : b->replied);
        print_ms(b->watches[0].seen);
        print_ms(peers);
        print_ms(b->stall);
        for (size_t i = 0; i < b->n_watches; i++)
                print_ms(b->watches[i].seen);
        putchar('\n');
        return 0;
}

static int bus_open(const char *address, sd_bus **ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

static int parse_unsigned(const char *s, unsigned max, unsigned *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int main(int argc, char *argv[])
{
        const char *address = NULL, *router = "blue", *lif = "web", *gateway = "10.0.0.254";
        unsigned rounds = 200, warmup = 3, first = 0, timeout_ms = 5000, gap_ms = 20, table = 1001;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int home_fd = -EBADF, epoll_fd = -EBADF, tick_fd = -EBADF;
        _cleanup_free_ Watch *watches = NULL;
        struct sched_param sp = { .sched_priority = 1 };
        size_t n_watches;
        Bench b;
        int c, r = 0;

        static const struct option options[] = {
                { "bus", required_argument, NULL, 'b' },        { "router", required_argument, NULL, 'r' },
                { "table", required_argument, NULL, 'T' },      { "lif", required_argument, NULL, 'l' },
                { "gateway", required_argument, NULL, 'g' },    { "rounds", required_argument, NULL, 'n' },
                { "warmup", required_argument, NULL, 'w' },     { "first", required_argument, NULL, 'f' },
                { "timeout-ms", required_argument, NULL, 't' }, { "gap-ms", required_argument, NULL, 'G' },
                { "help", no_argument, NULL, 'h' },             {},
        };
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'b': address = optarg; break;
                case 'r': router = optarg; break;
                case 'l': lif = optarg; break;
                case 'g': gateway = optarg; break;
                case 'T': r = parse_unsigned(optarg, UINT32_MAX, &table); break;
                case 'n': r = parse_unsigned(optarg, PREFIX_COUNT, &rounds); break;
                case 'w': r = parse_unsigned(optarg, PREFIX_COUNT, &warmup); break;
                case 'f': r = parse_unsigned(optarg, PREFIX_COUNT, &first); break;
                case 't': r = parse_unsigned(optarg, 600000, &timeout_ms); break;
                case 'G': r = parse_unsigned(optarg, 600000, &gap_ms); break;
                case 'h': help(); return 0;
                default: return 2;
                }
        n_watches = (size_t) (argc - optind);
        if (r < 0 || !address || n_watches == 0 || timeout_ms == 0 ||
                        (uint64_t) first + warmup + rounds > PREFIX_COUNT) {
                fprintf(stderr, "convergence-watch: bad arguments (see --help)\n");
                return 2;
        }

        home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        watches = calloc(n_watches, sizeof(Watch));
        if (home_fd < 0 || epoll_fd < 0 || tick_fd < 0 || !watches) {
                fprintf(stderr, "convergence-watch: setting up: %s\n", strerror(errno));
                return 1;
        }
        b = (Bench) { .epoll_fd = epoll_fd, .watches = watches, .n_watches = n_watches, .table = table,
                .tick_fd = tick_fd };
        for (size_t i = 0; i < n_watches; i++) {
                struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
                watches[i].netns = argv[optind + (int) i];
                r = watch_open(watches[i].netns, home_fd, &watches[i].nl);
                if (r >= 0 && epoll_ctl(epoll_fd, EPOLL_CTL_ADD, mnl_socket_get_fd(watches[i].nl), &ev) < 0)
                        r = -errno;
                if (r < 0) {
                        fprintf(stderr, "convergence-watch: netns %s: %s\n", watches[i].netns, strerror(-r));
                        goto finish;
                }
        }
        r = bus_open(address, &bus);
        if (r >= 0) {
                struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_BUS(&b) };
                struct epoll_event tev = { .events = EPOLLIN, .data.u64 = TAG_TICK(&b) };
                struct itimerspec its = {
                        .it_interval.tv_nsec = TICK_USEC * 1000,
                        .it_value.tv_nsec = TICK_USEC * 1000,
                };
                b.bus = bus;
                if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, sd_bus_get_fd(bus), &ev) < 0 ||
                                epoll_ctl(epoll_fd, EPOLL_CTL_ADD, tick_fd, &tev) < 0 ||
                                timerfd_settime(tick_fd, 0, &its, NULL) < 0)
                        r = -errno;
        }
        if (r < 0) {
                fprintf(stderr, "convergence-watch: connecting to %s: %s\n", address, strerror(-r));
                goto finish;
        }
        /* The time of a notification is taken when this process reads it: with 2N busy daemons on few CPUs,
         * an ordinary process may wake long after the kernel queued it, and that delay would be counted as
         * dlrd's. This process only reads, stamps and sleeps, so it takes little from them. */
        if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
                fprintf(stderr, "convergence-watch: no real-time priority (%s); timestamps may lag\n",
                        strerror(errno));
        setvbuf(stdout, NULL, _IOLBF, 0);

        for (unsigned i = 0; i < warmup + rounds; i++) {
                r = run_round(&b, router, lif, gateway, first + i, (uint64_t) timeout_ms * USEC_PER_MSEC,
                        i >= warmup);
                if (r >= 0)
                        r = pump(&b, now(CLOCK_MONOTONIC) + (uint64_t) gap_ms * USEC_PER_MSEC, false);
                if (r < 0) {
                        fprintf(stderr, "convergence-watch: round %u: %s\n", i, strerror(-r));
                        goto finish;
                }
        }
        if (b.overruns > 0)
                fprintf(stderr, "convergence-watch: %u netlink receive overruns (notifications lost)\n",
                        b.overruns);

finish:
        for (size_t i = 0; i < n_watches; i++)
                if (watches[i].nl)
                        mnl_socket_close(watches[i].nl);
        return r < 0 ? 1 : 0;
}
