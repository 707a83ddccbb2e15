/* Every host's own Ed25519 key pair, and the challenge-response that opens every peer connection: each side
 * signs both host ids and both sides' fresh nonces, so a signature proves the holder of the member's key is
 * at the other end of this very exchange, and cannot be replayed to another host or on another connection. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HOSTKEY_FILE "host.key"
#define HOSTKEY_SIG_LEN 64u
#define HANDSHAKE_NONCE_LEN 32u
/* "ed25519:" and 64 lowercase hex digits: the form of a public key in member records and on the bus. */
#define HOSTKEY_PUBLIC_LEN 72u

typedef struct HostKey HostKey;

/* Loads dir/host.key, or creates it (PKCS#8 PEM, mode 0600, written to a temporary file, synced and renamed)
 * when there is none. A key file that is not an Ed25519 private key, or that others may read, is refused
 * with -EINVAL or -EPERM: dlrd never signs with a key someone else may have copied. */
int hostkey_load_or_create(const char *dir, HostKey **ret);
/* Loads a private key from a PEM file (any mode: for test clients). */
int hostkey_load_file(const char *path, HostKey **ret);
/* A fresh key pair, kept in memory only. */
int hostkey_generate(HostKey **ret);
/* Writes k's private part to path (mode 0600, O_EXCL). */
int hostkey_save_file(const HostKey *k, const char *path);
HostKey *hostkey_free(HostKey *k);
void hostkey_freep(HostKey **k);

/* The public key in its textual form (HOSTKEY_PUBLIC_LEN characters). */
const char *hostkey_public(const HostKey *k);

/* Whether s is a public key in the textual form: 0 or -EINVAL. */
int hostkey_public_check(const char *s);

typedef enum HandshakeRole {
        HANDSHAKE_SERVER, /* the side that accepted the connection: signs first */
        HANDSHAKE_CLIENT, /* the side that connected */
} HandshakeRole;

/* Signs the transcript (role, client host, server host, client nonce, server nonce). */
int handshake_sign(const HostKey *k, HandshakeRole role, const char *client, const char *server,
                const uint8_t client_nonce[HANDSHAKE_NONCE_LEN], const uint8_t server_nonce[HANDSHAKE_NONCE_LEN],
                uint8_t ret_sig[HOSTKEY_SIG_LEN]);
/* 0 when sig is public's signature of that transcript; -EBADMSG when it is not, or is not 64 bytes; -EINVAL
 * when public is not a public key. */
int handshake_verify(const char *public, HandshakeRole role, const char *client, const char *server,
                const uint8_t client_nonce[HANDSHAKE_NONCE_LEN], const uint8_t server_nonce[HANDSHAKE_NONCE_LEN],
                const void *sig, size_t sig_len);

/* HANDSHAKE_NONCE_LEN random bytes from the kernel: 0 or a negative errno. */
int handshake_nonce(uint8_t ret[HANDSHAKE_NONCE_LEN]);
