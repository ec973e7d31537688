/* One client sending a statement file's statement (prepared, its own transaction each time) for a number of seconds,
 * `depth` of them on the wire at once with libpq's pipeline mode (1: one at a time, each answered before the next is
 * sent, as postgres-nio does). Built and run by tools/bench-serial.sh:
 *   pipeline-probe CONNINFO STATEMENT-FILE DEPTH SECONDS   → "depth=N tx_per_s=… events_per_s=…" (32 events a statement)
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int fail(PGconn *connection, const char *what) {
  fprintf(stderr, "pipeline-probe: %s: %s", what, PQerrorMessage(connection));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: pipeline-probe CONNINFO STATEMENT-FILE DEPTH SECONDS\n");
    return 2;
  }
  PGconn *connection = PQconnectdb(argv[1]);
  int depth = atoi(argv[3]);
  double seconds = atof(argv[4]);
  if (PQstatus(connection) != CONNECTION_OK) return fail(connection, "connecting");
  FILE *file = fopen(argv[2], "r");
  if (!file) return 2;
  static char statement[65536];
  statement[fread(statement, 1, sizeof statement - 1, file)] = 0;
  fclose(file);
  PGresult *result = PQprepare(connection, "write", statement, 0, NULL);
  if (PQresultStatus(result) != PGRES_COMMAND_OK) return fail(connection, "preparing");
  PQclear(result);
  if (depth > 1 && !PQenterPipelineMode(connection)) return fail(connection, "entering pipeline mode");
  long sent = 0, done = 0;
  double start = now(), end = start + seconds;
  while (depth == 1 && now() < end) {
    result = PQexecPrepared(connection, "write", 0, NULL, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) return fail(connection, "writing");
    PQclear(result);
    done++;
  }
  int stopping = 0;
  while (depth > 1 && (!stopping || sent > done)) {
    while (!stopping && sent - done < depth) {  /* each its own transaction: a Sync after it */
      if (!PQsendQueryPrepared(connection, "write", 0, NULL, NULL, NULL, 0) || !PQpipelineSync(connection))
        return fail(connection, "sending");
      sent++;
    }
    if (PQflush(connection) < 0) return fail(connection, "flushing");
    while ((result = PQgetResult(connection)) != NULL) {  /* the oldest statement's result, then NULL */
      if (PQresultStatus(result) != PGRES_COMMAND_OK) return fail(connection, "writing");
      PQclear(result);
    }
    result = PQgetResult(connection);  /* then its Sync's */
    if (PQresultStatus(result) != PGRES_PIPELINE_SYNC) return fail(connection, "syncing");
    PQclear(result);
    done++;
    stopping = now() >= end;
  }
  double elapsed = now() - start;
  printf("depth=%d tx_per_s=%.0f events_per_s=%.0f\n", depth, done / elapsed, done * 32 / elapsed);
  PQfinish(connection);
  return 0;
}
