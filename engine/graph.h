/* graph.h — the dependency graph of a stack's declarations.
 *
 * Nodes are resource addresses ("func.hello", "api/invocation.seed"), each with
 * the file:line where it was declared. An edge (from, to) says `from` depends on
 * `to`. le_graph_order returns a topological order (dependencies first; ties in
 * declaration order, so output is stable) or fails naming every resource on a
 * cycle. A duplicate address fails naming both declaration sites. */
#ifndef LAMBDAENG_GRAPH_H
#define LAMBDAENG_GRAPH_H

#include <stddef.h>

#include "buffer.h"
#include "error.h"

struct lua_State;
typedef struct le_graph le_graph;

le_graph *le_graph_new(void);
void le_graph_free(le_graph *g);

int le_graph_add_node(le_graph *g, const char *address, const char *site, le_error *err);
int le_graph_add_edge(le_graph *g, const char *from, const char *to, le_error *err);
size_t le_graph_count(const le_graph *g);
const char *le_graph_address(const le_graph *g, size_t index);
/* Index of address, or -1. */
long le_graph_find(const le_graph *g, const char *address);
/* Fills order[0..count) with node indices, dependencies before dependents. */
int le_graph_order(const le_graph *g, size_t *order, le_error *err);
/* Graphviz DOT, edges pointing from a resource to what it depends on. */
int le_graph_dot(const le_graph *g, le_buffer *out);

int le_open_graph(struct lua_State *L);

#endif
