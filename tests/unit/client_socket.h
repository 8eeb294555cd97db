/* client_socket.h — what the server tests' client threads share: a blocking TCP
 * connection to 127.0.0.1:port whose reads and writes give up after 60 s (a hang
 * detector, never a speed limit), with a 4 KiB receive window when asked (a client
 * that reads slowly, or not at all, holds the server's writes back sooner). */
#ifndef LAMBDAENG_CLIENT_SOCKET_H
#define LAMBDAENG_CLIENT_SOCKET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The connection's descriptor, or -1. */
static int connect_to(int port, int small_window) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval patience = {.tv_sec = 60};
  int window = 4096;
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof patience);
  if (small_window) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &window, sizeof window);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

#endif
