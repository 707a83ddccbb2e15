/* libFuzzer target: peer_address_parse and peer_address_to_bus, which every member address passes (AddPeer,
 * --peer-address, member records from peers) before this host connects to it.
 *
 * The input is ADDRESS[\nSSH_CONFIG]. A refusal must give a reason. What is accepted must be plain
 * printable ASCII of one of the two grammars, and the sd-bus address built from it, decoded the way sd-bus
 * decodes one, must be exactly the input (unix:) or exactly the fixed ssh command line (ssh:) carrying the
 * parsed user, host and port and the given configuration file, with nothing after "--" but the host. */
#include "fuzz.h"
#include "state/peer-address.h"

static int unhex(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes one value up to ',' or the end, as sd-bus's parse_address_key does; NULL on a bad escape. */
static char *decode(const char **p)
{
        char *out = fuzz_oom(malloc(strlen(*p) + 1));
        size_t n = 0;
        const char *a = *p;

        while (*a && *a != ',' && *a != ';') {
                if (*a == '%') {
                        int x = unhex(a[1]), y = x < 0 ? -1 : unhex(a[2]);
                        if (x < 0 || y < 0) {
                                free(out);
                                return NULL;
                        }
                        out[n++] = (char) (x << 4 | y);
                        a += 3;
                } else
                        out[n++] = *a++;
        }
        out[n] = 0;
        if (*a == ',')
                a++;
        *p = a;
        return out;
}

static void check_ssh(const char *bus, const PeerAddress *a, const char *config)
{
        const char *p = bus, *want[24];
        char *argv[24] = {}, port[8];
        size_t n = 0, w = 0;
        char *path;

        FUZZ_CHECK(!strchr(bus, ';'), "built address has a ';': %s", bus);
        FUZZ_CHECK(strncmp(p, "unixexec:path=", 14) == 0, "not unixexec: %s", bus);
        p += 14;
        path = decode(&p);
        FUZZ_CHECK(path && strcmp(path, DLRD_SSH) == 0, "path is not ssh: %s", bus);
        free(path);
        while (*p) {
                char *end;
                unsigned long i;

                FUZZ_CHECK(strncmp(p, "argv", 4) == 0, "key other than argvN: %s", p);
                i = strtoul(p + 4, &end, 10);
                FUZZ_CHECK(*end == '=' && i == n && n < ELEMENTSOF(argv), "argv keys out of order: %s", bus);
                p = end + 1;
                argv[n] = decode(&p);
                FUZZ_CHECK(argv[n], "bad escape in %s", bus);
                n++;
        }

        want[w++] = "ssh";
        want[w++] = "-F";
        want[w++] = config ? config : "none";
        want[w++] = "-T";
        want[w++] = "-x";
        want[w++] = "-a";
        want[w++] = "-o";
        want[w++] = "BatchMode=yes";
        if (a->port) {
                snprintf(port, sizeof port, "%u", (unsigned) a->port);
                want[w++] = "-p";
                want[w++] = port;
        }
        if (a->user[0]) {
                want[w++] = "-l";
                want[w++] = a->user;
        }
        want[w++] = "--";
        want[w++] = a->host;
        FUZZ_CHECK(n == w, "%zu arguments, expected %zu: %s", n, w, bus);
        for (size_t i = 0; i < n; i++)
                FUZZ_CHECK(strcmp(argv[i], want[i]) == 0, "argv%zu is [%s], expected [%s]", i, argv[i], want[i]);
        FUZZ_CHECK(a->host[0] != '-' && a->user[0] != '-', "an option after --: %s", bus);
        for (size_t i = 0; i < n; i++)
                free(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *in = fuzz_cstr(data, size), *f[2] = {}, *bus = NULL;
        const char *why = "unset", *config;
        PeerAddress a;
        size_t nf = fuzz_split(in, '\n', f, 2);
        int r;

        config = nf > 1 && f[1][0] ? f[1] : NULL;
        memset(&a, 0xaa, sizeof a);
        r = peer_address_parse(f[0], &a, &why);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL && why && strncmp(why, "invalid peer bus address", 24) == 0,
                        "refusal %d without a reason", r);
                free(in);
                return 0;
        }
        FUZZ_CHECK(!why, "accepted with a reason: %s", why);
        for (const char *p = f[0]; *p; p++)
                FUZZ_CHECK(*p > 0x20 && *p < 0x7f && *p != ',' && *p != ';' && *p != '%',
                        "accepted a byte 0x%02x: %s", (unsigned char) *p, f[0]);
        FUZZ_CHECK(strlen(f[0]) <= PEER_ADDRESS_MAX, "accepted %zu bytes", strlen(f[0]));

        r = peer_address_to_bus(&a, config, &bus);
        if (config) {
                const char *cwhy;
                FUZZ_CHECK((r == 0) == (peer_ssh_config_check(config, &cwhy) == 0), "config %s: %d", config, r);
        } else
                FUZZ_CHECK(r == 0, "to_bus without a config: %d", r);
        if (r < 0) {
                free(in);
                return 0;
        }
        if (a.kind == PEER_ADDRESS_UNIX) {
                FUZZ_CHECK(strncmp(f[0], "unix:path=/", 11) == 0, "unix without a path: %s", f[0]);
                FUZZ_CHECK(strcmp(bus, f[0]) == 0, "unix address rebuilt as %s from %s", bus, f[0]);
        } else {
                FUZZ_CHECK(a.kind == PEER_ADDRESS_SSH && strncmp(f[0], "ssh:", 4) == 0, "kind %d", a.kind);
                check_ssh(bus, &a, config);
        }
        free(bus);
        free(in);
        return 0;
}
