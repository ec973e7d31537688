// How long it takes on this machine to wake a thread: two threads pass a byte back and forth through pipes, first
// back to back (both stay hot), then after 200 µs of idleness each time (the other core may have halted). The
// thirty-ninth session's figures in the README ("placed as they come") are from it.
//
//   gcc -O2 -pthread tools/wake-latency.c -o /tmp/wake-latency && /tmp/wake-latency && taskset -c 0 /tmp/wake-latency
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int there[2], back[2];

static void *echo(void *unused) {
    char byte;
    while (read(there[0], &byte, 1) == 1 && write(back[1], &byte, 1) == 1) {}
    return unused;
}

static double micros(struct timespec from, struct timespec to) {
    return (to.tv_sec - from.tv_sec) * 1e6 + (to.tv_nsec - from.tv_nsec) / 1e3;
}

static void roundTrip(void) {
    char byte = 1;
    if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1) _exit(1);
}

int main(void) {
    pthread_t thread;
    if (pipe(there) || pipe(back) || pthread_create(&thread, 0, echo, 0)) return 1;
    for (int i = 0; i < 1000; i++) roundTrip();
    struct timespec start, end;
    int count = 20000;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < count; i++) roundTrip();
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("back to back: %.1f us a round trip (two wake-ups)\n", micros(start, end) / count);
    double total = 0;
    count = 2000;
    for (int i = 0; i < count; i++) {
        usleep(200);
        clock_gettime(CLOCK_MONOTONIC, &start);
        roundTrip();
        clock_gettime(CLOCK_MONOTONIC, &end);
        total += micros(start, end);
    }
    printf("after 200 us idle: %.1f us a round trip\n", total / count);
    return 0;
}
