/* libFuzzer target: config_replay_journal, which replays the state journal's records at start.
 *
 * The input is split at '\n' into records as the daemon splits the journal file, and every record is
 * replayed (without its newline) over a fixed configuration; the daemon stops at the first bad record, the
 * target goes on so later records meet partly applied states too. A refusal must carry a documented errno
 * and a message. After every accepted record the configuration must still satisfy the model's invariants,
 * no string of the record may hold a NUL ("\u0000", which C code would silently cut the value at), and
 * replaying the same record again must change nothing ("replaying a record twice is harmless"). At the
 * end the configuration must round-trip through to_json → from_json → to_json byte-identically. */
#include "fuzz.h"

static Config *base;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        base = fuzz_base_config();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const int documented[] = { -EINVAL, -EEXIST, -EADDRINUSE, -ENOENT, -ENOMEM };
        Config *c = NULL;
        char err[512];
        int k;

        k = config_copy(base, &c);
        FUZZ_CHECK(k == 0, "config_copy: %d", k);

        for (size_t at = 0; at < size;) {
                const uint8_t *nl = memchr(data + at, '\n', size - at);
                size_t len = (nl ? (size_t) (nl - data) : size) - at;
                /* An exact-size copy so ASan catches any read past the record. */
                char *rec = fuzz_oom(malloc(len ? len : 1));
                uint64_t gen = c->generation, lamport = c->lamport;

                if (len)
                        memcpy(rec, data + at, len);
                memset(err, 'X', sizeof err);
                k = config_replay_journal(c, rec, len, err, sizeof err);
                if (k < 0) {
                        FUZZ_CHECK(fuzz_errno_documented(k, documented, ELEMENTSOF(documented)),
                                "undocumented error %d (%s)", k, memchr(err, 0, sizeof err) ? err : "?");
                        FUZZ_CHECK(memchr(err, 0, sizeof err) && err[0] != 0, "error %d without message", k);
                } else {
                        char *before = NULL, *after = NULL;
                        size_t blen = 0, alen = 0;

                        FUZZ_CHECK(k == 0, "replay returned %d", k);
                        FUZZ_CHECK(!fuzz_json_has_nul_string(rec, len),
                                "accepted a record with a NUL inside a string (cut short there)");
                        FUZZ_CHECK(c->generation >= gen && c->lamport >= lamport, "counters went backwards");
                        fuzz_check_config(c);
                        k = config_to_json(c, true, &before, &blen);
                        FUZZ_CHECK(k == 0, "config_to_json: %d", k);
                        k = config_replay_journal(c, rec, len, err, sizeof err);
                        FUZZ_CHECK(k == 0, "record accepted once, refused the second time (%d: %s)", k, err);
                        k = config_to_json(c, true, &after, &alen);
                        FUZZ_CHECK(k == 0, "config_to_json: %d", k);
                        FUZZ_CHECK(blen == alen && memcmp(before, after, blen) == 0,
                                "replaying a record twice changed it:\n  once  %s\n  twice %s", before, after);
                        free(before);
                        free(after);
                }
                free(rec);
                at += len + 1;
        }

        fuzz_check_config(c);
        free(fuzz_check_round_trip(c, "after journal replay"));
        config_free(c);
        return 0;
}
