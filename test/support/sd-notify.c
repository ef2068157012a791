/* What a program's sd_notify() does: one datagram (argv[1]) to $NOTIFY_SOCKET. Built static
   by the tests (notify-socket.test.ts) and for the guests (scripts/guests/boot.ts). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
  const char *p = getenv("NOTIFY_SOCKET");
  if (!p || argc < 2) return 2;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, p, sizeof a.sun_path - 1);
  return sendto(fd, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, sizeof a) < 0 ? 1 : 0;
}
