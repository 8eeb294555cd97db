#include "graph.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "buffer.h"
#include "runtime.h"

typedef struct node {
  char *address;
  char *site;
  size_t *deps; /* indices this node depends on */
  size_t ndeps, capdeps;
} node;

struct le_graph {
  node *nodes;
  size_t len, cap;
  long *slots; /* open addressing: address -> index, -1 empty */
  size_t nslots;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

le_graph *le_graph_new(void) { return calloc(1, sizeof(le_graph)); }

void le_graph_free(le_graph *g) {
  if (!g) return;
  for (size_t i = 0; i < g->len; i++) {
    free(g->nodes[i].address);
    free(g->nodes[i].site);
    free(g->nodes[i].deps);
  }
  free(g->nodes);
  free(g->slots);
  free(g);
}

long le_graph_find(const le_graph *g, const char *address) {
  if (!g->nslots) return -1;
  for (size_t i = hash_str(address) & (g->nslots - 1);; i = (i + 1) & (g->nslots - 1)) {
    long idx = g->slots[i];
    if (idx < 0) return -1;
    if (strcmp(g->nodes[idx].address, address) == 0) return idx;
  }
}

static int rehash(le_graph *g, size_t nslots) {
  long *slots = malloc(nslots * sizeof *slots);
  if (!slots) return LE_FAIL;
  for (size_t i = 0; i < nslots; i++) slots[i] = -1;
  for (size_t n = 0; n < g->len; n++) {
    size_t i = hash_str(g->nodes[n].address) & (nslots - 1);
    while (slots[i] >= 0) i = (i + 1) & (nslots - 1);
    slots[i] = (long)n;
  }
  free(g->slots);
  g->slots = slots;
  g->nslots = nslots;
  return LE_OK;
}

int le_graph_add_node(le_graph *g, const char *address, const char *site, le_error *err) {
  long existing = le_graph_find(g, address);
  if (existing >= 0)
    return le_error_set(err, "duplicate address %s: declared at %s and again at %s", address,
                        g->nodes[existing].site, site);
  node *nodes = le_array_grow(g->nodes, &g->cap, g->len, sizeof *nodes, 16);
  if (!nodes) return le_error_set(err, "out of memory");
  g->nodes = nodes;
  node *n = &g->nodes[g->len];
  memset(n, 0, sizeof *n);
  n->address = strdup(address);
  n->site = strdup(site ? site : "?");
  if (!n->address || !n->site) {
    free(n->address);
    free(n->site);
    return le_error_set(err, "out of memory");
  }
  g->len++;
  if (g->len * 2 > g->nslots && rehash(g, g->nslots ? g->nslots * 2 : 32) != LE_OK) {
    g->len--;
    free(n->address);
    free(n->site);
    return le_error_set(err, "out of memory");
  }
  if (g->nslots && le_graph_find(g, address) < 0) { /* the node is new: insert it */
    size_t i = hash_str(address) & (g->nslots - 1);
    while (g->slots[i] >= 0) i = (i + 1) & (g->nslots - 1);
    g->slots[i] = (long)(g->len - 1);
  }
  return LE_OK;
}

int le_graph_add_edge(le_graph *g, const char *from, const char *to, le_error *err) {
  long f = le_graph_find(g, from), t = le_graph_find(g, to);
  if (f < 0) return le_error_set(err, "unknown resource %s", from);
  if (t < 0) return le_error_set(err, "%s depends on %s, which is not declared", from, to);
  node *n = &g->nodes[f];
  for (size_t i = 0; i < n->ndeps; i++)
    if (n->deps[i] == (size_t)t) return LE_OK;
  size_t *deps = le_array_grow(n->deps, &n->capdeps, n->ndeps, sizeof *deps, 4);
  if (!deps) return le_error_set(err, "out of memory");
  n->deps = deps;
  n->deps[n->ndeps++] = (size_t)t;
  return LE_OK;
}

size_t le_graph_count(const le_graph *g) { return g->len; }
const char *le_graph_address(const le_graph *g, size_t index) {
  return index < g->len ? g->nodes[index].address : NULL;
}

/* Finds one cycle among the nodes not yet ordered and describes it in err. */
static int report_cycle(const le_graph *g, const unsigned char *done, le_error *err) {
  /* colour: 0 unvisited, 1 on the current path, 2 finished */
  unsigned char *colour = calloc(g->len, 1);
  size_t *path = malloc(g->len * sizeof *path), *cursor = calloc(g->len, sizeof *cursor);
  if (!colour || !path || !cursor) {
    free(colour);
    free(path);
    free(cursor);
    return le_error_set(err, "dependency cycle (out of memory describing it)");
  }
  for (size_t start = 0; start < g->len; start++) {
    if (done[start] || colour[start]) continue;
    size_t depth = 0;
    path[depth++] = start;
    colour[start] = 1;
    while (depth > 0) {
      size_t v = path[depth - 1];
      if (cursor[v] < g->nodes[v].ndeps) {
        size_t w = g->nodes[v].deps[cursor[v]++];
        if (done[w] || colour[w] == 2) continue;
        if (colour[w] == 1) {
          size_t first = 0;
          while (path[first] != w) first++;
          err->code = "EINVAL";
          int n = snprintf(err->message, sizeof err->message, "dependency cycle between %zu resources: ",
                           depth - first);
          for (size_t i = first; i < depth && n > 0 && (size_t)n < sizeof err->message; i++)
            n += snprintf(err->message + n, sizeof err->message - (size_t)n, "%s (%s) -> ",
                          g->nodes[path[i]].address, g->nodes[path[i]].site);
          if (n > 0 && (size_t)n < sizeof err->message)
            snprintf(err->message + n, sizeof err->message - (size_t)n, "%s", g->nodes[w].address);
          free(colour);
          free(path);
          free(cursor);
          return LE_FAIL;
        }
        colour[w] = 1;
        path[depth++] = w;
      } else {
        colour[v] = 2;
        depth--;
      }
    }
  }
  free(colour);
  free(path);
  free(cursor);
  return le_error_set(err, "dependency cycle");
}

int le_graph_order(const le_graph *g, size_t *order, le_error *err) {
  size_t n = g->len;
  size_t *pending = calloc(n ? n : 1, sizeof *pending); /* unfinished dependencies per node */
  size_t *rev_count = calloc(n + 1, sizeof *rev_count);
  size_t *rev = NULL;
  unsigned char *done = calloc(n ? n : 1, 1);
  size_t total = 0, produced = 0, head = 0;
  int rc = LE_OK;
  if (!pending || !rev_count || !done) goto oom;
  for (size_t i = 0; i < n; i++) {
    pending[i] = g->nodes[i].ndeps;
    total += g->nodes[i].ndeps;
    for (size_t d = 0; d < g->nodes[i].ndeps; d++) rev_count[g->nodes[i].deps[d] + 1]++;
  }
  /* CSR layout of dependents: rev[rev_count[v] .. rev_count[v+1]) */
  for (size_t i = 0; i < n; i++) rev_count[i + 1] += rev_count[i];
  rev = malloc((total ? total : 1) * sizeof *rev);
  size_t *fill = calloc(n ? n : 1, sizeof *fill);
  if (!rev || !fill) {
    free(fill);
    goto oom;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t d = 0; d < g->nodes[i].ndeps; d++) {
      size_t dep = g->nodes[i].deps[d];
      rev[rev_count[dep] + fill[dep]++] = i;
    }
  free(fill);
  for (size_t i = 0; i < n; i++)
    if (pending[i] == 0) order[produced++] = i;
  while (head < produced) {
    size_t v = order[head++];
    done[v] = 1;
    for (size_t k = rev_count[v]; k < rev_count[v + 1]; k++)
      if (--pending[rev[k]] == 0) order[produced++] = rev[k];
  }
  if (produced != n) rc = report_cycle(g, done, err);
  goto out;
oom:
  rc = le_error_set(err, "out of memory ordering the graph");
out:
  free(pending);
  free(rev_count);
  free(rev);
  free(done);
  return rc;
}

static int dot_quoted(le_buffer *out, const char *s) {
  int rc = le_buffer_append(out, "\"", 1);
  for (; *s && rc == LE_OK; s++) {
    if (*s == '"' || *s == '\\') rc = le_buffer_append(out, "\\", 1);
    if (rc == LE_OK) rc = le_buffer_append(out, s, 1);
  }
  return rc == LE_OK ? le_buffer_append(out, "\"", 1) : rc;
}

int le_graph_dot(const le_graph *g, le_buffer *out) {
  const char *head = "digraph lambdaeng {\n  rankdir = \"RL\";\n  node [shape = \"box\"];\n";
  int rc = le_buffer_append(out, head, strlen(head));
  for (size_t i = 0; i < g->len && rc == LE_OK; i++) {
    rc = le_buffer_append(out, "  ", 2);
    if (rc == LE_OK) rc = dot_quoted(out, g->nodes[i].address);
    if (rc == LE_OK) rc = le_buffer_append(out, ";\n", 2);
  }
  for (size_t i = 0; i < g->len && rc == LE_OK; i++)
    for (size_t d = 0; d < g->nodes[i].ndeps && rc == LE_OK; d++) {
      rc = le_buffer_append(out, "  ", 2);
      if (rc == LE_OK) rc = dot_quoted(out, g->nodes[i].address);
      if (rc == LE_OK) rc = le_buffer_append(out, " -> ", 4);
      if (rc == LE_OK) rc = dot_quoted(out, g->nodes[g->nodes[i].deps[d]].address);
      if (rc == LE_OK) rc = le_buffer_append(out, ";\n", 2);
    }
  if (rc == LE_OK) rc = le_buffer_append(out, "}\n", 2);
  return rc;
}

/* Lua binding: lambdaeng.native.graph.new() -> graph userdata. Methods return
 * true or nil, message (errors are values); only misuse raises. */

#define GRAPH_MT "lambdaeng.graph"

static le_graph *check_graph(lua_State *L) {
  le_graph **p = luaL_checkudata(L, 1, GRAPH_MT);
  if (!*p) luaL_error(L, "graph already freed");
  return *p;
}

static int fail_value(lua_State *L, const le_error *err) { return le_push_error(L, err); }

static int l_new(lua_State *L) {
  le_graph **p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = NULL;
  luaL_setmetatable(L, GRAPH_MT);
  *p = le_graph_new();
  if (!*p) return luaL_error(L, "out of memory");
  return 1;
}

static int l_gc(lua_State *L) {
  le_graph **p = luaL_checkudata(L, 1, GRAPH_MT);
  le_graph_free(*p);
  *p = NULL;
  return 0;
}

static int l_add(lua_State *L) {
  le_graph *g = check_graph(L);
  le_error err;
  if (le_graph_add_node(g, luaL_checkstring(L, 2), luaL_optstring(L, 3, "?"), &err) != LE_OK)
    return fail_value(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_edge(lua_State *L) {
  le_graph *g = check_graph(L);
  le_error err;
  if (le_graph_add_edge(g, luaL_checkstring(L, 2), luaL_checkstring(L, 3), &err) != LE_OK)
    return fail_value(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_order(lua_State *L) {
  le_graph *g = check_graph(L);
  size_t n = le_graph_count(g);
  size_t *order = malloc((n ? n : 1) * sizeof *order);
  if (!order) return luaL_error(L, "out of memory");
  le_error err;
  if (le_graph_order(g, order, &err) != LE_OK) {
    free(order);
    return fail_value(L, &err);
  }
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, g->nodes[order[i]].address);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  free(order);
  return 1;
}

static int l_dependencies(lua_State *L) {
  le_graph *g = check_graph(L);
  long i = le_graph_find(g, luaL_checkstring(L, 2));
  if (i < 0) return luaL_argerror(L, 2, "unknown address");
  lua_createtable(L, (int)g->nodes[i].ndeps, 0);
  for (size_t d = 0; d < g->nodes[i].ndeps; d++) {
    lua_pushstring(L, g->nodes[g->nodes[i].deps[d]].address);
    lua_rawseti(L, -2, (lua_Integer)d + 1);
  }
  return 1;
}

static int l_dot(lua_State *L) {
  le_graph *g = check_graph(L);
  le_buffer out = {0};
  if (le_graph_dot(g, &out) != LE_OK) {
    le_buffer_free(&out);
    return luaL_error(L, "out of memory");
  }
  lua_pushlstring(L, (const char *)out.data, out.len);
  le_buffer_free(&out);
  return 1;
}

static int l_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)le_graph_count(check_graph(L)));
  return 1;
}

int le_open_graph(lua_State *L) {
  static const luaL_Reg methods[] = {{"add", l_add},     {"edge", l_edge},
                                     {"order", l_order}, {"dependencies", l_dependencies},
                                     {"dot", l_dot},     {"count", l_count},
                                     {NULL, NULL}};
  le_new_class(L, GRAPH_MT, methods, l_gc);
  lua_newtable(L);
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "new");
  return 1;
}
