/* peer-call: a test client for dlrd's peer socket. It speaks org.dlrd1.Peer on one peer-to-peer D-Bus
 * connection (no bus, no bus Hello), as another dlrd would, so tests can send what a faulty or hostile peer
 * could. Not installed.
 *
 *   peer-call [--timeout SECONDS] [--key FILE] ADDRESS [--key FILE] [--hello HOST VTEP] CALL...
 *   peer-call --genkey FILE    creates FILE (a host key, as dlrd keeps it) unless it exists; prints its
 *                              public key
 *   peer-call --flood PATH N SECONDS
 *                              opens N connections to the unix socket PATH and says nothing on them; prints
 *                              "flood N opened=A closed=B seconds=S": how many the peer closed within SECONDS
 *
 * ADDRESS is a D-Bus address such as unix:path=/run/dlrd/peer.sock. The calls run in order on the same
 * connection; --hello HOST VTEP is short for a first call "hello HOST VTEP". --key FILE signs with the host
 * key in FILE (PEM, e.g. a dlrd state dir's host.key); without it, with a fresh key. CALL is one of:
 *
 *   hello HOST VTEP            the handshake as HOST: Challenge(say), checking the answer's signature, then
 *                              Hello(sssay) signed with the key; prints "ok SERVER-HOST SERVER-VTEP KEY"
 *   challenge HOST             Challenge(say) alone; prints "ok SERVER-HOST SERVER-KEY"
 *   waitfile PATH SECONDS      keeps the connection open until PATH exists (then "ok") or SECONDS pass
 *   digest                     Digest()
 *   status                     Status(): prints "ok DIGEST HOST=SEQ,..." (the vector sorted as sent)
 *   state                      GetState()
 *   merge ORIGIN SEQ FILE      Merge(sts) with the contents of FILE ("-": standard input, read once and
 *                              reused by every later "-")
 *   putstate ORIGIN SEEN FILE  PutState(sa(st)s); SEEN is HOST=SEQ[,HOST=SEQ...] or "-" for none
 *   burst N ORIGIN SEQ FILE    N Merge calls with the same arguments, all sent before any reply is read
 *                              (N at most 1000000), then every reply collected
 *   stateburst N               the same with N GetState calls
 *
 * Output, one line per call in the order given:
 *
 *   ok [VALUE...]              the reply's values, separated by one space (GetState: the document)
 *   error NAME: MESSAGE        an error reply from the peer
 *   burst N ok=A [NAME=B]... seconds=S
 *                              how many calls of the burst succeeded, how many failed with each error name,
 *                              and the time from the first send to the last reply
 *   disconnected: REASON       the connection could not be made or was lost; no further call is made
 *
 * Exit status: 0 when the last call succeeded; 1 when it got an error reply (a burst: when any call of it
 * did); 2 on bad usage or a local failure (unreadable FILE, out of memory); 3 when the connection failed or
 * closed before the last call was answered. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "peer/hostkey.h"

#define PEER_PATH "/org/dlrd1"
#define PEER_INTERFACE "org.dlrd1.Peer"
#define BURST_MAX 1000000UL
#define ERROR_NAMES_MAX 16

enum {
        EXIT_OK = 0,
        EXIT_ERROR_REPLY = 1,
        EXIT_USAGE = 2,
        EXIT_DISCONNECTED = 3,
};

typedef struct Client {
        sd_bus *bus;
        HostKey *key;
        uint64_t timeout_usec;
        char *stdin_doc; /* "-" read once */
} Client;

static void usage(FILE *f)
{
        fputs("usage: peer-call [--timeout SECONDS] [--key FILE] ADDRESS [--hello HOST VTEP] CALL...\n"
              "       peer-call --genkey FILE | --flood PATH N SECONDS\n"
              "  CALL: hello HOST VTEP | challenge HOST | digest | status | state | merge ORIGIN SEQ FILE|-\n"
              "        | putstate ORIGIN HOST=SEQ,...|- FILE|- | burst N ORIGIN SEQ FILE|-\n",
                f);
}

static double now_sec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* One line per call: a value with a line break in it would split it, so control characters are shown as
 * '?'. Documents never hold raw ones (JSON escapes them). */
static void print_value(const char *s)
{
        for (const char *p = s; *p; p++)
                fputc((unsigned char) *p < 0x20 ? '?' : *p, stdout);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        char *end = NULL;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || !end || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int read_stream(FILE *f, char **ret)
{
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (cap - len < 2) {
                        char *n = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
                        if (!n) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = n;
                        cap *= 2;
                }
                size_t n = fread(buf + len, 1, cap - len - 1, f);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(f)) {
                free(buf);
                return -EIO;
        }
        buf[len] = 0;
        /* A D-Bus string ends at its first NUL, so a document with one inside could not be sent as given. */
        if (strlen(buf) != len) {
                free(buf);
                return -EINVAL;
        }
        *ret = buf;
        return 0;
}

/* The document named by path; for "-" the one standard input held, read on first use. The caller frees
 * *ret unless it is c->stdin_doc (*ret_owned tells). */
static int load_doc(Client *c, const char *path, char **ret, bool *ret_owned)
{
        int r;

        if (strcmp(path, "-") == 0) {
                if (!c->stdin_doc) {
                        r = read_stream(stdin, &c->stdin_doc);
                        if (r < 0)
                                return r;
                }
                *ret = c->stdin_doc;
                *ret_owned = false;
                return 0;
        }
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        r = read_stream(f, ret);
        fclose(f);
        if (r >= 0)
                *ret_owned = true;
        return r;
}

/* A failed call: an error reply while the connection is still up, else the connection itself failed. */
static int report_failure(Client *c, int r, const sd_bus_error *error)
{
        if (!sd_bus_is_open(c->bus) || !sd_bus_error_is_set(error)) {
                printf("disconnected: %s\n", strerror(r < 0 ? -r : ECONNRESET));
                return EXIT_DISCONNECTED;
        }
        printf("error %s: ", error->name);
        print_value(error->message ? error->message : "");
        putchar('\n');
        return EXIT_ERROR_REPLY;
}

/* Sends m (and drops it), waits for the reply: EXIT_OK with *reply set, or what report_failure says. */
static int call_reply(Client *c, sd_bus_message *m, sd_bus_message **reply)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_call(c->bus, m, c->timeout_usec, &error, reply);

        sd_bus_message_unref(m);
        if (r < 0) {
                int ret = report_failure(c, r, &error);
                sd_bus_error_free(&error);
                return ret;
        }
        return EXIT_OK;
}

static int new_merge(Client *c, const char *origin, uint64_t seq, const char *doc, sd_bus_message **ret)
{
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, NULL, PEER_PATH, PEER_INTERFACE, "Merge");
        if (r >= 0)
                r = sd_bus_message_append(m, "sts", origin, seq, doc);
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}

/* A call with string arguments whose reply is zero or more strings. */
static int call_simple(Client *c, const char *method, const char *a, const char *b)
{
        sd_bus_message *m = NULL, *reply = NULL;
        const char *v;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, NULL, PEER_PATH, PEER_INTERFACE, method);
        if (r >= 0 && a)
                r = sd_bus_message_append(m, "ss", a, b);
        if (r < 0) {
                sd_bus_message_unref(m);
                fprintf(stderr, "peer-call: building %s: %s\n", method, strerror(-r));
                return EXIT_USAGE;
        }
        int ret = call_reply(c, m, &reply);
        if (ret != EXIT_OK)
                return ret;
        fputs("ok", stdout);
        /* Every method of org.dlrd1.Peer answers with strings only. */
        while ((r = sd_bus_message_at_end(reply, false)) == 0 &&
                        (r = sd_bus_message_read_basic(reply, 's', &v)) > 0) {
                putchar(' ');
                print_value(v);
        }
        putchar('\n');
        sd_bus_message_unref(reply);
        if (r < 0) {
                fprintf(stderr, "peer-call: %s: unexpected reply: %s\n", method, strerror(-r));
                return EXIT_ERROR_REPLY;
        }
        return EXIT_OK;
}

/* The handshake as dlrd's outbound side makes it: Challenge, the server's signature checked, then Hello
 * signed with this client's key (unless only the challenge is asked for). */
static int call_handshake(Client *c, const char *host, const char *vtep)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        uint8_t nonce[HANDSHAKE_NONCE_LEN], theirs[HANDSHAKE_NONCE_LEN], sig[HOSTKEY_SIG_LEN];
        const char *server, *key, *svtep;
        const void *sn, *ss;
        size_t sn_len = 0, ss_len = 0;
        int r;

        r = handshake_nonce(nonce);
        if (r >= 0)
                r = sd_bus_message_new_method_call(c->bus, &m, NULL, PEER_PATH, PEER_INTERFACE, "Challenge");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", host);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', nonce, sizeof nonce);
        if (r >= 0)
                r = sd_bus_call(c->bus, m, c->timeout_usec, &error, &reply);
        m = sd_bus_message_unref(m);
        if (r < 0) {
                int ret = report_failure(c, r, &error);
                sd_bus_error_free(&error);
                return ret;
        }
        r = sd_bus_message_read(reply, "ss", &server, &key);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &sn, &sn_len);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &ss, &ss_len);
        if (r < 0 || sn_len != HANDSHAKE_NONCE_LEN) {
                fprintf(stderr, "peer-call: Challenge: unexpected reply\n");
                sd_bus_message_unref(reply);
                return EXIT_ERROR_REPLY;
        }
        memcpy(theirs, sn, sizeof theirs);
        if (handshake_verify(key, HANDSHAKE_SERVER, host, server, nonce, theirs, ss, ss_len) < 0) {
                printf("bad-signature: the answer to the challenge is not signed by %s\n", key);
                sd_bus_message_unref(reply);
                return EXIT_ERROR_REPLY;
        }
        if (!vtep) {
                printf("ok %s %s\n", server, key);
                sd_bus_message_unref(reply);
                return EXIT_OK;
        }
        /* server points into the reply, which goes now. */
        char server_id[256];
        snprintf(server_id, sizeof server_id, "%s", server);
        sd_bus_message_unref(reply);
        reply = NULL;
        r = handshake_sign(c->key, HANDSHAKE_CLIENT, host, server_id, nonce, theirs, sig);
        if (r >= 0)
                r = sd_bus_message_new_method_call(c->bus, &m, NULL, PEER_PATH, PEER_INTERFACE, "Hello");
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", host, vtep, hostkey_public(c->key));
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', sig, sizeof sig);
        if (r < 0) {
                sd_bus_message_unref(m);
                fprintf(stderr, "peer-call: building Hello: %s\n", strerror(-r));
                return EXIT_USAGE;
        }
        int ret = call_reply(c, m, &reply);
        if (ret != EXIT_OK)
                return ret;
        r = sd_bus_message_read(reply, "ss", &server, &svtep);
        if (r >= 0)
                printf("ok %s %s %s\n", server, svtep, hostkey_public(c->key));
        sd_bus_message_unref(reply);
        return r < 0 ? EXIT_ERROR_REPLY : EXIT_OK;
}

/* N silent connections to a unix socket: how many the other side closes within the time given. */
static int flood(const char *path, uint64_t n, uint64_t seconds)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct pollfd *fds = calloc(n, sizeof(struct pollfd));
        uint64_t opened = 0, closed = 0;
        double t0 = now_sec();

        if (!fds || strlen(path) >= sizeof sa.sun_path) {
                free(fds);
                return EXIT_USAGE;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        for (uint64_t i = 0; i < n; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                fds[i] = (struct pollfd) { .fd = -1 };
                if (fd < 0)
                        continue;
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        close(fd);
                        continue;
                }
                fds[i] = (struct pollfd) { .fd = fd, .events = POLLIN };
                opened++;
        }
        while (closed < opened && now_sec() - t0 < (double) seconds) {
                if (poll(fds, n, 200) <= 0)
                        continue;
                for (uint64_t i = 0; i < n; i++) {
                        char buf[256];
                        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        ssize_t k = read(fds[i].fd, buf, sizeof buf);
                        if (k > 0)
                                continue; /* the server's side of the auth exchange, if any */
                        close(fds[i].fd);
                        fds[i].fd = -1;
                        closed++;
                }
        }
        printf("flood %" PRIu64 " opened=%" PRIu64 " closed=%" PRIu64 " seconds=%.1f\n", n, opened, closed,
                now_sec() - t0);
        for (uint64_t i = 0; i < n; i++)
                if (fds[i].fd >= 0)
                        close(fds[i].fd);
        free(fds);
        return EXIT_OK;
}

static int call_merge(Client *c, const char *origin, uint64_t seq, const char *doc)
{
        sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = new_merge(c, origin, seq, doc, &m);
        if (r < 0) {
                fprintf(stderr, "peer-call: building Merge: %s\n", strerror(-r));
                return EXIT_USAGE;
        }
        int ret = call_reply(c, m, &reply);
        if (ret != EXIT_OK)
                return ret;
        sd_bus_message_unref(reply);
        puts("ok");
        return EXIT_OK;
}

/* Status(): the digest, then the vector as HOST=SEQ joined by commas. */
static int call_status(Client *c)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *digest, *host;
        uint64_t seq;
        int r;

        r = sd_bus_call_method(c->bus, NULL, PEER_PATH, PEER_INTERFACE, "Status", &error, &reply, "");
        if (r < 0) {
                int ret = report_failure(c, r, &error);
                sd_bus_error_free(&error);
                return ret;
        }
        r = sd_bus_message_read(reply, "s", &digest);
        if (r >= 0) {
                printf("ok %s ", digest);
                r = sd_bus_message_enter_container(reply, 'a', "(st)");
        }
        for (bool first = true; r >= 0 && (r = sd_bus_message_read(reply, "(st)", &host, &seq)) > 0; first = false)
                printf("%s%s=%" PRIu64, first ? "" : ",", host, seq);
        putchar('\n');
        sd_bus_message_unref(reply);
        if (r < 0) {
                fprintf(stderr, "peer-call: Status: unexpected reply: %s\n", strerror(-r));
                return EXIT_ERROR_REPLY;
        }
        return EXIT_OK;
}

/* Appends SEEN (HOST=SEQ,... or "-") as a(st). Host names are sent as given, so tests can send bad ones. */
static int append_seen(sd_bus_message *m, const char *seen)
{
        int r = sd_bus_message_open_container(m, 'a', "(st)");
        char *copy = strcmp(seen, "-") == 0 ? NULL : strdup(seen), *save = NULL;

        if (strcmp(seen, "-") != 0 && !copy)
                return -ENOMEM;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; r >= 0 && t; t = strtok_r(NULL, ",", &save)) {
                char *eq = strrchr(t, '=');
                uint64_t seq;
                if (!eq || parse_u64(eq + 1, UINT64_MAX, &seq) < 0) {
                        r = -EINVAL;
                        break;
                }
                *eq = 0;
                r = sd_bus_message_append(m, "(st)", t, seq);
        }
        free(copy);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int call_put_state(Client *c, const char *origin, const char *seen, const char *doc)
{
        sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, NULL, PEER_PATH, PEER_INTERFACE, "PutState");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", origin);
        if (r >= 0)
                r = append_seen(m, seen);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", doc);
        if (r < 0) {
                sd_bus_message_unref(m);
                fprintf(stderr, "peer-call: building PutState: %s\n",
                        r == -EINVAL ? "SEEN must be HOST=SEQ[,HOST=SEQ...] or -" : strerror(-r));
                return EXIT_USAGE;
        }
        int ret = call_reply(c, m, &reply);
        if (ret != EXIT_OK)
                return ret;
        sd_bus_message_unref(reply);
        puts("ok");
        return EXIT_OK;
}

typedef struct Burst {
        uint64_t answered, ok;
        size_t n_names;
        char *names[ERROR_NAMES_MAX + 1]; /* the last slot counts every further name */
        uint64_t counts[ERROR_NAMES_MAX + 1];
} Burst;

static void burst_count(Burst *b, const char *name)
{
        size_t i;

        for (i = 0; i < b->n_names; i++)
                if (strcmp(b->names[i], name) == 0)
                        break;
        if (i == b->n_names) {
                char *n = b->n_names < ERROR_NAMES_MAX ? strdup(name) : NULL;
                if (n) {
                        b->names[b->n_names++] = n;
                } else {
                        i = ERROR_NAMES_MAX;
                        if (!b->names[i])
                                b->names[i] = strdup("other");
                }
        }
        b->counts[i]++;
}

static int on_burst_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Burst *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        b->answered++;
        if (e)
                burst_count(b, e->name ? e->name : "?");
        else
                b->ok++;
        return 0;
}

static int call_burst(Client *c, uint64_t n, const char *origin, uint64_t seq, const char *doc)
{
        Burst b = {};
        double t0 = now_sec(), deadline;
        int r = 0, ret = EXIT_OK;
        uint64_t sent = 0;

        for (; sent < n; sent++) {
                sd_bus_message *m = NULL;
                r = doc ? new_merge(c, origin, seq, doc, &m)
                        : sd_bus_message_new_method_call(c->bus, &m, NULL, PEER_PATH, PEER_INTERFACE, "GetState");
                if (r >= 0)
                        r = sd_bus_call_async(c->bus, NULL, m, on_burst_reply, &b, c->timeout_usec);
                sd_bus_message_unref(m);
                if (r < 0)
                        break;
        }
        /* Every sent call gets a reply, a timeout or a "connection lost" error from sd-bus itself, so this
         * ends; the deadline is only a backstop. */
        deadline = now_sec() + (double) (c->timeout_usec ? c->timeout_usec : 25000000) / 1e6 + 5.0;
        while (r >= 0 && b.answered < sent && now_sec() < deadline) {
                r = sd_bus_process(c->bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(c->bus, 1000000);
        }
        double t1 = now_sec();

        if (sent < n || b.answered < sent || !sd_bus_is_open(c->bus)) {
                printf("disconnected: burst of %" PRIu64 ": %" PRIu64 " sent, %" PRIu64 " answered%s%s\n", n,
                        sent, b.answered, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
                ret = EXIT_DISCONNECTED;
        } else {
                printf("burst %" PRIu64 " ok=%" PRIu64, n, b.ok);
                for (size_t i = 0; i <= ERROR_NAMES_MAX; i++)
                        if (b.names[i])
                                printf(" %s=%" PRIu64, b.names[i], b.counts[i]);
                printf(" seconds=%.3f\n", t1 - t0);
                ret = b.ok == n ? EXIT_OK : EXIT_ERROR_REPLY;
        }
        for (size_t i = 0; i <= ERROR_NAMES_MAX; i++)
                free(b.names[i]);
        return ret;
}

/* Keeps the connection open, serving it, until PATH exists (a test's go-ahead) or SECONDS have passed. */
static int wait_file(Client *c, const char *path, const char *seconds)
{
        uint64_t secs;
        struct timespec t0, t;

        if (parse_u64(seconds, 3600, &secs) < 0) {
                fprintf(stderr, "peer-call: waitfile: SECONDS must be 0..3600, not '%s'\n", seconds);
                return EXIT_USAGE;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                if (access(path, F_OK) == 0) {
                        puts("ok");
                        return EXIT_OK;
                }
                clock_gettime(CLOCK_MONOTONIC, &t);
                if ((uint64_t) (t.tv_sec - t0.tv_sec) >= secs) {
                        printf("error timeout: %s did not appear in %s s\n", path, seconds);
                        return EXIT_ERROR_REPLY;
                }
                int r = sd_bus_process(c->bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(c->bus, 100000);
                if (r < 0) {
                        printf("disconnected: %s\n", strerror(-r));
                        return EXIT_DISCONNECTED;
                }
        }
}

/* Runs the call at argv[*i], advancing *i past its arguments. Returns an exit status. */
static int run_call(Client *c, int argc, char **argv, int *i)
{
        const char *verb = argv[*i];
        int need = strcmp(verb, "hello") == 0 ? 2
                : strcmp(verb, "challenge") == 0 ? 1
                : strcmp(verb, "waitfile") == 0  ? 2
                : strcmp(verb, "digest") == 0 || strcmp(verb, "state") == 0 || strcmp(verb, "status") == 0 ? 0
                : strcmp(verb, "merge") == 0 || strcmp(verb, "putstate") == 0 ? 3
                : strcmp(verb, "burst") == 0 ? 4
                : strcmp(verb, "stateburst") == 0 ? 1
                : -1;
        uint64_t seq = 0, n = 0;
        char *doc = NULL;
        bool owned = false;
        int r, ret;

        if (need < 0 || argc - *i - 1 < need) {
                fprintf(stderr, "peer-call: %s: %s\n", verb,
                        need < 0 ? "unknown call" : "missing arguments");
                usage(stderr);
                return EXIT_USAGE;
        }
        char **a = argv + *i + 1;
        *i += need + 1;
        if (strcmp(verb, "hello") == 0)
                return call_handshake(c, a[0], a[1]);
        if (strcmp(verb, "challenge") == 0)
                return call_handshake(c, a[0], NULL);
        if (strcmp(verb, "waitfile") == 0)
                return wait_file(c, a[0], a[1]);
        if (strcmp(verb, "digest") == 0)
                return call_simple(c, "Digest", NULL, NULL);
        if (strcmp(verb, "state") == 0)
                return call_simple(c, "GetState", NULL, NULL);
        if (strcmp(verb, "status") == 0)
                return call_status(c);

        if (strcmp(verb, "stateburst") == 0) {
                if (parse_u64(a[0], BURST_MAX, &n) < 0 || n == 0) {
                        fprintf(stderr, "peer-call: stateburst: N must be 1..%lu, not '%s'\n", BURST_MAX, a[0]);
                        return EXIT_USAGE;
                }
                return call_burst(c, n, NULL, 0, NULL);
        }
        bool burst = strcmp(verb, "burst") == 0;
        if (burst && (parse_u64(a[0], BURST_MAX, &n) < 0 || n == 0)) {
                fprintf(stderr, "peer-call: burst: N must be 1..%lu, not '%s'\n", BURST_MAX, a[0]);
                return EXIT_USAGE;
        }
        if (burst)
                a++;
        bool put = strcmp(verb, "putstate") == 0;
        if (!put && parse_u64(a[1], UINT64_MAX, &seq) < 0) {
                fprintf(stderr, "peer-call: %s: SEQ must be a whole number, not '%s'\n", verb, a[1]);
                return EXIT_USAGE;
        }
        r = load_doc(c, a[2], &doc, &owned);
        if (r < 0) {
                fprintf(stderr, "peer-call: %s: reading %s: %s\n", verb, a[2],
                        r == -EINVAL ? "it holds a NUL byte" : strerror(-r));
                return EXIT_USAGE;
        }
        ret = burst ? call_burst(c, n, a[0], seq, doc)
                : put ? call_put_state(c, a[0], a[1], doc)
                      : call_merge(c, a[0], seq, doc);
        if (owned)
                free(doc);
        return ret;
}

int main(int argc, char *argv[])
{
        Client c = {};
        const char *address;
        int i = 1, r, ret = EXIT_USAGE;

        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                usage(stdout);
                return EXIT_OK;
        }
        if (argc == 3 && strcmp(argv[1], "--genkey") == 0) {
                r = hostkey_load_file(argv[2], &c.key);
                if (r == -ENOENT) {
                        r = hostkey_generate(&c.key);
                        if (r >= 0)
                                r = hostkey_save_file(c.key, argv[2]);
                }
                if (r < 0) {
                        fprintf(stderr, "peer-call: --genkey %s: %s\n", argv[2], strerror(-r));
                        return EXIT_USAGE;
                }
                puts(hostkey_public(c.key));
                hostkey_free(c.key);
                return EXIT_OK;
        }
        if (argc == 5 && strcmp(argv[1], "--flood") == 0) {
                uint64_t n, secs;
                if (parse_u64(argv[3], 100000, &n) < 0 || n == 0 || parse_u64(argv[4], 3600, &secs) < 0) {
                        usage(stderr);
                        return EXIT_USAGE;
                }
                return flood(argv[2], n, secs);
        }
        /* Options before the address, or right after it (so that "ADDRESS --key FILE --hello ..." works). */
        address = NULL;
        while (i < argc) {
                if (argc - i > 1 && strcmp(argv[i], "--timeout") == 0) {
                        uint64_t s;
                        if (parse_u64(argv[i + 1], 3600, &s) < 0 || s == 0) {
                                fprintf(stderr, "peer-call: --timeout wants 1..3600 seconds, not '%s'\n", argv[i + 1]);
                                return EXIT_USAGE;
                        }
                        c.timeout_usec = s * 1000000;
                        i += 2;
                } else if (argc - i > 1 && strcmp(argv[i], "--key") == 0) {
                        hostkey_free(c.key);
                        c.key = NULL;
                        r = hostkey_load_file(argv[i + 1], &c.key);
                        if (r < 0) {
                                fprintf(stderr, "peer-call: --key %s: %s\n", argv[i + 1], strerror(-r));
                                return EXIT_USAGE;
                        }
                        i += 2;
                } else if (!address && argv[i][0] != '-')
                        address = argv[i++];
                else
                        break;
        }
        if (!c.key && hostkey_generate(&c.key) < 0) {
                fprintf(stderr, "peer-call: cannot make a key\n");
                return EXIT_USAGE;
        }
        if (!address || i >= argc) {
                usage(stderr);
                hostkey_free(c.key);
                return EXIT_USAGE;
        }
        bool hello = strcmp(argv[i], "--hello") == 0;
        if (hello && argc - i < 3) {
                usage(stderr);
                return EXIT_USAGE;
        }

        /* A plain peer-to-peer connection: sd_bus_new leaves bus_client off, so no bus Hello is sent. */
        r = sd_bus_new(&c.bus);
        if (r >= 0)
                r = sd_bus_set_address(c.bus, address);
        if (r >= 0)
                r = sd_bus_set_description(c.bus, "peer-call");
        if (r >= 0)
                r = sd_bus_start(c.bus);
        if (r < 0) {
                printf("disconnected: connecting to %s: %s\n", address, strerror(-r));
                sd_bus_unref(c.bus);
                hostkey_free(c.key);
                return EXIT_DISCONNECTED;
        }

        if (hello) {
                argv[i] = (char *) "hello";
        }
        while (i < argc) {
                ret = run_call(&c, argc, argv, &i);
                fflush(stdout);
                if (ret == EXIT_USAGE || ret == EXIT_DISCONNECTED)
                        break;
        }
        sd_bus_flush_close_unref(c.bus);
        free(c.stdin_doc);
        hostkey_free(c.key);
        return ret;
}
