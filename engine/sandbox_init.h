/* sandbox_init.h — the first program an execution environment runs (as
 * `lambdaeng __runtime-init PORT FD -- COMMAND ARGS...`, inside the sandbox when there is one).
 *
 * It opens the environment's Runtime API endpoint where the runtime will look for it
 * (a listening TCP socket on 127.0.0.1:PORT: inside the sandbox's own network namespace,
 * so no other process can reach it; PORT 0 picks a free port and sets
 * AWS_LAMBDA_RUNTIME_API accordingly), hands the listening socket to the target over
 * the unix socket FD (SCM_RIGHTS: the target serves it, the runtime never holds it),
 * closes FD and every other descriptor above stderr (the runtime starts with 0-2 only)
 * and execs COMMAND. On failure it says why on stderr and exits 127. */
#ifndef LAMBDAENG_SANDBOX_INIT_H
#define LAMBDAENG_SANDBOX_INIT_H

int le_sandbox_init_main(int argc, char **argv);

#endif
