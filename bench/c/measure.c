/* Runs a command and reports its peak RSS and wall time: "maxrss_kb wall_seconds"
 * on the file descriptor named by MEASURE_FD (default 3). A small launcher, because
 * Linux carries the parent's RSS high-water mark into a forked child across exec:
 * measured straight from the Python harness, every tool would show its RSS. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return 2;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const char *fd_env = getenv("MEASURE_FD");
  FILE *out = fdopen(fd_env ? atoi(fd_env) : 3, "w");
  if (out) {
    fprintf(out, "%ld %.6f\n", ru.ru_maxrss, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    fclose(out);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
