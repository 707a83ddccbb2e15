/* libFuzzer target: what a peer sends in the handshake (Challenge, Hello) and what a host key file may hold.
 *
 * Input: ROLE (1 byte) CLIENT-NONCE (32) SERVER-NONCE (32) SIGNATURE (64), then text lines
 * CLIENT-HOST\nSERVER-HOST\nPUBLIC-KEY\n and the rest, which is also tried as a key file (PEM). Short inputs
 * are padded with zeros.
 *
 * Checks:
 * - hostkey_public_check accepts exactly "ed25519:" and 64 lowercase hex digits;
 * - handshake_verify answers 0, -EBADMSG or -EINVAL, -EINVAL exactly for a malformed public key, and never
 *   accepts the fuzzed signature under a key the fuzzer does not hold (a forgery);
 * - a signature made with a fixed key over the fuzzed transcript verifies, and stops verifying when one bit
 *   of it, the role, a host id or a nonce changes;
 * - a key file either loads into a key whose public form is well-formed, or is refused with an errno. */
#include <unistd.h>

#include "fuzz.h"
#include "peer/hostkey.h"

#define HEAD (1 + 2 * HANDSHAKE_NONCE_LEN + HOSTKEY_SIG_LEN)

static HostKey *fixed;

static bool public_ok(const char *s)
{
        if (strlen(s) != HOSTKEY_PUBLIC_LEN || strncmp(s, "ed25519:", 8) != 0)
                return false;
        for (const char *p = s + 8; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* The next line of the text part, NUL-terminated in place (the text is a private copy). */
static char *next_line(char **p)
{
        char *s = *p, *nl = strchr(s, '\n');

        if (nl) {
                *nl = '\0';
                *p = nl + 1;
        } else
                *p = s + strlen(s);
        return s;
}

static void try_key_file(const char *data, size_t len)
{
        static char path[64];
        HostKey *k = NULL;

        if (!path[0])
                snprintf(path, sizeof path, "%s/fuzz-handshake-key.%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                        (long) getpid());
        FILE *f = fopen(path, "w");
        FUZZ_CHECK(f, "%s: %s", path, strerror(errno));
        FUZZ_CHECK(fwrite(data, 1, len, f) == len && fclose(f) == 0, "writing %s", path);
        int r = hostkey_load_file(path, &k);
        if (r >= 0) {
                FUZZ_CHECK(k, "loaded without a key");
                FUZZ_CHECK(public_ok(hostkey_public(k)), "loaded key's public form %s", hostkey_public(k));
                hostkey_free(k);
        } else {
                FUZZ_CHECK(!k, "refused (%d) but returned a key", r);
                FUZZ_CHECK(r == -EINVAL || r == -EFBIG || r == -ENOMEM || r == -EIO, "key file refused with %d", r);
        }
        (void) unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t head[HEAD] = { 0 }, sig[HOSTKEY_SIG_LEN];
        const uint8_t *cn = head + 1, *sn = head + 1 + HANDSHAKE_NONCE_LEN;

        if (!fixed)
                FUZZ_CHECK(hostkey_generate(&fixed) == 0, "generating the fixed key");
        memcpy(head, data, size < HEAD ? size : HEAD);
        size_t tlen = size > HEAD ? size - HEAD : 0;
        char *text = fuzz_oom(malloc(tlen + 1)), *p = text;
        if (tlen)
                memcpy(text, data + HEAD, tlen);
        text[tlen] = '\0';
        const char *client = next_line(&p), *server = next_line(&p), *public = next_line(&p);
        HandshakeRole role = head[0] & 1 ? HANDSHAKE_CLIENT : HANDSHAKE_SERVER;
        HandshakeRole other = role == HANDSHAKE_CLIENT ? HANDSHAKE_SERVER : HANDSHAKE_CLIENT;
        const uint8_t *fsig = head + 1 + 2 * HANDSHAKE_NONCE_LEN;

        FUZZ_CHECK((hostkey_public_check(public) == 0) == public_ok(public), "public key check disagrees: %s",
                public);
        int r = handshake_verify(public, role, client, server, cn, sn, fsig, HOSTKEY_SIG_LEN);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EINVAL, "verify gave %d", r);
        FUZZ_CHECK(public_ok(public) || r == -EINVAL, "verify gave %d for public key %s", r, public);
        r = handshake_verify(public, role, client, server, cn, sn, fsig, head[0] >> 1);
        FUZZ_CHECK(r != 0 || (head[0] >> 1) == HOSTKEY_SIG_LEN, "a %u-byte signature verified", head[0] >> 1);

        const char *fpub = hostkey_public(fixed);
        r = handshake_sign(fixed, role, client, server, cn, sn, sig);
        if (r < 0) {
                /* Only host ids longer than any valid one are refused. */
                FUZZ_CHECK(r == -EINVAL && (strlen(client) > DLR_NAME_MAX || strlen(server) > DLR_NAME_MAX),
                        "sign gave %d for %zu- and %zu-byte host ids", r, strlen(client), strlen(server));
                FUZZ_CHECK(handshake_verify(fpub, role, client, server, cn, sn, fsig, HOSTKEY_SIG_LEN) < 0,
                        "verified a transcript that cannot be signed");
        } else {
                FUZZ_CHECK(handshake_verify(fpub, role, client, server, cn, sn, sig, sizeof sig) == 0,
                        "own signature does not verify");
                FUZZ_CHECK(memcmp(sig, fsig, sizeof sig) == 0 ||
                                handshake_verify(fpub, role, client, server, cn, sn, fsig, HOSTKEY_SIG_LEN) == -EBADMSG,
                        "a forged signature verified");
                FUZZ_CHECK(handshake_verify(fpub, other, client, server, cn, sn, sig, sizeof sig) == -EBADMSG,
                        "a signature verified for the other role");
                if (strcmp(client, server) != 0)
                        FUZZ_CHECK(handshake_verify(fpub, role, server, client, cn, sn, sig, sizeof sig) == -EBADMSG,
                                "a signature verified with the host ids swapped");
                if (memcmp(cn, sn, HANDSHAKE_NONCE_LEN) != 0)
                        FUZZ_CHECK(handshake_verify(fpub, role, client, server, sn, cn, sig, sizeof sig) == -EBADMSG,
                                "a signature verified with the nonces swapped");
                size_t bit = (size_t) (head[1] ^ (head[2] << 8)) % (HOSTKEY_SIG_LEN * 8);
                sig[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                FUZZ_CHECK(handshake_verify(fpub, role, client, server, cn, sn, sig, sizeof sig) == -EBADMSG,
                        "a signature with bit %zu flipped verified", bit);
        }

        try_key_file(p, strlen(p));
        free(text);
        return 0;
}
