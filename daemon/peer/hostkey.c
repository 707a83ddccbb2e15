/* Host keys and the peer handshake's signatures, through libcrypto's Ed25519; the only file that knows it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hostkey.h"
#include "shared/cleanup.h"
#include "shared/io.h"
#include "state/config.h"

#define KEY_FILE_MAX 16384
#define RAW_LEN 32u
#define PREFIX "ed25519:"

struct HostKey {
        EVP_PKEY *pkey;
        char public[HOSTKEY_PUBLIC_LEN + 1];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);

HostKey *hostkey_free(HostKey *k)
{
        if (!k)
                return NULL;
        EVP_PKEY_free(k->pkey);
        free(k);
        return NULL;
}

void hostkey_freep(HostKey **k)
{
        hostkey_free(*k);
}

const char *hostkey_public(const HostKey *k)
{
        return k->public;
}

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 15];
        }
        out[2 * n] = '\0';
}

/* Only after hostkey_public_check(): lower case, one key one spelling, so records compare as strings. */
static int hex_value(char c)
{
        return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

int hostkey_public_check(const char *s)
{
        return s && s[0] && member_key_check(s) == 0 ? 0 : -EINVAL;
}

static int public_raw(const char *s, uint8_t raw[RAW_LEN])
{
        if (hostkey_public_check(s) < 0)
                return -EINVAL;
        const char *h = s + strlen(PREFIX);
        for (size_t i = 0; i < RAW_LEN; i++)
                raw[i] = (uint8_t) (hex_value(h[2 * i]) << 4 | hex_value(h[2 * i + 1]));
        return 0;
}

/* Takes pkey (an Ed25519 key with its private part) into a new HostKey. */
static int hostkey_wrap(EVP_PKEY *pkey, HostKey **ret)
{
        uint8_t raw[RAW_LEN];
        size_t len = sizeof raw;
        HostKey *k;

        if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 || EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 ||
                        len != RAW_LEN) {
                EVP_PKEY_free(pkey);
                return -EINVAL;
        }
        k = calloc(1, sizeof *k);
        if (!k) {
                EVP_PKEY_free(pkey);
                return -ENOMEM;
        }
        k->pkey = pkey;
        memcpy(k->public, PREFIX, strlen(PREFIX));
        hex_encode(raw, RAW_LEN, k->public + strlen(PREFIX));
        *ret = k;
        return 0;
}

int hostkey_generate(HostKey **ret)
{
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (!pkey)
                return -EIO;
        return hostkey_wrap(pkey, ret);
}

/* Key files are never encrypted: without this, OpenSSL would ask for a pass phrase on the terminal. */
static int no_pass_phrase(char *buf, int size, int rwflag, void *u)
{
        (void) buf;
        (void) size;
        (void) rwflag;
        (void) u;
        return -1;
}

static int parse_pem(const char *buf, size_t len, HostKey **ret)
{
        _cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(buf, (int) len);
        EVP_PKEY *pkey;

        if (!bio)
                return -ENOMEM;
        pkey = PEM_read_bio_PrivateKey(bio, NULL, no_pass_phrase, NULL);
        if (!pkey)
                return -EINVAL;
        return hostkey_wrap(pkey, ret);
}

static int read_key_fd(int fd, HostKey **ret)
{
        _cleanup_free_ char *buf = malloc(KEY_FILE_MAX);
        size_t len = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, KEY_FILE_MAX - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == KEY_FILE_MAX) {
                        OPENSSL_cleanse(buf, len);
                        return -EFBIG;
                }
        }
        r = parse_pem(buf, len, ret);
        OPENSSL_cleanse(buf, len);
        return r;
}

int hostkey_load_file(const char *path, HostKey **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        return read_key_fd(fd, ret);
}

static int write_key_fd(const HostKey *k, int fd)
{
        _cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long len;

        if (!bio)
                return -ENOMEM;
        if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
                return -EIO;
        len = BIO_get_mem_data(bio, &data);
        if (len <= 0)
                return -EIO;
        int r = write_all(fd, data, (size_t) len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        return r;
}

int hostkey_save_file(const HostKey *k, const char *path)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        return write_key_fd(k, fd);
}

int hostkey_load_or_create(const char *dir, HostKey **ret)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_(hostkey_freep) HostKey *k = NULL;
        struct stat st;
        char tmp[64];
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, HOSTKEY_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (!S_ISREG(st.st_mode) || (st.st_mode & 077) || st.st_uid != geteuid())
                        return -EPERM;
                return read_key_fd(fd, ret);
        }
        if (errno != ENOENT)
                return -errno;

        r = hostkey_generate(&k);
        if (r < 0)
                return r;
        snprintf(tmp, sizeof tmp, ".%s.%ld", HOSTKEY_FILE, (long) getpid());
        (void) unlinkat(dfd, tmp, 0);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_key_fd(k, fd);
        /* linkat rather than rename: two instances racing at first start must not replace each other's key. */
        if (r == 0 && linkat(dfd, tmp, dfd, HOSTKEY_FILE, 0) < 0)
                r = -errno;
        (void) unlinkat(dfd, tmp, 0);
        if (r == 0 && fsync(dfd) < 0)
                r = -errno;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

/* role \0 client \0 server \0 client-nonce server-nonce: names are at most 64 characters (dlr_name_check),
 * checked by the callers; a longer one is refused here too rather than cut. */
#define TRANSCRIPT_MAX (32 + 2 * 65 + 2 * HANDSHAKE_NONCE_LEN)

static int transcript(HandshakeRole role, const char *client, const char *server,
                const uint8_t cn[HANDSHAKE_NONCE_LEN], const uint8_t sn[HANDSHAKE_NONCE_LEN], uint8_t *out,
                size_t *ret_len)
{
        const char *label = role == HANDSHAKE_SERVER ? "dlrd1 peer server" : "dlrd1 peer client";
        size_t lc = strlen(client), ls = strlen(server), n = 0;

        if (lc > 64 || ls > 64)
                return -EINVAL;
        memcpy(out + n, label, strlen(label) + 1);
        n += strlen(label) + 1;
        memcpy(out + n, client, lc + 1);
        n += lc + 1;
        memcpy(out + n, server, ls + 1);
        n += ls + 1;
        memcpy(out + n, cn, HANDSHAKE_NONCE_LEN);
        n += HANDSHAKE_NONCE_LEN;
        memcpy(out + n, sn, HANDSHAKE_NONCE_LEN);
        n += HANDSHAKE_NONCE_LEN;
        *ret_len = n;
        return 0;
}

int handshake_sign(const HostKey *k, HandshakeRole role, const char *client, const char *server,
                const uint8_t client_nonce[HANDSHAKE_NONCE_LEN], const uint8_t server_nonce[HANDSHAKE_NONCE_LEN],
                uint8_t ret_sig[HOSTKEY_SIG_LEN])
{
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t t[TRANSCRIPT_MAX];
        size_t n, siglen = HOSTKEY_SIG_LEN;
        int r;

        if (!ctx)
                return -ENOMEM;
        r = transcript(role, client, server, client_nonce, server_nonce, t, &n);
        if (r < 0)
                return r;
        if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
                        EVP_DigestSign(ctx, ret_sig, &siglen, t, n) != 1 || siglen != HOSTKEY_SIG_LEN)
                return -EIO;
        return 0;
}

int handshake_verify(const char *public, HandshakeRole role, const char *client, const char *server,
                const uint8_t client_nonce[HANDSHAKE_NONCE_LEN], const uint8_t server_nonce[HANDSHAKE_NONCE_LEN],
                const void *sig, size_t sig_len)
{
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        uint8_t raw[RAW_LEN], t[TRANSCRIPT_MAX];
        size_t n;

        if (public_raw(public, raw) < 0)
                return -EINVAL;
        if (!sig || sig_len != HOSTKEY_SIG_LEN)
                return -EBADMSG;
        if (transcript(role, client, server, client_nonce, server_nonce, t, &n) < 0)
                return -EBADMSG;
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, RAW_LEN);
        if (!pkey)
                return -EINVAL; /* not a point on the curve */
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
                return -EIO;
        return EVP_DigestVerify(ctx, sig, sig_len, t, n) == 1 ? 0 : -EBADMSG;
}

int handshake_nonce(uint8_t ret[HANDSHAKE_NONCE_LEN])
{
        size_t got = 0;
        while (got < HANDSHAKE_NONCE_LEN) {
                ssize_t n = getrandom(ret + got, HANDSHAKE_NONCE_LEN - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t) n;
        }
        return 0;
}
