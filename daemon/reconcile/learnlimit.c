/* Bounds on learning from tenant traffic: token buckets per port and LIF, a hold time per moved address. */
#include <string.h>
#include <sys/random.h>

#include "learnlimit.h"

void learn_limit_init(LearnLimit *ll, const uint64_t *seed)
{
        memset(ll, 0, sizeof *ll);
        if (seed) {
                ll->secret[0] = seed[0];
                ll->secret[1] = seed[1];
        } else if (getrandom(ll->secret, sizeof ll->secret, 0) != (ssize_t) sizeof ll->secret) {
                /* Predictable keys only let a tenant choose which limits collide; they stay limits. */
                ll->secret[0] = 0x9e3779b97f4a7c15ULL;
                ll->secret[1] = 0xbf58476d1ce4e5b9ULL;
        }
}

/* A keyed 64-bit hash of the parts, separated so that ("ab","c") and ("a","bc") differ. */
static uint64_t key_of(const LearnLimit *ll, char kind, const char *a, const char *b, const char *c)
{
        const char *parts[] = { a, b, c };
        uint64_t h = ll->secret[0] ^ (uint64_t) (unsigned char) kind;

        for (size_t i = 0; i < 3; i++) {
                for (const unsigned char *p = (const unsigned char *) (parts[i] ? parts[i] : ""); *p; p++) {
                        h ^= *p;
                        h *= 0x100000001b3ULL;
                        h ^= h >> 29;
                }
                h ^= 0xffu + i;
                h *= 0x100000001b3ULL;
        }
        h ^= ll->secret[1];
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h ? h : 1;
}

/* The slot of key in its set, or the set's free or least recently touched slot, taken over for key. */
static LearnSlot *slot_for(LearnLimit *ll, uint64_t key, bool *ret_new)
{
        LearnSlot *set = &ll->slots[(key % (LEARN_SLOTS / LEARN_WAYS)) * LEARN_WAYS], *victim = set;

        for (size_t i = 0; i < LEARN_WAYS; i++) {
                if (set[i].key == key) {
                        *ret_new = false;
                        return &set[i];
                }
                if (victim->key != 0 && (set[i].key == 0 || set[i].at < victim->at))
                        victim = &set[i];
        }
        *victim = (LearnSlot) { .key = key };
        *ret_new = true;
        return victim;
}

/* Refills a bucket for the time passed and says whether a whole token is there (without taking it). */
static bool bucket_has(LearnSlot *s, bool fresh, uint32_t burst, uint32_t per_sec, uint64_t now)
{
        uint64_t cap = (uint64_t) burst * 1000;

        if (fresh) {
                s->tokens = (uint32_t) cap;
                s->at = now;
        } else if (now > s->at) {
                uint64_t add = (now - s->at) * per_sec / 1000; /* thousandths per µs·rate */
                uint64_t t = s->tokens + add;
                s->tokens = (uint32_t) (t > cap ? cap : t);
                s->at = now;
        }
        return s->tokens >= 1000;
}

bool learn_limit_take(LearnLimit *ll, const char *router, const char *lif, const char *port, uint64_t now)
{
        bool fresh_p, fresh_l;
        LearnSlot *p = slot_for(ll, key_of(ll, 'p', port, NULL, NULL), &fresh_p);
        bool port_ok = bucket_has(p, fresh_p, LEARN_PORT_BURST, LEARN_PORT_PER_SEC, now);
        LearnSlot *l = slot_for(ll, key_of(ll, 'l', router, lif, NULL), &fresh_l);
        bool lif_ok = bucket_has(l, fresh_l, LEARN_LIF_BURST, LEARN_LIF_PER_SEC, now);

        if (!port_ok || !lif_ok) {
                ll->dropped++;
                return false;
        }
        /* The LIF's slot may have taken over the port's when they share a set: then its own token is all. */
        if (p->key == key_of(ll, 'p', port, NULL, NULL))
                p->tokens -= 1000;
        l->tokens -= 1000;
        return true;
}

bool learn_limit_move(LearnLimit *ll, const char *router, const char *lif, const char *address, uint64_t now)
{
        bool fresh;
        LearnSlot *s = slot_for(ll, key_of(ll, 'm', router, lif, address), &fresh);

        if (!fresh && now < s->at + LEARN_MOVE_HOLD_USEC) {
                ll->held++;
                return false;
        }
        s->at = now;
        return true;
}
