/* Vectors of changes seen; see seen.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seen.h"
#include "shared/cleanup.h"
#include "state/config.h"

void seen_clear(SeenVec *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i].host);
        free(s->v);
        *s = (SeenVec) {};
}

SeqSeen *seen_find(const SeenVec *s, const char *host)
{
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->v[i].host, host))
                        return &s->v[i];
        return NULL;
}

uint64_t seen_get(const SeenVec *s, const char *host)
{
        const SeqSeen *e = seen_find(s, host);
        return e ? e->seq : 0;
}

SeqSeen *seen_for(SeenVec *s, const char *host)
{
        SeqSeen *e = seen_find(s, host);
        if (e)
                return e;
        SeqSeen *n = realloc(s->v, (s->n + 1) * sizeof(SeqSeen));
        if (!n)
                return NULL;
        s->v = n;
        n[s->n] = (SeqSeen) { .host = strdup(host) };
        if (!n[s->n].host)
                return NULL;
        return &n[s->n++];
}

int seen_raise(SeenVec *s, const char *host, uint64_t seq)
{
        SeqSeen *e = seen_for(s, host);
        if (!e)
                return -ENOMEM;
        e->seq = MAX(e->seq, seq);
        return 0;
}

bool seen_covers(const SeenVec *a, const SeenVec *b)
{
        for (size_t i = 0; i < b->n; i++)
                if (seen_get(a, b->v[i].host) < b->v[i].seq)
                        return false;
        return true;
}

int seen_append(sd_bus_message *m, const SeenVec *s)
{
        int r = sd_bus_message_open_container(m, 'a', "(st)");
        for (size_t i = 0; r >= 0 && i < s->n; i++)
                r = sd_bus_message_append(m, "(st)", s->v[i].host, s->v[i].seq);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

int seen_read(sd_bus_message *m, SeenVec *ret)
{
        SeenVec s = {};
        const char *host;
        uint64_t seq;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(st)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(st)", &host, &seq)) > 0) {
                if (s.n >= SEEN_MAX || dlr_name_check(host) < 0 || seen_find(&s, host))
                        r = -EBADMSG;
                else
                        r = seen_raise(&s, host, seq);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                seen_clear(&s);
                return r;
        }
        *ret = s;
        return 0;
}

bool seen_difference_is_real(bool suspect, const SeenVec *mine_then, const SeenVec *theirs_then, const SeenVec *mine,
                const SeenVec *theirs)
{
        if (!suspect)
                return false;
        if (!seen_covers(mine, theirs_then) || !seen_covers(theirs, mine_then))
                return true;
        return seen_covers(mine, theirs) && seen_covers(theirs, mine) && seen_covers(mine_then, theirs_then) &&
                seen_covers(theirs_then, mine_then);
}

