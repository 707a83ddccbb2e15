/* Aligned text tables for dlrctl's list commands. Cells are kept as one flat array of strings, row after
 * row, so a table of a million routes is two allocations per cell and no more. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cleanup.h"
#include "table.h"

struct Table {
        size_t n_columns;
        char **cells; /* header row first */
        size_t n_cells, cap;
        size_t *width;
};

Table *table_free(Table *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->width);
        free(t);
        return NULL;
}

void table_freep(Table **t)
{
        table_free(*t);
}

Table *table_new(size_t n_columns, const char *const *headers)
{
        _cleanup_(table_freep) Table *t = calloc(1, sizeof(Table));

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->width = calloc(n_columns, sizeof(size_t));
        if (!t->width || table_add(t, headers) < 0)
                return NULL;
        return TAKE_PTR(t);
}

int table_add(Table *t, const char *const *cells)
{
        if (t->n_cells + t->n_columns > t->cap) {
                size_t cap = t->cap ? t->cap * 2 : t->n_columns * 16;
                char **v = realloc(t->cells, cap * sizeof(char *));
                if (!v)
                        return -ENOMEM;
                t->cells = v;
                t->cap = cap;
        }
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *s = cells[i] && *cells[i] ? cells[i] : "-";
                char *copy = strdup(s);

                if (!copy) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[t->n_cells + j]);
                        return -ENOMEM;
                }
                t->cells[t->n_cells + i] = copy;
                t->width[i] = MAX(t->width[i], strlen(s));
        }
        t->n_cells += t->n_columns;
        return 0;
}

void table_print(const Table *t, bool legend, FILE *f)
{
        for (size_t i = legend ? 0 : t->n_columns; i < t->n_cells; i += t->n_columns) {
                for (size_t j = 0; j < t->n_columns; j++) {
                        if (j + 1 < t->n_columns)
                                fprintf(f, "%-*s  ", (int) t->width[j], t->cells[i + j]);
                        else
                                fprintf(f, "%s\n", t->cells[i + j]);
                }
        }
}
