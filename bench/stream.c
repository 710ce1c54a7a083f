/* stream.c: prints the machine's memory read bandwidth, measured with the
 * runtime's STREAM-like probe, for 1 thread and for all cores.
 * Usage: bench/stream [GiB]  (default 1) */
#include <stdio.h>
#include <stdlib.h>

#include "llmc_rt.h"

int main(int argc, char **argv) {
  double gib = argc > 1 ? atof(argv[1]) : 1.0;
  uint64_t bytes = (uint64_t)(gib * (double)(1ull << 30));
  for (int threads = 1; threads <= 2; threads++) {
    double gbs;
    llmc_status_t *s = llmc_rt_measure_read_bandwidth(threads == 1 ? 1 : 0, bytes, 5, &gbs);
    if (s) {
      fprintf(stderr, "stream: %s\n", llmc_status_message(s));
      llmc_status_free(s);
      return 1;
    }
    printf("read bandwidth, %s: %.2f GB/s\n", threads == 1 ? "1 thread" : "all cores", gbs);
  }
  return 0;
}
