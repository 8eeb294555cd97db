#define _GNU_SOURCE /* strcasestr */
/* A provided.* custom runtime in C for the benchmarks: it answers every event with
 * the event itself, over one kept-alive connection to the Runtime API. Small and
 * quick to start, so a thousand warm environments cost little, as a real
 * compiled runtime (AWS's C++ or Rust runtimes) would. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd = -1;
static char host[64];
static int port;

static int connect_api(void) {
  fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return connect(fd, (struct sockaddr *)&a, sizeof a);
}

static int send_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads one response: headers into hdr, body into *body (malloc'd). */
static int read_response(char *hdr, size_t cap, char **body, size_t *body_len) {
  size_t len = 0;
  char *end = NULL;
  while (!end) {
    if (len + 1 >= cap) return -1;
    ssize_t r = read(fd, hdr + len, cap - 1 - len);
    if (r <= 0) return -1;
    len += (size_t)r;
    hdr[len] = '\0';
    end = strstr(hdr, "\r\n\r\n");
  }
  size_t head = (size_t)(end + 4 - hdr);
  size_t clen = 0;
  for (char *p = hdr; p < end; p = strstr(p, "\r\n") + 2)
    if (strncasecmp(p, "Content-Length:", 15) == 0) clen = strtoul(p + 15, NULL, 10);
  *body = malloc(clen + 1);
  size_t have = len - head;
  if (have > clen) have = clen;
  memcpy(*body, hdr + head, have);
  while (have < clen) {
    ssize_t r = read(fd, *body + have, clen - have);
    if (r <= 0) return -1;
    have += (size_t)r;
  }
  (*body)[clen] = '\0';
  *body_len = clen;
  hdr[head] = '\0';
  return 0;
}

int main(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (!api || sscanf(api, "%63[^:]:%d", host, &port) != 2) return 2;
  if (connect_api() != 0) return 3;
  static char hdr[65536];
  char req[512];
  for (;;) {
    snprintf(req, sizeof req, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
    char *event;
    size_t event_len;
    if (send_all(req, strlen(req)) || read_response(hdr, sizeof hdr, &event, &event_len)) return 0;
    char id[128] = "";
    char *p = strcasestr(hdr, "Lambda-Runtime-Aws-Request-Id:");
    if (p) sscanf(p + 30, " %127[^\r\n]", id);
    int n = snprintf(req, sizeof req,
                     "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", id, api, event_len);
    char *ack;
    size_t ack_len;
    if (send_all(req, (size_t)n) || send_all(event, event_len) || read_response(hdr, sizeof hdr, &ack, &ack_len))
      return 0;
    free(event);
    free(ack);
  }
}
