#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph.h"

static size_t position(const le_graph *g, const size_t *order, const char *addr) {
  for (size_t i = 0; i < le_graph_count(g); i++)
    if (strcmp(le_graph_address(g, order[i]), addr) == 0) return i;
  fail_msg("%s not in order", addr);
  return 0;
}

static void orders_dependencies_first(void **state) {
  (void)state;
  le_graph *g = le_graph_new();
  le_error err;
  assert_int_equal(le_graph_add_node(g, "invocation.seed", "s.lua:10", &err), LE_OK);
  assert_int_equal(le_graph_add_node(g, "func.hello", "s.lua:3", &err), LE_OK);
  assert_int_equal(le_graph_add_node(g, "action.warm", "s.lua:20", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "invocation.seed", "func.hello", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "action.warm", "invocation.seed", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "action.warm", "func.hello", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "action.warm", "func.hello", &err), LE_OK); /* duplicate: ignored */
  size_t order[3];
  assert_int_equal(le_graph_order(g, order, &err), LE_OK);
  assert_true(position(g, order, "func.hello") < position(g, order, "invocation.seed"));
  assert_true(position(g, order, "invocation.seed") < position(g, order, "action.warm"));
  le_graph_free(g);
}

static void independent_nodes_keep_declaration_order(void **state) {
  (void)state;
  le_graph *g = le_graph_new();
  le_error err;
  const char *names[] = {"func.c", "func.a", "func.b"};
  for (int i = 0; i < 3; i++) assert_int_equal(le_graph_add_node(g, names[i], "x:1", &err), LE_OK);
  size_t order[3];
  assert_int_equal(le_graph_order(g, order, &err), LE_OK);
  for (int i = 0; i < 3; i++) assert_string_equal(le_graph_address(g, order[i]), names[i]);
  le_graph_free(g);
}

static void duplicate_names_both_sites(void **state) {
  (void)state;
  le_graph *g = le_graph_new();
  le_error err;
  assert_int_equal(le_graph_add_node(g, "func.hello", "stack.lua:3", &err), LE_OK);
  assert_int_equal(le_graph_add_node(g, "func.hello", "stack.lua:9", &err), LE_FAIL);
  assert_non_null(strstr(err.message, "func.hello"));
  assert_non_null(strstr(err.message, "stack.lua:3"));
  assert_non_null(strstr(err.message, "stack.lua:9"));
  le_graph_free(g);
}

static void cycle_names_every_member(void **state) {
  (void)state;
  le_graph *g = le_graph_new();
  le_error err;
  const char *names[] = {"func.outside", "func.a", "invocation.b", "action.c"};
  for (int i = 0; i < 4; i++) assert_int_equal(le_graph_add_node(g, names[i], "s.lua:1", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "func.a", "invocation.b", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "invocation.b", "action.c", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "action.c", "func.a", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "func.a", "func.outside", &err), LE_OK);
  size_t order[4];
  assert_int_equal(le_graph_order(g, order, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "cycle"));
  assert_non_null(strstr(err.message, "func.a"));
  assert_non_null(strstr(err.message, "invocation.b"));
  assert_non_null(strstr(err.message, "action.c"));
  assert_null(strstr(err.message, "func.outside"));
  le_graph_free(g);
}

static void self_edge_is_a_cycle(void **state) {
  (void)state;
  le_graph *g = le_graph_new();
  le_error err;
  assert_int_equal(le_graph_add_node(g, "func.a", "s.lua:1", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "func.a", "func.a", &err), LE_OK);
  size_t order[1];
  assert_int_equal(le_graph_order(g, order, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "func.a"));
  le_graph_free(g);
}

static void edge_to_undeclared_fails(void **state) {
  (void)state;
  le_graph *g = le_graph_new();
  le_error err;
  assert_int_equal(le_graph_add_node(g, "func.a", "s.lua:1", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "func.a", "func.missing", &err), LE_FAIL);
  assert_non_null(strstr(err.message, "func.missing"));
  le_graph_free(g);
}

static void long_chain_has_no_recursion_limit(void **state) {
  (void)state;
  enum { N = 20000 };
  le_graph *g = le_graph_new();
  le_error err;
  char name[32], prev[32];
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "func.f%d", N - 1 - i);
    assert_int_equal(le_graph_add_node(g, name, "s.lua:1", &err), LE_OK);
  }
  for (int i = 1; i < N; i++) {
    snprintf(name, sizeof name, "func.f%d", i);
    snprintf(prev, sizeof prev, "func.f%d", i - 1);
    assert_int_equal(le_graph_add_edge(g, name, prev, &err), LE_OK);
  }
  size_t *order = malloc(N * sizeof *order);
  assert_int_equal(le_graph_order(g, order, &err), LE_OK);
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "func.f%d", i);
    assert_string_equal(le_graph_address(g, order[i]), name);
  }
  /* close the chain into one big cycle: still reported without recursion */
  assert_int_equal(le_graph_add_edge(g, "func.f0", "func.f19999", &err), LE_OK);
  assert_int_equal(le_graph_order(g, order, &err), LE_FAIL);
  assert_non_null(strstr(err.message, "20000 resources"));
  free(order);
  le_graph_free(g);
}

static void dot_lists_nodes_and_edges(void **state) {
  (void)state;
  le_graph *g = le_graph_new();
  le_error err;
  assert_int_equal(le_graph_add_node(g, "func.hello", "s.lua:1", &err), LE_OK);
  assert_int_equal(le_graph_add_node(g, "api/invocation.\"q\"", "s.lua:2", &err), LE_OK);
  assert_int_equal(le_graph_add_edge(g, "api/invocation.\"q\"", "func.hello", &err), LE_OK);
  le_buffer out = {0};
  assert_int_equal(le_graph_dot(g, &out), LE_OK);
  assert_int_equal(le_buffer_append(&out, "", 1), LE_OK);
  const char *text = (const char *)out.data;
  assert_non_null(strstr(text, "digraph"));
  assert_non_null(strstr(text, "\"api/invocation.\\\"q\\\"\" -> \"func.hello\";"));
  le_buffer_free(&out);
  le_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(orders_dependencies_first),
      cmocka_unit_test(independent_nodes_keep_declaration_order),
      cmocka_unit_test(duplicate_names_both_sites),
      cmocka_unit_test(cycle_names_every_member),
      cmocka_unit_test(self_edge_is_a_cycle),
      cmocka_unit_test(edge_to_undeclared_fails),
      cmocka_unit_test(long_chain_has_no_recursion_limit),
      cmocka_unit_test(dot_lists_nodes_and_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
