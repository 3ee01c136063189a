/*
 * The floor of UDP relaying cost in C, for bench/turn/dgram-floor.ts: N times, send one datagram of SIZE
 * bytes from socket A to socket B on 127.0.0.1 and receive it (blocking sendto + recvfrom, no event loop).
 * Prints the process CPU time (user, system) in microseconds. Usage: dgram-floor N SIZE
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 100000;
  int size = argc > 2 ? atoi(argv[2]) : 200;
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {0};
  socklen_t len = sizeof addr;
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(b, (struct sockaddr *)&addr, sizeof addr) != 0 || getsockname(b, (struct sockaddr *)&addr, &len) != 0) return 1;
  char buffer[65536] = {0};
  for (long i = 0; i < count; i++) {
    if (sendto(a, buffer, size, 0, (struct sockaddr *)&addr, sizeof addr) != size) return 2;
    if (recvfrom(b, buffer, sizeof buffer, 0, NULL, NULL) != size) return 3;
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  printf("%ld %ld\n", usage.ru_utime.tv_sec * 1000000L + usage.ru_utime.tv_usec, usage.ru_stime.tv_sec * 1000000L + usage.ru_stime.tv_usec);
  return 0;
}
