/* Runs a command and reports its peak RSS, wall time, the most sockets it held open at
 * once and the CPU time it used (user + system, its waited-for children included):
 * "maxrss_kb wall_seconds peak_sockets cpu_seconds" on the file descriptor named
 * by MEASURE_FD (default 3). A small launcher, because Linux carries the parent's
 * RSS high-water mark into a forked child across exec: measured straight from the
 * Python harness, every tool would show its RSS. Sockets are counted every 10 ms
 * from /proc/PID/fd (links named "socket:[...]") when MEASURE_SOCKETS is set
 * (connection pools keep their sockets open for the run, so the sample sees their
 * peak); otherwise the launcher just waits, so start-up times stay exact. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int count_sockets(pid_t pid) {
  char dir_path[64], link_path[320], target[64];
  snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", (int)pid);
  DIR *dir = opendir(dir_path);
  if (!dir) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(link_path, sizeof link_path, "%s/%s", dir_path, e->d_name);
    ssize_t len = readlink(link_path, target, sizeof target - 1);
    if (len > 0) {
      target[len] = '\0';
      if (strncmp(target, "socket:", 7) == 0) n++;
    }
  }
  closedir(dir);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int status = 0, peak_sockets = 0;
  struct rusage ru;
  const struct timespec tick = {0, 10 * 1000 * 1000};
  int sample = getenv("MEASURE_SOCKETS") != NULL;
  for (;;) {
    pid_t done = wait4(pid, &status, sample ? WNOHANG : 0, &ru);
    if (done < 0) return 2;
    if (done == pid) break;
    int n = count_sockets(pid);
    if (n > peak_sockets) peak_sockets = n;
    nanosleep(&tick, NULL);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const char *fd_env = getenv("MEASURE_FD");
  FILE *out = fdopen(fd_env ? atoi(fd_env) : 3, "w");
  if (out) {
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    fprintf(out, "%ld %.6f %d %.6f\n", ru.ru_maxrss,
            (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, peak_sockets, cpu);
    fclose(out);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
