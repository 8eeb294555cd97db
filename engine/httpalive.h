/* httpalive.h — how the client's connections (both transports) find a peer that is gone
 * while they wait for its answer. Not by the answer's silence: a buffered Invoke says
 * nothing until its function ends (up to 15 minutes), and Lambda's response stream has no
 * heartbeat event, so a streaming function may be silent for minutes; an idle timer on
 * the bytes would cut live invocations, which cannot be retried once sent. By TCP's
 * keepalive instead, which a live peer's kernel answers whatever its function does:
 * after LE_HTTP_ALIVE_IDLE s without a segment, a probe every LE_HTTP_ALIVE_INTERVAL s,
 * and LE_HTTP_ALIVE_PROBES unanswered ones end the connection; written bytes that stay
 * unacknowledged LE_HTTP_ALIVE_MS end it too (TCP_USER_TIMEOUT, which also bounds the
 * probes). A dead peer is so found within about a minute, where before libcurl's
 * keepalive (60 s idle, 60 s interval, the kernel's 9 probes: 10 min) or libuv's (60 s,
 * 1 s, 10) and, for a request written and never acknowledged, the kernel's
 * retransmissions (~15 min) left it waiting up to its whole timeout (960 s for an
 * invocation). */
#ifndef LAMBDAENG_HTTPALIVE_H
#define LAMBDAENG_HTTPALIVE_H

#define LE_HTTP_ALIVE_IDLE 30L
#define LE_HTTP_ALIVE_INTERVAL 10L
#define LE_HTTP_ALIVE_PROBES 3
#define LE_HTTP_ALIVE_MS ((LE_HTTP_ALIVE_IDLE + LE_HTTP_ALIVE_INTERVAL * LE_HTTP_ALIVE_PROBES) * 1000)

/* Sets the options above on a TCP socket; 0, or the failing setsockopt's errno. */
int le_http_alive(int fd);

#endif
